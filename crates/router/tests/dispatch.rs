//! Delivery under injected faults, with in-process fake targets. Time is
//! paused (tokio's test clock), so retries with real backoff run instantly.

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use sluice_router::load::parse_rules;
use sluice_router::metrics::TargetSnapshot;
use sluice_router::model::Environment;
use sluice_router::table::RuleTable;
use sluice_router::{DeliveryError, FailureKind, INTERRUPTED, Router};

mod common;
use common::{
    Behaviour, Fakes, arn, attributes, down_with_dead_letters_and_up, event, router, settings,
};

const RULE_ARN: &str = "arn:aws:events:us-east-1:123456789012:rule/all";

/// Routes test event `i` and returns how many rules it matched.
async fn rules_matched(router: &Router, i: usize) -> usize {
    router
        .route("default", event(i).as_bytes())
        .await
        .unwrap()
        .rules
}

/// The one rule of a rules file's text.
fn one_rule(text: &str) -> sluice_router::model::Rule {
    parse_rules(
        "more.json",
        text,
        &Default::default(),
        &Environment::default(),
    )
    .unwrap()
    .remove(0)
}

#[tokio::test(start_paused = true)]
async fn every_delivery_is_delivered_dead_lettered_or_recorded() {
    let fakes = Fakes::default();
    fakes.add(&arn("ok"), |_| Behaviour::Accept);
    // Two throttles per event (calls alternate between events, so throttle
    // every call whose number is not a multiple of three).
    fakes.add(&arn("flaky"), |n| {
        if n % 3 == 0 {
            Behaviour::Accept
        } else {
            Behaviour::Fail(DeliveryError::throttled("Rate exceeded"))
        }
    });
    fakes.add(&arn("broken"), |_| {
        Behaviour::Fail(DeliveryError::server("InternalFailure", "boom"))
    });
    fakes.add(&arn("slow"), |_| Behaviour::Hang(Duration::from_secs(3600)));
    fakes.add(&arn("denied"), |_| {
        Behaviour::Fail(DeliveryError::new(
            FailureKind::NoPermissions,
            "AccessDenied",
            "not allowed",
        ))
    });
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    fakes.add(&arn("bad-dlq"), |_| {
        Behaviour::Fail(DeliveryError::server("InternalFailure", "dlq down"))
    });
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "ok", "Arn": "{ok}"}},
            {{"Id": "flaky", "Arn": "{flaky}"}},
            {{"Id": "broken", "Arn": "{broken}", "RetryPolicy": {{"MaximumRetryAttempts": 3}},
              "DeadLetterConfig": {{"Arn": "{dlq}"}}}},
            {{"Id": "slow", "Arn": "{slow}", "RetryPolicy": {{"MaximumRetryAttempts": 2}}}},
            {{"Id": "denied", "Arn": "{denied}", "DeadLetterConfig": {{"Arn": "{dlq}"}}}}]}},
           {{"Name": "second", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "broken-bad-dlq", "Arn": "{broken}", "RetryPolicy": {{"MaximumRetryAttempts": 0}},
              "DeadLetterConfig": {{"Arn": "{bad_dlq}"}}}},
            {{"Id": "quoted-object", "Arn": "{ok}", "InputTransformer": {{
              "InputPathsMap": {{"d": "$.detail"}}, "InputTemplate": "{{\"x\": \"<d>\"}}"}},
              "DeadLetterConfig": {{"Arn": "{dlq}"}}}}]}}]"#,
        ok = arn("ok"),
        flaky = arn("flaky"),
        broken = arn("broken"),
        slow = arn("slow"),
        denied = arn("denied"),
        dlq = arn("dlq"),
        bad_dlq = arn("bad-dlq"),
    );
    let router = router(&fakes, &rules);
    let events = 20;
    for i in 0..events {
        let routed = router.route("default", event(i).as_bytes()).await.unwrap();
        assert_eq!((routed.rules, routed.deliveries), (2, 7));
    }
    assert!(router.route("default", b"{\"source\": ").await.is_err());
    router.drain().await;

    let metrics = router.metrics().snapshot();
    let all = &metrics[RULE_ARN];
    let second = &metrics["arn:aws:events:us-east-1:123456789012:rule/second"];
    assert_eq!(all.matched_events, events as u64);
    let target = |rule: &str, id: &str| -> TargetSnapshot { metrics[rule].targets[id].clone() };
    let mut created = 0;
    for snapshot in all.targets.values().chain(second.targets.values()) {
        assert!(snapshot.is_balanced(), "{snapshot:?}");
        assert_eq!(snapshot.invocations_created, events as u64);
        created += snapshot.invocations_created;
    }
    assert_eq!(created, 7 * events as u64);
    assert_eq!(router.metrics().invalid_events.load(SeqCst), 1);

    let ok = target(RULE_ARN, "ok");
    assert_eq!((ok.delivered, ok.invocation_attempts), (20, 20));
    let flaky = target(RULE_ARN, "flaky");
    assert_eq!(flaky.delivered, 20);
    assert_eq!(flaky.retry_invocation_attempts, 40);
    let broken = target(RULE_ARN, "broken");
    assert_eq!(broken.invocations_sent_to_dlq, 20);
    assert_eq!(broken.invocation_attempts, 20 * 4);
    let slow = target(RULE_ARN, "slow");
    assert_eq!((slow.recorded_failures, slow.invocation_attempts), (20, 60));
    // Why each delivery failed for good, by error code.
    assert_eq!(slow.failure_reasons.values().sum::<u64>(), 20);
    assert!(ok.failure_reasons.is_empty());
    let denied = target(RULE_ARN, "denied");
    assert_eq!(
        (denied.invocations_sent_to_dlq, denied.invocation_attempts),
        (20, 20)
    );
    let bad = target(
        "arn:aws:events:us-east-1:123456789012:rule/second",
        "broken-bad-dlq",
    );
    assert_eq!(bad.invocations_failed_to_be_sent_to_dlq, 20);
    assert_eq!(bad.recorded_failures, 20);
    let quoted = target(
        "arn:aws:events:us-east-1:123456789012:rule/second",
        "quoted-object",
    );
    assert_eq!(quoted.dead_letter_invocations, 20);
    assert_eq!(quoted.invocation_attempts, 0);
    assert_eq!(quoted.invocations_sent_to_dlq, 20);
    assert_eq!(
        quoted.failure_reasons.len(),
        1,
        "{:?}",
        quoted.failure_reasons
    );

    // The dead-letter queue got EventBridge's attributes, with the event as body.
    let dlq = fakes.get(&arn("dlq"));
    let received = dlq.received.lock().unwrap();
    assert_eq!(received.len(), 60);
    let from_broken = received
        .iter()
        .find(|d| attributes(d)["TARGET_ARN"] == arn("broken"))
        .unwrap();
    let attrs = attributes(from_broken);
    assert_eq!(attrs["RULE_ARN"], RULE_ARN);
    assert_eq!(attrs["ERROR_CODE"], "InternalFailure");
    assert_eq!(attrs["ERROR_MESSAGE"], "boom");
    assert_eq!(attrs["RETRY_ATTEMPTS"], "3");
    assert_eq!(attrs["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
    assert!(from_broken.payload.starts_with(r#"{"id": "e"#));
    let from_denied = received
        .iter()
        .find(|d| attributes(d)["TARGET_ARN"] == arn("denied"))
        .unwrap();
    let attrs = attributes(from_denied);
    assert_eq!(attrs["ERROR_CODE"], "NO_PERMISSIONS");
    assert_eq!(attrs["RETRY_ATTEMPTS"], "0");
    assert!(!attrs.contains_key("EXHAUSTED_RETRY_CONDITION"));
    drop(received);

    // Recorded failures keep the event and both errors.
    let failures = router.take_failures();
    assert_eq!(failures.len(), 40);
    let timeout = failures.iter().find(|f| f.target_id == "slow").unwrap();
    assert_eq!(timeout.error_code, "TIMEOUT");
    assert_eq!(timeout.retry_attempts, 2);
    assert_eq!(
        timeout.exhausted_retry_condition,
        Some("MaximumRetryAttempts")
    );
    let bad_dlq = failures
        .iter()
        .find(|f| f.target_id == "broken-bad-dlq")
        .unwrap();
    assert!(
        bad_dlq
            .dead_letter_error
            .as_deref()
            .unwrap()
            .contains("dlq down")
    );
    assert!(router.take_failures().is_empty());
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_maximum_event_age() {
    let fakes = Fakes::default();
    fakes.add(&arn("down"), |_| {
        Behaviour::Fail(DeliveryError::server("ServiceUnavailable", "503"))
    });
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "down", "Arn": "{}", "RetryPolicy": {{"MaximumEventAgeInSeconds": 60}},
              "DeadLetterConfig": {{"Arn": "{}"}}}}]}}]"#,
        arn("down"),
        arn("dlq")
    );
    let router = router(&fakes, &rules);
    let started = tokio::time::Instant::now();
    router.route("default", event(1).as_bytes()).await.unwrap();
    router.drain().await;
    // Backoff 1 s doubling (up to twice that with jitter): the attempts fit
    // in 60 s, far fewer than 185 retries.
    assert!(started.elapsed() <= Duration::from_secs(60));
    let dlq = fakes.get(&arn("dlq"));
    let received = dlq.received.lock().unwrap();
    let attrs = attributes(&received[0]);
    assert_eq!(
        attrs["EXHAUSTED_RETRY_CONDITION"],
        "MaximumEventAgeInSeconds"
    );
    let retries: u32 = attrs["RETRY_ATTEMPTS"].parse().unwrap();
    assert!((3..=6).contains(&retries), "{retries} retries");
    assert_eq!(
        fakes.get(&arn("down")).calls.load(SeqCst),
        retries as usize + 1
    );
}

/// An interrupt ends a delivery that is still retrying: it is recorded
/// with its event and the code `interrupted`, not dead-lettered, and
/// `drain` returns without waiting out the retries.
#[tokio::test(start_paused = true)]
async fn an_interrupt_records_every_delivery_not_yet_final() {
    let fakes = Fakes::default();
    fakes.add(&arn("down"), |_| {
        Behaviour::Fail(DeliveryError::server("ServiceUnavailable", "503"))
    });
    fakes.add(&arn("up"), |_| Behaviour::Accept);
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    let rules = down_with_dead_letters_and_up("down");
    let router = router(&fakes, &rules);
    router.route("default", event(1).as_bytes()).await.unwrap();
    // Let the first attempts and a few retries happen.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let calls = fakes.get(&arn("down")).calls.load(SeqCst);
    assert!(calls >= 2, "{calls} calls");
    router.interrupt();
    router.drain().await;
    let failures = router.take_failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].target_id, "down");
    assert_eq!(failures[0].error_code, INTERRUPTED);
    assert_eq!(&*failures[0].event, event(1));
    assert!(fakes.get(&arn("dlq")).received.lock().unwrap().is_empty());
    assert_eq!(fakes.get(&arn("up")).received.lock().unwrap().len(), 1);
    assert_eq!(fakes.get(&arn("down")).calls.load(SeqCst), calls);
}

#[tokio::test(start_paused = true)]
async fn a_slow_target_does_not_hold_up_the_others() {
    let fakes = Fakes::default();
    fakes.add(&arn("stuck"), |_| Behaviour::Hang(Duration::from_secs(4)));
    fakes.add(&arn("fast"), |_| Behaviour::Accept);
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "stuck", "Arn": "{}"}}, {{"Id": "fast", "Arn": "{}"}}]}}]"#,
        arn("stuck"),
        arn("fast")
    );
    let router = router(&fakes, &rules);
    for i in 0..30 {
        router.route("default", event(i).as_bytes()).await.unwrap();
    }
    let fast = fakes.get(&arn("fast"));
    let stuck = fakes.get(&arn("stuck"));
    // Let the runtime work without moving the clock.
    for _ in 0..1000 {
        if fast.received.lock().unwrap().len() == 30 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(fast.received.lock().unwrap().len(), 30);
    assert!(stuck.received.lock().unwrap().is_empty());
    // The stuck target never has more than its concurrency limit in flight.
    assert_eq!(stuck.max_in_flight.load(SeqCst), 8);
    router.drain().await;
    assert_eq!(stuck.received.lock().unwrap().len(), 30);
    assert_eq!(stuck.max_in_flight.load(SeqCst), 8);
}

#[tokio::test(start_paused = true)]
async fn rules_change_while_events_flow() {
    let fakes = Fakes::default();
    fakes.add(&arn("q"), |_| Behaviour::Accept);
    let rules = format!(
        r#"[{{"Name": "a", "EventPattern": {{"source": ["test"]}}, "Targets": [{{"Id": "q", "Arn": "{}"}}]}}]"#,
        arn("q")
    );
    let router = router(&fakes, &rules);
    assert_eq!(rules_matched(&router, 0).await, 1);
    let extra = one_rule(&format!(
        r#"[{{"Name": "b", "EventPattern": {{"detail": {{"n": [{{"numeric": [">", 5]}}]}}}},
                 "Targets": [{{"Id": "q", "Arn": "{}", "InputPath": "$.detail.n"}}]}}]"#,
        arn("q")
    ));
    router.put_rule(extra).unwrap();
    assert_eq!(rules_matched(&router, 1).await, 1);
    assert_eq!(rules_matched(&router, 9).await, 2);
    assert!(router.remove_rule("default", "a").is_some());
    assert_eq!(rules_matched(&router, 9).await, 1);
    assert_eq!(rules_matched(&router, 0).await, 0);
    router.drain().await;
    let payloads: Vec<String> = fakes
        .get(&arn("q"))
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.payload.to_string())
        .collect();
    assert_eq!(payloads.len(), 5);
    assert_eq!(payloads.iter().filter(|p| *p == "9").count(), 2);
}

#[tokio::test(start_paused = true)]
async fn fifo_and_stream_parameters_reach_the_target() {
    let fakes = Fakes::default();
    let fifo = "arn:aws:sqs:us-east-1:123456789012:orders.fifo";
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/s";
    fakes.add(fifo, |_| Behaviour::Accept);
    fakes.add(stream, |_| Behaviour::Accept);
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}}, "Targets": [
            {{"Id": "fifo", "Arn": "{fifo}", "SqsParameters": {{"MessageGroupId": "g1"}}}},
            {{"Id": "by-id", "Arn": "{stream}"}},
            {{"Id": "by-path", "Arn": "{stream}", "KinesisParameters": {{"PartitionKeyPath": "$.detail.n"}}}}]}}]"#
    );
    let router = router(&fakes, &rules);
    router.route("default", event(7).as_bytes()).await.unwrap();
    router.drain().await;
    let fifo_got = fakes.get(fifo).received.lock().unwrap().clone();
    assert_eq!(fifo_got[0].parameters.message_group_id(), Some("g1"));
    assert_eq!(fifo_got[0].event_id.as_deref(), Some("e7"));
    let mut keys: Vec<String> = fakes
        .get(stream)
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.parameters.partition_key().unwrap().to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, ["7", "e7"]);
}

#[test]
fn unknown_targets_fail_when_the_router_is_built() {
    let fakes = Fakes::default();
    let rules = parse_rules(
        "rules.json",
        &format!(
            r#"[{{"Name": "r", "EventPattern": {{"source": ["x"]}}, "Targets": [{{"Id": "q", "Arn": "{}"}}]}}]"#,
            arn("missing")
        ),
        &Default::default(),
        &Environment::default(),
    )
    .unwrap();
    let err = Router::new(RuleTable::new(rules).unwrap(), Arc::new(fakes), settings())
        .err()
        .unwrap();
    assert!(err.to_string().contains("missing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_changes_never_pause_or_break_routing() {
    let fakes = Fakes::default();
    fakes.add(&arn("q"), |_| Behaviour::Accept);
    let rules = format!(
        r#"[{{"Name": "a", "EventPattern": {{"source": ["test"]}}, "Targets": [{{"Id": "q", "Arn": "{}"}}]}}]"#,
        arn("q")
    );
    let router = router(&fakes, &rules);
    let extra = one_rule(&format!(
        r#"[{{"Name": "b", "EventPattern": {{"source": ["test"]}}, "Targets": [{{"Id": "q", "Arn": "{}"}}]}}]"#,
        arn("q")
    ));
    let routing = {
        let router = router.clone();
        tokio::spawn(async move {
            let mut deliveries = 0;
            for i in 0..2000 {
                let routed = router.route("default", event(i).as_bytes()).await.unwrap();
                assert!(routed.rules == 1 || routed.rules == 2, "{routed:?}");
                deliveries += routed.deliveries;
            }
            deliveries
        })
    };
    for _ in 0..100 {
        router.put_rule(extra.clone()).unwrap();
        tokio::task::yield_now().await;
        assert!(router.remove_rule("default", "b").is_some());
        tokio::task::yield_now().await;
    }
    let deliveries = routing.await.unwrap();
    router.drain().await;
    assert_eq!(
        fakes.get(&arn("q")).received.lock().unwrap().len(),
        deliveries
    );
    assert!(deliveries >= 2000);
}

#[tokio::test(start_paused = true)]
async fn scheduled_rules_fire_with_the_scheduled_event_envelope() {
    let fakes = Fakes::default();
    fakes.add(&arn("ticks"), |_| Behaviour::Accept);
    let rules = format!(
        r#"[{{"Name": "every-5", "ScheduleExpression": "rate(5 minutes)", "Targets": [{{"Id": "t", "Arn": "{q}"}}]}},
            {{"Name": "on-the-10s", "ScheduleExpression": "cron(0/10 * * * ? *)", "Targets": [{{"Id": "t", "Arn": "{q}"}}]}},
            {{"Name": "off", "State": "DISABLED", "ScheduleExpression": "rate(1 minute)", "Targets": [{{"Id": "t", "Arn": "{q}"}}]}},
            {{"Name": "events-only", "EventPattern": {{"source": ["x"]}}, "Targets": [{{"Id": "t", "Arn": "{q}"}}]}}]"#,
        q = arn("ticks")
    );
    let router = router(&fakes, &rules);
    let start = sluice_router::clock::parse_rfc3339("2026-11-25T10:00:30Z").unwrap();
    let scheduler = router.start_schedules_at(start);
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    scheduler.abort();
    router.drain().await;
    let received = fakes.get(&arn("ticks")).received.lock().unwrap().clone();
    let mut fired: Vec<(String, String)> = received
        .iter()
        .map(|d| {
            let event: serde_json::Value = serde_json::from_str(&d.payload).unwrap();
            assert_eq!(event["detail-type"], "Scheduled Event");
            assert_eq!(event["source"], "aws.events");
            assert_eq!(event["account"], "123456789012");
            assert_eq!(event["region"], "us-east-1");
            assert_eq!(event["detail"], serde_json::json!({}));
            assert_eq!(event["id"].as_str().unwrap().len(), 36);
            let rule = event["resources"][0]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (rule, event["time"].as_str().unwrap().to_string())
        })
        .collect();
    fired.sort();
    let expect = |rule: &str, times: &[&str]| -> Vec<(String, String)> {
        times
            .iter()
            .map(|t| (rule.to_string(), format!("2026-11-25T{t}:00Z")))
            .collect()
    };
    let mut expected = expect(
        "every-5",
        &["10:05", "10:10", "10:15", "10:20", "10:25", "10:30"],
    );
    expected.extend(expect("on-the-10s", &["10:10", "10:20", "10:30"]));
    expected.sort();
    assert_eq!(fired, expected);
}

#[tokio::test(start_paused = true)]
async fn schedule_changes_take_effect_while_running() {
    let fakes = Fakes::default();
    fakes.add(&arn("ticks"), |_| Behaviour::Accept);
    let router = router(&fakes, "[]");
    let start = sluice_router::clock::parse_rfc3339("2026-11-25T10:00:00Z").unwrap();
    let scheduler = router.start_schedules_at(start);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let rule = one_rule(&format!(
        r#"[{{"Name": "m", "ScheduleExpression": "rate(1 minute)", "Targets": [{{"Id": "t", "Arn": "{}"}}]}}]"#,
        arn("ticks")
    ));
    router.put_rule(rule).unwrap();
    tokio::time::sleep(Duration::from_secs(3 * 60 + 30)).await;
    assert!(router.remove_rule("default", "m").is_some());
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    scheduler.abort();
    router.drain().await;
    // Added at 10:02: fires at 10:03, 10:04, 10:05; removed at 10:05:30.
    assert_eq!(fakes.get(&arn("ticks")).received.lock().unwrap().len(), 3);
}

/// The processing log of one event, followed by its id: every step from
/// receipt through each attempt to dead-lettering, with TRACE; only the
/// failures with ERROR.
#[tokio::test(start_paused = true)]
async fn the_processing_log_follows_each_event_through_every_step() {
    use sluice_router::processing_log::{LogLevel, MemorySink, ProcessingLog};
    let fakes = Fakes::default();
    fakes.add(&arn("flaky"), |n| {
        if n <= 3 {
            Behaviour::Fail(DeliveryError::server("ServiceUnavailable", "busy"))
        } else {
            Behaviour::Accept
        }
    });
    fakes.add(&arn("dlq"), |_| Behaviour::Accept);
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["test"]}},
             "Targets": [{{"Id": "flaky", "Arn": "{}", "RetryPolicy": {{"MaximumRetryAttempts": 1}},
                          "DeadLetterConfig": {{"Arn": "{}"}}}}]}}]"#,
        arn("flaky"),
        arn("dlq")
    );
    let rules = parse_rules(
        "r.json",
        &rules,
        &Default::default(),
        &Environment::default(),
    )
    .unwrap();
    let routed = |level: LogLevel| {
        let fakes = fakes.clone();
        let rules = rules.clone();
        async move {
            let sink = Arc::new(MemorySink::default());
            let log = ProcessingLog::new(level, sink.clone(), &Environment::default());
            let router = Router::with_processing_log(
                RuleTable::new(rules).unwrap(),
                Arc::new(fakes),
                settings(),
                Some(log),
            )
            .unwrap();
            // One after the other, so the target's calls fall in a known order.
            router.route("default", event(1).as_bytes()).await.unwrap();
            router.drain().await;
            router.route("default", event(2).as_bytes()).await.unwrap();
            router.drain().await;
            assert!(
                router
                    .route("default", br#"{"id": "bad", "source": "#)
                    .await
                    .is_err()
            );
            let unmatched = r#"{"id": "e3", "source": "other"}"#;
            router.route("default", unmatched.as_bytes()).await.unwrap();
            router.drain().await;
            sink.lines()
                .iter()
                .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
                .collect::<Vec<_>>()
        }
    };
    let steps = |records: &[serde_json::Value], id: &str| -> Vec<String> {
        records
            .iter()
            .filter(|r| r["event_id"] == id)
            .map(|r| r["message_type"].as_str().unwrap().to_string())
            .collect()
    };

    let trace = routed(LogLevel::Trace).await;
    // Event 1: attempts 1 and 2 fail (one retry allowed), so it is dead-lettered.
    assert_eq!(
        steps(&trace, "e1"),
        [
            "EVENT_RECEIPT",
            "RULE_MATCH",
            "INVOCATION_START",
            "INVOCATION_ATTEMPT_START",
            "INVOCATION_ATTEMPT_RETRYABLE_FAILURE",
            "INVOCATION_ATTEMPT_START",
            "INVOCATION_ATTEMPT_RETRYABLE_FAILURE",
            "INVOCATION_FAILURE",
            "INVOCATION_DLQ",
        ]
    );
    // Event 2: its first attempt is the target's third call (fails), the second succeeds.
    assert_eq!(
        steps(&trace, "e2"),
        [
            "EVENT_RECEIPT",
            "RULE_MATCH",
            "INVOCATION_START",
            "INVOCATION_ATTEMPT_START",
            "INVOCATION_ATTEMPT_RETRYABLE_FAILURE",
            "INVOCATION_ATTEMPT_START",
            "INVOCATION_ATTEMPT_SUCCESS",
            "INVOCATION_SUCCESS",
        ]
    );
    assert_eq!(steps(&trace, ""), ["EVENT_INGEST_FAILURE"]);
    assert_eq!(
        steps(&trace, "e3"),
        ["EVENT_RECEIPT", "NO_STANDARD_RULES_MATCHED"]
    );

    let e1: Vec<&serde_json::Value> = trace.iter().filter(|r| r["event_id"] == "e1").collect();
    let invocation = &e1[2]["invocation_id"];
    assert!(invocation.as_str().is_some_and(|id| id.len() == 36));
    assert!(e1[2..].iter().all(|r| &r["invocation_id"] == invocation));
    assert_eq!(e1[4]["error"]["error_code"], "ServiceUnavailable");
    assert_eq!(e1[4]["details"]["will_retry"], true);
    assert_eq!(e1[6]["details"]["will_retry"], false);
    assert_eq!(
        e1[7]["details"]["exhausted_retry_condition"],
        "MaximumRetryAttempts"
    );
    assert_eq!(e1[8]["details"]["sent"], true);
    assert_eq!(e1[8]["log_level"], "ERROR");
    assert_eq!(e1[0]["details"]["source"], "test");
    assert_eq!(e1[1]["details"]["rule_name"], "all");
    assert!(e1[5]["details"]["attempt"] == 2);

    let errors = routed(LogLevel::Error).await;
    let kinds: Vec<&str> = errors
        .iter()
        .map(|r| r["message_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "EVENT_INGEST_FAILURE")
            .count(),
        1
    );
    assert!(
        kinds.iter().all(|k| matches!(
            *k,
            "EVENT_INGEST_FAILURE" | "INVOCATION_FAILURE" | "INVOCATION_DLQ"
        )),
        "{kinds:?}"
    );
    assert!(errors.iter().all(|r| r["log_level"] == "ERROR"));
}
