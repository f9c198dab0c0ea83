//! Helpers shared by the CLI test files: running `sluice`, the bundled
//! examples, temporary directories and moto server.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Says that a test group did not run and why, on stderr and, under
/// `scripts/test`, in the file `SLUICE_SKIPS` names, which the script
/// prints at its end.
pub fn skipped(group: &str, reason: &str) {
    eprintln!("{group}: skipped: {reason}");
    if let Ok(path) = std::env::var("SLUICE_SKIPS") {
        let line = format!("{group} ({reason})\n");
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
    }
}

/// The moto server `scripts/with-moto` started, or `None` (recorded as a
/// skip) when the tests run without it.
pub fn moto_endpoint() -> Option<String> {
    let endpoint = std::env::var("SLUICE_MOTO_ENDPOINT").ok();
    if endpoint.is_none() {
        skipped(
            "CLI tests against moto",
            "SLUICE_MOTO_ENDPOINT is not set: run through scripts/with-moto",
        );
    }
    endpoint
}

pub fn sluice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .output()
        .expect("sluice runs")
}

pub fn sluice_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sluice starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("sluice finishes")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn examples(file: &str) -> String {
    repo()
        .join("examples/imagebuilder")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-cli-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A tokio runtime and an SQS client for moto server at `endpoint`.
pub fn moto_sqs(endpoint: &str) -> (tokio::runtime::Runtime, aws_sdk_sqs::Client) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sqs = runtime.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await;
        aws_sdk_sqs::Client::new(&config)
    });
    (runtime, sqs)
}

/// The bodies of the messages on the queue at `url`, polling until
/// `wanted` have arrived (or ten polls have passed).
pub fn receive_bodies(
    runtime: &tokio::runtime::Runtime,
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    wanted: usize,
) -> Vec<String> {
    runtime.block_on(async {
        let mut bodies = Vec::new();
        for _ in 0..10 {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            bodies.extend(
                got.messages()
                    .iter()
                    .filter_map(|m| m.body().map(str::to_string)),
            );
            if bodies.len() >= wanted {
                break;
            }
        }
        bodies
    })
}

/// The environment that points `sluice` at moto server, with no profile
/// or instance metadata in the way.
pub fn moto_env(endpoint: &str, dir: &Path) -> Vec<(String, String)> {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("AWS_CONFIG_FILE".into(), path("no-config")),
        ("AWS_SHARED_CREDENTIALS_FILE".into(), path("no-credentials")),
    ]
}
