//! Kinesis streams: PutRecords with the partition key from
//! `KinesisParameters.PartitionKeyPath` (the event id by default).

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use sluice_router::arn::Arn;
use sluice_router::{Delivery, DeliveryError};

use crate::batch::{Batched, SendBatch, entries, fail_entry, fail_sent};
use crate::error::{from_sdk, too_large};

/// Records in one PutRecords call.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Largest PutRecords request.
pub const MAX_BATCH_BYTES: usize = 5 * 1_048_576;
/// Largest record: data plus partition key.
pub const MAX_RECORD_BYTES: usize = 1_048_576;
/// Longest partition key, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

/// Delivers to one Kinesis stream.
pub(crate) type KinesisStream = Batched<Stream>;

/// PutRecords to one stream.
pub(crate) struct Stream {
    client: Client,
    arn: String,
}

impl Stream {
    pub(crate) fn new(client: Client, arn: &Arn) -> Stream {
        Stream {
            client,
            arn: arn.to_string(),
        }
    }

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
}

impl SendBatch for Stream {
    const MAX_ENTRIES: usize = MAX_BATCH_RECORDS;
    const MAX_BYTES: usize = MAX_BATCH_BYTES;

    async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
        let mut results: Vec<Result<(), DeliveryError>> = vec![Ok(()); deliveries.len()];
        let built = entries(&deliveries, &mut results, |_, d| Stream::entry(d));
        if built.entries.is_empty() {
            return results;
        }
        let sent = self
            .client
            .put_records()
            .stream_arn(&self.arn)
            .set_records(Some(built.entries))
            .send()
            .await;
        match sent {
            Err(e) => fail_sent(&mut results, &built.positions, from_sdk(e)),
            Ok(output) => {
                // Records come back in request order. A failed record is
                // throughput exceeded or an internal failure: never the
                // sender's fault, so always retried.
                for (record, &position) in output.records().iter().zip(&built.positions) {
                    if let Some(code) = record.error_code() {
                        fail_entry(&mut results, position, code, false, record.error_message());
                    }
                }
            }
        }
        results
    }
}
