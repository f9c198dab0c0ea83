//! SQS queues (targets and dead-letter queues): SendMessageBatch, FIFO
//! message groups with the event id as deduplication id, message attributes.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::builders::SendMessageBatchRequestEntryBuilder;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use sluice_router::arn::Arn;
use sluice_router::{Delivery, DeliveryError, FailureKind};
use tokio::sync::OnceCell;

use crate::batch::{Batched, SendBatch, entries, fail_entries_by_id, fail_sent};
use crate::error::from_sdk;
use crate::message::{MessageEntry, invalid_attribute, invalid_entry, message_entry};

/// Entries in one SendMessageBatch call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Largest message, and largest SendMessageBatch request (1 MiB since January 2026).
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;

/// Delivers to one SQS queue.
pub(crate) type SqsQueue = Batched<Queue>;

/// SendMessageBatch to one queue, its URL looked up on first use.
pub(crate) struct Queue {
    client: Client,
    name: String,
    account: String,
    fifo: bool,
    url: OnceCell<String>,
}

impl Queue {
    pub(crate) fn new(client: Client, arn: &Arn) -> Queue {
        Queue {
            client,
            name: arn.resource_name().to_string(),
            account: arn.account().to_string(),
            fifo: arn.is_fifo(),
            url: OnceCell::new(),
        }
    }

    async fn url(&self) -> Result<&str, DeliveryError> {
        self.url
            .get_or_try_init(|| async {
                let mut request = self.client.get_queue_url().queue_name(&self.name);
                if !self.account.is_empty() {
                    request = request.queue_owner_aws_account_id(&self.account);
                }
                let output = request.send().await.map_err(from_sdk)?;
                output.queue_url().map(str::to_string).ok_or_else(|| {
                    DeliveryError::new(
                        FailureKind::NoResource,
                        "NO_RESOURCE",
                        "no queue URL returned",
                    )
                })
            })
            .await
            .map(String::as_str)
    }
}

impl SendBatch for Queue {
    const MAX_ENTRIES: usize = MAX_BATCH_ENTRIES;
    const MAX_BYTES: usize = MAX_MESSAGE_BYTES;

    async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
        let url = match self.url().await {
            Ok(url) => url.to_string(),
            Err(e) => return deliveries.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); deliveries.len()];
        let built = entries(&deliveries, &mut results, |i, d| {
            message_entry::<SendMessageBatchRequestEntryBuilder>(i, d, self.fifo)?
                .build()
                .map_err(invalid_entry)
        });
        if built.entries.is_empty() {
            return results;
        }
        let sent = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(built.entries))
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

impl MessageEntry for SendMessageBatchRequestEntryBuilder {
    const WHAT: &'static str = "the SQS message";
    const MAX_MESSAGE_BYTES: usize = MAX_MESSAGE_BYTES;

    fn start(id: String, body: &str) -> Self {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(body)
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
