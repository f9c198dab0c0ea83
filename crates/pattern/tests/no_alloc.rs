//! Matching allocates nothing once the cache has warmed up.
#![allow(unsafe_code)] // a counting global allocator needs `unsafe impl GlobalAlloc`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sluice_pattern::{Config, Matcher, ScanMode};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RULES: &[&str] = &[
    r#"{"source": ["aws.imagebuilder"], "detail": {"state": {"status": [{"prefix": "FAIL"}, "CANCELLED"]}}}"#,
    r#"{"detail": {"finding-severity-counts": {"critical": [{"numeric": [">", 0]}]}}}"#,
    r#"{"resources": [{"wildcard": "arn:aws:imagebuilder:*:image/*"}], "replay-name": [{"exists": false}]}"#,
    r#"{"detail": {"reason": [{"anything-but": {"prefix": "Image creation"}}]}, "region": [{"equals-ignore-case": "US-EAST-2"}]}"#,
    r#"{"$or": [{"detail": {"eventName": ["StartImagePipelineExecution"]}}, {"detail": {"sourceIPAddress": [{"cidr": "198.51.100.0/24"}]}}]}"#,
    r#"{"detail": {"m": {"a": ["1"], "b": ["2"]}}}"#,
    r#"{"detail": {"x": [{"equals-ignore-case": "ESCÉ"}, {"prefix": {"equals-ignore-case": "straß"}}]}}"#,
];

#[test]
fn matching_does_not_allocate_once_warm() {
    let events: Vec<Vec<u8>> = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/imagebuilder/events.jsonl"
    ))
    .expect("example events")
    .lines()
    .map(|l| l.as_bytes().to_vec())
    .chain([
        br#"{"detail": {"m": [{"a": "1", "b": "3"}, {"a": "0", "b": "2"}], "x": "esc\u00e9"}}"#
            .to_vec(),
        r#"{"detail": {"x": "STRASSENBAHN ẞ"}}"#.as_bytes().to_vec(),
    ])
    .collect();
    for mode in [ScanMode::Validating, ScanMode::EarlyExit] {
        let matcher = Matcher::builder()
            .configure(Config::new().scan_mode(mode))
            .build(RULES)
            .expect("valid rules");
        let mut cache = matcher.create_cache();
        let mut hits = matcher.create_match_set();
        let mut run = || {
            let mut total = 0;
            for event in &events {
                matcher
                    .matches_with(&mut cache, event, &mut hits)
                    .expect("valid event");
                total += hits.len();
            }
            total
        };
        let warm = run();
        assert!(warm > 0, "the rules match some example events");
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..10 {
            assert_eq!(run(), warm);
        }
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        assert_eq!(
            after - before,
            0,
            "{mode:?}: matching allocated {} times",
            after - before
        );
    }
}
