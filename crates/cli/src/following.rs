//! `sluice log`: follow one event through a processing log file (and its
//! rotated predecessors), oldest record first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::Value;
use sluice_router::clock::format_epoch_seconds;

/// Options of `sluice log`.
#[derive(clap::Args, Clone)]
pub struct FollowOptions {
    /// The event's id.
    #[arg(long)]
    pub event_id: String,
    /// The log file (its rotated predecessors PATH.1, PATH.2, ... are read too).
    pub path: String,
    /// Print the records as they are (JSON) instead of one readable line each.
    #[arg(long)]
    pub json: bool,
}

/// `PATH.N`, …, `PATH.1`, `PATH`: the files of a rotated log, oldest first.
fn log_files(path: &Path) -> Vec<PathBuf> {
    let rotated = |n: usize| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    let mut files: Vec<PathBuf> = (1..).map(rotated).take_while(|p| p.exists()).collect();
    files.reverse();
    files.push(path.to_path_buf());
    files
}

/// The last part of a rule ARN: its name.
fn rule_name(record: &Value) -> &str {
    let details = &record["details"];
    details["rule_name"]
        .as_str()
        .or_else(|| {
            details["rule_arn"]
                .as_str()
                .and_then(|a| a.rsplit('/').next())
        })
        .unwrap_or("")
}

/// One record as a line a person reads.
fn describe(record: &Value) -> String {
    let ms = record["message_timestamp_ms"].as_i64().unwrap_or(0);
    let time = format_epoch_seconds(ms.div_euclid(1000));
    let time = format!("{}.{:03}Z", time.trim_end_matches('Z'), ms.rem_euclid(1000));
    let level = record["log_level"].as_str().unwrap_or("");
    let step = record["message_type"].as_str().unwrap_or("");
    let details = &record["details"];
    let mut text = match step {
        "EVENT_RECEIPT" => format!(
            "{} / {}",
            details["source"].as_str().unwrap_or("-"),
            details["detail_type"].as_str().unwrap_or("-")
        ),
        "RULE_MATCH" => format!("rule {}", rule_name(record)),
        _ if details.get("target_id").is_some() => format!(
            "{} -> {}",
            rule_name(record),
            details["target_id"].as_str().unwrap_or("")
        ),
        _ => String::new(),
    };
    if let Some(attempt) = details["attempt"].as_u64() {
        text.push_str(&format!(" attempt {attempt}"));
    }
    if let Some(latency) = details["latency_ms"].as_f64() {
        text.push_str(&format!(" ({latency:.1} ms)"));
    }
    if let Some(condition) = details["exhausted_retry_condition"].as_str() {
        text.push_str(&format!(" retries exhausted: {condition}"));
    }
    if let Some(queue) = details["dead_letter_arn"].as_str() {
        let sent = if details["sent"] == true {
            "sent to"
        } else {
            "could not be sent to"
        };
        text.push_str(&format!(" {sent} {queue}"));
    }
    let error = &record["error"];
    if !error.is_null() {
        let code = error["error_code"].as_str().unwrap_or("");
        let message = error["error_message"].as_str().unwrap_or("");
        text.push_str(&format!(": {code} {message}"));
    }
    format!("{time} {level:<5} {step:<37} {}", text.trim())
}

pub fn run(options: &FollowOptions) -> Result<ExitCode> {
    let mut found = 0usize;
    for file in log_files(Path::new(&options.path)) {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for (number, line) in text.lines().enumerate() {
            if !line.contains(&options.event_id) {
                continue;
            }
            let record: Value = serde_json::from_str(line).with_context(|| {
                format!(
                    "{}:{}: not a processing-log record",
                    file.display(),
                    number + 1
                )
            })?;
            if record["event_id"] != options.event_id.as_str() {
                continue;
            }
            found += 1;
            if options.json {
                println!("{line}");
            } else {
                println!("{}", describe(&record));
            }
        }
    }
    if found == 0 {
        eprintln!(
            "sluice: no record of event {} in {}",
            options.event_id, options.path
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_as_lines() {
        let record: Value = serde_json::from_str(
            r#"{"event_id":"e","message_timestamp_ms":1790000000123,"message_type":"INVOCATION_ATTEMPT_RETRYABLE_FAILURE","log_level":"INFO",
                "details":{"rule_arn":"arn:aws:events:us-east-1:1:rule/r","target_id":"q","attempt":2,"latency_ms":12.34},
                "error":{"error_code":"ThrottlingException","error_message":"slow down"}}"#,
        )
        .unwrap();
        assert_eq!(
            describe(&record),
            "2026-09-21T14:13:20.123Z INFO  INVOCATION_ATTEMPT_RETRYABLE_FAILURE  r -> q attempt 2 (12.3 ms): ThrottlingException slow down"
        );
    }
}
