//! Archives on disk and replay order.

use std::path::PathBuf;

use proptest::prelude::*;
use sluice_router::archive::{Archive, ArchiveDefinition, ArchiveError, ArchiveWriter};
use sluice_router::clock::format_epoch_seconds;
use sluice_router::replay::{ArchiveEvents, BucketOrder, Window, with_replay_name};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sluice-archive-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn event(id: u32, time: i64, source: &str) -> String {
    format!(
        r#"{{"version":"0","id":"e{id}","detail-type":"t","source":"{source}","account":"123456789012","time":"{}","region":"us-east-1","resources":[],"detail":{{"n":{id}}}}}"#,
        format_epoch_seconds(time)
    )
}

const T0: i64 = 1_764_064_800; // 2025-11-25T10:00:00Z

#[test]
fn segments_are_sorted_indexed_and_merged_in_time_order() {
    let root = temp_dir("merge");
    let definition = ArchiveDefinition::new(
        "images",
        "default",
        Some(r#"{"source": ["aws.imagebuilder"]}"#),
        0,
    )
    .unwrap();
    let mut writer = ArchiveWriter::open(&root, definition).unwrap();
    // Three batches with interleaved times, one segment each.
    let batches: [&[i64]; 3] = [&[300, 0, 120], &[60, 400, 10], &[200, 5, 1000]];
    let mut id = 0;
    for batch in batches {
        for offset in batch {
            id += 1;
            assert!(
                writer
                    .append(event(id, T0 + offset, "aws.imagebuilder").as_bytes())
                    .unwrap()
            );
        }
        // Other sources and replayed events are not kept.
        assert!(!writer.append(event(99, T0, "aws.ec2").as_bytes()).unwrap());
        let replayed = with_replay_name(event(98, T0, "aws.imagebuilder").as_bytes(), "r").unwrap();
        assert!(!writer.append(&replayed).unwrap());
        writer.flush().unwrap();
    }
    assert!(matches!(
        writer.append(br#"{"source": "aws.imagebuilder"}"#),
        Err(ArchiveError::InvalidEvent(_))
    ));
    assert!(writer.append(b"{not json").is_err());
    drop(writer);

    let archive = Archive::open(&root.join("images")).unwrap();
    assert_eq!(archive.segments().len(), 3);
    assert!(
        archive
            .segments()
            .iter()
            .all(|s| s.events == 3 && s.first_time <= s.last_time)
    );
    let window = Window::new(T0 + 5, T0 + 1000).unwrap();
    let times: Vec<i64> = ArchiveEvents::new(&archive, window)
        .map(|e| e.unwrap().time - T0)
        .collect();
    assert_eq!(times, [5, 10, 60, 120, 200, 300, 400]);

    // Reopening appends new segments after the existing ones.
    let definition = ArchiveDefinition::new("images", "default", None, 0).unwrap();
    let mut writer = ArchiveWriter::open(&root, definition).unwrap();
    writer
        .append(event(50, T0 + 7, "anything").as_bytes())
        .unwrap();
    writer.flush().unwrap();
    let archive = Archive::open(&root.join("images")).unwrap();
    assert_eq!(archive.segments().len(), 4);
    let all: Vec<i64> = ArchiveEvents::new(&archive, Window::new(T0, T0 + 10).unwrap())
        .map(|e| e.unwrap().time - T0)
        .collect();
    assert_eq!(all, [0, 5, 7]);
}

#[test]
fn retention_removes_whole_expired_segments() {
    let root = temp_dir("retention");
    let definition = ArchiveDefinition::new("short", "default", None, 1).unwrap();
    let mut writer = ArchiveWriter::open(&root, definition).unwrap();
    writer
        .append(event(1, T0 - 3 * 86_400, "a").as_bytes())
        .unwrap();
    writer.flush().unwrap();
    writer.append(event(2, T0 - 3600, "a").as_bytes()).unwrap();
    writer.flush().unwrap();
    assert_eq!(writer.apply_retention(T0).unwrap(), 1);
    assert_eq!(writer.apply_retention(T0).unwrap(), 0);
    let archive = Archive::open(&root.join("short")).unwrap();
    assert_eq!(archive.segments().len(), 1);
    let files = std::fs::read_dir(root.join("short/segments"))
        .unwrap()
        .count();
    assert_eq!(files, 1);
}

#[test]
fn replay_name_goes_after_region() {
    let out = with_replay_name(event(1, T0, "a").as_bytes(), "incident-1").unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#""region":"us-east-1","replay-name":"incident-1","resources""#),
        "{text}"
    );
    assert_eq!(
        with_replay_name(b"{}", "r").unwrap(),
        br#"{"replay-name":"r"}"#
    );
    assert_eq!(
        with_replay_name(br#"{"a":1}"#, "r").unwrap(),
        br#"{"replay-name":"r","a":1}"#
    );
    assert!(with_replay_name(b"[1]", "r").is_none());
}

proptest! {
    /// Events at most `lateness` seconds out of order come out in minute-bucket order.
    #[test]
    fn bucket_order_sorts_bounded_disorder(
        mut times in prop::collection::vec(0i64..100_000, 1..300),
        jitter in prop::collection::vec(0i64..120, 300),
    ) {
        times.sort();
        let shuffled: Vec<i64> = times.iter().zip(&jitter).map(|(t, j)| t + j).collect();
        let mut order = BucketOrder::new(180);
        let mut out = Vec::new();
        for t in &shuffled {
            out.extend(order.push(*t, Vec::new()).into_iter().map(|e| e.time));
        }
        out.extend(order.finish().into_iter().map(|e| e.time));
        prop_assert_eq!(out.len(), shuffled.len());
        prop_assert_eq!(order.late_events, 0);
        let buckets: Vec<i64> = out.iter().map(|t| t.div_euclid(60)).collect();
        prop_assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{:?}", buckets);
    }
}

#[test]
fn dry_runs_see_replay_name_and_respect_the_window() {
    use sluice_router::load::parse_rules;
    use sluice_router::model::Environment;
    use sluice_router::replay::dry_run_archive;
    use sluice_router::table::RuleTable;
    use std::sync::atomic::AtomicU64;

    let root = temp_dir("dry-run");
    let definition = ArchiveDefinition::new("all", "default", None, 0).unwrap();
    let mut writer = ArchiveWriter::open(&root, definition).unwrap();
    for i in 0..50u32 {
        writer
            .append(event(i, T0 + i64::from(i) * 60, "a").as_bytes())
            .unwrap();
        if i % 20 == 19 {
            writer.flush().unwrap();
        }
    }
    drop(writer);
    let archive = Archive::open(&root.join("all")).unwrap();
    let rules = parse_rules(
        "rules.json",
        r#"[{"Name": "not-replays", "EventPattern": {"replay-name": [{"exists": false}]}},
            {"Name": "this-replay", "EventPattern": {"replay-name": ["incident"]}},
            {"Name": "source-a", "EventPattern": {"source": ["a"]}}]"#,
        &Default::default(),
        &Environment::default(),
    )
    .unwrap();
    let table = RuleTable::new(rules).unwrap();
    let window = Window::new(T0 + 600, T0 + 1800).unwrap();
    let progress = AtomicU64::new(0);
    let counts = dry_run_archive(
        &archive, window, "incident", &table, "default", 3, &progress,
    )
    .unwrap();
    assert_eq!(counts.events, 20);
    assert_eq!(counts.matched, 20);
    assert_eq!(counts.per_rule.get("not-replays"), None);
    assert_eq!(counts.per_rule["this-replay"], 20);
    assert_eq!(counts.per_rule["source-a"], 20);
    // Only the two segments that overlap the window are read.
    assert_eq!(progress.load(std::sync::atomic::Ordering::Relaxed), 40);
}

#[test]
fn large_segments_are_read_frame_by_frame_and_old_single_frame_segments_still_read() {
    let root = temp_dir("frames");
    let definition = ArchiveDefinition::new("big", "default", None, 0).unwrap();
    let mut writer = ArchiveWriter::open(&root, definition).unwrap();
    let padding = "x".repeat(900);
    for i in 0..3000u32 {
        let event = event(i, T0 + i64::from(i), "a")
            .replace(r#""n":"#, &format!(r#""pad":"{padding}","n":"#));
        writer.append(event.as_bytes()).unwrap();
    }
    writer.flush().unwrap();
    drop(writer);
    let dir = root.join("big");
    // A segment written as one streamed frame, as earlier versions did.
    let old: String = (3000..3010u32)
        .map(|i| event(i, T0 + i64::from(i), "a") + "\n")
        .collect();
    let compressed = zstd::stream::encode_all(old.as_bytes(), 3).unwrap();
    std::fs::write(dir.join("segments/00000002.jsonl.zst"), &compressed).unwrap();
    let mut index = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("index.jsonl"))
        .unwrap();
    use std::io::Write;
    writeln!(
        index,
        r#"{{"file":"00000002.jsonl.zst","first_time":{},"last_time":{},"events":10,"bytes":{}}}"#,
        T0 + 3000,
        T0 + 3009,
        compressed.len()
    )
    .unwrap();
    drop(index);

    let archive = Archive::open(&dir).unwrap();
    let first = &archive.segments()[0];
    assert!(first.bytes > 0);
    let mut lines = 0;
    archive.for_each_line(first, |_| lines += 1).unwrap();
    assert_eq!(lines, 3000);
    let mut old_lines = 0;
    archive
        .for_each_line(&archive.segments()[1], |_| old_lines += 1)
        .unwrap();
    assert_eq!(old_lines, 10);
    let times: Vec<i64> = ArchiveEvents::new(&archive, Window::new(T0, T0 + 4000).unwrap())
        .map(|e| e.unwrap().time - T0)
        .collect();
    assert_eq!(times, (0..3010).collect::<Vec<i64>>());
}
