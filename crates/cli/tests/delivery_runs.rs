//! Real delivery runs (`route`, `replay`) against targets that cannot be
//! reached: missing credentials stop the run before any delivery, an
//! unwritable failures file is refused at the start, and a target that is
//! down is given up on within the bounds the user sets.

mod common;

use std::process::{Command, Output};

use common::*;

/// A port on loopback that nobody listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The FAILED events of the examples go to one SQS target.
fn sqs_rules(dir: &std::path::Path) -> String {
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"Name": "failed", "EventPattern": {"detail": {"state": {"status": ["FAILED"]}}},
             "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:down"}]}]"#,
    )
    .unwrap();
    rules.to_string_lossy().into_owned()
}

fn run(args: &[&str], env: &[(String, String)], remove: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
    command.args(args);
    for name in remove {
        command.env_remove(name);
    }
    command.envs(env.iter().cloned()).output().unwrap()
}

/// A child's stderr, line by line.
type StderrLines = std::io::Lines<std::io::BufReader<std::process::ChildStderr>>;

/// Reads `child`'s stderr up to its first `sluice: retrying` line, which
/// it returns with the rest of stderr.
fn wait_until_retrying(child: &mut std::process::Child) -> (String, StderrLines) {
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        child.stderr.take().expect("stderr is piped"),
    ));
    let mut seen = Vec::new();
    loop {
        let Some(Ok(line)) = lines.next() else {
            panic!("sluice ended before retrying: {seen:?}");
        };
        if line.starts_with("sluice: retrying ") {
            return (line, lines);
        }
        seen.push(line);
    }
}

/// Without credentials, `route` exits 2 at once with a one-line hint and
/// makes no delivery.
#[test]
fn route_without_credentials_stops_before_the_first_delivery() {
    let dir = temp_dir("no-credentials");
    let rules = sqs_rules(&dir);
    let env: Vec<(String, String)> = moto_env(&format!("http://127.0.0.1:{}", closed_port()), &dir)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("AWS_ACCESS_KEY") && !name.starts_with("AWS_SECRET"))
        .chain([("HOME".to_string(), dir.to_string_lossy().into_owned())])
        .collect();
    let out = run(
        &["route", "--rules", &rules, &examples("events.jsonl")],
        &env,
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ],
    );
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("no AWS credentials"), "{text}");
    assert!(text.contains("AWS_ENDPOINT_URL"), "{text}");
    assert!(!text.contains("{ "), "no debug dump: {text}");
    assert!(stdout(&out).is_empty(), "no summary, since nothing ran");
}

/// `--failures` in a missing directory fails before any delivery.
#[test]
fn an_unwritable_failures_file_is_refused_at_the_start() {
    let dir = temp_dir("failures-unwritable");
    let rules = sqs_rules(&dir);
    let env = moto_env(&format!("http://127.0.0.1:{}", closed_port()), &dir);
    let failures = dir.join("missing/failures.jsonl");
    let out = run(
        &[
            "route",
            "--rules",
            &rules,
            "--failures",
            failures.to_str().unwrap(),
            &examples("events.jsonl"),
        ],
        &env,
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot create failures file"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "no delivery was made");
}

/// A target whose endpoint refuses connections is retried as often as
/// `--max-retries` allows, then recorded under `ConnectionRefused` in the
/// failures file and the summary.
#[test]
fn a_target_that_is_down_is_given_up_on_within_the_bounds_set() {
    let dir = temp_dir("target-down");
    let rules = sqs_rules(&dir);
    let env = moto_env(&format!("http://127.0.0.1:{}", closed_port()), &dir);
    let failures = dir.join("failures.jsonl");
    let out = run(
        &[
            "route",
            "--rules",
            &rules,
            "--max-retries",
            "1",
            "--max-event-age",
            "60",
            "--failures",
            failures.to_str().unwrap(),
            &examples("events.jsonl"),
        ],
        &env,
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&failures)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert_eq!(line["error_code"], "ConnectionRefused", "{line}");
        assert_eq!(line["retry_attempts"], 1, "{line}");
    }
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let target = &summary["rules"]["failed"]["targets"]["q"];
    assert_eq!(
        target["failure_reasons"]["ConnectionRefused"],
        lines.len() as u64,
        "{summary}"
    );
    for (flag, value) in [("--max-retries", "186"), ("--max-event-age", "59")] {
        let out = run(
            &[
                "route",
                "--rules",
                &rules,
                flag,
                value,
                &examples("events.jsonl"),
            ],
            &env,
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&out).contains(flag), "{}", stderr(&out));
    }
}

/// SIGTERM while a target is down and stdin is still open: no new
/// deliveries, the summary is printed, each delivery still retrying goes
/// to the failures file with its event and the reason `interrupted`, and
/// the exit code is 143.
#[test]
fn sigterm_records_the_deliveries_not_yet_final() {
    use std::io::Write;
    let dir = temp_dir("sigterm");
    let rules = sqs_rules(&dir);
    let env = moto_env(&format!("http://127.0.0.1:{}", closed_port()), &dir);
    let failures = dir.join("failures.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "route",
            "--rules",
            &rules,
            "--failures",
            failures.to_str().unwrap(),
            "-",
        ])
        .envs(env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&std::fs::read(examples("events.jsonl")).unwrap())
        .unwrap();
    stdin.flush().unwrap();
    let (retrying, stderr_lines) = wait_until_retrying(&mut child);
    assert!(
        retrying.contains(
            "arn:aws:sqs:us-east-1:123456789012:down: 2 deliveries pending, next attempt at 20"
        ),
        "{retrying}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let rest: Vec<String> = stderr_lines.map_while(Result::ok).collect();
    assert_eq!(out.status.code(), Some(143), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("SIGTERM")), "{rest:?}");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["rules"]["failed"]["targets"]["q"]["failed"], 2);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&failures)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["error_code"], "interrupted", "{line}");
        assert_eq!(
            line["event"]["detail"]["state"]["status"], "FAILED",
            "{line}"
        );
    }
}

/// SIGINT during a real replay: the in-flight deliveries are recorded as
/// interrupted, the summary says why the replay stopped, exit code 130.
#[test]
fn sigint_stops_a_replay_and_records_what_was_in_flight() {
    let dir = temp_dir("replay-sigint");
    let rules = sqs_rules(&dir);
    let env = moto_env(&format!("http://127.0.0.1:{}", closed_port()), &dir);
    let failures = dir.join("failures.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "replay",
            "--archive",
            &examples("events.jsonl"),
            "--rules",
            &rules,
            "--start",
            "2026-09-14T00:00:00Z",
            "--end",
            "2026-09-15T00:00:00Z",
            "--lateness",
            "0",
            "--failures",
            failures.to_str().unwrap(),
        ])
        .envs(env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (_, stderr_lines) = wait_until_retrying(&mut child);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let rest: Vec<String> = stderr_lines.map_while(Result::ok).collect();
    assert_eq!(out.status.code(), Some(130), "{rest:?}");
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        summary["stopped"]["reason"], "interrupted by SIGINT",
        "{summary}"
    );
    let lines = std::fs::read_to_string(&failures).unwrap();
    assert!(!lines.is_empty());
    for line in lines.lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(line["error_code"], "interrupted", "{line}");
    }
}
