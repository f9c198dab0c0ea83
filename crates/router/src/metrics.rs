//! Delivery counters under EventBridge's CloudWatch metric names, per rule
//! and per (rule, target).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Counters of one rule.
#[derive(Debug, Default)]
pub struct RuleCounters {
    /// `MatchedEvents`: events that matched the rule.
    pub matched_events: AtomicU64,
    /// `TriggeredRules`: times the rule ran for an event (one per matched event).
    pub triggered_rules: AtomicU64,
}

/// Counters of one (rule, target) pair.
#[derive(Debug, Default)]
pub struct TargetCounters {
    /// `InvocationsCreated`: deliveries created for matched events.
    pub invocations_created: AtomicU64,
    /// `Invocations`: deliveries that ran to an end, successful or failed
    /// (retries not counted separately).
    pub invocations: AtomicU64,
    /// `InvocationAttempts`: calls made to the target, retries included.
    pub invocation_attempts: AtomicU64,
    /// Deliveries the target accepted (sluice's own counter).
    pub delivered: AtomicU64,
    /// `RetryInvocationAttempts`: calls that were retries.
    pub retry_invocation_attempts: AtomicU64,
    /// `FailedInvocations`: deliveries that failed for good.
    pub failed_invocations: AtomicU64,
    /// `InvocationsSentToDlq`: failed deliveries written to the dead-letter queue.
    pub invocations_sent_to_dlq: AtomicU64,
    /// `InvocationsFailedToBeSentToDlq`: failed deliveries the dead-letter queue refused.
    pub invocations_failed_to_be_sent_to_dlq: AtomicU64,
    /// `DeadLetterInvocations`: matched events for which the target was never
    /// called (the input transformer produced no valid payload).
    pub dead_letter_invocations: AtomicU64,
    /// Failures recorded (no dead-letter queue, or it failed): sluice's own counter.
    pub recorded_failures: AtomicU64,
    /// `IngestionToInvocationStartLatency`: sum, in microseconds.
    pub latency_sum_micros: AtomicU64,
    /// Number of latency samples.
    pub latency_samples: AtomicU64,
    /// Largest latency seen, in microseconds.
    pub latency_max_micros: AtomicU64,
    /// Deliveries that failed for good, by error code (why they failed).
    pub failure_reasons: Mutex<BTreeMap<String, u64>>,
    /// When the retry scheduled last is due, in milliseconds since the
    /// epoch (0 before any retry).
    pub next_retry_unix_ms: AtomicU64,
}

impl TargetCounters {
    /// Counts a delivery that failed for good with error `code`.
    pub(crate) fn record_failure_reason(&self, code: &str) {
        let mut reasons = self
            .failure_reasons
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match reasons.get_mut(code) {
            Some(count) => *count += 1,
            None => {
                reasons.insert(code.to_string(), 1);
            }
        }
    }

    pub(crate) fn record_latency(&self, latency: Duration) {
        let micros = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        self.latency_sum_micros.fetch_add(micros, Relaxed);
        self.latency_samples.fetch_add(1, Relaxed);
        self.latency_max_micros.fetch_max(micros, Relaxed);
    }
}

/// A point-in-time copy of one (rule, target) pair's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSnapshot {
    /// `InvocationsCreated`.
    pub invocations_created: u64,
    /// `Invocations`.
    pub invocations: u64,
    /// `InvocationAttempts`.
    pub invocation_attempts: u64,
    /// Accepted by the target.
    pub delivered: u64,
    /// `RetryInvocationAttempts`.
    pub retry_invocation_attempts: u64,
    /// `FailedInvocations`.
    pub failed_invocations: u64,
    /// `InvocationsSentToDlq`.
    pub invocations_sent_to_dlq: u64,
    /// `InvocationsFailedToBeSentToDlq`.
    pub invocations_failed_to_be_sent_to_dlq: u64,
    /// `DeadLetterInvocations`.
    pub dead_letter_invocations: u64,
    /// Failures recorded rather than dead-lettered.
    pub recorded_failures: u64,
    /// Mean `IngestionToInvocationStartLatency`, in microseconds.
    pub mean_latency_micros: u64,
    /// Largest `IngestionToInvocationStartLatency`, in microseconds.
    pub max_latency_micros: u64,
    /// Deliveries that failed for good, by error code.
    pub failure_reasons: BTreeMap<String, u64>,
    /// When the retry scheduled last is due, in milliseconds since the
    /// epoch (0 before any retry).
    pub next_retry_unix_ms: u64,
}

impl TargetSnapshot {
    /// Whether every created delivery is accounted for: delivered,
    /// dead-lettered or recorded as failed.
    ///
    /// ```
    /// use sluice_router::metrics::TargetSnapshot;
    /// let s = TargetSnapshot { invocations_created: 3, delivered: 1, invocations_sent_to_dlq: 1,
    ///     recorded_failures: 1, ..Default::default() };
    /// assert!(s.is_balanced());
    /// ```
    pub fn is_balanced(&self) -> bool {
        self.invocations_created
            == self.delivered + self.invocations_sent_to_dlq + self.recorded_failures
    }

    /// Deliveries not yet final: created, and neither delivered,
    /// dead-lettered nor recorded.
    ///
    /// ```
    /// use sluice_router::metrics::TargetSnapshot;
    /// let s = TargetSnapshot { invocations_created: 3, delivered: 1, ..Default::default() };
    /// assert_eq!(s.pending(), 2);
    /// ```
    pub fn pending(&self) -> u64 {
        self.invocations_created
            .saturating_sub(self.delivered + self.invocations_sent_to_dlq + self.recorded_failures)
    }
}

/// A point-in-time copy of one rule's counters and its targets'.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSnapshot {
    /// `MatchedEvents`.
    pub matched_events: u64,
    /// `TriggeredRules`.
    pub triggered_rules: u64,
    /// Per target id.
    pub targets: BTreeMap<String, TargetSnapshot>,
}

/// The target counters of one rule, by target id.
#[derive(Debug, Default)]
pub struct RuleTargets {
    targets: RwLock<HashMap<String, Arc<TargetCounters>>>,
}

impl RuleTargets {
    /// The counters of one target (created on first use).
    pub fn target(&self, target_id: &str) -> Arc<TargetCounters> {
        if let Some(found) = self
            .targets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(target_id)
        {
            return found.clone();
        }
        self.targets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(target_id.to_string())
            .or_default()
            .clone()
    }
}

/// All counters of a router, keyed by rule ARN.
#[derive(Debug, Default)]
pub struct Metrics {
    rules: RwLock<HashMap<String, Arc<RuleCounters>>>,
    targets: RwLock<HashMap<String, Arc<RuleTargets>>>,
    /// Events taken in.
    pub events: AtomicU64,
    /// Events rejected as malformed.
    pub invalid_events: AtomicU64,
}

impl Metrics {
    /// The counters of a rule (created on first use).
    pub fn rule(&self, rule_arn: &str) -> Arc<RuleCounters> {
        get_or_insert(&self.rules, rule_arn)
    }

    /// The target counters of a rule (created on first use).
    pub fn rule_targets(&self, rule_arn: &str) -> Arc<RuleTargets> {
        get_or_insert(&self.targets, rule_arn)
    }

    /// The counters of a (rule, target) pair (created on first use).
    pub fn target(&self, rule_arn: &str, target_id: &str) -> Arc<TargetCounters> {
        self.rule_targets(rule_arn).target(target_id)
    }

    /// A copy of every counter, by rule ARN.
    ///
    /// ```
    /// use sluice_router::metrics::Metrics;
    /// let metrics = Metrics::default();
    /// metrics.rule("arn:r").matched_events.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
    /// assert_eq!(metrics.snapshot()["arn:r"].matched_events, 2);
    /// ```
    pub fn snapshot(&self) -> BTreeMap<String, RuleSnapshot> {
        let mut out: BTreeMap<String, RuleSnapshot> = BTreeMap::new();
        for (arn, counters) in self.rules.read().unwrap_or_else(|e| e.into_inner()).iter() {
            let entry = out.entry(arn.clone()).or_default();
            entry.matched_events = counters.matched_events.load(Relaxed);
            entry.triggered_rules = counters.triggered_rules.load(Relaxed);
        }
        let rules = self.targets.read().unwrap_or_else(|e| e.into_inner());
        let pairs = rules.iter().flat_map(|(arn, targets)| {
            let targets = targets.targets.read().unwrap_or_else(|e| e.into_inner());
            targets
                .iter()
                .map(|(id, c)| (arn.clone(), id.clone(), c.clone()))
                .collect::<Vec<_>>()
        });
        for (arn, id, c) in pairs {
            let samples = c.latency_samples.load(Relaxed);
            let snapshot = TargetSnapshot {
                invocations_created: c.invocations_created.load(Relaxed),
                invocations: c.invocations.load(Relaxed),
                invocation_attempts: c.invocation_attempts.load(Relaxed),
                delivered: c.delivered.load(Relaxed),
                retry_invocation_attempts: c.retry_invocation_attempts.load(Relaxed),
                failed_invocations: c.failed_invocations.load(Relaxed),
                invocations_sent_to_dlq: c.invocations_sent_to_dlq.load(Relaxed),
                invocations_failed_to_be_sent_to_dlq: c
                    .invocations_failed_to_be_sent_to_dlq
                    .load(Relaxed),
                dead_letter_invocations: c.dead_letter_invocations.load(Relaxed),
                recorded_failures: c.recorded_failures.load(Relaxed),
                mean_latency_micros: c
                    .latency_sum_micros
                    .load(Relaxed)
                    .checked_div(samples)
                    .unwrap_or(0),
                max_latency_micros: c.latency_max_micros.load(Relaxed),
                next_retry_unix_ms: c.next_retry_unix_ms.load(Relaxed),
                failure_reasons: c
                    .failure_reasons
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone(),
            };
            out.entry(arn).or_default().targets.insert(id, snapshot);
        }
        out
    }
}

/// The entry for `key`, created on first use; a read lock on the common path.
fn get_or_insert<T: Default>(map: &RwLock<HashMap<String, Arc<T>>>, key: &str) -> Arc<T> {
    if let Some(found) = map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return found.clone();
    }
    map.write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.to_string())
        .or_default()
        .clone()
}
