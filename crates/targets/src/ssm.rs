//! EC2 Run Command: SSM SendCommand runs the target's document on the
//! instances its `RunCommandParameters` name (by id or by tag), with the
//! payload (the target's Input or transformed input) as the document's
//! parameters. Without Input the document runs with no parameters: Run
//! Command targets get nothing from the event unless told to.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::Target;
use sluice_router::arn::Arn;
use sluice_router::target_parameters::document_parameters;
use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError};

use crate::error::from_sdk;

/// Delivers to one SSM document.
pub(crate) struct RunCommand {
    client: Client,
    document: String,
}

impl RunCommand {
    pub(crate) fn new(client: Client, arn: &Arn) -> RunCommand {
        // AWS's own documents (no account in the ARN) go by name; an
        // account's documents by ARN, so that shared documents work too.
        let document = if arn.account().is_empty() {
            arn.resource_name().to_string()
        } else {
            arn.to_string()
        };
        RunCommand { client, document }
    }
}

impl Deliver for RunCommand {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let client = self.client.clone();
        let document = self.document.clone();
        Box::pin(async move {
            let Some(instances) = delivery.parameters.run_command_target() else {
                return Err(DeliveryError::client(
                    "InvalidParameters",
                    "the Run Command target names no instances (RunCommandParameters)",
                ));
            };
            let parameters = document_parameters(&delivery.payload).map_err(|reason| {
                DeliveryError::client(
                    "InvalidParameters",
                    format!("the payload is not Run Command document parameters: {reason}"),
                )
            })?;
            let mut request = client.send_command().document_name(document);
            if instances.key == "InstanceIds" {
                request = request.set_instance_ids(Some(instances.values.clone()));
            } else {
                request = request.targets(
                    Target::builder()
                        .key(&instances.key)
                        .set_values(Some(instances.values.clone()))
                        .build(),
                );
            }
            for (name, values) in parameters {
                request = request.parameters(name, values);
            }
            request.send().await.map(|_| ()).map_err(from_sdk)
        })
    }
}
