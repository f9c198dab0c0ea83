//! Reading arguments and event files, with every line and file bounded in
//! bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

/// `--max-event-size` unless given: EventBridge's largest event, 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;
/// The largest `--max-event-size` accepted.
pub const MAX_EVENT_BYTES_LIMIT: usize = 1 << 30;
/// The largest `file://` argument read (a pattern is at most 4096
/// characters; an event at most `--max-event-size`).
pub const MAX_ARGUMENT_FILE_BYTES: u64 = 4 << 20;

/// `--max-event-size`: events longer than this are counted as malformed
/// and skipped without being held in memory.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct EventSizeArgs {
    /// Longest event line read, in bytes; longer lines are counted as
    /// malformed and skipped (at most 1073741824).
    #[arg(long = "max-event-size", value_name = "BYTES", default_value_t = DEFAULT_MAX_EVENT_BYTES, value_parser = parse_event_size)]
    pub max_event_bytes: usize,
}

fn parse_event_size(text: &str) -> Result<usize, String> {
    let bytes: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of bytes"))?;
    if bytes == 0 || bytes > MAX_EVENT_BYTES_LIMIT {
        return Err(format!(
            "{bytes} is not between 1 and {MAX_EVENT_BYTES_LIMIT} bytes"
        ));
    }
    Ok(bytes)
}

/// An argument given inline or as `file://PATH`, as the AWS CLI accepts;
/// a file is read up to [`MAX_ARGUMENT_FILE_BYTES`].
pub fn inline_or_file(value: &str) -> Result<String> {
    let Some(path) = value.strip_prefix("file://") else {
        return Ok(value.to_string());
    };
    let file = File::open(path).with_context(|| format!("cannot read {path}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_ARGUMENT_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {path}"))?;
    if bytes.len() as u64 > MAX_ARGUMENT_FILE_BYTES {
        bail!(
            "{path} is larger than {MAX_ARGUMENT_FILE_BYTES} bytes, more than a pattern or an event can be"
        );
    }
    String::from_utf8(bytes).with_context(|| format!("{path} is not UTF-8 text"))
}

/// What [`read_line_bounded`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRead {
    /// The end of the input.
    End,
    /// A line (appended, without its `\n`).
    Line,
    /// A line longer than the limit, of this many bytes: skipped, nothing
    /// appended.
    TooLong(u64),
}

/// Appends the next line of `reader` to `out` (without the `\n`), unless it
/// is longer than `max` bytes: such a line is read through and dropped, and
/// never held whole.
pub fn read_line_bounded(
    reader: &mut dyn BufRead,
    out: &mut Vec<u8>,
    max: usize,
) -> io::Result<LineRead> {
    let start = out.len();
    let mut length = 0u64;
    let mut any = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            break;
        }
        any = true;
        let (chunk, done) = match memchr::memchr(b'\n', buffer) {
            Some(i) => (&buffer[..i], Some(i + 1)),
            None => (buffer, None),
        };
        length += chunk.len() as u64;
        if length <= max as u64 {
            out.extend_from_slice(chunk);
        } else {
            out.truncate(start);
        }
        let used = done.unwrap_or(buffer.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    Ok(if !any {
        LineRead::End
    } else if length > max as u64 {
        LineRead::TooLong(length)
    } else {
        LineRead::Line
    })
}

/// Why a line was not taken as an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversized {
    /// The line's length.
    pub bytes: u64,
    /// `--max-event-size`.
    pub limit: usize,
}

impl std::fmt::Display for Oversized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the event has {} bytes, more than --max-event-size {}",
            self.bytes, self.limit
        )
    }
}

/// Counts bytes read from the underlying file (for progress bars).
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An events stream that says when what it has buffered is used up, so a
/// reader of a live pipe (`tail -f … | sluice match -`) hands on the events
/// it has before it waits for more.
pub trait EventRead: BufRead + Send {
    /// Whether the buffered input is used up: the next read may wait.
    fn drained(&self) -> bool;
}

impl<R: Read + Send> EventRead for BufReader<R> {
    fn drained(&self) -> bool {
        self.buffer().is_empty()
    }
}

/// Opens an events file (`-` is standard input), decompressing `.gz` and
/// `.zst` by their magic bytes. `read` counts the raw bytes consumed.
pub fn open_events(path: &str, read: Arc<AtomicU64>) -> Result<Box<dyn EventRead>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(Path::new(path)).with_context(|| format!("cannot open {path}"))?)
    };
    let mut buffered = BufReader::with_capacity(1 << 20, Counting { inner: raw, read });
    let magic = buffered
        .fill_buf()
        .with_context(|| format!("cannot read {path}"))?;
    let reader: Box<dyn EventRead> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(buffered),
        ))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = zstd::stream::read::Decoder::with_buffer(buffered)
            .with_context(|| format!("cannot start zstd decoding of {path}"))?;
        Box::new(BufReader::with_capacity(1 << 20, decoder))
    } else {
        Box::new(buffered)
    };
    Ok(reader)
}

/// Size of a file on disk, if it is one.
pub fn file_len(path: &str) -> Option<u64> {
    (path != "-")
        .then(|| std::fs::metadata(path).ok().map(|m| m.len()))
        .flatten()
}

/// One line of a batch: its bytes in the batch's data and its 1-based line
/// number, or, for a line over `--max-event-size`, its length.
#[derive(Debug, Clone, Copy)]
pub struct BatchLine {
    pub start: usize,
    pub end: usize,
    pub line: u64,
    pub oversized: Option<Oversized>,
}

/// A batch of event lines from one file.
pub struct Batch {
    pub seq: u64,
    pub file: Arc<str>,
    pub data: Vec<u8>,
    /// Every non-blank line.
    pub lines: Vec<BatchLine>,
}

/// Lines per batch handed to a worker.
pub const BATCH_LINES: usize = 2048;
/// Bytes per batch: a batch ends at whichever comes first, so memory stays
/// bounded whatever the events' sizes.
pub const BATCH_BYTES: usize = 4 << 20;

/// Splits a reader into batches, calling `send` for each; returns the
/// number of batches. Lines over `max_event_bytes` are never held: their
/// batch line records only their length. A batch also ends when the input
/// read so far is used up, so events from a live pipe are matched as they
/// arrive rather than when a batch fills.
pub fn read_batches(
    file: &str,
    mut reader: Box<dyn EventRead>,
    first_seq: u64,
    max_event_bytes: usize,
    mut send: impl FnMut(Batch) -> Result<()>,
) -> Result<u64> {
    let name: Arc<str> = Arc::from(file);
    let mut seq = first_seq;
    let mut line_no = 0u64;
    let mut batch = new_batch(seq, &name);
    loop {
        let start = batch.data.len();
        let read = read_line_bounded(&mut reader, &mut batch.data, max_event_bytes)
            .with_context(|| format!("cannot read {file}"))?;
        let oversized = match read {
            LineRead::End => break,
            LineRead::Line => None,
            LineRead::TooLong(bytes) => Some(Oversized {
                bytes,
                limit: max_event_bytes,
            }),
        };
        line_no += 1;
        let mut end = batch.data.len();
        while end > start && batch.data[end - 1] == b'\r' {
            end -= 1;
        }
        if oversized.is_some()
            || batch.data[start..end]
                .iter()
                .any(|b| !b.is_ascii_whitespace())
        {
            batch.lines.push(BatchLine {
                start,
                end,
                line: line_no,
                oversized,
            });
        } else {
            batch.data.truncate(start);
        }
        let full = batch.lines.len() >= BATCH_LINES || batch.data.len() >= BATCH_BYTES;
        if full || (reader.drained() && !batch.lines.is_empty()) {
            send(std::mem::replace(&mut batch, new_batch(seq + 1, &name)))?;
            seq += 1;
        }
    }
    if !batch.lines.is_empty() {
        send(batch)?;
        seq += 1;
    }
    Ok(seq - first_seq)
}

fn new_batch(seq: u64, file: &Arc<str>) -> Batch {
    Batch {
        seq,
        file: file.clone(),
        data: Vec::with_capacity(BATCH_BYTES),
        lines: Vec::with_capacity(BATCH_LINES),
    }
}

/// One non-blank line of an events file.
pub struct EventLine {
    /// The file it came from.
    pub path: Arc<str>,
    /// Its 1-based line number.
    pub line: u64,
    /// The line without surrounding whitespace, or why it was not read.
    pub event: Result<Vec<u8>, Oversized>,
}

/// The non-blank lines of several events files in turn, each file opened
/// when reached (see [`open_events`]).
pub struct EventLines {
    paths: std::vec::IntoIter<String>,
    current: Option<(Arc<str>, u64, Box<dyn EventRead>)>,
    max_event_bytes: usize,
}

/// Reads `paths` one after the other as [`EventLine`]s; lines over
/// `max_event_bytes` come as [`Oversized`].
pub fn event_lines(paths: Vec<String>, max_event_bytes: usize) -> EventLines {
    EventLines {
        paths: paths.into_iter(),
        current: None,
        max_event_bytes,
    }
}

impl EventLines {
    /// Whether the input read so far is used up, so that the next event
    /// may be a wait away: the moment to flush what was printed.
    pub fn drained(&self) -> bool {
        self.current
            .as_ref()
            .is_none_or(|(_, _, reader)| reader.drained())
    }
}

impl Iterator for EventLines {
    type Item = Result<EventLine>;

    fn next(&mut self) -> Option<Result<EventLine>> {
        loop {
            let Some((path, line, reader)) = self.current.as_mut() else {
                let path = self.paths.next()?;
                match open_events(&path, Arc::new(AtomicU64::new(0))) {
                    Ok(reader) => self.current = Some((path.into(), 0, reader)),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            let mut buffer = Vec::new();
            match read_line_bounded(reader, &mut buffer, self.max_event_bytes) {
                Ok(LineRead::End) => self.current = None,
                Ok(LineRead::TooLong(bytes)) => {
                    *line += 1;
                    return Some(Ok(EventLine {
                        path: path.clone(),
                        line: *line,
                        event: Err(Oversized {
                            bytes,
                            limit: self.max_event_bytes,
                        }),
                    }));
                }
                Ok(LineRead::Line) => {
                    *line += 1;
                    let event = buffer.trim_ascii();
                    if event.is_empty() {
                        continue;
                    }
                    let event = if event.len() == buffer.len() {
                        buffer
                    } else {
                        event.to_vec()
                    };
                    return Some(Ok(EventLine {
                        path: path.clone(),
                        line: *line,
                        event: Ok(event),
                    }));
                }
                Err(e) => {
                    let error = anyhow::Error::new(e).context(format!("cannot read {path}"));
                    self.current = None;
                    return Some(Err(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_read_through_and_dropped() {
        let text = b"short\n0123456789abcdef\nlast";
        for capacity in [1, 3, 7, 64] {
            let mut reader = BufReader::with_capacity(capacity, &text[..]);
            let mut out = Vec::new();
            assert_eq!(
                read_line_bounded(&mut reader, &mut out, 8).unwrap(),
                LineRead::Line
            );
            assert_eq!(out, b"short");
            assert_eq!(
                read_line_bounded(&mut reader, &mut out, 8).unwrap(),
                LineRead::TooLong(16)
            );
            assert_eq!(out, b"short", "nothing kept of the long line");
            assert_eq!(
                read_line_bounded(&mut reader, &mut out, 8).unwrap(),
                LineRead::Line
            );
            assert_eq!(out, b"shortlast");
            assert_eq!(
                read_line_bounded(&mut reader, &mut out, 8).unwrap(),
                LineRead::End
            );
        }
    }

    #[test]
    fn batches_end_by_bytes_as_well_as_lines() {
        let line = "x".repeat(100_000);
        let text: String = (0..100).map(|_| format!("{line}\n")).collect();
        // One buffer holds the whole input, so only the limits end batches.
        let capacity = text.len() + 1;
        let reader: Box<dyn EventRead> = Box::new(BufReader::with_capacity(
            capacity,
            io::Cursor::new(text.into_bytes()),
        ));
        let mut sizes = Vec::new();
        read_batches("f", reader, 0, 1 << 20, |batch| {
            sizes.push(batch.data.len());
            Ok(())
        })
        .unwrap();
        assert!(sizes.len() >= 2, "{sizes:?}");
        assert!(
            sizes.iter().all(|&s| s <= BATCH_BYTES + 100_000),
            "{sizes:?}"
        );
        assert!(sizes[0] >= BATCH_BYTES, "{sizes:?}");
    }

    /// A reader that hands out one line per read, as a pipe fed by
    /// `tail -f` does.
    struct LineAtATime(std::collections::VecDeque<Vec<u8>>);

    impl Read for LineAtATime {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(line) = self.0.pop_front() else {
                return Ok(0);
            };
            buf[..line.len()].copy_from_slice(&line);
            Ok(line.len())
        }
    }

    #[test]
    fn a_live_pipe_is_batched_as_its_lines_arrive() {
        let lines = (0..5)
            .map(|i| format!("{{\"n\": {i}}}\n").into_bytes())
            .collect();
        let reader: Box<dyn EventRead> = Box::new(BufReader::new(LineAtATime(lines)));
        let mut batches = Vec::new();
        read_batches("-", reader, 0, 1 << 20, |batch| {
            batches.push(batch.lines.len());
            Ok(())
        })
        .unwrap();
        assert_eq!(batches, [1, 1, 1, 1, 1]);
    }
}
