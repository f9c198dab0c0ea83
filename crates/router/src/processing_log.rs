//! Processing logs: one JSON object a line for every step the router takes
//! with an event, in the record layout of EventBridge's event bus logs
//! (`resource_arn`, `event_id`, `invocation_id`, `message_timestamp_ms`,
//! `message_type`, `log_level`, `details`, `error`). Every record of an
//! event carries its `event_id`, so one event can be followed through
//! matching, each invocation attempt, retries and dead-lettering.
//!
//! Levels, as EventBridge has them: `ERROR` logs failures only, `INFO`
//! adds the major steps (receipt, each rule matched, each delivery's
//! outcome, retries), `TRACE` adds every step (each attempt's start and
//! success). [`Step::level`] gives the level of each step.
//!
//! Records go to a [`LogSink`]: a local file rotated by size
//! ([`RotatingFile`]), or anything else that takes lines (sluice-targets
//! writes them to a CloudWatch Logs log group).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::deliver::{BoxFuture, DeliveryError, FailureKind};
use crate::files;
use crate::model::Environment;

/// How much a processing log records; each level includes the ones before.
///
/// ```
/// use sluice_router::processing_log::LogLevel;
/// assert!(LogLevel::Error < LogLevel::Info && LogLevel::Info < LogLevel::Trace);
/// assert_eq!(LogLevel::Trace.as_str(), "TRACE");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures: malformed events, deliveries that failed for good,
    /// dead-lettering.
    Error,
    /// Failures and the major steps: receipt, rules matched, delivery
    /// outcomes, retries.
    Info,
    /// Every step.
    Trace,
}

impl LogLevel {
    /// The level's name in records (`ERROR`, `INFO`, `TRACE`; `OFF`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Off => "OFF",
            LogLevel::Error => "ERROR",
            LogLevel::Info => "INFO",
            LogLevel::Trace => "TRACE",
        }
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    /// Reads `off`, `error`, `info` or `trace`, in any case.
    ///
    /// ```
    /// use sluice_router::processing_log::LogLevel;
    /// assert_eq!("Trace".parse::<LogLevel>(), Ok(LogLevel::Trace));
    /// assert!("debug".parse::<LogLevel>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<LogLevel, String> {
        match text.to_ascii_uppercase().as_str() {
            "OFF" => Ok(LogLevel::Off),
            "ERROR" => Ok(LogLevel::Error),
            "INFO" => Ok(LogLevel::Info),
            "TRACE" => Ok(LogLevel::Trace),
            _ => Err(format!(
                "log level {text:?} is not one of off, error, info, trace"
            )),
        }
    }
}

/// A step of processing, named as EventBridge names it in `message_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The event arrived on the bus.
    EventReceipt,
    /// The event was rejected (malformed), with the reason.
    EventIngestFailure,
    /// The event matched a rule.
    RuleMatch,
    /// The event matched no rule.
    NoStandardRulesMatched,
    /// A delivery to one target of a matched rule begins.
    InvocationStart,
    /// One call to the target begins.
    InvocationAttemptStart,
    /// The call succeeded.
    InvocationAttemptSuccess,
    /// The call failed and will be retried, or would have been had the
    /// retry policy allowed it.
    InvocationAttemptRetryableFailure,
    /// The call was throttled.
    InvocationAttemptThrottle,
    /// The call failed in a way retrying cannot mend.
    InvocationAttemptPermanentFailure,
    /// The delivery succeeded.
    InvocationSuccess,
    /// The delivery failed for good.
    InvocationFailure,
    /// The failed delivery's event went to the dead-letter queue (or the
    /// queue refused it).
    InvocationDlq,
}

impl Step {
    /// The `message_type` of the step.
    pub fn name(self) -> &'static str {
        match self {
            Step::EventReceipt => "EVENT_RECEIPT",
            Step::EventIngestFailure => "EVENT_INGEST_FAILURE",
            Step::RuleMatch => "RULE_MATCH",
            Step::NoStandardRulesMatched => "NO_STANDARD_RULES_MATCHED",
            Step::InvocationStart => "INVOCATION_START",
            Step::InvocationAttemptStart => "INVOCATION_ATTEMPT_START",
            Step::InvocationAttemptSuccess => "INVOCATION_ATTEMPT_SUCCESS",
            Step::InvocationAttemptRetryableFailure => "INVOCATION_ATTEMPT_RETRYABLE_FAILURE",
            Step::InvocationAttemptThrottle => "INVOCATION_ATTEMPT_THROTTLE",
            Step::InvocationAttemptPermanentFailure => "INVOCATION_ATTEMPT_PERMANENT_FAILURE",
            Step::InvocationSuccess => "INVOCATION_SUCCESS",
            Step::InvocationFailure => "INVOCATION_FAILURE",
            Step::InvocationDlq => "INVOCATION_DLQ",
        }
    }

    /// The lowest log level that records the step.
    ///
    /// ```
    /// use sluice_router::processing_log::{LogLevel, Step};
    /// assert_eq!(Step::InvocationFailure.level(), LogLevel::Error);
    /// assert_eq!(Step::RuleMatch.level(), LogLevel::Info);
    /// assert_eq!(Step::InvocationAttemptStart.level(), LogLevel::Trace);
    /// ```
    pub fn level(self) -> LogLevel {
        match self {
            Step::EventIngestFailure | Step::InvocationFailure | Step::InvocationDlq => {
                LogLevel::Error
            }
            Step::EventReceipt
            | Step::RuleMatch
            | Step::NoStandardRulesMatched
            | Step::InvocationAttemptRetryableFailure
            | Step::InvocationAttemptThrottle
            | Step::InvocationSuccess => LogLevel::Info,
            Step::InvocationStart
            | Step::InvocationAttemptStart
            | Step::InvocationAttemptSuccess
            | Step::InvocationAttemptPermanentFailure => LogLevel::Trace,
        }
    }
}

/// How writing a processing log went.
///
/// ```
/// use sluice_router::processing_log::LogStats;
/// let stats = LogStats { written: 3, ..LogStats::default() };
/// assert_eq!((stats.written, stats.failed, stats.last_error), (3, 0, None));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Records written.
    pub written: u64,
    /// Records that could not be written.
    pub failed: u64,
    /// Why the last of those failed.
    pub last_error: Option<String>,
}

/// Where processing-log records go: one JSON text per call.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use sluice_router::BoxFuture;
/// use sluice_router::processing_log::{LogSink, LogStats};
///
/// /// Counts records and drops them.
/// #[derive(Default)]
/// struct Counter(AtomicU64);
/// impl LogSink for Counter {
///     fn write_line(&self, _: String) { self.0.fetch_add(1, Ordering::Relaxed); }
///     fn finish(&self) -> BoxFuture<LogStats> {
///         let written = self.0.load(Ordering::Relaxed);
///         Box::pin(async move { LogStats { written, ..LogStats::default() } })
///     }
/// }
/// let counter = Counter::default();
/// counter.write_line("{}".into());
/// assert_eq!(counter.0.load(Ordering::Relaxed), 1);
/// ```
pub trait LogSink: Send + Sync {
    /// Takes one record. Must not block for long: it is called while
    /// events are routed.
    fn write_line(&self, line: String);

    /// Writes out everything taken so far and reports how it went.
    fn finish(&self) -> BoxFuture<LogStats>;
}

/// An event bus's processing log: a level and a sink. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use sluice_router::model::Environment;
/// use sluice_router::processing_log::{LogLevel, ProcessingLog, RotatingFile};
/// let path = std::env::temp_dir().join(format!("sluice-doc-{}.log", std::process::id()));
/// let sink = RotatingFile::create(&path, 1 << 20, 2).unwrap();
/// let log = ProcessingLog::new(LogLevel::Info, Arc::new(sink), &Environment::default());
/// assert!(log.enabled(LogLevel::Error));
/// assert!(!log.enabled(LogLevel::Trace));
/// # let _ = std::fs::remove_file(path);
/// ```
#[derive(Clone)]
pub struct ProcessingLog {
    level: LogLevel,
    sink: Arc<dyn LogSink>,
    /// `arn:aws:events:REGION:ACCOUNT:event-bus/`
    bus_arn_prefix: Arc<str>,
}

impl std::fmt::Debug for ProcessingLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessingLog")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// The ids a record of one event names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordIds<'a> {
    pub(crate) bus: &'a str,
    pub(crate) event_id: &'a str,
    pub(crate) invocation_id: Option<&'a str>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `error` member of a record.
pub(crate) fn error_member(error: &DeliveryError) -> Value {
    json!({
        "error_code": error.code(),
        "error_message": error.message(),
        "retryable": error.is_retryable(),
        "throttled": error.kind() == FailureKind::Throttled,
    })
}

impl ProcessingLog {
    /// A log at `level` into `sink`, naming buses in `environment`'s region
    /// and account.
    pub fn new(
        level: LogLevel,
        sink: Arc<dyn LogSink>,
        environment: &Environment,
    ) -> ProcessingLog {
        ProcessingLog {
            level,
            sink,
            bus_arn_prefix: format!(
                "arn:aws:events:{}:{}:event-bus/",
                environment.region, environment.account
            )
            .into(),
        }
    }

    /// Whether records of `level` are written.
    pub fn enabled(&self, level: LogLevel) -> bool {
        level != LogLevel::Off && level <= self.level
    }

    /// Writes out every record so far.
    pub async fn finish(&self) -> LogStats {
        self.sink.finish().await
    }

    /// Writes one record of `step`, if the level records it; `details` is
    /// built only then. `error` is the record's `error` member (see
    /// [`error_member`]); records with one are failures, which are rare.
    pub(crate) fn record(
        &self,
        step: Step,
        ids: RecordIds<'_>,
        details: impl FnOnce() -> Map<String, Value>,
        error: Option<Value>,
    ) {
        if !self.enabled(step.level()) {
            return;
        }
        let mut record = Map::new();
        record.insert(
            "resource_arn".into(),
            Value::String(format!("{}{}", self.bus_arn_prefix, ids.bus)),
        );
        record.insert("event_id".into(), Value::String(ids.event_id.to_string()));
        if let Some(invocation) = ids.invocation_id {
            record.insert(
                "invocation_id".into(),
                Value::String(invocation.to_string()),
            );
        }
        record.insert("message_timestamp_ms".into(), Value::from(now_ms()));
        record.insert("message_type".into(), Value::String(step.name().into()));
        record.insert(
            "log_level".into(),
            Value::String(step.level().as_str().into()),
        );
        record.insert("details".into(), Value::Object(details()));
        if let Some(error) = error {
            record.insert("error".into(), error);
        }
        self.sink.write_line(Value::Object(record).to_string());
    }
}

/// A local file of records, one a line, rotated by size: when the next
/// record would take it past `max_bytes`, `PATH` becomes `PATH.1` (and
/// `PATH.1` becomes `PATH.2`, and so on up to `keep` old files; the oldest
/// goes) and a new `PATH` begins. Only a regular file is rotated (a device
/// or a pipe is written as it is), and a link at `PATH` is refused, never
/// followed.
///
/// Records are gathered into writes of about 64 KiB; a record counts as
/// written only once its write has succeeded, and the records of a failed
/// write count as failed, with the error.
///
/// ```
/// use sluice_router::processing_log::{LogSink, RotatingFile};
/// let dir = std::env::temp_dir().join(format!("sluice-rotating-doc-{}", std::process::id()));
/// let file = RotatingFile::create(&dir.join("bus.log"), 64 * 1024 * 1024, 5).unwrap();
/// file.write_line(r#"{"event_id":"e-1"}"#.to_string());
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// assert_eq!(file.finish().await.written, 1);
/// # });
/// assert_eq!(std::fs::read_to_string(dir.join("bus.log")).unwrap(), "{\"event_id\":\"e-1\"}\n");
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    /// Whether `path` is a regular file (only those are rotated).
    rotates: bool,
    state: Mutex<FileState>,
}

struct FileState {
    file: File,
    /// Records not yet written, and how many there are.
    buffer: Vec<u8>,
    buffered: u64,
    /// Bytes in the current file, written or buffered.
    bytes: u64,
    stats: LogStats,
}

/// Buffered bytes that make a write.
const WRITE_BYTES: usize = 64 << 10;

impl RotatingFile {
    /// Opens `path` for appending (creating it and its directory).
    pub fn create(path: &Path, max_bytes: u64, keep: usize) -> io::Result<RotatingFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = files::open_append(path)?;
        let meta = file.metadata()?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            rotates: meta.is_file(),
            state: Mutex::new(FileState {
                file,
                buffer: Vec::with_capacity(WRITE_BYTES),
                buffered: 0,
                bytes: meta.len(),
                stats: LogStats::default(),
            }),
        })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&self, state: &mut FileState) -> io::Result<()> {
        self.write_out(state);
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                let from = self.rotated(n);
                if std::fs::symlink_metadata(&from).is_ok() {
                    std::fs::rename(&from, self.rotated(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.rotated(1))?;
        }
        state.file = files::open_append(&self.path)?;
        state.bytes = 0;
        Ok(())
    }

    /// Writes the buffered records; they count as written or failed.
    fn write_out(&self, state: &mut FileState) {
        if state.buffer.is_empty() {
            return;
        }
        match state.file.write_all(&state.buffer) {
            Ok(()) => state.stats.written += state.buffered,
            Err(e) => {
                state.stats.failed += state.buffered;
                state.stats.last_error = Some(format!("{}: {e}", self.path.display()));
            }
        }
        state.buffer.clear();
        state.buffered = 0;
    }

    fn write(&self, state: &mut FileState, line: &str) -> io::Result<()> {
        let size = line.len() as u64 + 1;
        if self.rotates && state.bytes > 0 && state.bytes + size > self.max_bytes {
            self.rotate(state)?;
        }
        state.buffer.extend_from_slice(line.as_bytes());
        state.buffer.push(b'\n');
        state.buffered += 1;
        state.bytes += size;
        if state.buffer.len() >= WRITE_BYTES {
            self.write_out(state);
        }
        Ok(())
    }
}

impl LogSink for RotatingFile {
    fn write_line(&self, line: String) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        if let Err(e) = self.write(state, &line) {
            state.stats.failed += 1;
            state.stats.last_error = Some(format!("{}: {e}", self.path.display()));
        }
    }

    fn finish(&self) -> BoxFuture<LogStats> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.write_out(&mut state);
        if self.rotates
            && let Err(e) = state.file.sync_data()
        {
            state.stats.last_error = Some(format!("{}: {e}", self.path.display()));
        }
        let stats = state.stats.clone();
        Box::pin(async move { stats })
    }
}

/// Counts records written to a sink that keeps them in memory (for tests
/// and embedding): every line, in order.
#[derive(Default)]
pub struct MemorySink {
    lines: Mutex<Vec<String>>,
    written: AtomicU64,
}

impl MemorySink {
    /// The records so far.
    ///
    /// ```
    /// use sluice_router::processing_log::{LogSink, MemorySink};
    /// let sink = MemorySink::default();
    /// sink.write_line("{}".to_string());
    /// assert_eq!(sink.lines(), ["{}"]);
    /// ```
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl LogSink for MemorySink {
    fn write_line(&self, line: String) {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line);
        self.written.fetch_add(1, Relaxed);
    }

    fn finish(&self) -> BoxFuture<LogStats> {
        let written = self.written.load(Relaxed);
        Box::pin(async move {
            LogStats {
                written,
                ..LogStats::default()
            }
        })
    }
}

/// What the processing-log records of one delivery name.
pub(crate) struct InvocationTrace {
    pub(crate) log: ProcessingLog,
    pub(crate) bus: String,
    pub(crate) event_id: Option<Arc<str>>,
    pub(crate) invocation_id: String,
    pub(crate) rule_arn: String,
    pub(crate) target_id: String,
    pub(crate) target_arn: String,
}

impl std::fmt::Debug for InvocationTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvocationTrace")
            .field("invocation_id", &self.invocation_id)
            .finish_non_exhaustive()
    }
}

impl InvocationTrace {
    /// Logs `step` of this delivery; `details` gets the rule and target.
    pub(crate) fn record(
        &self,
        step: Step,
        details: impl FnOnce() -> Map<String, serde_json::Value>,
        error: Option<serde_json::Value>,
    ) {
        self.log.record(
            step,
            RecordIds {
                bus: &self.bus,
                event_id: self.event_id.as_deref().unwrap_or_default(),
                invocation_id: Some(&self.invocation_id),
            },
            || {
                let mut all = Map::new();
                all.insert("rule_arn".into(), self.rule_arn.as_str().into());
                all.insert("target_id".into(), self.target_id.as_str().into());
                all.insert("target_arn".into(), self.target_arn.as_str().into());
                all.extend(details());
                all
            },
            error,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_rotate_by_size_and_keep_the_newest() {
        let dir = std::env::temp_dir().join(format!("sluice-rotate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("bus.log");
        let file = RotatingFile::create(&path, 25, 2).unwrap();
        for i in 0..7 {
            file.write_line(format!("record number {i}"));
        }
        let stats = futures_util::FutureExt::now_or_never(file.finish()).unwrap();
        assert_eq!((stats.written, stats.failed), (7, 0));
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(&path), "record number 6\n");
        assert_eq!(read(&dir.join("bus.log.1")), "record number 5\n");
        assert_eq!(read(&dir.join("bus.log.2")), "record number 4\n");
        assert!(!dir.join("bus.log.3").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn records_that_cannot_be_written_are_not_counted_as_written() {
        let file = RotatingFile::create(Path::new("/dev/full"), 64 << 20, 5).unwrap();
        for i in 0..10_000 {
            file.write_line(format!("record number {i}"));
        }
        let stats = futures_util::FutureExt::now_or_never(file.finish()).unwrap();
        assert_eq!((stats.written, stats.failed), (0, 10_000));
        let error = stats.last_error.unwrap();
        assert!(error.contains("/dev/full"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_link_is_refused() {
        let dir = std::env::temp_dir().join(format!("sluice-log-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(dir.join("victim"), dir.join("bus.log")).unwrap();
        let error = RotatingFile::create(&dir.join("bus.log"), 64, 1)
            .err()
            .unwrap();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read(dir.join("victim")).unwrap(), b"keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn levels_filter_steps() {
        let sink = Arc::new(MemorySink::default());
        let log = ProcessingLog::new(LogLevel::Info, sink.clone(), &Environment::default());
        let ids = RecordIds {
            bus: "default",
            event_id: "e-1",
            invocation_id: None,
        };
        log.record(Step::InvocationAttemptStart, ids, Map::new, None);
        log.record(
            Step::RuleMatch,
            ids,
            || {
                let mut details = Map::new();
                details.insert("rule_name".into(), "r".into());
                details
            },
            None,
        );
        let lines = sink.lines();
        assert_eq!(lines.len(), 1);
        let record: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(record["message_type"], "RULE_MATCH");
        assert_eq!(record["log_level"], "INFO");
        assert_eq!(record["event_id"], "e-1");
        assert_eq!(
            record["resource_arn"],
            "arn:aws:events:us-east-1:123456789012:event-bus/default"
        );
        assert_eq!(record["details"]["rule_name"], "r");
        assert!(record.get("invocation_id").is_none());
    }
}
