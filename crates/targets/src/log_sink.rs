//! A processing log written to a CloudWatch Logs log group, through the
//! same PutLogEvents calls as log-group targets.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use aws_sdk_cloudwatchlogs::Client;
use sluice_router::arn::Arn;
use sluice_router::processing_log::{LogSink, LogStats};
use sluice_router::target_parameters::DeliveryParameters;
use sluice_router::{BoxFuture, Delivery};
use tokio::sync::mpsc;

use crate::batch::SendBatch;
use crate::logs::{EVENT_OVERHEAD_BYTES, Group, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, now_ms};

/// Records waiting to be written by a [`LogGroupSink`]; beyond this, new
/// records are counted as failed rather than held.
pub const SINK_QUEUE_RECORDS: usize = 100_000;

/// A processing log written to a CloudWatch Logs log group: records are
/// gathered into PutLogEvents calls (within the limits of [`crate::logs`]) on one
/// stream, stamped with the time they were written.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use sluice_router::{arn::Arn, model::Environment};
/// use sluice_router::processing_log::{LogLevel, ProcessingLog};
/// let connector = sluice_targets::AwsConnector::from_env().await;
/// let group = Arn::parse("arn:aws:logs:us-east-1:123456789012:log-group:/sluice/default")?;
/// let sink = connector.log_group_sink(&group, "sluice/route")?;
/// let log = ProcessingLog::new(LogLevel::Info, Arc::new(sink), &Environment::default());
/// // … route with `Router::with_processing_log(…, Some(log.clone()))`, then:
/// let stats = log.finish().await;
/// # Ok(()) }
/// ```
pub struct LogGroupSink {
    sender: Mutex<Option<mpsc::Sender<String>>>,
    writer: Mutex<Option<tokio::task::JoinHandle<LogStats>>>,
    dropped: AtomicU64,
}

impl LogGroupSink {
    /// A sink into `stream` of the log group `arn`; the group must exist
    /// (the stream is created). Must be called inside a Tokio runtime.
    pub(crate) fn new(client: Client, arn: &Arn, stream: &str) -> LogGroupSink {
        let group = Group::new(client, arn, true);
        let (sender, receiver) = mpsc::channel(SINK_QUEUE_RECORDS);
        let writer = tokio::spawn(write_records(group, stream.to_string(), receiver));
        LogGroupSink {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            dropped: AtomicU64::new(0),
        }
    }
}

/// Writes records as they come, as few calls as the limits allow.
async fn write_records(
    group: Group,
    stream: String,
    mut receiver: mpsc::Receiver<String>,
) -> LogStats {
    let mut stats = LogStats::default();
    while let Some(first) = receiver.recv().await {
        let mut bytes = first.len() + EVENT_OVERHEAD_BYTES;
        let mut lines = vec![first];
        while lines.len() < MAX_BATCH_EVENTS {
            let Ok(next) = receiver.try_recv() else { break };
            bytes += next.len() + EVENT_OVERHEAD_BYTES;
            lines.push(next);
            if bytes >= MAX_BATCH_BYTES {
                break;
            }
        }
        let now = now_ms();
        let deliveries: Vec<Delivery> = lines
            .into_iter()
            .map(|line| {
                let mut delivery = Delivery::new(line, Some(stream.as_str().into()));
                delivery.parameters = DeliveryParameters::Logs {
                    event_time_ms: Some(now),
                };
                delivery
            })
            .collect();
        for result in group.send(deliveries).await {
            match result {
                Ok(()) => stats.written += 1,
                Err(e) => {
                    stats.failed += 1;
                    stats.last_error = Some(format!("{}: {}", e.code(), e.message()));
                }
            }
        }
    }
    stats
}

impl LogSink for LogGroupSink {
    fn write_line(&self, line: String) {
        let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        let sent = sender.as_ref().map(|s| s.try_send(line));
        if !matches!(sent, Some(Ok(()))) {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    fn finish(&self) -> BoxFuture<LogStats> {
        // Closing the queue lets the writer drain it and end.
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        let dropped = self.dropped.load(Relaxed);
        Box::pin(async move {
            let mut stats = match writer {
                Some(writer) => writer.await.unwrap_or_else(|e| LogStats {
                    last_error: Some(format!("the log writer stopped: {e}")),
                    ..LogStats::default()
                }),
                None => LogStats::default(),
            };
            if dropped > 0 {
                stats.failed += dropped;
                stats.last_error.get_or_insert_with(|| {
                    format!("{dropped} records arrived while {SINK_QUEUE_RECORDS} were waiting to be written")
                });
            }
            stats
        })
    }
}
