//! Archives: the events of a bus (or those matching a pattern), kept as
//! zstd-compressed JSON Lines segments indexed by event time.
//!
//! On disk, an archive is a directory:
//!
//! ```text
//! ARCHIVE/archive.json          the definition (name, bus, pattern, retention)
//! ARCHIVE/index.jsonl           one line per segment: file, first and last event time, events, bytes
//! ARCHIVE/segments/NNNNNNNN.jsonl.zst
//! ```
//!
//! A segment holds one batch of events sorted by event time; it is written
//! to a temporary file, synced, renamed into place and never rewritten. Its
//! index line is appended and synced after it. Retention removes whole
//! segments whose newest event is older than the retention period.
//! Replayed events (those with `replay-name`) are never archived.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use sluice_pattern::{Matcher, ScanMode};

use crate::clock::parse_rfc3339;
use crate::document::Node;
use crate::model::ValidationError;

/// Longest archive name.
pub const MAX_ARCHIVE_NAME_LEN: usize = 48;
/// Events per segment before it is written.
pub const SEGMENT_EVENTS: usize = 100_000;
/// Uncompressed bytes per segment before it is written.
pub const SEGMENT_BYTES: usize = 64 << 20;
/// zstd level of segments.
pub const COMPRESSION_LEVEL: i32 = 3;
/// Uncompressed bytes per zstd frame within a segment (frames end at line
/// ends), so a reader can decode a frame at a time into a cache-sized buffer.
pub const FRAME_BYTES: usize = 1 << 20;

/// An archive as declared in a rules file (`Archives`) or a template
/// (`AWS::Events::Archive`).
///
/// ```
/// use sluice_router::archive::ArchiveDefinition;
/// let archive = ArchiveDefinition::new("image-events", "default", Some(r#"{"source": ["aws.imagebuilder"]}"#), 30).unwrap();
/// assert_eq!(archive.retention_days, 30);
/// assert!(ArchiveDefinition::new("bad name", "default", None, 0).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveDefinition {
    /// `ArchiveName`.
    pub name: String,
    /// The bus whose events it keeps.
    pub bus: String,
    /// Only events matching this pattern are kept (all when `None`).
    pub event_pattern: Option<String>,
    /// Days events are kept; 0 keeps them forever.
    pub retention_days: u32,
}

impl ArchiveDefinition {
    /// Checks a definition as CreateArchive does.
    pub fn new(
        name: &str,
        bus: &str,
        event_pattern: Option<&str>,
        retention_days: i64,
    ) -> Result<ArchiveDefinition, ValidationError> {
        if name.is_empty()
            || name.len() > MAX_ARCHIVE_NAME_LEN
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(ValidationError::constraint(
                name,
                "archiveName",
                "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ (1 to 48 characters)",
            ));
        }
        if let Some(pattern) = event_pattern {
            sluice_pattern::check(pattern)
                .map_err(|e| ValidationError::invalid_pattern(e.message()))?;
        }
        if retention_days < 0 {
            return Err(ValidationError::constraint(
                &retention_days.to_string(),
                "retentionDays",
                "Member must have value greater than or equal to 0",
            ));
        }
        Ok(ArchiveDefinition {
            name: name.to_string(),
            bus: bus.to_string(),
            event_pattern: event_pattern.map(str::to_string),
            retention_days: u32::try_from(retention_days).unwrap_or(u32::MAX),
        })
    }

    fn to_json(&self) -> String {
        serde_json::json!({
            "ArchiveName": self.name,
            "EventBusName": self.bus,
            "EventPattern": self.event_pattern,
            "RetentionDays": self.retention_days,
        })
        .to_string()
    }

    fn from_json(file: &Path, text: &str) -> io::Result<ArchiveDefinition> {
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {what}", file.display()),
            )
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let name = value["ArchiveName"]
            .as_str()
            .ok_or_else(|| bad("no ArchiveName"))?;
        let bus = value["EventBusName"].as_str().unwrap_or("default");
        let pattern = value["EventPattern"].as_str();
        let retention = value["RetentionDays"].as_i64().unwrap_or(0);
        ArchiveDefinition::new(name, bus, pattern, retention).map_err(|e| bad(e.message()))
    }
}

/// Why an event was not archived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Not a JSON object with an RFC 3339 `time`.
    #[error("the event cannot be archived: {0}")]
    InvalidEvent(String),
}

/// One segment's index line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The segment's file, relative to the archive's `segments/` directory.
    pub file: String,
    /// Event time of its first event (seconds since the epoch).
    pub first_time: i64,
    /// Event time of its last event.
    pub last_time: i64,
    /// How many events it holds.
    pub events: u64,
    /// Its compressed size.
    pub bytes: u64,
}

impl Segment {
    fn to_json(&self) -> String {
        serde_json::json!({
            "file": self.file,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "events": self.events,
            "bytes": self.bytes,
        })
        .to_string()
    }

    fn from_json(line: &str) -> Option<Segment> {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        Some(Segment {
            file: value["file"].as_str()?.to_string(),
            first_time: value["first_time"].as_i64()?,
            last_time: value["last_time"].as_i64()?,
            events: value["events"].as_u64()?,
            bytes: value["bytes"].as_u64()?,
        })
    }
}

/// The envelope fields replay needs, read without parsing the whole event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    /// `time`, seconds since the epoch.
    pub time: Option<i64>,
    /// Whether the event has `replay-name`.
    pub replayed: bool,
    /// Byte offset just after the value of top-level `region` (where
    /// `replay-name` goes), if the event has one.
    pub after_region: Option<usize>,
}

/// Reads the top-level members of an event up to `detail` (or the end),
/// skipping values by bracket counting: `time`, `replay-name` and where
/// `region` ends. The event must be a valid JSON object.
///
/// ```
/// use sluice_router::archive::read_envelope;
/// let e = read_envelope(br#"{"id":"1","time":"2026-11-25T10:00:00Z","region":"us-east-1","detail":{}}"#).unwrap();
/// assert_eq!(e.time, Some(1_795_600_800));
/// assert_eq!(e.after_region, Some(60));
/// assert!(!e.replayed);
/// ```
pub fn read_envelope(event: &[u8]) -> Option<Envelope> {
    read_members(event, false)
}

/// Like [`read_envelope`], but stops once `time` and `region` are read, so
/// `replayed` is only known if `replay-name` came before them. For events
/// known not to be replays (an archive's), this reads only the envelope.
///
/// ```
/// use sluice_router::archive::read_time_and_region;
/// let e = read_time_and_region(br#"{"time":"2026-11-25T10:00:00Z","region":"eu-west-1","detail":{"big":[1,2,3]}}"#).unwrap();
/// assert_eq!(e.after_region, Some(51));
/// ```
pub fn read_time_and_region(event: &[u8]) -> Option<Envelope> {
    read_members(event, true)
}

fn read_members(event: &[u8], stop_early: bool) -> Option<Envelope> {
    let mut envelope = Envelope {
        time: None,
        replayed: false,
        after_region: None,
    };
    let mut at = skip_ws(event, 0);
    if event.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at = skip_ws(event, at);
        match event.get(at)? {
            b'}' => return Some(envelope),
            b',' => {
                at += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(event, at + 1)?;
        let key = &event[at + 1..key_end];
        at = skip_ws(event, key_end + 1);
        if event.get(at) != Some(&b':') {
            return None;
        }
        at = skip_ws(event, at + 1);
        let value_start = at;
        at = value_end(event, at)?;
        match key {
            b"time" => {
                let text = std::str::from_utf8(event.get(value_start + 1..at - 1)?).ok()?;
                envelope.time = parse_rfc3339(text);
            }
            b"region" => envelope.after_region = Some(at),
            b"replay-name" => envelope.replayed = true,
            _ => {}
        }
        if stop_early && envelope.time.is_some() && envelope.after_region.is_some() {
            return Some(envelope);
        }
    }
}

fn skip_ws(s: &[u8], mut at: usize) -> usize {
    while matches!(s.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// Index of the closing quote of a string whose body starts at `at`.
fn string_end(s: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let offset = memchr::memchr2(b'"', b'\\', s.get(at..)?)?;
        at += offset;
        if s[at] == b'"' {
            return Some(at);
        }
        at += 2;
    }
}

/// Index just after the value starting at `at`.
fn value_end(s: &[u8], at: usize) -> Option<usize> {
    match s.get(at)? {
        b'"' => Some(string_end(s, at + 1)? + 1),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match s.get(i)? {
                    b'"' => i = string_end(s, i + 1)?,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let len = s[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(s.len() - at);
            Some(at + len)
        }
    }
}

/// Appends events to an archive directory.
pub struct ArchiveWriter {
    dir: PathBuf,
    definition: ArchiveDefinition,
    matcher: Option<(Matcher, sluice_pattern::Cache, sluice_pattern::MatchSet)>,
    buffer: Vec<(i64, Vec<u8>)>,
    buffered_bytes: usize,
    next_segment: u64,
    /// Events archived so far by this writer.
    pub archived: u64,
}

impl ArchiveWriter {
    /// Opens (creating if needed) the archive `definition.name` under
    /// `root`. An existing archive keeps its segments.
    pub fn open(root: &Path, definition: ArchiveDefinition) -> io::Result<ArchiveWriter> {
        let dir = root.join(&definition.name);
        fs::create_dir_all(dir.join("segments"))?;
        let meta = dir.join("archive.json");
        if !meta.exists() {
            write_synced(&meta, definition.to_json().as_bytes())?;
        }
        let next_segment = read_index(&dir)?.len() as u64 + 1;
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
            next_segment,
            archived: 0,
        })
    }

    /// The archive's definition.
    pub fn definition(&self) -> &ArchiveDefinition {
        &self.definition
    }

    /// Offers one event; returns whether it was kept (not a replay, and
    /// matching the archive's pattern). Segments are written as they fill.
    pub fn append(&mut self, event: &[u8]) -> Result<bool, ArchiveError> {
        let event = event.trim_ascii();
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
        self.archived += 1;
        if self.buffer.len() >= SEGMENT_EVENTS || self.buffered_bytes >= SEGMENT_BYTES {
            self.flush()
                .map_err(|e| ArchiveError::InvalidEvent(e.to_string()))?;
        }
        Ok(true)
    }

    /// Writes the buffered events as one segment (sorted by event time),
    /// synced, then its index line, synced.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.buffer.sort_by_key(|(time, _)| *time);
        let name = format!("{:08}.jsonl.zst", self.next_segment);
        let path = self.dir.join("segments").join(&name);
        let temporary = self.dir.join("segments").join(format!(".{name}.partial"));
        {
            // Frames of about FRAME_BYTES, each ending at a line end; the file
            // is one zstd stream of several frames.
            let mut file = File::create(&temporary)?;
            let mut frame = Vec::with_capacity(FRAME_BYTES + 4096);
            for (_, event) in &self.buffer {
                if !frame.is_empty() && frame.len() + event.len() + 1 > FRAME_BYTES {
                    file.write_all(&zstd::bulk::compress(&frame, COMPRESSION_LEVEL)?)?;
                    frame.clear();
                }
                frame.extend_from_slice(event);
                frame.push(b'\n');
            }
            if !frame.is_empty() {
                file.write_all(&zstd::bulk::compress(&frame, COMPRESSION_LEVEL)?)?;
            }
            file.sync_all()?;
        }
        fs::rename(&temporary, &path)?;
        sync_dir(&self.dir.join("segments"))?;
        let segment = Segment {
            file: name,
            first_time: self.buffer.first().map_or(0, |e| e.0),
            last_time: self.buffer.last().map_or(0, |e| e.0),
            events: self.buffer.len() as u64,
            bytes: fs::metadata(&path)?.len(),
        };
        let mut index = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("index.jsonl"))?;
        writeln!(index, "{}", segment.to_json())?;
        index.sync_all()?;
        self.next_segment += 1;
        self.buffer.clear();
        self.buffered_bytes = 0;
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

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn read_index(dir: &Path) -> io::Result<Vec<Segment>> {
    let path = dir.join("index.jsonl");
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut segments = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let segment = Segment::from_json(&line).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{}: not a segment index line", path.display(), i + 1),
            )
        })?;
        segments.push(segment);
    }
    Ok(segments)
}

fn apply_retention(dir: &Path, retention_days: u32, now: i64) -> io::Result<usize> {
    if retention_days == 0 {
        return Ok(0);
    }
    let cutoff = now - i64::from(retention_days) * 86_400;
    let segments = read_index(dir)?;
    let (expired, kept): (Vec<Segment>, Vec<Segment>) =
        segments.into_iter().partition(|s| s.last_time < cutoff);
    if expired.is_empty() {
        return Ok(0);
    }
    // The index is replaced first, so a crash leaves files the index no
    // longer names, never an index naming missing files.
    let temporary = dir.join(".index.jsonl.partial");
    let text: String = kept.iter().map(|s| s.to_json() + "\n").collect();
    write_synced(&temporary, text.as_bytes())?;
    fs::rename(&temporary, dir.join("index.jsonl"))?;
    sync_dir(dir)?;
    for segment in &expired {
        fs::remove_file(dir.join("segments").join(&segment.file))?;
    }
    Ok(expired.len())
}

/// An archive opened for reading.
#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
    definition: ArchiveDefinition,
    segments: Vec<Segment>,
}

impl Archive {
    /// Opens the archive directory `dir` (the one holding `archive.json`).
    pub fn open(dir: &Path) -> io::Result<Archive> {
        let meta = dir.join("archive.json");
        let text = fs::read_to_string(&meta)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", meta.display())))?;
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

    /// Calls `line` with every event of a segment, decoding one zstd frame
    /// at a time into a reused buffer (frames without a recorded size are
    /// streamed).
    pub fn for_each_line(&self, segment: &Segment, mut line: impl FnMut(&[u8])) -> io::Result<()> {
        let path = self.dir.join("segments").join(&segment.file);
        let compressed = fs::read(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let corrupt = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {what}", path.display()),
            )
        };
        let mut decompressor = zstd::bulk::Decompressor::new()?;
        let mut frame = Vec::new();
        let mut at = 0;
        while at < compressed.len() {
            let rest = &compressed[at..];
            let size = zstd::zstd_safe::find_frame_compressed_size(rest)
                .map_err(|_| corrupt("not a zstd frame"))?;
            let bytes = rest
                .get(..size)
                .ok_or_else(|| corrupt("truncated zstd frame"))?;
            match zstd::zstd_safe::get_frame_content_size(bytes) {
                Ok(Some(content)) => {
                    frame.clear();
                    frame
                        .reserve(usize::try_from(content).map_err(|_| corrupt("frame too large"))?);
                    decompressor.decompress_to_buffer(bytes, &mut frame)?;
                    let mut start = 0;
                    for end in memchr::memchr_iter(b'\n', &frame).chain([frame.len()]) {
                        let event = frame[start..end].trim_ascii();
                        if !event.is_empty() {
                            line(event);
                        }
                        start = (end + 1).min(frame.len());
                    }
                }
                _ => for_each_line(
                    BufReader::new(zstd::stream::read::Decoder::new(bytes)?),
                    &mut line,
                )?,
            }
            at += size;
        }
        Ok(())
    }

    /// A reader of one segment's lines (decompressed).
    pub fn open_segment(&self, segment: &Segment) -> io::Result<impl BufRead + Send + use<>> {
        let path = self.dir.join("segments").join(&segment.file);
        let file = File::open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let decoder = zstd::stream::read::Decoder::new(file)?;
        Ok(BufReader::with_capacity(1 << 20, decoder))
    }
}

/// Calls `line` with every non-blank line of `reader` (without its line
/// end), straight from the reader's buffer; only a line that straddles two
/// buffer fills is copied.
pub(crate) fn for_each_line(
    mut reader: impl BufRead,
    mut line: impl FnMut(&[u8]),
) -> io::Result<()> {
    let mut carry: Vec<u8> = Vec::new();
    let mut emit = |bytes: &[u8]| {
        let bytes = bytes.trim_ascii();
        if !bytes.is_empty() {
            line(bytes);
        }
    };
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            emit(&carry);
            return Ok(());
        }
        let length = buffer.len();
        let mut start = 0;
        if !carry.is_empty() {
            match memchr::memchr(b'\n', buffer) {
                Some(end) => {
                    carry.extend_from_slice(&buffer[..end]);
                    emit(&carry);
                    carry.clear();
                    start = end + 1;
                }
                None => {
                    carry.extend_from_slice(buffer);
                    reader.consume(length);
                    continue;
                }
            }
        }
        let base = start;
        for offset in memchr::memchr_iter(b'\n', &buffer[base..]) {
            let end = base + offset;
            emit(&buffer[start..end]);
            start = end + 1;
        }
        carry.extend_from_slice(&buffer[start..]);
        reader.consume(length);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_buffer_fills() {
        let text = b"a\n\nbb\r\n  ccc\nlast";
        for capacity in 1..8 {
            let reader = io::BufReader::with_capacity(capacity, &text[..]);
            let mut lines = Vec::new();
            for_each_line(reader, |l| {
                lines.push(String::from_utf8(l.to_vec()).unwrap())
            })
            .unwrap();
            assert_eq!(lines, ["a", "bb", "ccc", "last"], "capacity {capacity}");
        }
    }
}
