//! SNS topics: PublishBatch, FIFO topics with a message group and the event
//! id as deduplication id.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::builders::PublishBatchRequestEntryBuilder;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use sluice_router::arn::Arn;
use sluice_router::{Delivery, DeliveryError};

use crate::batch::{Batched, SendBatch, entries, fail_entries_by_id, fail_sent};
use crate::error::from_sdk;
use crate::message::{MessageEntry, invalid_attribute, invalid_entry, message_entry};

/// Entries in one PublishBatch call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Largest message, and largest PublishBatch request.
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// Delivers to one SNS topic.
pub(crate) type SnsTopic = Batched<Topic>;

/// PublishBatch to one topic.
pub(crate) struct Topic {
    client: Client,
    arn: String,
    fifo: bool,
}

impl Topic {
    pub(crate) fn new(client: Client, arn: &Arn) -> Topic {
        Topic {
            client,
            arn: arn.to_string(),
            fifo: arn.is_fifo(),
        }
    }
}

impl SendBatch for Topic {
    const MAX_ENTRIES: usize = MAX_BATCH_ENTRIES;
    const MAX_BYTES: usize = MAX_MESSAGE_BYTES;

    async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); deliveries.len()];
        let built = entries(&deliveries, &mut results, |i, d| {
            message_entry::<PublishBatchRequestEntryBuilder>(i, d, self.fifo)?
                .build()
                .map_err(invalid_entry)
        });
        if built.entries.is_empty() {
            return results;
        }
        let sent = self
            .client
            .publish_batch()
            .topic_arn(&self.arn)
            .set_publish_batch_request_entries(Some(built.entries))
            .send()
            .await;
        match sent {
            Err(e) => fail_sent(&mut results, &built.positions, from_sdk(e)),
            Ok(output) => fail_entries_by_id(
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

impl MessageEntry for PublishBatchRequestEntryBuilder {
    const WHAT: &'static str = "the SNS message";
    const MAX_MESSAGE_BYTES: usize = MAX_MESSAGE_BYTES;

    fn start(id: String, body: &str) -> Self {
        PublishBatchRequestEntry::builder().id(id).message(body)
    }

    fn string_attribute(self, name: &str, value: &str) -> Result<Self, DeliveryError> {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(invalid_attribute)?;
        Ok(self.message_attributes(name, attribute))
    }

    fn fifo(self, group: Option<String>, deduplication_id: Option<String>) -> Self {
        self.set_message_group_id(group)
            .set_message_deduplication_id(deduplication_id)
    }
}
