//! `sluice schedule run`: fire the scheduled rules of a rules file until
//! interrupted, delivering to their targets (or printing, with --dry-run).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use sluice_router::arn::{Arn, TargetKind};
use sluice_router::dispatch::{
    BoxFuture, Connect, ConnectError, Deliver, Delivery, DeliveryError, Router, RouterSettings,
};
use sluice_router::load::{Parameters, load_rules};
use sluice_router::model::Environment;
use sluice_router::table::RuleTable;

use crate::routing;

/// Prints each delivery as a JSON line instead of sending it.
struct Print {
    arn: String,
    out: Arc<Mutex<std::io::Stdout>>,
}

impl Deliver for Print {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let line = serde_json::json!({"arn": self.arn, "payload": &*delivery.payload});
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

pub fn run(rules: &str, dry_run: bool, failures: Option<&str>) -> Result<ExitCode> {
    let rules = load_rules(
        Path::new(rules),
        &Parameters::default(),
        &Environment::default(),
    )?;
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
        match sluice_router::schedule::Schedule::parse(expression)
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
    let table = RuleTable::new(rules).map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (rule_names, target_arns) = routing::names(&table);
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
        let summary = routing::rule_summaries(&router, &rule_names, &target_arns);
        eprintln!("{}", serde_json::to_string_pretty(&summary)?);
        if routing::write_failures(&router, &mut failures_file)? > 0 {
            return Ok(ExitCode::from(2));
        }
        Ok(ExitCode::SUCCESS)
    })
}
