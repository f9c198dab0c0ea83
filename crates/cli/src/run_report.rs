//! What every command that delivers for real (`route`, `replay`, `schedule
//! run`) reports: a spinner while it runs, then per rule and target what
//! became of the deliveries (EventBridge's metric names), and the
//! deliveries that reached neither target nor dead-letter queue, written
//! to the failures file.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use sluice_router::Router;
use sluice_router::table::RuleTable;

use crate::delivering::FailuresFile;

/// Counts of one (rule, target) pair in the summary.
#[derive(Serialize)]
pub struct TargetSummary {
    arn: String,
    delivered: u64,
    retried: u64,
    dead_lettered: u64,
    failed: u64,
    /// Why deliveries failed for good (dead-lettered or recorded), by error code.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    failure_reasons: BTreeMap<String, u64>,
    #[serde(rename = "Invocations")]
    invocations: u64,
    #[serde(rename = "InvocationAttempts")]
    invocation_attempts: u64,
    #[serde(rename = "FailedInvocations")]
    failed_invocations: u64,
    #[serde(rename = "RetryInvocationAttempts")]
    retry_invocation_attempts: u64,
    #[serde(rename = "InvocationsSentToDlq")]
    invocations_sent_to_dlq: u64,
    #[serde(rename = "InvocationsFailedToBeSentToDlq")]
    invocations_failed_to_be_sent_to_dlq: u64,
    #[serde(rename = "DeadLetterInvocations")]
    dead_letter_invocations: u64,
    #[serde(rename = "IngestionToInvocationStartLatencyMs")]
    mean_latency_ms: f64,
}

#[derive(Serialize)]
pub struct RuleSummary {
    matched: u64,
    #[serde(rename = "TriggeredRules")]
    triggered_rules: u64,
    targets: BTreeMap<String, TargetSummary>,
}

/// One delivery that reached neither its target nor a dead-letter queue.
#[derive(Serialize)]
struct FailureLine<'a> {
    rule_arn: &'a str,
    target_id: &'a str,
    target_arn: &'a str,
    error_code: &'a str,
    error_message: &'a str,
    retry_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    exhausted_retry_condition: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dead_letter_error: Option<&'a str>,
    event: &'a serde_json::value::RawValue,
}

/// Rule names by ARN, and target ARNs by (rule ARN, target id).
pub type Names = (BTreeMap<String, String>, BTreeMap<(String, String), String>);

/// The names a summary needs, read from the rules before they move into a router.
pub fn names(table: &RuleTable) -> Names {
    let rule_names = table
        .rules()
        .map(|r| (r.arn.clone(), r.name.clone()))
        .collect();
    let target_arns = table
        .rules()
        .flat_map(|r| {
            r.targets
                .iter()
                .map(|t| ((r.arn.clone(), t.id.clone()), t.arn.to_string()))
        })
        .collect();
    (rule_names, target_arns)
}

/// Per rule (by name): matched events and, per target, what became of its deliveries.
pub fn rule_summaries(
    router: &Router,
    rule_names: &BTreeMap<String, String>,
    target_arns: &BTreeMap<(String, String), String>,
) -> BTreeMap<String, RuleSummary> {
    let mut rules = BTreeMap::new();
    for (rule_arn, snapshot) in router.metrics().snapshot() {
        let name = rule_names
            .get(&rule_arn)
            .cloned()
            .unwrap_or(rule_arn.clone());
        let targets = snapshot
            .targets
            .iter()
            .map(|(id, t)| {
                let summary = TargetSummary {
                    arn: target_arns
                        .get(&(rule_arn.clone(), id.clone()))
                        .cloned()
                        .unwrap_or_default(),
                    delivered: t.delivered,
                    retried: t.retry_invocation_attempts,
                    dead_lettered: t.invocations_sent_to_dlq,
                    failed: t.recorded_failures,
                    failure_reasons: t.failure_reasons.clone(),
                    invocations: t.invocations,
                    invocation_attempts: t.invocation_attempts,
                    failed_invocations: t.failed_invocations,
                    retry_invocation_attempts: t.retry_invocation_attempts,
                    invocations_sent_to_dlq: t.invocations_sent_to_dlq,
                    invocations_failed_to_be_sent_to_dlq: t.invocations_failed_to_be_sent_to_dlq,
                    dead_letter_invocations: t.dead_letter_invocations,
                    mean_latency_ms: t.mean_latency_micros as f64 / 1000.0,
                };
                (id.clone(), summary)
            })
            .collect();
        rules.insert(
            name,
            RuleSummary {
                matched: snapshot.matched_events,
                triggered_rules: snapshot.triggered_rules,
                targets,
            },
        );
    }
    rules
}

/// Per rule (by name), in a dry run: the events it matched or fired and,
/// per target, how many deliveries it would have made.
pub fn would_deliver(
    router: &Router,
    rule_names: &BTreeMap<String, String>,
    target_arns: &BTreeMap<(String, String), String>,
) -> BTreeMap<String, serde_json::Value> {
    router
        .metrics()
        .snapshot()
        .into_iter()
        .map(|(rule_arn, snapshot)| {
            let targets: serde_json::Map<String, serde_json::Value> = snapshot
                .targets
                .iter()
                .map(|(id, t)| {
                    let arn = target_arns
                        .get(&(rule_arn.clone(), id.clone()))
                        .cloned()
                        .unwrap_or_default();
                    let line =
                        serde_json::json!({"arn": arn, "would_deliver": t.invocations_created});
                    (id.clone(), line)
                })
                .collect();
            let name = rule_names.get(&rule_arn).cloned().unwrap_or(rule_arn);
            let rule = serde_json::json!({"matched": snapshot.matched_events, "targets": targets});
            (name, rule)
        })
        .collect()
}

/// Writes the deliveries that reached neither target nor dead-letter queue
/// to `out`; returns how many there were.
pub fn write_failures(router: &Router, out: &mut FailuresFile) -> Result<usize> {
    let failures = router.take_failures();
    if failures.is_empty() {
        return Ok(0);
    }
    let mut lines = Vec::with_capacity(failures.len());
    for failure in &failures {
        let event = serde_json::value::RawValue::from_string(failure.event.to_string())
            .unwrap_or_else(|_| {
                serde_json::value::to_raw_value(&*failure.event)
                    .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned())
            });
        let line = FailureLine {
            rule_arn: &failure.rule_arn,
            target_id: &failure.target_id,
            target_arn: &failure.target_arn,
            error_code: &failure.error_code,
            error_message: &failure.error_message,
            retry_attempts: failure.retry_attempts,
            exhausted_retry_condition: failure.exhausted_retry_condition,
            dead_letter_error: failure.dead_letter_error.as_deref(),
            event: &event,
        };
        lines.push(serde_json::to_string(&line)?);
    }
    out.write_lines(&lines)?;
    eprintln!(
        "sluice: {} deliveries failed without reaching a dead-letter queue{}",
        failures.len(),
        out.path()
            .map(|p| format!("; written to {p}"))
            .unwrap_or_default()
    );
    Ok(failures.len())
}

/// A spinner with the number of events routed, on a terminal only.
pub fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {pos} events routed ({per_sec}) {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}
