//! `--log-level` and `--log-to` of `route` and `replay`: the processing
//! log of the bus, into a rotated local file or a CloudWatch Logs log group.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Result, bail};
use sluice_router::arn::Arn;
use sluice_router::clock::format_rfc3339;
use sluice_router::model::Environment;
use sluice_router::processing_log::{LogLevel, ProcessingLog, RotatingFile};
use sluice_targets::AwsConnector;

/// A log file is rotated when it would grow past this.
pub const ROTATE_BYTES: u64 = 64 * 1024 * 1024;
/// Rotated log files kept (`PATH.1` … `PATH.5`).
pub const ROTATED_FILES_KEPT: usize = 5;

/// The processing-log options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// Processing log level: off, error, info or trace (info when only
    /// --log-to is given).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub log_level: Option<LogLevel>,
    /// Where the processing log goes: a file (JSON Lines, rotated at 64 MiB,
    /// five old files kept) or a CloudWatch Logs log group ARN.
    #[arg(long, value_name = "PATH|ARN")]
    pub log_to: Option<String>,
}

fn parse_level(text: &str) -> Result<LogLevel, String> {
    text.parse()
}

impl LogArgs {
    /// Whether a processing log was asked for.
    pub fn wanted(&self) -> bool {
        self.log_to.is_some() || self.log_level.is_some_and(|l| l != LogLevel::Off)
    }

    /// Opens the processing log, if one was asked for. `command` names the
    /// CloudWatch Logs stream (`sluice/COMMAND/START-TIME`).
    pub fn open(
        &self,
        connector: &AwsConnector,
        environment: &Environment,
        command: &str,
    ) -> Result<Option<ProcessingLog>> {
        let level = self.log_level.unwrap_or(LogLevel::Info);
        let Some(to) = &self.log_to else {
            if self.wanted() {
                bail!("--log-level needs --log-to: a file path or a CloudWatch Logs log group ARN");
            }
            return Ok(None);
        };
        if level == LogLevel::Off {
            return Ok(None);
        }
        let sink: Arc<dyn sluice_router::processing_log::LogSink> = if to.starts_with("arn:") {
            let arn = Arn::parse(to).map_err(|e| anyhow::anyhow!("--log-to: {}", e.message()))?;
            // Log stream names may not contain ':'.
            let started = format_rfc3339(std::time::SystemTime::now()).replace(':', "-");
            let stream = format!("sluice/{command}/{started}");
            Arc::new(
                connector
                    .log_group_sink(&arn, &stream)
                    .map_err(|e| anyhow::anyhow!("--log-to: {e}"))?,
            )
        } else {
            Arc::new(
                RotatingFile::create(Path::new(to), ROTATE_BYTES, ROTATED_FILES_KEPT)
                    .map_err(|e| anyhow::anyhow!("--log-to {to}: {e}"))?,
            )
        };
        Ok(Some(ProcessingLog::new(level, sink, environment)))
    }
}

/// Writes out the processing log and says on stderr how it went. `false`
/// when records were lost (the command then exits 2, after its summary and
/// failed deliveries are out).
pub async fn finish(log: Option<ProcessingLog>, args: &LogArgs) -> bool {
    let Some(log) = log else { return true };
    let stats = log.finish().await;
    let to = args.log_to.as_deref().unwrap_or_default();
    eprintln!(
        "sluice: processing log: {} records written to {to}",
        stats.written
    );
    match (stats.failed, stats.last_error) {
        (0, None) => true,
        (0, Some(error)) => {
            eprintln!("sluice: processing log: {to}: {error}");
            false
        }
        (failed, error) => {
            eprintln!(
                "sluice: processing log: {failed} records could not be written to {to}: {}",
                error.unwrap_or_default()
            );
            false
        }
    }
}
