//! Writing an archive: segments appended under an exclusive lock, never
//! reusing a number, never replacing a file; retention by whole segments.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sluice_pattern::{Matcher, ScanMode};

use super::definition::ArchiveDefinition;
use super::envelope::read_envelope;
use super::reader::read_index;
use super::segment::{
    MAX_EVENT_BYTES, Segment, SegmentError, SegmentReader, segment_file_name, segment_number,
    write_frames,
};
use crate::document::Node;
use crate::files;

/// Events per segment before it is written.
pub const SEGMENT_EVENTS: usize = 100_000;
/// Uncompressed bytes per segment before it is written.
pub const SEGMENT_BYTES: usize = 64 << 20;
/// The lock file a writer holds in the archive's directory.
pub const LOCK_FILE: &str = ".lock";

/// Why an event was not archived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Not a JSON object with an RFC 3339 `time`.
    #[error("the event cannot be archived: {0}")]
    InvalidEvent(String),
    /// Larger than an archive keeps.
    #[error("the event has {0} bytes; an archive keeps events of at most {MAX_EVENT_BYTES}")]
    TooLarge(usize),
    /// A segment could not be written; the events buffered for it are
    /// still held and are written by the next flush that succeeds.
    #[error("cannot write a segment: {0}")]
    Write(String),
}

/// A segment found on disk that the index did not name (a writer stopped
/// between writing it and indexing it), and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Read whole and checked, then indexed: its events are kept.
    Indexed(Segment),
    /// Damaged: left out of the index, with why.
    Unreadable {
        /// The segment's file name.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Appends events to an archive directory. It holds the archive's lock
/// from [`ArchiveWriter::open`] until it is dropped, so two writers never
/// write one archive at once.
pub struct ArchiveWriter {
    dir: PathBuf,
    definition: ArchiveDefinition,
    matcher: Option<(Matcher, sluice_pattern::Cache, sluice_pattern::MatchSet)>,
    buffer: Vec<(i64, Vec<u8>)>,
    buffered_bytes: usize,
    /// When the oldest buffered event arrived.
    buffered_since: Option<Instant>,
    next_segment: u64,
    /// Held for the writer's life; the lock goes with it.
    _lock: File,
    recovered: Vec<Recovery>,
    /// Events archived so far by this writer (written or buffered).
    pub archived: u64,
}

impl ArchiveWriter {
    /// Opens (creating if needed) the archive `definition.name` under
    /// `root`, taking its lock. An existing archive keeps its segments; a
    /// segment a stopped writer left unindexed is checked and indexed (see
    /// [`ArchiveWriter::recovered`]), and new segments are numbered after
    /// every segment file present, indexed or not.
    ///
    /// ```
    /// use sluice_router::archive::{ArchiveDefinition, ArchiveWriter};
    /// let root = std::env::temp_dir().join(format!("sluice-writer-doc-{}", std::process::id()));
    /// let definition = ArchiveDefinition::new("a", "default", None, 0).unwrap();
    /// let writer = ArchiveWriter::open(&root, definition.clone()).unwrap();
    /// // A second writer of the same archive is refused while the first holds it.
    /// assert!(ArchiveWriter::open(&root, definition.clone()).is_err());
    /// drop(writer);
    /// assert!(ArchiveWriter::open(&root, definition).is_ok());
    /// # std::fs::remove_dir_all(&root).unwrap();
    /// ```
    pub fn open(root: &Path, definition: ArchiveDefinition) -> io::Result<ArchiveWriter> {
        files::real_dir(root)?;
        let dir = root.join(&definition.name);
        files::real_dir(&dir)?;
        let lock = take_lock(&dir, &definition.name)?;
        let segments_dir = dir.join("segments");
        files::real_dir(&segments_dir)?;
        let meta = dir.join("archive.json");
        if fs::symlink_metadata(&meta).is_err() {
            files::replace_synced(&meta, definition.to_json().as_bytes())?;
        }
        let mut index = read_index(&dir)?;
        let on_disk = segment_files(&segments_dir)?;
        let indexed: BTreeSet<u64> = index
            .iter()
            .filter_map(|s| segment_number(&s.file))
            .collect();
        let mut recovered = Vec::new();
        for &number in on_disk.difference(&indexed) {
            recovered.push(recover(&dir, &segments_dir, number, &mut index)?);
        }
        let next_segment = on_disk
            .iter()
            .chain(&indexed)
            .max()
            .map_or(1, |n| n.saturating_add(1));
        let matcher = match &definition.event_pattern {
            None => None,
            Some(pattern) => {
                let matcher = Matcher::builder()
                    .configure(sluice_pattern::Config::new().scan_mode(ScanMode::Validating))
                    .build([pattern.as_str()])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
                let cache = matcher.create_cache();
                let hits = sluice_pattern::MatchSet::new(1);
                Some((matcher, cache, hits))
            }
        };
        Ok(ArchiveWriter {
            dir,
            definition,
            matcher,
            buffer: Vec::new(),
            buffered_bytes: 0,
            buffered_since: None,
            next_segment,
            _lock: lock,
            recovered,
            archived: 0,
        })
    }

    /// The archive's definition.
    pub fn definition(&self) -> &ArchiveDefinition {
        &self.definition
    }

    /// The archive's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What opening found of segments a stopped writer left unindexed.
    pub fn recovered(&self) -> &[Recovery] {
        &self.recovered
    }

    /// Events offered and kept but not yet written to a segment.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Offers one event; returns whether it was kept (not a replay, and
    /// matching the archive's pattern). Segments are written as they fill.
    /// When writing one fails, the event is still kept (buffered) and the
    /// error returned; a later [`ArchiveWriter::flush`] writes it.
    pub fn append(&mut self, event: &[u8]) -> Result<bool, ArchiveError> {
        let event = event.trim_ascii();
        if event.len() > MAX_EVENT_BYTES {
            return Err(ArchiveError::TooLarge(event.len()));
        }
        if let Some((matcher, cache, hits)) = &mut self.matcher {
            matcher
                .matches_with(cache, event, hits)
                .map_err(|e| ArchiveError::InvalidEvent(e.to_string()))?;
            if hits.is_empty() {
                return Ok(false);
            }
        } else {
            // Validate the event even without a pattern.
            let text = std::str::from_utf8(event)
                .map_err(|_| ArchiveError::InvalidEvent("not UTF-8".into()))?;
            Node::parse(text).map_err(|e| ArchiveError::InvalidEvent(e.to_string()))?;
        }
        let envelope = read_envelope(event)
            .ok_or_else(|| ArchiveError::InvalidEvent("not a JSON object".into()))?;
        if envelope.replayed {
            return Ok(false);
        }
        let time = envelope.time.ok_or_else(|| {
            ArchiveError::InvalidEvent("no RFC 3339 \"time\" at the top level".into())
        })?;
        self.buffered_bytes += event.len() + 1;
        self.buffer.push((time, event.to_vec()));
        self.buffered_since.get_or_insert_with(Instant::now);
        self.archived += 1;
        if self.buffer.len() >= SEGMENT_EVENTS || self.buffered_bytes >= SEGMENT_BYTES {
            self.flush()
                .map_err(|e| ArchiveError::Write(e.to_string()))?;
        }
        Ok(true)
    }

    /// Writes the buffer when its oldest event has waited `max_wait` or
    /// longer; returns whether it wrote.
    pub fn flush_if_waited(&mut self, max_wait: Duration) -> io::Result<bool> {
        match self.buffered_since {
            Some(since) if since.elapsed() >= max_wait => self.flush().map(|()| true),
            _ => Ok(false),
        }
    }

    /// Writes the buffered events as one segment (sorted by event time):
    /// a new temporary file, synced, moved to the next unused segment name
    /// (never over an existing file), then its index line appended and
    /// synced. On an error the events stay buffered.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.buffer.sort_by_key(|(time, _)| *time);
        let segments = self.dir.join("segments");
        let name = segment_file_name(self.next_segment);
        let path = segments.join(&name);
        let temporary = segments.join(format!(".{name}.partial"));
        // A number is used once, whatever happens to this attempt.
        self.next_segment += 1;
        let written = (|| {
            let mut file = files::create_new(&temporary)?;
            write_frames(&mut file, &self.buffer)?;
            file.sync_all()?;
            files::rename_new(&temporary, &path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temporary);
            return Err(e);
        }
        files::sync_dir(&segments)?;
        let segment = Segment {
            file: name,
            first_time: self.buffer.first().map_or(0, |e| e.0),
            last_time: self.buffer.last().map_or(0, |e| e.0),
            events: self.buffer.len() as u64,
            bytes: fs::symlink_metadata(&path)?.len(),
        };
        append_index_line(&self.dir, &segment)?;
        self.buffer.clear();
        self.buffered_bytes = 0;
        self.buffered_since = None;
        Ok(())
    }

    /// Removes every segment whose newest event is older than the retention
    /// period at `now` (seconds since the epoch); returns how many.
    pub fn apply_retention(&mut self, now: i64) -> io::Result<usize> {
        apply_retention(&self.dir, self.definition.retention_days, now)
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        // Best effort: callers that care call `flush` and see its error.
        let _ = self.flush();
    }
}

/// Takes the archive's lock, or says who holds it.
fn take_lock(dir: &Path, name: &str) -> io::Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = files::open_append(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "archive {name} is being written by another process (it holds {}); \
                 wait for it to finish",
                path.display()
            ),
        )),
        Err(fs::TryLockError::Error(e)) => Err(io::Error::new(
            e.kind(),
            format!("{}: cannot lock: {e}", path.display()),
        )),
    }
}

/// The numbers of the segment files in `segments` (temporary files of a
/// stopped writer included, which are removed: their data was never
/// indexed and is written again by whoever still holds it).
fn segment_files(segments: &Path) -> io::Result<BTreeSet<u64>> {
    let mut numbers = BTreeSet::new();
    for entry in fs::read_dir(segments)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(number) = segment_number(name) {
            numbers.insert(number);
        } else if let Some(number) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".partial"))
            .and_then(segment_number)
        {
            numbers.insert(number);
            fs::remove_file(entry.path())?;
        }
    }
    Ok(numbers)
}

/// Reads an unindexed segment whole and indexes it if it is sound.
fn recover(
    dir: &Path,
    segments: &Path,
    number: u64,
    index: &mut Vec<Segment>,
) -> io::Result<Recovery> {
    let file = segment_file_name(number);
    if !fs::symlink_metadata(segments.join(&file))?.is_file() {
        return Ok(Recovery::Unreadable {
            file,
            reason: "not a regular file (a link is not followed)".into(),
        });
    }
    let unreadable = |e: SegmentError| match e {
        SegmentError::Io { source, .. } => Err(source),
        corrupt => Ok(Recovery::Unreadable {
            file: file.clone(),
            reason: corrupt.to_string(),
        }),
    };
    let mut reader = match SegmentReader::open_unindexed(segments.join(&file)) {
        Ok(reader) => reader,
        Err(e) => return unreadable(e),
    };
    let (mut first, mut last) = (None, 0);
    loop {
        match reader.next_event() {
            Ok(Some((envelope, _))) => {
                let time = envelope.time.unwrap_or_default();
                first.get_or_insert(time);
                last = time;
            }
            Ok(None) => break,
            Err(e) => return unreadable(e),
        }
    }
    let segment = Segment {
        file: file.clone(),
        first_time: first.unwrap_or_default(),
        last_time: last,
        events: reader.events_read(),
        bytes: reader.size(),
    };
    append_index_line(dir, &segment)?;
    index.push(segment.clone());
    Ok(Recovery::Indexed(segment))
}

fn append_index_line(dir: &Path, segment: &Segment) -> io::Result<()> {
    let mut index = files::open_append(&dir.join("index.jsonl"))?;
    writeln!(index, "{}", segment.to_json())?;
    index.sync_all()
}

fn apply_retention(dir: &Path, retention_days: u32, now: i64) -> io::Result<usize> {
    if retention_days == 0 {
        return Ok(0);
    }
    let cutoff = now.saturating_sub(i64::from(retention_days) * 86_400);
    let segments = read_index(dir)?;
    let (expired, kept): (Vec<Segment>, Vec<Segment>) =
        segments.into_iter().partition(|s| s.last_time < cutoff);
    if expired.is_empty() {
        return Ok(0);
    }
    // The index is replaced first, so a crash leaves files the index no
    // longer names, never an index naming missing files.
    let text: String = kept.iter().map(|s| s.to_json() + "\n").collect();
    files::replace_synced(&dir.join("index.jsonl"), text.as_bytes())?;
    for segment in &expired {
        // Index lines were checked to be plain segment names.
        match fs::remove_file(dir.join("segments").join(&segment.file)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(expired.len())
}
