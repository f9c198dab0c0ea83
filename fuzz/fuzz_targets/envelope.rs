//! Any bytes as an event for replay: reading the envelope and adding
//! `replay-name` never panic, and a marked valid object stays valid JSON
//! with the same members plus `replay-name`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::archive::{read_envelope, read_time_and_region};
use sluice_router::document::Node;
use sluice_router::replay::with_replay_name;

fuzz_target!(|data: &[u8]| {
    let _ = read_time_and_region(data);
    let _ = read_envelope(data);
    let Some(marked) = with_replay_name(data, "r") else {
        return;
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Node::Object(members)) = Node::parse(text) {
        let marked = std::str::from_utf8(&marked).expect("marking keeps UTF-8");
        match Node::parse(marked) {
            Ok(Node::Object(after)) => assert_eq!(after.len(), members.len() + 1),
            other => panic!("marking broke a valid object: {other:?}"),
        }
    }
});
