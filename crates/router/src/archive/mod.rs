//! Archives: the events of a bus (or those matching a pattern), kept as
//! zstd-compressed JSON Lines segments indexed by event time.
//!
//! On disk, an archive is a directory:
//!
//! ```text
//! ARCHIVE/archive.json          the definition (name, bus, pattern, retention)
//! ARCHIVE/index.jsonl           one line per segment: file, first and last event time, events, bytes
//! ARCHIVE/segments/NNNNNNNN.jsonl.zst
//! ARCHIVE/.lock                 held by the one writer
//! ```
//!
//! A segment holds one batch of events sorted by event time, in frames
//! that each carry a checksum ([`segment`]); it is written to a new
//! temporary file, synced, moved to a segment name no file has had, and
//! never rewritten. Its index line is appended and synced after it.
//! Retention removes whole segments whose newest event is older than the
//! retention period. Replayed events (those with `replay-name`) are never
//! archived. Every file is opened without following links, and every name
//! read from the index must be a plain segment name.

mod definition;
mod envelope;
mod reader;
pub mod segment;
mod writer;

pub use definition::{ArchiveDefinition, MAX_ARCHIVE_NAME_LEN};
pub use envelope::{Envelope, read_envelope, read_time_and_region};
pub use reader::{Archive, MAX_DEFINITION_BYTES, is_archive};
pub use segment::{
    COMPRESSION_LEVEL, FRAME_BYTES, MAX_EVENT_BYTES, MAX_FRAME_BYTES, Segment, SegmentError,
    SegmentReader, segment_file_name, segment_number,
};
pub use writer::{ArchiveError, ArchiveWriter, LOCK_FILE, Recovery, SEGMENT_BYTES, SEGMENT_EVENTS};
