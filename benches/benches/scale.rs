//! Scaling with the number of rules, per operator family: match time per
//! event, compile time, adding one rule to a large matcher, memory per rule.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sluice_pattern::{MatchSet, Matcher};

const SIZES: [usize; 4] = [1, 100, 10_000, 100_000];

fn rule(family: &str, i: usize) -> String {
    match family {
        "exact" => format!(r#"{{"detail": {{"x": ["v{i}-mid-end"]}}}}"#),
        "prefix" => format!(r#"{{"detail": {{"x": [{{"prefix": "v{i}-"}}]}}}}"#),
        "wildcard" => format!(r#"{{"detail": {{"x": [{{"wildcard": "v{i}-*-end"}}]}}}}"#),
        "wildcard-leading-star" => {
            format!(r#"{{"detail": {{"y": [{{"wildcard": "*-v{i}-end"}}]}}}}"#)
        }
        "anything-but" => format!(r#"{{"detail": {{"x": [{{"anything-but": "v{i}-mid-end"}}]}}}}"#),
        "numeric" => format!(
            r#"{{"detail": {{"n": [{{"numeric": [">", {i}, "<=", {}]}}]}}}}"#,
            i + 10
        ),
        _ => unreachable!("unknown family"),
    }
}

const FAMILIES: [&str; 6] = [
    "exact",
    "prefix",
    "wildcard",
    "wildcard-leading-star",
    "anything-but",
    "numeric",
];

/// Events that each hit one rule of a family of `n` rules (anything-but hits
/// all but one: its output is the size of the rule set).
fn events(n: usize) -> Vec<Vec<u8>> {
    (0..64)
        .map(|k| {
            let i = target(n, k);
            format!(
                r#"{{"version": "0", "source": "aws.imagebuilder", "detail": {{"x": "v{i}-mid-end", "y": "id-v{i}-end", "n": {}.5, "other": [1, 2, 3]}}}}"#,
                i + 5
            )
            .into_bytes()
        })
        .collect()
}

/// The rule event `k` is aimed at.
fn target(n: usize, k: usize) -> usize {
    (k * 7919) % n
}

/// How many of `n` rules event `k` matches.
fn expected_hits(family: &str, n: usize, k: usize) -> usize {
    let i = target(n, k);
    match family {
        "anything-but" => n - 1,
        // n = i + 5.5 lies in (j, j + 10] for j in i-4 ..= i+5.
        "numeric" => (i + 5).min(n - 1) + 1 - i.saturating_sub(4),
        _ => 1,
    }
}

fn build(family: &str, n: usize) -> Matcher {
    Matcher::builder()
        .build((0..n).map(|i| rule(family, i)))
        .expect("valid rules")
}

fn bench_match(c: &mut Criterion) {
    for family in FAMILIES {
        let mut group = c.benchmark_group(format!("scale/match/{family}"));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(300));
        group.measurement_time(Duration::from_secs(1));
        for n in SIZES {
            let matcher = build(family, n);
            let events = events(n);
            let mut cache = matcher.create_cache();
            let mut hits = MatchSet::new(n);
            // Check the expected match counts before timing.
            for (k, event) in events.iter().enumerate() {
                matcher
                    .matches_with(&mut cache, event, &mut hits)
                    .expect("valid event");
                assert_eq!(
                    hits.len(),
                    expected_hits(family, n, k),
                    "{family} x {n}, event {k}"
                );
            }
            eprintln!(
                "{family} x {n}: {} bytes, {:.0} bytes per rule",
                matcher.memory_usage(),
                matcher.memory_usage() as f64 / n as f64
            );
            group.throughput(Throughput::Elements(events.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &events, |b, events| {
                b.iter(|| {
                    events
                        .iter()
                        .map(|e| {
                            let _ = matcher.matches_with(&mut cache, e, &mut hits);
                            hits.len()
                        })
                        .sum::<usize>()
                })
            });
        }
        group.finish();
    }
}

fn bench_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for family in FAMILIES {
        for n in [100, 10_000] {
            let rules: Vec<String> = (0..n).map(|i| rule(family, i)).collect();
            group.bench_with_input(BenchmarkId::new(family, n), &rules, |b, rules| {
                b.iter(|| {
                    Matcher::builder()
                        .build(rules)
                        .expect("valid rules")
                        .rule_count()
                })
            });
        }
    }
    let base = build("exact", 10_000);
    let extra = rule("prefix", 424_242);
    group.bench_function("add-one-rule/10000", |b| {
        b.iter(|| {
            base.with_rule(Some("new"), &extra)
                .expect("valid rule")
                .0
                .rule_count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench_match, bench_compile);
criterion_main!(benches);
