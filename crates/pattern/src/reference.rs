//! A plain brute-force matcher: the oracle the automaton is tested against.
//!
//! It shares only the pattern compiler with the automaton. Events are parsed
//! into a tree by an independent parser, flattened into `(path, value, array
//! trail)` triples, and every sub-rule is tried by exhaustive search over the
//! values of its fields. It is slow on purpose and simple enough to check by
//! reading.
//!
//! ```
//! use sluice_pattern::reference;
//! let hit = reference::matches(r#"{"a": [{"prefix": "x"}]}"#, br#"{"a": ["y", "xz"]}"#).unwrap();
//! assert!(hit);
//! ```

use crate::json::Json;
use crate::number::Decimal;
use crate::pattern::{self, Exclusion, FieldCondition, Op, Pattern, SubRule};
use crate::scan::TrailStep;
use crate::{Config, EventError, EventErrorKind, PatternError};

/// A leaf value of an event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LeafValue {
    String(String),
    Number(String),
    Bool(bool),
    Null,
}

impl LeafValue {
    /// JSON rendering, for explanations.
    pub(crate) fn render(&self) -> String {
        match self {
            LeafValue::String(s) => quote(s),
            LeafValue::Number(n) => n.clone(),
            LeafValue::Bool(b) => b.to_string(),
            LeafValue::Null => "null".into(),
        }
    }
}

/// One leaf of a flattened event.
#[derive(Clone, Debug)]
pub(crate) struct FlatValue {
    pub(crate) path: String,
    pub(crate) value: LeafValue,
    pub(crate) trail: Vec<TrailStep>,
}

/// Parses and flattens an event (duplicate keys: the last one wins).
pub(crate) fn flatten_event(event: &[u8], max_depth: usize) -> Result<Vec<FlatValue>, EventError> {
    let text = std::str::from_utf8(event).map_err(|e| {
        EventError::at(
            EventErrorKind::InvalidUtf8,
            e.valid_up_to(),
            format!("Invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let json = Json::parse(text.as_bytes())
        .map_err(|reason| EventError::new(EventErrorKind::Syntax, reason))?;
    if !matches!(json, Json::Object(_)) {
        return Err(EventError::new(
            EventErrorKind::NotAnObject,
            "Event is not a JSON object",
        ));
    }
    if depth(&json) > max_depth {
        return Err(EventError::new(
            EventErrorKind::TooDeep,
            format!("Event nesting is deeper than {max_depth} levels"),
        ));
    }
    let mut out = Vec::new();
    let mut arrays = 0;
    flatten(&json, None, &mut Vec::new(), &mut arrays, &mut out);
    Ok(out)
}

fn depth(json: &Json) -> usize {
    match json {
        Json::Object(m) => 1 + m.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        Json::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// `path` is `None` at the top level, so that an empty key still joins with a dot.
fn flatten(
    json: &Json,
    path: Option<&str>,
    trail: &mut Vec<TrailStep>,
    arrays: &mut u32,
    out: &mut Vec<FlatValue>,
) {
    match json {
        Json::Object(members) => {
            for (i, (key, value)) in members.iter().enumerate() {
                if members[i + 1..].iter().any(|(k, _)| k == key) {
                    continue; // a later duplicate wins
                }
                let child = match path {
                    None => key.clone(),
                    Some(path) => format!("{path}.{key}"),
                };
                flatten(value, Some(&child), trail, arrays, out);
            }
        }
        Json::Array(items) => {
            let id = *arrays;
            *arrays += 1;
            for (index, item) in items.iter().enumerate() {
                trail.push((id, index as u32));
                flatten(item, path, trail, arrays, out);
                trail.pop();
            }
        }
        Json::String(s) => out.push(leaf(path, LeafValue::String(s.clone()), trail)),
        Json::Number(n) => out.push(leaf(path, LeafValue::Number(n.clone()), trail)),
        Json::Bool(b) => out.push(leaf(path, LeafValue::Bool(*b), trail)),
        Json::Null => out.push(leaf(path, LeafValue::Null, trail)),
    }
}

fn leaf(path: Option<&str>, value: LeafValue, trail: &[TrailStep]) -> FlatValue {
    FlatValue {
        path: path.unwrap_or_default().to_string(),
        value,
        trail: trail.to_vec(),
    }
}

/// Whether one test accepts one present leaf value.
pub(crate) fn op_accepts(op: &Op, value: &LeafValue) -> bool {
    let string = match value {
        LeafValue::String(s) => Some(s.as_str()),
        _ => None,
    };
    match op {
        Op::Exists(exists) => *exists,
        Op::Null => *value == LeafValue::Null,
        Op::Bool(b) => *value == LeafValue::Bool(*b),
        Op::String(s) => string == Some(s.as_str()),
        Op::Number(d) => number(value).is_some_and(|n| n == *d),
        Op::Prefix(p) => string.is_some_and(|s| s.starts_with(p.as_str())),
        Op::Suffix(p) => string.is_some_and(|s| s.ends_with(p.as_str())),
        Op::PrefixIgnoreCase(p) => {
            string.is_some_and(|s| ignore_case_accepts(p, s, IgnoreCasePart::Start))
        }
        Op::SuffixIgnoreCase(p) => {
            string.is_some_and(|s| ignore_case_accepts(p, s, IgnoreCasePart::End))
        }
        Op::EqualsIgnoreCase(p) => {
            string.is_some_and(|s| ignore_case_accepts(p, s, IgnoreCasePart::Whole))
        }
        Op::Wildcard(w, _) => string.is_some_and(|s| w.matches(s.as_bytes())),
        Op::Numeric(range) => number(value).is_some_and(|n| range.contains(&n)),
        Op::Cidr(range, _) => string.is_some_and(|s| range.contains_text(s.as_bytes())),
        Op::AnythingBut(exclusion) => !excluded(exclusion, value),
    }
}

fn excluded(exclusion: &Exclusion, value: &LeafValue) -> bool {
    let string = match value {
        LeafValue::String(s) => Some(s.as_str()),
        _ => None,
    };
    match exclusion {
        Exclusion::Strings(list) => string.is_some_and(|s| list.iter().any(|x| x == s)),
        Exclusion::Numbers(list) => number(value).is_some_and(|n| list.contains(&n)),
        Exclusion::IgnoreCase(list) => string.is_some_and(|s| {
            list.iter()
                .any(|x| ignore_case_accepts(x, s, IgnoreCasePart::Whole))
        }),
        Exclusion::Prefixes(list) => {
            string.is_some_and(|s| list.iter().any(|p| s.starts_with(p.as_str())))
        }
        Exclusion::Suffixes(list) => {
            string.is_some_and(|s| list.iter().any(|p| s.ends_with(p.as_str())))
        }
        Exclusion::Wildcards(list) => {
            string.is_some_and(|s| list.iter().any(|(w, _)| w.matches(s.as_bytes())))
        }
    }
}

/// Which part of a value an ignore-case pattern is tested against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IgnoreCasePart {
    /// `equals-ignore-case`: the whole value.
    Whole,
    /// `prefix` with `equals-ignore-case`: a start of the value.
    Start,
    /// `suffix` with `equals-ignore-case`: an end of the value.
    End,
}

/// Event-ruler's ignore-case rule, by exhaustive search: every character of
/// `pattern` stands for its lower-case form or its upper-case form (Unicode's
/// full mappings of that one character), and the value (or a start or end of
/// it, per `part`) must be one such spelling.
///
/// ```
/// use sluice_pattern::reference::{IgnoreCasePart, ignore_case_accepts};
/// assert!(ignore_case_accepts("straße", "STRASSE", IgnoreCasePart::Whole));
/// assert!(!ignore_case_accepts("ß", "ẞ", IgnoreCasePart::Whole));
/// assert!(ignore_case_accepts("ᾼ", "ΑΙ", IgnoreCasePart::End));
/// ```
pub fn ignore_case_accepts(pattern: &str, value: &str, part: IgnoreCasePart) -> bool {
    fn spells(pattern: &[char], value: &str) -> bool {
        let Some((&c, rest)) = pattern.split_first() else {
            return value.is_empty();
        };
        let lower: String = c.to_lowercase().collect();
        let upper: String = c.to_uppercase().collect();
        [lower, upper].iter().any(|form| {
            value
                .strip_prefix(form.as_str())
                .is_some_and(|tail| spells(rest, tail))
        })
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let cuts = value.char_indices().map(|(i, _)| i).chain([value.len()]);
    match part {
        IgnoreCasePart::Whole => spells(&pattern, value),
        IgnoreCasePart::Start => cuts.into_iter().any(|i| spells(&pattern, &value[..i])),
        IgnoreCasePart::End => cuts.into_iter().any(|i| spells(&pattern, &value[i..])),
    }
}

fn number(value: &LeafValue) -> Option<Decimal> {
    match value {
        LeafValue::Number(n) => Decimal::parse(n.as_bytes()),
        _ => None,
    }
}

/// Whether `condition` accepts the absence of its field.
pub(crate) fn accepts_absence(condition: &FieldCondition) -> bool {
    condition.ops.contains(&Op::Exists(false))
}

/// Whether two trails agree on every array they share.
pub(crate) fn consistent(a: &[TrailStep], b: &[TrailStep]) -> bool {
    a.iter()
        .all(|(array, index)| b.iter().all(|(other, i)| other != array || i == index))
}

/// Exhaustive search: can every condition be met, with array consistency?
///
/// Each condition takes one value that passes it, consistent with the
/// values taken so far, or, when it accepts `exists: false`, takes the
/// field's absence. An absence is judged once every condition has chosen:
/// no value of the field may be consistent with the elements the others
/// took. So inside an array of objects it is decided per element (the
/// element the rule's other fields use must lack the field), and where no
/// other field chooses an element, the field must be absent from all.
pub(crate) fn subrule_matches(subrule: &SubRule, flat: &[FlatValue]) -> bool {
    fn search<'c>(
        conditions: &'c [FieldCondition],
        flat: &[FlatValue],
        trail: &mut Vec<TrailStep>,
        absences: &mut Vec<&'c str>,
    ) -> bool {
        let Some((condition, rest)) = conditions.split_first() else {
            return absences.iter().all(|path| {
                !flat
                    .iter()
                    .any(|v| v.path == *path && consistent(trail, &v.trail))
            });
        };
        for value in flat.iter().filter(|v| v.path == condition.path) {
            if !consistent(trail, &value.trail)
                || !condition.ops.iter().any(|op| op_accepts(op, &value.value))
            {
                continue;
            }
            let mark = trail.len();
            trail.extend(
                value
                    .trail
                    .iter()
                    .filter(|s| !trail.contains(s))
                    .copied()
                    .collect::<Vec<_>>(),
            );
            let ok = search(rest, flat, trail, absences);
            trail.truncate(mark);
            if ok {
                return true;
            }
        }
        if !accepts_absence(condition) {
            return false;
        }
        absences.push(&condition.path);
        let ok = search(rest, flat, trail, absences);
        absences.pop();
        ok
    }
    search(subrule, flat, &mut Vec::new(), &mut Vec::new())
}

/// Whether a compiled pattern matches a flattened event.
pub(crate) fn pattern_matches(pattern: &Pattern, flat: &[FlatValue]) -> bool {
    pattern.subrules.iter().any(|s| subrule_matches(s, flat))
}

/// An error from [`matches()`]: the pattern or the event was rejected.
///
/// ```
/// use sluice_pattern::reference::{self, ReferenceError};
/// assert!(matches!(reference::matches(r#"{"a": []}"#, b"{}"), Err(ReferenceError::Pattern(_))));
/// assert!(matches!(reference::matches(r#"{"a": ["1"]}"#, b"[1]"), Err(ReferenceError::Event(_))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferenceError {
    /// The pattern is invalid.
    Pattern(PatternError),
    /// The event is not well-formed.
    Event(EventError),
}

/// Brute-force match of one pattern against one event, with the default
/// [`Config`].
///
/// ```
/// let hit = sluice_pattern::reference::matches(r#"{"n": [300]}"#, br#"{"n": 3e2}"#).unwrap();
/// assert!(hit);
/// ```
pub fn matches(pattern: &str, event: &[u8]) -> Result<bool, ReferenceError> {
    matches_with(&Config::default(), pattern, event)
}

/// Brute-force match with the limits of `config`.
///
/// ```
/// let config = sluice_pattern::Config::new();
/// let hit = sluice_pattern::reference::matches_with(&config, r#"{"n": [{"exists": false}]}"#, b"{}").unwrap();
/// assert!(hit);
/// ```
pub fn matches_with(config: &Config, pattern: &str, event: &[u8]) -> Result<bool, ReferenceError> {
    let limits = pattern::Limits {
        max_pattern_len: config.get_max_pattern_len(),
        max_fields_per_rule: usize::MAX,
        max_or_combinations: 1000,
    };
    let compiled = pattern::compile(pattern, &limits)
        .map_err(|r| ReferenceError::Pattern(PatternError::new(r)))?;
    let flat = flatten_event(event, 1000).map_err(ReferenceError::Event)?;
    Ok(pattern_matches(&compiled, &flat))
}

/// JSON string literal.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattening_keeps_last_duplicate_and_trails() {
        let flat = flatten_event(br#"{"a":1,"b":[{"c":"x"},{"c":"y"}],"a":2}"#, 1000).unwrap();
        let rendered: Vec<(String, String, usize)> = flat
            .iter()
            .map(|v| (v.path.clone(), v.value.render(), v.trail.len()))
            .collect();
        assert_eq!(
            rendered,
            vec![
                ("b.c".into(), "\"x\"".into(), 1),
                ("b.c".into(), "\"y\"".into(), 1),
                ("a".into(), "2".into(), 0)
            ]
        );
    }

    #[test]
    fn array_consistency() {
        let pattern = r#"{"m": {"name": ["CPU"], "ns": ["AWS/ES"]}}"#;
        let split =
            br#"{"m": [{"name": "CPU", "ns": "AWS/EC2"}, {"name": "Req", "ns": "AWS/ES"}]}"#;
        let same = br#"{"m": [{"name": "CPU", "ns": "AWS/ES"}]}"#;
        assert!(!matches(pattern, split).unwrap());
        assert!(matches(pattern, same).unwrap());
    }
}
