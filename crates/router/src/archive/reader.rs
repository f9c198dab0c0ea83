//! Reading an archive: its definition, its index, and readers of its
//! segments.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::definition::ArchiveDefinition;
use super::segment::{Segment, SegmentError, SegmentReader};
use crate::files;

/// Longest `archive.json` read.
pub const MAX_DEFINITION_BYTES: u64 = 64 << 10;
/// Longest index line read (a line is about 120 bytes).
const MAX_INDEX_LINE: u64 = 4096;

/// An archive opened for reading.
#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
    definition: ArchiveDefinition,
    segments: Vec<Segment>,
}

impl Archive {
    /// Opens the archive directory `dir` (the one holding `archive.json`).
    /// Its index is read and checked whole: every line names a segment
    /// file of the archive's own `segments/` directory, once.
    pub fn open(dir: &Path) -> io::Result<Archive> {
        let meta = dir.join("archive.json");
        let text = files::read_limited(&meta, MAX_DEFINITION_BYTES)?;
        let text = String::from_utf8(text).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not UTF-8", meta.display()),
            )
        })?;
        let definition = ArchiveDefinition::from_json(&meta, &text)?;
        let mut segments = read_index(dir)?;
        segments.sort_by_key(|s| (s.first_time, s.last_time));
        Ok(Archive {
            dir: dir.to_path_buf(),
            definition,
            segments,
        })
    }

    /// The definition.
    pub fn definition(&self) -> &ArchiveDefinition {
        &self.definition
    }

    /// Every segment, by first event time.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The segments that may hold events with `start <= time < end`, by
    /// first event time.
    pub fn segments_between(&self, start: i64, end: i64) -> Vec<Segment> {
        self.segments
            .iter()
            .filter(|s| s.last_time >= start && s.first_time < end)
            .cloned()
            .collect()
    }

    /// A reader of one segment's events, checked frame by frame.
    pub fn segment_reader(&self, segment: &Segment) -> Result<SegmentReader, SegmentError> {
        SegmentReader::open(&self.dir.join("segments"), segment)
    }
}

/// Reads and checks `dir/index.jsonl` (none yet: no segments).
pub(crate) fn read_index(dir: &Path) -> io::Result<Vec<Segment>> {
    let path = dir.join("index.jsonl");
    let file = match files::open_read(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let bad = |line: usize, what: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}:{line}: {what}", path.display()),
        )
    };
    let mut reader = BufReader::new(file);
    let mut segments = Vec::new();
    let mut lines_of: HashMap<String, usize> = HashMap::new();
    let mut buffer = Vec::new();
    for number in 1.. {
        buffer.clear();
        let read = (&mut reader)
            .take(MAX_INDEX_LINE + 1)
            .read_until(b'\n', &mut buffer)?;
        if read == 0 {
            break;
        }
        if buffer.len() as u64 > MAX_INDEX_LINE {
            return Err(bad(
                number,
                format!("a line longer than {MAX_INDEX_LINE} bytes"),
            ));
        }
        let line = std::str::from_utf8(&buffer).map_err(|_| bad(number, "not UTF-8".into()))?;
        if line.trim().is_empty() {
            continue;
        }
        let segment = Segment::from_index_line(line).map_err(|e| bad(number, e))?;
        if let Some(first) = lines_of.insert(segment.file.clone(), number) {
            return Err(bad(
                number,
                format!(
                    "segment {} is indexed twice (also on line {first})",
                    segment.file
                ),
            ));
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// Whether `dir` holds an archive (an `archive.json` that is a file).
pub fn is_archive(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join("archive.json")).is_ok_and(|m| m.is_file())
}
