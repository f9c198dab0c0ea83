//! The CLI under hostile input: damaged archives, concurrent writers,
//! oversized events, endless files and out-of-range values. Each run must
//! end with a clear error or an honest summary, never a panic or a hang.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != ".lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn bundled_archive_copy(name: &str) -> std::path::PathBuf {
    let copy = temp_dir(name).join("image-events");
    let _ = std::fs::remove_dir_all(&copy);
    copy_dir(
        &repo().join("examples/imagebuilder/archive/image-events"),
        &copy,
    );
    copy
}

fn dry_run_replay(archive: &Path) -> std::process::Output {
    sluice(&[
        "replay",
        "--archive",
        archive.to_str().unwrap(),
        "--rules",
        &examples("routes.json"),
        "--start",
        "2026-09-14T00:00:00Z",
        "--end",
        "2026-09-15T00:00:00Z",
        "--dry-run",
    ])
}

/// While one `sluice archive` writes an archive, a second one on the same
/// directory is refused; the first one writes what it accepted on its
/// timer even though its input stays open.
#[test]
fn a_second_archive_run_on_one_directory_is_refused() {
    let dir = temp_dir("archive-lock");
    let archives = dir.join("archives");
    let _ = std::fs::remove_dir_all(&archives);
    let mut first = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "archive",
            "--rules",
            &examples("routes.json"),
            "--archive-dir",
            archives.to_str().unwrap(),
            "--flush-interval",
            "0.2",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let events = std::fs::read_to_string(examples("events.jsonl")).unwrap();
    let first_event = events.lines().next().unwrap();
    let mut stdin = first.stdin.take().unwrap();
    writeln!(stdin, "{first_event}").unwrap();
    stdin.flush().unwrap();
    // The event is written while stdin stays open: the index names it.
    // (The deadline only bounds a broken build; a working one takes 0.2 s.)
    let index = archives.join("image-events/index.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&index).is_ok_and(|text| text.contains("\"events\":1")) {
        assert!(
            Instant::now() < deadline,
            "the accepted event was never written"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = sluice(&[
        "archive",
        "--rules",
        &examples("routes.json"),
        "--archive-dir",
        archives.to_str().unwrap(),
        &examples("events.jsonl"),
    ]);
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("is being written by another process"),
        "{}",
        stderr(&second)
    );
    drop(stdin);
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(json(&first)["archives"]["image-events"]["archived"], 1);
    // Once the first run is done, the archive can be written again, and
    // the new segment gets a number of its own.
    let third = sluice(&[
        "archive",
        "--rules",
        &examples("routes.json"),
        "--archive-dir",
        archives.to_str().unwrap(),
        &examples("events.jsonl"),
    ]);
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let index = std::fs::read_to_string(&index).unwrap();
    let files: Vec<String> = index
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["file"].to_string())
        .collect();
    assert_eq!(files.len(), 2, "{index}");
    assert_ne!(files[0], files[1]);
}

/// 32 zeroed bytes in a segment: the replay names the segment, counts
/// its events as unreadable and passes on no altered event.
#[test]
fn a_damaged_segment_is_reported_and_its_events_counted_unreadable() {
    let archive = bundled_archive_copy("damaged-segment");
    let segment = archive.join("segments/00000001.jsonl.zst");
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 32].fill(0);
    std::fs::write(&segment, &bytes).unwrap();
    let out = dry_run_replay(&archive);
    let summary = json(&out);
    let unreadable = summary["unreadable"].as_u64().unwrap();
    assert!(unreadable > 0, "{summary}");
    assert_eq!(summary["events"].as_u64().unwrap() + unreadable, 10000);
    let corrupt = &summary["corrupt_segments"][0];
    assert!(
        corrupt["file"]
            .as_str()
            .unwrap()
            .ends_with("00000001.jsonl.zst"),
        "{summary}"
    );
    assert!(
        stderr(&out).contains("00000001.jsonl.zst"),
        "{}",
        stderr(&out)
    );
}

/// A segment whose zstd header declares 30 GB is refused by its header,
/// before any memory is reserved.
#[test]
fn a_segment_declaring_a_huge_frame_is_refused() {
    let archive = bundled_archive_copy("huge-frame");
    let seed = std::fs::read(repo().join("fuzz/seeds/segment/declares-30gb")).unwrap();
    // The seed is a 4-byte event count followed by the segment's bytes.
    std::fs::write(archive.join("segments/00000001.jsonl.zst"), &seed[4..]).unwrap();
    let out = dry_run_replay(&archive);
    let summary = json(&out);
    assert_eq!(summary["events"], 0, "{summary}");
    assert_eq!(summary["unreadable"], 10000, "{summary}");
    assert!(
        stderr(&out).contains("00000001.jsonl.zst"),
        "{}",
        stderr(&out)
    );
}

/// An index line naming a file outside `segments/` is refused: retention
/// never deletes it and replay never reads it.
#[test]
fn an_index_naming_a_file_outside_the_archive_is_refused() {
    let archive = bundled_archive_copy("escaping-index");
    let outside = archive.parent().unwrap().join("outside.txt");
    std::fs::write(&outside, "keep me").unwrap();
    let index = archive.join("index.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        &index,
        text.replace("00000001.jsonl.zst", "../../outside.txt"),
    )
    .unwrap();
    let out = dry_run_replay(&archive);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("outside.txt"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
}

/// A real replay that meets a missing segment still prints its summary,
/// with the last event time replayed and how to continue from there.
#[test]
fn a_replay_stopped_by_a_missing_segment_says_where_to_resume() {
    let Some(endpoint) = common::moto_endpoint() else {
        return;
    };
    let dir = temp_dir("replay-stopped");
    let archives = dir.join("archives");
    let _ = std::fs::remove_dir_all(&archives);
    // Two runs, two segments: the first seven events in time order, then
    // the rest, so the replay reads the whole first segment before it
    // needs the second.
    let events = std::fs::read_to_string(examples("events.jsonl")).unwrap();
    let time =
        |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap()["time"].clone();
    let mut lines: Vec<&str> = events.lines().collect();
    lines.sort_by_key(|line| time(line).as_str().unwrap().to_string());
    let mut archived_first = 0;
    for (part, chunk) in [&lines[..7], &lines[7..]].iter().enumerate() {
        let file = dir.join(format!("part-{part}.jsonl"));
        std::fs::write(&file, chunk.join("\n") + "\n").unwrap();
        let out = sluice(&[
            "archive",
            "--rules",
            &examples("routes.json"),
            "--archive-dir",
            archives.to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        if part == 0 {
            archived_first = json(&out)["archives"]["image-events"]["archived"]
                .as_u64()
                .unwrap();
        }
    }
    assert!(archived_first >= 6, "at most one of them is a replay");
    let archive = archives.join("image-events");
    std::fs::remove_file(archive.join("segments/00000002.jsonl.zst")).unwrap();
    let queue = format!("cli-replay-stopped-{}", std::process::id());
    let (runtime, sqs) = moto_sqs(&endpoint);
    let url = runtime.block_on(async {
        sqs.create_queue()
            .queue_name(&queue)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string()
    });
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        format!(
            r#"[{{"Name": "all", "EventPattern": {{"source": ["aws.imagebuilder"]}},
                 "Targets": [{{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:{queue}"}}]}}]"#
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "replay",
            "--archive",
            archive.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--start",
            "2026-09-14T00:00:00Z",
            "--end",
            "2026-09-15T00:00:00Z",
        ])
        .envs(moto_env(&endpoint, &dir))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let summary = json(&out);
    assert_eq!(summary["events"], archived_first, "{summary}");
    assert_eq!(
        summary["rules"]["all"]["targets"]["q"]["delivered"],
        archived_first
    );
    let stopped = &summary["stopped"];
    assert!(
        stopped["reason"].as_str().unwrap().contains("00000002"),
        "{summary}"
    );
    let last_time = time(lines[6]);
    assert_eq!(stopped["resume"]["replayed_through"], last_time);
    assert_eq!(stopped["resume"]["start"], last_time);
    assert!(stopped["resume"]["skip_events"].as_u64().unwrap() >= 1);
    let wanted = archived_first as usize;
    assert_eq!(receive_bodies(&runtime, &sqs, &url, wanted).len(), wanted);
}

/// `match` counts a line over `--max-event-size` as malformed and goes on.
#[test]
fn an_event_over_the_size_limit_is_counted_and_skipped() {
    let events = std::fs::read_to_string(examples("events.jsonl")).unwrap();
    let input: String = events.lines().take(2).map(|l| format!("{l}\n")).collect();
    let longest = input.lines().map(str::len).max().unwrap();
    let shortest = input.lines().map(str::len).min().unwrap();
    assert!(shortest < longest, "the two events differ in length");
    let limit = shortest.to_string();
    let out = sluice_stdin(
        &[
            "match",
            "--rules",
            &examples("routes.json"),
            "--max-event-size",
            &limit,
            "-",
        ],
        input.as_bytes(),
    );
    // Exit 1: neither event is one the rules match.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let refused: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("error").is_some()).collect();
    assert_eq!(refused.len(), 1, "{lines:?}");
    assert_eq!(
        refused[0]["error"],
        format!("the event has {longest} bytes, more than --max-event-size {limit}")
    );
    let counted = sluice_stdin(
        &[
            "match",
            "--rules",
            &examples("routes.json"),
            "--max-event-size",
            &limit,
            "--count",
            "-",
        ],
        input.as_bytes(),
    );
    assert_eq!(json(&counted)["invalid"], 1);
}

/// `file://` arguments are read up to a limit: /dev/zero ends in an error.
#[test]
fn an_endless_file_argument_is_refused() {
    let out = sluice(&[
        "test-event-pattern",
        "--event-pattern",
        "file:///dev/zero",
        "--event",
        "{}",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("larger than"), "{}", stderr(&out));
}

/// Values the machine or AWS cannot take are refused with a message.
#[test]
fn out_of_range_values_are_refused_without_a_panic() {
    let refused = |args: &[&str], text: &str| {
        let out = sluice(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(text), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    };
    let rules = examples("routes.json");
    let events = examples("events.jsonl");
    refused(
        &["match", "--rules", &rules, "--threads", "100000", &events],
        "is not between 1 and",
    );
    refused(
        &["match", "--rules", &rules, "--threads", "0", &events],
        "is not between 1 and",
    );
    let replay = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "replay",
            "--archive",
            &events,
            "--rules",
            &rules,
            "--start",
            "2026-09-14T00:00:00Z",
            "--end",
            "2026-09-15T00:00:00Z",
            "--dry-run",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let as_refs = |args: &[String]| -> Vec<String> { args.to_vec() };
    for (extra, text) in [
        (vec!["--threads", "100000"], "is not between 1 and"),
        (vec!["--event-bus", "my bus"], "eventBusName"),
        (vec!["--name", ""], "replayName"),
    ] {
        let args = as_refs(&replay(&extra));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&args, text);
    }
    refused(
        &[
            "route",
            "--rules",
            &rules,
            "--dry-run",
            "--region",
            "moon-1",
            &events,
        ],
        "region",
    );
    refused(
        &[
            "route",
            "--rules",
            &rules,
            "--dry-run",
            "--account",
            "12",
            &events,
        ],
        "account",
    );
}

/// `match` checks rule names and states as PutRule does: an empty name, a
/// name with a path in it, an unknown state and a repeated name are each
/// refused with the rule named.
#[test]
fn match_refuses_rule_names_and_states_put_rule_refuses() {
    let dir = temp_dir("match-names");
    let events = examples("events.jsonl");
    for (rules, text) in [
        (
            r#"[{"Name": "", "EventPattern": {"source": ["x"]}}]"#,
            "at 'name'",
        ),
        (
            r#"[{"Name": "../../x y", "EventPattern": {"source": ["x"]}}]"#,
            "Member must satisfy regular expression pattern",
        ),
        (
            r#"[{"Name": "r", "State": "MAYBE", "EventPattern": {"source": ["x"]}}]"#,
            "MAYBE",
        ),
        (
            r#"[{"Name": "r", "EventPattern": {"source": ["x"]}},
                {"Name": "r", "EventPattern": {"source": ["y"]}}]"#,
            "rule r: a rule with this name already exists on event bus default",
        ),
    ] {
        let path = dir.join("rules.json");
        std::fs::write(&path, rules).unwrap();
        let out = sluice(&["match", "--rules", path.to_str().unwrap(), &events]);
        assert_eq!(out.status.code(), Some(2), "{rules}: {}", stderr(&out));
        assert!(stderr(&out).contains(text), "{rules}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{rules}: nothing is matched");
    }
}

/// `--log-to /dev/full`: the write errors are reported, the records are
/// not counted as written, and the deliveries still happen.
#[test]
fn a_processing_log_on_a_full_device_reports_its_write_errors() {
    let Some(endpoint) = common::moto_endpoint() else {
        return;
    };
    let queue = format!("cli-log-full-{}", std::process::id());
    let (runtime, sqs) = moto_sqs(&endpoint);
    runtime.block_on(async { sqs.create_queue().queue_name(&queue).send().await.unwrap() });
    let dir = temp_dir("log-full");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        format!(
            r#"[{{"Name": "failed", "EventPattern": {{"detail": {{"state": {{"status": ["FAILED"]}}}}}},
                 "Targets": [{{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:{queue}"}}]}}]"#
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "route",
            "--rules",
            rules.to_str().unwrap(),
            "--log-to",
            "/dev/full",
            &examples("events.jsonl"),
        ])
        .envs(moto_env(&endpoint, &dir))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        json(&out)["rules"]["failed"]["targets"]["q"]["delivered"],
        2
    );
    assert!(stderr(&out).contains("/dev/full"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("records could not be written"),
        "{}",
        stderr(&out)
    );
}

/// A cron no date satisfies and a rate past the last year are refused;
/// a schedule whose years are over says so, in `schedule next` and in
/// `schedule run`, instead of waiting in silence.
#[test]
fn schedules_that_never_fire_are_refused_or_reported() {
    for (expression, text) in [
        ("cron(0 0 30 2 ? *)", "never fires"),
        ("rate(4294967295 minutes)", "write at most"),
    ] {
        let out = sluice(&["schedule", "next", expression]);
        assert_eq!(out.status.code(), Some(2), "{expression}");
        assert!(
            stderr(&out).contains("Parameter ScheduleExpression is not valid."),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(text), "{}", stderr(&out));
    }
    let out = sluice(&[
        "schedule",
        "next",
        "cron(0 12 1 1 ? 2002-2003)",
        "--from",
        "2002-06-01T00:00:00Z",
        "--count",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stdout(&out), "2003-01-01T12:00:00Z\n");
    assert!(
        stderr(&out).contains("does not fire after"),
        "{}",
        stderr(&out)
    );

    let dir = temp_dir("schedule-over");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"Name": "past", "ScheduleExpression": "cron(0 12 1 1 ? 2002-2003)",
             "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}]"#,
    )
    .unwrap();
    let out = sluice(&[
        "schedule",
        "run",
        "--rules",
        rules.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rule past: cron(0 12 1 1 ? 2002-2003) does not fire again"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("no scheduled rule fires again"),
        "{}",
        stderr(&out)
    );
}

/// Rules whose `$or` expand to 1,000 combinations each: 201 of them pass
/// the matcher's bound of 200,000 combinations, and the error names the
/// rule that crossed it, before any automaton is built.
#[test]
fn or_combinations_are_bounded_per_matcher() {
    let ten = |field: &str| {
        let alternatives: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"{field}": ["{i}"]}}"#))
            .collect();
        format!(r#"{{"$or": [{}]}}"#, alternatives.join(", "))
    };
    let pattern = format!(
        r#"{{"$or": [{}], "x": {}, "y": {}}}"#,
        (0..10)
            .map(|i| format!(r#"{{"a": ["{i}"]}}"#))
            .collect::<Vec<_>>()
            .join(", "),
        ten("b"),
        ten("c")
    );
    let rules: Vec<serde_json::Value> = (0..201)
        .map(|r| serde_json::json!({"Name": format!("r{r}"), "EventPattern": pattern}))
        .collect();
    let dir = temp_dir("or-bound");
    let path = dir.join("rules.json");
    std::fs::write(&path, serde_json::to_string(&rules).unwrap()).unwrap();
    let out = sluice(&[
        "match",
        "--rules",
        path.to_str().unwrap(),
        &examples("events.jsonl"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("rule r200: InvalidEventPatternException: Event pattern is not valid."),
        "{text}"
    );
    assert!(text.contains("at most 200000 combinations"), "{text}");
}
