//! Any text as one line of an archive's `index.jsonl`: reading it never
//! panics, and a line that is accepted names a plain segment file inside
//! `segments/`, with a time range in order, and writes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::archive::{Segment, segment_file_name, segment_number};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(segment) = Segment::from_index_line(line) else {
        return;
    };
    let number = segment_number(&segment.file).expect("an accepted name is a segment name");
    assert_eq!(segment_file_name(number), segment.file);
    assert!(!segment.file.contains('/') && !segment.file.starts_with('.'));
    assert!(segment.first_time <= segment.last_time);
});
