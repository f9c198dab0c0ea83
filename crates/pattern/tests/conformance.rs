//! Runs the AWS-recorded conformance corpus (`shared/conformance/eventbridge-patterns.jsonl`).
//!
//! Every case is checked against the automaton in both scan modes and against
//! the reference matcher. The corpus lives beside the repository; set
//! `SLUICE_CONFORMANCE` to use another copy. Without it the test says so and
//! passes (a user's checkout has no corpus).

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::value::RawValue;
use sluice_pattern::{
    Config, MatchSet, Matcher, ScanMode, TestEventPatternError, reference, test_event_pattern_with,
};

#[derive(Deserialize)]
struct Case {
    id: String,
    scope: String,
    pattern: Box<RawValue>,
    event: Box<RawValue>,
    expect: String,
    #[serde(default)]
    invalid_input: Option<String>,
    #[serde(default)]
    aws_error: Option<String>,
    #[serde(default)]
    ruler_error_hint: Option<String>,
    verified: bool,
}

/// A JSON string value holds raw request text; anything else is sent as written.
fn request_text(raw: &RawValue) -> String {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).expect("corpus strings are valid JSON")
    } else {
        text.to_string()
    }
}

fn corpus() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SLUICE_CONFORMANCE") {
        return Some(PathBuf::from(path));
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/eventbridge-patterns.jsonl");
    beside.exists().then_some(beside)
}

fn outcome(config: &Config, case: &Case, pattern: &str, event: &str) -> Result<bool, String> {
    if case.scope == "engine" {
        let matcher = Matcher::builder()
            .configure(config.clone())
            .build([pattern])
            .map_err(|e| e.pattern_error().message())?;
        let mut cache = matcher.create_cache();
        let mut hits = MatchSet::new(1);
        matcher
            .matches_with(&mut cache, event.as_bytes(), &mut hits)
            .map_err(|e| e.to_string())?;
        Ok(!hits.is_empty())
    } else {
        test_event_pattern_with(config, pattern, event)
            .map_err(|e: TestEventPatternError| e.message())
    }
}

#[test]
fn aws_recorded_cases() {
    let Some(path) = corpus() else {
        let reason =
            "../shared/conformance/eventbridge-patterns.jsonl not found beside the repository";
        eprintln!("AWS conformance corpus: skipped: {reason}");
        if let Ok(path) = std::env::var("SLUICE_SKIPS") {
            let line = format!("AWS conformance corpus ({reason})\n");
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| std::io::Write::write_all(&mut file, line.as_bytes()));
        }
        return;
    };
    let text = std::fs::read_to_string(&path).expect("corpus is readable");
    let mut failures = Vec::new();
    let mut counted = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).expect("corpus line parses");
        let pattern = request_text(&case.pattern);
        let event = request_text(&case.event);
        counted += 1;
        let expected: Result<bool, String> = match case.expect.as_str() {
            "match" => Ok(true),
            "no-match" => Ok(false),
            _ => {
                let first_line = case
                    .aws_error
                    .clone()
                    .or_else(|| {
                        case.ruler_error_hint
                            .as_ref()
                            .map(|h| format!("Event pattern is not valid. Reason: {h}"))
                    })
                    .expect("invalid cases carry an error");
                Err(first_line)
            }
        };
        for mode in [ScanMode::Validating, ScanMode::EarlyExit] {
            let config = Config::new().scan_mode(mode);
            let got = outcome(&config, &case, &pattern, &event);
            if got != expected {
                failures.push(format!(
                    "{} ({mode:?}, verified={}): expected {expected:?}, got {got:?}",
                    case.id, case.verified
                ));
            }
        }
        // The reference matcher agrees wherever the pattern and event are valid.
        if case.invalid_input.is_none() && case.expect != "invalid" {
            let got = reference::matches(&pattern, event.as_bytes()).map_err(|e| format!("{e:?}"));
            if got != expected {
                failures.push(format!(
                    "{} (reference): expected {expected:?}, got {got:?}",
                    case.id
                ));
            }
        }
    }
    assert_eq!(counted, 195, "the corpus README counts 195 cases");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
