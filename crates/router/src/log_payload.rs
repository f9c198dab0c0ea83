//! How a CloudWatch Logs delivery reads its payload. A payload of exactly
//! `{"timestamp": …, "message": …}` (what an input transformer for a log
//! group produces) gives the log event its own message and timestamp; any
//! other payload is the message itself, stamped with the event's time.

use crate::clock::parse_rfc3339;
use crate::document::{Node, decode_str};

/// The message and timestamp a shaped payload states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPayload {
    /// The message: a string as is, anything else as compact JSON text
    /// (numbers as written).
    pub message: String,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// A shaped payload whose timestamp cannot be read.
///
/// ```
/// use sluice_router::log_payload::read_log_payload;
/// let err = read_log_payload(r#"{"timestamp": true, "message": "m"}"#).unwrap_err();
/// assert!(err.to_string().contains("neither epoch milliseconds nor an RFC 3339 time"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the payload's \"timestamp\" ({0}) is neither epoch milliseconds nor an RFC 3339 time")]
pub struct InvalidLogTimestamp(pub String);

/// The message and timestamp of a payload of exactly `{"timestamp": …,
/// "message": …}` (in either order); `None` for any other payload. The
/// timestamp is epoch milliseconds, as a number or a string, or an RFC 3339
/// time.
///
/// ```
/// use sluice_router::log_payload::read_log_payload;
/// let shaped = read_log_payload(r#"{"timestamp": "2026-09-14T07:00:00Z", "message": {"n": 1.50}}"#)
///     .unwrap()
///     .unwrap();
/// assert_eq!((shaped.message.as_str(), shaped.timestamp_ms), (r#"{"n":1.50}"#, 1_789_369_200_000));
/// assert_eq!(read_log_payload(r#"{"id": "e1", "detail": {}}"#).unwrap(), None);
/// ```
pub fn read_log_payload(payload: &str) -> Result<Option<LogPayload>, InvalidLogTimestamp> {
    // Most payloads are whole events: no need to parse those.
    if !(payload.contains("\"timestamp\"") && payload.contains("\"message\"")) {
        return Ok(None);
    }
    let Ok(Node::Object(members)) = Node::parse(payload) else {
        return Ok(None);
    };
    let [(first, first_value), (second, second_value)] = members.as_slice() else {
        return Ok(None);
    };
    let (timestamp, message) = match (*first, *second) {
        ("timestamp", "message") => (first_value, second_value),
        ("message", "timestamp") => (second_value, first_value),
        _ => return Ok(None),
    };
    let timestamp_ms = match timestamp {
        Node::Scalar(number) => number.parse::<i64>().ok(),
        Node::String(raw) => {
            let text = decode_str(raw);
            text.parse::<i64>()
                .ok()
                .or_else(|| parse_rfc3339(&text).map(|s| s * 1000))
        }
        _ => None,
    }
    .ok_or_else(|| InvalidLogTimestamp(timestamp.to_json()))?;
    let message = match message {
        Node::String(raw) => decode_str(raw).into_owned(),
        other => other.to_json(),
    };
    Ok(Some(LogPayload {
        message,
        timestamp_ms,
    }))
}
