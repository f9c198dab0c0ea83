//! What every command that delivers for real (`route`, `replay`, `schedule
//! run`) sets up before its first delivery: the retry bounds of the run,
//! a connector whose credentials were checked, and the failures file,
//! opened so that an unwritable path fails at the start.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use sluice_router::model::{EVENT_AGE_RANGE_SECONDS, MAX_RETRY_ATTEMPTS, Rule};

/// How a delivering run retries, after the help of `route` and `replay`.
pub const DELIVERY_HELP: &str = "\
Delivery, as EventBridge does it: every (rule, target) pair of an event is
delivered concurrently, at most 64 at a time per target (route:
--concurrency), each attempt within 10 s (route: --attempt-timeout).
Throttling, 5xx errors, timeouts and unreachable endpoints are retried with
exponential backoff (1 s, doubling up to 300 s, plus up to as much again at
random), by default up to each target's RetryPolicy, whose own default is
EventBridge's: 185 retries, or 24 hours after the event arrived. Other
errors are not retried. Bound a run with --max-retries N and
--max-event-age SECONDS, which override every target's policy. A
delivery that fails for good goes to the target's DeadLetterConfig queue,
else to --failures (exit 2). SIGINT or SIGTERM ends
the run: deliveries not yet final are written to --failures as
\"interrupted\" (exit 130 or 143).";

/// `--max-retries` and `--max-event-age`: bounds on how long a run keeps
/// retrying a target that is down, overriding every target's RetryPolicy.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct RetryArgs {
    /// Retries after the first attempt, for every target of this run
    /// (0–185; default: each target's RetryPolicy, 185 unless set).
    #[arg(long = "max-retries", value_name = "N", value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_RETRY_ATTEMPTS)))]
    pub max_retries: Option<u32>,
    /// Seconds after an event arrived that it may still be retried, for
    /// every target of this run (60–86400; default: each target's
    /// RetryPolicy, 86400 unless set).
    #[arg(long = "max-event-age", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(u64::from(EVENT_AGE_RANGE_SECONDS.0)..=u64::from(EVENT_AGE_RANGE_SECONDS.1)))]
    pub max_event_age_seconds: Option<u64>,
}

impl RetryArgs {
    /// Sets the bounds given on the command line on every target of `rules`.
    pub fn apply(&self, rules: &mut [Rule]) {
        for target in rules.iter_mut().flat_map(|rule| rule.targets.iter_mut()) {
            if let Some(retries) = self.max_retries {
                target.retry_policy.maximum_retry_attempts = retries;
            }
            if let Some(seconds) = self.max_event_age_seconds {
                target.retry_policy.maximum_event_age = Duration::from_secs(seconds);
            }
        }
    }
}

/// Loads `connector`'s credentials once: a run without them stops here,
/// before any delivery, with a one-line hint.
pub async fn check_credentials(connector: &sluice_targets::AwsConnector) -> Result<()> {
    connector.check_credentials().await.map_err(|e| anyhow!(e))
}

/// Where deliveries that reached neither their target nor a dead-letter
/// queue are written: a file created at the start of the run, or stderr.
pub struct FailuresFile {
    path: Option<String>,
    file: Option<BufWriter<File>>,
}

impl FailuresFile {
    /// Creates `path` now (stderr when `None`).
    pub fn create(path: Option<&str>) -> Result<FailuresFile> {
        let file = match path {
            None => None,
            Some(path) => {
                Some(BufWriter::new(File::create(path).with_context(|| {
                    format!("cannot create failures file {path}")
                })?))
            }
        };
        Ok(FailuresFile {
            path: path.map(str::to_string),
            file,
        })
    }

    /// The file's path, if it is not stderr.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Writes `lines` (each one JSON line without its newline) and flushes.
    pub fn write_lines(&mut self, lines: &[String]) -> Result<()> {
        let context = || {
            format!(
                "cannot write the failures file {}",
                self.path.as_deref().unwrap_or("(stderr)")
            )
        };
        let mut stderr;
        let sink: &mut dyn Write = match &mut self.file {
            Some(file) => file,
            None => {
                stderr = std::io::stderr().lock();
                &mut stderr
            }
        };
        for line in lines {
            sink.write_all(line.as_bytes()).with_context(context)?;
            sink.write_all(b"\n").with_context(context)?;
        }
        sink.flush().with_context(context)
    }
}

/// The signal that stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`, or a service manager stopping the run.
    Terminate,
}

impl StopSignal {
    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    /// The exit code a shell gives a process stopped by the signal.
    pub fn exit_code(self) -> u8 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
        }
    }
}

/// SIGINT and SIGTERM, watched from the start of a run. Must be created
/// inside the Tokio runtime.
pub struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Starts watching both signals; from here on they no longer end the
    /// process at once.
    pub fn watch() -> Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
        })
    }

    /// Resolves on the next SIGINT or SIGTERM.
    pub async fn next(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
        }
    }
}

/// Interrupts `router` on the first SIGINT or SIGTERM (see
/// [`sluice_router::Router::interrupt`]); the receiver then holds
/// the signal. Must be called inside the Tokio runtime.
pub fn interrupt_on_signal(
    router: &sluice_router::Router,
) -> Result<tokio::sync::watch::Receiver<Option<StopSignal>>> {
    let mut signals = StopSignals::watch()?;
    let (sender, receiver) = tokio::sync::watch::channel(None);
    let router = router.clone();
    tokio::spawn(async move {
        let signal = signals.next().await;
        router.interrupt();
        eprintln!(
            "sluice: {}: no new deliveries; deliveries not yet final are recorded as interrupted",
            signal.name()
        );
        sender.send_replace(Some(signal));
    });
    Ok(receiver)
}

/// Seconds between the lines [`report_retries`] prints.
pub const RETRY_REPORT_SECONDS: u64 = 5;

/// While any target is being retried, prints one line per such target every
/// [`RETRY_REPORT_SECONDS`]: its ARN, how many deliveries to it are not yet
/// final, and when the next retry is due. `target_arns` maps (rule ARN,
/// target id) to the target's ARN. Abort the task when the run ends.
pub fn report_retries(
    router: &sluice_router::Router,
    target_arns: std::collections::BTreeMap<(String, String), String>,
) -> tokio::task::JoinHandle<()> {
    let router = router.clone();
    tokio::spawn(async move {
        let mut retries_seen: std::collections::BTreeMap<(String, String), u64> =
            Default::default();
        let mut ticks = tokio::time::interval(Duration::from_secs(RETRY_REPORT_SECONDS));
        ticks.tick().await;
        loop {
            ticks.tick().await;
            for (rule_arn, rule) in router.metrics().snapshot() {
                for (id, target) in rule.targets {
                    let key = (rule_arn.clone(), id);
                    let seen = retries_seen.entry(key.clone()).or_default();
                    let retried = target.retry_invocation_attempts > *seen;
                    *seen = target.retry_invocation_attempts;
                    if !retried || target.pending() == 0 {
                        continue;
                    }
                    let due =
                        std::time::UNIX_EPOCH + Duration::from_millis(target.next_retry_unix_ms);
                    eprintln!(
                        "sluice: retrying {}: {} deliveries pending, next attempt at {}",
                        target_arns.get(&key).map_or(key.1.as_str(), String::as_str),
                        target.pending(),
                        sluice_router::clock::format_rfc3339(due)
                    );
                }
            }
        }
    })
}
