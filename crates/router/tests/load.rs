//! Rules files in every accepted shape, and the errors for bad ones.

use sluice_router::arn::TargetKind;
use sluice_router::load::{LoadError, Parameters, parse_rules};
use sluice_router::model::{Environment, Rule, RuleState};
use sluice_router::transform::InputShape;

fn load(text: &str) -> Result<Vec<Rule>, LoadError> {
    parse_rules(
        "rules",
        text,
        &Parameters::default(),
        &Environment::default(),
    )
}

fn load_with(text: &str, parameters: &str) -> Result<Vec<Rule>, LoadError> {
    let parameters = Parameters::parse("params", parameters).unwrap();
    parse_rules("template", text, &parameters, &Environment::default())
}

#[test]
fn list_of_rules_with_inline_targets() {
    let rules = load(
        r#"[{"Name": "failed", "EventPattern": "{\"detail\": {\"state\": {\"status\": [\"FAILED\"]}}}",
             "Description": "d", "State": "ENABLED",
             "Targets": [{"Id": "sns", "Arn": "arn:aws:sns:us-east-1:123456789012:alerts",
                          "RoleArn": "arn:aws:iam::123456789012:role/ignored",
                          "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 400}}]},
            {"Name": "nightly", "ScheduleExpression": "rate(1 day)", "State": "DISABLED"}]"#,
    )
    .unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].description.as_deref(), Some("d"));
    assert_eq!(rules[0].targets[0].kind, TargetKind::SnsTopic);
    assert_eq!(rules[0].targets[0].retry_policy.maximum_retry_attempts, 4);
    assert_eq!(rules[1].state, RuleState::Disabled);
    assert_eq!(rules[1].schedule_expression.as_deref(), Some("rate(1 day)"));
}

#[test]
fn put_rule_and_put_targets_requests() {
    let rules = load(
        r#"{"Rules": [{"Name": "r", "EventBusName": "ops", "EventPattern": {"n": [1.50]}}],
            "Targets": [{"Rule": "r", "EventBusName": "ops", "Targets": [
                {"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputPath": "$.detail"}]}]}"#,
    )
    .unwrap();
    assert_eq!(rules[0].bus, "ops");
    // Numbers in patterns keep their exact text.
    assert_eq!(rules[0].event_pattern.as_deref(), Some(r#"{"n":[1.50]}"#));
    assert!(matches!(rules[0].targets[0].input, InputShape::Path(_)));
    let err = load(r#"{"Rules": [], "Targets": [{"Rule": "nope", "Targets": []}]}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules: rule nope: Rule nope does not exist on EventBus default."
    );
    let single = load(r#"{"Name": "one", "EventPattern": {"source": ["a"]}}"#).unwrap();
    assert_eq!(single[0].name, "one");
}

#[test]
fn yaml_rules_files() {
    let rules = load(
        "- Name: cve\n  EventPattern:\n    source: [aws.inspector2]\n    detail:\n      severity: [CRITICAL]\n  Targets:\n    - Id: q\n      Arn: arn:aws:sqs:us-east-1:123456789012:cves\n",
    )
    .unwrap();
    assert_eq!(
        rules[0].event_pattern.as_deref(),
        Some(r#"{"detail":{"severity":["CRITICAL"]},"source":["aws.inspector2"]}"#)
    );
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Stage:
    Type: String
    Default: prod
Resources:
  Alerts:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: image-alerts
  Failures:
    Type: AWS::SQS::Queue
  ImageFailed:
    Type: AWS::Events::Rule
    Properties:
      Description: !Sub "image failures in ${Stage}"
      EventPattern:
        source: [aws.imagebuilder]
        detail-type: [EC2 Image Builder Image State Change]
        detail:
          state:
            status: [FAILED]
      Targets:
        - Id: alerts
          Arn: !Ref Alerts
        - Id: queue
          Arn: !GetAtt Failures.Arn
          DeadLetterConfig:
            Arn: !Sub "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:dlq-${Stage}"
  Named:
    Type: AWS::Events::Rule
    Properties:
      Name: explicit-name
      State: DISABLED
      ScheduleExpression: rate(5 minutes)
"#;

#[test]
fn cloudformation_templates_resolve_intrinsics() {
    let rules = load_with(
        TEMPLATE,
        r#"{"Failures.Arn": "arn:aws:sqs:us-east-1:123456789012:failures"}"#,
    )
    .unwrap();
    assert_eq!(rules.len(), 2);
    let failed = &rules[0];
    assert_eq!(failed.name, "ImageFailed");
    assert_eq!(
        failed.description.as_deref(),
        Some("image failures in prod")
    );
    assert_eq!(
        failed.targets[0].arn.as_str(),
        "arn:aws:sns:us-east-1:123456789012:image-alerts"
    );
    assert_eq!(
        failed.targets[1].arn.as_str(),
        "arn:aws:sqs:us-east-1:123456789012:failures"
    );
    assert_eq!(
        failed.targets[1]
            .dead_letter_queue
            .as_ref()
            .unwrap()
            .as_str(),
        "arn:aws:sqs:us-east-1:123456789012:dlq-prod"
    );
    assert_eq!(rules[1].name, "explicit-name");
    // Parameters override template defaults; the CLI list form works too.
    let staged = load_with(
        TEMPLATE,
        r#"[{"ParameterKey": "Stage", "ParameterValue": "dev"},
            {"ParameterKey": "Failures.Arn", "ParameterValue": "arn:aws:sqs:us-east-1:123456789012:f"}]"#,
    )
    .unwrap();
    assert!(
        staged[0].targets[1]
            .dead_letter_queue
            .as_ref()
            .unwrap()
            .as_str()
            .ends_with("dlq-dev")
    );
}

#[test]
fn unresolved_references_name_the_rule_and_field() {
    let err = load_with(TEMPLATE, "{}").unwrap_err();
    assert_eq!(err.file, "template");
    assert_eq!(err.rule.as_deref(), Some("ImageFailed"));
    assert_eq!(err.field.as_deref(), Some("Targets[1].Arn"));
    assert!(err.message.contains("cannot resolve Failures.Arn"), "{err}");
}

#[test]
fn invalid_definitions_get_aws_error_text() {
    let err = load(r#"[{"Name": "r", "EventPattern": {"a": "b"}}]"#).unwrap_err();
    assert_eq!(err.rule.as_deref(), Some("r"));
    assert!(
        err.message
            .starts_with("InvalidEventPatternException: Event pattern is not valid. Reason: "),
        "{err}"
    );
    let six: Vec<String> = (0..6)
        .map(|i| format!(r#"{{"Id": "t{i}", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}}"#))
        .collect();
    let err = load(&format!(
        r#"[{{"Name": "r", "EventPattern": {{"a": ["b"]}}, "Targets": [{}]}}]"#,
        six.join(",")
    ))
    .unwrap_err();
    assert_eq!(
        err.message,
        "LimitExceededException: The requested resource exceeds the maximum number allowed."
    );
    let err = load(
        r#"[{"Name": "r", "EventPattern": {"a": ["b"]}, "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:123456789012:q",
             "Input": "{}", "InputPath": "$"}]}]"#,
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "ValidationException: Only one of Input, InputPath, or InputTransformer must be provided for target t."
    );
    let err = load(r#"[{"Name": "r", "EventPattern": {"a": ["b"]}, "Targets": [{"Id": "t"}]}]"#)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rules: rule r: Targets[0].Arn: a target needs Arn"
    );
    let err = load(
        r#"[{"Name": "r", "EventPattern": {"a": ["b"]}}, {"Name": "r", "EventPattern": {"a": ["c"]}}]"#,
    )
    .unwrap_err();
    assert!(err.message.contains("already exists"), "{err}");
    assert!(load("not json or yaml: [").is_err());
    assert!(load(r#"{"Something": 1}"#).is_err());
}

#[test]
fn archives_from_rules_files_and_templates() {
    use sluice_router::load::parse_archives;
    let template = r#"
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: images
  ImageEvents:
    Type: AWS::Events::Archive
    Properties:
      SourceArn: !Sub "arn:aws:events:${AWS::Region}:${AWS::AccountId}:event-bus/images"
      EventPattern:
        source: [aws.imagebuilder]
      RetentionDays: 14
"#;
    let archives = parse_archives(
        "template.yaml",
        template,
        &Parameters::default(),
        &Environment::default(),
    )
    .unwrap();
    assert_eq!(archives.len(), 1);
    assert_eq!(archives[0].name, "ImageEvents");
    assert_eq!(archives[0].bus, "images");
    assert_eq!(archives[0].retention_days, 14);
    assert_eq!(
        archives[0].event_pattern.as_deref(),
        Some(r#"{"source":["aws.imagebuilder"]}"#)
    );
    let err = parse_archives(
        "rules.json",
        r#"{"Archives": [{"ArchiveName": "bad name"}]}"#,
        &Parameters::default(),
        &Environment::default(),
    )
    .unwrap_err();
    assert_eq!(err.rule.as_deref(), Some("Archives[0]"));
    assert!(err.message.contains("archiveName"), "{err}");
    let err = parse_archives(
        "rules.json",
        r#"{"Archives": [{"ArchiveName": "a", "EventSourceArn": "arn:aws:sqs:us-east-1:1:q"}]}"#,
        &Parameters::default(),
        &Environment::default(),
    )
    .unwrap_err();
    assert!(err.message.contains("not an event bus ARN"), "{err}");
}

#[test]
fn sam_functions_with_eventbridge_rule_events() {
    let template = r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  Notifier:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: image-notifier
      Runtime: python3.12
      Handler: app.handler
      Events:
        ImageFailed:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.imagebuilder]
              detail:
                state:
                  status: [FAILED]
            InputPath: $.detail
            RetryPolicy:
              MaximumRetryAttempts: 3
        Nightly:
          Type: Schedule
          Properties:
            Schedule: rate(1 day)
  Unnamed:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Cves:
          Type: CloudWatchEvent
          Properties:
            RuleName: cves
            Pattern:
              detail-type: [EC2 Image Builder CVE Detected]
"#;
    let rules = load_with(
        template,
        r#"{"Unnamed.Arn": "arn:aws:lambda:us-east-1:123456789012:function:unnamed"}"#,
    )
    .unwrap();
    assert_eq!(rules.len(), 2);
    let failed = &rules[0];
    assert_eq!(failed.name, "NotifierImageFailed");
    assert_eq!(failed.targets[0].id, "NotifierImageFailedLambdaTarget");
    assert_eq!(
        failed.targets[0].arn.as_str(),
        "arn:aws:lambda:us-east-1:123456789012:function:image-notifier"
    );
    assert_eq!(failed.targets[0].retry_policy.maximum_retry_attempts, 3);
    assert!(matches!(failed.targets[0].input, InputShape::Path(_)));
    assert_eq!(rules[1].name, "cves");
    let err = load_with(template, "{}").unwrap_err();
    assert_eq!(err.rule.as_deref(), Some("UnnamedCves"));
    assert!(err.message.contains("cannot resolve Unnamed.Arn"), "{err}");
}

#[test]
fn unknown_members_are_refused_in_the_aws_cli_words() {
    let refused = |text: &str| load(text).err().map(|e| e.to_string());
    assert_eq!(
        refused(
            r#"[{"Name": "r", "EventPattern": {"a": ["1"]}, "Targets": [{"Id": "t",
                "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RetryPolicy": {"MaxRetries": 1}}]}]"#
        )
        .as_deref(),
        Some(
            r#"rules: rule r: Unknown parameter in Targets[0].RetryPolicy: "MaxRetries", must be one of: MaximumRetryAttempts, MaximumEventAgeInSeconds"#
        )
    );
    let rule = refused(r#"[{"Name": "r", "EventPatern": {"a": ["1"]}}]"#).unwrap_or_default();
    assert!(
        rule.starts_with(r#"rules: rule r: Unknown parameter in input: "EventPatern", must be one of: Name, ScheduleExpression, EventPattern,"#),
        "{rule}"
    );
    let file = refused(r#"{"Rules": [], "Rulez": []}"#).unwrap_or_default();
    assert!(
        file.starts_with(r#"rules: Unknown parameter in input: "Rulez""#),
        "{file}"
    );
    let template = refused(
        "Resources:\n  R:\n    Type: AWS::Events::Rule\n    Properties:\n      EventPattern: {a: ['1']}\n      Targets:\n        - {Id: t, Arn: 'arn:aws:sqs:us-east-1:123456789012:q', InputPth: $.x}\n",
    );
    assert_eq!(
        template.as_deref(),
        Some("rules: rule R: Targets[0]: Encountered unsupported property InputPth")
    );
    // ListRules output carries Arn and ManagedBy; they are not errors.
    assert!(
        load(r#"{"Rules": [{"Name": "r", "Arn": "arn:aws:events:us-east-1:123456789012:rule/r", "ManagedBy": "x", "EventPattern": "{\"a\": [\"1\"]}"}], "NextToken": "n"}"#)
            .is_ok()
    );
}
