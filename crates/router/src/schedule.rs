//! EventBridge schedule expressions: `rate(value unit)` and
//! `cron(Minutes Hours Day-of-month Month Day-of-week Year)`, parsed and
//! checked as EventBridge does, with next fire times in UTC.
//!
//! Times are whole seconds since the Unix epoch (UTC); fire times fall on
//! minute boundaries.

use std::fmt;

use crate::clock::{civil_from_days, days_from_civil};

/// First and last year a cron expression may name.
pub const YEARS: (u16, u16) = (1970, 2199);

/// A bad schedule expression: AWS's message plus what is wrong and how to
/// fix it (AWS gives no reason).
///
/// ```
/// use sluice_router::schedule::Schedule;
/// let err = Schedule::parse("rate(12 hour)").unwrap_err();
/// assert_eq!(err.message(), "Parameter ScheduleExpression is not valid.");
/// assert!(err.hint().contains("rate(12 hours)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    hint: String,
}

impl ScheduleError {
    fn new(hint: impl Into<String>) -> ScheduleError {
        ScheduleError { hint: hint.into() }
    }

    /// AWS's error message.
    pub fn message(&self) -> &'static str {
        "Parameter ScheduleExpression is not valid."
    }

    /// What is wrong and how to fix it.
    pub fn hint(&self) -> &str {
        &self.hint
    }
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n{}", self.message(), self.hint)
    }
}

impl std::error::Error for ScheduleError {}

/// The unit of a rate expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    /// Minutes.
    Minute,
    /// Hours.
    Hour,
    /// Days.
    Day,
}

impl RateUnit {
    fn seconds(self) -> i64 {
        match self {
            RateUnit::Minute => 60,
            RateUnit::Hour => 3600,
            RateUnit::Day => 86_400,
        }
    }
}

/// A parsed schedule expression.
///
/// ```
/// use sluice_router::schedule::Schedule;
/// let schedule = Schedule::parse("cron(0/30 20-23 ? * MON-FRI *)").unwrap();
/// // 2025-11-25T19:00:00Z is a Tuesday.
/// assert_eq!(schedule.next_after(1_764_097_200), Some(1_764_100_800)); // 20:00
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `rate(value unit)`: every `value` units, counted from the anchor.
    Rate {
        /// How many units.
        value: u32,
        /// Which unit.
        unit: RateUnit,
    },
    /// `cron(…)`.
    Cron(Box<Cron>),
}

/// The six fields of a cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: DaySpec,
    months: u64,
    years: Vec<bool>,
}

/// Which days of a month fire: exactly one of day-of-month and day-of-week
/// is `?`, so a cron has one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DaySpec {
    /// Day-of-month values (bit n = day n).
    MonthDays(u64),
    /// `L`: the last day of the month.
    LastDay,
    /// `LW`: the last weekday (Monday–Friday) of the month.
    LastWeekday,
    /// `nW`: the weekday nearest to day n, within the month.
    NearestWeekday(u32),
    /// Day-of-week values (bit n = weekday n, 1 = Sunday).
    WeekDays(u64),
    /// `nL`: the last weekday n of the month.
    LastWeekDay(u32),
    /// `n#k`: the k-th weekday n of the month.
    NthWeekDay(u32, u32),
}

impl Schedule {
    /// Parses and checks an expression.
    ///
    /// ```
    /// use sluice_router::schedule::Schedule;
    /// assert!(Schedule::parse("cron(15 10 ? * 6L 2002-2005)").is_ok());
    /// assert!(Schedule::parse("cron(0 1 * * * *)").is_err());
    /// assert!(Schedule::parse("rate(1 minutes)").is_err());
    /// ```
    pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
        if let Some(inner) = expression
            .strip_prefix("rate(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return parse_rate(inner);
        }
        if let Some(inner) = expression
            .strip_prefix("cron(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return parse_cron(inner).map(|c| Schedule::Cron(Box::new(c)));
        }
        Err(ScheduleError::new(
            "A schedule is rate(value unit), e.g. rate(5 minutes), or cron(Minutes Hours Day-of-month Month Day-of-week Year), e.g. cron(0 12 * * ? *); no spaces before or after it.",
        ))
    }

    /// The first fire time strictly after `after` (seconds since the epoch).
    /// A rate counts from `after` rounded down to its minute, as if the rule
    /// had been created then; use [`Schedule::next_after_anchor`] to count
    /// from the rule's creation. `None` when a cron never fires again.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        self.next_after_anchor(after, after.div_euclid(60) * 60)
    }

    /// Like [`Schedule::next_after`], with a rate counted from `anchor`
    /// (the rule's creation time).
    ///
    /// ```
    /// use sluice_router::schedule::Schedule;
    /// let every_5 = Schedule::parse("rate(5 minutes)").unwrap();
    /// assert_eq!(every_5.next_after_anchor(1000, 0), Some(1200));
    /// ```
    pub fn next_after_anchor(&self, after: i64, anchor: i64) -> Option<i64> {
        match self {
            Schedule::Rate { value, unit } => {
                let period = i64::from(*value) * unit.seconds();
                if after < anchor {
                    return Some(anchor + period);
                }
                let periods = (after - anchor) / period + 1;
                Some(anchor + periods * period)
            }
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

fn parse_rate(inner: &str) -> Result<Schedule, ScheduleError> {
    let example = "write rate(value unit) with a whole number and minute, minutes, hour, hours, day or days, e.g. rate(5 minutes) or rate(1 hour)";
    let mut parts = inner.split(' ');
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ScheduleError::new(format!(
            "rate({inner}) needs a value and a unit separated by one space: {example}."
        )));
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScheduleError::new(format!(
            "The rate value {value:?} is not a positive whole number: {example}."
        )));
    }
    let value: u32 = value
        .parse()
        .map_err(|_| ScheduleError::new(format!("The rate value {value} is too large.")))?;
    if value == 0 {
        return Err(ScheduleError::new(
            "The rate value must be at least 1, e.g. rate(1 minute).",
        ));
    }
    let (unit, singular, plural) = match unit {
        "minute" | "minutes" => (RateUnit::Minute, "minute", "minutes"),
        "hour" | "hours" => (RateUnit::Hour, "hour", "hours"),
        "day" | "days" => (RateUnit::Day, "day", "days"),
        other => {
            return Err(ScheduleError::new(format!(
                "{other:?} is not a rate unit (they are lower case, and there are no seconds, weeks, months or years): {example}."
            )));
        }
    };
    let written = inner.split(' ').nth(1).unwrap_or_default();
    if value == 1 && written != singular {
        return Err(ScheduleError::new(format!(
            "Use the singular unit for 1: write rate(1 {singular})."
        )));
    }
    if value > 1 && written != plural {
        return Err(ScheduleError::new(format!(
            "Use the plural unit for values other than 1: write rate({value} {plural})."
        )));
    }
    let longest = MAX_RATE_SECONDS / unit.seconds();
    if i64::from(value) > longest {
        return Err(ScheduleError::new(format!(
            "rate({value} {plural}) is longer than a schedule can reach (its years end in {}): write at most rate({longest} {plural}).",
            YEARS.1
        )));
    }
    Ok(Schedule::Rate { value, unit })
}

/// The longest rate: 100 years of days. Anything longer would first fire
/// past the last year a schedule covers.
pub const MAX_RATE_SECONDS: i64 = 36_500 * 86_400;

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One field's name, range and value names, for parsing and messages.
struct Field {
    name: &'static str,
    low: u32,
    high: u32,
    names: &'static [&'static str],
}

const MINUTES: Field = Field {
    name: "Minutes",
    low: 0,
    high: 59,
    names: &[],
};
const HOURS: Field = Field {
    name: "Hours",
    low: 0,
    high: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    name: "Day-of-month",
    low: 1,
    high: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "Month",
    low: 1,
    high: 12,
    names: &MONTH_NAMES,
};
const DAY_OF_WEEK: Field = Field {
    name: "Day-of-week",
    low: 1,
    high: 7,
    names: &DAY_NAMES,
};
const YEAR: Field = Field {
    name: "Year",
    low: YEARS.0 as u32,
    high: YEARS.1 as u32,
    names: &[],
};

impl Field {
    fn value(&self, text: &str) -> Result<u32, ScheduleError> {
        if let Some(i) = self.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            return Ok(self.low + i as u32);
        }
        let value: u32 = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().unwrap_or(u32::MAX)
        } else {
            return Err(self.bad(&format!("{text:?} is not a value")));
        };
        if value < self.low || value > self.high {
            return Err(self.bad(&format!("{value} is out of range")));
        }
        Ok(value)
    }

    fn bad(&self, what: &str) -> ScheduleError {
        let names = if self.names.is_empty() {
            String::new()
        } else {
            format!(" or {}-{}", self.names[0], self.names[self.names.len() - 1])
        };
        ScheduleError::new(format!(
            "{} field: {what}; it takes {}-{}{names}.",
            self.name, self.low, self.high
        ))
    }

    /// Values of a field made of `,`, `-`, `*` and `/` parts.
    fn set(&self, text: &str) -> Result<Vec<bool>, ScheduleError> {
        let mut set = vec![false; self.high as usize + 1];
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => {
                    let step: u32 = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                        self.bad(&format!(
                            "the increment in {part:?} is not a positive number"
                        ))
                    })?;
                    (range, step)
                }
                None => (part, 1),
            };
            let (start, end) = if range == "*" {
                (self.low, self.high)
            } else if let Some((a, b)) = range.split_once('-') {
                (self.value(a)?, self.value(b)?)
            } else {
                let start = self.value(range)?;
                // `a/b` runs from a to the end of the range.
                (start, if part.contains('/') { self.high } else { start })
            };
            // Ranges may wrap: hours 20-2 is 20, 21, 22, 23, 0, 1, 2.
            let span = if end >= start {
                end - start
            } else {
                self.high - start + 1 + end - self.low
            };
            let mut offset = 0;
            while offset <= span {
                let mut value = start + offset;
                if value > self.high {
                    value = value - self.high - 1 + self.low;
                }
                set[value as usize] = true;
                offset += step;
            }
        }
        Ok(set)
    }

    fn bits(&self, text: &str) -> Result<u64, ScheduleError> {
        Ok(self
            .set(text)?
            .iter()
            .enumerate()
            .filter(|(_, on)| **on)
            .fold(0u64, |bits, (i, _)| bits | 1 << i))
    }
}

fn parse_cron(inner: &str) -> Result<Cron, ScheduleError> {
    let fields: Vec<&str> = inner.split(' ').collect();
    if fields.len() != 6 || fields.iter().any(|f| f.is_empty()) {
        return Err(ScheduleError::new(format!(
            "cron({inner}) needs six fields separated by single spaces: Minutes Hours Day-of-month Month Day-of-week Year, e.g. cron(0 12 * * ? *)."
        )));
    }
    for (field, text) in [
        (&MINUTES, fields[0]),
        (&HOURS, fields[1]),
        (&MONTH, fields[3]),
        (&YEAR, fields[5]),
    ] {
        if text.contains(['?', 'L', 'W', '#'])
            && !field
                .names
                .iter()
                .any(|n| text.to_ascii_uppercase().contains(n))
        {
            return Err(field.bad(&format!("{text:?} uses a wildcard only day fields allow")));
        }
    }
    let minutes = MINUTES.bits(fields[0])?;
    let hours = HOURS.bits(fields[1])?;
    let months = MONTH.bits(fields[3])?;
    let years = YEAR.set(fields[5])?;
    let (dom, dow) = (fields[2], fields[4]);
    let days = match (dom == "?", dow == "?") {
        (true, true) | (false, false) => {
            let minute_hour = format!("{} {}", fields[0], fields[1]);
            return Err(ScheduleError::new(format!(
                "Exactly one of Day-of-month and Day-of-week must be '?': write cron({minute_hour} {dom} {} ? {}) or cron({minute_hour} ? {} {dow} {}).",
                fields[3], fields[5], fields[3], fields[5]
            )));
        }
        (false, true) => parse_day_of_month(dom)?,
        (true, false) => parse_day_of_week(dow)?,
    };
    let cron = Cron {
        minutes,
        hours,
        days,
        months,
        years,
    };
    // A cron no date satisfies (30 February) would wait forever in silence.
    let first_minute = days_from_civil(i64::from(YEARS.0), 1, 1) * 86_400;
    if cron.next_after(first_minute - 60).is_none() {
        return Err(ScheduleError::new(format!(
            "cron({}) never fires: no date from {} to {} has a day that all of its day, month and year fields allow; check the day against the month (e.g. there is no 30 February).",
            fields.join(" "),
            YEARS.0,
            YEARS.1
        )));
    }
    Ok(cron)
}

fn parse_day_of_month(text: &str) -> Result<DaySpec, ScheduleError> {
    match text {
        "L" => return Ok(DaySpec::LastDay),
        "LW" => return Ok(DaySpec::LastWeekday),
        _ => {}
    }
    if let Some(day) = text.strip_suffix('W') {
        return Ok(DaySpec::NearestWeekday(DAY_OF_MONTH.value(day)?));
    }
    if text.contains(['L', 'W', '#']) {
        return Err(DAY_OF_MONTH.bad(&format!(
            "{text:?} is not valid; L, LW and nW (e.g. 15W) stand alone, and # belongs to Day-of-week"
        )));
    }
    Ok(DaySpec::MonthDays(DAY_OF_MONTH.bits(text)?))
}

fn parse_day_of_week(text: &str) -> Result<DaySpec, ScheduleError> {
    if text.matches('#').count() > 0 {
        if text.contains(',') || text.matches('#').count() > 1 {
            return Err(DAY_OF_WEEK.bad(&format!(
                "{text:?} has more than one expression with '#'; only one is allowed"
            )));
        }
        let (day, nth) = text.split_once('#').unwrap_or((text, ""));
        let day = DAY_OF_WEEK.value(day)?;
        let nth: u32 = nth
            .parse()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| {
                DAY_OF_WEEK.bad(&format!("in {text:?}, the number after '#' must be 1-5"))
            })?;
        return Ok(DaySpec::NthWeekDay(day, nth));
    }
    if text == "L" {
        return Ok(DaySpec::WeekDays(1 << 7));
    }
    if let Some(day) = text.strip_suffix('L') {
        return Ok(DaySpec::LastWeekDay(DAY_OF_WEEK.value(day)?));
    }
    if text.contains(['L', 'W']) && !text.to_ascii_uppercase().contains("WED") {
        return Err(DAY_OF_WEEK.bad(&format!(
            "{text:?} is not valid; nL (e.g. 6L, the last Friday) stands alone, and W belongs to Day-of-month"
        )));
    }
    Ok(DaySpec::WeekDays(DAY_OF_WEEK.bits(text)?))
}

/// Days in a month of a year.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Weekday of a date, 1 = Sunday … 7 = Saturday.
fn weekday(year: i64, month: u32, day: u32) -> u32 {
    // 1970-01-01 was a Thursday (5).
    ((days_from_civil(year, month, day) + 4).rem_euclid(7) + 1) as u32
}

fn is_workday(year: i64, month: u32, day: u32) -> bool {
    (2..=6).contains(&weekday(year, month, day))
}

impl DaySpec {
    fn matches(&self, year: i64, month: u32, day: u32) -> bool {
        let last = days_in_month(year, month);
        match *self {
            DaySpec::MonthDays(bits) => bits & (1 << day) != 0,
            DaySpec::LastDay => day == last,
            DaySpec::LastWeekday => {
                let mut d = last;
                while !is_workday(year, month, d) {
                    d -= 1;
                }
                day == d
            }
            DaySpec::NearestWeekday(n) => {
                if n > last {
                    return false;
                }
                let target = match weekday(year, month, n) {
                    7 if n == 1 => 3,        // Saturday the 1st: Monday the 3rd
                    7 => n - 1,              // Saturday: Friday before
                    1 if n == last => n - 2, // Sunday, last day: Friday before
                    1 => n + 1,              // Sunday: Monday after
                    _ => n,
                };
                day == target
            }
            DaySpec::WeekDays(bits) => bits & (1 << weekday(year, month, day)) != 0,
            DaySpec::LastWeekDay(n) => weekday(year, month, day) == n && day + 7 > last,
            DaySpec::NthWeekDay(n, k) => weekday(year, month, day) == n && (day - 1) / 7 + 1 == k,
        }
    }
}

impl Cron {
    /// The first fire time strictly after `after`, or `None` after 2199.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start = (after.div_euclid(60) + 1) * 60;
        let days = start.div_euclid(86_400);
        let (y0, m0, d0) = civil_from_days(days);
        let minute_of_day = (start.rem_euclid(86_400) / 60) as u32;
        let (h0, min0) = (minute_of_day / 60, minute_of_day % 60);
        for year in y0.max(i64::from(YEARS.0))..=i64::from(YEARS.1) {
            if !self.years[year as usize] {
                continue;
            }
            let first_month = if year == y0 { m0 } else { 1 };
            for month in first_month..=12 {
                if self.months & (1 << month) == 0 {
                    continue;
                }
                let same_month = year == y0 && month == m0;
                let first_day = if same_month { d0 } else { 1 };
                for day in first_day..=days_in_month(year, month) {
                    if !self.days.matches(year, month, day) {
                        continue;
                    }
                    let today = same_month && day == d0;
                    for hour in (if today { h0 } else { 0 })..24 {
                        if self.hours & (1 << hour) == 0 {
                            continue;
                        }
                        let first_minute = if today && hour == h0 { min0 } else { 0 };
                        for minute in first_minute..60 {
                            if self.minutes & (1 << minute) != 0 {
                                return Some(
                                    days_from_civil(year, month, day) * 86_400
                                        + i64::from(hour) * 3600
                                        + i64::from(minute) * 60,
                                );
                            }
                        }
                    }
                }
            }
        }
        None
    }

    /// Whether the cron fires in the minute that contains `time`.
    ///
    /// ```
    /// use sluice_router::schedule::Schedule;
    /// let Schedule::Cron(cron) = Schedule::parse("cron(0 2 ? * SAT#3 *)").unwrap() else { unreachable!() };
    /// assert!(cron.fires_at(1_763_172_000)); // 2025-11-15T02:00Z, the third Saturday
    /// assert!(!cron.fires_at(1_763_776_800)); // 2025-11-22T02:00Z, the fourth
    /// ```
    pub fn fires_at(&self, time: i64) -> bool {
        let (year, month, day) = civil_from_days(time.div_euclid(86_400));
        let minute_of_day = time.rem_euclid(86_400) / 60;
        (i64::from(YEARS.0)..=i64::from(YEARS.1)).contains(&year)
            && self.years[year as usize]
            && self.months & (1 << month) != 0
            && self.days.matches(year, month, day)
            && self.hours & (1 << (minute_of_day / 60)) != 0
            && self.minutes & (1 << (minute_of_day % 60)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cron_no_date_satisfies_is_refused() {
        for expression in [
            "cron(0 0 30 2 ? *)",
            "cron(0 0 31 4,6,9,11 ? *)",
            "cron(0 0 29 2 ? 2100)",
        ] {
            let error = Schedule::parse(expression).unwrap_err();
            assert!(
                error.hint().contains("never fires"),
                "{expression}: {}",
                error.hint()
            );
        }
        // Past years and leap days still fire somewhere in the range.
        assert!(Schedule::parse("cron(0 0 29 2 ? *)").is_ok());
        assert!(Schedule::parse("cron(15 10 ? * 6L 2002-2005)").is_ok());
    }

    #[test]
    fn a_rate_past_the_last_year_is_refused() {
        assert!(Schedule::parse("rate(36500 days)").is_ok());
        for expression in [
            "rate(36501 days)",
            "rate(4294967295 minutes)",
            "rate(876001 hours)",
        ] {
            let error = Schedule::parse(expression).unwrap_err();
            assert!(
                error.hint().contains("write at most"),
                "{expression}: {}",
                error.hint()
            );
        }
    }

    fn at(text: &str) -> i64 {
        // "YYYY-MM-DDTHH:MM"
        let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap();
        days_from_civil(n(0..4), n(5..7) as u32, n(8..10) as u32) * 86_400
            + n(11..13) * 3600
            + n(14..16) * 60
    }

    fn next(expression: &str, from: &str) -> String {
        let schedule = Schedule::parse(expression).unwrap();
        let t = schedule.next_after(at(from)).unwrap();
        crate::clock::format_rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(t as u64),
        )
    }

    #[test]
    fn aws_valid_examples_parse() {
        for ok in [
            "cron(0 2 ? * SAT *)",
            "cron(5,35 14 * * ? *)",
            "cron(15 10 ? * 6L 2002-2005)",
            "cron(0 2 ? * SAT#3 *)",
            "cron(* * ? * SAT#3 *)",
            "cron(0/5 5 ? JAN 1-5 2022)",
            "cron(0/30 20-23 ? * MON-FRI *)",
            "cron(0 12 L * ? *)",
            "cron(0 12 LW * ? *)",
            "cron(0 12 15W * ? *)",
            "cron(0 20-2 * * ? *)",
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(12 hours)",
            "rate(1 day)",
            "rate(7 days)",
        ] {
            assert!(
                Schedule::parse(ok).is_ok(),
                "{ok}: {:?}",
                Schedule::parse(ok)
            );
        }
    }

    #[test]
    fn aws_invalid_examples_are_rejected() {
        for bad in [
            "cron(INVALID)",
            "cron(0 dummy ? * MON-FRI *)",
            "cron(7 20 * * NOT *)",
            "cron(71 8 1 * ? *)",
            "cron(0 1 * * * *)",
            "cron(0 1 ? * ? *)",
            "cron(0 2 ? * 3#1,6#3 *)",
            "cron(0 2 ? * SAT *",
            "cron(0  2 ? * SAT *)",
            "cron(0 2 ? * SAT 1969)",
            "cron(0 2 ? * SAT 2200)",
            "cron(0 L ? * SAT *)",
            "rate(1 minutes)",
            "rate(1 hours)",
            "rate(1 days)",
            "rate(10 minute)",
            "rate(10 hour)",
            "rate(10 day)",
            "rate(10 seconds)",
            "rate(10 years)",
            "rate()",
            "rate(10)",
            "rate(10 minutess)",
            "rate(foo minutes)",
            "rate(0 minutes)",
            "rate(-10 minutes)",
            "rate(10 MINUTES)",
            "rate( 10 minutes )",
            " rate(10 minutes)",
            "every 5 minutes",
        ] {
            let err = Schedule::parse(bad).err();
            assert!(err.is_some(), "{bad} was accepted");
            assert_eq!(
                err.unwrap().message(),
                "Parameter ScheduleExpression is not valid."
            );
        }
    }

    #[test]
    fn hints_say_how_to_fix_it() {
        let hint = |e: &str| Schedule::parse(e).unwrap_err().hint().to_string();
        assert!(hint("rate(12 hour)").contains("write rate(12 hours)"));
        assert!(hint("rate(1 days)").contains("write rate(1 day)"));
        assert!(hint("cron(0 1 * * * *)").contains("cron(0 1 * * ? *) or cron(0 1 ? * * *)"));
        assert!(hint("cron(71 8 1 * ? *)").contains("Minutes field: 71 is out of range"));
    }

    #[test]
    fn next_fire_times_across_month_ends_leap_years_and_specials() {
        assert_eq!(
            next("cron(0 12 L * ? *)", "2024-02-10T00:00"),
            "2024-02-29T12:00:00Z"
        );
        assert_eq!(
            next("cron(0 12 L * ? *)", "2023-02-10T00:00"),
            "2023-02-28T12:00:00Z"
        );
        assert_eq!(
            next("cron(0 0 29 2 ? *)", "2025-03-01T00:00"),
            "2028-02-29T00:00:00Z"
        );
        // 2026-08-31 is a Monday; 2026-10-31 a Saturday, so LW is Friday the 30th.
        assert_eq!(
            next("cron(0 9 LW * ? *)", "2026-10-01T00:00"),
            "2026-10-30T09:00:00Z"
        );
        // 2026-11-01 is a Sunday: 1W is Monday the 2nd. 2025-11-01 a Saturday: Monday the 3rd.
        assert_eq!(
            next("cron(0 9 1W * ? *)", "2026-10-15T00:00"),
            "2026-11-02T09:00:00Z"
        );
        assert_eq!(
            next("cron(0 9 1W * ? *)", "2025-10-15T00:00"),
            "2025-11-03T09:00:00Z"
        );
        // 2026-05-31 is a Sunday, the last day: 31W is Friday the 29th.
        assert_eq!(
            next("cron(0 9 31W * ? *)", "2026-05-01T00:00"),
            "2026-05-29T09:00:00Z"
        );
        // Last Friday of November 2026 is the 27th; third Saturday is the 21st.
        assert_eq!(
            next("cron(15 10 ? * 6L *)", "2026-11-01T00:00"),
            "2026-11-27T10:15:00Z"
        );
        assert_eq!(
            next("cron(0 2 ? * SAT#3 *)", "2026-11-01T00:00"),
            "2026-11-21T02:00:00Z"
        );
        // Strictly after; wrapping hour range; year boundary.
        assert_eq!(
            next("cron(0/15 * * * ? *)", "2026-11-25T10:15"),
            "2026-11-25T10:30:00Z"
        );
        assert_eq!(
            next("cron(0 20-2 * * ? *)", "2026-11-25T02:30"),
            "2026-11-25T20:00:00Z"
        );
        assert_eq!(
            next("cron(59 23 31 12 ? *)", "2026-12-31T23:59"),
            "2027-12-31T23:59:00Z"
        );
        assert_eq!(
            Schedule::parse("cron(0 0 1 1 ? 2005)")
                .unwrap()
                .next_after(at("2026-01-01T00:00")),
            None
        );
        assert_eq!(
            next("rate(5 minutes)", "2026-11-25T10:03"),
            "2026-11-25T10:08:00Z"
        );
    }
}
