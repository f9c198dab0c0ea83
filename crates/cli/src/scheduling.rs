//! `sluice schedule`: when a schedule expression fires (`next`), and firing
//! the scheduled rules of a rules file until interrupted, delivering to
//! their targets or printing them with --dry-run (`run`).

use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use sluice_router::arn::{Arn, TargetKind};
use sluice_router::clock::{format_epoch_seconds, parse_rfc3339};
use sluice_router::schedule::Schedule;
use sluice_router::table::RuleTable;
use sluice_router::{
    BoxFuture, Connect, ConnectError, Deliver, Delivery, DeliveryError, Router, RouterSettings,
};

use crate::rules::RulesArgs;
use crate::run_report;

/// `sluice schedule` subcommands.
#[derive(clap::Subcommand, Clone)]
pub enum ScheduleCommand {
    /// Print the next fire times (UTC, RFC 3339), one per line.
    Next(NextOptions),
    /// Fire the scheduled rules of a rules file at their times, until Ctrl-C.
    Run(RunOptions),
}

/// Options of `sluice schedule next`.
#[derive(clap::Args, Clone)]
pub struct NextOptions {
    /// rate(value unit) or cron(Minutes Hours Day-of-month Month Day-of-week Year).
    pub expression: String,
    /// Times strictly after this one (RFC 3339; default: now). A rate
    /// counts from here, as if the rule were created then.
    #[arg(long)]
    pub from: Option<String>,
    /// How many times to print.
    #[arg(long, default_value_t = 5)]
    pub count: usize,
}

/// Options of `sluice schedule run`.
#[derive(clap::Args, Clone)]
pub struct RunOptions {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Print each delivery (target ARN and payload) instead of making it.
    #[arg(long)]
    pub dry_run: bool,
    /// Write failed deliveries here (default: stderr).
    #[arg(long)]
    pub failures: Option<String>,
}

/// Runs a `sluice schedule` subcommand.
pub fn run(command: &ScheduleCommand) -> Result<ExitCode> {
    match command {
        ScheduleCommand::Next(options) => next(options),
        ScheduleCommand::Run(options) => fire(options),
    }
}

/// `sluice schedule next`.
fn next(options: &NextOptions) -> Result<ExitCode> {
    let schedule = match Schedule::parse(&options.expression) {
        Ok(schedule) => schedule,
        Err(error) => {
            eprintln!(
                "An error occurred (ValidationException) when calling the PutRule operation: {}",
                error.message()
            );
            eprintln!("sluice: {}", error.hint());
            return Ok(ExitCode::from(2));
        }
    };
    let from = match &options.from {
        Some(text) => parse_rfc3339(text).ok_or_else(|| {
            anyhow::anyhow!("--from {text:?} is not an RFC 3339 time such as 2026-11-25T10:00:00Z")
        })?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let anchor = from.div_euclid(60) * 60;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = from;
    let mut printed = 0;
    for _ in 0..options.count {
        let Some(next) = schedule.next_after_anchor(after, anchor) else {
            break;
        };
        writeln!(out, "{}", format_epoch_seconds(next))?;
        printed += 1;
        after = next;
    }
    out.flush()?;
    if printed < options.count {
        // Only a cron whose years are over stops firing.
        anyhow::bail!(
            "the schedule does not fire after {}: its last year has passed",
            format_epoch_seconds(after)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each delivery as a JSON line instead of sending it.
struct Print {
    arn: String,
    out: Arc<Mutex<std::io::Stdout>>,
}

impl Deliver for Print {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let line = serde_json::json!({
            "id": delivery.event_id.as_deref(),
            "arn": self.arn,
            "payload": &*delivery.payload,
        });
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        Box::pin(async { Ok(()) })
    }
}

struct PrintAll {
    out: Arc<Mutex<std::io::Stdout>>,
}

impl Connect for PrintAll {
    fn connect(&self, arn: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> {
        Ok(Arc::new(Print {
            arn: arn.to_string(),
            out: self.out.clone(),
        }))
    }
}

/// `sluice schedule run`.
fn fire(options: &RunOptions) -> Result<ExitCode> {
    let (dry_run, failures) = (options.dry_run, options.failures.as_deref());
    let rules = options.rules.load()?;
    let scheduled = rules
        .iter()
        .filter(|r| r.schedule_expression.is_some())
        .count();
    if scheduled == 0 {
        bail!("the rules file has no rule with a ScheduleExpression");
    }
    // A cron whose years are over never fires again: say so rather than wait.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut firing = 0;
    for rule in &rules {
        let Some(expression) = &rule.schedule_expression else {
            continue;
        };
        match Schedule::parse(expression)
            .ok()
            .and_then(|s| s.next_after(now))
        {
            Some(_) => firing += 1,
            None => eprintln!(
                "sluice: rule {}: {expression} does not fire again (its last year has passed)",
                rule.name
            ),
        }
    }
    if firing == 0 {
        bail!("no scheduled rule fires again: every schedule's last year has passed");
    }
    let table =
        RuleTable::new(rules).map_err(|e| anyhow::anyhow!("{}: {e}", options.rules.path))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (rule_names, target_arns) = run_report::names(&table);
    let mut failures_file = crate::delivering::FailuresFile::create(failures)?;
    runtime.block_on(async {
        let connector: Arc<dyn Connect> = if dry_run {
            Arc::new(PrintAll {
                out: Arc::new(Mutex::new(std::io::stdout())),
            })
        } else {
            let connector = sluice_targets::AwsConnector::from_env().await;
            crate::delivering::check_credentials(&connector).await?;
            Arc::new(connector)
        };
        let router = Router::new(table, connector, RouterSettings::default())?;
        eprintln!("sluice: {scheduled} scheduled rules running; Ctrl-C stops");
        let scheduler = router.start_schedules();
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
        scheduler.abort();
        router.drain().await;
        if dry_run {
            // Nothing was delivered: say what would have been.
            let summary = run_report::would_deliver(&router, &rule_names, &target_arns);
            eprintln!("{}", serde_json::to_string(&summary)?);
            return Ok(ExitCode::SUCCESS);
        }
        let summary = run_report::rule_summaries(&router, &rule_names, &target_arns);
        eprintln!("{}", serde_json::to_string(&summary)?);
        if run_report::write_failures(&router, &mut failures_file)? > 0 {
            return Ok(ExitCode::from(2));
        }
        Ok(ExitCode::SUCCESS)
    })
}
