//! The interface between the router and the services it delivers to: a
//! [`Delivery`] goes to a [`Deliver`], which a [`Connect`] makes for each
//! target ARN, and a failed call is a [`DeliveryError`] whose
//! [`FailureKind`] decides whether it is retried. `sluice-targets`
//! implements these over the AWS SDK; tests implement them in memory.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::arn::{Arn, TargetKind};
use crate::target_parameters::DeliveryParameters;

/// A boxed, sendable future, as [`Deliver`] returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One payload on its way to one target.
///
/// ```
/// use sluice_router::Delivery;
/// let delivery = Delivery::new(r#"{"id":"1"}"#, Some("1".into()));
/// assert_eq!(&*delivery.payload, r#"{"id":"1"}"#);
/// assert_eq!(delivery.event_id.as_deref(), Some("1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The body: the event or its shaped form.
    pub payload: Arc<str>,
    /// The event's `id` (Kinesis default partition key, FIFO deduplication
    /// id), read when a target needs it or the router logs; `None` when
    /// the event has none or it was not read.
    pub event_id: Option<Arc<str>>,
    /// String message attributes (dead-letter messages carry EventBridge's).
    pub attributes: Vec<(String, String)>,
    /// What this kind of target needs beyond the payload: a partition
    /// key, a message group, an execution name, instances, a log time.
    pub parameters: DeliveryParameters,
}

impl Delivery {
    /// A delivery of `payload` for the event with id `event_id`.
    pub fn new(payload: impl Into<Arc<str>>, event_id: Option<Arc<str>>) -> Delivery {
        Delivery {
            payload: payload.into(),
            event_id,
            attributes: Vec::new(),
            parameters: DeliveryParameters::None,
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
    /// No answer in time: retried.
    Timeout,
    /// The target's endpoint could not be reached (connection refused,
    /// reset or not routable): retried, under the error code the adapter
    /// gives, such as `ConnectionRefused`.
    Unreachable,
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
/// use sluice_router::DeliveryError;
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

    /// No answer in time.
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

    /// Whether EventBridge would retry it: throttling, server errors,
    /// timeouts and unreachable endpoints.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            FailureKind::Throttled
                | FailureKind::ServerError
                | FailureKind::Timeout
                | FailureKind::Unreachable
        )
    }

    /// The `ERROR_CODE` attribute of the dead-letter message.
    pub fn dead_letter_code(&self) -> &str {
        match self.kind {
            FailureKind::Throttled => "THROTTLING",
            FailureKind::Timeout => "TIMEOUT",
            FailureKind::NoPermissions => "NO_PERMISSIONS",
            FailureKind::NoResource => "NO_RESOURCE",
            FailureKind::ServerError | FailureKind::ClientError | FailureKind::Unreachable => {
                &self.code
            }
        }
    }
}

/// Something that delivers payloads to one target: the only place a target
/// service is called. `sluice-targets` implements it over the AWS SDK.
///
/// ```
/// use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError};
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
