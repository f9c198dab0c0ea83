//! Runs the table-driven cases of `spec/*.jsonl` (format: `spec/README.md`).
//!
//! Each valid pattern is checked alone under every scan mode and against the
//! reference matcher; then all patterns of a file are compiled into one
//! matcher and every event of the file must match exactly the rules the
//! reference says it matches. `SPEC_FILTER=text` runs only cases whose file
//! or name contains `text`.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::value::RawValue;
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode, check, reference};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    pattern: Box<RawValue>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "match")]
    matches: Vec<Box<RawValue>>,
    #[serde(default)]
    no_match: Vec<Box<RawValue>>,
    #[serde(default)]
    bad_events: Vec<Box<RawValue>>,
    /// The case relies on reading the whole event (duplicate keys).
    #[serde(default)]
    validating_only: bool,
}

/// A JSON string is raw text; any other JSON value is used as written.
fn text(raw: &RawValue) -> String {
    let t = raw.get();
    if t.starts_with('"') {
        serde_json::from_str(t).expect("valid JSON string")
    } else {
        t.to_string()
    }
}

const MODES: [ScanMode; 2] = [ScanMode::Validating, ScanMode::EarlyExit];

fn matcher(mode: ScanMode, patterns: &[String]) -> Matcher {
    Matcher::builder()
        .configure(Config::new().scan_mode(mode))
        .build(patterns)
        .expect("spec patterns compile")
}

fn hits(matcher: &Matcher, event: &str) -> Result<Vec<usize>, String> {
    let mut cache = matcher.create_cache();
    let mut set = MatchSet::new(matcher.rule_count());
    matcher
        .matches_with(&mut cache, event.as_bytes(), &mut set)
        .map_err(|e| e.to_string())?;
    Ok(set.iter().map(|id| id.index()).collect())
}

#[test]
fn spec_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec");
    let filter = std::env::var("SPEC_FILTER").unwrap_or_default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("spec directory exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "spec files are missing");
    let mut failures = Vec::new();
    let mut checks = 0usize;
    for file in &files {
        let file_name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let content = std::fs::read_to_string(file).expect("readable spec file");
        let mut valid_patterns = Vec::new();
        let mut all_events: Vec<(String, bool)> = Vec::new();
        for (line_no, line) in content
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case: Case = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{file_name}:{}: {e}", line_no + 1));
            let label = format!("{file_name}: {}", case.name);
            if !label.contains(&filter) {
                continue;
            }
            let pattern = text(&case.pattern);
            if let Some(expected) = &case.error {
                checks += 1;
                let got = check(&pattern)
                    .err()
                    .map(|e| e.reason().unwrap_or_default().to_string());
                if got.as_deref() != Some(expected.as_str()) {
                    failures.push(format!("{label}: expected error {expected:?}, got {got:?}"));
                }
                continue;
            }
            if let Err(e) = check(&pattern) {
                failures.push(format!("{label}: pattern rejected: {e}"));
                continue;
            }
            let expectations = case
                .matches
                .iter()
                .map(|e| (text(e), true))
                .chain(case.no_match.iter().map(|e| (text(e), false)));
            let modes: &[ScanMode] = if case.validating_only {
                &MODES[..1]
            } else {
                &MODES
            };
            for (event, expected) in expectations {
                for &mode in modes {
                    checks += 1;
                    let got = hits(&matcher(mode, std::slice::from_ref(&pattern)), &event);
                    if got != Ok(if expected { vec![0] } else { vec![] }) {
                        failures.push(format!(
                            "{label} [{mode:?}]: {event} should match={expected}, got {got:?}"
                        ));
                    }
                }
                checks += 1;
                let oracle = reference::matches(&pattern, event.as_bytes());
                if oracle != Ok(expected) {
                    failures.push(format!(
                        "{label} [reference]: {event} should match={expected}, got {oracle:?}"
                    ));
                }
                all_events.push((event, case.validating_only));
            }
            for event in case.bad_events.iter().map(|e| text(e)) {
                checks += 2;
                if hits(
                    &matcher(ScanMode::Validating, std::slice::from_ref(&pattern)),
                    &event,
                )
                .is_ok()
                {
                    failures.push(format!("{label}: malformed event accepted: {event:?}"));
                }
                if reference::matches(&pattern, event.as_bytes()).is_ok() {
                    failures.push(format!(
                        "{label} [reference]: malformed event accepted: {event:?}"
                    ));
                }
            }
            valid_patterns.push(pattern);
        }
        // All patterns of the file in one automaton: no rule disturbs another.
        if valid_patterns.is_empty() {
            continue;
        }
        for mode in MODES {
            let combined = matcher(mode, &valid_patterns);
            for (event, validating_only) in &all_events {
                if *validating_only && mode == ScanMode::EarlyExit {
                    continue;
                }
                checks += 1;
                let expected: Vec<usize> = valid_patterns
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| reference::matches(p, event.as_bytes()) == Ok(true))
                    .map(|(i, _)| i)
                    .collect();
                let got = hits(&combined, event);
                if got != Ok(expected.clone()) {
                    failures.push(format!("{file_name} combined [{mode:?}]: {event}: expected rules {expected:?}, got {got:?}"));
                }
            }
        }
    }
    eprintln!("{checks} spec checks");
    assert!(
        checks > 500 || !filter.is_empty(),
        "too few spec checks ran: {checks}"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
