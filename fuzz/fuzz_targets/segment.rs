//! Any bytes as an archive segment: reading never panics and never
//! reserves more than a frame's cap, and what it hands out is at most the
//! number of events the index line declares, in time order.
//!
//! The first 4 bytes are the index line's event count; the rest is the
//! segment file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::archive::{Segment, SegmentReader, segment_file_name};

fuzz_target!(|data: &[u8]| {
    let Some((count, contents)) = data.split_first_chunk::<4>() else {
        return;
    };
    let events = u64::from(u32::from_le_bytes(*count) % 1024);
    let dir = std::env::temp_dir().join(format!("sluice-fuzz-segment-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let segment = Segment {
        file: segment_file_name(1),
        first_time: i64::MIN,
        last_time: i64::MAX,
        events,
        bytes: contents.len() as u64,
    };
    std::fs::write(dir.join(&segment.file), contents).expect("write the segment");
    let Ok(mut reader) = SegmentReader::open(&dir, &segment) else {
        return;
    };
    let mut last = i64::MIN;
    let mut read = 0u64;
    while let Ok(Some((envelope, _event))) = reader.next_event() {
        let time = envelope.time.expect("a handed-out event has a time");
        assert!(time >= last, "events out of time order");
        last = time;
        read += 1;
        assert!(read <= events, "more events than the index declares");
    }
});
