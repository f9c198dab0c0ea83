//! Segments: the files an archive keeps its events in, their index lines,
//! and the checked reading of both.
//!
//! A segment is a sequence of zstd frames, each holding whole JSON Lines
//! events (about [`FRAME_BYTES`] of them; one larger event has a frame of
//! its own). Every frame records its content size and a checksum of its
//! content, and a reader takes no event from a frame before the frame has
//! been decoded whole and its checksum verified. The index line of a
//! segment gives its event count and size, and the time of its first and
//! last event; the reader checks all four.

use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};

use super::envelope::{Envelope, read_time_and_region};
use crate::files;

/// Uncompressed bytes per zstd frame within a segment (frames end at line
/// ends), so a reader decodes a frame at a time into a cache-sized buffer.
pub const FRAME_BYTES: usize = 1 << 20;
/// The most content one frame may hold: one event of
/// [`MAX_EVENT_BYTES`] and its line end. A reader refuses a frame that
/// declares more, before reserving any memory for it.
pub const MAX_FRAME_BYTES: usize = 16 << 20;
/// The largest event an archive keeps.
pub const MAX_EVENT_BYTES: usize = MAX_FRAME_BYTES - 1;
/// zstd level of segments.
pub const COMPRESSION_LEVEL: i32 = 3;
/// Largest window a frame may use (2^24 bytes, above any frame's content).
const WINDOW_LOG_MAX: u32 = 24;
/// Bytes read from a segment file at a time.
const READ_BUFFER: usize = 64 << 10;
/// A frame header is at most this long (magic, descriptor, window,
/// dictionary id, content size).
const MAX_FRAME_HEADER: usize = 18;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The frame header descriptor's content-checksum flag.
const CHECKSUM_FLAG: u8 = 0x04;

/// The file name of segment `number`: `NNNNNNNN.jsonl.zst`.
///
/// ```
/// use sluice_router::archive::{segment_file_name, segment_number};
/// assert_eq!(segment_file_name(7), "00000007.jsonl.zst");
/// assert_eq!(segment_number("00000007.jsonl.zst"), Some(7));
/// assert_eq!(segment_number("../../etc/passwd"), None);
/// ```
pub fn segment_file_name(number: u64) -> String {
    format!("{number:08}.jsonl.zst")
}

/// The number of a segment file name, if `name` is one: at least eight
/// digits, then `.jsonl.zst`, nothing else (no directory, no dots).
pub fn segment_number(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".jsonl.zst")?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One segment's index line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The segment's file name in the archive's `segments/` directory
    /// (always a [`segment_file_name`]).
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
    pub(crate) fn to_json(&self) -> String {
        serde_json::json!({
            "file": self.file,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "events": self.events,
            "bytes": self.bytes,
        })
        .to_string()
    }

    /// Reads one index line; the reason when it is not one. A file name
    /// that is not a segment name (`../x`, an absolute path) is refused.
    ///
    /// ```
    /// use sluice_router::archive::Segment;
    /// let line = r#"{"file":"00000001.jsonl.zst","first_time":1,"last_time":2,"events":3,"bytes":4}"#;
    /// assert_eq!(Segment::from_index_line(line).unwrap().events, 3);
    /// let escaping = line.replace("00000001.jsonl.zst", "../../x");
    /// assert!(Segment::from_index_line(&escaping).is_err());
    /// ```
    pub fn from_index_line(line: &str) -> Result<Segment, String> {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let field = |name: &str| -> Result<&serde_json::Value, String> {
            match &value[name] {
                serde_json::Value::Null => Err(format!("no \"{name}\"")),
                v => Ok(v),
            }
        };
        let integer = |name: &str| -> Result<i64, String> {
            field(name)?
                .as_i64()
                .ok_or_else(|| format!("\"{name}\" is not an integer"))
        };
        let count = |name: &str| -> Result<u64, String> {
            field(name)?
                .as_u64()
                .ok_or_else(|| format!("\"{name}\" is not a count"))
        };
        let file = field("file")?
            .as_str()
            .ok_or_else(|| "\"file\" is not a string".to_string())?;
        if segment_number(file).is_none() {
            return Err(format!(
                "segment file {file:?} is not a segment name (NNNNNNNN.jsonl.zst)"
            ));
        }
        let segment = Segment {
            file: file.to_string(),
            first_time: integer("first_time")?,
            last_time: integer("last_time")?,
            events: count("events")?,
            bytes: count("bytes")?,
        };
        if segment.first_time > segment.last_time {
            return Err("\"first_time\" is after \"last_time\"".into());
        }
        Ok(segment)
    }
}

/// Writes `events` (sorted by time) to `file` as checksummed frames.
pub(crate) fn write_frames(file: &mut File, events: &[(i64, Vec<u8>)]) -> io::Result<()> {
    let mut compressor = zstd::bulk::Compressor::new(COMPRESSION_LEVEL)?;
    compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    let mut frame = Vec::with_capacity(FRAME_BYTES + 4096);
    for (_, event) in events {
        if !frame.is_empty() && frame.len() + event.len() + 1 > FRAME_BYTES {
            file.write_all(&compressor.compress(&frame)?)?;
            frame.clear();
        }
        frame.extend_from_slice(event);
        frame.push(b'\n');
    }
    if !frame.is_empty() {
        file.write_all(&compressor.compress(&frame)?)?;
    }
    Ok(())
}

/// Why a segment could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// The segment's bytes are not what sluice wrote: a checksum, a frame
    /// or the index disagree. The events not yet read from it are lost.
    #[error("{}: corrupt segment: {reason}", file.display())]
    Corrupt {
        /// The segment's file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file could not be read.
    #[error("{}", with_file(file, source))]
    Io {
        /// The segment's file.
        file: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// An I/O error's text, led by the file's name unless it already names it.
fn with_file(file: &std::path::Path, source: &io::Error) -> String {
    let text = source.to_string();
    let name = file.display().to_string();
    if text.starts_with(&name) {
        text
    } else {
        format!("{name}: {text}")
    }
}

impl SegmentError {
    /// Whether the segment's content is damaged (as opposed to unreadable
    /// for now).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, SegmentError::Corrupt { .. })
    }
}

/// A buffered reader that can look at the next few bytes whatever the
/// buffer's state.
struct PeekReader {
    file: File,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// Bytes consumed from the file so far.
    offset: u64,
}

impl PeekReader {
    /// Up to `n` next bytes (fewer only at the end of the file).
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.start < n {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < n {
                let read = self.file.read(&mut self.buffer[self.end..])?;
                if read == 0 {
                    break;
                }
                self.end += read;
            }
        }
        Ok(&self.buffer[self.start..self.end.min(self.start + n)])
    }
}

impl Read for PeekReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for PeekReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = self.file.read(&mut self.buffer)?;
        }
        Ok(&self.buffer[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }
}

/// The events of one segment, a frame at a time, each frame checked before
/// any of its events is handed out, and the whole checked against its index
/// line.
pub struct SegmentReader {
    path: PathBuf,
    /// The index line to check against; `None` for a segment the index
    /// does not name yet (recovery reads it to write its line).
    indexed: Option<Segment>,
    reader: PeekReader,
    context: zstd::zstd_safe::DCtx<'static>,
    frame: Vec<u8>,
    /// Where the next event starts in `frame`.
    at: usize,
    /// Events handed out so far.
    read: u64,
    last_time: i64,
    finished: bool,
    size: u64,
}

impl SegmentReader {
    /// Opens `segment` in the `segments` directory; its size must be the
    /// index's.
    pub fn open(segments: &Path, segment: &Segment) -> Result<SegmentReader, SegmentError> {
        let reader = SegmentReader::open_file(segments.join(&segment.file), Some(segment))?;
        if reader.size != segment.bytes {
            return Err(reader.corrupt(format!(
                "the file has {} bytes; the index says {}",
                reader.size, segment.bytes
            )));
        }
        Ok(reader)
    }

    /// Opens a segment file the index does not name, to learn its index
    /// line: its frames and the order of its times are still checked.
    pub(crate) fn open_unindexed(path: PathBuf) -> Result<SegmentReader, SegmentError> {
        SegmentReader::open_file(path, None)
    }

    /// The file's size.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    fn open_file(path: PathBuf, indexed: Option<&Segment>) -> Result<SegmentReader, SegmentError> {
        let io_error = |source| SegmentError::Io {
            file: path.clone(),
            source,
        };
        let file = files::open_read(&path).map_err(io_error)?;
        let size = file.metadata().map_err(io_error)?.len();
        let mut context = zstd::zstd_safe::DCtx::create();
        context
            .set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(WINDOW_LOG_MAX))
            .map_err(|code| io_error(io::Error::other(zstd::zstd_safe::get_error_name(code))))?;
        Ok(SegmentReader {
            path: path.clone(),
            indexed: indexed.cloned(),
            size,
            reader: PeekReader {
                file,
                buffer: vec![0; READ_BUFFER].into_boxed_slice(),
                start: 0,
                end: 0,
                offset: 0,
            },
            context,
            frame: Vec::new(),
            at: 0,
            read: 0,
            last_time: i64::MIN,
            finished: false,
        })
    }

    /// The segment's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Events handed out so far.
    pub fn events_read(&self) -> u64 {
        self.read
    }

    /// Events the index says are left (the unreadable ones, after a
    /// [`SegmentError::Corrupt`]).
    pub fn events_left(&self) -> u64 {
        self.indexed
            .as_ref()
            .map_or(0, |s| s.events.saturating_sub(self.read))
    }

    fn corrupt(&self, reason: String) -> SegmentError {
        SegmentError::Corrupt {
            file: self.path.clone(),
            reason,
        }
    }

    /// The next event with its envelope, `None` after the last. After an
    /// error the reader is done.
    pub fn next_event(&mut self) -> Result<Option<(Envelope, &[u8])>, SegmentError> {
        if self.finished {
            return Ok(None);
        }
        let result = self.advance();
        if !matches!(result, Ok(Some(_))) {
            self.finished = true;
        }
        let (start, end) = match result {
            Ok(Some(span)) => span,
            Ok(None) => return Ok(None),
            Err(e) => return Err(e),
        };
        let event = &self.frame[start..end];
        let Some(envelope) = read_time_and_region(event) else {
            self.finished = true;
            return Err(self.corrupt(format!("event {} is not a JSON object", self.read + 1)));
        };
        let (first, last) = self
            .indexed
            .as_ref()
            .map_or((i64::MIN, i64::MAX), |s| (s.first_time, s.last_time));
        let time = match envelope.time {
            Some(time) if time >= self.last_time && (first..=last).contains(&time) => time,
            _ => {
                self.finished = true;
                return Err(self.corrupt(format!(
                    "event {} has no time in order within the index's {first}..={last}",
                    self.read + 1,
                )));
            }
        };
        self.last_time = time;
        self.read += 1;
        Ok(Some((envelope, &self.frame[start..end])))
    }

    /// The span of the next event in `frame`, decoding frames as needed.
    fn advance(&mut self) -> Result<Option<(usize, usize)>, SegmentError> {
        loop {
            while self.at < self.frame.len() {
                let start = self.at;
                let end = memchr::memchr(b'\n', &self.frame[start..])
                    .map_or(self.frame.len(), |i| start + i);
                self.at = end + 1;
                let line = &self.frame[start..end];
                let trimmed = line.trim_ascii();
                if !trimmed.is_empty() {
                    let leading = line.len() - line.trim_ascii_start().len();
                    return Ok(Some((start + leading, start + leading + trimmed.len())));
                }
            }
            if !self.next_frame()? {
                if let Some(segment) = &self.indexed
                    && self.read != segment.events
                {
                    return Err(self.corrupt(format!(
                        "it holds {} events; the index says {}",
                        self.read, segment.events
                    )));
                }
                return Ok(None);
            }
        }
    }

    /// Decodes the next frame whole into `frame`; `false` at the end of
    /// the file.
    fn next_frame(&mut self) -> Result<bool, SegmentError> {
        let offset = self.reader.offset;
        let header = match self.reader.peek(MAX_FRAME_HEADER) {
            Ok(header) => header,
            Err(source) => {
                return Err(SegmentError::Io {
                    file: self.path.clone(),
                    source,
                });
            }
        };
        if header.is_empty() {
            return Ok(false);
        }
        let declared = check_frame_header(header);
        let declared = match declared {
            Ok(size) => size,
            Err(reason) => return Err(self.corrupt(format!("at byte {offset}: {reason}"))),
        };
        self.frame.clear();
        self.at = 0;
        let decoded = {
            let decoder =
                zstd::stream::read::Decoder::with_context(&mut self.reader, &mut self.context)
                    .single_frame();
            decoder
                .take(declared as u64 + 1)
                .read_to_end(&mut self.frame)
        };
        match decoded {
            Err(e) => Err(self.corrupt(format!("frame at byte {offset}: {e}"))),
            Ok(n) if n != declared => Err(self.corrupt(format!(
                "frame at byte {offset} holds {n} bytes; its header says {declared}"
            ))),
            Ok(_) => Ok(true),
        }
    }
}

/// Checks a frame header as sluice writes it: a zstd frame with a content
/// checksum and a declared content size of at most [`MAX_FRAME_BYTES`];
/// returns that size.
fn check_frame_header(header: &[u8]) -> Result<usize, String> {
    if header.len() < 5 || header[..4] != ZSTD_MAGIC {
        return Err("not a zstd frame".into());
    }
    if header[4] & CHECKSUM_FLAG == 0 {
        return Err("a frame without a checksum".into());
    }
    let size = match zstd::zstd_safe::get_frame_content_size(header) {
        Ok(Some(size)) => size,
        Ok(None) => return Err("a frame without a declared size".into()),
        Err(_) => return Err("a truncated frame header".into()),
    };
    if size > MAX_FRAME_BYTES as u64 {
        return Err(format!(
            "a frame declares {size} bytes, more than the {MAX_FRAME_BYTES} a segment frame holds"
        ));
    }
    Ok(size as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers_are_checked_before_decoding() {
        let mut compressor = zstd::bulk::Compressor::new(3).unwrap();
        let plain = compressor.compress(b"{}\n").unwrap();
        assert_eq!(
            check_frame_header(&plain).unwrap_err(),
            "a frame without a checksum"
        );
        compressor
            .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
            .unwrap();
        let checked = compressor.compress(b"{}\n").unwrap();
        assert_eq!(check_frame_header(&checked), Ok(3));
        assert!(check_frame_header(b"\0\0\0\0\0").is_err());
        // A header that declares 30 GB.
        let mut huge = vec![0x28, 0xb5, 0x2f, 0xfd, 0b1100_0100, 0];
        huge.extend_from_slice(&(30u64 << 30).to_le_bytes());
        assert!(check_frame_header(&huge).unwrap_err().contains("declares"));
    }
}
