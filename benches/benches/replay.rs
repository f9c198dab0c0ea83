//! Replay without delivery (`sluice replay --dry-run`) of a generated
//! archive of Image Builder events, end to end: decompression, envelope
//! reading, `replay-name` marking and matching, on every core. The archive
//! (10 M events by default; `SLUICE_REPLAY_EVENTS` changes it) is generated
//! once and kept under `target/`. Expected counts come from the generated
//! text itself and are checked before timing.
//!
//! Then a replay with delivery over the archive's first ten segments, as
//! `sluice replay` runs it: one thread merges the segments in time order
//! and marks the events, the router matches each in order and runs its
//! deliveries on the async runtime, to targets that accept at once. Its
//! per-rule counts are checked against a dry run of the same window.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice_router::archive::{Archive, ArchiveDefinition, ArchiveWriter};
use sluice_router::load::{Parameters, load_rules};
use sluice_router::model::Environment;
use sluice_router::replay::{ArchiveEvents, Window, dry_run_archive, with_replay_name};
use sluice_router::table::RuleTable;
use sluice_router::{Router, RouterSettings};

mod accepting;
use accepting::AcceptAll;

/// Events handed from the reading thread to the router at a time.
const BATCH: usize = 512;

/// Replays `window` in time order through a router with accepting
/// targets; returns (events routed, matched events per rule ARN).
fn deliver_in_order(
    archive: &Archive,
    window: Window,
    table: &RuleTable,
    runtime: &tokio::runtime::Runtime,
) -> (u64, std::collections::BTreeMap<String, u64>) {
    // Archived events were checked when archived, as `sluice replay` knows.
    let table = table
        .clone()
        .with_scan_mode(sluice_pattern::ScanMode::EarlyExit);
    let router = Router::new(table, Arc::new(AcceptAll), RouterSettings::default())
        .expect("accepting targets connect");
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            for event in ArchiveEvents::new(archive, window) {
                let event = event.expect("archive reads");
                batch.push(with_replay_name(&event.event, "bench").expect("an object"));
                if batch.len() == BATCH
                    && sender
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                        .is_err()
                {
                    return;
                }
            }
            let _ = sender.send(batch);
        });
        runtime.block_on(async {
            let mut routed = 0u64;
            while let Ok(batch) = tokio::task::block_in_place(|| receiver.recv()) {
                for event in batch {
                    router
                        .route("default", &event)
                        .await
                        .expect("archived events are valid");
                    routed += 1;
                }
            }
            router.drain().await;
            let matched = router
                .metrics()
                .snapshot()
                .into_iter()
                .map(|(arn, rule)| (arn, rule.matched_events))
                .collect();
            (routed, matched)
        })
    })
}

/// 2026-09-14T00:00:00Z
const START: i64 = 1_789_344_000;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    events: u64,
    failed: u64,
    available: u64,
    critical: u64,
}

/// What the example routes should match, read from the event text.
fn classify(event: &str, expected: &mut Expected) {
    expected.events += 1;
    if event.contains(r#""state":{"status":"FAILED""#) {
        expected.failed += 1;
    }
    if event.contains(r#""state":{"status":"AVAILABLE"}"#) {
        expected.available += 1;
    }
    if let Some(at) = event.find(r#""critical":"#) {
        let digit = event.as_bytes()[at + 11];
        if digit != b'0' {
            expected.critical += 1;
        }
    }
}

/// Generates the archive unless it is already there; returns its directory
/// and the expected counts.
fn archive(events: usize) -> (PathBuf, Expected) {
    let root = repository().join(format!("target/replay-bench/{events}"));
    let dir = root.join("image-events");
    let mut expected = Expected::default();
    for event in sluice_benches::imagebuilder::events(42, START, events) {
        classify(&event, &mut expected);
    }
    if !dir.join("index.jsonl").exists() {
        let _ = std::fs::remove_dir_all(&root);
        let definition = ArchiveDefinition::new("image-events", "default", None, 0).expect("valid");
        let mut writer = ArchiveWriter::open(&root, definition).expect("archive directory");
        for event in sluice_benches::imagebuilder::events(42, START, events) {
            writer
                .append(event.as_bytes())
                .expect("generated events archive");
        }
        writer.flush().expect("last segment");
    }
    (dir, expected)
}

/// Reads every segment through its checked reader on `threads` threads.
fn decompress_only(archive: &Archive, threads: usize) -> u64 {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut bytes = 0u64;
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(segment) = archive.segments().get(i) else {
                            break;
                        };
                        let mut reader = archive.segment_reader(segment).expect("segment opens");
                        while let Some((_, event)) = reader.next_event().expect("segment reads") {
                            bytes += event.len() as u64 + 1;
                        }
                    }
                    bytes
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    })
}

fn replay(c: &mut Criterion) {
    let events: usize = std::env::var("SLUICE_REPLAY_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let (dir, expected) = archive(events);
    let archive = Archive::open(Path::new(&dir)).expect("archive opens");
    let rules = load_rules(
        &repository().join("examples/imagebuilder/routes.json"),
        &Parameters::default(),
        &Environment::default(),
    )
    .expect("example routes load");
    let table = RuleTable::new(rules).expect("example routes compile");
    let window = Window::new(START, START + 400 * 86_400).expect("window");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dry_run = |window: Window| {
        dry_run_archive(
            &archive,
            window,
            "bench",
            &table,
            "default",
            threads,
            &AtomicU64::new(0),
        )
        .expect("replay reads the archive")
    };
    let run = || dry_run(window);
    let counts = run();
    assert_eq!(counts.events, expected.events);
    assert_eq!(
        counts
            .per_rule
            .get("image-failed-to-sns")
            .copied()
            .unwrap_or(0),
        expected.failed
    );
    assert_eq!(
        counts
            .per_rule
            .get("image-available-to-lambda")
            .copied()
            .unwrap_or(0),
        expected.available
    );
    assert_eq!(
        counts
            .per_rule
            .get("critical-cves-to-sqs")
            .copied()
            .unwrap_or(0),
        expected.critical
    );
    eprintln!(
        "replay bench: {expected:?}, {} segments",
        archive.segments().len()
    );

    let mut group = c.benchmark_group("replay");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.throughput(Throughput::Elements(events as u64));
    // The baseline: the same segments decompressed on the same threads,
    // nothing else.
    group.bench_function(format!("baseline-decompress-only/{events}"), |b| {
        b.iter(|| decompress_only(&archive, threads))
    });
    group.bench_function(format!("dry-run/{events}"), |b| b.iter(run));
    group.finish();

    // Delivery in order over the first ten segments (or all, if fewer).
    let segments = archive.segments();
    let end = segments
        .get(10)
        .map_or(window.end, |s| s.first_time.max(START + 1));
    let window = Window::new(START, end).expect("window");
    let expected = dry_run(window);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    let (routed, matched) = deliver_in_order(&archive, window, &table, &runtime);
    assert_eq!(routed, expected.events);
    let names: std::collections::BTreeMap<String, String> = table
        .rules()
        .map(|r| (r.arn.clone(), r.name.clone()))
        .collect();
    for (arn, count) in &matched {
        assert_eq!(
            expected.per_rule.get(&names[arn]).copied().unwrap_or(0),
            *count,
            "{}",
            names[arn]
        );
    }
    eprintln!("replay bench: delivering {routed} events in order");
    let mut group = c.benchmark_group("replay-deliver");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(routed));
    group.bench_function(format!("in-order/{routed}"), |b| {
        b.iter(|| deliver_in_order(&archive, window, &table, &runtime))
    });
    group.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
