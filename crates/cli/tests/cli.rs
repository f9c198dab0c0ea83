//! Golden tests of the `sluice` binary: outputs and exit codes.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

const EVENT: &str = r#"{"version":"0","id":"7d1c","detail-type":"EC2 Image Builder Image State Change","source":"aws.imagebuilder","account":"210987654321","time":"2026-09-14T07:31:05Z","region":"us-east-2","resources":[],"detail":{"state":{"status":"FAILED"}}}"#;

#[test]
fn test_event_pattern_results_and_exit_codes() {
    let hit = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"detail":{"state":{"status":["FAILED"]}}}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(stdout(&hit), "{\"Result\":true}\n");
    assert_eq!(hit.status.code(), Some(0));

    let miss = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"detail":{"state":{"status":["AVAILABLE"]}}}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(stdout(&miss), "{\"Result\":false}\n");
    assert_eq!(miss.status.code(), Some(1));
}

#[test]
fn test_event_pattern_reads_files() {
    let dir = temp_dir("files");
    let pattern = dir.join("pattern.json");
    let event = dir.join("event.json");
    std::fs::write(&pattern, r#"{"source": ["aws.imagebuilder"]}"#).unwrap();
    std::fs::write(&event, EVENT).unwrap();
    let out = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        &format!("file://{}", pattern.display()),
        "--event",
        &format!("file://{}", event.display()),
    ]);
    assert_eq!(stdout(&out), "{\"Result\":true}\n");
    let missing = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        "file:///no/such/file",
        "--event",
        EVENT,
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read /no/such/file"));
}

#[test]
fn invalid_patterns_and_events_print_aws_messages() {
    let bad_pattern = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"int": 42}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(bad_pattern.status.code(), Some(2));
    assert_eq!(stdout(&bad_pattern), "");
    assert_eq!(
        stderr(&bad_pattern),
        "An error occurred (InvalidEventPatternException) when calling the TestEventPattern operation: Event pattern is not valid. Reason: \"int\" must be an object or an array\n"
    );
    let bad_event = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"a": ["b"]}"#,
        "--event",
        r#"["plain string"]"#,
    ]);
    assert_eq!(bad_event.status.code(), Some(2));
    assert!(stderr(&bad_event).ends_with(
        "An error occurred (ValidationException) when calling the TestEventPattern operation: Parameter Event is not valid.\n"
    ));
}

#[test]
fn explain_names_the_failing_condition() {
    let out = sluice(&[
        "explain",
        "--event-pattern",
        r#"{"source":["aws.imagebuilder"],"detail":{"state":{"status":["AVAILABLE","INTEGRATING"]}}}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "no match: detail.state.status: saw \"FAILED\", but the rule needs one of [\"AVAILABLE\", \"INTEGRATING\"]\n"
    );
    let missing = sluice(&[
        "explain",
        "--event-pattern",
        r#"{"detail":{"reason":[{"exists":true}]}}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(
        stdout(&missing),
        "no match: detail.reason: missing, but the rule needs {\"exists\": true}\n"
    );
    let hit = sluice(&[
        "explain",
        "--event-pattern",
        r#"{"source":["aws.imagebuilder"]}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(
        (stdout(&hit).as_str(), hit.status.code()),
        ("match\n", Some(0))
    );
}

#[test]
fn match_prints_one_line_per_event_in_input_order() {
    let out = sluice(&[
        "match",
        "--threads",
        "2",
        "--rules",
        &examples("rules.json"),
        &examples("events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 14);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["line"], i + 1);
    }
    assert_eq!(
        lines[5]["rules"],
        serde_json::json!(["image-failed", "any-failure-or-cancel"])
    );
    assert_eq!(
        lines[0]["rules"],
        serde_json::json!(["eu-images-not-replayed"])
    );
}

#[test]
fn match_counts_compressed_and_stdin_input_and_malformed_events() {
    let dir = temp_dir("compressed");
    let events = std::fs::read(examples("events.jsonl")).unwrap();
    let gz = dir.join("events.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&events).unwrap();
    encoder.finish().unwrap();
    let zst = dir.join("events.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(&events[..], 3).unwrap()).unwrap();
    let out = sluice_stdin(
        &["match", "--count", "--rules", &examples("rules.json"), gz.to_str().unwrap(), zst.to_str().unwrap(), "-"],
        b"{\"source\": \"aws.imagebuilder\", \"detail\": {\"state\": {\"status\": \"FAILED\"}}}\n\nnot json\n{\"a\": 1\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"events\":31,\"invalid\":2,\"rules\":{\"image-failed\":4,\"image-available\":2,\"critical-cves\":2,\"awaiting-approval\":2,\"pipeline-disabled\":2,\"pipeline-runs\":2,\"eu-images-not-replayed\":12,\"any-failure-or-cancel\":9}}\n"
    );
    assert!(stderr(&out).contains("2 of 31 events were not valid"));
}

#[test]
fn match_reports_bad_rules_with_file_and_rule() {
    let dir = temp_dir("bad-rules");
    let rules = dir.join("rules.json");
    std::fs::write(&rules, r#"[{"Name": "ok", "EventPattern": {"a": ["1"]}}, {"Name": "broken", "EventPattern": "{\"a\": []}"}]"#).unwrap();
    let out = sluice(&[
        "match",
        "--rules",
        rules.to_str().unwrap(),
        &examples("events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "rule broken: InvalidEventPatternException: Event pattern is not valid. Reason: Empty arrays are not allowed"
        ),
        "{}",
        stderr(&out)
    );
    let none = sluice_stdin(
        &["match", "--rules", &examples("rules.json"), "-"],
        b"{\"source\": \"elsewhere\"}\n",
    );
    assert_eq!(none.status.code(), Some(1));
}

#[derive(serde::Deserialize)]
struct RuleSets {
    sets: Vec<RuleSet>,
}

#[derive(serde::Deserialize)]
struct RuleSet {
    name: String,
    rules: Vec<SetRule>,
}

#[derive(serde::Deserialize)]
struct SetRule {
    name: String,
    pattern: Box<serde_json::value::RawValue>,
    expected_matches: u64,
}

/// `sluice match --count` reproduces event-ruler's counts on the citylots2
/// corpus, when the corpus is beside the repository.
#[test]
fn citylots2_counts_match_event_ruler() {
    let data = repo().join("../shared/data");
    let corpus = data.join("citylots2.json.gz");
    let Ok(sets) = std::fs::read_to_string(data.join("citylots2-rulesets.json")) else {
        common::skipped(
            "citylots2 counts",
            "../shared/data/citylots2-rulesets.json not found beside the repository",
        );
        return;
    };
    // Patterns stay raw text: their numbers must not pass through an f64.
    let sets: RuleSets = serde_json::from_str(&sets).unwrap();
    // COMBO holds 45 of the 70 rules; the other sets' rules go in a second file.
    let dir = temp_dir("citylots2");
    let mut expected = serde_json::Map::new();
    let mut combo = Vec::new();
    let mut rest = Vec::new();
    for set in &sets.sets {
        let name = set.name.as_str();
        for rule in &set.rules {
            // Rule names allow no '/', so the corpus's "SET/rule" names
            // become "SET.rule".
            let rule_name = if name == "COMBO" || name == "PARTIAL_COMBO" {
                rule.name.replace('/', ".")
            } else {
                format!("{name}.{}", rule.name)
            };
            expected.insert(rule_name.clone(), rule.expected_matches.into());
            let entry = serde_json::json!({"Name": rule_name, "EventPattern": rule.pattern.get()});
            if name == "COMBO" {
                combo.push(entry);
            } else if ![
                "NUMERIC",
                "EXACT",
                "PREFIX",
                "COMPLEX_ARRAYS",
                "PARTIAL_COMBO",
            ]
            .contains(&name)
                && !name.starts_with("ANYTHING-BUT")
            {
                rest.push(entry);
            }
        }
    }
    let mut seen = 0;
    for (file, rules) in [("combo.json", combo), ("rest.json", rest)] {
        let path = dir.join(file);
        std::fs::write(&path, serde_json::to_string(&rules).unwrap()).unwrap();
        let out = sluice(&[
            "match",
            "--count",
            "--rules",
            path.to_str().unwrap(),
            corpus.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let counts: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(counts["events"], 213068);
        assert_eq!(counts["invalid"], 0);
        for (rule, n) in counts["rules"].as_object().unwrap() {
            assert_eq!(Some(n), expected.get(rule), "{rule}");
            seen += 1;
        }
    }
    assert_eq!(seen, 70, "every distinct rule is counted");
    let _ = Path::new(&dir);
}

/// The lines `sluice route --dry-run` prints for the example events under
/// the example rules file `rules`, and what it says on stderr.
fn dry_run_lines(rules: &str) -> (Vec<serde_json::Value>, String) {
    let out = sluice(&[
        "route",
        "--dry-run",
        "--rules",
        &examples(rules),
        &examples("events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, stderr(&out))
}

#[test]
fn route_dry_run_prints_each_target_and_its_exact_payload() {
    let (lines, said) = dry_run_lines("routes.json");
    assert_eq!(lines.len(), 14);
    let deliveries: Vec<&serde_json::Value> = lines
        .iter()
        .flat_map(|l| l["deliveries"].as_array().unwrap())
        .collect();
    let by_rule = |rule: &str| -> Vec<&serde_json::Value> {
        deliveries
            .iter()
            .copied()
            .filter(|d| d["rule"] == rule)
            .collect()
    };
    // Two FAILED images (one of them a replayed copy) go to SNS as a string template.
    let failed = by_rule("image-failed-to-sns");
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[0]["arn"],
        "arn:aws:sns:us-east-1:123456789012:image-alerts"
    );
    assert_eq!(
        failed[0]["payload"],
        "\"Image arn:aws:imagebuilder:us-east-2:210987654321:image/ml-gpu/1.4.2/3 failed in us-east-2: Test workflow step 'validate-cuda-driver' failed: exit code 1\""
    );
    let available = by_rule("image-available-to-lambda");
    assert_eq!(available.len(), 1);
    assert_eq!(
        available[0]["payload"],
        r#"{"image":"arn:aws:imagebuilder:eu-central-1:210987654321:image/web-base/3.1.0/12","available_at":"2026-09-14T06:38:12Z","rule":"image-available-to-lambda"}"#
    );
    // Only the CVE event with critical findings is queued, as its detail.
    let cves = by_rule("critical-cves-to-sqs");
    assert_eq!(cves.len(), 1);
    assert_eq!(
        cves[0]["payload"],
        r#"{"resource-id":"i-0a1b2c3d4e5f60718","finding-severity-counts":{"all":7,"critical":2,"high":3,"medium":2}}"#
    );
    assert!(said.contains("14 events (0 invalid), 4 deliveries planned"));
}

#[test]
fn log_follows_one_event_across_rotated_files() {
    let dir = temp_dir("follow");
    let log = dir.join("bus.log");
    let record = |id: &str, step: &str, ms: u64| {
        format!(
            r#"{{"resource_arn":"arn:aws:events:us-east-1:123456789012:event-bus/default","event_id":"{id}","message_timestamp_ms":{ms},"message_type":"{step}","log_level":"INFO","details":{{"rule_name":"r"}}}}"#
        )
    };
    let older = [
        record("a", "EVENT_RECEIPT", 1),
        record("b", "EVENT_RECEIPT", 2),
    ]
    .join("\n");
    std::fs::write(dir.join("bus.log.1"), older + "\n").unwrap();
    std::fs::write(&log, record("a", "RULE_MATCH", 3) + "\n").unwrap();
    let out = sluice(&["log", "--event-id", "a", log.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("EVENT_RECEIPT"), "{lines:?}");
    assert!(
        lines[1].contains("RULE_MATCH") && lines[1].ends_with("rule r"),
        "{lines:?}"
    );
    let json = sluice(&["log", "--event-id", "a", "--json", log.to_str().unwrap()]);
    assert_eq!(
        stdout(&json),
        format!(
            "{}\n{}\n",
            record("a", "EVENT_RECEIPT", 1),
            record("a", "RULE_MATCH", 3)
        )
    );
    let missing = sluice(&["log", "--event-id", "zzz", log.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no record of event zzz"));
}

/// Asserts that `out` is an error (exit 2) whose message says `text`.
fn assert_refused(out: &Output, text: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    assert!(stderr(out).contains(text), "{}", stderr(out));
}

#[test]
fn processing_log_options_are_checked() {
    let rules = examples("routes.json");
    let events = examples("events.jsonl");
    let route = |extra: &[&str]| {
        let mut args = vec!["route", "--rules", &rules];
        args.extend_from_slice(extra);
        args.push(&events);
        sluice(&args)
    };
    assert_refused(
        &route(&["--log-level", "trace"]),
        "--log-level needs --log-to",
    );
    assert_refused(
        &route(&["--dry-run", "--log-to", "x.log"]),
        "writes no processing log",
    );
    assert_refused(
        &route(&["--log-level", "debug"]),
        "not one of off, error, info, trace",
    );
}

#[test]
fn route_dry_run_shows_run_command_parameters_and_log_group_payloads() {
    let (lines, _) = dry_run_lines("diagnostics.json");
    let deliveries: Vec<&serde_json::Value> = lines
        .iter()
        .flat_map(|l| l["deliveries"].as_array().unwrap())
        .collect();
    let diagnose: Vec<&&serde_json::Value> = deliveries
        .iter()
        .filter(|d| d["target"] == "diagnose")
        .collect();
    assert_eq!(diagnose.len(), 2);
    assert_eq!(
        diagnose[0]["payload"],
        r#"{"commands":["/opt/diagnose.sh arn:aws:imagebuilder:us-east-2:210987654321:image/ml-gpu/1.4.2/3"]}"#
    );
    // Every Image Builder event goes to the log group whole.
    let logged = deliveries.iter().filter(|d| d["target"] == "log").count();
    assert_eq!(logged, 14);
}

#[test]
fn route_reports_bad_rules_files_by_rule_and_field() {
    let dir = temp_dir("route-bad-rules");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"Name": "r", "EventPattern": {"source": ["a"]}, "Targets": [{"Id": "t", "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c"}]}]"#,
    )
    .unwrap();
    let out = sluice(&[
        "route",
        "--dry-run",
        "--rules",
        rules.to_str().unwrap(),
        &examples("events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("rules.json: rule r: "), "{err}");
    assert!(err.contains("not a target sluice delivers to"), "{err}");
}

/// `sluice route` for real, against moto server (`scripts/with-moto` sets
/// `SLUICE_MOTO_ENDPOINT`; without it this test says so and passes).
#[test]
fn route_delivers_through_the_aws_sdk_and_reports_what_failed() {
    let Some(endpoint) = common::moto_endpoint() else {
        return;
    };
    let suffix = std::process::id();
    let queue = format!("cli-image-failures-{suffix}");
    let (runtime, sqs) = moto_sqs(&endpoint);
    let url = runtime.block_on(async {
        sqs.create_queue()
            .queue_name(&queue)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string()
    });
    let dir = temp_dir("route-moto");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        format!(
            r#"[{{"Name": "image-failed", "EventPattern": {{"detail": {{"state": {{"status": ["FAILED"]}}}}}},
                 "Targets": [
                   {{"Id": "queue", "Arn": "arn:aws:sqs:us-east-1:123456789012:{queue}", "InputPath": "$.detail.state"}},
                   {{"Id": "nowhere", "Arn": "arn:aws:sqs:us-east-1:123456789012:missing-{suffix}"}}]}}]"#
        ),
    )
    .unwrap();
    let failures = dir.join("failures.jsonl");
    let log = dir.join("logs/bus.log");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "route",
            "--rules",
            rules.to_str().unwrap(),
            "--failures",
            failures.to_str().unwrap(),
            "--log-level",
            "trace",
            "--log-to",
            log.to_str().unwrap(),
            &examples("events.jsonl"),
        ])
        .envs(moto_env(&endpoint, &dir))
        .output()
        .unwrap();
    // The missing queue's deliveries have no dead-letter queue: exit 2.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["events"], 14);
    let rule = &summary["rules"]["image-failed"];
    assert_eq!(rule["matched"], 2);
    assert_eq!(rule["targets"]["queue"]["delivered"], 2);
    assert_eq!(rule["targets"]["nowhere"]["failed"], 2);
    assert_eq!(rule["targets"]["nowhere"]["retried"], 0);
    let failed: Vec<serde_json::Value> = std::fs::read_to_string(&failures)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["error_code"], "NO_RESOURCE");
    assert_eq!(failed[0]["event"]["detail"]["state"]["status"], "FAILED");
    assert!(
        stderr(&out).contains("processing log: "),
        "{}",
        stderr(&out)
    );

    // The processing log follows each event by its id.
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let receipts = records
        .iter()
        .filter(|r| r["message_type"] == "EVENT_RECEIPT")
        .count();
    assert_eq!(receipts, 14);
    let id = failed[0]["event"]["id"].as_str().unwrap();
    let of_event: Vec<&serde_json::Value> =
        records.iter().filter(|r| r["event_id"] == id).collect();
    let steps = |target: &str| -> Vec<&str> {
        of_event
            .iter()
            .filter(|r| r["details"]["target_id"] == target)
            .map(|r| r["message_type"].as_str().unwrap())
            .collect()
    };
    assert_eq!(of_event[0]["message_type"], "EVENT_RECEIPT");
    assert_eq!(of_event[1]["message_type"], "RULE_MATCH");
    assert_eq!(of_event[1]["details"]["rule_name"], "image-failed");
    assert_eq!(
        steps("queue"),
        [
            "INVOCATION_START",
            "INVOCATION_ATTEMPT_START",
            "INVOCATION_ATTEMPT_SUCCESS",
            "INVOCATION_SUCCESS"
        ]
    );
    assert_eq!(
        steps("nowhere"),
        [
            "INVOCATION_START",
            "INVOCATION_ATTEMPT_START",
            "INVOCATION_ATTEMPT_PERMANENT_FAILURE",
            "INVOCATION_FAILURE"
        ]
    );
    let followed = sluice(&["log", "--event-id", id, log.to_str().unwrap()]);
    assert_eq!(followed.status.code(), Some(0), "{}", stderr(&followed));
    let lines: Vec<String> = stdout(&followed).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), of_event.len());
    assert!(
        lines[1].contains("RULE_MATCH") && lines[1].contains("rule image-failed"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("INVOCATION_FAILURE") && l.contains("image-failed -> nowhere")),
        "{lines:?}"
    );
    let bodies = receive_bodies(&runtime, &sqs, &url, 2);
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies
            .iter()
            .all(|b| b.starts_with(r#"{"status":"FAILED","reason":"#)),
        "{bodies:?}"
    );
}

#[test]
fn schedule_next_prints_fire_times_and_aws_errors() {
    let out = sluice(&[
        "schedule",
        "next",
        "cron(0 12 L * ? *)",
        "--from",
        "2024-01-31T12:00:00Z",
        "--count",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "2024-02-29T12:00:00Z\n2024-03-31T12:00:00Z\n2024-04-30T12:00:00Z\n"
    );
    let out = sluice(&["schedule", "next", "rate(12 hour)"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("An error occurred (ValidationException) when calling the PutRule operation: Parameter ScheduleExpression is not valid.\n"),
        "{err}"
    );
    assert!(err.contains("write rate(12 hours)"), "{err}");
    let out = sluice(&["schedule", "next", "rate(1 day)", "--from", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn archive_then_replay_in_a_window_with_filters() {
    let dir = temp_dir("archive-replay");
    let archives = dir.join("archives");
    let out = sluice(&[
        "archive",
        "--rules",
        &examples("routes.json"),
        "--archive-dir",
        archives.to_str().unwrap(),
        &examples("events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // 14 events, one of them already a replay, which is never archived.
    assert_eq!(summary["events"], 14);
    assert_eq!(summary["archives"]["image-events"]["archived"], 13);
    let archive = archives.join("image-events");
    let replay = |extra: &[&str]| {
        let mut args = vec![
            "replay",
            "--archive",
            archive.to_str().unwrap(),
            "--rules",
            "",
            "--dry-run",
        ];
        let rules = examples("routes.json");
        args[4] = &rules;
        args.extend_from_slice(extra);
        let out = sluice(&args);
        (out.status.code(), stdout(&out), stderr(&out))
    };
    let (code, out, err) = replay(&[
        "--start",
        "2026-09-14T00:00:00Z",
        "--end",
        "2026-09-15T00:00:00Z",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["events"], 13);
    assert_eq!(summary["matched"], 3);
    assert_eq!(summary["rules"]["image-failed-to-sns"]["matched"], 1);
    // A narrower window: 07:00 to 08:00 holds the FAILED build at 07:31.
    let (code, out, _) = replay(&[
        "--start",
        "2026-09-14T07:00:00Z",
        "--end",
        "2026-09-14T08:00:00Z",
        "--filter-rule",
        "image-failed-to-sns",
    ]);
    assert_eq!(code, Some(0));
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["events"], 2);
    assert_eq!(summary["rules"]["image-failed-to-sns"]["matched"], 1);
    assert!(summary["rules"].get("critical-cves-to-sqs").is_none());
    let (code, _, err) = replay(&[
        "--start",
        "2026-09-15T00:00:00Z",
        "--end",
        "2026-09-14T00:00:00Z",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("EventStartTime must be before EventEndTime"),
        "{err}"
    );
    let (code, _, err) = replay(&[
        "--start",
        "2026-09-14T00:00:00Z",
        "--end",
        "2026-09-15T00:00:00Z",
        "--filter-rule",
        "nope",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("Rule nope does not exist on EventBus default"),
        "{err}"
    );
}

#[test]
fn replay_reads_plain_json_lines_too() {
    let out = sluice(&[
        "replay",
        "--archive",
        &examples("events.jsonl"),
        "--rules",
        &examples("routes.json"),
        "--start",
        "2026-09-14T00:00:00Z",
        "--end",
        "2026-09-15T00:00:00Z",
        "--dry-run",
        "--lateness",
        "7200",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // The already replayed event is left out; nothing arrives too late.
    assert_eq!(summary["events"], 13);
    assert_eq!(summary["late_events"], 0);
    assert_eq!(summary["matched"], 3);
}

/// The README's main job: a dry-run replay of the bundled archive.
#[test]
fn main_job_replays_the_bundled_archive() {
    let archive = repo().join("examples/imagebuilder/archive/image-events");
    let out = sluice(&[
        "replay",
        "--archive",
        archive.to_str().unwrap(),
        "--rules",
        &examples("routes.json"),
        "--start",
        "2026-09-14T00:00:00Z",
        "--end",
        "2026-09-15T00:00:00Z",
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["events"], 10000);
    assert_eq!(summary["matched"], 1745);
    assert_eq!(summary["rules"]["critical-cves-to-sqs"]["matched"], 212);
    assert_eq!(
        summary["rules"]["image-available-to-lambda"]["matched"],
        745
    );
    assert_eq!(summary["rules"]["image-failed-to-sns"]["matched"], 788);
}

/// `sluice replay` for real, against moto server: the window's events
/// reach the target, each carrying `replay-name` (replay injects in time
/// order; like EventBridge, delivery order is not guaranteed).
#[test]
fn replay_delivers_the_windows_events_marked_with_replay_name() {
    let Some(endpoint) = common::moto_endpoint() else {
        return;
    };
    let queue = format!("cli-replay-{}.fifo", std::process::id());
    let (runtime, sqs) = moto_sqs(&endpoint);
    let url = runtime.block_on(async {
        sqs.create_queue()
            .queue_name(&queue)
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string()
    });
    let dir = temp_dir("replay-moto");
    let group = format!("/sluice/replay-{}", std::process::id());
    let logs = runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await;
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        logs.create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        logs
    });
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        format!(
            r#"[{{"Name": "state-changes", "EventPattern": {{"detail-type": ["EC2 Image Builder Image State Change"], "replay-name": ["moto-replay"]}},
                 "Targets": [{{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:{queue}",
                              "SqsParameters": {{"MessageGroupId": "replay"}},
                              "InputTransformer": {{"InputPathsMap": {{"t": "$.time", "r": "$.replay-name"}},
                                                    "InputTemplate": "{{\"time\": <t>, \"replay\": <r>}}"}}}}]}}]"#
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "replay",
            "--archive",
            &examples("events.jsonl"),
            "--rules",
            rules.to_str().unwrap(),
            "--start",
            "2026-09-14T06:00:00Z",
            "--end",
            "2026-09-14T07:00:00Z",
            "--name",
            "moto-replay",
            "--log-to",
            &format!("arn:aws:logs:us-east-1:123456789012:log-group:{group}"),
        ])
        .envs(moto_env(&endpoint, &dir))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The processing log (INFO) went to the log group: one stream for the run.
    let records: Vec<serde_json::Value> = runtime.block_on(async {
        let streams = logs
            .describe_log_streams()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        assert_eq!(streams.log_streams().len(), 1);
        let stream = streams.log_streams()[0].log_stream_name().unwrap();
        assert!(stream.starts_with("sluice/replay/"), "{stream}");
        let events = logs
            .get_log_events()
            .log_group_name(&group)
            .log_stream_name(stream)
            .start_from_head(true)
            .send()
            .await
            .unwrap();
        events
            .events()
            .iter()
            .map(|e| serde_json::from_str(e.message().unwrap()).unwrap())
            .collect()
    });
    let count = |step: &str| records.iter().filter(|r| r["message_type"] == step).count();
    assert_eq!(count("EVENT_RECEIPT"), 5);
    assert_eq!(count("RULE_MATCH"), 4);
    assert_eq!(count("INVOCATION_SUCCESS"), 4);
    assert_eq!(count("INVOCATION_ATTEMPT_START"), 0, "TRACE only");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // 06:00-07:00 holds four state changes (and one CVE event).
    assert_eq!(summary["events"], 5);
    assert_eq!(
        summary["rules"]["state-changes"]["targets"]["q"]["delivered"],
        4
    );
    let mut bodies = receive_bodies(&runtime, &sqs, &url, 4);
    bodies.sort();
    assert_eq!(
        bodies,
        [
            r#"{"time":"2026-09-14T06:17:03Z","replay":"moto-replay"}"#,
            r#"{"time":"2026-09-14T06:24:06Z","replay":"moto-replay"}"#,
            r#"{"time":"2026-09-14T06:31:09Z","replay":"moto-replay"}"#,
            r#"{"time":"2026-09-14T06:38:12Z","replay":"moto-replay"}"#,
        ]
    );
}

#[test]
fn schedule_run_needs_scheduled_rules() {
    let out = sluice(&[
        "schedule",
        "run",
        "--rules",
        &examples("routes.json"),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no rule with a ScheduleExpression"),
        "{}",
        stderr(&out)
    );
}

/// A processing log that cannot be written (its log group does not exist)
/// fails the command after the events are delivered and summarised.
#[test]
fn a_processing_log_that_cannot_be_written_fails_the_command() {
    let Some(endpoint) = common::moto_endpoint() else {
        return;
    };
    let queue = format!("cli-log-missing-{}", std::process::id());
    let (runtime, sqs) = moto_sqs(&endpoint);
    runtime.block_on(async { sqs.create_queue().queue_name(&queue).send().await.unwrap() });
    let dir = temp_dir("log-missing");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        format!(
            r#"[{{"Name": "failed", "EventPattern": {{"detail": {{"state": {{"status": ["FAILED"]}}}}}},
                 "Targets": [{{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:{queue}"}}]}}]"#
        ),
    )
    .unwrap();
    let group = format!(
        "arn:aws:logs:us-east-1:123456789012:log-group:/sluice/missing-{}",
        std::process::id()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "route",
            "--rules",
            rules.to_str().unwrap(),
            "--log-to",
            &group,
            &examples("events.jsonl"),
        ])
        .envs(moto_env(&endpoint, &dir))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["rules"]["failed"]["targets"]["q"]["delivered"], 2);
    assert!(
        stderr(&out).contains("records could not be written"),
        "{}",
        stderr(&out)
    );
}

/// `match` and `route --dry-run` answer each line of a live pipe before the
/// next arrives: the test writes one event, reads its answer, and only then
/// writes the next. Were output held until a batch filled or input ended,
/// the read would never return (the 60 s guard only keeps the suite from
/// hanging).
#[test]
fn match_and_route_stream_a_live_pipe() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;
    let rules = examples("routes.json");
    let events = std::fs::read_to_string(examples("events.jsonl")).unwrap();
    let lines: Vec<&str> = events.lines().take(6).collect();
    for args in [
        vec!["match", "--rules", rules.as_str(), "-"],
        vec!["route", "--dry-run", "--rules", rules.as_str(), "-"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let (sender, answers) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if sender.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        for (i, line) in lines.iter().enumerate() {
            writeln!(stdin, "{line}").unwrap();
            stdin.flush().unwrap();
            let answer = answers
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!(
                        "{args:?}: no answer to line {} while the pipe is open",
                        i + 1
                    )
                });
            let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
            assert_eq!(answer["line"], i + 1, "{args:?}");
        }
        drop(stdin);
        let code = child.wait().unwrap().code();
        // `match` exits 1 when no event matched; lines 4 and 6 do.
        assert_eq!(code, Some(0), "{args:?}");
    }
}

/// A plain file replayed says what it skips: an event that already carries
/// `replay-name`, one without a time; and counts a late event, which it
/// still replays.
#[test]
fn replay_of_a_plain_file_names_what_it_skips() {
    let dir = temp_dir("replay-skips");
    let events = dir.join("events.jsonl");
    let event = |id: &str, time: &str, extra: &str| {
        format!(
            r#"{{"id":"{id}","source":"aws.imagebuilder","detail-type":"EC2 Image Builder Image State Change","time":"{time}","region":"us-east-1"{extra},"detail":{{"state":{{"status":"FAILED"}}}}}}"#
        )
    };
    let lines = [
        event("a", "2026-09-14T07:30:00Z", ""),
        event("b", "2026-09-14T07:31:00Z", r#","replay-name":"earlier""#),
        r#"{"id":"c","source":"aws.imagebuilder","detail":{}}"#.to_string(),
        event("d", "2026-09-14T09:00:00Z", ""),
        // Its minute was replayed when the 09:00 event was read: late.
        event("e", "2026-09-14T07:29:00Z", ""),
    ];
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let out = sluice(&[
        "replay",
        "--archive",
        events.to_str().unwrap(),
        "--rules",
        &examples("routes.json"),
        "--start",
        "2026-09-14T00:00:00Z",
        "--end",
        "2026-09-15T00:00:00Z",
        "--lateness",
        "60",
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["events"], 3, "{summary}");
    assert_eq!(summary["already_replayed"], 1);
    assert_eq!(summary["unreadable"], 1);
    assert_eq!(summary["late_events"], 1);
    assert_eq!(summary["rules"]["image-failed-to-sns"]["matched"], 3);
    let err = stderr(&out);
    assert!(
        err.contains(":2: skipped: it already carries \"replay-name\""),
        "{err}"
    );
    assert!(err.contains(":3: skipped: no RFC 3339 \"time\""), "{err}");
}

/// `explain` refuses an event without the envelope exactly as
/// `test-event-pattern` does (spec/README.md, "Events without the
/// envelope"); `match` takes it as it is.
#[test]
fn the_envelope_rule_is_the_same_in_every_command() {
    let pattern = r#"{"source": ["aws.imagebuilder"]}"#;
    let bare = r#"{"source": "aws.imagebuilder"}"#;
    let tested = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        pattern,
        "--event",
        bare,
    ]);
    let explained = sluice(&["explain", "--event-pattern", pattern, "--event", bare]);
    assert_eq!(tested.status.code(), Some(2));
    assert_eq!(explained.status.code(), Some(2));
    assert_eq!(stderr(&tested), stderr(&explained));
    assert!(stderr(&explained).contains("Parameter Event is not valid."));
    let dir = temp_dir("envelope-rule");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        format!(r#"[{{"Name": "r", "EventPattern": {pattern}}}]"#),
    )
    .unwrap();
    let matched = sluice_stdin(
        &["match", "--rules", rules.to_str().unwrap(), "-"],
        format!("{bare}\n").as_bytes(),
    );
    assert_eq!(
        stdout(&matched),
        "{\"file\":\"-\",\"line\":1,\"rules\":[\"r\"]}\n"
    );
}

/// `schedule run --dry-run` prints each delivery with the Scheduled
/// Event's id and, stopped, a summary of what would have been delivered:
/// nothing in it says `delivered`. (A cron of every minute fires within a
/// minute of the start; the 120 s guard only keeps the suite from hanging.)
#[test]
fn schedule_run_dry_run_reports_what_it_would_deliver() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::Duration;
    let dir = temp_dir("schedule-dry-run");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"Name": "every-minute", "ScheduleExpression": "cron(* * * * ? *)",
             "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:ticks"}]}]"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "schedule",
            "run",
            "--rules",
            rules.to_str().unwrap(),
            "--dry-run",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = sender.send(line.unwrap());
        }
    });
    let line = lines
        .recv_timeout(Duration::from_secs(120))
        .expect("a scheduled delivery within two minutes");
    let delivery: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(delivery["arn"], "arn:aws:sqs:us-east-1:123456789012:ticks");
    let payload: serde_json::Value =
        serde_json::from_str(delivery["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["detail-type"], "Scheduled Event");
    assert_eq!(delivery["id"], payload["id"]);
    assert!(delivery["id"].as_str().is_some_and(|id| !id.is_empty()));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    let summary = err.lines().last().unwrap();
    let summary: serde_json::Value = serde_json::from_str(summary).unwrap();
    assert!(summary["every-minute"]["targets"]["q"]["would_deliver"].as_u64() >= Some(1));
    assert!(!summary.to_string().contains("delivered\""), "{summary}");
}
