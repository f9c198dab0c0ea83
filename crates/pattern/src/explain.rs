//! Why a rule does or does not match an event.

use std::fmt;

use crate::EventError;
use crate::number::Decimal;
use crate::pattern::{Exclusion, FieldCondition, NumericRange, Op, Pattern};
use crate::reference::{self, FlatValue, quote};

/// Why one alternative of a rule (one `$or` combination) failed.
///
/// ```
/// use sluice_pattern::{Failure, Matcher, RuleId};
/// let m = Matcher::builder().build([r#"{"detail": {"reason": [{"exists": true}]}}"#]).unwrap();
/// let why = m.explain(RuleId::new(0), br#"{"detail": {}}"#).unwrap();
/// assert!(matches!(&why.alternatives()[0], Some(Failure::Missing { path, .. }) if path == "detail.reason"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The field has no value in the event but the condition needs one.
    Missing {
        /// Dot-joined field path.
        path: String,
        /// The condition, in pattern syntax.
        condition: String,
    },
    /// The field has values, none of which passes the condition.
    NoValueMatches {
        /// Dot-joined field path.
        path: String,
        /// Every value seen for the field, as JSON.
        seen: Vec<String>,
        /// The condition, in pattern syntax.
        condition: String,
    },
    /// Each field has a passing value, but never all within the same
    /// element of an array they share.
    ArrayConsistency {
        /// The fields of the alternative.
        paths: Vec<String>,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Missing { path, condition } => {
                write!(f, "{path}: missing, but the rule needs {condition}")
            }
            Failure::NoValueMatches {
                path,
                seen,
                condition,
            } => {
                let seen = if seen.len() == 1 {
                    seen[0].clone()
                } else {
                    format!("[{}]", seen.join(", "))
                };
                write!(f, "{path}: saw {seen}, but the rule needs {condition}")
            }
            Failure::ArrayConsistency { paths } => write!(
                f,
                "{}: each has a matching value, but not all in the same array element",
                paths.join(", ")
            ),
        }
    }
}

/// The outcome of [`Matcher::explain`](crate::Matcher::explain).
///
/// ```
/// let m = sluice_pattern::Matcher::builder()
///     .build([r#"{"detail": {"finding-severity-counts": {"critical": [{"numeric": [">", 0]}]}}}"#])
///     .unwrap();
/// let why = m.explain(sluice_pattern::RuleId::new(0),
///     br#"{"detail": {"finding-severity-counts": {"critical": 0}}}"#).unwrap();
/// assert_eq!(why.to_string(),
///     r#"no match: detail.finding-severity-counts.critical: saw 0, but the rule needs {"numeric": [">", 0]}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// One entry per alternative: `None` where it matches.
    alternatives: Vec<Option<Failure>>,
}

impl Explanation {
    /// Whether the rule matches.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["x"]}"#]).unwrap();
    /// assert!(m.explain(sluice_pattern::RuleId::new(0), br#"{"a": "x"}"#).unwrap().matched());
    /// ```
    pub fn matched(&self) -> bool {
        self.alternatives.iter().any(Option::is_none)
    }

    /// For each alternative (`$or` combination), why it failed, or `None`
    /// where it matched.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder()
    ///     .build([r#"{"$or": [{"a": ["1"]}, {"b": ["2"]}]}"#]).unwrap();
    /// let why = m.explain(sluice_pattern::RuleId::new(0), br#"{"b": "2"}"#).unwrap();
    /// assert_eq!(why.alternatives().len(), 2);
    /// assert!(why.alternatives()[0].is_some() && why.alternatives()[1].is_none());
    /// ```
    pub fn alternatives(&self) -> &[Option<Failure>] {
        &self.alternatives
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.matched() {
            return f.write_str("match");
        }
        if let [Some(failure)] = self.alternatives.as_slice() {
            return write!(f, "no match: {failure}");
        }
        write!(
            f,
            "no match: none of the {} $or alternatives matches",
            self.alternatives.len()
        )?;
        for (i, failure) in self.alternatives.iter().enumerate() {
            if let Some(failure) = failure {
                write!(f, "\n  alternative {}: {failure}", i + 1)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn explain(
    pattern: &Pattern,
    event: &[u8],
    max_depth: usize,
) -> Result<Explanation, EventError> {
    let flat = reference::flatten_event(event, max_depth)?;
    let alternatives = pattern
        .subrules
        .iter()
        .map(|subrule| {
            if reference::subrule_matches(subrule, &flat) {
                return None;
            }
            for condition in subrule {
                if let Some(failure) = field_failure(condition, &flat) {
                    return Some(failure);
                }
            }
            Some(Failure::ArrayConsistency {
                paths: subrule.iter().map(|c| c.path.clone()).collect(),
            })
        })
        .collect();
    Ok(Explanation { alternatives })
}

fn field_failure(condition: &FieldCondition, flat: &[FlatValue]) -> Option<Failure> {
    let values: Vec<&FlatValue> = flat.iter().filter(|v| v.path == condition.path).collect();
    let described = describe_condition(&condition.ops);
    if values.is_empty() {
        if reference::accepts_absence(condition) {
            return None;
        }
        return Some(Failure::Missing {
            path: condition.path.clone(),
            condition: described,
        });
    }
    let passes = values.iter().any(|v| {
        condition
            .ops
            .iter()
            .any(|op| reference::op_accepts(op, &v.value))
    });
    if passes {
        return None;
    }
    Some(Failure::NoValueMatches {
        path: condition.path.clone(),
        seen: values.iter().map(|v| v.value.render()).collect(),
        condition: described,
    })
}

fn describe_condition(ops: &[Op]) -> String {
    // An exact IP string compiles to a string test and a one-address range;
    // show it once, as written.
    let shown: Vec<String> = ops
        .iter()
        .filter(|op| !matches!(op, Op::Cidr(_, text) if ops.contains(&Op::String(text.clone()))))
        .map(describe_op)
        .collect();
    if shown.len() == 1 {
        shown[0].clone()
    } else {
        format!("one of [{}]", shown.join(", "))
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("[{}]", items.join(", "))
    }
}

fn describe_range(range: &NumericRange) -> String {
    let bound = |d: &Decimal| d.to_string();
    match (&range.low, &range.high) {
        (Some((l, true)), Some((h, true))) if l == h => {
            format!("{{\"numeric\": [\"=\", {}]}}", bound(l))
        }
        (low, high) => {
            let mut parts = Vec::new();
            if let Some((l, inclusive)) = low {
                parts.push(format!(
                    "\"{}\", {}",
                    if *inclusive { ">=" } else { ">" },
                    bound(l)
                ));
            }
            if let Some((h, inclusive)) = high {
                parts.push(format!(
                    "\"{}\", {}",
                    if *inclusive { "<=" } else { "<" },
                    bound(h)
                ));
            }
            format!("{{\"numeric\": [{}]}}", parts.join(", "))
        }
    }
}

fn describe_op(op: &Op) -> String {
    match op {
        Op::Exists(b) => format!("{{\"exists\": {b}}}"),
        Op::Null => "null".into(),
        Op::Bool(b) => b.to_string(),
        Op::String(s) => quote(s),
        Op::Number(d) => d.to_string(),
        Op::Prefix(s) => format!("{{\"prefix\": {}}}", quote(s)),
        Op::Suffix(s) => format!("{{\"suffix\": {}}}", quote(s)),
        Op::PrefixIgnoreCase(s) => {
            format!("{{\"prefix\": {{\"equals-ignore-case\": {}}}}}", quote(s))
        }
        Op::SuffixIgnoreCase(s) => {
            format!("{{\"suffix\": {{\"equals-ignore-case\": {}}}}}", quote(s))
        }
        Op::EqualsIgnoreCase(s) => format!("{{\"equals-ignore-case\": {}}}", quote(s)),
        Op::Wildcard(_, s) => format!("{{\"wildcard\": {}}}", quote(s)),
        Op::Numeric(range) => describe_range(range),
        Op::Cidr(_, s) => format!("{{\"cidr\": {}}}", quote(s)),
        Op::AnythingBut(exclusion) => {
            let inner = match exclusion {
                Exclusion::Strings(v) => list(v.iter().map(|s| quote(s))),
                Exclusion::Numbers(v) => list(v.iter().map(Decimal::to_string)),
                Exclusion::IgnoreCase(v) => {
                    format!(
                        "{{\"equals-ignore-case\": {}}}",
                        list(v.iter().map(|s| quote(s)))
                    )
                }
                Exclusion::Prefixes(v) => {
                    format!("{{\"prefix\": {}}}", list(v.iter().map(|s| quote(s))))
                }
                Exclusion::Suffixes(v) => {
                    format!("{{\"suffix\": {}}}", list(v.iter().map(|s| quote(s))))
                }
                Exclusion::Wildcards(v) => {
                    format!(
                        "{{\"wildcard\": {}}}",
                        list(v.iter().map(|(_, s)| quote(s)))
                    )
                }
            };
            format!("{{\"anything-but\": {inner}}}")
        }
    }
}
