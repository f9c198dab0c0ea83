//! Target faults on loopback, without a peer: a server that answers every
//! request with HTTP 500, a port nobody listens on, and a credentials chain
//! that finds nothing. Each checks how many calls reach the endpoint and
//! how the failure is recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError, future};
use aws_sdk_sqs::config::Credentials;
use sluice_router::load::parse_rules;
use sluice_router::model::Environment;
use sluice_router::policy::StackSettings;
use sluice_router::table::RuleTable;
use sluice_router::{FailureRecord, Router, RouterSettings};
use sluice_targets::AwsConnector;

const EVENT: &str = r#"{"id": "e-1", "source": "aws.imagebuilder", "detail-type": "x", "account": "123456789012", "region": "us-east-1", "time": "2026-09-14T07:31:05Z", "resources": [], "detail": {}}"#;

/// One rule with an SQS target retried at most twice.
const RULES: &str = r#"[{"Name": "r", "EventPattern": {"source": ["aws.imagebuilder"]},
    "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q",
                 "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 600}}]}]"#;

/// A server on loopback that answers every HTTP request with 500 and
/// counts the requests.
fn failing_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || answer_500(stream, &counter));
        }
    });
    (endpoint, requests)
}

fn answer_500(stream: TcpStream, requests: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" && !first {
                break;
            }
            first = false;
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let reply = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 2\r\n\r\n{}";
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

async fn config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

/// Routes `EVENT` under `RULES` through `connector` with short backoff and
/// returns the recorded failures.
async fn route(connector: AwsConnector) -> Vec<FailureRecord> {
    let rules = parse_rules(
        "rules.json",
        RULES,
        &Default::default(),
        &Environment::default(),
    )
    .expect("test rules load");
    let settings = RouterSettings {
        stack: StackSettings {
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(20),
            ..StackSettings::default()
        },
        ..RouterSettings::default()
    };
    let router = Router::new(
        RuleTable::new(rules).unwrap(),
        Arc::new(connector),
        settings,
    )
    .expect("targets connect");
    router.route("default", EVENT.as_bytes()).await.unwrap();
    router.drain().await;
    router.take_failures()
}

/// With `MaximumRetryAttempts: 2`, a target answering 500 gets exactly
/// three calls: the SDK adds no retries of its own.
#[tokio::test]
async fn a_failing_target_gets_one_call_per_attempt() {
    let (endpoint, requests) = failing_server();
    let failures = route(AwsConnector::new(config(&endpoint).await)).await;
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].retry_attempts, 2);
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

/// A port nobody listens on is a failure of the target, retried, under
/// the code `ConnectionRefused`.
#[tokio::test]
async fn a_refused_connection_is_retried_under_its_own_code() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let failures = route(AwsConnector::new(
        config(&format!("http://127.0.0.1:{port}")).await,
    ))
    .await;
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].error_code, "ConnectionRefused");
    assert_eq!(failures[0].retry_attempts, 2);
}

#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no credentials in this test",
        )))
    }
}

/// Without credentials the check fails with a one-line hint, and a
/// delivery is not retried: the server is never called.
#[tokio::test]
async fn missing_credentials_fail_the_check_and_are_never_retried() {
    let (endpoint, requests) = failing_server();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(NoCredentials)
        .load()
        .await;
    let connector = AwsConnector::new(config);
    let error = connector.check_credentials().await.unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("no AWS credentials ("), "{text}");
    assert!(text.contains("AWS_ENDPOINT_URL"), "{text}");
    assert!(!text.contains('\n') && !text.contains("{ "), "{text}");
    let failures = route(connector).await;
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].error_code, "CredentialsError");
    assert_eq!(failures[0].retry_attempts, 0);
    assert_eq!(requests.load(Ordering::SeqCst), 0);
}
