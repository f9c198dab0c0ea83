//! Loading a large rules file: 100,000 rules, each with its own source and
//! a numeric and a prefix condition, the way `route`, `replay` and `archive`
//! load them (parse, check and one matcher build per bus) and the way
//! `match` and `bench` compile them (one named matcher build).
//!
//! It runs under mimalloc, the allocator of the `sluice` binary.
//!
//! Before timing, each path is checked: every rule is loaded and one probe
//! event matches exactly the rule it names.

use criterion::{Criterion, criterion_group, criterion_main};
use sluice_pattern::Matcher;
use sluice_router::load::parse_rules;
use sluice_router::model::Environment;
use sluice_router::table::RuleTable;

/// The allocator the `sluice` binary uses, so that the times are the
/// commands' times.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RULES: usize = 100_000;

fn pattern(r: usize) -> String {
    format!(
        r#"{{"source": ["service-{r}"], "detail": {{"size": [{{"numeric": [">", {r}]}}], "name": [{{"prefix": "build-{r}-"}}]}}}}"#
    )
}

fn rules_text() -> String {
    let rules: Vec<String> = (0..RULES)
        .map(|r| {
            format!(
                r#"{{"Name": "rule-{r}", "EventPattern": {}, "Targets": [{{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q{r}"}}]}}"#,
                pattern(r)
            )
        })
        .collect();
    format!("[{}]", rules.join(",\n"))
}

const PROBE: &[u8] =
    br#"{"source": "service-77777", "detail": {"size": 80000, "name": "build-77777-a"}}"#;

fn load_table(text: &str) -> RuleTable {
    let rules = parse_rules(
        "rules.json",
        text,
        &Default::default(),
        &Environment::default(),
    )
    .expect("the generated rules are valid");
    RuleTable::new(rules).expect("the generated rules compile")
}

fn build_matcher(patterns: &[(String, String)]) -> Matcher {
    Matcher::builder()
        .build_named(patterns.iter().map(|(n, p)| (n.as_str(), p.as_str())))
        .expect("the generated patterns compile")
}

fn rule_load(c: &mut Criterion) {
    let text = rules_text();
    let table = load_table(&text);
    assert_eq!(table.len(), RULES);
    let mut matched = Vec::new();
    table
        .matching("default", PROBE, &mut table.scratch(), &mut matched)
        .unwrap();
    let names: Vec<&str> = matched.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["rule-77777"]);

    let patterns: Vec<(String, String)> = (0..RULES)
        .map(|r| (format!("rule-{r}"), pattern(r)))
        .collect();
    let matcher = build_matcher(&patterns);
    assert_eq!(matcher.rule_count(), RULES);
    let mut hits = matcher.create_match_set();
    matcher
        .matches_with(&mut matcher.create_cache(), PROBE, &mut hits)
        .unwrap();
    let hit: Vec<usize> = hits.iter().map(|id| id.index()).collect();
    assert_eq!(hit, [77777]);

    let mut group = c.benchmark_group("rule_load_100k");
    group.sample_size(10);
    group.bench_function("route_replay_archive", |b| b.iter(|| load_table(&text)));
    group.bench_function("route_parse_and_check_only", |b| {
        b.iter(|| {
            parse_rules(
                "rules.json",
                &text,
                &Default::default(),
                &Environment::default(),
            )
            .expect("the generated rules are valid")
        })
    });
    group.bench_function("match_bench", |b| b.iter(|| build_matcher(&patterns)));
    group.finish();
}

criterion_group!(benches, rule_load);
criterion_main!(benches);
