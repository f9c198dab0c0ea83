//! Archives on disk and replay order.

use std::path::PathBuf;

use proptest::prelude::*;
use sluice_router::archive::{
    Archive, ArchiveDefinition, ArchiveError, ArchiveWriter, Recovery, Segment, SegmentError,
};
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

/// Every event of a segment, read through its checked reader.
fn read_all(archive: &Archive, segment: &Segment) -> Result<Vec<String>, SegmentError> {
    let mut reader = archive.segment_reader(segment)?;
    let mut events = Vec::new();
    while let Some((_, event)) = reader.next_event()? {
        events.push(String::from_utf8(event.to_vec()).unwrap());
    }
    Ok(events)
}

/// Writes `count` events with times from `first` on, as one segment.
fn write_segment(root: &std::path::Path, name: &str, first: u32, count: u32) {
    let definition = ArchiveDefinition::new(name, "default", None, 0).unwrap();
    let mut writer = ArchiveWriter::open(root, definition).unwrap();
    for i in first..first + count {
        writer
            .append(event(i, T0 + i64::from(i), "a").as_bytes())
            .unwrap();
    }
    writer.flush().unwrap();
}

fn replayed_ids(archive: &Archive) -> Vec<String> {
    ArchiveEvents::new(archive, Window::new(T0 - 10 * 86_400, T0 + 86_400).unwrap())
        .map(|e| {
            let e = e.unwrap();
            let text = String::from_utf8(e.event).unwrap();
            let start = text.find(r#""id":""#).unwrap() + 6;
            text[start..start + text[start..].find('"').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn large_segments_are_read_frame_by_frame() {
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
    let archive = Archive::open(&root.join("big")).unwrap();
    let segment = &archive.segments()[0];
    assert_eq!(read_all(&archive, segment).unwrap().len(), 3000);
    // About 2.8 MB of events: three frames, each with its checksum.
    let bytes = std::fs::read(root.join("big/segments").join(&segment.file)).unwrap();
    let frames = bytes
        .windows(4)
        .filter(|w| *w == [0x28, 0xb5, 0x2f, 0xfd])
        .count();
    assert!(frames >= 3, "{frames} frames");
    let times: Vec<i64> = ArchiveEvents::new(&archive, Window::new(T0, T0 + 4000).unwrap())
        .map(|e| e.unwrap().time - T0)
        .collect();
    assert_eq!(times, (0..3000).collect::<Vec<i64>>());
}

#[test]
fn segment_numbers_are_never_reused_after_retention() {
    let root = temp_dir("numbers");
    let definition = ArchiveDefinition::new("kept", "default", None, 1).unwrap();
    let mut writer = ArchiveWriter::open(&root, definition.clone()).unwrap();
    // Segment 1 is old, segments 2 and 3 are recent.
    writer
        .append(event(1, T0 - 3 * 86_400, "a").as_bytes())
        .unwrap();
    writer.flush().unwrap();
    for id in [2, 3] {
        writer.append(event(id, T0 - 60, "a").as_bytes()).unwrap();
        writer.flush().unwrap();
    }
    assert_eq!(writer.apply_retention(T0).unwrap(), 1);
    drop(writer);
    // A new writer numbers after every file there, not after the index's length.
    let mut writer = ArchiveWriter::open(&root, definition).unwrap();
    writer.append(event(4, T0 - 30, "a").as_bytes()).unwrap();
    writer.flush().unwrap();
    drop(writer);
    let archive = Archive::open(&root.join("kept")).unwrap();
    let files: Vec<&str> = archive.segments().iter().map(|s| s.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "00000002.jsonl.zst",
            "00000003.jsonl.zst",
            "00000004.jsonl.zst"
        ]
    );
    assert_eq!(replayed_ids(&archive), ["e2", "e3", "e4"]);
}

#[test]
fn a_second_writer_of_one_archive_is_refused_with_a_clear_error() {
    let root = temp_dir("lock");
    let definition = ArchiveDefinition::new("busy", "default", None, 0).unwrap();
    let first = ArchiveWriter::open(&root, definition.clone()).unwrap();
    let error = ArchiveWriter::open(&root, definition.clone())
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("archive busy is being written by another process"),
        "{error}"
    );
    drop(first);
    assert!(ArchiveWriter::open(&root, definition).is_ok());
}

#[test]
fn an_unindexed_segment_left_by_a_stopped_writer_is_recovered() {
    let root = temp_dir("recover");
    write_segment(&root, "r", 0, 5);
    let dir = root.join("r");
    // As if the writer stopped after writing segment 2 but before indexing it.
    let index = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    write_segment(&root, "r", 5, 3);
    std::fs::write(dir.join("index.jsonl"), index).unwrap();
    let definition = ArchiveDefinition::new("r", "default", None, 0).unwrap();
    let writer = ArchiveWriter::open(&root, definition).unwrap();
    assert!(matches!(
        writer.recovered(),
        [Recovery::Indexed(s)] if s.file == "00000002.jsonl.zst" && s.events == 3
    ));
    drop(writer);
    let archive = Archive::open(&dir).unwrap();
    assert_eq!(replayed_ids(&archive).len(), 8);
}

#[test]
fn index_names_outside_the_segments_directory_are_refused() {
    let root = temp_dir("confined");
    write_segment(&root, "c", 0, 2);
    let dir = root.join("c");
    let line = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    let outside = root.join("victim");
    std::fs::write(&outside, b"keep me").unwrap();
    for name in [
        "../../victim",
        outside.to_str().unwrap(),
        "x/00000001.jsonl.zst",
        "..",
    ] {
        let bad = line.replace("00000001.jsonl.zst", name);
        std::fs::write(dir.join("index.jsonl"), &bad).unwrap();
        let error = Archive::open(&dir).unwrap_err().to_string();
        assert!(error.contains("is not a segment name"), "{name}: {error}");
        // Retention reads the same index, so it deletes nothing outside.
        let definition = ArchiveDefinition::new("c", "default", None, 1).unwrap();
        assert!(ArchiveWriter::open(&root, definition).is_err());
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep me");
    }
    // The same segment indexed twice.
    std::fs::write(dir.join("index.jsonl"), format!("{line}{line}")).unwrap();
    let error = Archive::open(&dir).unwrap_err().to_string();
    assert!(error.contains("indexed twice"), "{error}");
    // An archive named ".." in archive.json.
    std::fs::write(dir.join("index.jsonl"), &line).unwrap();
    std::fs::write(dir.join("archive.json"), r#"{"ArchiveName": ".."}"#).unwrap();
    assert!(Archive::open(&dir).is_err());
    assert!(ArchiveDefinition::new("..", "default", None, 0).is_err());
    assert!(ArchiveDefinition::new(".", "default", None, 0).is_err());
}

#[cfg(unix)]
#[test]
fn planted_links_are_never_followed() {
    let root = temp_dir("links");
    write_segment(&root, "l", 0, 2);
    let dir = root.join("l");
    let victim = root.join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    // A link where the next segment will be written, and one for its
    // temporary file.
    std::os::unix::fs::symlink(&victim, dir.join("segments/00000002.jsonl.zst")).unwrap();
    let definition = ArchiveDefinition::new("l", "default", None, 0).unwrap();
    let mut writer = ArchiveWriter::open(&root, definition.clone()).unwrap();
    writer.append(event(9, T0, "a").as_bytes()).unwrap();
    writer.flush().unwrap();
    drop(writer);
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    // The link's number was skipped: the new segment is 3.
    let archive = Archive::open(&dir).unwrap();
    let files: Vec<&str> = archive.segments().iter().map(|s| s.file.as_str()).collect();
    assert!(files.contains(&"00000003.jsonl.zst"), "{files:?}");
    assert!(!files.contains(&"00000002.jsonl.zst"), "{files:?}");
    // An index that is a link is refused, and so is a segment that is one.
    let index = dir.join("index.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&victim, &text).unwrap();
    std::fs::remove_file(&index).unwrap();
    std::os::unix::fs::symlink(&victim, &index).unwrap();
    let error = Archive::open(&dir).unwrap_err().to_string();
    assert!(error.contains("symbolic link"), "{error}");
    assert!(ArchiveWriter::open(&root, definition).is_err());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), text);
}

#[test]
fn damaged_segments_are_reported_and_never_replayed_altered() {
    use sluice_router::load::parse_rules;
    use sluice_router::model::Environment;
    use sluice_router::replay::dry_run_archive;
    use sluice_router::table::RuleTable;
    use std::sync::atomic::AtomicU64;

    let root = temp_dir("damaged");
    write_segment(&root, "d", 0, 40);
    write_segment(&root, "d", 100, 10);
    let dir = root.join("d");
    let path = dir.join("segments/00000001.jsonl.zst");
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 32].fill(0);
    std::fs::write(&path, &bytes).unwrap();

    let archive = Archive::open(&dir).unwrap();
    let error = read_all(&archive, &archive.segments()[0]).unwrap_err();
    assert!(error.is_corrupt(), "{error}");
    assert!(error.to_string().contains("00000001.jsonl.zst"), "{error}");
    // The merge passes on only the intact segment's events.
    let mut events = ArchiveEvents::new(&archive, Window::new(T0, T0 + 1000).unwrap());
    let times: Vec<i64> = events.by_ref().map(|e| e.unwrap().time - T0).collect();
    assert_eq!(times, (100..110).collect::<Vec<i64>>());
    assert_eq!(events.corrupt_segments().len(), 1);
    assert_eq!(events.corrupt_segments()[0].events_lost, 40);

    let rules = parse_rules(
        "rules.json",
        r#"[{"Name": "all", "EventPattern": {"source": ["a"]}}]"#,
        &Default::default(),
        &Environment::default(),
    )
    .unwrap();
    let table = RuleTable::new(rules).unwrap();
    let counts = dry_run_archive(
        &archive,
        Window::new(T0, T0 + 1000).unwrap(),
        "r",
        &table,
        "default",
        2,
        &AtomicU64::new(0),
    )
    .unwrap();
    assert_eq!(counts.events, 10);
    assert_eq!(counts.per_rule["all"], 10);
    assert_eq!(counts.unreadable, 40);
    assert_eq!(counts.corrupt_segments.len(), 1);
}

#[test]
fn index_counts_and_sizes_are_checked() {
    let root = temp_dir("counts");
    write_segment(&root, "n", 0, 4);
    let dir = root.join("n");
    let line = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    std::fs::write(
        dir.join("index.jsonl"),
        line.replace(r#""events":4"#, r#""events":5"#),
    )
    .unwrap();
    let archive = Archive::open(&dir).unwrap();
    let error = read_all(&archive, &archive.segments()[0])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("holds 4 events; the index says 5"),
        "{error}"
    );
    let bytes = archive.segments()[0].bytes;
    std::fs::write(
        dir.join("index.jsonl"),
        line.replace(
            &format!(r#""bytes":{bytes}"#),
            &format!(r#""bytes":{}"#, bytes + 1),
        ),
    )
    .unwrap();
    let archive = Archive::open(&dir).unwrap();
    let error = read_all(&archive, &archive.segments()[0])
        .unwrap_err()
        .to_string();
    assert!(error.contains("the index says"), "{error}");
}

#[test]
fn a_frame_that_declares_gigabytes_is_refused_before_any_memory_is_reserved() {
    let root = temp_dir("huge");
    write_segment(&root, "h", 0, 1);
    let dir = root.join("h");
    // 58 bytes: a frame header declaring 30 GB of content, then zeros.
    let mut bytes = vec![0x28, 0xb5, 0x2f, 0xfd, 0b1100_0100, 0];
    bytes.extend_from_slice(&(30u64 << 30).to_le_bytes());
    bytes.resize(58, 0);
    std::fs::write(dir.join("segments/00000001.jsonl.zst"), &bytes).unwrap();
    let line = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    let size = Archive::open(&dir).unwrap().segments()[0].bytes;
    std::fs::write(
        dir.join("index.jsonl"),
        line.replace(&format!(r#""bytes":{size}"#), r#""bytes":58"#),
    )
    .unwrap();
    let archive = Archive::open(&dir).unwrap();
    let error = read_all(&archive, &archive.segments()[0])
        .unwrap_err()
        .to_string();
    assert!(error.contains("declares 32212254720 bytes"), "{error}");
}

#[test]
fn frames_without_checksums_are_refused() {
    let root = temp_dir("unchecked");
    write_segment(&root, "u", 0, 3);
    let dir = root.join("u");
    let plain: String = (0..3u32)
        .map(|i| event(i, T0 + i64::from(i), "a") + "\n")
        .collect();
    let compressed = zstd::bulk::compress(plain.as_bytes(), 3).unwrap();
    std::fs::write(dir.join("segments/00000001.jsonl.zst"), &compressed).unwrap();
    let line = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    let size = Archive::open(&dir).unwrap().segments()[0].bytes;
    std::fs::write(
        dir.join("index.jsonl"),
        line.replace(
            &format!(r#""bytes":{size}"#),
            &format!(r#""bytes":{}"#, compressed.len()),
        ),
    )
    .unwrap();
    let archive = Archive::open(&dir).unwrap();
    let error = read_all(&archive, &archive.segments()[0])
        .unwrap_err()
        .to_string();
    assert!(error.contains("without a checksum"), "{error}");
}
