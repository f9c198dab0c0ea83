//! Target parameters: what a target of each kind needs beyond its ARN and
//! input (EventBridge's `KinesisParameters`, `SqsParameters` and
//! `RunCommandParameters`), checked once when the target is built, and the
//! values each delivery carries, worked out from them and the event. The
//! planner and the router pass these values through without looking at
//! the target's kind; each adapter reads the variant it expects.

use std::sync::Arc;

use crate::arn::{Arn, TargetKind};
use crate::document::{Node, decode_str};
use crate::jsonpath::JsonPath;
use crate::validation::ValidationError;

/// Longest SQS message group id.
pub const MAX_MESSAGE_GROUP_ID_LEN: usize = 100;
/// Values in a `RunCommandTarget` (instance ids or tag values).
pub const MAX_RUN_COMMAND_VALUES: usize = 50;
/// Length of a `RunCommandTarget` key.
pub const MAX_RUN_COMMAND_KEY_LEN: usize = 128;
/// Length of one `RunCommandTarget` value.
pub const MAX_RUN_COMMAND_VALUE_LEN: usize = 256;

/// The instances an EC2 Run Command target runs its document on: by id
/// (`InstanceIds`) or by tag (`tag:<key>`).
///
/// ```
/// use sluice_router::model::{Target, TargetDefinition};
/// use sluice_router::target_parameters::TargetParameters;
/// let definition = TargetDefinition {
///     id: "diagnose".into(),
///     arn: "arn:aws:ssm:us-east-1::document/AWS-RunShellScript".into(),
///     run_command_targets: Some(vec![("tag:Role".into(), vec!["image-builder".into()])]),
///     ..Default::default()
/// };
/// let target = Target::new(&definition, 1).unwrap();
/// let TargetParameters::RunCommand(instances) = &target.parameters else { panic!() };
/// assert_eq!(instances.key, "tag:Role");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCommandTarget {
    /// `InstanceIds` or `tag:<key>`.
    pub key: String,
    /// Instance ids, or the tag's values.
    pub values: Vec<String>,
}

/// A target's checked parameters, one variant per kind of target.
///
/// ```
/// use sluice_router::model::{Target, TargetDefinition};
/// use sluice_router::target_parameters::TargetParameters;
/// let definition = TargetDefinition {
///     id: "orders".into(),
///     arn: "arn:aws:sqs:us-east-1:123456789012:orders.fifo".into(),
///     message_group_id: Some("g1".into()),
///     ..Default::default()
/// };
/// let target = Target::new(&definition, 1).unwrap();
/// assert!(matches!(&target.parameters,
///     TargetParameters::Sqs { message_group_id: Some(g) } if &**g == "g1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetParameters {
    /// A Lambda function: nothing beyond the payload.
    Lambda,
    /// A Kinesis stream: the partition key's path in the event (the
    /// event's id when `None`).
    Kinesis {
        /// `KinesisParameters.PartitionKeyPath`.
        partition_key_path: Option<JsonPath>,
    },
    /// An SQS queue.
    Sqs {
        /// `SqsParameters.MessageGroupId` (required for FIFO queues).
        message_group_id: Option<Arc<str>>,
    },
    /// An SNS topic.
    Sns {
        /// `SqsParameters.MessageGroupId`, for FIFO topics.
        message_group_id: Option<Arc<str>>,
    },
    /// A Step Functions state machine: each delivery names its execution.
    StepFunctions,
    /// An EC2 Run Command document, with the instances it runs on.
    RunCommand(Arc<RunCommandTarget>),
    /// A CloudWatch Logs log group: each delivery carries the event's time.
    Logs,
}

/// The parameters as written in PutTargets, before checking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WrittenParameters<'a> {
    /// The target's `Id`, for error texts.
    pub id: &'a str,
    /// `KinesisParameters.PartitionKeyPath`.
    pub partition_key_path: Option<&'a str>,
    /// `SqsParameters.MessageGroupId`.
    pub message_group_id: Option<&'a str>,
    /// `RunCommandParameters.RunCommandTargets`.
    pub run_command_targets: Option<&'a [(String, Vec<String>)]>,
}

impl TargetParameters {
    /// Checks the written parameters of a target of `kind` at `arn`, with
    /// AWS's texts; `field` names a member of the target in constraint
    /// errors.
    pub(crate) fn check(
        written: &WrittenParameters<'_>,
        kind: TargetKind,
        arn: &Arn,
        field: &dyn Fn(&str) -> String,
    ) -> Result<TargetParameters, ValidationError> {
        let run_command = run_command_targets(written, kind, field)?;
        if written.partition_key_path.is_some() && kind != TargetKind::KinesisStream {
            return Err(not_valid_for("KinesisParameters", written.id));
        }
        let partition_key_path = match written.partition_key_path {
            None => None,
            Some(path) => Some(JsonPath::parse(path).map_err(|e| {
                ValidationError::validation(format!(
                    "KinesisParameters.PartitionKeyPath for target {}: {e}.",
                    written.id
                ))
            })?),
        };
        let message_group_id = match written.message_group_id {
            None => None,
            Some(_) if !matches!(kind, TargetKind::SqsQueue | TargetKind::SnsTopic) => {
                return Err(not_valid_for("SqsParameters", written.id));
            }
            Some(group) if group.is_empty() || group.chars().count() > MAX_MESSAGE_GROUP_ID_LEN => {
                return Err(ValidationError::constraint(
                    group,
                    &field("sqsParameters.messageGroupId"),
                    "Member must have length less than or equal to 100",
                ));
            }
            Some(group) => Some(Arc::from(group)),
        };
        if kind == TargetKind::SqsQueue && arn.is_fifo() && message_group_id.is_none() {
            return Err(ValidationError::validation(format!(
                "Parameter(s) SqsParameters must be specified for target: {}.",
                written.id
            )));
        }
        Ok(match kind {
            TargetKind::LambdaFunction => TargetParameters::Lambda,
            TargetKind::KinesisStream => TargetParameters::Kinesis { partition_key_path },
            TargetKind::SqsQueue => TargetParameters::Sqs { message_group_id },
            TargetKind::SnsTopic => TargetParameters::Sns { message_group_id },
            TargetKind::StepFunctionsStateMachine => TargetParameters::StepFunctions,
            TargetKind::CloudWatchLogGroup => TargetParameters::Logs,
            TargetKind::RunCommandDocument => match run_command {
                Some(instances) => TargetParameters::RunCommand(instances),
                None => return Err(must_be_specified("RunCommandParameters", written.id)),
            },
        })
    }

    /// Whether working out a delivery's parameters reads the event: the
    /// partition key, the execution name and the log time come from it.
    pub(crate) fn needs_event(&self) -> bool {
        matches!(
            self,
            TargetParameters::Kinesis { .. }
                | TargetParameters::StepFunctions
                | TargetParameters::Logs
        )
    }

    /// The parameters of one delivery of `event` to this target.
    pub(crate) fn for_event(&self, event: &EventFacts<'_, '_>) -> DeliveryParameters {
        match self {
            TargetParameters::Lambda => DeliveryParameters::None,
            TargetParameters::Kinesis { partition_key_path } => {
                let partition_key = match (partition_key_path, event.document) {
                    (None, _) => event.event_id.unwrap_or_default().to_string(),
                    (Some(path), Some(document)) => match path.select(document) {
                        Some(Node::String(raw)) => decode_str(raw).into_owned(),
                        Some(node) => node.to_json(),
                        None => String::new(),
                    },
                    // An empty key is refused by the stream, so the delivery
                    // fails visibly rather than landing on a made-up shard.
                    (Some(_), None) => String::new(),
                };
                DeliveryParameters::Kinesis { partition_key }
            }
            TargetParameters::Sqs { message_group_id }
            | TargetParameters::Sns { message_group_id } => DeliveryParameters::Message {
                message_group_id: message_group_id.clone(),
            },
            TargetParameters::StepFunctions => DeliveryParameters::StepFunctions {
                execution_name: crate::execution_name::execution_name(
                    event.event_id.unwrap_or_default(),
                    event.replay_name,
                    event.rule_arn,
                    event.target_id,
                    event.text,
                ),
            },
            TargetParameters::RunCommand(instances) => {
                DeliveryParameters::RunCommand(instances.clone())
            }
            TargetParameters::Logs => DeliveryParameters::Logs {
                event_time_ms: event.time_ms,
            },
        }
    }
}

/// What the parameters of one delivery are worked out from.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EventFacts<'e, 'd> {
    /// The parsed event, when it was read.
    pub document: Option<&'e Node<'d>>,
    /// The event as received.
    pub text: &'e str,
    /// The event's `id`.
    pub event_id: Option<&'e str>,
    /// The event's `replay-name`, when it is replayed.
    pub replay_name: Option<&'e str>,
    /// The event's `time`, in milliseconds since the epoch.
    pub time_ms: Option<i64>,
    /// The matched rule's ARN.
    pub rule_arn: &'e str,
    /// The target's id.
    pub target_id: &'e str,
}

/// The parameters one delivery carries, worked out by
/// the planner from the target's [`TargetParameters`] and the event.
///
/// ```
/// use sluice_router::target_parameters::DeliveryParameters;
/// let logs = DeliveryParameters::Logs { event_time_ms: Some(1_700_000_000_000) };
/// assert_eq!(logs.event_time_ms(), Some(1_700_000_000_000));
/// assert_eq!(logs.partition_key(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeliveryParameters {
    /// Nothing beyond the payload (Lambda, dead-letter messages).
    #[default]
    None,
    /// A Kinesis record's partition key.
    Kinesis {
        /// The partition key.
        partition_key: String,
    },
    /// An SQS or SNS message.
    Message {
        /// The FIFO message group id.
        message_group_id: Option<Arc<str>>,
    },
    /// A Step Functions execution.
    StepFunctions {
        /// The execution's name (see [`crate::execution_name`]).
        execution_name: String,
    },
    /// An EC2 Run Command: the instances to run the document on.
    RunCommand(Arc<RunCommandTarget>),
    /// A CloudWatch Logs event.
    Logs {
        /// The event's `time` in milliseconds since the epoch; `None` when
        /// it has no valid `time`.
        event_time_ms: Option<i64>,
    },
}

impl DeliveryParameters {
    /// The Kinesis partition key.
    pub fn partition_key(&self) -> Option<&str> {
        match self {
            DeliveryParameters::Kinesis { partition_key } => Some(partition_key),
            _ => None,
        }
    }

    /// The FIFO message group id of an SQS or SNS message.
    pub fn message_group_id(&self) -> Option<&str> {
        match self {
            DeliveryParameters::Message { message_group_id } => message_group_id.as_deref(),
            _ => None,
        }
    }

    /// The Step Functions execution name.
    pub fn execution_name(&self) -> Option<&str> {
        match self {
            DeliveryParameters::StepFunctions { execution_name } => Some(execution_name),
            _ => None,
        }
    }

    /// The instances of an EC2 Run Command.
    pub fn run_command_target(&self) -> Option<&RunCommandTarget> {
        match self {
            DeliveryParameters::RunCommand(instances) => Some(instances),
            _ => None,
        }
    }

    /// The event's time of a CloudWatch Logs event.
    pub fn event_time_ms(&self) -> Option<i64> {
        match self {
            DeliveryParameters::Logs { event_time_ms } => *event_time_ms,
            _ => None,
        }
    }
}

/// Why a Run Command payload is not document parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentParametersError {
    /// The payload does not parse.
    #[error("not JSON ({0})")]
    NotJson(String),
    /// The payload is not an object.
    #[error("not a JSON object of parameter names to values")]
    NotAnObject,
    /// A list holds something other than a string.
    #[error("parameter {0:?} has a value that is not a string")]
    NotAString(String),
    /// A value is neither a string nor a list.
    #[error("parameter {0:?} is neither a string nor a list of strings")]
    NotStrings(String),
}

/// `Parameter X is not valid for target<id>.`: AWS's text, spacing included.
fn not_valid_for(parameter: &str, id: &str) -> ValidationError {
    ValidationError::validation(format!(
        "Parameter {parameter} is not valid for target{id}."
    ))
}

/// `Parameter(s) X must be specified for target: <id>.`
fn must_be_specified(parameter: &str, id: &str) -> ValidationError {
    ValidationError::validation(format!(
        "Parameter(s) {parameter} must be specified for target: {id}."
    ))
}

/// Checks `RunCommandParameters`: only for Run Command documents, which
/// need exactly one block naming `InstanceIds` or `tag:<key>`.
fn run_command_targets(
    written: &WrittenParameters<'_>,
    kind: TargetKind,
    field: &dyn Fn(&str) -> String,
) -> Result<Option<Arc<RunCommandTarget>>, ValidationError> {
    let blocks = match (written.run_command_targets, kind) {
        (None, TargetKind::RunCommandDocument) => {
            return Err(must_be_specified("RunCommandParameters", written.id));
        }
        (None, _) => return Ok(None),
        (Some(_), kind) if kind != TargetKind::RunCommandDocument => {
            return Err(not_valid_for("RunCommandParameters", written.id));
        }
        (Some(blocks), _) => blocks,
    };
    let list = field("runCommandParameters.runCommandTargets");
    let [(key, values)] = blocks else {
        if blocks.is_empty() {
            return Err(ValidationError::constraint(
                "[]",
                &list,
                "Member must have length greater than or equal to 1",
            ));
        }
        return Err(ValidationError::validation(format!(
            "RunCommandParameters of target {} has {} RunCommandTargets blocks; EventBridge takes one, naming either InstanceIds or one tag (tag:<key>).",
            written.id,
            blocks.len()
        )));
    };
    let key_field = format!("{list}.1.member.key");
    let key_length = key.chars().count();
    if key_length == 0 || key_length > MAX_RUN_COMMAND_KEY_LEN {
        let constraint = if key_length == 0 {
            "Member must have length greater than or equal to 1"
        } else {
            "Member must have length less than or equal to 128"
        };
        return Err(ValidationError::constraint(key, &key_field, constraint));
    }
    let tag = key.strip_prefix("tag:");
    if key != "InstanceIds" && tag.is_none_or(str::is_empty) {
        return Err(ValidationError::validation(format!(
            "RunCommandTargets key {key:?} of target {} is neither InstanceIds nor tag:<tag-key>.",
            written.id
        )));
    }
    let values_field = format!("{list}.1.member.values");
    if values.is_empty() || values.len() > MAX_RUN_COMMAND_VALUES {
        let constraint = if values.is_empty() {
            "Member must have length greater than or equal to 1"
        } else {
            "Member must have length less than or equal to 50"
        };
        return Err(ValidationError::constraint(
            &format!("[{}]", values.join(", ")),
            &values_field,
            constraint,
        ));
    }
    for value in values {
        let length = value.chars().count();
        if length == 0 || length > MAX_RUN_COMMAND_VALUE_LEN {
            let constraint = if length == 0 {
                "Member must have length greater than or equal to 1"
            } else {
                "Member must have length less than or equal to 256"
            };
            return Err(ValidationError::constraint(
                value,
                &format!("{values_field}.member"),
                constraint,
            ));
        }
    }
    Ok(Some(Arc::new(RunCommandTarget {
        key: key.clone(),
        values: values.clone(),
    })))
}

/// Reads a Run Command payload as document parameters: a JSON object whose
/// values are strings or lists of strings (a string stands for a list of
/// one), as SSM SendCommand takes them.
///
/// ```
/// use sluice_router::target_parameters::document_parameters;
/// let parameters = document_parameters(r#"{"commands": ["echo hi"], "workingDirectory": "/tmp"}"#).unwrap();
/// assert_eq!(parameters[1], ("workingDirectory".to_string(), vec!["/tmp".to_string()]));
/// assert!(document_parameters(r#"{"commands": [1]}"#).is_err());
/// ```
pub fn document_parameters(
    payload: &str,
) -> Result<Vec<(String, Vec<String>)>, DocumentParametersError> {
    let document =
        Node::parse(payload).map_err(|e| DocumentParametersError::NotJson(e.to_string()))?;
    let Node::Object(members) = &document else {
        return Err(DocumentParametersError::NotAnObject);
    };
    let mut parameters = Vec::with_capacity(members.len());
    for (name, value) in members {
        let name = decode_str(name).into_owned();
        let values = match value {
            Node::String(raw) => vec![decode_str(raw).into_owned()],
            Node::Array(items) => items
                .iter()
                .map(|item| match item {
                    Node::String(raw) => Ok(decode_str(raw).into_owned()),
                    _ => Err(DocumentParametersError::NotAString(name.clone())),
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                return Err(DocumentParametersError::NotStrings(name));
            }
        };
        parameters.push((name, values));
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_gets_its_own_delivery_parameters() {
        let text = r#"{"id": "e1", "detail": {"n": 7}}"#;
        let document = Node::parse(text).unwrap();
        let facts = EventFacts {
            document: Some(&document),
            text,
            event_id: Some("e1"),
            time_ms: Some(5_000),
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r",
            target_id: "t",
            ..EventFacts::default()
        };
        let by_id = TargetParameters::Kinesis {
            partition_key_path: None,
        };
        assert_eq!(by_id.for_event(&facts).partition_key(), Some("e1"));
        let by_path = TargetParameters::Kinesis {
            partition_key_path: Some(JsonPath::parse("$.detail.n").unwrap()),
        };
        assert_eq!(by_path.for_event(&facts).partition_key(), Some("7"));
        let missing = TargetParameters::Kinesis {
            partition_key_path: Some(JsonPath::parse("$.detail.absent").unwrap()),
        };
        assert_eq!(missing.for_event(&facts).partition_key(), Some(""));
        let group = TargetParameters::Sns {
            message_group_id: Some("g".into()),
        };
        assert_eq!(group.for_event(&facts).message_group_id(), Some("g"));
        assert_eq!(
            TargetParameters::Logs.for_event(&facts).event_time_ms(),
            Some(5_000)
        );
        let name = TargetParameters::StepFunctions.for_event(&facts);
        assert!(name.execution_name().is_some_and(|n| !n.is_empty()));
        assert_eq!(
            TargetParameters::Lambda.for_event(&facts),
            DeliveryParameters::None
        );
        assert!(!TargetParameters::Lambda.needs_event());
        assert!(by_id.needs_event() && TargetParameters::Logs.needs_event());
    }
}
