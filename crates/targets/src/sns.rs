//! SNS topics: PublishBatch, FIFO topics with a message group and the event
//! id as deduplication id.

use std::sync::Arc;

use aws_sdk_sns::Client;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use sluice_router::arn::Arn;
use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError};

use crate::batch::{Batcher, SendBatch, entries, fail_entries, fail_pending};
use crate::error::{from_sdk, too_large};

/// Entries in one PublishBatch call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Largest message, and largest PublishBatch request.
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// Delivers to one SNS topic.
pub(crate) struct SnsTopic {
    batcher: Batcher,
}

struct Topic {
    client: Client,
    arn: String,
    fifo: bool,
}

impl Topic {
    fn entry(
        &self,
        index: usize,
        delivery: &Delivery,
    ) -> Result<PublishBatchRequestEntry, DeliveryError> {
        if delivery.payload.len() > MAX_MESSAGE_BYTES {
            return Err(too_large(
                "the SNS message",
                delivery.payload.len(),
                MAX_MESSAGE_BYTES,
            ));
        }
        let mut entry = PublishBatchRequestEntry::builder()
            .id(index.to_string())
            .message(delivery.payload.as_ref());
        for (name, value) in &delivery.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| DeliveryError::client("InvalidAttribute", e.to_string()))?;
            entry = entry.message_attributes(name, attribute);
        }
        if self.fifo {
            let group = delivery
                .parameters
                .message_group_id()
                .or(delivery.event_id.as_deref())
                .map(str::to_string);
            entry = entry
                .set_message_group_id(group)
                .set_message_deduplication_id(delivery.event_id.as_deref().map(str::to_string));
        }
        entry
            .build()
            .map_err(|e| DeliveryError::client("InvalidParameterValue", e.to_string()))
    }

    async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); deliveries.len()];
        let entries = entries(&deliveries, &mut results, |i, d| self.entry(i, d));
        if entries.is_empty() {
            return results;
        }
        let sent = self
            .client
            .publish_batch()
            .topic_arn(&self.arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await;
        match sent {
            Err(e) => fail_pending(&mut results, from_sdk(e)),
            Ok(output) => fail_entries(
                &mut results,
                output
                    .failed()
                    .iter()
                    .map(|f| (f.id(), f.code(), f.sender_fault(), f.message())),
            ),
        }
        results
    }
}

impl SnsTopic {
    pub(crate) fn new(client: Client, arn: &Arn) -> SnsTopic {
        let topic = Arc::new(Topic {
            client,
            arn: arn.to_string(),
            fifo: arn.is_fifo(),
        });
        let send: SendBatch = Arc::new(move |deliveries| {
            let topic = topic.clone();
            Box::pin(async move { topic.send(deliveries).await })
        });
        SnsTopic {
            batcher: Batcher::new(send, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES),
        }
    }
}

impl Deliver for SnsTopic {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        self.batcher.submit(delivery)
    }
}
