//! Gathering single deliveries into the batch calls of Kinesis, SQS, SNS
//! and CloudWatch Logs: each service's call implements [`SendBatch`] with
//! its limits, and [`Batched`] turns it into a [`Deliver`]. Each delivery
//! still gets its own answer: when a batch partly
//! fails, only the failed entries come back as errors, so the router's
//! retry policy resends those entries and no others.

use std::future::Future;
use std::sync::{Arc, Mutex};

use sluice_router::{BoxFuture, Deliver, Delivery, DeliveryError};
use tokio::sync::{mpsc, oneshot};

/// A service call that takes many deliveries at once, with its limits:
/// PutRecords, SendMessageBatch, PublishBatch, PutLogEvents.
pub(crate) trait SendBatch: Send + Sync + 'static {
    /// Most deliveries in one call.
    const MAX_ENTRIES: usize;
    /// Most bytes in one call (payloads, partition keys and attributes).
    const MAX_BYTES: usize;

    /// Sends one batch; one result per delivery, in order.
    fn send(
        &self,
        deliveries: Vec<Delivery>,
    ) -> impl Future<Output = Vec<Result<(), DeliveryError>>> + Send;
}

struct Pending {
    delivery: Delivery,
    reply: oneshot::Sender<Result<(), DeliveryError>>,
}

/// A [`Deliver`] that gathers the deliveries arriving together into calls
/// of `S`, within its limits, and answers each delivery with its own
/// entry's result.
pub(crate) struct Batched<S> {
    sender: Mutex<Option<mpsc::Sender<Pending>>>,
    call: Arc<S>,
}

#[cfg(any(feature = "kinesis", feature = "sns", feature = "sqs"))]
/// The request entries built from a batch's deliveries, with the position
/// of each entry's delivery; a delivery whose entry cannot be built has
/// its error in the results instead.
pub(crate) struct Entries<E> {
    pub(crate) entries: Vec<E>,
    pub(crate) positions: Vec<usize>,
}

#[cfg(any(feature = "kinesis", feature = "sns", feature = "sqs"))]
/// Builds one request entry per delivery with `entry` (given the
/// delivery's position, which SQS and SNS use as the entry id).
pub(crate) fn entries<E>(
    deliveries: &[Delivery],
    results: &mut [Result<(), DeliveryError>],
    mut entry: impl FnMut(usize, &Delivery) -> Result<E, DeliveryError>,
) -> Entries<E> {
    let mut built = Entries {
        entries: Vec::with_capacity(deliveries.len()),
        positions: Vec::with_capacity(deliveries.len()),
    };
    for (i, delivery) in deliveries.iter().enumerate() {
        match entry(i, delivery) {
            Ok(e) => {
                built.entries.push(e);
                built.positions.push(i);
            }
            Err(e) => results[i] = Err(e),
        }
    }
    built
}

#[cfg(any(feature = "kinesis", feature = "sns", feature = "sqs"))]
/// A failed batch call fails every delivery that was sent in it.
pub(crate) fn fail_sent(
    results: &mut [Result<(), DeliveryError>],
    positions: &[usize],
    error: DeliveryError,
) {
    for &i in positions {
        results[i] = Err(error.clone());
    }
}

#[cfg(any(feature = "kinesis", feature = "sns", feature = "sqs"))]
/// One failed entry of a batch call fails its delivery. An entry that was
/// not the sender's fault is a server-side failure, and so retried, even
/// under a code that would otherwise read as a client error.
pub(crate) fn fail_entry(
    results: &mut [Result<(), DeliveryError>],
    position: usize,
    code: &str,
    sender_fault: bool,
    message: Option<&str>,
) {
    use sluice_router::FailureKind;
    let kind = match crate::error::classify_code(Some(code), 400) {
        FailureKind::ClientError if !sender_fault => FailureKind::ServerError,
        kind => kind,
    };
    if let Some(slot) = results.get_mut(position) {
        *slot = Err(DeliveryError::new(kind, code, message.unwrap_or_default()));
    }
}

#[cfg(any(feature = "sns", feature = "sqs"))]
/// The failed entries `(id, code, sender fault, message)` of an SQS or SNS
/// batch call fail their deliveries; the entry ids are the deliveries'
/// positions.
pub(crate) fn fail_entries_by_id<'a>(
    results: &mut [Result<(), DeliveryError>],
    failed: impl IntoIterator<Item = (&'a str, &'a str, bool, Option<&'a str>)>,
) {
    for (id, code, sender_fault, message) in failed {
        if let Ok(position) = id.parse() {
            fail_entry(results, position, code, sender_fault, message);
        }
    }
}

/// Bytes a delivery adds to a batch request.
fn size(delivery: &Delivery) -> usize {
    delivery.payload.len()
        + delivery.parameters.partition_key().map_or(0, str::len)
        + delivery
            .attributes
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
}

impl<S: SendBatch> Batched<S> {
    pub(crate) fn new(call: S) -> Batched<S> {
        Batched {
            sender: Mutex::new(None),
            call: Arc::new(call),
        }
    }
}

impl<S: SendBatch> Deliver for Batched<S> {
    /// Queues one delivery; resolves with that delivery's own result.
    fn deliver(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let sender = {
            let mut slot = self.sender.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_ref() {
                Some(sender) if !sender.is_closed() => sender.clone(),
                _ => {
                    let (sender, receiver) = mpsc::channel(S::MAX_ENTRIES.max(1) * 64);
                    tokio::spawn(run(receiver, self.call.clone()));
                    *slot = Some(sender.clone());
                    sender
                }
            }
        };
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            if sender.send(Pending { delivery, reply }).await.is_err() {
                return Err(DeliveryError::server(
                    "InternalFailure",
                    "the batch sender stopped",
                ));
            }
            answer.await.unwrap_or_else(|_| {
                Err(DeliveryError::server(
                    "InternalFailure",
                    "the batch was dropped",
                ))
            })
        })
    }
}

/// Takes whatever is queued (up to the limits) as one batch, sends it on
/// its own task, and goes on with the next.
async fn run<S: SendBatch>(mut receiver: mpsc::Receiver<Pending>, call: Arc<S>) {
    let max_entries = S::MAX_ENTRIES.max(1);
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(pending) => pending,
            None => match receiver.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        let mut bytes = size(&first.delivery);
        let mut batch = vec![first];
        while batch.len() < max_entries {
            let Ok(next) = receiver.try_recv() else {
                break;
            };
            let next_size = size(&next.delivery);
            if bytes + next_size > S::MAX_BYTES {
                carried = Some(next);
                break;
            }
            bytes += next_size;
            batch.push(next);
        }
        let call = call.clone();
        tokio::spawn(async move {
            let (deliveries, replies): (Vec<Delivery>, Vec<_>) =
                batch.into_iter().map(|p| (p.delivery, p.reply)).unzip();
            let count = deliveries.len();
            let mut results = call.send(deliveries).await;
            results.resize_with(count, || {
                Err(DeliveryError::server(
                    "InternalFailure",
                    "no result for this entry",
                ))
            });
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    /// Throttles every delivery whose payload ends in 3; counts calls.
    #[derive(Default)]
    struct ThrottlesThrees {
        calls: AtomicUsize,
    }

    impl SendBatch for ThrottlesThrees {
        const MAX_ENTRIES: usize = 10;
        const MAX_BYTES: usize = 1 << 20;

        async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
            self.calls.fetch_add(1, SeqCst);
            deliveries
                .iter()
                .map(|d| {
                    if d.payload.ends_with('3') {
                        Err(DeliveryError::throttled("entry throttled"))
                    } else {
                        Ok(())
                    }
                })
                .collect()
        }
    }

    #[tokio::test]
    async fn partial_failures_reach_only_their_own_deliveries() {
        let batched = Batched::new(ThrottlesThrees::default());
        let futures: Vec<_> = (0..25)
            .map(|i| batched.deliver(Delivery::new(format!("p{i}"), Some(format!("e{i}").into()))))
            .collect();
        let mut failed = Vec::new();
        for (i, future) in futures.into_iter().enumerate() {
            if future.await.is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, [3, 13, 23]);
        assert!(batched.call.calls.load(SeqCst) >= 3);
    }

    /// Accepts everything; records the largest batch in bytes.
    #[derive(Default)]
    struct Small {
        largest: AtomicUsize,
    }

    impl SendBatch for Small {
        const MAX_ENTRIES: usize = 10;
        const MAX_BYTES: usize = 250;

        async fn send(&self, deliveries: Vec<Delivery>) -> Vec<Result<(), DeliveryError>> {
            let bytes: usize = deliveries.iter().map(size).sum();
            self.largest.fetch_max(bytes, SeqCst);
            deliveries.iter().map(|_| Ok(())).collect()
        }
    }

    #[tokio::test]
    async fn batches_respect_the_byte_limit() {
        let batched = Batched::new(Small::default());
        let futures: Vec<_> = (0..20)
            .map(|i| batched.deliver(Delivery::new("x".repeat(100), Some(format!("e{i}").into()))))
            .collect();
        for future in futures {
            future.await.unwrap();
        }
        let largest = batched.call.largest.load(SeqCst);
        assert!((100..=250).contains(&largest), "{largest}");
    }

    #[test]
    #[cfg(any(feature = "kinesis", feature = "sns", feature = "sqs"))]
    fn an_entry_that_was_not_the_senders_fault_is_retried() {
        let mut results = vec![Ok(()); 3];
        fail_entry(&mut results, 1, "InvalidParameterValue", true, Some("bad"));
        fail_entry(&mut results, 2, "InternalError", false, None);
        fail_entry(&mut results, 9, "InternalError", false, None);
        assert!(results[0].is_ok());
        assert!(!results[1].as_ref().unwrap_err().is_retryable());
        assert!(results[2].as_ref().unwrap_err().is_retryable());
    }
}
