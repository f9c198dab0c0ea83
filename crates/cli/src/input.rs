//! Reading arguments and event files.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// An argument given inline or as `file://PATH`, as the AWS CLI accepts.
pub fn inline_or_file(value: &str) -> Result<String> {
    match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}")),
        None => Ok(value.to_string()),
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

/// Opens an events file (`-` is standard input), decompressing `.gz` and
/// `.zst` by their magic bytes. `read` counts the raw bytes consumed.
pub fn open_events(path: &str, read: Arc<AtomicU64>) -> Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(Path::new(path)).with_context(|| format!("cannot open {path}"))?)
    };
    let mut buffered = BufReader::with_capacity(1 << 20, Counting { inner: raw, read });
    let magic = buffered
        .fill_buf()
        .with_context(|| format!("cannot read {path}"))?;
    let reader: Box<dyn BufRead + Send> = if magic.starts_with(&[0x1f, 0x8b]) {
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

/// A batch of event lines from one file.
pub struct Batch {
    pub seq: u64,
    pub file: Arc<str>,
    pub data: Vec<u8>,
    /// (start, end, 1-based line number) of each non-empty line.
    pub lines: Vec<(usize, usize, u64)>,
}

/// Lines per batch handed to a worker.
pub const BATCH_LINES: usize = 2048;

/// Splits a reader into batches, calling `send` for each; returns the
/// number of batches.
pub fn read_batches(
    file: &str,
    mut reader: Box<dyn BufRead + Send>,
    first_seq: u64,
    mut send: impl FnMut(Batch) -> Result<()>,
) -> Result<u64> {
    let name: Arc<str> = Arc::from(file);
    let mut seq = first_seq;
    let mut line_no = 0u64;
    let mut batch = new_batch(seq, &name);
    loop {
        let start = batch.data.len();
        let n = reader
            .read_until(b'\n', &mut batch.data)
            .with_context(|| format!("cannot read {file}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let mut end = batch.data.len();
        while end > start && matches!(batch.data[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        if batch.data[start..end]
            .iter()
            .any(|b| !b.is_ascii_whitespace())
        {
            batch.lines.push((start, end, line_no));
        }
        if batch.lines.len() >= BATCH_LINES {
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
        data: Vec::with_capacity(BATCH_LINES * 1024),
        lines: Vec::with_capacity(BATCH_LINES),
    }
}

/// One non-blank line of an events file.
pub struct EventLine {
    /// The file it came from.
    pub path: Arc<str>,
    /// Its 1-based line number.
    pub line: u64,
    /// The line without surrounding whitespace.
    pub event: Vec<u8>,
}

/// The non-blank lines of several events files in turn, each file opened
/// when reached (see [`open_events`]).
pub struct EventLines {
    paths: std::vec::IntoIter<String>,
    current: Option<(Arc<str>, u64, Box<dyn BufRead + Send>)>,
}

/// Reads `paths` one after the other as [`EventLine`]s.
pub fn event_lines(paths: Vec<String>) -> EventLines {
    EventLines {
        paths: paths.into_iter(),
        current: None,
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
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) => self.current = None,
                Ok(_) => {
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
                        event,
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
