//! Amazon Resource Names of targets and dead-letter queues.

use crate::validation::ValidationError;

/// The kind of AWS resource a target ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`
    LambdaFunction,
    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`
    KinesisStream,
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`
    StepFunctionsStateMachine,
    /// `arn:aws:sqs:REGION:ACCOUNT:NAME` (`.fifo` for FIFO queues)
    SqsQueue,
    /// `arn:aws:sns:REGION:ACCOUNT:NAME` (`.fifo` for FIFO topics)
    SnsTopic,
    /// `arn:aws:ssm:REGION:ACCOUNT:document/NAME`: EC2 Run Command (the
    /// account is empty for AWS's own documents, such as `AWS-RunShellScript`)
    RunCommandDocument,
    /// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` (a trailing `:*` is allowed)
    CloudWatchLogGroup,
}

impl TargetKind {
    /// A readable name of the kind.
    ///
    /// ```
    /// use sluice_router::arn::TargetKind;
    /// assert_eq!(TargetKind::SqsQueue.label(), "SQS queue");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            TargetKind::LambdaFunction => "Lambda function",
            TargetKind::KinesisStream => "Kinesis stream",
            TargetKind::StepFunctionsStateMachine => "Step Functions state machine",
            TargetKind::SqsQueue => "SQS queue",
            TargetKind::SnsTopic => "SNS topic",
            TargetKind::RunCommandDocument => "EC2 Run Command document",
            TargetKind::CloudWatchLogGroup => "CloudWatch Logs log group",
        }
    }
}

/// A parsed ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
///
/// ```
/// use sluice_router::arn::{Arn, TargetKind};
/// let arn = Arn::parse("arn:aws:sqs:us-east-1:123456789012:alerts.fifo").unwrap();
/// assert_eq!(arn.kind(), Some(TargetKind::SqsQueue));
/// assert_eq!(arn.resource_name(), "alerts.fifo");
/// assert!(arn.is_fifo());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    text: String,
    partition: String,
    service: String,
    region: String,
    account: String,
    resource: String,
}

impl Arn {
    /// Parses an ARN; the error is AWS's PutTargets text.
    ///
    /// ```
    /// use sluice_router::arn::Arn;
    /// let err = Arn::parse("sqs:alerts").unwrap_err();
    /// assert_eq!(err.message(), "Parameter sqs:alerts is not valid. Reason: Provided Arn is not in correct format.");
    /// ```
    pub fn parse(text: &str) -> Result<Arn, ValidationError> {
        let bad = || {
            ValidationError::validation(format!(
                "Parameter {text} is not valid. Reason: Provided Arn is not in correct format."
            ))
        };
        let mut parts = text.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(bad());
        };
        if !partition.starts_with("aws") || service.is_empty() || resource.is_empty() {
            return Err(bad());
        }
        Ok(Arn {
            text: text.to_string(),
            partition: partition.to_string(),
            service: service.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            resource: resource.to_string(),
        })
    }

    /// The ARN as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The service namespace (`sqs`, `lambda`, …).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The region, empty for global resources.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Everything after the account: `function:NAME`, `stream/NAME`, `NAME`, …
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The target kind, if sluice can deliver to this ARN.
    pub fn kind(&self) -> Option<TargetKind> {
        let resource = self.resource.as_str();
        match self.service.as_str() {
            "lambda" if resource.starts_with("function:") && resource.len() > 9 => {
                Some(TargetKind::LambdaFunction)
            }
            "kinesis" if resource.starts_with("stream/") && resource.len() > 7 => {
                Some(TargetKind::KinesisStream)
            }
            "states" if resource.starts_with("stateMachine:") && resource.len() > 13 => {
                Some(TargetKind::StepFunctionsStateMachine)
            }
            "sqs" if !resource.contains([':', '/']) => Some(TargetKind::SqsQueue),
            "sns" if !resource.contains([':', '/']) => Some(TargetKind::SnsTopic),
            "ssm" if resource.starts_with("document/") && resource.len() > 9 => {
                Some(TargetKind::RunCommandDocument)
            }
            "logs" if resource.starts_with("log-group:") && !self.resource_name().is_empty() => {
                Some(TargetKind::CloudWatchLogGroup)
            }
            _ => None,
        }
    }

    /// The bare name of the resource: function, stream, state machine,
    /// queue, topic, document or log group name (a Lambda qualifier and a
    /// log group's `:*` are not part of it).
    ///
    /// ```
    /// use sluice_router::arn::Arn;
    /// let group = Arn::parse("arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/images:*").unwrap();
    /// assert_eq!(group.resource_name(), "/aws/events/images");
    /// let document = Arn::parse("arn:aws:ssm:us-east-1::document/AWS-RunShellScript").unwrap();
    /// assert_eq!(document.resource_name(), "AWS-RunShellScript");
    /// ```
    pub fn resource_name(&self) -> &str {
        let resource = self.resource.as_str();
        if let Some(group) = resource.strip_prefix("log-group:") {
            return group.strip_suffix(":*").unwrap_or(group);
        }
        if let Some(document) = resource.strip_prefix("document/") {
            return document;
        }
        let rest = resource
            .strip_prefix("function:")
            .or_else(|| resource.strip_prefix("stream/"))
            .or_else(|| resource.strip_prefix("stateMachine:"))
            .unwrap_or(resource);
        rest.split(':').next().unwrap_or(rest)
    }

    /// Whether this is a FIFO queue or topic (its name ends in `.fifo`).
    pub fn is_fifo(&self) -> bool {
        matches!(
            self.kind(),
            Some(TargetKind::SqsQueue | TargetKind::SnsTopic)
        ) && self.resource.ends_with(".fifo")
    }
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_target_arns() {
        let kind = |s: &str| Arn::parse(s).ok().and_then(|a| a.kind());
        assert_eq!(
            kind("arn:aws:lambda:us-east-1:123456789012:function:f:prod"),
            Some(TargetKind::LambdaFunction)
        );
        assert_eq!(
            kind("arn:aws:kinesis:us-east-1:123456789012:stream/s"),
            Some(TargetKind::KinesisStream)
        );
        assert_eq!(
            kind("arn:aws:states:us-east-1:123456789012:stateMachine:m"),
            Some(TargetKind::StepFunctionsStateMachine)
        );
        assert_eq!(
            kind("arn:aws:ssm:us-east-1::document/AWS-RunShellScript"),
            Some(TargetKind::RunCommandDocument)
        );
        assert_eq!(
            kind("arn:aws:logs:us-east-1:123456789012:log-group:/aws/events/x:*"),
            Some(TargetKind::CloudWatchLogGroup)
        );
        assert_eq!(
            kind("arn:aws:logs:us-east-1:123456789012:log-group::*"),
            None
        );
        assert_eq!(kind("arn:aws:ssm:us-east-1:123456789012:parameter/p"), None);
        assert_eq!(
            kind("arn:aws:sns:us-east-1:123456789012:t"),
            Some(TargetKind::SnsTopic)
        );
        assert_eq!(
            kind("arn:aws-cn:sqs:cn-north-1:123456789012:q"),
            Some(TargetKind::SqsQueue)
        );
        assert_eq!(kind("arn:aws:ecs:us-east-1:123456789012:cluster/c"), None);
        assert_eq!(kind("arn:aws:lambda:us-east-1:123456789012:layer:l"), None);
        assert!(Arn::parse("arn:aws:sqs").is_err());
        assert!(Arn::parse("arn:gcp:sqs:r:a:q").is_err());
        let f = Arn::parse("arn:aws:lambda:us-east-1:123456789012:function:f:prod").unwrap();
        assert_eq!(f.resource_name(), "f");
    }
}
