//! Running scheduled rules: each enabled rule with a `ScheduleExpression`
//! on the default bus fires at its times, and its targets receive
//! EventBridge's "Scheduled Event" envelope. Rule changes take effect at
//! once; a rate counts from when the scheduler first saw the rule.
//!
//! The scheduler keeps time with tokio's clock from a starting wall-clock
//! time, so tests can run it on tokio's paused clock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::format_epoch_seconds;
use crate::model::{DEFAULT_BUS, Rule, RuleState};
use crate::router::Router;
use crate::schedule::Schedule;

/// The event a scheduled rule's targets receive when it fires at `time`.
///
/// ```
/// let event = sluice_router::scheduler::scheduled_event(
///     "arn:aws:events:us-east-1:123456789012:rule/nightly", 1_513_968_228, "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
/// assert_eq!(event, r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2017-12-22T18:43:48Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/nightly"],"detail":{}}"#);
/// ```
pub fn scheduled_event(rule_arn: &str, time: i64, id: &str) -> String {
    let mut parts = rule_arn.split(':');
    let region = parts.nth(3).unwrap_or_default();
    let account = parts.next().unwrap_or_default();
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"version":"0","id":{},"detail-type":"Scheduled Event","source":"aws.events","account":{},"time":"{}","region":{},"resources":[{}],"detail":{{}}}}"#,
        quote(id),
        quote(account),
        format_epoch_seconds(time),
        quote(region),
        quote(rule_arn)
    )
}

/// One scheduled rule as the scheduler tracks it.
struct Entry {
    rule: Arc<Rule>,
    expression: String,
    schedule: Schedule,
    anchor: i64,
    next: Option<i64>,
}

impl Router {
    /// Starts firing the scheduled rules, from the current time. The
    /// scheduler stops when the returned handle is aborted.
    pub fn start_schedules(&self) -> JoinHandle<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.start_schedules_at(now)
    }

    /// Starts firing the scheduled rules, taking the current moment to be
    /// `start` (seconds since the epoch, UTC).
    pub fn start_schedules_at(&self, start: i64) -> JoinHandle<()> {
        let router = self.clone();
        tokio::spawn(async move { router.run_schedules(start).await })
    }

    async fn run_schedules(self, start: i64) {
        let began = Instant::now();
        let wall_now = || start + began.elapsed().as_secs() as i64;
        let mut entries: HashMap<String, Entry> = HashMap::new();
        loop {
            let changed = self.rules_changed();
            self.refresh(&mut entries, wall_now());
            let now = wall_now();
            // Fire everything due, then sleep until the next time or a change.
            for entry in entries.values_mut() {
                while let Some(time) = entry.next.filter(|t| *t <= now) {
                    let id = uuid::Uuid::new_v4().to_string();
                    let event = scheduled_event(&entry.rule.arn, time, &id);
                    self.fire(entry.rule.clone(), event, Instant::now()).await;
                    entry.next = entry.schedule.next_after_anchor(time, entry.anchor);
                }
            }
            let soonest = entries.values().filter_map(|e| e.next).min();
            let wait = match soonest {
                Some(time) => Duration::from_secs((time - wall_now()).max(0) as u64),
                None => Duration::from_secs(24 * 3600),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changed => {}
            }
        }
    }

    /// Brings the tracked rules in line with the current rule table.
    fn refresh(&self, entries: &mut HashMap<String, Entry>, now: i64) {
        let table = self.table();
        let mut seen = HashSet::new();
        for rule in table.rules() {
            let (Some(expression), true) = (
                &rule.schedule_expression,
                rule.state != RuleState::Disabled && rule.bus == DEFAULT_BUS,
            ) else {
                continue;
            };
            if let Some(entry) = entries.get_mut(&rule.arn)
                && entry.expression == *expression
            {
                entry.rule = rule.clone();
                seen.insert(rule.arn.as_str());
                continue;
            }
            // Rules were checked when they loaded; an expression that no
            // longer parses is skipped rather than fired.
            let Ok(schedule) = Schedule::parse(expression) else {
                continue;
            };
            seen.insert(rule.arn.as_str());
            let anchor = now.div_euclid(60) * 60;
            let next = schedule.next_after_anchor(now, anchor);
            entries.insert(
                rule.arn.clone(),
                Entry {
                    rule: rule.clone(),
                    expression: expression.clone(),
                    schedule,
                    anchor,
                    next,
                },
            );
        }
        entries.retain(|arn, _| seen.contains(arn.as_str()));
    }
}
