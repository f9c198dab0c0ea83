//! AWS SDK errors as delivery failures: throttling, server errors,
//! timeouts and connection failures are retried; permission errors, missing
//! resources and other client errors are not.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use sluice_router::dispatch::{DeliveryError, FailureKind};

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
/// use sluice_router::dispatch::FailureKind;
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
        SdkError::DispatchFailure(_) => DeliveryError::timeout(format!(
            "request not answered: {}",
            DisplayErrorContext(&error)
        )),
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

/// A payload over a service limit: never retried.
pub(crate) fn too_large(what: &str, size: usize, limit: usize) -> DeliveryError {
    DeliveryError::new(
        FailureKind::ClientError,
        "PayloadTooLarge",
        format!("{what} is {size} bytes; the limit is {limit}"),
    )
}
