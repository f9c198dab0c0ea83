//! Kinesis streams: PutRecords with the partition key from
//! `KinesisParameters.PartitionKeyPath` (the event id by default).

use std::sync::Arc;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use sluice_router::arn::Arn;
use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError};

use crate::batch::{Batcher, SendBatch};
use crate::error::{classify_code, from_sdk, too_large};

/// Records in one PutRecords call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Largest PutRecords request.
pub const MAX_BATCH_BYTES: usize = 5 * 1_048_576;
/// Largest record: data plus partition key.
pub const MAX_RECORD_BYTES: usize = 1_048_576;
/// Longest partition key, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Delivers to one Kinesis stream.
pub(crate) struct KinesisStream {
    batcher: Batcher,
}

struct Stream {
    client: Client,
    arn: String,
}

impl Stream {
    fn entry(delivery: &Delivery) -> Result<PutRecordsRequestEntry, DeliveryError> {
        let key = delivery
            .parameters
            .partition_key()
            .or(delivery.event_id.as_deref())
            .unwrap_or_default()
            .to_string();
        if key.is_empty() || key.chars().count() > MAX_PARTITION_KEY_CHARS {
            return Err(DeliveryError::client(
                "InvalidPartitionKey",
                format!(
                    "the partition key must be 1 to {MAX_PARTITION_KEY_CHARS} characters, not {:?}",
                    key
                ),
            ));
        }
        let size = delivery.payload.len() + key.len();
        if size > MAX_RECORD_BYTES {
            return Err(too_large("the Kinesis record", size, MAX_RECORD_BYTES));
        }
        PutRecordsRequestEntry::builder()
            .data(Blob::new(delivery.payload.as_bytes()))
            .partition_key(key)
            .build()
            .map_err(|e| DeliveryError::client("InvalidParameterValue", e.to_string()))
    }

    async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); deliveries.len()];
        let mut entries = Vec::with_capacity(deliveries.len());
        let mut positions = Vec::with_capacity(deliveries.len());
        for (i, delivery) in deliveries.iter().enumerate() {
            match Stream::entry(delivery) {
                Ok(entry) => {
                    entries.push(entry);
                    positions.push(i);
                }
                Err(e) => results[i] = Err(e),
            }
        }
        if entries.is_empty() {
            return results;
        }
        let sent = self
            .client
            .put_records()
            .stream_arn(&self.arn)
            .set_records(Some(entries))
            .send()
            .await;
        match sent {
            Err(e) => {
                let error = from_sdk(e);
                for &i in &positions {
                    results[i] = Err(error.clone());
                }
            }
            Ok(output) => {
                // Results come back in request order.
                for (record, &i) in output.records().iter().zip(&positions) {
                    if let Some(code) = record.error_code() {
                        let kind = match classify_code(Some(code), 400) {
                            sluice_router::FailureKind::ClientError => {
                                sluice_router::FailureKind::ServerError
                            }
                            kind => kind,
                        };
                        results[i] = Err(DeliveryError::new(
                            kind,
                            code,
                            record.error_message().unwrap_or_default(),
                        ));
                    }
                }
            }
        }
        results
    }
}

impl KinesisStream {
    pub(crate) fn new(client: Client, arn: &Arn) -> KinesisStream {
        let stream = Arc::new(Stream {
            client,
            arn: arn.to_string(),
        });
        let send: SendBatch = Arc::new(move |deliveries| {
            let stream = stream.clone();
            Box::pin(async move { stream.send(deliveries).await })
        });
        KinesisStream {
            batcher: Batcher::new(send, MAX_BATCH_RECORDS, MAX_BATCH_BYTES),
        }
    }
}

impl Deliver for KinesisStream {
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        self.batcher.submit(delivery)
    }
}
