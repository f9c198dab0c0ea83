//! Fan-out of matched events to their targets.
//!
//! Every (rule, target) pair of a matched event becomes one delivery, run
//! as its own task through the target's stack (see [`crate::policy`]), so
//! a slow target never holds up another. Each delivery ends in exactly one
//! of three ways: delivered, sent to the target's dead-letter queue, or
//! recorded as a failure (kept for [`Router::take_failures`] and counted).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use sluice_pattern::EventError;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::ServiceExt;

use crate::arn::{Arn, TargetKind};
use crate::clock::format_rfc3339;
use crate::document::{Node, decode_str};
use crate::metrics::{Metrics, TargetCounters};
use crate::model::{Rule, Target, ValidationError};
use crate::policy::{Attempt, AttemptState, StackSettings, TargetStack, target_stack};
use crate::table::{RuleTable, Scratch};
use crate::transform::{EventContext, TransformError};

/// A boxed, sendable future, as [`Deliver`] returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One payload on its way to one target.
///
/// ```
/// use sluice_router::dispatch::Delivery;
/// let delivery = Delivery::new(r#"{"id":"1"}"#, "1");
/// assert_eq!(&*delivery.payload, r#"{"id":"1"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The body: the event or its shaped form.
    pub payload: Arc<str>,
    /// The event's `id` (Kinesis default partition key, FIFO deduplication id).
    pub event_id: Arc<str>,
    /// Kinesis partition key from `PartitionKeyPath`.
    pub partition_key: Option<String>,
    /// SQS FIFO message group id.
    pub message_group_id: Option<String>,
    /// String message attributes (dead-letter messages carry EventBridge's).
    pub attributes: Vec<(String, String)>,
}

impl Delivery {
    /// A delivery of `payload` for the event with id `event_id`.
    pub fn new(payload: impl Into<Arc<str>>, event_id: impl Into<Arc<str>>) -> Delivery {
        Delivery {
            payload: payload.into(),
            event_id: event_id.into(),
            partition_key: None,
            message_group_id: None,
            attributes: Vec::new(),
        }
    }
}

/// How a call to a target failed, which decides whether it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Throttled (HTTP 429 or a throttling error code): retried.
    Throttled,
    /// A server-side failure (HTTP 5xx): retried.
    ServerError,
    /// No answer in time, or the connection failed: retried.
    Timeout,
    /// The caller lacks permission: not retried.
    NoPermissions,
    /// The target does not exist: not retried.
    NoResource,
    /// Any other client error (HTTP 4xx): not retried.
    ClientError,
}

/// A failed call to a target.
///
/// ```
/// use sluice_router::dispatch::DeliveryError;
/// let err = DeliveryError::throttled("Rate exceeded");
/// assert!(err.is_retryable());
/// assert_eq!(err.dead_letter_code(), "THROTTLING");
/// assert!(!DeliveryError::client("InvalidParameterValue", "bad").is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DeliveryError {
    kind: FailureKind,
    code: String,
    message: String,
}

impl DeliveryError {
    /// A failure of the given kind, with the service's error code and message.
    pub fn new(kind: FailureKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        DeliveryError {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }

    /// Throttling.
    pub fn throttled(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Throttled, "ThrottlingException", message)
    }

    /// A server error with its code.
    pub fn server(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(FailureKind::ServerError, code, message)
    }

    /// A timeout or connection failure.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Timeout, "Timeout", message)
    }

    /// A client error with its code.
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(FailureKind::ClientError, code, message)
    }

    /// The kind of failure.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The service's error code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The service's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether EventBridge would retry it: throttling, server errors, timeouts.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::Throttled | FailureKind::ServerError | FailureKind::Timeout
        )
    }

    /// The `ERROR_CODE` attribute of the dead-letter message.
    pub fn dead_letter_code(&self) -> &str {
        match self.kind {
            FailureKind::Throttled => "THROTTLING",
            FailureKind::Timeout => "TIMEOUT",
            FailureKind::NoPermissions => "NO_PERMISSIONS",
            FailureKind::NoResource => "NO_RESOURCE",
            FailureKind::ServerError | FailureKind::ClientError => &self.code,
        }
    }
}

/// Something that delivers payloads to one target: the only place a target
/// service is called. `sluice-targets` implements it over the AWS SDK.
///
/// ```
/// use sluice_router::dispatch::{BoxFuture, Deliver, Delivery, DeliveryError};
/// struct Discard;
/// impl Deliver for Discard {
///     fn deliver(&self, _: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
/// ```
pub trait Deliver: Send + Sync + 'static {
    /// Delivers one payload (one attempt; the router retries).
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>>;
}

/// A target that cannot be reached at all (bad configuration).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot deliver to {arn}: {message}")]
pub struct ConnectError {
    /// The target or queue ARN.
    pub arn: String,
    /// Why.
    pub message: String,
}

/// Makes a [`Deliver`] for a target or dead-letter queue ARN.
pub trait Connect: Send + Sync + 'static {
    /// The deliverer for `arn`, a resource of kind `kind`.
    fn connect(&self, arn: &Arn, kind: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError>;
}

/// A delivery that neither reached its target nor its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    /// The rule's ARN.
    pub rule_arn: String,
    /// The target's id.
    pub target_id: String,
    /// The target's ARN.
    pub target_arn: String,
    /// The event as received.
    pub event: Arc<str>,
    /// The error code (`ERROR_CODE` of a dead-letter message).
    pub error_code: String,
    /// The error message.
    pub error_message: String,
    /// Retries made.
    pub retry_attempts: u32,
    /// Why retries stopped, if they ran out.
    pub exhausted_retry_condition: Option<&'static str>,
    /// The dead-letter queue's own error, if it refused the event.
    pub dead_letter_error: Option<String>,
}

/// Settings of a router.
///
/// ```
/// use sluice_router::dispatch::RouterSettings;
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
}

impl Default for RouterSettings {
    fn default() -> RouterSettings {
        RouterSettings {
            stack: StackSettings::default(),
            max_pending: 10_000,
        }
    }
}

/// Why an event was not routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not a valid JSON event.
    #[error("{0}")]
    InvalidEvent(#[from] EventError),
    /// Not UTF-8.
    #[error("the event is not valid UTF-8")]
    NotUtf8,
    /// Valid for matching but not readable as a document (too deep).
    #[error("the event cannot be read: {0}")]
    Document(#[from] crate::document::DocumentError),
}

/// A delivery as it would be made: the input of `sluice route --dry-run`.
#[derive(Debug, Clone)]
pub struct PlannedDelivery {
    /// The matched rule.
    pub rule: Arc<Rule>,
    /// The target's index in the rule.
    pub target_index: usize,
    /// The payload, or why there is none.
    pub payload: Result<String, TransformError>,
    /// The event's id.
    pub event_id: Arc<str>,
    /// Kinesis partition key, when the target is a stream.
    pub partition_key: Option<String>,
}

impl PlannedDelivery {
    /// The target.
    pub fn target(&self) -> &Target {
        &self.rule.targets[self.target_index]
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The deliveries one event makes under `table` on `bus`.
///
/// ```
/// use sluice_router::{dispatch::plan, load, model::Environment, table::RuleTable};
/// let rules = load::parse_rules("r.json", r#"[{"Name": "r", "EventPattern": {"source": ["a"]},
///     "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputPath": "$.detail"}]}]"#,
///     &Default::default(), &Environment::default()).unwrap();
/// let table = RuleTable::new(rules).unwrap();
/// let planned = plan(&table, "default", br#"{"id": "e1", "source": "a", "detail": {"x": 1}}"#,
///     "2026-11-25T10:00:00Z").unwrap();
/// assert_eq!(planned[0].payload.as_deref(), Ok(r#"{"x":1}"#));
/// ```
pub fn plan(
    table: &RuleTable,
    bus: &str,
    event: &[u8],
    ingestion_time: &str,
) -> Result<Vec<PlannedDelivery>, RouteError> {
    let mut matched = Vec::new();
    SCRATCH.with(|scratch| table.matching(bus, event, &mut scratch.borrow_mut(), &mut matched))?;
    if matched.is_empty() {
        return Ok(Vec::new());
    }
    let text = std::str::from_utf8(event).map_err(|_| RouteError::NotUtf8)?;
    let document = Node::parse(text)?;
    let event_id: Arc<str> = match document.get("id") {
        Some(Node::String(raw)) => decode_str(raw).into(),
        _ => "".into(),
    };
    let mut out = Vec::new();
    for rule in matched {
        for (index, target) in rule.targets.iter().enumerate() {
            let context = EventContext {
                event: &document,
                event_text: text,
                rule_arn: &rule.arn,
                rule_name: &rule.name,
                ingestion_time,
            };
            let payload = target.input.render(&context);
            let partition_key = (target.kind == TargetKind::KinesisStream).then(|| {
                match &target.partition_key_path {
                    None => event_id.to_string(),
                    Some(path) => match path.select(&document) {
                        Some(Node::String(raw)) => decode_str(raw).into_owned(),
                        Some(node) => node.to_json(),
                        None => String::new(),
                    },
                }
            });
            out.push(PlannedDelivery {
                rule: rule.clone(),
                target_index: index,
                payload,
                event_id: event_id.clone(),
                partition_key,
            });
        }
    }
    Ok(out)
}

/// Routes events to the targets of the rules they match.
///
/// ```
/// use std::sync::Arc;
/// use sluice_router::arn::{Arn, TargetKind};
/// use sluice_router::dispatch::*;
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
    stacks: Mutex<HashMap<String, TargetStack>>,
    dead_letter_queues: Mutex<HashMap<String, Arc<dyn Deliver>>>,
    metrics: Metrics,
    failures: Mutex<Vec<FailureRecord>>,
    pending: Arc<Semaphore>,
    settings: RouterSettings,
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
        let router = Router {
            inner: Arc::new(Inner {
                table: ArcSwap::from_pointee(RuleTable::default()),
                connector,
                stacks: Mutex::new(HashMap::new()),
                dead_letter_queues: Mutex::new(HashMap::new()),
                metrics: Metrics::default(),
                failures: Mutex::new(Vec::new()),
                pending: Arc::new(Semaphore::new(settings.max_pending.max(1))),
                settings,
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
            let mut stacks = self.inner.stacks.lock().unwrap_or_else(|e| e.into_inner());
            if !stacks.contains_key(target.arn.as_str()) {
                let deliverer = self.inner.connector.connect(&target.arn, target.kind)?;
                stacks.insert(
                    target.arn.to_string(),
                    target_stack(deliverer, &self.inner.settings.stack),
                );
            }
            drop(stacks);
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
        removed
    }

    /// The current rules.
    pub fn table(&self) -> Arc<RuleTable> {
        self.inner.table.load_full()
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
    pub async fn route(&self, bus: &str, event: &[u8]) -> Result<Routed, RouteError> {
        let inner = &self.inner;
        inner.metrics.events.fetch_add(1, Relaxed);
        let ingested_at = Instant::now();
        let ingestion_time = format_rfc3339(SystemTime::now());
        let table = inner.table.load_full();
        let planned = match plan(&table, bus, event, &ingestion_time) {
            Ok(planned) => planned,
            Err(e) => {
                inner.metrics.invalid_events.fetch_add(1, Relaxed);
                return Err(e);
            }
        };
        let mut routed = Routed::default();
        if planned.is_empty() {
            return Ok(routed);
        }
        let event_text: Arc<str> = String::from_utf8_lossy(event).trim().into();
        let mut last_rule: Option<Arc<Rule>> = None;
        for delivery in planned {
            let rule = delivery.rule.clone();
            if !last_rule
                .as_ref()
                .is_some_and(|last| Arc::ptr_eq(last, &rule))
            {
                let counters = inner.metrics.rule(&rule.arn);
                counters.matched_events.fetch_add(1, Relaxed);
                counters.triggered_rules.fetch_add(1, Relaxed);
                routed.rules += 1;
            }
            last_rule = Some(rule.clone());
            let target = delivery.target().clone();
            let counters = inner.metrics.target(&rule.arn, &target.id);
            counters.invocations_created.fetch_add(1, Relaxed);
            routed.deliveries += 1;
            let Ok(permit) = inner.pending.clone().acquire_owned().await else {
                continue;
            };
            let stack = inner
                .stacks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(target.arn.as_str())
                .cloned();
            let router = self.clone();
            let event_text = event_text.clone();
            let event_id = delivery.event_id.clone();
            let partition_key = delivery.partition_key.clone();
            let payload = delivery.payload.clone();
            tokio::spawn(async move {
                let outcome = match (payload, stack) {
                    (Err(transform), _) => {
                        counters.dead_letter_invocations.fetch_add(1, Relaxed);
                        Err((
                            DeliveryError::client(transform.code(), transform.to_string()),
                            0,
                            None,
                        ))
                    }
                    (Ok(_), None) => Err((
                        DeliveryError::new(
                            FailureKind::NoResource,
                            "NO_RESOURCE",
                            "the target is not connected",
                        ),
                        0,
                        None,
                    )),
                    (Ok(payload), Some(stack)) => {
                        let mut message = Delivery::new(payload, event_id.clone());
                        message.partition_key = partition_key;
                        if target.kind == TargetKind::SqsQueue {
                            message.message_group_id = target.message_group_id.clone();
                        }
                        let state = Arc::new(AttemptState::new(
                            target.retry_policy,
                            ingested_at,
                            counters.clone(),
                        ));
                        let attempt = Attempt {
                            delivery: message,
                            state: state.clone(),
                        };
                        let result = stack.oneshot(attempt).await;
                        counters.invocations.fetch_add(1, Relaxed);
                        result.map_err(|e| {
                            let retries = state.attempts.load(Relaxed).saturating_sub(1);
                            (e, retries, state.exhausted().map(|c| c.as_str()))
                        })
                    }
                };
                match outcome {
                    Ok(()) => {
                        counters.delivered.fetch_add(1, Relaxed);
                    }
                    Err((error, retries, exhausted)) => {
                        counters.failed_invocations.fetch_add(1, Relaxed);
                        router
                            .dead_letter(
                                &rule, &target, &counters, event_text, error, retries, exhausted,
                            )
                            .await;
                    }
                }
                drop(permit);
            });
        }
        Ok(routed)
    }

    /// Sends a failed delivery's event to the target's dead-letter queue,
    /// or records it.
    #[allow(clippy::too_many_arguments)]
    async fn dead_letter(
        &self,
        rule: &Rule,
        target: &Target,
        counters: &TargetCounters,
        event: Arc<str>,
        error: DeliveryError,
        retry_attempts: u32,
        exhausted: Option<&'static str>,
    ) {
        let mut dead_letter_error = None;
        if let Some(dlq) = &target.dead_letter_queue {
            let queue = self
                .inner
                .dead_letter_queues
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(dlq.as_str())
                .cloned();
            let mut message = Delivery::new(event.clone(), "");
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
            match sent {
                Ok(()) => {
                    counters.invocations_sent_to_dlq.fetch_add(1, Relaxed);
                    return;
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
        self.inner
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(FailureRecord {
                rule_arn: rule.arn.clone(),
                target_id: target.id.clone(),
                target_arn: target.arn.to_string(),
                event,
                error_code: error.dead_letter_code().to_string(),
                error_message: error.message().to_string(),
                retry_attempts,
                exhausted_retry_condition: exhausted,
                dead_letter_error,
            });
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
