//! `sluice route`: deliver events to their rules' targets.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sluice_router::clock::format_rfc3339;
use sluice_router::dispatch::plan;
use sluice_router::load::{Parameters, load_rules};
use sluice_router::model::Environment;
use sluice_router::table::RuleTable;

use crate::input;

/// Options of `sluice route`.
pub struct RouteOptions {
    pub rules: String,
    pub events: Vec<String>,
    pub event_bus: String,
    pub parameters: Option<String>,
    pub region: Option<String>,
    pub account: String,
    pub dry_run: bool,
}

pub fn run(options: &RouteOptions) -> Result<ExitCode> {
    let environment = Environment {
        region: options
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".to_string()),
        account: options.account.clone(),
    };
    let parameters = match &options.parameters {
        None => Parameters::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read parameters file {path}"))?;
            Parameters::parse(path, &text)?
        }
    };
    let rules = load_rules(Path::new(&options.rules), &parameters, &environment)?;
    for rule in &rules {
        if rule.event_pattern.is_none() {
            eprintln!(
                "sluice: rule {} has only a ScheduleExpression; events do not trigger it",
                rule.name
            );
        }
    }
    let table = RuleTable::new(rules).map_err(|e| anyhow::anyhow!("{}: {e}", options.rules))?;
    if !options.dry_run {
        bail!(
            "this build of sluice cannot call AWS targets yet; use --dry-run to see what each target would receive"
        );
    }
    dry_run(options, &table)
}

/// One line of dry-run output: an event and the deliveries it would make.
#[derive(Serialize)]
struct EventLine<'a> {
    file: &'a str,
    line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    deliveries: Vec<DeliveryLine>,
}

#[derive(Serialize)]
struct DeliveryLine {
    rule: String,
    target: String,
    arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dead_letter_queue: Option<String>,
}

/// Prints, per event, every delivery it would make: rule, target id and
/// ARN, and the exact payload.
fn dry_run(options: &RouteOptions, table: &RuleTable) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut events, mut invalid, mut deliveries, mut undeliverable) = (0u64, 0u64, 0u64, 0u64);
    for path in &options.events {
        let reader = input::open_events(path, Arc::new(AtomicU64::new(0)))?;
        for (index, line) in reader.split(b'\n').enumerate() {
            let line = line.with_context(|| format!("cannot read {path}"))?;
            let trimmed = line.trim_ascii();
            if trimmed.is_empty() {
                continue;
            }
            events += 1;
            let ingestion_time = format_rfc3339(SystemTime::now());
            let mut record = EventLine {
                file: path,
                line: index + 1,
                id: None,
                error: None,
                deliveries: Vec::new(),
            };
            match plan(table, &options.event_bus, trimmed, &ingestion_time) {
                Err(error) => {
                    invalid += 1;
                    record.error = Some(error.to_string());
                }
                Ok(planned) => {
                    record.id = planned.first().map(|p| p.event_id.to_string());
                    for p in &planned {
                        let target = p.target();
                        let (payload, error) = match &p.payload {
                            Ok(payload) => {
                                deliveries += 1;
                                (Some(payload.clone()), None)
                            }
                            Err(error) => {
                                undeliverable += 1;
                                (None, Some(error.to_string()))
                            }
                        };
                        record.deliveries.push(DeliveryLine {
                            rule: p.rule.name.clone(),
                            target: target.id.clone(),
                            arn: target.arn.to_string(),
                            payload,
                            error,
                            partition_key: p.partition_key.clone(),
                            message_group_id: target.message_group_id.clone(),
                            dead_letter_queue: target
                                .dead_letter_queue
                                .as_ref()
                                .map(|a| a.to_string()),
                        });
                    }
                }
            }
            serde_json::to_writer(&mut out, &record)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    eprintln!(
        "sluice: {events} events ({invalid} invalid), {deliveries} deliveries planned, {undeliverable} without a valid payload"
    );
    Ok(ExitCode::SUCCESS)
}
