//! Per-event completion under injected faults, on tokio's paused clock:
//! the outcome of an event arrives only once its last delivery is final,
//! and a delivery resumed from a stored state keeps its attempt count,
//! its backoff and its age limit.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::atomic::Ordering::SeqCst;
use std::task::Poll;
use std::time::Duration;

use sluice_router::{
    Completion, DeliveryError, DeliveryKey, DeliveryResult, DeliveryState, EventOutcome,
    RouteOptions, Router, RouterSettings,
};

mod common;
use common::{
    Behaviour, Fakes, arn, attributes, down_with_dead_letters_and_up, event, router, router_with,
    settings,
};

const RULE_ARN: &str = "arn:aws:events:us-east-1:123456789012:rule/all";

fn unavailable() -> Behaviour {
    Behaviour::Fail(DeliveryError::server("ServiceUnavailable", "503"))
}

/// One rule sending every test event to `target`, with a retry policy and
/// a dead-letter queue `dlq`.
fn rules(target: &str, retry_policy: &str) -> String {
    format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "t", "Arn": "{}", "RetryPolicy": {retry_policy},
              "DeadLetterConfig": {{"Arn": "{}"}}}}]}}]"#,
        arn(target),
        arn("dlq")
    )
}

/// Steps the paused clock by `step` until `outcome` resolves, calling
/// `while_pending` after every step it has not.
async fn wait_stepping(
    outcome: impl Future<Output = EventOutcome>,
    step: Duration,
    mut while_pending: impl FnMut(),
) -> EventOutcome {
    let mut outcome = pin!(outcome);
    loop {
        let polled = std::future::poll_fn(|cx| Poll::Ready(outcome.as_mut().poll(cx))).await;
        if let Poll::Ready(outcome) = polled {
            return outcome;
        }
        while_pending();
        tokio::time::sleep(step).await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_outcome_arrives_only_after_the_last_retry() {
    let fakes = Fakes::default();
    fakes.add(&arn("down"), |_| unavailable());
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    let router = router(&fakes, &rules("down", r#"{"MaximumRetryAttempts": 3}"#));
    let completion = router
        .route_tracked("default", event(1).as_bytes(), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(completion.event_id(), Some("e1"));
    let down = fakes.get(&arn("down"));
    let dlq = fakes.get(&arn("dlq"));
    let mut seen_pending_at = Vec::new();
    let outcome = wait_stepping(completion.wait(), Duration::from_millis(100), || {
        // Until the outcome arrives, nothing was dead-lettered.
        assert!(dlq.received.lock().unwrap().is_empty());
        seen_pending_at.push(down.calls.load(SeqCst));
    })
    .await;
    // Pending through the first attempt and each retry but the last.
    for calls in 1..=3 {
        assert!(seen_pending_at.contains(&calls), "{seen_pending_at:?}");
    }
    assert_eq!(down.calls.load(SeqCst), 4);
    assert_eq!(outcome.event_id.as_deref(), Some("e1"));
    let [delivery] = outcome.deliveries.as_slice() else {
        panic!("{outcome:?}");
    };
    assert_eq!(delivery.key, DeliveryKey::new(RULE_ARN, "t"));
    assert_eq!(
        delivery.result,
        DeliveryResult::DeadLettered {
            error_code: "ServiceUnavailable".into(),
            error_message: "503".into(),
            exhausted_retry_condition: Some("MaximumRetryAttempts"),
        }
    );
    assert_eq!(delivery.state.attempts, 4);
    assert!(delivery.state.first_attempt_ms.is_some());
    assert_eq!(dlq.received.lock().unwrap().len(), 1);
    // A tracked failure goes to its outcome, not to the failure list.
    assert!(router.take_failures().is_empty());
}

#[tokio::test(start_paused = true)]
async fn each_delivery_reports_its_own_outcome_and_attempts() {
    let fakes = Fakes::default();
    fakes.add(&arn("flaky"), |n| {
        if n <= 2 {
            unavailable()
        } else {
            Behaviour::Accept
        }
    });
    fakes.add(&arn("refuses"), |_| {
        Behaviour::Fail(DeliveryError::client("AccessDenied", "no"))
    });
    let text = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "flaky", "Arn": "{}"}}, {{"Id": "refuses", "Arn": "{}"}}]}}]"#,
        arn("flaky"),
        arn("refuses")
    );
    let router = router(&fakes, &text);
    let completion = router
        .route_tracked("default", event(2).as_bytes(), &RouteOptions::default())
        .await
        .unwrap();
    assert_eq!(completion.len(), 2);
    let outcome = wait_stepping(completion.wait(), Duration::from_millis(100), || {}).await;
    let flaky = &outcome.deliveries[0];
    assert_eq!(flaky.key.target_id, "flaky");
    assert_eq!(flaky.result, DeliveryResult::Delivered);
    assert_eq!(flaky.state.attempts, 3);
    let refuses = &outcome.deliveries[1];
    assert_eq!(refuses.state.attempts, 1);
    match &refuses.result {
        DeliveryResult::Failed(record) => {
            assert_eq!(record.error_code, "AccessDenied");
            assert_eq!(record.retry_attempts, 0);
            assert_eq!(&*record.event, event(2));
        }
        other => panic!("{other:?}"),
    }
    // An event that matches nothing completes at once, with its id.
    let unmatched = router
        .route_tracked(
            "default",
            br#"{"id": "x", "source": "other"}"#,
            &RouteOptions::default(),
        )
        .await
        .unwrap();
    assert!(unmatched.is_empty());
    let outcome = unmatched.wait().await;
    assert_eq!(
        (outcome.event_id.as_deref(), outcome.deliveries.len()),
        (Some("x"), 0)
    );
}

/// Runs event 3 on a fresh router until `calls` attempts were made, then
/// interrupts it, as a stopping service would, and returns the stored
/// states of its unfinished deliveries (through JSON, as a store would
/// keep them) with the event's ingestion time.
async fn interrupted_after(
    fakes: &Fakes,
    text: &str,
    settings: RouterSettings,
    calls: usize,
) -> (HashMap<DeliveryKey, DeliveryState>, u64) {
    let first = router_with(fakes, text, settings);
    let completion = first
        .route_tracked("default", event(3).as_bytes(), &RouteOptions::default())
        .await
        .unwrap();
    let down = fakes.get(&arn("down"));
    while down.calls.load(SeqCst) < calls {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let key = DeliveryKey::new(RULE_ARN, "t");
    let live = completion.states().into_iter().find(|(k, _)| *k == key);
    assert_eq!(live.map(|(_, s)| s.attempts as usize), Some(calls));
    first.interrupt();
    let outcome = completion.wait().await;
    assert!(
        outcome
            .deliveries
            .iter()
            .any(|d| d.key == key && d.is_interrupted())
    );
    let states = outcome.resumable();
    let stored = serde_json::to_string(&states.iter().collect::<Vec<_>>()).unwrap();
    let restored: Vec<(DeliveryKey, DeliveryState)> = serde_json::from_str(&stored).unwrap();
    let ingested_ms = restored[0].1.ingested_ms;
    (restored.into_iter().collect(), ingested_ms)
}

/// Routes event 3 again on `router`, resuming the deliveries of `states`.
async fn resumed(
    router: &Router,
    states: HashMap<DeliveryKey, DeliveryState>,
    ingested_ms: u64,
) -> Completion {
    let options = RouteOptions {
        ingested_ms: Some(ingested_ms),
        resume: Some(states),
    };
    router
        .route_tracked("default", event(3).as_bytes(), &options)
        .await
        .unwrap()
}

/// [`resumed`], waited out.
async fn resume(
    router: &Router,
    states: HashMap<DeliveryKey, DeliveryState>,
    ingested_ms: u64,
) -> EventOutcome {
    let completion = resumed(router, states, ingested_ms).await;
    wait_stepping(completion.wait(), Duration::from_millis(100), || {}).await
}

#[tokio::test(start_paused = true)]
async fn a_resumed_delivery_continues_its_attempt_count() {
    let fakes = Fakes::default();
    fakes.add(&arn("down"), |_| unavailable());
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    let text = rules("down", r#"{"MaximumRetryAttempts": 5}"#);
    let settings = settings();
    let (states, ingested_ms) = interrupted_after(&fakes, &text, settings, 3).await;
    let stored = states[&DeliveryKey::new(RULE_ARN, "t")];
    assert_eq!(stored.attempts, 3);
    let due = stored.next_attempt_ms.expect("a retry was scheduled");

    // A new router, as after a restart: the stored backoff is waited out
    // before the next attempt, then retries go on from the fourth attempt.
    let second = router_with(&fakes, &text, settings);
    let down = fakes.get(&arn("down"));
    let completion = resumed(&second, states, ingested_ms).await;
    let clock = settings.clock;
    let outcome = wait_stepping(completion.wait(), Duration::from_millis(10), || {
        if clock.now_ms() < due {
            assert_eq!(
                down.calls.load(SeqCst),
                3,
                "attempted before the stored due time"
            );
        }
    })
    .await;
    // 1 + 5 retries in all, across both routers: the count went on.
    assert_eq!(down.calls.load(SeqCst), 6);
    assert_eq!(outcome.deliveries[0].state.attempts, 6);
    let dlq = fakes.get(&arn("dlq"));
    let received = dlq.received.lock().unwrap();
    let attrs = attributes(&received[0]);
    assert_eq!(attrs["RETRY_ATTEMPTS"], "5");
    assert_eq!(attrs["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
}

#[tokio::test(start_paused = true)]
async fn a_resumed_delivery_keeps_its_age_limit() {
    let fakes = Fakes::default();
    fakes.add(&arn("down"), |_| unavailable());
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    let text = rules("down", r#"{"MaximumEventAgeInSeconds": 60}"#);
    let settings = settings();
    let clock = settings.clock;
    let (states, ingested_ms) = interrupted_after(&fakes, &text, settings, 3).await;
    let before_restart = fakes.get(&arn("down")).calls.load(SeqCst);

    let second = router_with(&fakes, &text, settings);
    let outcome = resume(&second, states, ingested_ms).await;
    // The age counts from the first ingestion, not from the restart: the
    // delivery ends within 60 s of it.
    assert!(clock.now_ms() <= ingested_ms + 60_000 + 100);
    assert!(fakes.get(&arn("down")).calls.load(SeqCst) > before_restart);
    match &outcome.deliveries[0].result {
        DeliveryResult::DeadLettered {
            exhausted_retry_condition,
            ..
        } => assert_eq!(*exhausted_retry_condition, Some("MaximumEventAgeInSeconds")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_delivery_resumed_past_its_age_is_dead_lettered_without_an_attempt() {
    let fakes = Fakes::default();
    fakes.add(&arn("down"), |_| unavailable());
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    let text = rules("down", r#"{"MaximumEventAgeInSeconds": 60}"#);
    let settings = settings();
    let (states, ingested_ms) = interrupted_after(&fakes, &text, settings, 2).await;
    // The service was down for longer than the event may live.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let second = router_with(&fakes, &text, settings);
    let outcome = resume(&second, states, ingested_ms).await;
    assert_eq!(fakes.get(&arn("down")).calls.load(SeqCst), 2);
    assert_eq!(outcome.deliveries[0].state.attempts, 2);
    let dlq = fakes.get(&arn("dlq"));
    let received = dlq.received.lock().unwrap();
    let attrs = attributes(&received[0]);
    assert_eq!(
        attrs["EXHAUSTED_RETRY_CONDITION"],
        "MaximumEventAgeInSeconds"
    );
    assert_eq!(attrs["RETRY_ATTEMPTS"], "1");
}

#[tokio::test(start_paused = true)]
async fn only_the_named_deliveries_are_resumed() {
    let fakes = Fakes::default();
    fakes.add(&arn("down"), |_| unavailable());
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    fakes.add(&arn("up"), |_| Behaviour::Accept);
    let text = down_with_dead_letters_and_up("t");
    let settings = settings();
    let (states, ingested_ms) = interrupted_after(&fakes, &text, settings, 2).await;
    assert_eq!(states.len(), 1, "the delivered target is final");
    assert_eq!(fakes.get(&arn("up")).received.lock().unwrap().len(), 1);
    let second = router_with(&fakes, &text, settings);
    // Interrupt the resumed run too, so it ends without waiting out 185
    // retries.
    let completion = resumed(&second, states, ingested_ms).await;
    assert_eq!(completion.len(), 1);
    tokio::time::sleep(Duration::from_secs(30)).await;
    second.interrupt();
    let outcome = completion.wait().await;
    assert_eq!(outcome.deliveries.len(), 1);
    assert!(outcome.deliveries[0].state.attempts > 2);
    assert_eq!(fakes.get(&arn("up")).received.lock().unwrap().len(), 1);
}
