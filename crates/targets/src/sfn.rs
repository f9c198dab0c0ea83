//! Step Functions state machines: StartExecution with the payload as input,
//! under the execution name the router chose for the delivery, so a retried
//! call is idempotent and distinct deliveries never collide.

use aws_sdk_sfn::Client;
use sluice_router::arn::Arn;
use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError};

use crate::error::{from_sdk, too_large};

/// Largest execution input.
pub const MAX_INPUT_BYTES: usize = 262_144;

/// Delivers to one state machine.
pub(crate) struct StateMachine {
    client: Client,
    arn: String,
}

impl StateMachine {
    pub(crate) fn new(client: Client, arn: &Arn) -> StateMachine {
        StateMachine {
            client,
            arn: arn.to_string(),
        }
    }
}

impl Deliver for StateMachine {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let client = self.client.clone();
        let arn = self.arn.clone();
        Box::pin(async move {
            if delivery.payload.len() > MAX_INPUT_BYTES {
                return Err(too_large(
                    "the execution input",
                    delivery.payload.len(),
                    MAX_INPUT_BYTES,
                ));
            }
            client
                .start_execution()
                .state_machine_arn(arn)
                .input(delivery.payload.as_ref())
                .set_name(delivery.parameters.execution_name().map(str::to_string))
                .send()
                .await
                .map(|_| ())
                .map_err(from_sdk)
        })
    }
}
