//! Gathering single deliveries into the batch calls of SQS, SNS and
//! Kinesis. Each delivery still gets its own answer: when a batch partly
//! fails, only the failed entries come back as errors, so the router's
//! retry policy resends those entries and no others.

use std::sync::{Arc, Mutex};

use sluice_router::{BoxFuture, Delivery, DeliveryError};
use tokio::sync::{mpsc, oneshot};

/// Sends one batch; returns one result per delivery, in order.
pub(crate) type SendBatch =
    Arc<dyn Fn(Vec<Delivery>) -> BoxFuture<Vec<Result<(), DeliveryError>>> + Send + Sync>;

struct Pending {
    delivery: Delivery,
    reply: oneshot::Sender<Result<(), DeliveryError>>,
}

/// Batches deliveries for one target.
pub(crate) struct Batcher {
    sender: Mutex<Option<mpsc::Sender<Pending>>>,
    send: SendBatch,
    max_entries: usize,
    max_bytes: usize,
}

#[cfg(any(feature = "sns", feature = "sqs"))]
/// Builds one request entry per delivery (entry ids are the deliveries'
/// positions); a delivery whose entry cannot be built gets its error in
/// `results`.
pub(crate) fn entries<E>(
    deliveries: &[Delivery],
    results: &mut [Result<(), DeliveryError>],
    mut entry: impl FnMut(usize, &Delivery) -> Result<E, DeliveryError>,
) -> Vec<E> {
    let mut built = Vec::with_capacity(deliveries.len());
    for (i, delivery) in deliveries.iter().enumerate() {
        match entry(i, delivery) {
            Ok(e) => built.push(e),
            Err(e) => results[i] = Err(e),
        }
    }
    built
}

#[cfg(any(feature = "sns", feature = "sqs"))]
/// A failed batch call fails every delivery still pending.
pub(crate) fn fail_pending(results: &mut [Result<(), DeliveryError>], error: DeliveryError) {
    for result in results.iter_mut().filter(|r| r.is_ok()) {
        *result = Err(error.clone());
    }
}

#[cfg(any(feature = "sns", feature = "sqs"))]
/// The failed entries `(id, code, sender fault, message)` of an SQS or SNS
/// batch call fail their deliveries; an entry that was not the sender's
/// fault is retryable (a server-side failure).
pub(crate) fn fail_entries<'a>(
    results: &mut [Result<(), DeliveryError>],
    failed: impl IntoIterator<Item = (&'a str, &'a str, bool, Option<&'a str>)>,
) {
    for (id, code, sender_fault, message) in failed {
        let Ok(index) = id.parse::<usize>() else {
            continue;
        };
        let kind = match crate::error::classify_code(Some(code), 400) {
            sluice_router::FailureKind::ClientError if !sender_fault => {
                sluice_router::FailureKind::ServerError
            }
            kind => kind,
        };
        if let Some(slot) = results.get_mut(index) {
            *slot = Err(DeliveryError::new(kind, code, message.unwrap_or_default()));
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

impl Batcher {
    pub(crate) fn new(send: SendBatch, max_entries: usize, max_bytes: usize) -> Batcher {
        Batcher {
            sender: Mutex::new(None),
            send,
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    /// Queues one delivery; resolves with that delivery's own result.
    pub(crate) fn submit(&self, delivery: Delivery) -> BoxFuture<Result<(), DeliveryError>> {
        let sender = {
            let mut slot = self.sender.lock().unwrap_or_else(|e| e.into_inner());
            match slot.as_ref() {
                Some(sender) if !sender.is_closed() => sender.clone(),
                _ => {
                    let (sender, receiver) = mpsc::channel(self.max_entries * 64);
                    tokio::spawn(run(
                        receiver,
                        self.send.clone(),
                        self.max_entries,
                        self.max_bytes,
                    ));
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
async fn run(
    mut receiver: mpsc::Receiver<Pending>,
    send: SendBatch,
    max_entries: usize,
    max_bytes: usize,
) {
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
            if bytes + next_size > max_bytes {
                carried = Some(next);
                break;
            }
            bytes += next_size;
            batch.push(next);
        }
        let send = send.clone();
        tokio::spawn(async move {
            let (deliveries, replies): (Vec<Delivery>, Vec<_>) =
                batch.into_iter().map(|p| (p.delivery, p.reply)).unzip();
            let count = deliveries.len();
            let mut results = send(deliveries).await;
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

    #[tokio::test]
    async fn partial_failures_reach_only_their_own_deliveries() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let send: SendBatch = Arc::new(move |deliveries: Vec<Delivery>| {
            counted.fetch_add(1, SeqCst);
            Box::pin(async move {
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
            })
        });
        let batcher = Arc::new(Batcher::new(send, 10, 1 << 20));
        let futures: Vec<_> = (0..25)
            .map(|i| batcher.submit(Delivery::new(format!("p{i}"), Some(format!("e{i}").into()))))
            .collect();
        let mut failed = Vec::new();
        for (i, future) in futures.into_iter().enumerate() {
            if future.await.is_err() {
                failed.push(i);
            }
        }
        assert_eq!(failed, [3, 13, 23]);
        assert!(batches.load(SeqCst) >= 3);
    }

    #[tokio::test]
    async fn batches_respect_the_byte_limit() {
        let largest = Arc::new(AtomicUsize::new(0));
        let seen = largest.clone();
        let send: SendBatch = Arc::new(move |deliveries: Vec<Delivery>| {
            let bytes: usize = deliveries.iter().map(size).sum();
            seen.fetch_max(bytes, SeqCst);
            Box::pin(async move { deliveries.iter().map(|_| Ok(())).collect() })
        });
        let batcher = Batcher::new(send, 10, 250);
        let futures: Vec<_> = (0..20)
            .map(|i| batcher.submit(Delivery::new("x".repeat(100), Some(format!("e{i}").into()))))
            .collect();
        for future in futures {
            future.await.unwrap();
        }
        assert!(largest.load(SeqCst) <= 250);
    }
}
