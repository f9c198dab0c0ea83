//! The seven adapters against a real AWS protocol peer (moto server), through
//! the real SDK: each test routes an Image Builder event and reads back what
//! the target received. `scripts/with-moto` starts the server and sets
//! `SLUICE_MOTO_ENDPOINT`; without it these tests say so and pass without
//! running (a machine without Python).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use sluice_router::load::parse_rules;
use sluice_router::model::Environment;
use sluice_router::policy::StackSettings;
use sluice_router::table::RuleTable;
use sluice_router::{Router, RouterSettings};
use sluice_targets::AwsConnector;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

const FAILED_EVENT: &str = r#"{"version":"0","id":"8d116ece-1738-47d9-bd9c-172411e20b8f","detail-type":"EC2 Image Builder Image State Change","source":"aws.imagebuilder","account":"210987654321","time":"2026-09-14T07:31:05Z","region":"us-east-2","resources":["arn:aws:imagebuilder:us-east-2:210987654321:image/ml-gpu/1.4.2/3"],"detail":{"previous-state":{"status":"TESTING"},"state":{"status":"FAILED","reason":"step failed"}}}"#;

fn endpoint() -> Option<String> {
    let endpoint = std::env::var("SLUICE_MOTO_ENDPOINT").ok();
    if endpoint.is_none() {
        let reason = "SLUICE_MOTO_ENDPOINT is not set: run through scripts/with-moto";
        eprintln!("target adapters against moto: skipped: {reason}");
        if let Ok(path) = std::env::var("SLUICE_SKIPS") {
            let line = format!("target adapters against moto ({reason})\n");
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut file| std::io::Write::write_all(&mut file, line.as_bytes()));
        }
    }
    endpoint
}

async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .load()
        .await
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Routes `event` under `rules` (a JSON list) to AWS through `config`.
async fn route(config: &SdkConfig, rules: &str, event: &str) -> Router {
    let rules = parse_rules(
        "rules.json",
        rules,
        &Default::default(),
        &Environment::default(),
    )
    .expect("test rules load");
    let settings = RouterSettings {
        stack: StackSettings {
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(100),
            ..StackSettings::default()
        },
        ..RouterSettings::default()
    };
    let router = Router::new(
        RuleTable::new(rules).unwrap(),
        Arc::new(AwsConnector::new(config.clone())),
        settings,
    )
    .expect("targets connect");
    router
        .route("default", event.as_bytes())
        .await
        .expect("event routes");
    router.drain().await;
    router
}

fn delivered(router: &Router) -> u64 {
    router
        .metrics()
        .snapshot()
        .values()
        .flat_map(|r| r.targets.values())
        .map(|t| t.delivered)
        .sum()
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut request = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut messages = Vec::new();
    for _ in 0..10 {
        let output = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        messages.extend(output.messages().iter().cloned());
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    messages
}

/// One HTTP/1.1 request to moto (for its own API and for IAM, which the
/// project has no SDK crate for); moto closes the connection after replying.
fn http(endpoint: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("moto is reachable");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    assert!(
        head.starts_with("HTTP/1.1 2") || head.starts_with("HTTP/1.0 2"),
        "{head}\n{body}"
    );
    body.to_string()
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .map(value)
        .collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// A zip archive holding one stored (uncompressed) file.
fn zip_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(content);
    let crc = crc.sum();
    let size = content.len() as u32;
    let mut local = Vec::new();
    local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    local.extend_from_slice(&crc.to_le_bytes());
    local.extend_from_slice(&size.to_le_bytes());
    local.extend_from_slice(&size.to_le_bytes());
    local.extend_from_slice(&(name.len() as u16).to_le_bytes());
    local.extend_from_slice(&0u16.to_le_bytes());
    local.extend_from_slice(name.as_bytes());
    local.extend_from_slice(content);
    let mut central = Vec::new();
    central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    central.extend_from_slice(&crc.to_le_bytes());
    central.extend_from_slice(&size.to_le_bytes());
    central.extend_from_slice(&size.to_le_bytes());
    central.extend_from_slice(&(name.len() as u16).to_le_bytes());
    central.extend_from_slice(&[0; 12]);
    central.extend_from_slice(&0u32.to_le_bytes());
    central.extend_from_slice(name.as_bytes());
    let mut end = Vec::new();
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    end.extend_from_slice(&(central.len() as u32).to_le_bytes());
    end.extend_from_slice(&(local.len() as u32).to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    [local, central, end].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_receives_the_exact_payload() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = unique("failures");
    let url = create_queue(&sqs, &name).await;
    let rules = format!(
        r#"[{{"Name": "failed", "EventPattern": {{"detail": {{"state": {{"status": ["FAILED"]}}}}}},
             "Targets": [{{"Id": "q", "Arn": "arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
               "InputTransformer": {{"InputPathsMap": {{"image": "$.resources[0]", "why": "$.detail.state.reason"}},
                                     "InputTemplate": "{{\"image\": <image>, \"why\": \"failed: <why>\"}}"}}}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    assert!(router.take_failures().is_empty());
    assert_eq!(delivered(&router), 1);
    let messages = receive(&sqs, &url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].body(),
        Some(
            r#"{"image":"arn:aws:imagebuilder:us-east-2:210987654321:image/ml-gpu/1.4.2/3","why":"failed: step failed"}"#
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_queues_get_the_group_and_the_event_id_for_deduplication() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = format!("{}.fifo", unique("ordered"));
    let url = create_queue(&sqs, &name).await;
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "q", "Arn": "arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                          "SqsParameters": {{"MessageGroupId": "images"}}}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    assert!(router.take_failures().is_empty());
    let messages = receive(&sqs, &url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some(FAILED_EVENT));
    let system = messages[0].attributes().unwrap();
    assert_eq!(
        system[&MessageSystemAttributeName::MessageGroupId],
        "images"
    );
    assert_eq!(
        system[&MessageSystemAttributeName::MessageDeduplicationId],
        "8d116ece-1738-47d9-bd9c-172411e20b8f"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_publishes_to_its_subscribers() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = unique("alerts");
    let topic_arn = sns
        .create_topic()
        .name(&topic)
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue = unique("alert-inbox");
    let url = create_queue(&sqs, &queue).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let rules = format!(
        r#"[{{"Name": "failed", "EventPattern": {{"detail": {{"state": {{"status": ["FAILED"]}}}}}},
             "Targets": [{{"Id": "t", "Arn": "{topic_arn}",
               "InputTransformer": {{"InputPathsMap": {{"image": "$.resources[0]"}},
                                     "InputTemplate": "\"Image <image> failed\""}}}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    assert!(router.take_failures().is_empty());
    let messages = receive(&sqs, &url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].body(),
        Some("\"Image arn:aws:imagebuilder:us-east-2:210987654321:image/ml-gpu/1.4.2/3 failed\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_records_carry_the_partition_key() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let kinesis = aws_sdk_kinesis::Client::new(&config);
    let stream = unique("image-events");
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let stream_arn = format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}");
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "by-id", "Arn": "{stream_arn}"}},
                         {{"Id": "by-image", "Arn": "{stream_arn}", "InputPath": "$.detail.state",
                           "KinesisParameters": {{"PartitionKeyPath": "$.resources[0]"}}}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    assert!(router.take_failures().is_empty());
    assert_eq!(delivered(&router), 2);
    let shards = kinesis
        .list_shards()
        .stream_name(&stream)
        .send()
        .await
        .unwrap();
    let shard = shards.shards()[0].shard_id().to_string();
    let iterator = kinesis
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .unwrap()
        .to_string();
    let records = kinesis
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap();
    let mut got: Vec<(String, String)> = records
        .records()
        .iter()
        .map(|r| {
            (
                r.partition_key().unwrap_or_default().to_string(),
                String::from_utf8(r.data().as_ref().to_vec()).unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "8d116ece-1738-47d9-bd9c-172411e20b8f".to_string(),
                FAILED_EVENT.to_string()
            ),
            (
                "arn:aws:imagebuilder:us-east-2:210987654321:image/ml-gpu/1.4.2/3".to_string(),
                r#"{"status":"FAILED","reason":"step failed"}"#.to_string()
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_functions_start_an_execution_with_the_payload_as_input() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    let machine = sfn
        .create_state_machine()
        .name(unique("rollout"))
        .definition(r#"{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}"#)
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/sfn"))
        .send()
        .await
        .unwrap();
    let machine_arn = machine.state_machine_arn().to_string();
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "m", "Arn": "{machine_arn}", "InputPath": "$.detail"}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    // Another event, and the first one replayed: each starts an execution
    // of its own, named after its event.
    let second = FAILED_EVENT.replace("8d116ece", "00000002");
    let replayed = FAILED_EVENT.replacen('{', r#"{"replay-name":"again","#, 1);
    for event in [&second, &replayed] {
        router.route("default", event.as_bytes()).await.unwrap();
    }
    router.drain().await;
    assert!(router.take_failures().is_empty());
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = executions.executions().iter().map(|e| e.name()).collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    names.dedup();
    assert_eq!(names.len(), 3, "distinct names: {names:?}");
    assert!(names[0].starts_with("00000002-1738-"), "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 80), "{names:?}");
    let first = executions
        .executions()
        .iter()
        .find(|e| e.name().starts_with("8d116ece"))
        .expect("the first event's execution");
    let execution = sfn
        .describe_execution()
        .execution_arn(first.execution_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(
        execution.input(),
        Some(
            r#"{"previous-state":{"status":"TESTING"},"state":{"status":"FAILED","reason":"step failed"}}"#
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_is_invoked_asynchronously_with_the_payload() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let role = unique("lambda-role");
    let iam_body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName={role}&AssumeRolePolicyDocument=%7B%7D"
    );
    http(
        &endpoint,
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            ),
        ],
        &iam_body,
    );
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = unique("rollout");
    lambda
        .create_function()
        .function_name(&function)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(format!("arn:aws:iam::{ACCOUNT}:role/{role}"))
        .handler("handler.main")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip_one_file(
                    "handler.py",
                    b"def main(event, context):\n    return event\n",
                )))
                .build(),
        )
        .send()
        .await
        .unwrap();
    http(
        &endpoint,
        "POST",
        "/moto-api/recorder/reset-recording",
        &[],
        "",
    );
    http(
        &endpoint,
        "POST",
        "/moto-api/recorder/start-recording",
        &[],
        "",
    );
    let rules = format!(
        r#"[{{"Name": "all", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "f", "Arn": "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
                          "Input": "{{\"deploy\": true}}"}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    http(
        &endpoint,
        "POST",
        "/moto-api/recorder/stop-recording",
        &[],
        "",
    );
    assert!(router.take_failures().is_empty());
    let recording = http(
        &endpoint,
        "GET",
        "/moto-api/recorder/download-recording",
        &[],
        "",
    );
    let invokes: Vec<serde_json::Value> = recording
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| {
            r["url"]
                .as_str()
                .is_some_and(|u| u.contains(&function) && u.ends_with("/invocations"))
        })
        .collect();
    assert_eq!(invokes.len(), 1, "{recording}");
    let invoke = &invokes[0];
    let header = |name: &str| {
        invoke["headers"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str().unwrap().to_string())
    };
    assert_eq!(header("X-Amz-Invocation-Type").as_deref(), Some("Event"));
    let body = invoke["body"].as_str().unwrap();
    let body = if invoke["body_encoded"] == serde_json::Value::Bool(true) {
        String::from_utf8(base64_decode(body)).unwrap()
    } else {
        body.to_string()
    };
    assert_eq!(body, r#"{"deploy": true}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_go_to_the_dead_letter_queue_with_eventbridge_attributes() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dlq = unique("dlq");
    let dlq_url = create_queue(&sqs, &dlq).await;
    let missing = unique("never-created");
    let rules = format!(
        r#"[{{"Name": "failed", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "gone", "Arn": "arn:aws:sqs:{REGION}:{ACCOUNT}:{missing}",
                          "DeadLetterConfig": {{"Arn": "arn:aws:sqs:{REGION}:{ACCOUNT}:{dlq}"}}}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    assert!(router.take_failures().is_empty());
    let snapshot = router.metrics().snapshot();
    let target = &snapshot["arn:aws:events:us-east-1:123456789012:rule/failed"].targets["gone"];
    assert_eq!(target.invocations_sent_to_dlq, 1);
    assert!(target.is_balanced());
    let messages = receive(&sqs, &dlq_url).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body(), Some(FAILED_EVENT));
    let attributes = messages[0].message_attributes().unwrap();
    let attribute = |name: &str| attributes[name].string_value().unwrap().to_string();
    assert_eq!(
        attribute("RULE_ARN"),
        "arn:aws:events:us-east-1:123456789012:rule/failed"
    );
    assert_eq!(
        attribute("TARGET_ARN"),
        format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{missing}")
    );
    assert_eq!(attribute("ERROR_CODE"), "NO_RESOURCE");
    assert_eq!(attribute("RETRY_ATTEMPTS"), "0");
    assert!(!attributes.contains_key("EXHAUSTED_RETRY_CONDITION"));
}

/// FAILED_EVENT with a fresh id and a `time` a minute ago (CloudWatch Logs
/// refuses log events older than 14 days).
fn recent_failed_event() -> (String, String, i64) {
    let id = unique("event");
    let now = std::time::SystemTime::now();
    let time = sluice_router::clock::format_rfc3339(now - Duration::from_secs(60));
    let seconds = sluice_router::clock::parse_rfc3339(&time).unwrap();
    let event = FAILED_EVENT
        .replace("8d116ece-1738-47d9-bd9c-172411e20b8f", &id)
        .replace("2026-09-14T07:31:05Z", &time);
    (event, id, seconds * 1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_logs_gets_one_log_event_per_delivery_in_the_events_stream() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let group = format!("/aws/events/{}", unique("images"));
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let arn = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*");
    let rules = format!(
        r#"[{{"Name": "whole", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "log", "Arn": "{arn}"}}]}},
            {{"Name": "shaped", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "log", "Arn": "{arn}",
               "InputTransformer": {{"InputPathsMap": {{"at": "$.time", "status": "$.detail.state.status"}},
                                     "InputTemplate": "{{\"timestamp\": <at>, \"message\": \"image <status>\"}}"}}}}]}}]"#
    );
    let (event, id, time_ms) = recent_failed_event();
    let router = route(&config, &rules, &event).await;
    assert!(router.take_failures().is_empty());
    assert_eq!(delivered(&router), 2);
    // One stream per event, named by its id.
    let read = logs
        .get_log_events()
        .log_group_name(&group)
        .log_stream_name(&id)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    let mut got: Vec<(i64, String)> = read
        .events()
        .iter()
        .map(|e| (e.timestamp().unwrap(), e.message().unwrap().to_string()))
        .collect();
    got.sort();
    let mut expected = vec![
        (time_ms, event.clone()),
        (time_ms, "image FAILED".to_string()),
    ];
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_too_old_for_cloudwatch_logs_fails_with_the_reason() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let group = format!("/aws/events/{}", unique("old"));
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let rules = format!(
        r#"[{{"Name": "old", "EventPattern": {{"source": ["aws.imagebuilder"]}},
             "Targets": [{{"Id": "log", "Arn": "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"}}]}}]"#
    );
    // FAILED_EVENT happened in September 2026, more than 14 days before these tests.
    let router = route(&config, &rules, FAILED_EVENT).await;
    let failures = router.take_failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].error_code, "TooOldLogEvent");
    assert!(failures[0].error_message.contains("more than 14 days ago"));
    let snapshot = router.metrics().snapshot();
    let target = &snapshot["arn:aws:events:us-east-1:123456789012:rule/old"].targets["log"];
    assert_eq!(target.invocation_attempts, 1, "not retried");
    assert_eq!(target.failure_reasons["TooOldLogEvent"], 1);
    let streams = logs
        .describe_log_streams()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    assert!(streams.log_streams().is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_command_sends_the_document_to_the_named_instances() {
    let Some(endpoint) = endpoint() else { return };
    let config = sdk_config(&endpoint).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let instance = format!("i-{:017x}", std::process::id() as u64 * 7919 + 13);
    let role = unique("builders");
    let rules = format!(
        r#"[{{"Name": "rebuild", "EventPattern": {{"detail": {{"state": {{"status": ["FAILED"]}}}}}},
             "Targets": [{{"Id": "by-id", "Arn": "arn:aws:ssm:{REGION}::document/AWS-RunShellScript",
                          "RunCommandParameters": {{"RunCommandTargets": [{{"Key": "InstanceIds", "Values": ["{instance}"]}}]}},
                          "InputTransformer": {{"InputPathsMap": {{"image": "$.resources[0]"}},
                                                "InputTemplate": "{{\"commands\": [\"rebuild <image>\"]}}"}}}},
                         {{"Id": "by-tag", "Arn": "arn:aws:ssm:{REGION}::document/AWS-RunShellScript",
                          "RunCommandParameters": {{"RunCommandTargets": [{{"Key": "tag:Role", "Values": ["{role}"]}}]}},
                          "Input": "{{\"commands\": \"uptime\"}}"}}]}}]"#
    );
    let router = route(&config, &rules, FAILED_EVENT).await;
    assert!(router.take_failures().is_empty());
    assert_eq!(delivered(&router), 2);
    let commands = ssm.list_commands().send().await.unwrap();
    let by_id = commands
        .commands()
        .iter()
        .find(|c| c.instance_ids().contains(&instance))
        .expect("a command for the instance");
    assert_eq!(by_id.document_name(), Some("AWS-RunShellScript"));
    assert_eq!(
        by_id.parameters().unwrap()["commands"],
        ["rebuild arn:aws:imagebuilder:us-east-2:210987654321:image/ml-gpu/1.4.2/3"]
    );
    let by_tag = commands
        .commands()
        .iter()
        .find(|c| c.targets().iter().any(|t| t.values() == [role.clone()]))
        .expect("a command for the tag");
    assert_eq!(by_tag.targets()[0].key(), Some("tag:Role"));
    assert_eq!(by_tag.parameters().unwrap()["commands"], ["uptime"]);
}
