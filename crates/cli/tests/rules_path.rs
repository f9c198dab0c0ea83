//! One rules file, written as JSON, as YAML and as a CloudFormation
//! template, gives the same matched rules per event in `match`,
//! `route --dry-run` and `replay --dry-run`; and a bad file is refused in
//! the same words by every command.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{sluice, stderr, stdout, temp_dir};

const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:q";

/// The rules as a list of PutRule requests with their targets.
fn rules_json() -> String {
    format!(
        r#"[
  {{"Name": "ec2-calls", "EventPattern": {{"source": ["aws.ec2"]}},
    "Targets": [{{"Id": "t", "Arn": "{QUEUE}"}}]}},
  {{"Name": "ec2-all-calls", "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
    "EventPattern": {{"source": ["aws.ec2"]}}, "Targets": [{{"Id": "t", "Arn": "{QUEUE}"}}]}},
  {{"Name": "ec2-off", "State": "DISABLED", "EventPattern": {{"source": ["aws.ec2"]}},
    "Targets": [{{"Id": "t", "Arn": "{QUEUE}"}}]}},
  {{"Name": "ec2-on-ops", "EventBusName": "ops", "EventPattern": {{"source": ["aws.ec2"]}},
    "Targets": [{{"Id": "t", "Arn": "{QUEUE}"}}]}},
  {{"Name": "nightly", "ScheduleExpression": "rate(1 day)",
    "Targets": [{{"Id": "t", "Arn": "{QUEUE}"}}]}},
  {{"Name": "big-orders", "EventPattern": "{{\"source\": [\"shop\"], \"detail\": {{\"total\": [{{\"numeric\": [\">\", 100]}}]}}}}",
    "Targets": [{{"Id": "t", "Arn": "{QUEUE}"}}]}},
  {{"Name": "orders", "EventPattern": {{"detail-type": [{{"prefix": "Order"}}]}},
    "Targets": [{{"Id": "t", "Arn": "{QUEUE}"}}]}}
]"#
    )
}

/// The same rules as YAML.
fn rules_yaml() -> String {
    format!(
        r#"- Name: ec2-calls
  EventPattern: {{source: [aws.ec2]}}
  Targets: [{{Id: t, Arn: "{QUEUE}"}}]
- Name: ec2-all-calls
  State: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
  EventPattern: {{source: [aws.ec2]}}
  Targets: [{{Id: t, Arn: "{QUEUE}"}}]
- Name: ec2-off
  State: DISABLED
  EventPattern: {{source: [aws.ec2]}}
  Targets: [{{Id: t, Arn: "{QUEUE}"}}]
- Name: ec2-on-ops
  EventBusName: ops
  EventPattern: {{source: [aws.ec2]}}
  Targets: [{{Id: t, Arn: "{QUEUE}"}}]
- Name: nightly
  ScheduleExpression: rate(1 day)
  Targets: [{{Id: t, Arn: "{QUEUE}"}}]
- Name: big-orders
  EventPattern:
    source: [shop]
    detail:
      total: [{{numeric: [">", 100]}}]
  Targets: [{{Id: t, Arn: "{QUEUE}"}}]
- Name: orders
  EventPattern:
    detail-type: [{{prefix: Order}}]
  Targets: [{{Id: t, Arn: "{QUEUE}"}}]
"#
    )
}

/// The same rules as a CloudFormation template; the queue comes from a
/// parameter default.
fn rules_template() -> String {
    let rule = |logical: &str, properties: &str| {
        format!(
            r#"    {logical}:
      Type: AWS::Events::Rule
      Properties:
{properties}
        Targets:
          - Id: t
            Arn: !Ref QueueArn
"#
        )
    };
    let mut text = format!(
        "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  QueueArn:\n    Type: String\n    Default: {QUEUE}\nResources:\n"
    );
    for (logical, properties) in [
        (
            "Ec2Calls",
            "        Name: ec2-calls\n        EventPattern: {source: [aws.ec2]}",
        ),
        (
            "Ec2AllCalls",
            "        Name: ec2-all-calls\n        State: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS\n        EventPattern: {source: [aws.ec2]}",
        ),
        (
            "Ec2Off",
            "        Name: ec2-off\n        State: DISABLED\n        EventPattern: {source: [aws.ec2]}",
        ),
        (
            "Ec2OnOps",
            "        Name: ec2-on-ops\n        EventBusName: ops\n        EventPattern: {source: [aws.ec2]}",
        ),
        (
            "Nightly",
            "        Name: nightly\n        ScheduleExpression: rate(1 day)",
        ),
        (
            "BigOrders",
            "        Name: big-orders\n        EventPattern:\n          source: [shop]\n          detail:\n            total: [{numeric: ['>', 100]}]",
        ),
        (
            "Orders",
            "        Name: orders\n        EventPattern:\n          detail-type: [{prefix: Order}]",
        ),
    ] {
        text.push_str(&rule(logical, properties));
    }
    text
}

/// Events one second apart, and the rules each must reach on the default bus.
fn events() -> Vec<(String, &'static [&'static str])> {
    let event = |n: usize, source: &str, detail_type: &str, detail: &str| {
        format!(
            r#"{{"version": "0", "id": "e{n}", "detail-type": "{detail_type}", "source": "{source}", "account": "123456789012", "time": "2026-09-14T06:00:0{n}Z", "region": "us-east-1", "resources": [], "detail": {detail}}}"#
        )
    };
    vec![
        (
            event(
                1,
                "aws.ec2",
                "AWS API Call via CloudTrail",
                r#"{"eventName": "RunInstances", "readOnly": false, "managementEvent": true}"#,
            ),
            &["ec2-calls", "ec2-all-calls"],
        ),
        (
            event(
                2,
                "aws.ec2",
                "AWS API Call via CloudTrail",
                r#"{"eventName": "DescribeInstances", "readOnly": true, "managementEvent": true}"#,
            ),
            &["ec2-all-calls"],
        ),
        (
            event(3, "shop", "Order Placed", r#"{"total": 250}"#),
            &["big-orders", "orders"],
        ),
        (
            event(4, "shop", "Order Placed", r#"{"total": 5}"#),
            &["orders"],
        ),
        (event(5, "elsewhere", "Other", "{}"), &[]),
    ]
}

fn names(list: &serde_json::Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Matched rules per event (by line) from `sluice match`.
fn by_match(rules: &Path, events: &Path) -> Vec<BTreeSet<String>> {
    let out = sluice(&[
        "match",
        "--rules",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    lines(&out).iter().map(|l| names(&l["rules"])).collect()
}

/// Matched rules per event from `sluice route --dry-run`, which also
/// names each event by its id.
fn by_route(rules: &Path, events: &Path) -> Vec<(String, BTreeSet<String>)> {
    let out = sluice(&[
        "route",
        "--dry-run",
        "--rules",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    lines(&out)
        .iter()
        .map(|l| {
            let rules = l["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["rule"].as_str().unwrap().to_string())
                .collect();
            (l["id"].as_str().unwrap_or("").to_string(), rules)
        })
        .collect()
}

/// Matched rules of the one event in the second starting at `time`, from
/// `sluice replay --dry-run` over the event file.
fn by_replay(rules: &Path, events: &Path, second: usize) -> BTreeSet<String> {
    let start = format!("2026-09-14T06:00:0{second}Z");
    let end = format!("2026-09-14T06:00:0{}Z", second + 1);
    let out = sluice(&[
        "replay",
        "--dry-run",
        "--archive",
        events.to_str().unwrap(),
        "--start",
        &start,
        "--end",
        &end,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["events"], 1, "{summary}");
    summary["rules"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, counts)| counts["matched"].as_u64() > Some(0))
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn json_yaml_and_template_match_the_same_rules_in_every_command() {
    let dir = temp_dir("rules-path");
    let events = events();
    let events_path = dir.join("events.jsonl");
    let text: String = events.iter().map(|(e, _)| format!("{e}\n")).collect();
    std::fs::write(&events_path, text).unwrap();
    let expected: Vec<BTreeSet<String>> = events
        .iter()
        .map(|(_, rules)| rules.iter().map(|r| r.to_string()).collect())
        .collect();
    for (file, text) in [
        ("rules.json", rules_json()),
        ("rules.yaml", rules_yaml()),
        ("template.yaml", rules_template()),
    ] {
        let rules = dir.join(file);
        std::fs::write(&rules, text).unwrap();
        assert_eq!(by_match(&rules, &events_path), expected, "match, {file}");
        let routed = by_route(&rules, &events_path);
        let ids: Vec<&str> = routed.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["e1", "e2", "e3", "e4", "e5"], "route ids, {file}");
        let routed: Vec<BTreeSet<String>> = routed.into_iter().map(|(_, r)| r).collect();
        assert_eq!(routed, expected, "route --dry-run, {file}");
        for (second, rules_of_event) in expected.iter().enumerate() {
            assert_eq!(
                &by_replay(&rules, &events_path, second + 1),
                rules_of_event,
                "replay --dry-run of e{}, {file}",
                second + 1
            );
        }
    }
}

#[test]
fn a_bad_rules_file_is_refused_in_the_same_words_everywhere() {
    let dir = temp_dir("rules-path-bad");
    let events_path = dir.join("events.jsonl");
    std::fs::write(&events_path, format!("{}\n", events()[0].0)).unwrap();
    let cases = [
        (
            r#"[{"Name": "r", "EventPattern": {"a": []}}]"#,
            "rule r: InvalidEventPatternException: Event pattern is not valid. Reason: Empty arrays are not allowed",
        ),
        (
            r#"[{"Name": "r", "EventPattern": {"a": ["1"]}, "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputPth": "$.detail"}]}]"#,
            r#"rule r: Unknown parameter in Targets[0]: "InputPth", must be one of: Id, Arn, RoleArn, Input, InputPath, InputTransformer, KinesisParameters, RunCommandParameters, EcsParameters, BatchParameters, SqsParameters, HttpParameters, RedshiftDataParameters, SageMakerPipelineParameters, DeadLetterConfig, RetryPolicy, AppSyncParameters"#,
        ),
    ];
    for (text, said) in cases {
        let rules = dir.join("rules.json");
        std::fs::write(&rules, text).unwrap();
        let rules = rules.to_str().unwrap();
        let events = events_path.to_str().unwrap();
        let window = [
            "--start",
            "2026-01-01T00:00:00Z",
            "--end",
            "2027-01-01T00:00:00Z",
        ];
        let archive_dir = dir.join("archives");
        let runs: Vec<Vec<&str>> = vec![
            vec!["match", "--rules", rules, events],
            vec!["bench", "--rules", rules, events],
            vec!["route", "--dry-run", "--rules", rules, events],
            [
                &["replay", "--dry-run", "--archive", events, "--rules", rules][..],
                &window,
            ]
            .concat(),
            vec![
                "archive",
                "--rules",
                rules,
                "--archive-dir",
                archive_dir.to_str().unwrap(),
                events,
            ],
        ];
        for args in runs {
            let out = sluice(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert_eq!(
                stderr(&out),
                format!("sluice: {rules}: {said}\n"),
                "{args:?}"
            );
        }
    }
}
