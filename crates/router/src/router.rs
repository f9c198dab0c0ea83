//! The router: fan-out of matched events to their targets.
//!
//! Every (rule, target) pair of a matched event becomes one delivery, run
//! as its own task through the target's stack (see [`crate::policy`]), so
//! a slow target never holds up another. Each delivery ends in exactly one
//! of three ways: delivered, sent to the target's dead-letter queue, or
//! recorded as a failure (kept for [`Router::take_failures`] and counted).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use serde_json::Map;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::arn::TargetKind;
use crate::clock::format_rfc3339;
use crate::completion::{
    Completion, DeliveryKey, DeliveryOutcome, DeliveryResult, FailureRecord, INTERRUPTED, Pending,
};
use crate::deliver::{Connect, ConnectError, Deliver, Delivery, DeliveryError, FailureKind};
use crate::delivery_state::{DeliveryState, WallClock};
use crate::document::{Node, decode_str};
use crate::metrics::{Metrics, TargetCounters};
use crate::model::Rule;
use crate::plan::{PlannedDelivery, RouteError, plan_matched};
use crate::policy::{Attempt, AttemptState, StackSettings, TargetStack, target_stack};
use crate::processing_log::{
    InvocationTrace, LogLevel, ProcessingLog, RecordIds, Step, error_member,
};
use crate::table::RuleTable;
use crate::validation::ValidationError;

/// Settings of a router.
///
/// ```
/// use sluice_router::RouterSettings;
/// let settings = RouterSettings::default();
/// assert_eq!(settings.max_pending, 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouterSettings {
    /// The per-target service stack.
    pub stack: StackSettings,
    /// Deliveries in flight (including retry waits) across all targets;
    /// [`Router::route`] waits for room beyond this.
    pub max_pending: usize,
    /// The wall clock delivery states are kept on (see [`DeliveryState`]).
    pub clock: WallClock,
}

impl Default for RouterSettings {
    fn default() -> RouterSettings {
        RouterSettings {
            stack: StackSettings::default(),
            max_pending: 10_000,
            clock: WallClock::new(),
        }
    }
}

/// Routes events to the targets of the rules they match.
///
/// ```
/// use std::sync::Arc;
/// use sluice_router::arn::{Arn, TargetKind};
/// use sluice_router::*;
/// use sluice_router::{load, model::Environment, table::RuleTable};
///
/// struct Discard;
/// impl Deliver for Discard {
///     fn deliver(&self, _: Delivery) -> BoxFuture<Result<(), DeliveryError>> { Box::pin(async { Ok(()) }) }
/// }
/// struct Connector;
/// impl Connect for Connector {
///     fn connect(&self, _: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> { Ok(Arc::new(Discard)) }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let rules = load::parse_rules("r.json", r#"[{"Name": "r", "EventPattern": {"source": ["a"]},
///     "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}]"#,
///     &Default::default(), &Environment::default()).unwrap();
/// let router = Router::new(RuleTable::new(rules).unwrap(), Arc::new(Connector), RouterSettings::default()).unwrap();
/// router.route("default", br#"{"id": "1", "source": "a"}"#).await.unwrap();
/// router.drain().await;
/// let metrics = router.metrics().snapshot();
/// assert_eq!(metrics["arn:aws:events:us-east-1:123456789012:rule/r"].targets["t"].delivered, 1);
/// # });
/// ```
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    table: ArcSwap<RuleTable>,
    connector: Arc<dyn Connect>,
    stacks: ArcSwap<HashMap<String, TargetStack>>,
    dead_letter_queues: Mutex<HashMap<String, Arc<dyn Deliver>>>,
    metrics: Metrics,
    failures: Mutex<Vec<FailureRecord>>,
    pending: Arc<Semaphore>,
    settings: RouterSettings,
    /// Woken on every rule change (the scheduler re-reads the rules).
    changes: tokio::sync::Notify,
    /// Where the steps of each event are logged, if anywhere.
    log: Option<ProcessingLog>,
    /// Set once by [`Router::interrupt`]; every delivery watches it.
    interrupted: tokio::sync::watch::Sender<bool>,
}

/// How [`Router::route_tracked`] routes an event.
///
/// ```
/// use sluice_router::RouteOptions;
/// let fresh = RouteOptions::default();
/// assert!(fresh.ingested_ms.is_none() && fresh.resume.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOptions {
    /// When the event was taken in, in milliseconds since the Unix epoch
    /// (for an event read back from a durable log); the age limit counts
    /// from here. `None` is now.
    pub ingested_ms: Option<u64>,
    /// Deliveries to resume, each from its stored state. When set, only
    /// the event's deliveries named here run: the others were final
    /// before. `None` runs every delivery from its first attempt.
    pub resume: Option<HashMap<DeliveryKey, DeliveryState>>,
}

/// What routing one event started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Routed {
    /// Rules the event matched.
    pub rules: usize,
    /// Deliveries started.
    pub deliveries: usize,
}

impl Router {
    /// A router over `table`, reaching targets through `connector`. Every
    /// target and dead-letter queue is connected now, so a target that
    /// cannot be reached is an error here, not a failed delivery later.
    pub fn new(
        table: RuleTable,
        connector: Arc<dyn Connect>,
        settings: RouterSettings,
    ) -> Result<Router, ConnectError> {
        Router::with_processing_log(table, connector, settings, None)
    }

    /// A router as [`Router::new`] makes it that also writes what happens
    /// to every event into `log` (see [`crate::processing_log`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sluice_router::arn::{Arn, TargetKind};
    /// use sluice_router::*;
    /// use sluice_router::model::Environment;
    /// use sluice_router::processing_log::{LogLevel, MemorySink, ProcessingLog};
    /// use sluice_router::{load, table::RuleTable};
    ///
    /// struct Accept;
    /// impl Deliver for Accept {
    ///     fn deliver(&self, _: Delivery) -> BoxFuture<Result<(), DeliveryError>> { Box::pin(async { Ok(()) }) }
    /// }
    /// struct Connector;
    /// impl Connect for Connector {
    ///     fn connect(&self, _: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> { Ok(Arc::new(Accept)) }
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let rules = load::parse_rules("r.json", r#"[{"Name": "r", "EventPattern": {"source": ["a"]},
    ///     "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}]"#,
    ///     &Default::default(), &Environment::default()).unwrap();
    /// let sink = Arc::new(MemorySink::default());
    /// let log = ProcessingLog::new(LogLevel::Info, sink.clone(), &Environment::default());
    /// let router = Router::with_processing_log(RuleTable::new(rules).unwrap(), Arc::new(Connector),
    ///     RouterSettings::default(), Some(log)).unwrap();
    /// router.route("default", br#"{"id": "e-1", "source": "a"}"#).await.unwrap();
    /// router.drain().await;
    /// let steps: Vec<String> = sink.lines().iter()
    ///     .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["message_type"].to_string())
    ///     .collect();
    /// assert_eq!(steps, [r#""EVENT_RECEIPT""#, r#""RULE_MATCH""#, r#""INVOCATION_SUCCESS""#]);
    /// # });
    /// ```
    pub fn with_processing_log(
        table: RuleTable,
        connector: Arc<dyn Connect>,
        settings: RouterSettings,
        log: Option<ProcessingLog>,
    ) -> Result<Router, ConnectError> {
        let router = Router {
            inner: Arc::new(Inner {
                table: ArcSwap::from_pointee(RuleTable::default()),
                connector,
                stacks: ArcSwap::from_pointee(HashMap::new()),
                dead_letter_queues: Mutex::new(HashMap::new()),
                metrics: Metrics::default(),
                failures: Mutex::new(Vec::new()),
                pending: Arc::new(Semaphore::new(settings.max_pending.max(1))),
                settings,
                changes: tokio::sync::Notify::new(),
                log: log.filter(|log| log.enabled(LogLevel::Error)),
                interrupted: tokio::sync::watch::Sender::new(false),
            }),
        };
        for rule in table.rules() {
            router.connect_rule(rule)?;
        }
        router.inner.table.store(Arc::new(table));
        Ok(router)
    }

    fn connect_rule(&self, rule: &Rule) -> Result<(), ConnectError> {
        for target in &rule.targets {
            if !self.inner.stacks.load().contains_key(target.arn.as_str()) {
                let deliverer = self.inner.connector.connect(&target.arn, target.kind)?;
                let stack = target_stack(deliverer, &self.inner.settings.stack);
                self.inner.stacks.rcu(|stacks| {
                    let mut next = HashMap::clone(stacks);
                    next.entry(target.arn.to_string())
                        .or_insert_with(|| stack.clone());
                    next
                });
            }
            if let Some(dlq) = &target.dead_letter_queue {
                let mut queues = self
                    .inner
                    .dead_letter_queues
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if !queues.contains_key(dlq.as_str()) {
                    let deliverer = self.inner.connector.connect(dlq, TargetKind::SqsQueue)?;
                    queues.insert(dlq.to_string(), deliverer);
                }
            }
        }
        Ok(())
    }

    /// Adds or replaces a rule while events keep flowing.
    pub fn put_rule(&self, rule: Rule) -> Result<(), RuleChangeError> {
        self.connect_rule(&rule)?;
        let mut result = Ok(());
        self.inner.table.rcu(|table| {
            let mut next = RuleTable::clone(table);
            result = next.put(rule.clone());
            next
        });
        self.inner.changes.notify_waiters();
        result.map_err(RuleChangeError::from)
    }

    /// Removes a rule while events keep flowing; returns it if it existed.
    pub fn remove_rule(&self, bus: &str, name: &str) -> Option<Arc<Rule>> {
        let mut removed = None;
        self.inner.table.rcu(|table| {
            let mut next = RuleTable::clone(table);
            removed = next.remove(bus, name);
            next
        });
        self.inner.changes.notify_waiters();
        removed
    }

    /// The current rules.
    pub fn table(&self) -> Arc<RuleTable> {
        self.inner.table.load_full()
    }

    /// Resolves on the next rule change.
    pub(crate) fn rules_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.changes.notified()
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Failures recorded since the last call (deliveries that reached
    /// neither their target nor a dead-letter queue).
    pub fn take_failures(&self) -> Vec<FailureRecord> {
        std::mem::take(
            &mut *self
                .inner
                .failures
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Ends every delivery that is not yet final: each is recorded as a
    /// failure with the code [`INTERRUPTED`] and its event, without a
    /// dead-letter message, and [`Router::drain`] then returns promptly.
    /// Routing after this is the caller's to stop.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sluice_router::arn::{Arn, TargetKind};
    /// use sluice_router::*;
    /// use sluice_router::table::RuleTable;
    ///
    /// struct NoTargets;
    /// impl Connect for NoTargets {
    ///     fn connect(&self, arn: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> {
    ///         Err(ConnectError { arn: arn.to_string(), message: "none".into() })
    ///     }
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let router = Router::new(RuleTable::default(), Arc::new(NoTargets), RouterSettings::default()).unwrap();
    /// router.interrupt();
    /// assert!(router.is_interrupted());
    /// router.drain().await;
    /// # });
    /// ```
    pub fn interrupt(&self) {
        self.inner.interrupted.send_replace(true);
    }

    /// Whether [`Router::interrupt`] was called.
    pub fn is_interrupted(&self) -> bool {
        *self.inner.interrupted.borrow()
    }

    /// Waits until every delivery started so far has ended.
    pub async fn drain(&self) {
        let all = u32::try_from(self.inner.settings.max_pending.max(1)).unwrap_or(u32::MAX);
        if let Ok(permits) = self.inner.pending.acquire_many(all).await {
            drop(permits);
        }
    }

    /// Matches one event on `bus` and starts a delivery to every target of
    /// every rule it matches. Returns once the deliveries are started (it
    /// waits only when `max_pending` deliveries are already in flight).
    /// A malformed event is counted and returned as an error.
    ///
    /// The deliveries of one event run concurrently on one task; each holds
    /// its own pending slot and its target's concurrency slot, so a slow
    /// target delays only its own deliveries.
    pub async fn route(&self, bus: &str, event: &[u8]) -> Result<Routed, RouteError> {
        let (routed, _) = self.route_event(bus, event, None).await?;
        Ok(routed)
    }

    /// Routes one event as [`Router::route`] does and returns its
    /// [`Completion`], which resolves once every delivery is final:
    /// delivered, dead-lettered or failed, each with its attempts. The
    /// failures of a tracked event go to its outcome, not to
    /// [`Router::take_failures`].
    ///
    /// With [`RouteOptions::resume`], the deliveries named there continue
    /// from their stored states: the attempt count, the backoff and the
    /// age limit go on from where they were.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sluice_router::arn::{Arn, TargetKind};
    /// use sluice_router::*;
    /// use sluice_router::{load, model::Environment, table::RuleTable};
    ///
    /// struct Accept;
    /// impl Deliver for Accept {
    ///     fn deliver(&self, _: Delivery) -> BoxFuture<Result<(), DeliveryError>> { Box::pin(async { Ok(()) }) }
    /// }
    /// struct Connector;
    /// impl Connect for Connector {
    ///     fn connect(&self, _: &Arn, _: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> { Ok(Arc::new(Accept)) }
    /// }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let rules = load::parse_rules("r.json", r#"[{"Name": "r", "EventPattern": {"source": ["a"]},
    ///     "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}]"#,
    ///     &Default::default(), &Environment::default()).unwrap();
    /// let router = Router::new(RuleTable::new(rules).unwrap(), Arc::new(Connector), RouterSettings::default()).unwrap();
    /// let completion = router
    ///     .route_tracked("default", br#"{"id": "e-1", "source": "a"}"#, &RouteOptions::default())
    ///     .await
    ///     .unwrap();
    /// let outcome = completion.wait().await;
    /// assert_eq!(outcome.event_id.as_deref(), Some("e-1"));
    /// assert_eq!(outcome.deliveries[0].result, DeliveryResult::Delivered);
    /// assert_eq!(outcome.deliveries[0].state.attempts, 1);
    /// # });
    /// ```
    pub async fn route_tracked(
        &self,
        bus: &str,
        event: &[u8],
        options: &RouteOptions,
    ) -> Result<Completion, RouteError> {
        let (_, completion) = self.route_event(bus, event, Some(options)).await?;
        Ok(completion.unwrap_or(Completion {
            event_id: None,
            pending: Vec::new(),
            outcomes: None,
        }))
    }

    /// Matches, plans and starts the deliveries of one event; tracked when
    /// `tracking` is given.
    async fn route_event(
        &self,
        bus: &str,
        event: &[u8],
        tracking: Option<&RouteOptions>,
    ) -> Result<(Routed, Option<Completion>), RouteError> {
        let inner = &self.inner;
        inner.metrics.events.fetch_add(1, Relaxed);
        let ingested_at = Instant::now();
        let wall_clock = SystemTime::now();
        let mut matched = Vec::new();
        // The table is read only here: deliveries hold their rules.
        let planned = crate::plan::matching(&inner.table.load(), bus, event, &mut matched)
            .map_err(RouteError::from)
            .and_then(|()| {
                if matched.is_empty() {
                    return Ok(Vec::new());
                }
                let text = std::str::from_utf8(event).map_err(|_| RouteError::NotUtf8)?;
                plan_matched(
                    &matched,
                    text.trim().into(),
                    &|| format_rfc3339(wall_clock),
                    inner.log.is_some() || tracking.is_some(),
                )
            });
        if let Some(log) = &inner.log {
            log_receipt(log, bus, event, planned.as_ref().err(), matched.is_empty());
        }
        let planned = match planned {
            Ok(planned) => planned,
            Err(e) => {
                inner.metrics.invalid_events.fetch_add(1, Relaxed);
                return Err(e);
            }
        };
        let event_id = match (&tracking, planned.first()) {
            (None, _) => None,
            (Some(_), Some(first)) => first.event_id.clone(),
            (Some(_), None) => crate::plan::read_event_id(event)?,
        };
        let (routed, completion) = self
            .start_deliveries(&matched, planned, ingested_at, tracking)
            .await;
        Ok((
            routed,
            completion.map(|mut completion| {
                completion.event_id = event_id;
                completion
            }),
        ))
    }

    /// Counts the matched rules and starts every planned delivery on one
    /// task (see [`Router::route`]); with `tracking`, also returns the
    /// event's [`Completion`].
    async fn start_deliveries(
        &self,
        matched: &[Arc<Rule>],
        mut planned: Vec<PlannedDelivery>,
        ingested_at: Instant,
        tracking: Option<&RouteOptions>,
    ) -> (Routed, Option<Completion>) {
        let inner = &self.inner;
        let mut routed = Routed::default();
        if let Some(log) = &inner.log {
            log_rule_matches(log, matched, &planned);
        }
        let resume = tracking.and_then(|t| t.resume.as_ref());
        if let Some(resume) = resume {
            planned.retain(|d| resume.contains_key(&key_of(d)));
        }
        let ingested_ms = tracking
            .and_then(|t| t.ingested_ms)
            .unwrap_or_else(|| inner.settings.clock.now_ms());
        let empty = || {
            tracking.map(|_| Completion {
                event_id: None,
                pending: Vec::new(),
                outcomes: None,
            })
        };
        if planned.is_empty() {
            return (routed, empty());
        }
        for rule in matched {
            let counters = inner.metrics.rule(&rule.arn);
            counters.matched_events.fetch_add(1, Relaxed);
            counters.triggered_rules.fetch_add(1, Relaxed);
        }
        routed.rules = matched.len();
        routed.deliveries = planned.len();
        let count = u32::try_from(planned.len()).unwrap_or(u32::MAX);
        let Ok(mut permits) = inner.pending.clone().acquire_many_owned(count).await else {
            return (routed, empty());
        };
        let stacks = inner.stacks.load();
        let mut jobs = Vec::with_capacity(planned.len());
        let mut pending = Vec::new();
        let mut counters_of: Option<(*const Rule, Arc<crate::metrics::RuleTargets>)> = None;
        for delivery in planned {
            let rule_ptr = Arc::as_ptr(&delivery.rule);
            let rule_targets = match &counters_of {
                Some((ptr, targets)) if *ptr == rule_ptr => targets.clone(),
                _ => {
                    let targets = inner.metrics.rule_targets(&delivery.rule.arn);
                    counters_of = Some((rule_ptr, targets.clone()));
                    targets
                }
            };
            let target = delivery.target();
            let counters = rule_targets.target(&target.id);
            counters.invocations_created.fetch_add(1, Relaxed);
            let stack = stacks.get(target.arn.as_str()).cloned();
            let start = match resume {
                Some(resume) => resume
                    .get(&key_of(&delivery))
                    .copied()
                    .unwrap_or(DeliveryState::new(ingested_ms)),
                None => DeliveryState::new(ingested_ms),
            };
            let trace = self.trace(&delivery);
            let state = Arc::new(AttemptState::new(
                target.retry_policy,
                start,
                inner.settings.clock,
                ingested_at,
                counters.clone(),
                trace.clone(),
            ));
            if tracking.is_some() {
                pending.push(Pending {
                    key: key_of(&delivery),
                    target_arn: target.arn.to_string(),
                    event: delivery.event.clone(),
                    state: state.clone(),
                });
            }
            let permit = permits.split(1);
            jobs.push(self.clone().run_delivery(
                delivery,
                counters,
                stack,
                state,
                trace,
                tracking.is_some(),
                permit,
            ));
        }
        let (completion, sender) = match tracking {
            None => (None, None),
            Some(_) => {
                let (sender, receiver) = tokio::sync::oneshot::channel();
                let keys: Vec<DeliveryKey> = pending.iter().map(|p| p.key.clone()).collect();
                let completion = Completion {
                    event_id: None,
                    pending,
                    outcomes: Some(receiver),
                };
                (Some(completion), Some((sender, keys)))
            }
        };
        tokio::spawn(async move {
            let results = futures_util::future::join_all(jobs).await;
            drop(permits);
            if let Some((sender, keys)) = sender {
                let outcomes = keys
                    .into_iter()
                    .zip(results)
                    .map(|(key, (result, state))| DeliveryOutcome { key, result, state })
                    .collect();
                // The caller may have stopped waiting; the outcome is then
                // nobody's to act on.
                let _ = sender.send(outcomes);
            }
        });
        (routed, completion)
    }

    /// The processing-log records of one delivery, when logging.
    fn trace(&self, delivery: &PlannedDelivery) -> Option<Arc<InvocationTrace>> {
        let target = delivery.target();
        self.inner.log.as_ref().map(|log| {
            Arc::new(InvocationTrace {
                log: log.clone(),
                bus: delivery.rule.bus.clone(),
                event_id: delivery.event_id.clone(),
                invocation_id: uuid::Uuid::new_v4().to_string(),
                rule_arn: delivery.rule.arn.clone(),
                target_id: target.id.clone(),
                target_arn: target.arn.to_string(),
            })
        })
    }

    /// Fires a scheduled rule: its targets receive `event` (the "Scheduled
    /// Event" envelope) without pattern matching.
    pub(crate) async fn fire(&self, rule: Arc<Rule>, event: String, ingested_at: Instant) {
        let wall_clock = SystemTime::now();
        let matched = [rule];
        // A scheduled event is read for its id: every delivery names it.
        match plan_matched(&matched, event.into(), &|| format_rfc3339(wall_clock), true) {
            Ok(planned) => {
                self.start_deliveries(&matched, planned, ingested_at, None)
                    .await;
            }
            Err(_) => {
                self.inner.metrics.invalid_events.fetch_add(1, Relaxed);
            }
        }
    }

    /// One delivery, from its next attempt to its end: delivered,
    /// dead-lettered or failed. An untracked failure is recorded for
    /// [`Router::take_failures`] before the delivery's pending slot is
    /// given back, so [`Router::drain`] sees it.
    #[allow(clippy::too_many_arguments)]
    async fn run_delivery(
        self,
        delivery: PlannedDelivery,
        counters: Arc<TargetCounters>,
        stack: Option<TargetStack>,
        state: Arc<AttemptState>,
        trace: Option<Arc<InvocationTrace>>,
        tracked: bool,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> (DeliveryResult, DeliveryState) {
        let ingested_at = state.ingested_at;
        if let Some(trace) = &trace {
            trace.record(Step::InvocationStart, Map::new, None);
        }
        let outcome = match (&delivery.payload, stack) {
            (Err(transform), _) => {
                counters.dead_letter_invocations.fetch_add(1, Relaxed);
                Err(DeliveryError::client(
                    transform.code(),
                    transform.to_string(),
                ))
            }
            (Ok(_), None) => Err(DeliveryError::new(
                FailureKind::NoResource,
                "NO_RESOURCE",
                "the target is not connected",
            )),
            (Ok(payload), Some(stack)) => {
                let mut message = Delivery::new(payload.clone(), delivery.event_id.clone());
                message.parameters = delivery.parameters.clone();
                let attempt = Attempt {
                    delivery: message,
                    state: state.clone(),
                };
                let attempts = async {
                    // A resumed delivery waits out the backoff it stood in,
                    // and gives up if the event grew too old meanwhile.
                    let wait = state.wait_for_next();
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    if state.attempts.load(Relaxed) > 0 && state.too_old_to_attempt() {
                        return Err(DeliveryError::server(
                            "MaximumEventAgeExceeded",
                            "the event passed its maximum age before its next attempt",
                        ));
                    }
                    stack.oneshot(attempt).await
                };
                let mut interrupted = self.inner.interrupted.subscribe();
                // The interrupt is polled first: once it is set, no further
                // attempt starts, even when a retry's timer fired together
                // with it.
                let result = tokio::select! {
                    biased;
                    Ok(_) = interrupted.wait_for(|stop| *stop) => Err(DeliveryError::client(
                        INTERRUPTED,
                        "the run was interrupted before this delivery was final",
                    )),
                    result = attempts => result,
                };
                counters.invocations.fetch_add(1, Relaxed);
                result
            }
        };
        let result = match outcome {
            Ok(()) => {
                counters.delivered.fetch_add(1, Relaxed);
                if let Some(trace) = &trace {
                    trace.record(
                        Step::InvocationSuccess,
                        || latency_details(ingested_at),
                        None,
                    );
                }
                DeliveryResult::Delivered
            }
            Err(error) => {
                let retries = state.snapshot().retries();
                let exhausted = state.exhausted().map(|c| c.as_str());
                counters.failed_invocations.fetch_add(1, Relaxed);
                counters.record_failure_reason(error.code());
                if let Some(trace) = &trace {
                    trace.record(
                        Step::InvocationFailure,
                        || {
                            let mut details = latency_details(ingested_at);
                            details.insert("retry_attempts".into(), retries.into());
                            if let Some(condition) = exhausted {
                                details
                                    .insert("exhausted_retry_condition".into(), condition.into());
                            }
                            details
                        },
                        Some(error_member(&error)),
                    );
                }
                let result = self
                    .dead_letter(
                        &delivery,
                        &counters,
                        error,
                        (retries, exhausted),
                        trace.as_deref(),
                    )
                    .await;
                if let (DeliveryResult::Failed(record), false) = (&result, tracked) {
                    self.inner
                        .failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(record.clone());
                }
                result
            }
        };
        drop(permit);
        (result, state.snapshot())
    }

    /// Sends a failed delivery's event to the target's dead-letter queue;
    /// without one, or when it refuses, the failure's record.
    async fn dead_letter(
        &self,
        delivery: &PlannedDelivery,
        counters: &TargetCounters,
        error: DeliveryError,
        (retry_attempts, exhausted): (u32, Option<&'static str>),
        trace: Option<&InvocationTrace>,
    ) -> DeliveryResult {
        let (rule, target, event) = (&delivery.rule, delivery.target(), delivery.event.clone());
        let mut dead_letter_error = None;
        // An interrupted delivery is recorded, not dead-lettered: the run
        // is stopping, and the record holds the event for a rerun.
        let dead_letter_queue = target
            .dead_letter_queue
            .as_ref()
            .filter(|_| error.code() != INTERRUPTED);
        if let Some(dlq) = dead_letter_queue {
            let queue = self
                .inner
                .dead_letter_queues
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(dlq.as_str())
                .cloned();
            let mut message = Delivery::new(event.clone(), None);
            message.attributes = vec![
                ("RULE_ARN".to_string(), rule.arn.clone()),
                ("TARGET_ARN".to_string(), target.arn.to_string()),
                (
                    "ERROR_CODE".to_string(),
                    error.dead_letter_code().to_string(),
                ),
                ("ERROR_MESSAGE".to_string(), error.message().to_string()),
                ("RETRY_ATTEMPTS".to_string(), retry_attempts.to_string()),
            ];
            if let Some(condition) = exhausted {
                message.attributes.push((
                    "EXHAUSTED_RETRY_CONDITION".to_string(),
                    condition.to_string(),
                ));
            }
            let sent = match queue {
                None => Err(DeliveryError::new(
                    FailureKind::NoResource,
                    "NO_RESOURCE",
                    "the dead-letter queue is not connected",
                )),
                Some(queue) => match tokio::time::timeout(
                    self.inner.settings.stack.attempt_timeout,
                    queue.deliver(message),
                )
                .await
                {
                    Ok(result) => result,
                    Err(_) => Err(DeliveryError::timeout(
                        "the dead-letter queue did not answer in time",
                    )),
                },
            };
            if let Some(trace) = trace {
                trace.record(
                    Step::InvocationDlq,
                    || {
                        let mut details = Map::new();
                        details.insert("dead_letter_arn".into(), dlq.as_str().into());
                        details.insert("sent".into(), sent.is_ok().into());
                        details
                    },
                    sent.as_ref().err().map(error_member),
                );
            }
            match sent {
                Ok(()) => {
                    counters.invocations_sent_to_dlq.fetch_add(1, Relaxed);
                    return DeliveryResult::DeadLettered {
                        error_code: error.dead_letter_code().to_string(),
                        error_message: error.message().to_string(),
                        exhausted_retry_condition: exhausted,
                    };
                }
                Err(e) => {
                    counters
                        .invocations_failed_to_be_sent_to_dlq
                        .fetch_add(1, Relaxed);
                    dead_letter_error = Some(e.to_string());
                }
            }
        }
        counters.recorded_failures.fetch_add(1, Relaxed);
        DeliveryResult::Failed(FailureRecord {
            rule_arn: rule.arn.clone(),
            target_id: target.id.clone(),
            target_arn: target.arn.to_string(),
            event,
            error_code: error.dead_letter_code().to_string(),
            error_message: error.message().to_string(),
            retry_attempts,
            exhausted_retry_condition: exhausted,
            dead_letter_error,
        })
    }
}

/// The key of a planned delivery.
fn key_of(delivery: &PlannedDelivery) -> DeliveryKey {
    DeliveryKey::new(delivery.rule.arn.as_str(), delivery.target().id.as_str())
}

/// `latency_ms` since the event was taken in.
fn latency_details(ingested_at: Instant) -> Map<String, serde_json::Value> {
    let mut details = Map::new();
    details.insert(
        "latency_ms".into(),
        (ingested_at.elapsed().as_secs_f64() * 1000.0).into(),
    );
    details
}

/// Logs an event's receipt and whether it matched, or why it was rejected.
fn log_receipt(
    log: &ProcessingLog,
    bus: &str,
    event: &[u8],
    rejected: Option<&RouteError>,
    unmatched: bool,
) {
    let text = String::from_utf8_lossy(event);
    let document = Node::parse(text.trim()).ok();
    let member = |name: &str| -> serde_json::Value {
        match document.as_ref().and_then(|d| d.get(name)) {
            Some(Node::String(raw)) => decode_str(raw).into(),
            Some(node) => serde_json::from_str(&node.to_json()).unwrap_or_default(),
            None => serde_json::Value::Null,
        }
    };
    let event_id = match member("id") {
        serde_json::Value::String(id) => id,
        _ => String::new(),
    };
    let ids = RecordIds {
        bus,
        event_id: &event_id,
        invocation_id: None,
    };
    if let Some(error) = rejected {
        log.record(
            Step::EventIngestFailure,
            ids,
            || {
                let mut details = Map::new();
                details.insert("size_bytes".into(), event.len().into());
                details
            },
            Some(serde_json::json!({"error_message": error.to_string()})),
        );
        return;
    }
    log.record(
        Step::EventReceipt,
        ids,
        || {
            let mut details = Map::new();
            details.insert("source".into(), member("source"));
            details.insert("detail_type".into(), member("detail-type"));
            details.insert("time".into(), member("time"));
            details.insert("resources".into(), member("resources"));
            details.insert("size_bytes".into(), event.len().into());
            details
        },
        None,
    );
    if unmatched {
        log.record(Step::NoStandardRulesMatched, ids, Map::new, None);
    }
}

/// Logs each matched rule (planning read the event's id, since the router
/// logs).
fn log_rule_matches(log: &ProcessingLog, matched: &[Arc<Rule>], planned: &[PlannedDelivery]) {
    let event_id = planned
        .first()
        .and_then(|first| first.event_id.as_deref())
        .unwrap_or_default();
    for rule in matched {
        log.record(
            Step::RuleMatch,
            RecordIds {
                bus: &rule.bus,
                event_id,
                invocation_id: None,
            },
            || {
                let mut details = Map::new();
                details.insert("rule_arn".into(), rule.arn.as_str().into());
                details.insert("rule_name".into(), rule.name.as_str().into());
                details.insert("targets".into(), rule.targets.len().into());
                details
            },
            None,
        );
    }
}

/// Why a rule could not be put.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleChangeError {
    /// A target could not be connected.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The rule is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}
