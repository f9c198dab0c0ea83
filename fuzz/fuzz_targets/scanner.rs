//! Any bytes given as an event: never a panic or a hang; in validating mode
//! the result equals the reference matcher's (same rules, or both reject);
//! early exit, with and without gates, only must not panic or hang.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode, reference};

const PATTERNS: &[&str] = &[
    r#"{"source": ["aws.imagebuilder"]}"#,
    r#"{"detail": {"state": {"status": [{"prefix": "FAIL"}, "CANCELLED"]}}}"#,
    r#"{"a": {"b": [{"numeric": [">", 0, "<=", 5]}], "c": [{"anything-but": "x"}]}}"#,
    r#"{"a": [{"exists": false}], "b": [{"wildcard": "*x*"}]}"#,
    r#"{"resources": [{"suffix": {"equals-ignore-case": "/1"}}], "ip": [{"cidr": "10.0.0.0/8"}]}"#,
    r#"{"$or": [{"a.b": [1, null, true]}, {"x": {"y": [{"exists": true}]}}]}"#,
    r#"{"k": [""], "": {"e": [{"equals-ignore-case": "É"}]}}"#,
    r#"{"n": [{"numeric": [">=", 0.30000000000000004, "<", 1e22]}, 7.000000000000001, -0]}"#,
];

/// Every pattern names `source` and `detail-type`: gates in early exit.
const GATED: &[&str] = &[
    r#"{"source": ["aws.imagebuilder"], "detail-type": [{"prefix": "EC2"}], "detail": {"state": {"status": ["FAILED"]}}}"#,
    r#"{"source": [{"anything-but": "x"}], "detail-type": [{"wildcard": "*Change"}], "resources": [{"exists": true}]}"#,
];

fn matchers() -> &'static (Matcher, Matcher, Matcher) {
    static M: OnceLock<(Matcher, Matcher, Matcher)> = OnceLock::new();
    M.get_or_init(|| {
        let build = |mode, patterns: &[&str]| {
            Matcher::builder()
                .configure(Config::new().scan_mode(mode))
                .build(patterns)
                .expect("fixed patterns are valid")
        };
        (
            build(ScanMode::Validating, PATTERNS),
            build(ScanMode::EarlyExit, PATTERNS),
            build(ScanMode::EarlyExit, GATED),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let (validating, early_exit, gated) = matchers();
    let mut hits = MatchSet::new(PATTERNS.len());
    let mut cache = validating.create_cache();
    let got = validating
        .matches_with(&mut cache, data, &mut hits)
        .map(|()| hits.iter().map(|id| id.index()).collect::<Vec<_>>());
    let expected: Result<Vec<usize>, ()> = PATTERNS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            reference::matches(p, data)
                .map(|m| m.then_some(i))
                .map_err(|_| ())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.into_iter().flatten().collect());
    match (&got, &expected) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "validating scan and reference disagree"),
        (Err(_), Err(())) => {}
        _ => panic!("validating scan {got:?} vs reference {expected:?}"),
    }
    let mut cache = early_exit.create_cache();
    let _ = early_exit.matches_with(&mut cache, data, &mut hits);
    let mut cache = gated.create_cache();
    let _ = gated.matches_with(&mut cache, data, &mut hits);
});
