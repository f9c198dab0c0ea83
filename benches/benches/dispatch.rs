//! Dispatch overhead: deliveries per second through the router's full path
//! (match, plan, per-target stack with concurrency limit, retry policy and
//! timeout) to in-process targets that accept at once. Every rule matches
//! every event, and each rule has five targets. The baseline spawns one bare
//! task per delivery that calls the same target.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice_router::load::parse_rules;
use sluice_router::model::Environment;
use sluice_router::table::RuleTable;
use sluice_router::{Deliver, Delivery, Router, RouterSettings};

mod accepting;
use accepting::{Accept, AcceptAll};

const TARGETS_PER_RULE: usize = 5;
/// Deliveries per timed iteration.
const DELIVERIES: usize = 50_000;

fn rules_text(rules: usize) -> String {
    let targets: Vec<String> = (0..TARGETS_PER_RULE)
        .map(|t| format!(r#"{{"Id": "t{t}", "Arn": "arn:aws:sqs:us-east-1:123456789012:q{t}"}}"#))
        .collect();
    let rules: Vec<String> = (0..rules)
        .map(|r| {
            format!(
                r#"{{"Name": "r{r}", "EventPattern": {{"source": ["bench"]}}, "Targets": [{}]}}"#,
                targets.join(",")
            )
        })
        .collect();
    format!("[{}]", rules.join(","))
}

fn events(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            format!(
                r#"{{"version":"0","id":"e{i}","detail-type":"Bench","source":"bench","account":"123456789012","time":"2026-11-25T10:00:00Z","region":"us-east-1","resources":[],"detail":{{"n":{i}}}}}"#
            )
            .into_bytes()
        })
        .collect()
}

/// Routes `events` from two tasks (one per core) and waits for every delivery.
async fn route_all(router: &Router, events: &Arc<Vec<Vec<u8>>>) {
    let half = events.len() / 2;
    let mut tasks = Vec::new();
    for range in [0..half, half..events.len()] {
        let router = router.clone();
        let events = events.clone();
        tasks.push(tokio::spawn(async move {
            for event in &events[range] {
                router
                    .route("default", event)
                    .await
                    .expect("bench events are valid");
            }
        }));
    }
    for task in tasks {
        task.await.expect("routing task");
    }
    router.drain().await;
}

/// The baseline: the same number of deliveries, each a bare task calling the
/// target once (no matching, no shaping, no stack, no accounting).
async fn bare_spawns(target: &Arc<Accept>, deliveries: usize) {
    let mut tasks = Vec::with_capacity(deliveries);
    for i in 0..deliveries {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            target
                .deliver(Delivery::new("{}", Some(format!("e{i}").into())))
                .await
        }));
    }
    for task in tasks {
        task.await.expect("bare task").expect("accepted");
    }
}

fn dispatch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("dispatch");
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(10);
    let target = Arc::new(Accept);
    group.throughput(Throughput::Elements(DELIVERIES as u64));
    group.bench_function("baseline-bare-spawn", |b| {
        b.iter(|| runtime.block_on(bare_spawns(&target, DELIVERIES)));
    });
    for rules in [1usize, 5, 100] {
        let loaded = parse_rules(
            "bench",
            &rules_text(rules),
            &Default::default(),
            &Environment::default(),
        )
        .expect("bench rules load");
        let router = Router::new(
            RuleTable::new(loaded).expect("bench rules compile"),
            Arc::new(AcceptAll),
            RouterSettings::default(),
        )
        .expect("bench targets connect");
        let per_event = rules * TARGETS_PER_RULE;
        let events = Arc::new(events(DELIVERIES / per_event));
        let deliveries = events.len() * per_event;

        // Check the expected counts before timing anything.
        runtime.block_on(route_all(&router, &events));
        let delivered: u64 = router
            .metrics()
            .snapshot()
            .values()
            .flat_map(|r| r.targets.values())
            .map(|t| t.delivered)
            .sum();
        assert_eq!(delivered, deliveries as u64, "every delivery arrives");

        group.throughput(Throughput::Elements(deliveries as u64));
        group.bench_function(format!("{rules}x{TARGETS_PER_RULE}"), |b| {
            b.iter(|| runtime.block_on(route_all(&router, &events)));
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch);
criterion_main!(benches);
