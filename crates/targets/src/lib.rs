//! # sluice-targets
//!
//! Delivery to AWS for `sluice-router`: Lambda (asynchronous Invoke),
//! Kinesis (PutRecords), Step Functions (StartExecution), SQS
//! (SendMessageBatch, FIFO queues, dead-letter queues), SNS (PublishBatch,
//! FIFO topics), EC2 Run Command (SSM SendCommand) and CloudWatch Logs
//! (PutLogEvents), over the official AWS SDK crates.
//!
//! Each target is a cargo feature (`lambda`, `kinesis`, `sfn`, `sqs`,
//! `sns`, `ssm`, `logs`; all on by default). Clients come from the standard AWS
//! configuration chain: region, credentials, and `AWS_ENDPOINT_URL` (or a
//! per-service `AWS_ENDPOINT_URL_SQS` and so on) for a local endpoint.
//! Batch calls gather concurrent deliveries; when a batch partly fails, only
//! its failed entries are retried.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sluice_router::{Router, RouterSettings, load, model::Environment, table::RuleTable};
//! use sluice_targets::AwsConnector;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let rules = load::load_rules("routes.json".as_ref(), &Default::default(), &Environment::default())?;
//! let connector = AwsConnector::from_env().await;
//! let router = Router::new(RuleTable::new(rules)?, Arc::new(connector), RouterSettings::default())?;
//! router.route("default", br#"{"id": "1", "source": "aws.imagebuilder"}"#).await?;
//! router.drain().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]

#[cfg(not(any(
    feature = "lambda",
    feature = "kinesis",
    feature = "sfn",
    feature = "sqs",
    feature = "sns",
    feature = "ssm",
    feature = "logs"
)))]
compile_error!(
    "sluice-targets needs at least one target feature: lambda, kinesis, sfn, sqs, sns, ssm or logs"
);

#[cfg(any(
    feature = "kinesis",
    feature = "logs",
    feature = "sns",
    feature = "sqs"
))]
mod batch;
pub mod error;
#[cfg(feature = "kinesis")]
pub mod kinesis;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "logs")]
pub mod log_sink;
#[cfg(feature = "logs")]
pub mod logs;
#[cfg(any(feature = "sns", feature = "sqs"))]
mod message;
#[cfg(feature = "sfn")]
pub mod sfn;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "ssm")]
pub mod ssm;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use sluice_router::arn::{Arn, TargetKind};
use sluice_router::{Connect, ConnectError, Deliver};

/// How long [`AwsConnector::check_credentials`] waits for the chain (the
/// instance-metadata step is the slow one off EC2).
pub const CREDENTIALS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// No AWS credentials could be loaded.
///
/// ```
/// let e = sluice_targets::MissingCredentials { reason: "none found".into() };
/// assert!(e.to_string().starts_with("no AWS credentials (none found)"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no AWS credentials ({reason}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; \
     for a local peer such as moto, set AWS_ENDPOINT_URL and any pair of keys"
)]
pub struct MissingCredentials {
    /// What the credentials chain said.
    pub reason: String,
}

/// Why the connector cannot serve an ARN.
///
/// ```
/// let e = sluice_targets::ConnectorError::NotBuilt("SQS queue");
/// assert!(e.to_string().contains("no SQS queue support"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The target kind's cargo feature is off in this build.
    #[error("this build has no {0} support (cargo feature of sluice-targets not enabled)")]
    NotBuilt(&'static str),
    /// A processing-log sink was asked for something other than a log group.
    #[error("{0} is not a CloudWatch Logs log group ARN")]
    NotALogGroup(String),
}

/// Connects target ARNs to AWS through the SDK; one client per service and
/// region, shared by every target there.
///
/// ```no_run
/// # async fn run() {
/// let connector = sluice_targets::AwsConnector::from_env().await;
/// # }
/// ```
pub struct AwsConnector {
    config: SdkConfig,
    clients: Mutex<HashMap<(TargetKind, String), Client>>,
}

#[derive(Clone)]
enum Client {
    #[cfg(feature = "lambda")]
    Lambda(aws_sdk_lambda::Client),
    #[cfg(feature = "kinesis")]
    Kinesis(aws_sdk_kinesis::Client),
    #[cfg(feature = "sfn")]
    Sfn(aws_sdk_sfn::Client),
    #[cfg(feature = "sqs")]
    Sqs(aws_sdk_sqs::Client),
    #[cfg(feature = "sns")]
    Sns(aws_sdk_sns::Client),
    #[cfg(feature = "ssm")]
    Ssm(aws_sdk_ssm::Client),
    #[cfg(feature = "logs")]
    Logs(aws_sdk_cloudwatchlogs::Client),
}

impl AwsConnector {
    /// Uses the standard configuration chain (environment, profile,
    /// instance metadata).
    pub async fn from_env() -> AwsConnector {
        AwsConnector::new(aws_config::defaults(BehaviorVersion::latest()).load().await)
    }

    /// Uses the given SDK configuration.
    pub fn new(config: SdkConfig) -> AwsConnector {
        AwsConnector {
            config,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Loads credentials once through the configured chain, so that a run
    /// without them fails before its first delivery instead of retrying
    /// every call. Gives up after [`CREDENTIALS_TIMEOUT`].
    ///
    /// ```no_run
    /// # async fn run() {
    /// let connector = sluice_targets::AwsConnector::from_env().await;
    /// if let Err(e) = connector.check_credentials().await {
    ///     eprintln!("{e}");
    /// }
    /// # }
    /// ```
    pub async fn check_credentials(&self) -> Result<(), MissingCredentials> {
        use aws_credential_types::provider::ProvideCredentials;
        let Some(provider) = self.config.credentials_provider() else {
            return Err(MissingCredentials {
                reason: "no credentials provider is configured".to_string(),
            });
        };
        match tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(MissingCredentials {
                // The chain lists what it tried on lines of their own.
                reason: error::causes(&e)
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .collect::<Vec<_>>()
                    .join(" "),
            }),
            Err(_) => Err(MissingCredentials {
                reason: format!("none found within {} s", CREDENTIALS_TIMEOUT.as_secs()),
            }),
        }
    }

    /// The client for `kind` in `region` (the configured region when empty).
    // With some target features off, some arms and the macro go unused.
    #[allow(unused_macros, unreachable_code)]
    fn client(&self, kind: TargetKind, region: &str) -> Result<Client, ConnectorError> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&(kind, region.to_string())) {
            return Ok(client.clone());
        }
        let region_override =
            (!region.is_empty()).then(|| aws_config::Region::new(region.to_string()));
        macro_rules! build {
            ($krate:ident, $variant:ident) => {{
                // EventBridge's retry policy is the only one: the SDK's
                // own retries inside an attempt would multiply the calls.
                let mut builder = $krate::config::Builder::from(&self.config)
                    .retry_config(aws_config::retry::RetryConfig::disabled());
                if let Some(region) = region_override.clone() {
                    builder = builder.region(region);
                }
                Client::$variant($krate::Client::from_conf(builder.build()))
            }};
        }
        let client: Client = match kind {
            #[cfg(feature = "lambda")]
            TargetKind::LambdaFunction => build!(aws_sdk_lambda, Lambda),
            #[cfg(feature = "kinesis")]
            TargetKind::KinesisStream => build!(aws_sdk_kinesis, Kinesis),
            #[cfg(feature = "sfn")]
            TargetKind::StepFunctionsStateMachine => build!(aws_sdk_sfn, Sfn),
            #[cfg(feature = "sqs")]
            TargetKind::SqsQueue => build!(aws_sdk_sqs, Sqs),
            #[cfg(feature = "sns")]
            TargetKind::SnsTopic => build!(aws_sdk_sns, Sns),
            #[cfg(feature = "ssm")]
            TargetKind::RunCommandDocument => build!(aws_sdk_ssm, Ssm),
            #[cfg(feature = "logs")]
            TargetKind::CloudWatchLogGroup => build!(aws_sdk_cloudwatchlogs, Logs),
            #[allow(unreachable_patterns)]
            other => return Err(ConnectorError::NotBuilt(other.label())),
        };
        clients.insert((kind, region.to_string()), client.clone());
        Ok(client)
    }
}

#[cfg(feature = "logs")]
impl AwsConnector {
    /// A processing-log sink into `stream` of the log group `arn` (which
    /// must exist). Must be called inside a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use sluice_router::arn::Arn;
    /// let connector = sluice_targets::AwsConnector::from_env().await;
    /// let group = Arn::parse("arn:aws:logs:us-east-1:123456789012:log-group:/sluice/bus")?;
    /// let sink = connector.log_group_sink(&group, "processing-log")?;
    /// # Ok(()) }
    /// ```
    pub fn log_group_sink(
        &self,
        arn: &Arn,
        stream: &str,
    ) -> Result<log_sink::LogGroupSink, ConnectorError> {
        if arn.kind() != Some(TargetKind::CloudWatchLogGroup) {
            return Err(ConnectorError::NotALogGroup(arn.to_string()));
        }
        match self.client(TargetKind::CloudWatchLogGroup, arn.region())? {
            Client::Logs(client) => Ok(log_sink::LogGroupSink::new(client, arn, stream)),
            #[allow(unreachable_patterns)]
            _ => Err(ConnectorError::NotBuilt(
                TargetKind::CloudWatchLogGroup.label(),
            )),
        }
    }
}

impl Connect for AwsConnector {
    fn connect(&self, arn: &Arn, kind: TargetKind) -> Result<Arc<dyn Deliver>, ConnectError> {
        let client = self.client(kind, arn.region()).map_err(|e| ConnectError {
            arn: arn.to_string(),
            message: e.to_string(),
        })?;
        let deliverer: Arc<dyn Deliver> = match client {
            #[cfg(feature = "lambda")]
            Client::Lambda(c) => Arc::new(lambda::LambdaFunction::new(c, arn)),
            #[cfg(feature = "kinesis")]
            Client::Kinesis(c) => {
                Arc::new(kinesis::KinesisStream::new(kinesis::Stream::new(c, arn)))
            }
            #[cfg(feature = "sfn")]
            Client::Sfn(c) => Arc::new(sfn::StateMachine::new(c, arn)),
            #[cfg(feature = "sqs")]
            Client::Sqs(c) => Arc::new(sqs::SqsQueue::new(sqs::Queue::new(c, arn))),
            #[cfg(feature = "sns")]
            Client::Sns(c) => Arc::new(sns::SnsTopic::new(sns::Topic::new(c, arn))),
            #[cfg(feature = "ssm")]
            Client::Ssm(c) => Arc::new(ssm::RunCommand::new(c, arn)),
            #[cfg(feature = "logs")]
            Client::Logs(c) => Arc::new(logs::LogGroup::new(logs::Group::new(c, arn, false))),
        };
        Ok(deliverer)
    }
}

/// The README's Rust examples, compiled and run as doc tests (here, where
/// every crate they use is available).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
