//! `sluice route`: deliver events to their rules' targets.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use serde::Serialize;
use sluice_pattern::ScanMode;
use sluice_router::clock::format_rfc3339;
use sluice_router::model::Environment;
use sluice_router::policy::StackSettings;
use sluice_router::table::RuleTable;
use sluice_router::{Router, RouterSettings, plan};

use crate::delivering::{self, FailuresFile, RetryArgs};
use crate::input;
use crate::rules::RulesArgs;
use crate::run_report::{RuleSummary, names, progress_bar, rule_summaries, write_failures};

/// Options of `sluice route`.
#[derive(clap::Args, Clone)]
pub struct RouteOptions {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Event files (JSON Lines; .gz, .zst, or - for stdin).
    #[arg(required = true)]
    pub events: Vec<String>,
    /// The bus the events arrive on.
    #[arg(long, default_value = "default", value_parser = crate::checks::bus_name)]
    pub event_bus: String,
    /// Print each delivery (target ARN and exact payload) instead of making it.
    #[arg(long)]
    pub dry_run: bool,
    /// Deliveries in flight per target.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds one attempt may take before it counts as a timeout.
    #[arg(long = "attempt-timeout", value_name = "SECONDS", default_value_t = 10)]
    pub attempt_timeout_seconds: u64,
    /// Write deliveries that reached neither target nor dead-letter
    /// queue here, as JSON Lines with the event (default: stderr).
    #[arg(long)]
    pub failures: Option<String>,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub log: crate::logging::LogArgs,
    #[command(flatten)]
    pub size: input::EventSizeArgs,
}

pub fn run(options: &RouteOptions) -> Result<ExitCode> {
    let environment = options.rules.environment()?;
    let mut rules = options.rules.load()?;
    options.retry.apply(&mut rules);
    let table = options.rules.table(rules, ScanMode::Validating)?;
    if options.dry_run {
        if options.log.wanted() {
            anyhow::bail!("--dry-run delivers nothing, so it writes no processing log (--log-to)");
        }
        return dry_run(options, &table);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(deliver(options, table, &environment))
}

#[derive(Serialize)]
struct Summary {
    events: u64,
    invalid: u64,
    rules: BTreeMap<String, RuleSummary>,
}

/// Delivers every event for real and prints a summary per rule and target.
async fn deliver(
    options: &RouteOptions,
    table: RuleTable,
    environment: &Environment,
) -> Result<ExitCode> {
    let (rule_names, target_arns) = names(&table);
    let mut failures = FailuresFile::create(options.failures.as_deref())?;
    let connector = sluice_targets::AwsConnector::from_env().await;
    let log = options.log.open(&connector, environment, "route")?;
    delivering::check_credentials(&connector).await?;
    let settings = RouterSettings {
        stack: StackSettings {
            concurrency_per_target: options.concurrency.max(1),
            attempt_timeout: Duration::from_secs(options.attempt_timeout_seconds.max(1)),
            ..StackSettings::default()
        },
        ..RouterSettings::default()
    };
    let router = Router::with_processing_log(table, Arc::new(connector), settings, log.clone())?;
    let progress = progress_bar();
    let (mut events, mut invalid) = (0u64, 0u64);
    // Lines are read on a thread of their own, so a signal is seen even
    // while stdin is quiet.
    let (sender, mut lines) = tokio::sync::mpsc::channel(256);
    let (paths, max_event_bytes) = (options.events.clone(), options.size.max_event_bytes);
    std::thread::Builder::new()
        .name("sluice-route-read".into())
        .spawn(move || {
            for item in input::event_lines(paths, max_event_bytes) {
                if sender.blocking_send(item).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the reading thread")?;
    let mut stop = delivering::interrupt_on_signal(&router)?;
    let retries = delivering::report_retries(&router, target_arns.clone());
    loop {
        let item = tokio::select! {
            item = lines.recv() => match item {
                Some(item) => item,
                None => break,
            },
            _ = stop.changed() => break,
        };
        if router.is_interrupted() {
            break;
        }
        let input::EventLine { path, line, event } = item?;
        events += 1;
        let routed = match &event {
            Ok(event) => router
                .route(&options.event_bus, event)
                .await
                .map_err(|e| e.to_string()),
            Err(oversized) => Err(oversized.to_string()),
        };
        if let Err(error) = routed {
            invalid += 1;
            let message = format!("sluice: {path}:{line}: event rejected: {error}");
            match &progress {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            }
        }
        if let Some(bar) = &progress {
            bar.set_position(events);
        }
    }
    if let Some(bar) = &progress {
        bar.set_message("waiting for deliveries to finish");
    }
    router.drain().await;
    retries.abort();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }

    let rules = rule_summaries(&router, &rule_names, &target_arns);
    let summary = Summary {
        events,
        invalid,
        rules,
    };
    println!("{}", serde_json::to_string(&summary)?);
    // Failed deliveries are written out before anything else can fail.
    let failed = write_failures(&router, &mut failures)?;
    let logged = crate::logging::finish(log, &options.log).await;
    let stopped = *stop.borrow();
    if let Some(signal) = stopped {
        return Ok(ExitCode::from(signal.exit_code()));
    }
    if failed > 0 || !logged {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of dry-run output: an event and the deliveries it would make.
#[derive(Serialize)]
struct PlannedLine<'a> {
    file: &'a str,
    line: u64,
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
    let mut lines = input::event_lines(options.events.clone(), options.size.max_event_bytes);
    while let Some(item) = lines.next() {
        let input::EventLine { path, line, event } = item?;
        events += 1;
        let ingestion_time = format_rfc3339(SystemTime::now());
        let mut record = PlannedLine {
            file: &path,
            line,
            id: None,
            error: None,
            deliveries: Vec::new(),
        };
        let planned = match &event {
            Ok(event) => {
                plan(table, &options.event_bus, event, &ingestion_time).map_err(|e| e.to_string())
            }
            Err(oversized) => Err(oversized.to_string()),
        };
        match planned {
            Err(error) => {
                invalid += 1;
                record.error = Some(error);
            }
            Ok(planned) => {
                record.id = planned.event_id.as_deref().map(str::to_string);
                for p in &planned.deliveries {
                    let target = p.target();
                    let (payload, error) = match &p.payload {
                        Ok(payload) => {
                            deliveries += 1;
                            (Some(payload.to_string()), None)
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
                        partition_key: p.parameters.partition_key().map(str::to_string),
                        message_group_id: p.parameters.message_group_id().map(str::to_string),
                        dead_letter_queue: target.dead_letter_queue.as_ref().map(|a| a.to_string()),
                    });
                }
            }
        }
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        if lines.drained() {
            out.flush()?;
        }
    }
    out.flush()?;
    eprintln!(
        "sluice: {events} events ({invalid} invalid), {deliveries} deliveries planned, {undeliverable} without a valid payload"
    );
    Ok(ExitCode::SUCCESS)
}
