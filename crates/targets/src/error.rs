//! AWS SDK errors as delivery failures: throttling, server errors,
//! timeouts and unreachable endpoints are retried; permission errors,
//! missing resources, missing credentials and other client errors are not.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use sluice_router::{DeliveryError, FailureKind};

/// Error codes AWS services use for throttling.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "KMSThrottlingException",
    "SlowDown",
    "EC2ThrottledException",
];

/// Error codes for a caller without permission.
const PERMISSION_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "KMSAccessDeniedException",
    "KMSAccessDenied",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
];

/// Error codes for a target that does not exist.
const MISSING_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "StateMachineDoesNotExist",
    "StateMachineDeleting",
];

/// Classifies an error by code and HTTP status.
///
/// ```
/// use sluice_router::FailureKind;
/// use sluice_targets::error::classify_code;
/// assert_eq!(classify_code(Some("ThrottlingException"), 400), FailureKind::Throttled);
/// assert_eq!(classify_code(None, 503), FailureKind::ServerError);
/// assert_eq!(classify_code(Some("ResourceNotFoundException"), 404), FailureKind::NoResource);
/// assert_eq!(classify_code(Some("InvalidParameterValue"), 400), FailureKind::ClientError);
/// ```
pub fn classify_code(code: Option<&str>, status: u16) -> FailureKind {
    let code = code.unwrap_or("");
    if status == 429 || THROTTLING_CODES.contains(&code) {
        FailureKind::Throttled
    } else if PERMISSION_CODES.contains(&code) || status == 403 {
        FailureKind::NoPermissions
    } else if MISSING_CODES.contains(&code) || status == 404 {
        FailureKind::NoResource
    } else if status >= 500 {
        FailureKind::ServerError
    } else {
        FailureKind::ClientError
    }
}

/// Turns an SDK error into a delivery failure.
pub(crate) fn from_sdk<E>(error: SdkError<E, Response>) -> DeliveryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::TimeoutError(_) => {
            DeliveryError::timeout(DisplayErrorContext(&error).to_string())
        }
        SdkError::DispatchFailure(_) => dispatch_failure(&error),
        SdkError::ResponseError(context) => DeliveryError::server(
            format!("HTTP{}", context.raw().status().as_u16()),
            DisplayErrorContext(&error).to_string(),
        ),
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = error.code().map(str::to_string);
            let message = error
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| DisplayErrorContext(&error).to_string());
            let kind = classify_code(code.as_deref(), status);
            DeliveryError::new(
                kind,
                code.unwrap_or_else(|| format!("HTTP{status}")),
                message,
            )
        }
        _ => DeliveryError::client(
            "ConstructionFailure",
            DisplayErrorContext(&error).to_string(),
        ),
    }
}

/// A request that was never answered: refused or unreachable connections,
/// missing credentials, or no answer at all. The source chain tells which.
fn dispatch_failure(error: &(dyn std::error::Error + 'static)) -> DeliveryError {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause
            .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return DeliveryError::client(
                "CredentialsError",
                format!("no AWS credentials: {}", causes(cause)),
            );
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let code = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Some("ConnectionRefused"),
                std::io::ErrorKind::ConnectionReset => Some("ConnectionReset"),
                std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
                    Some("HostUnreachable")
                }
                _ => None,
            };
            if let Some(code) = code {
                return DeliveryError::new(FailureKind::Unreachable, code, causes(error));
            }
        }
        source = cause.source();
    }
    DeliveryError::timeout(format!("request not answered: {}", causes(error)))
}

/// An error and its sources, each by its message, on one line.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

#[cfg(any(
    feature = "kinesis",
    feature = "lambda",
    feature = "logs",
    feature = "sfn",
    feature = "sns",
    feature = "sqs"
))]
/// A payload over a service limit: never retried.
pub(crate) fn too_large(what: &str, size: usize, limit: usize) -> DeliveryError {
    DeliveryError::new(
        FailureKind::ClientError,
        "PayloadTooLarge",
        format!("{what} is {size} bytes; the limit is {limit}"),
    )
}
