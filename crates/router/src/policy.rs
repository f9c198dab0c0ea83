//! The service stack every delivery to a target goes through, outermost
//! first:
//!
//! 1. **concurrency limit**: at most N deliveries in flight per target ARN
//!    (a delivery holds its slot through its retries, so a failing target
//!    cannot take more than N slots' worth of work);
//! 2. **retry**: EventBridge's policy: exponential backoff with jitter,
//!    stopping at `MaximumRetryAttempts` retries or when the next attempt
//!    would start after `MaximumEventAgeInSeconds`; only throttling, server
//!    errors and timeouts are retried;
//! 3. **timeout**: each attempt gets a deadline; running past it counts as
//!    a retryable timeout;
//! 4. **adapter**: the [`Deliver`] implementation that calls the target.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tower::{BoxError, Service, ServiceBuilder};

use crate::deliver::{BoxFuture, Deliver, Delivery, DeliveryError, FailureKind};
use crate::delivery_state::{DeliveryState, WallClock};
use crate::metrics::TargetCounters;
use crate::model::RetryPolicy;
use crate::processing_log::{InvocationTrace, Step, error_member};

/// Why retrying stopped, as EventBridge names it in `EXHAUSTED_RETRY_CONDITION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExhaustedRetryCondition {
    /// `MaximumRetryAttempts` retries were made.
    MaximumRetryAttempts,
    /// The next attempt would have started after `MaximumEventAgeInSeconds`.
    MaximumEventAgeInSeconds,
}

impl ExhaustedRetryCondition {
    /// The attribute value.
    ///
    /// ```
    /// use sluice_router::policy::ExhaustedRetryCondition;
    /// assert_eq!(ExhaustedRetryCondition::MaximumRetryAttempts.as_str(), "MaximumRetryAttempts");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ExhaustedRetryCondition::MaximumRetryAttempts => "MaximumRetryAttempts",
            ExhaustedRetryCondition::MaximumEventAgeInSeconds => "MaximumEventAgeInSeconds",
        }
    }
}

/// Backoff and timeout settings shared by every target of a router.
///
/// ```
/// use sluice_router::policy::StackSettings;
/// let settings = StackSettings::default();
/// assert_eq!(settings.concurrency_per_target, 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StackSettings {
    /// Deliveries in flight per target ARN.
    pub concurrency_per_target: usize,
    /// Deadline of one attempt.
    pub attempt_timeout: Duration,
    /// First backoff before jitter; each retry doubles it.
    pub backoff_min: Duration,
    /// Largest backoff.
    pub backoff_max: Duration,
    /// Jitter: each wait is the base plus up to this fraction of it, drawn at random.
    pub jitter: f64,
}

impl Default for StackSettings {
    fn default() -> StackSettings {
        StackSettings {
            concurrency_per_target: 64,
            attempt_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            jitter: 1.0,
        }
    }
}

/// What the attempts of one delivery share.
#[derive(Debug)]
pub(crate) struct AttemptState {
    pub(crate) policy: RetryPolicy,
    /// When the router took the event in (latency is measured from here).
    pub(crate) ingested_at: Instant,
    /// The wall clock the persistable times are read on.
    clock: WallClock,
    /// When the event was taken in, by the wall clock: the age limit
    /// counts from here.
    ingested_ms: u64,
    pub(crate) attempts: AtomicU32,
    /// When the first attempt began; 0 before it.
    first_attempt_ms: AtomicU64,
    /// When the next attempt is due; 0 when none is scheduled.
    next_attempt_ms: AtomicU64,
    exhausted: AtomicU8,
    pub(crate) counters: Arc<TargetCounters>,
    /// Processing-log records of this delivery, when logging.
    trace: Option<Arc<InvocationTrace>>,
    /// When the current attempt began, in microseconds after `ingested_at`.
    attempt_started_micros: AtomicU64,
}

impl AttemptState {
    /// The attempts of a delivery that stands at `start`.
    pub(crate) fn new(
        policy: RetryPolicy,
        start: DeliveryState,
        clock: WallClock,
        ingested_at: Instant,
        counters: Arc<TargetCounters>,
        trace: Option<Arc<InvocationTrace>>,
    ) -> AttemptState {
        AttemptState {
            policy,
            ingested_at,
            clock,
            ingested_ms: start.ingested_ms,
            attempts: AtomicU32::new(start.attempts),
            first_attempt_ms: AtomicU64::new(start.first_attempt_ms.unwrap_or(0)),
            next_attempt_ms: AtomicU64::new(start.next_attempt_ms.unwrap_or(0)),
            exhausted: AtomicU8::new(0),
            counters,
            trace,
            attempt_started_micros: AtomicU64::new(0),
        }
    }

    /// Where the delivery stands now.
    pub(crate) fn snapshot(&self) -> DeliveryState {
        let optional = |ms: u64| (ms != 0).then_some(ms);
        DeliveryState {
            attempts: self.attempts.load(Relaxed),
            ingested_ms: self.ingested_ms,
            first_attempt_ms: optional(self.first_attempt_ms.load(Relaxed)),
            next_attempt_ms: optional(self.next_attempt_ms.load(Relaxed)),
        }
    }

    /// How long until the next attempt is due (zero when it is due now).
    pub(crate) fn wait_for_next(&self) -> Duration {
        self.clock.until(self.next_attempt_ms.load(Relaxed))
    }

    /// Whether an attempt starting now would start after the event's
    /// maximum age; marks the delivery exhausted if so.
    pub(crate) fn too_old_to_attempt(&self) -> bool {
        let too_old = self.clock.now_ms() > self.age_limit_ms();
        if too_old {
            self.set_exhausted(ExhaustedRetryCondition::MaximumEventAgeInSeconds);
        }
        too_old
    }

    fn age_limit_ms(&self) -> u64 {
        let age = u64::try_from(self.policy.maximum_event_age.as_millis()).unwrap_or(u64::MAX);
        self.ingested_ms.saturating_add(age)
    }

    /// Logs the outcome of the attempt that just ended.
    fn log_attempt(&self, result: &Result<(), DeliveryError>, will_retry: bool) {
        let Some(trace) = &self.trace else { return };
        let step = match result {
            Ok(()) => Step::InvocationAttemptSuccess,
            Err(e) if e.kind() == FailureKind::Throttled => Step::InvocationAttemptThrottle,
            Err(e) if e.is_retryable() => Step::InvocationAttemptRetryableFailure,
            Err(_) => Step::InvocationAttemptPermanentFailure,
        };
        let started = self.attempt_started_micros.load(Relaxed);
        let latency_micros =
            (self.ingested_at.elapsed().as_micros() as u64).saturating_sub(started);
        let error = result.as_ref().err();
        trace.record(
            step,
            || {
                let mut details = serde_json::Map::new();
                details.insert("attempt".into(), self.attempts.load(Relaxed).into());
                details.insert("latency_ms".into(), (latency_micros as f64 / 1000.0).into());
                if error.is_some() {
                    details.insert("will_retry".into(), will_retry.into());
                }
                details
            },
            error.map(error_member),
        );
    }

    pub(crate) fn exhausted(&self) -> Option<ExhaustedRetryCondition> {
        match self.exhausted.load(Relaxed) {
            1 => Some(ExhaustedRetryCondition::MaximumRetryAttempts),
            2 => Some(ExhaustedRetryCondition::MaximumEventAgeInSeconds),
            _ => None,
        }
    }

    fn set_exhausted(&self, condition: ExhaustedRetryCondition) {
        let code = match condition {
            ExhaustedRetryCondition::MaximumRetryAttempts => 1,
            ExhaustedRetryCondition::MaximumEventAgeInSeconds => 2,
        };
        self.exhausted.store(code, Relaxed);
    }
}

/// One delivery going through the stack.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) delivery: Delivery,
    pub(crate) state: Arc<AttemptState>,
}

/// The innermost service: one call to the target per attempt.
#[derive(Clone)]
pub(crate) struct Adapter {
    target: Arc<dyn Deliver>,
}

impl Service<Attempt> for Adapter {
    type Response = ();
    type Error = DeliveryError;
    type Future = BoxFuture<Result<(), DeliveryError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), DeliveryError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, attempt: Attempt) -> Self::Future {
        let state = &attempt.state;
        let number = state.attempts.fetch_add(1, Relaxed) + 1;
        let now_ms = state.clock.now_ms().max(1);
        state.next_attempt_ms.store(0, Relaxed);
        let _ = state
            .first_attempt_ms
            .compare_exchange(0, now_ms, Relaxed, Relaxed);
        if let Some(trace) = &state.trace {
            state
                .attempt_started_micros
                .store(state.ingested_at.elapsed().as_micros() as u64, Relaxed);
            trace.record(
                Step::InvocationAttemptStart,
                || {
                    let mut details = serde_json::Map::new();
                    details.insert("attempt".into(), number.into());
                    details
                },
                None,
            );
        }
        state.counters.invocation_attempts.fetch_add(1, Relaxed);
        if number == 1 {
            state.counters.record_latency(state.ingested_at.elapsed());
        } else {
            state
                .counters
                .retry_invocation_attempts
                .fetch_add(1, Relaxed);
        }
        self.target.deliver(attempt.delivery)
    }
}

/// EventBridge's retry policy as a tower policy. The wait before a retry
/// follows from the attempts already made, so a delivery resumed from a
/// stored [`DeliveryState`] backs off as if it had never stopped.
#[derive(Clone)]
pub(crate) struct EventBridgeRetry {
    backoff_min: Duration,
    backoff_max: Duration,
    jitter: f64,
}

impl EventBridgeRetry {
    fn new(settings: &StackSettings) -> EventBridgeRetry {
        let backoff_max = settings.backoff_max.max(Duration::from_millis(1));
        EventBridgeRetry {
            backoff_min: settings.backoff_min.min(backoff_max),
            backoff_max,
            jitter: if settings.jitter.is_finite() {
                settings.jitter.clamp(0.0, 100.0)
            } else {
                0.0
            },
        }
    }

    /// The wait before retry number `retry` (1 for the first): the minimum
    /// doubled per earlier retry, capped at the maximum, plus up to
    /// `jitter` times that, drawn at random.
    fn backoff(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        let base = self
            .backoff_min
            .checked_mul(1 << doublings)
            .unwrap_or(self.backoff_max)
            .min(self.backoff_max);
        let draw = RandomState::new().hash_one(retry) as f64 / u64::MAX as f64;
        Duration::try_from_secs_f64(base.as_secs_f64() * (1.0 + self.jitter * draw)).unwrap_or(base)
    }

    /// The wait before the next attempt, or `None` when there is none:
    /// success, an error retrying cannot mend, or the policy exhausted.
    fn next_wait(
        &self,
        state: &AttemptState,
        result: &Result<(), DeliveryError>,
    ) -> Option<tokio::time::Sleep> {
        let Err(error) = result else {
            return None;
        };
        if !error.is_retryable() {
            return None;
        }
        let retries_made = state.attempts.load(Relaxed).saturating_sub(1);
        if retries_made >= state.policy.maximum_retry_attempts {
            state.set_exhausted(ExhaustedRetryCondition::MaximumRetryAttempts);
            return None;
        }
        let wait = self.backoff(retries_made + 1);
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let due_ms = state.clock.now_ms().saturating_add(wait_ms);
        if due_ms > state.age_limit_ms() {
            state.set_exhausted(ExhaustedRetryCondition::MaximumEventAgeInSeconds);
            return None;
        }
        state.next_attempt_ms.store(due_ms, Relaxed);
        state.counters.next_retry_unix_ms.store(due_ms, Relaxed);
        Some(tokio::time::sleep(wait))
    }
}

impl tower::retry::Policy<Attempt, (), DeliveryError> for EventBridgeRetry {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        attempt: &mut Attempt,
        result: &mut Result<(), DeliveryError>,
    ) -> Option<Self::Future> {
        let state = &attempt.state;
        let sleep = self.next_wait(state, result);
        state.log_attempt(result, sleep.is_some());
        sleep
    }

    fn clone_request(&mut self, attempt: &Attempt) -> Option<Attempt> {
        Some(attempt.clone())
    }
}

fn into_delivery_error(error: BoxError) -> DeliveryError {
    match error.downcast::<DeliveryError>() {
        Ok(error) => *error,
        Err(other) if other.is::<tower::timeout::error::Elapsed>() => {
            DeliveryError::timeout("the attempt ran past its deadline")
        }
        Err(other) => DeliveryError::server("InternalFailure", other.to_string()),
    }
}

/// Turns the timeout layer's boxed errors back into [`DeliveryError`]s, so
/// the retry policy can classify them.
#[derive(Clone)]
pub(crate) struct Classify<S> {
    inner: S,
}

impl<S> Service<Attempt> for Classify<S>
where
    S: Service<Attempt, Response = (), Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = DeliveryError;
    type Future = BoxFuture<Result<(), DeliveryError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), DeliveryError>> {
        self.inner.poll_ready(cx).map_err(into_delivery_error)
    }

    fn call(&mut self, attempt: Attempt) -> Self::Future {
        let future = self.inner.call(attempt);
        Box::pin(async move { future.await.map_err(into_delivery_error) })
    }
}

/// The stack of one target ARN.
pub(crate) type TargetStack = tower::limit::ConcurrencyLimit<
    tower::retry::Retry<EventBridgeRetry, Classify<tower::timeout::Timeout<Adapter>>>,
>;

pub(crate) fn target_stack(target: Arc<dyn Deliver>, settings: &StackSettings) -> TargetStack {
    ServiceBuilder::new()
        .concurrency_limit(settings.concurrency_per_target.max(1))
        .retry(EventBridgeRetry::new(settings))
        .layer_fn(|inner| Classify { inner })
        .timeout(settings.attempt_timeout)
        .service(Adapter { target })
}
