//! citylots2: every rule set, sluice in both scan modes and the quamina crate,
//! counts checked before anything is timed. Also the scanner alone against
//! serde_json's validate-and-skip on the same bytes.
//!
//! `SLUICE_BENCH_EVENTS` sets how many events one timed pass covers (default
//! 20,000); counts are always checked over the whole corpus.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice_benches::{Corpus, RuleSet, citylots};
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode, reference};

fn sluice_matcher(set: &RuleSet, mode: ScanMode) -> Matcher {
    Matcher::builder()
        .configure(Config::new().scan_mode(mode))
        .build_named(
            set.rules
                .iter()
                .map(|r| (r.name.as_str(), r.pattern.as_str())),
        )
        .expect("benchmark rules are valid")
}

fn sluice_counts(matcher: &Matcher, events: &[Vec<u8>]) -> Vec<u64> {
    let mut cache = matcher.create_cache();
    let mut hits = matcher.create_match_set();
    let mut counts = vec![0u64; matcher.rule_capacity()];
    for event in events {
        matcher
            .matches_with(&mut cache, event, &mut hits)
            .expect("corpus events are valid");
        for id in hits.iter_unordered() {
            counts[id.index()] += 1;
        }
    }
    counts
}

fn quamina_for(set: &RuleSet) -> Option<quamina::Quamina<usize>> {
    let mut q = quamina::Quamina::new();
    for (i, rule) in set.rules.iter().enumerate() {
        if let Err(e) = q.add_pattern(i, &rule.pattern) {
            eprintln!(
                "{}: quamina does not support {}: {e:?}",
                set.name, rule.name
            );
            return None;
        }
    }
    Some(q)
}

fn quamina_counts(q: &quamina::Quamina<usize>, n: usize, events: &[Vec<u8>]) -> Vec<u64> {
    let mut counts = vec![0u64; n];
    for event in events {
        for i in q
            .matches_for_event(event)
            .expect("quamina reads the corpus")
        {
            counts[i] += 1;
        }
    }
    counts
}

/// The counts every engine must reproduce before it is timed.
fn expected_counts(set: &RuleSet, corpus: &Corpus) -> Vec<u64> {
    if set.rules.iter().all(|r| r.expected.is_some()) {
        return set
            .rules
            .iter()
            .map(|r| r.expected.unwrap_or_default())
            .collect();
    }
    // Generated corpus: the brute-force reference matcher is the judge.
    set.rules
        .iter()
        .map(|r| {
            corpus
                .events
                .iter()
                .filter(|e| reference::matches(&r.pattern, e) == Ok(true))
                .count() as u64
        })
        .collect()
}

fn bench_sets(c: &mut Criterion) {
    let generated = 20_000;
    let corpus = citylots(generated);
    let per_pass: usize = std::env::var("SLUICE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
        .min(corpus.events.len());
    let timed = &corpus.events[..per_pass];
    let bytes: usize = timed.iter().map(Vec::len).sum();
    eprintln!(
        "corpus: {}, {} events; {per_pass} per timed pass ({bytes} bytes)",
        corpus.source,
        corpus.events.len()
    );

    for set in &corpus.sets {
        let expected = expected_counts(set, &corpus);
        let early = sluice_matcher(set, ScanMode::EarlyExit);
        let validating = sluice_matcher(set, ScanMode::Validating);
        assert_eq!(
            sluice_counts(&early, &corpus.events),
            expected,
            "{}: sluice early-exit counts",
            set.name
        );
        assert_eq!(
            sluice_counts(&validating, &corpus.events),
            expected,
            "{}: sluice validating counts",
            set.name
        );
        let peer = quamina_for(set).filter(|q| {
            let counts = quamina_counts(q, set.rules.len(), &corpus.events);
            if counts != expected {
                eprintln!(
                    "{}: quamina counts {counts:?} differ from {expected:?}; not timed",
                    set.name
                );
            }
            counts == expected
        });

        let mut group = c.benchmark_group(format!("match/{}", set.name));
        group.throughput(Throughput::Elements(per_pass as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        for (label, matcher) in [
            ("sluice-early-exit", &early),
            ("sluice-validating", &validating),
        ] {
            let mut cache = matcher.create_cache();
            let mut hits = matcher.create_match_set();
            group.bench_function(label, |b| {
                b.iter(|| {
                    let mut total = 0usize;
                    for event in timed {
                        let _ = matcher.matches_with(&mut cache, event, &mut hits);
                        total += hits.len();
                    }
                    total
                })
            });
        }
        if let Some(q) = &peer {
            group.bench_function("quamina", |b| {
                b.iter(|| {
                    timed
                        .iter()
                        .map(|e| q.matches_for_event(e).map_or(0, |v| v.len()))
                        .sum::<usize>()
                })
            });
        }
        group.finish();
    }
}

/// Whether a parser accepts an event.
type Accepts = fn(&[u8]) -> bool;

/// The validate-and-skip parsers of the scanner-alone bench, by bench name.
const IGNORED_ANY: [(&str, Accepts); 2] = [
    ("serde_json-ignored-any", |event| {
        serde_json::from_slice::<serde::de::IgnoredAny>(event).is_ok()
    }),
    ("sonic-rs-ignored-any", |event| {
        sonic_rs::from_slice::<serde::de::IgnoredAny>(event).is_ok()
    }),
];

/// The scanner alone: a rule on a field no event has, so the whole event is
/// read (validated) and nothing is recorded; against the validate-and-skip
/// of serde_json and sonic-rs (`IgnoredAny`) and simd-json (building its
/// tape, on a copy: it parses in place) on the same bytes.
fn bench_scan(c: &mut Criterion) {
    let corpus = citylots(20_000);
    let timed = &corpus.events[..corpus.events.len().min(20_000)];
    let matcher = Matcher::builder()
        .build([r#"{"no-such-field": ["x"]}"#])
        .expect("valid");
    let mut cache = matcher.create_cache();
    let mut hits = MatchSet::new(1);
    let mut copy = Vec::new();
    let mut tape_buffers = simd_json::Buffers::default();
    let mut simd_json_accepts = |event: &[u8]| {
        copy.clear();
        copy.extend_from_slice(event);
        simd_json::to_tape_with_buffers(&mut copy, &mut tape_buffers).is_ok()
    };
    for event in timed {
        matcher
            .matches_with(&mut cache, event, &mut hits)
            .expect("valid event");
        assert!(hits.is_empty());
        for (name, accepts) in IGNORED_ANY {
            assert!(accepts(event), "{name} refused a valid event");
        }
        assert!(simd_json_accepts(event), "valid event");
    }
    let mut group = c.benchmark_group("scan/validate-whole-event");
    group.throughput(Throughput::Bytes(
        timed.iter().map(|e| e.len() as u64).sum(),
    ));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("sluice", |b| {
        b.iter(|| {
            timed
                .iter()
                .filter(|e| matcher.matches_with(&mut cache, e, &mut hits).is_ok())
                .count()
        })
    });
    for (name, accepts) in IGNORED_ANY {
        group.bench_function(name, |b| {
            b.iter(|| timed.iter().filter(|e| accepts(e)).count())
        });
    }
    group.bench_function("simd-json-tape", |b| {
        b.iter(|| timed.iter().filter(|e| simd_json_accepts(e)).count())
    });
    group.finish();
}

criterion_group!(benches, bench_sets, bench_scan);
criterion_main!(benches);
