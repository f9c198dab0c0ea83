//! Runs `spec/router/input-*.jsonl`: each case gives an event, a target's
//! input shaping, and the exact payload AWS delivers (`expect`), the load
//! error AWS gives (`error`), or that nothing can be delivered
//! (`undeliverable`).

use std::path::PathBuf;

use serde_json::Value;
use sluice_router::transform::{EventText, InputShape};

fn spec_file(name: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/router")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON case per line"))
        .collect()
}

fn run(case: &Value) -> Result<Result<String, String>, String> {
    let text = |key: &str| case.get(key).and_then(Value::as_str);
    let paths: Option<Vec<(String, String)>> = case.get("input_paths_map").map(|map| {
        map.as_object()
            .expect("input_paths_map is an object")
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().expect("paths are strings").to_string(),
                )
            })
            .collect()
    });
    let template = text("input_template");
    let transformer = template.map(|t| (paths.as_deref().unwrap_or(&[]), t));
    let shape = InputShape::compile("t1", text("input"), text("input_path"), transformer)
        .map_err(|e| e.message().to_string())?;
    let event_text = text("event").expect("every case has an event");
    let event = EventText {
        text: event_text,
        rule_arn: "arn:aws:events:us-east-1:123456789012:rule/test-rule",
        rule_name: "test-rule",
        ingestion_time: "2026-11-25T10:00:00Z",
    };
    Ok(shape.render_text(&event).map_err(|e| e.to_string()))
}

fn check_file(name: &str) {
    let cases = spec_file(name);
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let label = case["name"].as_str().unwrap_or("?");
        let outcome = run(case);
        let ok = if let Some(expected) = case.get("expect").and_then(Value::as_str) {
            outcome.as_ref().ok().and_then(|r| r.as_ref().ok()) == Some(&expected.to_string())
        } else if let Some(error) = case.get("error").and_then(Value::as_str) {
            outcome.as_ref().err() == Some(&error.to_string())
        } else if case.get("undeliverable") == Some(&Value::Bool(true)) {
            matches!(outcome, Ok(Err(_)))
        } else {
            panic!("case {label:?} has no expect, error or undeliverable");
        };
        if !ok {
            failures.push(format!("{label}: got {outcome:?}"));
        }
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
}

#[test]
fn input_transformer_cases() {
    check_file("input-transformer.jsonl");
}

#[test]
fn input_path_cases() {
    check_file("input-path.jsonl");
}

#[test]
fn constant_input_and_whole_event() {
    let event_text = r#" {"id": "1", "detail": {}} "#;
    let context = EventText {
        text: event_text,
        rule_arn: "arn",
        rule_name: "r",
        ingestion_time: "t",
    };
    let constant = InputShape::compile("t1", Some(r#"{"fixed": true}"#), None, None).unwrap();
    assert_eq!(
        constant.render_text(&context).unwrap(),
        r#"{"fixed": true}"#
    );
    let whole = InputShape::compile("t1", None, None, None).unwrap();
    assert_eq!(
        whole.render_text(&context).unwrap(),
        r#"{"id": "1", "detail": {}}"#
    );
    let err = InputShape::compile("t1", Some("{not json"), None, None).unwrap_err();
    assert_eq!(err.message(), "Input for target t1 is not valid JSON text.");
    let too_many: Vec<(String, String)> = (0..101)
        .map(|i| (format!("p{i}"), "$.id".to_string()))
        .collect();
    assert!(InputShape::compile("t1", None, None, Some((&too_many, "\"x\""))).is_err());
}
