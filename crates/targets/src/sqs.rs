//! SQS queues (targets and dead-letter queues): SendMessageBatch, FIFO
//! message groups with the event id as deduplication id, message attributes.

use std::sync::Arc;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use sluice_router::arn::Arn;
use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError, FailureKind};
use tokio::sync::OnceCell;

use crate::batch::{Batcher, SendBatch, entries, fail_entries, fail_pending};
use crate::error::{from_sdk, too_large};

/// Entries in one SendMessageBatch call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Largest message, and largest SendMessageBatch request (1 MiB since January 2026).
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;

/// Delivers to one SQS queue.
pub(crate) struct SqsQueue {
    batcher: Batcher,
}

struct Queue {
    client: Client,
    name: String,
    account: String,
    fifo: bool,
    url: OnceCell<String>,
}

impl Queue {
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

    async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
        let url = match self.url().await {
            Ok(url) => url.to_string(),
            Err(e) => return deliveries.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); deliveries.len()];
        let entries = entries(&deliveries, &mut results, |i, d| self.entry(i, d));
        if entries.is_empty() {
            return results;
        }
        let sent = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
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

    fn entry(
        &self,
        index: usize,
        delivery: &Delivery,
    ) -> Result<SendMessageBatchRequestEntry, DeliveryError> {
        if delivery.payload.len() > MAX_MESSAGE_BYTES {
            return Err(too_large(
                "the SQS message",
                delivery.payload.len(),
                MAX_MESSAGE_BYTES,
            ));
        }
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(index.to_string())
            .message_body(delivery.payload.as_ref());
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
}

impl SqsQueue {
    pub(crate) fn new(client: Client, arn: &Arn) -> SqsQueue {
        let queue = Arc::new(Queue {
            client,
            name: arn.resource_name().to_string(),
            account: arn.account().to_string(),
            fifo: arn.is_fifo(),
            url: OnceCell::new(),
        });
        let send: SendBatch = Arc::new(move |deliveries| {
            let queue = queue.clone();
            Box::pin(async move { queue.send(deliveries).await })
        });
        SqsQueue {
            batcher: Batcher::new(send, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES),
        }
    }
}

impl Deliver for SqsQueue {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        self.batcher.submit(delivery)
    }
}
