//! Per-event completion: the final outcome of every delivery of one event,
//! so that a caller holding the event in a durable log acknowledges it
//! only once nothing more will happen to it. [`crate::Router::route_tracked`]
//! returns a [`Completion`]; awaiting it gives an [`EventOutcome`] with one
//! [`DeliveryOutcome`] per (rule, target), each with its attempts.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::delivery_state::DeliveryState;
use crate::policy::AttemptState;

/// The error code of a delivery cut short by [`crate::Router::interrupt`].
pub const INTERRUPTED: &str = "interrupted";

/// One delivery of an event: the rule it matched and the target.
///
/// ```
/// use sluice_router::DeliveryKey;
/// let key = DeliveryKey::new("arn:aws:events:us-east-1:123456789012:rule/r", "t");
/// assert_eq!(key.target_id, "t");
/// ```
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DeliveryKey {
    /// The rule's ARN.
    pub rule_arn: String,
    /// The target's id within the rule.
    pub target_id: String,
}

impl DeliveryKey {
    /// The delivery of `rule_arn`'s target `target_id`.
    pub fn new(rule_arn: impl Into<String>, target_id: impl Into<String>) -> DeliveryKey {
        DeliveryKey {
            rule_arn: rule_arn.into(),
            target_id: target_id.into(),
        }
    }
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

/// How one delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryResult {
    /// The target accepted the event.
    Delivered,
    /// The delivery failed and the target's dead-letter queue took the
    /// event, with these attributes.
    DeadLettered {
        /// `ERROR_CODE`.
        error_code: String,
        /// `ERROR_MESSAGE`.
        error_message: String,
        /// `EXHAUSTED_RETRY_CONDITION`, when retries ran out.
        exhausted_retry_condition: Option<&'static str>,
    },
    /// Neither the target nor a dead-letter queue took the event. A
    /// delivery cut short by an interrupt has the code [`INTERRUPTED`] and
    /// can be resumed from its state.
    Failed(FailureRecord),
}

/// The final outcome of one delivery, with where its retries stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// Which delivery.
    pub key: DeliveryKey,
    /// How it ended.
    pub result: DeliveryResult,
    /// Its attempts and times when it ended.
    pub state: DeliveryState,
}

impl DeliveryOutcome {
    /// Whether an interrupt cut the delivery short, so it can be resumed.
    pub fn is_interrupted(&self) -> bool {
        matches!(&self.result, DeliveryResult::Failed(f) if f.error_code == INTERRUPTED)
    }
}

/// The outcome of every delivery of one event, in rule and target order.
///
/// ```
/// use sluice_router::EventOutcome;
/// let nothing = EventOutcome::default();
/// assert!(nothing.deliveries.is_empty() && nothing.resumable().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventOutcome {
    /// The event's `id`, when it has one and it was read.
    pub event_id: Option<Arc<str>>,
    /// One entry per (matched rule, target).
    pub deliveries: Vec<DeliveryOutcome>,
}

impl EventOutcome {
    /// The deliveries an interrupt cut short, each with the state to hand
    /// back to [`crate::Router::route_tracked`] to resume it.
    pub fn resumable(&self) -> HashMap<DeliveryKey, DeliveryState> {
        self.deliveries
            .iter()
            .filter(|d| d.is_interrupted())
            .map(|d| (d.key.clone(), d.state))
            .collect()
    }
}

/// A delivery under way, as a [`Completion`] sees it.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) key: DeliveryKey,
    pub(crate) target_arn: String,
    pub(crate) event: Arc<str>,
    pub(crate) state: Arc<AttemptState>,
}

/// The deliveries of one routed event, under way. [`Completion::wait`]
/// resolves once every one of them is final; [`Completion::states`] shows
/// where each stands meanwhile, for a caller that stores them.
#[derive(Debug)]
pub struct Completion {
    pub(crate) event_id: Option<Arc<str>>,
    pub(crate) pending: Vec<Pending>,
    pub(crate) outcomes: Option<oneshot::Receiver<Vec<DeliveryOutcome>>>,
}

impl Completion {
    /// The event's `id`, when it has one.
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// How many deliveries the event makes.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether the event makes no delivery.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Where each delivery stands now.
    pub fn states(&self) -> Vec<(DeliveryKey, DeliveryState)> {
        self.pending
            .iter()
            .map(|p| (p.key.clone(), p.state.snapshot()))
            .collect()
    }

    /// Waits until every delivery is final and returns their outcomes.
    /// Should the router's runtime stop first, each delivery not yet final
    /// is reported as interrupted, with its state, so nothing is taken for
    /// done that was not.
    pub async fn wait(self) -> EventOutcome {
        let received = match self.outcomes {
            Some(outcomes) => outcomes.await.ok(),
            None => Some(Vec::new()),
        };
        let deliveries = received.unwrap_or_else(|| {
            self.pending
                .iter()
                .map(|p| {
                    let state = p.state.snapshot();
                    DeliveryOutcome {
                        key: p.key.clone(),
                        result: DeliveryResult::Failed(FailureRecord {
                            rule_arn: p.key.rule_arn.clone(),
                            target_id: p.key.target_id.clone(),
                            target_arn: p.target_arn.clone(),
                            event: p.event.clone(),
                            error_code: INTERRUPTED.to_string(),
                            error_message: "the router stopped before this delivery was final"
                                .to_string(),
                            retry_attempts: state.retries(),
                            exhausted_retry_condition: None,
                            dead_letter_error: None,
                        }),
                        state,
                    }
                })
                .collect()
        });
        EventOutcome {
            event_id: self.event_id,
            deliveries,
        }
    }
}
