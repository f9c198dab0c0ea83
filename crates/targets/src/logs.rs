//! CloudWatch Logs log groups: every delivery becomes one log event.
//!
//! As EventBridge does, each event gets its own log stream, named by the
//! event's id (created on first use), and the log event's timestamp is the
//! event's `time`. A payload shaped as `{"timestamp": …, "message": …}`
//! (what an input transformer for a log group produces) gives its own
//! message and timestamp (epoch milliseconds or an RFC 3339 time).
//!
//! Deliveries that arrive together are written with as few PutLogEvents
//! calls as CloudWatch Logs' limits allow: one stream per call, events in
//! time order, at most [`MAX_BATCH_EVENTS`] events and [`MAX_BATCH_BYTES`]
//! bytes, spanning at most [`MAX_BATCH_SPAN_MS`]. A log event CloudWatch
//! Logs would refuse (older than [`MAX_AGE_MS`], more than
//! [`MAX_FUTURE_MS`] ahead, larger than [`MAX_EVENT_BYTES`]) fails without
//! a call and is not retried, so it reaches the dead-letter queue or the
//! failure count with the reason.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use sluice_router::arn::Arn;
use sluice_router::clock::format_epoch_seconds;
use sluice_router::log_payload::read_log_payload;
use sluice_router::{Delivery, DeliveryError};

use crate::batch::{Batched, SendBatch};
use crate::error::from_sdk;

/// Log events in one PutLogEvents call.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Bytes in one PutLogEvents call: messages in UTF-8 plus
/// [`EVENT_OVERHEAD_BYTES`] per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What CloudWatch Logs counts for each event besides its message.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// Largest log event (message plus overhead).
pub const MAX_EVENT_BYTES: usize = 1_048_576;
/// Largest time span between the first and last event of one call (24 hours).
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 3_600_000;
/// Oldest accepted log event, before now (14 days).
pub const MAX_AGE_MS: i64 = 14 * 86_400_000;
/// Furthest accepted log event after now (2 hours).
pub const MAX_FUTURE_MS: i64 = 2 * 3_600_000;

/// Delivers to one log group.
pub(crate) type LogGroup = Batched<Group>;

/// PutLogEvents to one log group, creating streams as needed.
pub(crate) struct Group {
    client: Client,
    name: String,
    /// Streams known to exist, when the same few streams are written again
    /// and again (a processing log); `None` for one stream per event.
    known_streams: Option<Mutex<HashSet<String>>>,
}

/// One delivery as a log event.
#[derive(Debug)]
struct Entry {
    stream: String,
    timestamp_ms: i64,
    message: String,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Formats epoch milliseconds for an error message.
fn describe(ms: i64) -> String {
    format_epoch_seconds(ms.div_euclid(1000))
}

/// The log event for `delivery`, or why CloudWatch Logs would refuse it.
fn entry(delivery: &Delivery, now_ms: i64) -> Result<Entry, DeliveryError> {
    let shaped = read_log_payload(&delivery.payload)
        .map_err(|e| DeliveryError::client("InvalidLogEventTimestamp", e.to_string()))?;
    let (message, stated) = match shaped {
        Some(shaped) => (shaped.message, Some(shaped.timestamp_ms)),
        None => (delivery.payload.to_string(), None),
    };
    let timestamp_ms = stated
        .or(delivery.parameters.event_time_ms())
        .unwrap_or(now_ms);
    if message.len() + EVENT_OVERHEAD_BYTES > MAX_EVENT_BYTES {
        return Err(crate::error::too_large(
            "the log event",
            message.len() + EVENT_OVERHEAD_BYTES,
            MAX_EVENT_BYTES,
        ));
    }
    if timestamp_ms < now_ms - MAX_AGE_MS {
        return Err(DeliveryError::client(
            "TooOldLogEvent",
            format!(
                "the log event's time {} is more than 14 days ago; CloudWatch Logs accepts no older event",
                describe(timestamp_ms)
            ),
        ));
    }
    if timestamp_ms > now_ms + MAX_FUTURE_MS {
        return Err(DeliveryError::client(
            "TooNewLogEvent",
            format!(
                "the log event's time {} is more than 2 hours ahead; CloudWatch Logs accepts no later event",
                describe(timestamp_ms)
            ),
        ));
    }
    let stream = match delivery.event_id.as_deref() {
        Some(id) if !id.is_empty() => id.to_string(),
        // An event without an id (not an EventBridge envelope).
        _ => "sluice-events-without-id".to_string(),
    };
    Ok(Entry {
        stream,
        timestamp_ms,
        message,
    })
}

/// Splits one stream's entries (indexes into `entries`, sorted by time)
/// into PutLogEvents calls within the count, size and span limits.
fn calls(entries: &[Entry], indexes: &[usize]) -> Vec<Vec<usize>> {
    let mut calls: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    let mut first_time = 0;
    for &i in indexes {
        let entry = &entries[i];
        let size = entry.message.len() + EVENT_OVERHEAD_BYTES;
        let fits = calls.last().is_some_and(|call| {
            call.len() < MAX_BATCH_EVENTS
                && bytes + size <= MAX_BATCH_BYTES
                && entry.timestamp_ms - first_time <= MAX_BATCH_SPAN_MS
        });
        if fits {
            bytes += size;
        } else {
            calls.push(Vec::new());
            bytes = size;
            first_time = entry.timestamp_ms;
        }
        if let Some(call) = calls.last_mut() {
            call.push(i);
        }
    }
    calls
}

impl Group {
    /// The log group `arn`; `remember_streams` when the same few streams
    /// are written again and again, so each is created only once.
    pub(crate) fn new(client: Client, arn: &Arn, remember_streams: bool) -> Group {
        Group {
            client,
            name: arn.resource_name().to_string(),
            known_streams: remember_streams.then(|| Mutex::new(HashSet::new())),
        }
    }
}

impl SendBatch for Group {
    const MAX_ENTRIES: usize = MAX_BATCH_EVENTS;
    const MAX_BYTES: usize = MAX_BATCH_BYTES;

    async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
        let now = now_ms();
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); deliveries.len()];
        let mut entries = Vec::with_capacity(deliveries.len());
        let mut streams: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, delivery) in deliveries.iter().enumerate() {
            match entry(delivery, now) {
                Ok(entry) => {
                    streams
                        .entry(entry.stream.clone())
                        .or_default()
                        .push(entries.len());
                    entries.push((i, entry));
                }
                Err(e) => results[i] = Err(e),
            }
        }
        let (positions, entries): (Vec<usize>, Vec<Entry>) = entries.into_iter().unzip();
        for (stream, mut indexes) in streams {
            indexes.sort_by_key(|&i| entries[i].timestamp_ms);
            if let Err(e) = self.create_stream(&stream).await {
                for &i in &indexes {
                    results[positions[i]] = Err(e.clone());
                }
                continue;
            }
            for call in calls(&entries, &indexes) {
                let outcome = self.put(&stream, &entries, &call).await;
                for (&i, result) in call.iter().zip(outcome) {
                    results[positions[i]] = result;
                }
            }
        }
        results
    }
}

impl Group {
    /// Creates `stream` unless it exists.
    async fn create_stream(&self, stream: &str) -> Result<(), DeliveryError> {
        let known = |streams: &Mutex<HashSet<String>>| {
            streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(stream)
        };
        if self.known_streams.as_ref().is_some_and(known) {
            return Ok(());
        }
        let created = match self
            .client
            .create_log_stream()
            .log_group_name(&self.name)
            .log_stream_name(stream)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
            Err(e) => Err(from_sdk(e)),
        };
        if let (Ok(()), Some(streams)) = (&created, &self.known_streams) {
            streams
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(stream.to_string());
        }
        created
    }

    /// One PutLogEvents call; one result per event of `call`.
    async fn put(
        &self,
        stream: &str,
        entries: &[Entry],
        call: &[usize],
    ) -> Vec<Result<(), DeliveryError>> {
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); call.len()];
        // `sent_positions[k]` is the place in `call` of the k-th event sent.
        let mut sent_positions = Vec::with_capacity(call.len());
        let mut events = Vec::with_capacity(call.len());
        for (position, &i) in call.iter().enumerate() {
            let event = InputLogEvent::builder()
                .timestamp(entries[i].timestamp_ms)
                .message(&entries[i].message)
                .build();
            match event {
                Ok(event) => {
                    events.push(event);
                    sent_positions.push(position);
                }
                Err(e) => {
                    results[position] =
                        Err(DeliveryError::client("InvalidParameter", e.to_string()))
                }
            }
        }
        if events.is_empty() {
            return results;
        }
        let sent = self
            .client
            .put_log_events()
            .log_group_name(&self.name)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await;
        let output = match sent {
            Ok(output) => output,
            Err(e) => {
                let error = from_sdk(e);
                for &position in &sent_positions {
                    results[position] = Err(error.clone());
                }
                return results;
            }
        };
        if let Some(rejected) = output.rejected_log_events_info() {
            let count = sent_positions.len();
            let too_old_end = rejected
                .too_old_log_event_end_index()
                .map_or(0, clamp(count));
            let expired_end = rejected
                .expired_log_event_end_index()
                .map_or(0, clamp(count));
            let too_new_start = rejected
                .too_new_log_event_start_index()
                .map_or(count, clamp(count));
            for (k, &position) in sent_positions.iter().enumerate() {
                let reason = if k < too_old_end {
                    Some(("TooOldLogEvent", "more than 14 days ago"))
                } else if k < expired_end {
                    Some((
                        "ExpiredLogEvent",
                        "older than the log group's retention period",
                    ))
                } else if k >= too_new_start {
                    Some(("TooNewLogEvent", "more than 2 hours ahead"))
                } else {
                    None
                };
                if let Some((code, why)) = reason {
                    results[position] = Err(DeliveryError::client(
                        code,
                        format!("CloudWatch Logs rejected the log event: its time is {why}"),
                    ));
                }
            }
        }
        results
    }
}

/// Turns an index from the service into a position within `count`.
fn clamp(count: usize) -> impl Fn(i32) -> usize {
    move |index| usize::try_from(index).unwrap_or(0).min(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_router::target_parameters::DeliveryParameters;

    fn delivery(payload: &str, time_ms: Option<i64>) -> Delivery {
        let mut d = Delivery::new(payload, Some("e-1".into()));
        d.parameters = DeliveryParameters::Logs {
            event_time_ms: time_ms,
        };
        d
    }

    #[test]
    fn the_event_time_stamps_the_whole_payload() {
        let now = 1_790_000_000_000;
        let e = entry(&delivery(r#"{"id":"e-1"}"#, Some(now - 5_000)), now).unwrap();
        assert_eq!((e.stream.as_str(), e.timestamp_ms), ("e-1", now - 5_000));
        assert_eq!(e.message, r#"{"id":"e-1"}"#);
        // No valid event time: now.
        assert_eq!(entry(&delivery("x", None), now).unwrap().timestamp_ms, now);
    }

    #[test]
    fn a_timestamp_and_message_payload_is_unwrapped() {
        let now = 1_790_000_000_000;
        let e = entry(
            &delivery(
                r#"{"timestamp": "2026-09-21T14:13:20Z", "message": "image \"a\" failed"}"#,
                None,
            ),
            now,
        )
        .unwrap();
        assert_eq!(e.timestamp_ms, 1_790_000_000_000);
        assert_eq!(e.message, r#"image "a" failed"#);
        let e = entry(
            &delivery(r#"{"message": {"a": 1}, "timestamp": 1789999999000}"#, None),
            now,
        )
        .unwrap();
        assert_eq!(
            (e.message.as_str(), e.timestamp_ms),
            (r#"{"a":1}"#, 1_789_999_999_000)
        );
        let err = entry(
            &delivery(r#"{"timestamp": "soon", "message": "m"}"#, None),
            now,
        )
        .unwrap_err();
        assert_eq!(err.code(), "InvalidLogEventTimestamp");
        // Other shapes are messages as they are.
        let e = entry(
            &delivery(r#"{"timestamp": 1, "message": "m", "x": 2}"#, Some(now)),
            now,
        )
        .unwrap();
        assert!(e.message.contains(r#""x": 2"#));
    }

    #[test]
    fn events_cloudwatch_logs_would_refuse_fail_with_the_reason() {
        let now = 1_790_000_000_000;
        let old = entry(&delivery("m", Some(now - MAX_AGE_MS - 1)), now).unwrap_err();
        assert_eq!(old.code(), "TooOldLogEvent");
        assert_eq!(old.kind(), sluice_router::FailureKind::ClientError);
        assert!(
            old.message().contains("more than 14 days ago"),
            "{}",
            old.message()
        );
        let new = entry(&delivery("m", Some(now + MAX_FUTURE_MS + 1)), now).unwrap_err();
        assert_eq!(new.code(), "TooNewLogEvent");
        let big = "x".repeat(MAX_EVENT_BYTES);
        assert!(entry(&delivery(&big, Some(now)), now).is_err());
    }

    #[test]
    fn calls_respect_count_size_and_span() {
        let entry = |t: i64, size: usize| Entry {
            stream: "s".into(),
            timestamp_ms: t,
            message: "x".repeat(size),
        };
        let mut entries: Vec<Entry> = (0..MAX_BATCH_EVENTS + 5)
            .map(|i| entry(i as i64, 1))
            .collect();
        let indexes: Vec<usize> = (0..entries.len()).collect();
        let split = calls(&entries, &indexes);
        assert_eq!(
            split.iter().map(Vec::len).collect::<Vec<_>>(),
            [MAX_BATCH_EVENTS, 5]
        );

        entries = vec![entry(0, 600_000), entry(1, 600_000), entry(2, 10)];
        assert_eq!(calls(&entries, &[0, 1, 2]), [vec![0], vec![1, 2]]);

        entries = vec![
            entry(0, 1),
            entry(MAX_BATCH_SPAN_MS, 1),
            entry(MAX_BATCH_SPAN_MS + 1, 1),
        ];
        assert_eq!(calls(&entries, &[0, 1, 2]), [vec![0, 1], vec![2]]);
    }
}
