//! Lambda functions, invoked asynchronously (`InvocationType: Event`), as
//! EventBridge invokes them.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use sluice_router::arn::Arn;
use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError};

use crate::error::{from_sdk, too_large};

/// Largest asynchronous invocation payload (1 MiB since January 2026).
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 1_048_576;

/// Delivers to one Lambda function.
pub(crate) struct LambdaFunction {
    client: Client,
    function: String,
}

impl LambdaFunction {
    pub(crate) fn new(client: Client, arn: &Arn) -> LambdaFunction {
        LambdaFunction {
            client,
            function: arn.to_string(),
        }
    }
}

impl Deliver for LambdaFunction {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let client = self.client.clone();
        let function = self.function.clone();
        Box::pin(async move {
            if delivery.payload.len() > MAX_ASYNC_PAYLOAD_BYTES {
                return Err(too_large(
                    "the invocation payload",
                    delivery.payload.len(),
                    MAX_ASYNC_PAYLOAD_BYTES,
                ));
            }
            client
                .invoke()
                .function_name(function)
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(delivery.payload.as_bytes()))
                .send()
                .await
                .map(|_| ())
                .map_err(from_sdk)
        })
    }
}
