//! The EventBridge resource model: buses, rules and targets, checked with
//! AWS's limits and error texts.

use std::time::Duration;

use crate::arn::{Arn, TargetKind};
use crate::target_parameters::{TargetParameters, WrittenParameters};
use crate::transform::InputShape;
use crate::validation::ValidationError;

/// Most targets a rule may have.
pub const MAX_TARGETS_PER_RULE: usize = 5;
/// Longest rule name and target id.
pub const MAX_NAME_LEN: usize = 64;
/// Longest rule description.
pub const MAX_DESCRIPTION_LEN: usize = 512;
/// Longest event pattern the PutRule API accepts.
pub const MAX_EVENT_PATTERN_LEN: usize = 4096;
/// Longest schedule expression.
pub const MAX_SCHEDULE_EXPRESSION_LEN: usize = 256;
/// Most retries a retry policy may ask for (also the default).
pub const MAX_RETRY_ATTEMPTS: u32 = 185;
/// Shortest and longest maximum event age, in seconds (the longest is the default).
pub const EVENT_AGE_RANGE_SECONDS: (u32, u32) = (60, 86_400);
/// The name of the default event bus.
pub const DEFAULT_BUS: &str = "default";

/// Where rule ARNs point: the region and account sluice stands in for.
///
/// ```
/// use sluice_router::model::Environment;
/// let env = Environment::default();
/// assert_eq!(env.rule_arn("default", "r"), "arn:aws:events:us-east-1:123456789012:rule/r");
/// assert_eq!(env.rule_arn("ops", "r"), "arn:aws:events:us-east-1:123456789012:rule/ops/r");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Region, e.g. `us-east-1`.
    pub region: String,
    /// Twelve-digit account id.
    pub account: String,
}

impl Default for Environment {
    fn default() -> Environment {
        Environment {
            region: "us-east-1".to_string(),
            account: "123456789012".to_string(),
        }
    }
}

impl Environment {
    /// An environment, checked: a region such as `us-east-1` and a
    /// twelve-digit account id.
    ///
    /// ```
    /// use sluice_router::model::Environment;
    /// assert!(Environment::new("eu-west-2", "210987654321").is_ok());
    /// assert!(Environment::new("moon", "210987654321").is_err());
    /// assert!(Environment::new("us-east-1", "12345").is_err());
    /// ```
    pub fn new(region: &str, account: &str) -> Result<Environment, ValidationError> {
        check_region(region)?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::validation(format!(
                "Account {account:?} is not valid: an account id is twelve digits."
            )));
        }
        Ok(Environment {
            region: region.to_string(),
            account: account.to_string(),
        })
    }

    /// The ARN of a rule: `…:rule/NAME` on the default bus,
    /// `…:rule/BUS/NAME` on a custom bus.
    pub fn rule_arn(&self, bus: &str, rule: &str) -> String {
        if bus == DEFAULT_BUS {
            format!(
                "arn:aws:events:{}:{}:rule/{rule}",
                self.region, self.account
            )
        } else {
            format!(
                "arn:aws:events:{}:{}:rule/{bus}/{rule}",
                self.region, self.account
            )
        }
    }
}

/// A rule's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleState {
    /// Matches every event except read-only CloudTrail management events.
    #[default]
    Enabled,
    /// Matches nothing.
    Disabled,
    /// Matches every event, read-only CloudTrail management events included.
    EnabledWithAllCloudTrailManagementEvents,
}

impl RuleState {
    /// Reads AWS's spelling of a state.
    ///
    /// ```
    /// use sluice_router::model::RuleState;
    /// assert_eq!(RuleState::parse("DISABLED").unwrap(), RuleState::Disabled);
    /// assert!(RuleState::parse("OFF").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<RuleState, ValidationError> {
        match text {
            "ENABLED" => Ok(RuleState::Enabled),
            "DISABLED" => Ok(RuleState::Disabled),
            "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" => {
                Ok(RuleState::EnabledWithAllCloudTrailManagementEvents)
            }
            _ => Err(ValidationError::constraint(
                text,
                "state",
                "Member must satisfy enum value set: [ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, DISABLED, ENABLED]",
            )),
        }
    }

    /// AWS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleState::Enabled => "ENABLED",
            RuleState::Disabled => "DISABLED",
            RuleState::EnabledWithAllCloudTrailManagementEvents => {
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
            }
        }
    }
}

/// A target's retry policy.
///
/// ```
/// use sluice_router::model::RetryPolicy;
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.maximum_retry_attempts, 185);
/// assert_eq!(policy.maximum_event_age.as_secs(), 86_400);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0–185).
    pub maximum_retry_attempts: u32,
    /// How long after ingestion an event may still be retried (60 s–24 h).
    pub maximum_event_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            maximum_retry_attempts: MAX_RETRY_ATTEMPTS,
            maximum_event_age: Duration::from_secs(u64::from(EVENT_AGE_RANGE_SECONDS.1)),
        }
    }
}

/// A target as written in PutTargets, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetDefinition {
    /// `Id`.
    pub id: String,
    /// `Arn`.
    pub arn: String,
    /// `RoleArn`: accepted and not used (sluice calls targets with its own credentials).
    pub role_arn: Option<String>,
    /// `Input`.
    pub input: Option<String>,
    /// `InputPath`.
    pub input_path: Option<String>,
    /// `InputTransformer.InputPathsMap`, in file order.
    pub input_paths_map: Option<Vec<(String, String)>>,
    /// `InputTransformer.InputTemplate`.
    pub input_template: Option<String>,
    /// `RetryPolicy.MaximumRetryAttempts`.
    pub maximum_retry_attempts: Option<i64>,
    /// `RetryPolicy.MaximumEventAgeInSeconds`.
    pub maximum_event_age_in_seconds: Option<i64>,
    /// `DeadLetterConfig.Arn`.
    pub dead_letter_arn: Option<String>,
    /// `KinesisParameters.PartitionKeyPath`.
    pub partition_key_path: Option<String>,
    /// `SqsParameters.MessageGroupId`.
    pub message_group_id: Option<String>,
    /// `RunCommandParameters.RunCommandTargets`: (`Key`, `Values`) blocks.
    pub run_command_targets: Option<Vec<(String, Vec<String>)>>,
}

/// A rule as written in PutRule (plus its targets), before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleDefinition {
    /// `Name`.
    pub name: String,
    /// `EventBusName`: a name or a bus ARN; `None` is the default bus.
    pub event_bus_name: Option<String>,
    /// `EventPattern` as JSON text.
    pub event_pattern: Option<String>,
    /// `ScheduleExpression`.
    pub schedule_expression: Option<String>,
    /// `State` as written (`None` is `ENABLED`).
    pub state: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// `RoleArn`: accepted and not used.
    pub role_arn: Option<String>,
    /// The rule's targets.
    pub targets: Vec<TargetDefinition>,
}

/// A checked target, ready to deliver to.
#[derive(Debug, Clone)]
pub struct Target {
    /// `Id`, unique within its rule.
    pub id: String,
    /// Where deliveries go.
    pub arn: Arn,
    /// What kind of resource that is.
    pub kind: TargetKind,
    /// What the target receives.
    pub input: InputShape,
    /// Retries.
    pub retry_policy: RetryPolicy,
    /// The SQS queue failed deliveries go to.
    pub dead_letter_queue: Option<Arn>,
    /// What this kind of target needs beyond its ARN and input.
    pub parameters: TargetParameters,
}

/// A checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `Name`, unique on its bus.
    pub name: String,
    /// The bus's name.
    pub bus: String,
    /// The rule's ARN.
    pub arn: String,
    /// The event pattern, checked by the pattern engine.
    pub event_pattern: Option<String>,
    /// The schedule expression as written.
    pub schedule_expression: Option<String>,
    /// State.
    pub state: RuleState,
    /// Description.
    pub description: Option<String>,
    /// Targets, at most five.
    pub targets: Vec<Target>,
}

/// Checks a region name: lower-case words joined by `-`, ending in a number
/// (`us-east-1`, `us-gov-west-1`, `ap-southeast-4`).
///
/// ```
/// use sluice_router::model::check_region;
/// assert!(check_region("us-gov-west-1").is_ok());
/// assert!(check_region("us-east").is_err());
/// assert!(check_region("../x").is_err());
/// ```
pub fn check_region(region: &str) -> Result<(), ValidationError> {
    let parts: Vec<&str> = region.split('-').collect();
    let valid = parts.len() >= 3
        && region.len() <= 32
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if !valid {
        return Err(ValidationError::validation(format!(
            "Region {region:?} is not valid: a region is written like us-east-1."
        )));
    }
    Ok(())
}

/// Checks a rule name as PutRule does.
///
/// ```
/// use sluice_router::model::check_rule_name;
/// assert!(check_rule_name("image-failed").is_ok());
/// assert!(check_rule_name("").is_err());
/// assert!(check_rule_name("../../x y").is_err());
/// ```
pub fn check_rule_name(name: &str) -> Result<(), ValidationError> {
    check_name(name, "name")
}

/// Checks a replay name as StartReplay does.
///
/// ```
/// use sluice_router::model::check_replay_name;
/// assert!(check_replay_name("incident-42").is_ok());
/// assert!(check_replay_name("a/b").is_err());
/// ```
pub fn check_replay_name(name: &str) -> Result<(), ValidationError> {
    check_name(name, "replayName")
}

/// The bus name from `EventBusName`, which may be a name or a bus ARN,
/// checked as PutRule checks it.
///
/// ```
/// use sluice_router::model::parse_bus_name;
/// assert_eq!(parse_bus_name("arn:aws:events:us-east-1:123456789012:event-bus/ops").unwrap(), "ops");
/// assert!(parse_bus_name("bad bus").is_err());
/// ```
pub fn parse_bus_name(written: &str) -> Result<String, ValidationError> {
    bus_name(Some(written))
}

fn check_name(value: &str, field: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(ValidationError::constraint(
            value,
            field,
            "Member must have length greater than or equal to 1",
        ));
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(ValidationError::constraint(
            value,
            field,
            "Member must have length less than or equal to 64",
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(ValidationError::constraint(
            value,
            field,
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
        ));
    }
    Ok(())
}

/// The bus name from `EventBusName`, which may be a name or a bus ARN.
fn bus_name(written: Option<&str>) -> Result<String, ValidationError> {
    let Some(written) = written else {
        return Ok(DEFAULT_BUS.to_string());
    };
    let name = match written.strip_prefix("arn:") {
        Some(_) => written
            .split_once(":event-bus/")
            .map(|(_, name)| name)
            .ok_or_else(|| {
                ValidationError::validation(format!(
                    "Parameter {written} is not valid. Reason: Provided Arn is not in correct format."
                ))
            })?,
        None => written,
    };
    if name.is_empty()
        || name.len() > 256
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_'))
    {
        return Err(ValidationError::constraint(
            name,
            "eventBusName",
            "Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+",
        ));
    }
    Ok(name.to_string())
}

impl Rule {
    /// Checks a rule definition the way PutRule and PutTargets do, and
    /// compiles its targets' input shaping.
    ///
    /// ```
    /// use sluice_router::model::{Environment, Rule, RuleDefinition, TargetDefinition};
    /// let definition = RuleDefinition {
    ///     name: "image-failed".into(),
    ///     event_pattern: Some(r#"{"source": ["aws.imagebuilder"]}"#.into()),
    ///     targets: vec![TargetDefinition {
    ///         id: "alerts".into(),
    ///         arn: "arn:aws:sns:us-east-1:123456789012:image-alerts".into(),
    ///         ..Default::default()
    ///     }],
    ///     ..Default::default()
    /// };
    /// let rule = Rule::new(&definition, &Environment::default()).unwrap();
    /// assert_eq!(rule.arn, "arn:aws:events:us-east-1:123456789012:rule/image-failed");
    /// ```
    pub fn new(
        definition: &RuleDefinition,
        environment: &Environment,
    ) -> Result<Rule, ValidationError> {
        check_name(&definition.name, "name")?;
        let bus = bus_name(definition.event_bus_name.as_deref())?;
        if definition.event_pattern.is_none() && definition.schedule_expression.is_none() {
            return Err(ValidationError::validation(
                "Parameter(s) EventPattern or ScheduleExpression must be specified.",
            ));
        }
        if let Some(pattern) = &definition.event_pattern {
            if pattern.chars().count() > MAX_EVENT_PATTERN_LEN {
                return Err(ValidationError::constraint(
                    "…",
                    "eventPattern",
                    "Member must have length less than or equal to 4096",
                ));
            }
            sluice_pattern::check(pattern)
                .map_err(|e| ValidationError::invalid_pattern(e.message()))?;
        }
        if let Some(schedule) = &definition.schedule_expression {
            if schedule.chars().count() > MAX_SCHEDULE_EXPRESSION_LEN {
                return Err(ValidationError::constraint(
                    schedule,
                    "scheduleExpression",
                    "Member must have length less than or equal to 256",
                ));
            }
            if let Err(e) = crate::schedule::Schedule::parse(schedule) {
                return Err(ValidationError::validation(e.to_string()));
            }
            if bus != DEFAULT_BUS {
                return Err(ValidationError::validation(
                    "ScheduleExpression is supported only on the default event bus.",
                ));
            }
        }
        if let Some(description) = &definition.description
            && description.chars().count() > MAX_DESCRIPTION_LEN
        {
            return Err(ValidationError::constraint(
                description,
                "description",
                "Member must have length less than or equal to 512",
            ));
        }
        let state = match definition.state.as_deref() {
            None => RuleState::Enabled,
            Some(text) => RuleState::parse(text)?,
        };
        if definition.targets.len() > MAX_TARGETS_PER_RULE {
            return Err(ValidationError::limit_exceeded());
        }
        let mut targets: Vec<Target> = Vec::with_capacity(definition.targets.len());
        for (index, target) in definition.targets.iter().enumerate() {
            let target = Target::new(target, index + 1)?;
            if targets.iter().any(|t| t.id == target.id) {
                return Err(ValidationError::validation(format!(
                    "Target id {} appears more than once in rule {}.",
                    target.id, definition.name
                )));
            }
            targets.push(target);
        }
        Ok(Rule {
            arn: environment.rule_arn(&bus, &definition.name),
            name: definition.name.clone(),
            bus,
            event_pattern: definition.event_pattern.clone(),
            schedule_expression: definition.schedule_expression.clone(),
            state,
            description: definition.description.clone(),
            targets,
        })
    }
}

impl Target {
    /// Checks a target definition the way PutTargets does; `position` is its
    /// 1-based place in the request, which AWS's messages name.
    ///
    /// ```
    /// use sluice_router::model::{Target, TargetDefinition};
    /// let definition = TargetDefinition {
    ///     id: "!@#".into(),
    ///     arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
    ///     ..Default::default()
    /// };
    /// let err = Target::new(&definition, 1).unwrap_err();
    /// assert!(err.message().contains("at 'targets.1.member.id'"));
    /// ```
    pub fn new(definition: &TargetDefinition, position: usize) -> Result<Target, ValidationError> {
        let field = |name: &str| format!("targets.{position}.member.{name}");
        check_name(&definition.id, &field("id"))?;
        let arn = Arn::parse(&definition.arn)?;
        let Some(kind) = arn.kind() else {
            return Err(ValidationError::validation(format!(
                "Target {} has ARN {}, which is not a target sluice delivers to (Lambda functions, Kinesis streams, Step Functions state machines, SQS queues, SNS topics, EC2 Run Command documents and CloudWatch Logs log groups).",
                definition.id, definition.arn
            )));
        };
        let transformer = match (&definition.input_template, &definition.input_paths_map) {
            (Some(template), paths) => Some((paths.as_deref().unwrap_or(&[]), template.as_str())),
            (None, Some(_)) => {
                return Err(ValidationError::validation(format!(
                    "InputTransformer for target {} has an InputPathsMap but no InputTemplate.",
                    definition.id
                )));
            }
            (None, None) => None,
        };
        let mut input = InputShape::compile(
            &definition.id,
            definition.input.as_deref(),
            definition.input_path.as_deref(),
            transformer,
        )?;
        if kind == TargetKind::CloudWatchLogGroup && definition.role_arn.is_some() {
            return Err(ValidationError::validation(format!(
                "RoleArn is not supported for target {}.",
                definition.arn
            )));
        }
        let parameters = TargetParameters::check(
            &WrittenParameters {
                id: &definition.id,
                partition_key_path: definition.partition_key_path.as_deref(),
                message_group_id: definition.message_group_id.as_deref(),
                run_command_targets: definition.run_command_targets.as_deref(),
            },
            kind,
            &arn,
            &field,
        )?;
        if kind == TargetKind::RunCommandDocument {
            match &input {
                // Run Command gets nothing from the event unless told to.
                InputShape::WholeEvent => input = InputShape::Constant("{}".into()),
                InputShape::Constant(parameters) => {
                    crate::target_parameters::document_parameters(parameters).map_err(|reason| {
                        ValidationError::validation(format!(
                            "Input for target {} is not valid Run Command document parameters: {reason}.",
                            definition.id
                        ))
                    })?;
                }
                _ => {}
            }
        }
        let mut retry_policy = RetryPolicy::default();
        if let Some(attempts) = definition.maximum_retry_attempts {
            if !(0..=i64::from(MAX_RETRY_ATTEMPTS)).contains(&attempts) {
                let constraint = if attempts < 0 {
                    "Member must have value greater than or equal to 0"
                } else {
                    "Member must have value less than or equal to 185"
                };
                return Err(ValidationError::constraint(
                    &attempts.to_string(),
                    &field("retryPolicy.maximumRetryAttempts"),
                    constraint,
                ));
            }
            retry_policy.maximum_retry_attempts = attempts as u32;
        }
        if let Some(age) = definition.maximum_event_age_in_seconds {
            let (low, high) = EVENT_AGE_RANGE_SECONDS;
            if age < i64::from(low) || age > i64::from(high) {
                let constraint = if age < i64::from(low) {
                    "Member must have value greater than or equal to 60"
                } else {
                    "Member must have value less than or equal to 86400"
                };
                return Err(ValidationError::constraint(
                    &age.to_string(),
                    &field("retryPolicy.maximumEventAgeInSeconds"),
                    constraint,
                ));
            }
            retry_policy.maximum_event_age = Duration::from_secs(age as u64);
        }
        let dead_letter_queue = match &definition.dead_letter_arn {
            None => None,
            Some(text) => {
                let dlq = Arn::parse(text)?;
                if dlq.kind() != Some(TargetKind::SqsQueue) || dlq.is_fifo() {
                    return Err(ValidationError::validation(format!(
                        "DeadLetterConfig of target {}: {text} is not a standard SQS queue; EventBridge dead-letter queues must be standard (not FIFO) SQS queues.",
                        definition.id
                    )));
                }
                Some(dlq)
            }
        };
        Ok(Target {
            id: definition.id.clone(),
            arn,
            kind,
            input,
            retry_policy,
            dead_letter_queue,
            parameters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(arn: &str) -> TargetDefinition {
        TargetDefinition {
            id: "t".into(),
            arn: arn.into(),
            ..Default::default()
        }
    }

    fn rule(targets: Vec<TargetDefinition>) -> RuleDefinition {
        RuleDefinition {
            name: "r".into(),
            event_pattern: Some(r#"{"source":["a"]}"#.into()),
            targets,
            ..Default::default()
        }
    }

    #[test]
    fn a_sixth_target_exceeds_the_limit() {
        let targets = (0..6)
            .map(|i| TargetDefinition {
                id: format!("t{i}"),
                ..target("arn:aws:sqs:us-east-1:123456789012:q")
            })
            .collect();
        let err = Rule::new(&rule(targets), &Environment::default()).unwrap_err();
        assert_eq!(err, ValidationError::limit_exceeded());
    }

    #[test]
    fn log_groups_take_no_role() {
        let arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/images";
        let mut t = target(arn);
        assert_eq!(
            Target::new(&t, 1).unwrap().kind,
            TargetKind::CloudWatchLogGroup
        );
        t.role_arn = Some("arn:aws:iam::123456789012:role/events".into());
        assert_eq!(
            Target::new(&t, 1).unwrap_err().message(),
            format!("RoleArn is not supported for target {arn}.")
        );
    }

    #[test]
    fn run_command_targets_are_checked() {
        let refused = |t: &TargetDefinition| Target::new(t, 1).unwrap_err().message().to_string();
        let document = "arn:aws:ssm:us-east-1::document/AWS-RunShellScript";
        let mut t = target(document);
        assert_eq!(
            Target::new(&t, 1).unwrap_err().message(),
            "Parameter(s) RunCommandParameters must be specified for target: t."
        );
        t.run_command_targets = Some(vec![("InstanceIds".into(), vec!["i-0123".into()])]);
        let checked = Target::new(&t, 1).unwrap();
        let crate::target_parameters::TargetParameters::RunCommand(instances) = &checked.parameters
        else {
            panic!("{:?}", checked.parameters);
        };
        assert_eq!(instances.values, ["i-0123"]);
        // Without Input, Run Command gets no parameters from the event.
        assert!(matches!(&checked.input, InputShape::Constant(c) if &**c == "{}"));

        t.run_command_targets = Some(vec![("tag:Role".into(), vec![])]);
        assert_eq!(
            Target::new(&t, 2).unwrap_err().message(),
            "1 validation error detected: Value '[]' at 'targets.2.member.runCommandParameters.runCommandTargets.1.member.values' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        t.run_command_targets = Some(vec![("tag:Role".into(), vec!["v".into(); 51])]);
        assert!(refused(&t).contains("less than or equal to 50"));
        t.run_command_targets = Some(vec![("Name".into(), vec!["web".into()])]);
        assert!(refused(&t).contains("neither InstanceIds nor tag:<tag-key>"));
        t.run_command_targets = Some(vec![
            ("InstanceIds".into(), vec!["i-1".into()]),
            ("tag:Role".into(), vec!["web".into()]),
        ]);
        assert!(refused(&t).contains("EventBridge takes one"));

        t.run_command_targets = Some(vec![("tag:Role".into(), vec!["web".into()])]);
        t.input = Some(r#"{"commands": "uptime"}"#.into());
        assert!(Target::new(&t, 1).is_ok());
        t.input = Some(r#"{"commands": 1}"#.into());
        assert_eq!(
            Target::new(&t, 1).unwrap_err().message(),
            "Input for target t is not valid Run Command document parameters: parameter \"commands\" is neither a string nor a list of strings."
        );

        let mut queue = target("arn:aws:sqs:us-east-1:123456789012:q");
        queue.run_command_targets = Some(vec![("InstanceIds".into(), vec!["i-1".into()])]);
        assert_eq!(
            Target::new(&queue, 1).unwrap_err().message(),
            "Parameter RunCommandParameters is not valid for targett."
        );
    }

    #[test]
    fn retry_policy_ranges_are_checked() {
        let mut t = target("arn:aws:sqs:us-east-1:123456789012:q");
        t.maximum_retry_attempts = Some(186);
        let err = Target::new(&t, 2).unwrap_err();
        assert_eq!(
            err.message(),
            "1 validation error detected: Value '186' at 'targets.2.member.retryPolicy.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185"
        );
        t.maximum_retry_attempts = Some(0);
        t.maximum_event_age_in_seconds = Some(59);
        assert!(Target::new(&t, 1).is_err());
        t.maximum_event_age_in_seconds = Some(60);
        let ok = Target::new(&t, 1).unwrap();
        assert_eq!(ok.retry_policy.maximum_retry_attempts, 0);
        assert_eq!(ok.retry_policy.maximum_event_age, Duration::from_secs(60));
    }

    #[test]
    fn bad_patterns_get_aws_text() {
        let mut r = rule(vec![]);
        r.event_pattern = Some(r#"{"source":"a"}"#.into());
        let err = Rule::new(&r, &Environment::default()).unwrap_err();
        assert_eq!(err.code(), "InvalidEventPatternException");
        assert!(
            err.message()
                .starts_with("Event pattern is not valid. Reason: ")
        );
    }

    #[test]
    fn dead_letter_queues_must_be_standard_sqs() {
        let mut t = target("arn:aws:lambda:us-east-1:123456789012:function:f");
        t.dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:dlq.fifo".into());
        assert!(Target::new(&t, 1).is_err());
        t.dead_letter_arn = Some("arn:aws:sns:us-east-1:123456789012:topic".into());
        assert!(Target::new(&t, 1).is_err());
        t.dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:dlq".into());
        assert!(Target::new(&t, 1).is_ok());
    }

    #[test]
    fn parameters_of_another_kind_of_target_are_refused() {
        let mut queue = target("arn:aws:sqs:us-east-1:123456789012:q");
        queue.partition_key_path = Some("$.id".into());
        assert_eq!(
            Target::new(&queue, 1).unwrap_err().message(),
            "Parameter KinesisParameters is not valid for targett."
        );
        let mut function = target("arn:aws:lambda:us-east-1:123456789012:function:f");
        function.message_group_id = Some("g".into());
        assert_eq!(
            Target::new(&function, 1).unwrap_err().message(),
            "Parameter SqsParameters is not valid for targett."
        );
        let mut topic = target("arn:aws:sns:us-east-1:123456789012:t.fifo");
        topic.message_group_id = Some("g".into());
        assert!(Target::new(&topic, 1).is_ok());
    }

    #[test]
    fn fifo_queues_need_a_message_group() {
        let t = target("arn:aws:sqs:us-east-1:123456789012:q.fifo");
        assert_eq!(
            Target::new(&t, 1).unwrap_err().message(),
            "Parameter(s) SqsParameters must be specified for target: t."
        );
    }

    #[test]
    fn unsupported_targets_are_load_errors() {
        let t = target("arn:aws:ecs:us-east-1:123456789012:cluster/c");
        assert!(
            Target::new(&t, 1)
                .unwrap_err()
                .message()
                .contains("not a target sluice delivers to")
        );
    }

    #[test]
    fn buses_may_be_named_by_arn() {
        let mut r = rule(vec![]);
        r.event_bus_name = Some("arn:aws:events:us-east-1:123456789012:event-bus/ops".into());
        let rule = Rule::new(&r, &Environment::default()).unwrap();
        assert_eq!(rule.bus, "ops");
        assert_eq!(rule.arn, "arn:aws:events:us-east-1:123456789012:rule/ops/r");
    }
}
