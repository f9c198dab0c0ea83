//! # sluice-pattern
//!
//! Amazon EventBridge event patterns, compiled into one automaton.
//!
//! ## Overview
//!
//! Patterns are validated exactly as EventBridge validates them (same reason
//! texts), compiled together into a single matcher, and matched against raw
//! event bytes in one pass: the scanner reads only the fields some rule names
//! and never builds a document tree. Adding rules makes matching only
//! marginally slower: there is no per-rule loop.
//!
//! ## Example
//!
//! ```
//! use sluice_pattern::{Matcher, MatchSet};
//!
//! let matcher = Matcher::builder().build_named([
//!     ("image-failed", r#"{"source": ["aws.imagebuilder"],
//!                          "detail": {"state": {"status": ["FAILED"]}}}"#),
//!     ("critical-cve", r#"{"detail-type": ["EC2 Image Builder CVE Detected"],
//!                          "detail": {"finding-severity-counts": {"critical": [{"numeric": [">", 0]}]}}}"#),
//! ])?;
//! let event = br#"{"source": "aws.imagebuilder", "detail-type": "EC2 Image Builder CVE Detected",
//!                  "detail": {"finding-severity-counts": {"all": 3, "critical": 1}}}"#;
//! let mut cache = matcher.create_cache();
//! let mut hits = MatchSet::new(matcher.rule_count());
//! matcher.matches_with(&mut cache, event, &mut hits)?;
//! let names: Vec<_> = hits.iter().filter_map(|id| matcher.rule_name(id)).collect();
//! assert_eq!(names, ["critical-cve"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Semantics
//!
//! The EventBridge pattern language in full: exact strings, numbers (by
//! value), booleans and null; `prefix`, `suffix`, `equals-ignore-case` and
//! their combinations; `wildcard`; `anything-but` in all its forms; `numeric`
//! ranges compared exactly; `exists`; `cidr`; `$or`; dot-joined keys; event
//! arrays with array consistency. Where AWS is silent, sluice follows
//! event-ruler; every such choice is written down in the repository's
//! `spec/README.md`, whose case files run in the test suite.
//!
//! ## Features
//!
//! No optional features; no I/O; no async. `unsafe` is denied except for two
//! calls, each taken only when runtime detection found the instructions it
//! needs (the AVX2 block classifier, and the AVX-512 grammar checker for
//! objects and arrays no rule reads, in validating mode), and the checker's
//! 64-byte vector load from a 64-byte array.

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![deny(unsafe_code)]

mod api;
mod automaton;
mod blocks;
mod cache;
mod error;
mod explain;
mod json;
mod key_hash;
mod matcher;
mod number;
mod pattern;
#[doc(hidden)]
pub mod reference;
mod scan;
mod search;
mod swar;
mod text;

pub use api::{TestEventPatternError, test_event_pattern, test_event_pattern_with};
pub use cache::Cache;
pub use error::{BuildError, EventError, EventErrorKind, PatternError};
pub use explain::{Explanation, Failure};
pub use matcher::{
    Builder, Config, DEFAULT_MAX_MATCHER_COMBINATIONS, LiveMatcher, Matcher, ScanMode, check,
    check_with,
};
pub use search::{MatchSet, RuleId};
