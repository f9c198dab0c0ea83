//! Step Functions execution names chosen by sluice: the same delivery
//! always gets the same name, so a retried StartExecution is idempotent,
//! and two different deliveries never share one.
//!
//! A name is the event id, cut to the characters and length Step Functions
//! allows, then a UUID v5 of the event id, the event's `replay-name`, the
//! rule ARN and the target id. It is at most [`MAX_LEN`] characters.

use uuid::Uuid;

/// StartExecution's limit on `name`.
pub const MAX_LEN: usize = 80;

/// The longest readable prefix: what is left of [`MAX_LEN`] after a `-`
/// and a hyphenated UUID.
const PREFIX_LEN: usize = MAX_LEN - 1 - 36;

/// Names each delivery's UUID apart from any other use of UUID v5.
const NAMESPACE: Uuid = Uuid::from_u128(0x5c1c_e0e8_7d4b_4c1f_9a57_3b0e_6f21_d8a4);

/// The execution name of the delivery of one event to one target of one
/// rule. An event without an id is told apart by its text.
///
/// ```
/// use sluice_router::execution_name::{execution_name, MAX_LEN};
/// let rule = "arn:aws:events:us-east-1:123456789012:rule/r";
/// let first = execution_name("e-1", None, rule, "t", "{}");
/// assert_eq!(first, execution_name("e-1", None, rule, "t", "{}"));
/// assert_ne!(first, execution_name("e-1", Some("replay-2"), rule, "t", "{}"));
/// assert_ne!(first, execution_name("e-1", None, rule, "t2", "{}"));
/// assert!(first.starts_with("e-1-") && first.len() <= MAX_LEN);
/// ```
pub fn execution_name(
    event_id: &str,
    replay_name: Option<&str>,
    rule_arn: &str,
    target_id: &str,
    event: &str,
) -> String {
    let mut key = Vec::with_capacity(event_id.len() + rule_arn.len() + target_id.len() + 64);
    for part in [event_id, replay_name.unwrap_or(""), rule_arn, target_id] {
        key.extend_from_slice(part.as_bytes());
        key.push(0);
    }
    // A replayed event is a delivery of its own.
    key.push(u8::from(replay_name.is_some()));
    if event_id.is_empty() {
        key.extend_from_slice(event.as_bytes());
    }
    let uuid = Uuid::new_v5(&NAMESPACE, &key);
    let prefix: String = event_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(PREFIX_LEN)
        .collect();
    if prefix.is_empty() {
        uuid.hyphenated().to_string()
    } else {
        format!("{prefix}-{}", uuid.hyphenated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "arn:aws:events:us-east-1:123456789012:rule/r";

    #[test]
    fn names_keep_to_step_functions_characters_and_length() {
        let long = "x".repeat(500) + " <>{}[]?*\"#%\\^|~`$&,;:/";
        for id in [
            long.as_str(),
            "",
            "ünïcode id",
            "8d116ece-1738-47d9-bd9c-172411e20b8f",
        ] {
            let name = execution_name(id, Some("r"), RULE, "t", "{}");
            assert!(name.len() <= MAX_LEN, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{name}"
            );
        }
    }

    #[test]
    fn events_without_an_id_are_told_apart_by_their_text() {
        assert_ne!(
            execution_name("", None, RULE, "t", r#"{"a":1}"#),
            execution_name("", None, RULE, "t", r#"{"a":2}"#)
        );
    }

    #[test]
    fn rules_and_replays_give_different_names() {
        let base = execution_name("e", None, RULE, "t", "{}");
        assert_ne!(base, execution_name("e", None, "arn:other", "t", "{}"));
        assert_ne!(base, execution_name("e", Some(""), RULE, "t", "{}"));
    }
}
