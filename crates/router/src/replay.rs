//! Replay: the events of an archive whose `time` falls in a window, in
//! event-time order, each marked with `replay-name`.
//!
//! Archive segments are each sorted by event time, so a k-way merge over
//! the segments that overlap the window gives time order while holding one
//! buffered reader per open segment; a segment is opened only when the
//! merge reaches its first event time. Plain JSON Lines streams (events
//! exported by Firehose, say) are put in order through [`BucketOrder`],
//! which holds a bounded span of one-minute buckets.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, BufRead};

use crate::archive::{Archive, Segment, read_envelope};
use crate::model::ValidationError;

/// A replay's time window: `start <= time < end` (seconds since the epoch).
///
/// ```
/// use sluice_router::replay::Window;
/// assert!(Window::new(10, 20).is_ok());
/// assert_eq!(Window::new(20, 10).unwrap_err().message(),
///     "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First second included.
    pub start: i64,
    /// First second excluded.
    pub end: i64,
}

impl Window {
    /// A window, checked as StartReplay checks it.
    pub fn new(start: i64, end: i64) -> Result<Window, ValidationError> {
        if start >= end {
            return Err(ValidationError::validation(
                "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
            ));
        }
        Ok(Window { start, end })
    }

    /// Whether `time` is inside.
    pub fn contains(&self, time: i64) -> bool {
        self.start <= time && time < self.end
    }
}

/// `event` with `"replay-name": name` added after `region` (where AWS puts
/// it), or first when the event has no `region`. `None` for an event that
/// is not a JSON object.
///
/// ```
/// use sluice_router::replay::with_replay_name;
/// let out = with_replay_name(br#"{"id":"1","region":"us-east-1","detail":{}}"#, "r1").unwrap();
/// assert_eq!(out, br#"{"id":"1","region":"us-east-1","replay-name":"r1","detail":{}}"#);
/// ```
pub fn with_replay_name(event: &[u8], name: &str) -> Option<Vec<u8>> {
    let envelope = read_envelope(event)?;
    let member = format!("\"replay-name\":{}", serde_json::Value::from(name));
    let mut out = Vec::with_capacity(event.len() + member.len() + 2);
    match envelope.after_region {
        Some(at) => {
            out.extend_from_slice(&event[..at]);
            out.push(b',');
            out.extend_from_slice(member.as_bytes());
            out.extend_from_slice(&event[at..]);
        }
        None => {
            let open = event.iter().position(|b| *b == b'{')?;
            out.extend_from_slice(&event[..=open]);
            out.extend_from_slice(member.as_bytes());
            let rest = &event[open + 1..];
            if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
    }
    Some(out)
}

/// One event read for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedEvent {
    /// Its `time`.
    pub time: i64,
    /// The event as archived (without `replay-name`).
    pub event: Vec<u8>,
}

struct Cursor {
    reader: Box<dyn BufRead + Send>,
    next: Option<TimedEvent>,
    segment: String,
}

impl Cursor {
    /// Reads the cursor's next event with a time, skipping blank lines.
    fn advance(&mut self) -> io::Result<()> {
        let mut line = Vec::new();
        loop {
            line.clear();
            if self.reader.read_until(b'\n', &mut line)? == 0 {
                self.next = None;
                return Ok(());
            }
            let event = line.trim_ascii();
            if event.is_empty() {
                continue;
            }
            let time = read_envelope(event).and_then(|e| e.time).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("segment {}: an event without a valid time", self.segment),
                )
            })?;
            self.next = Some(TimedEvent {
                time,
                event: event.to_vec(),
            });
            return Ok(());
        }
    }
}

/// The events of an archive inside a window, in event-time order.
///
/// ```no_run
/// use sluice_router::{archive::Archive, replay::{ArchiveEvents, Window}};
/// let archive = Archive::open("archives/image-events".as_ref()).unwrap();
/// for event in ArchiveEvents::new(&archive, Window::new(0, i64::MAX).unwrap()) {
///     let event = event.unwrap();
///     println!("{} {}", event.time, String::from_utf8_lossy(&event.event));
/// }
/// ```
pub struct ArchiveEvents<'a> {
    archive: &'a Archive,
    window: Window,
    /// Segments not opened yet, by first event time (reversed: pop = next).
    waiting: Vec<Segment>,
    cursors: Vec<Cursor>,
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    failed: bool,
}

impl<'a> ArchiveEvents<'a> {
    /// Starts reading.
    pub fn new(archive: &'a Archive, window: Window) -> ArchiveEvents<'a> {
        let mut waiting = archive.segments_between(window.start, window.end);
        waiting.reverse();
        ArchiveEvents {
            archive,
            window,
            waiting,
            cursors: Vec::new(),
            heap: BinaryHeap::new(),
            failed: false,
        }
    }

    /// Opens every waiting segment whose first event is not after `time`.
    fn open_until(&mut self, time: i64) -> io::Result<()> {
        while self.waiting.last().is_some_and(|s| s.first_time <= time) {
            let Some(segment) = self.waiting.pop() else {
                break;
            };
            let mut cursor = Cursor {
                reader: Box::new(self.archive.open_segment(&segment)?),
                next: None,
                segment: segment.file.clone(),
            };
            cursor.advance()?;
            if let Some(next) = &cursor.next {
                self.heap.push(Reverse((next.time, self.cursors.len())));
            }
            self.cursors.push(cursor);
        }
        Ok(())
    }

    fn next_event(&mut self) -> io::Result<Option<TimedEvent>> {
        loop {
            // Open what could hold an event before the current head.
            let head = self.heap.peek().map(|Reverse((t, _))| *t);
            match (head, self.waiting.last()) {
                (None, None) => return Ok(None),
                (None, Some(segment)) => {
                    let first = segment.first_time;
                    self.open_until(first)?;
                    continue;
                }
                (Some(t), _) => self.open_until(t)?,
            }
            let Some(Reverse((_, index))) = self.heap.pop() else {
                continue;
            };
            let cursor = &mut self.cursors[index];
            let Some(event) = cursor.next.take() else {
                continue;
            };
            if event.time >= self.window.end {
                // Everything after it in this segment is later still.
                cursor.reader = Box::new(io::empty());
                continue;
            }
            cursor.advance()?;
            if let Some(next) = &cursor.next {
                self.heap.push(Reverse((next.time, index)));
            } else {
                // Release the finished segment's buffers.
                cursor.reader = Box::new(io::empty());
            }
            if self.window.contains(event.time) {
                return Ok(Some(event));
            }
        }
    }
}

impl Iterator for ArchiveEvents<'_> {
    type Item = io::Result<TimedEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_event() {
            Ok(event) => event.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Puts a roughly time-ordered stream into one-minute buckets and releases
/// them in order once no event can still arrive for them: a bucket is
/// released when the newest time seen is more than `lateness` seconds past
/// its end. An event later than that is released at once and counted.
///
/// ```
/// use sluice_router::replay::BucketOrder;
/// let mut order = BucketOrder::new(60);
/// let mut out = Vec::new();
/// for (t, e) in [(130, "b"), (70, "a"), (250, "c")] {
///     out.extend(order.push(t, e.as_bytes().to_vec()).into_iter().map(|x| x.time));
/// }
/// out.extend(order.finish().into_iter().map(|x| x.time));
/// assert_eq!(out, [70, 130, 250]);
/// ```
#[derive(Debug)]
pub struct BucketOrder {
    lateness: i64,
    buckets: BTreeMap<i64, Vec<TimedEvent>>,
    newest: i64,
    /// Events that arrived after their bucket was released.
    pub late_events: u64,
    released_through: Option<i64>,
}

impl BucketOrder {
    /// A buffer that waits `lateness` seconds for stragglers.
    pub fn new(lateness: i64) -> BucketOrder {
        BucketOrder {
            lateness: lateness.max(0),
            buckets: BTreeMap::new(),
            newest: i64::MIN,
            late_events: 0,
            released_through: None,
        }
    }

    /// Adds an event; returns the events now ready, in order.
    pub fn push(&mut self, time: i64, event: Vec<u8>) -> Vec<TimedEvent> {
        let bucket = time.div_euclid(60);
        if self.released_through.is_some_and(|r| bucket <= r) {
            self.late_events += 1;
            return vec![TimedEvent { time, event }];
        }
        self.newest = self.newest.max(time);
        self.buckets
            .entry(bucket)
            .or_default()
            .push(TimedEvent { time, event });
        let mut ready = Vec::new();
        while let Some((&first, _)) = self.buckets.first_key_value() {
            if (first + 1) * 60 + self.lateness > self.newest {
                break;
            }
            if let Some((bucket, events)) = self.buckets.pop_first() {
                self.released_through = Some(bucket);
                ready.extend(events);
            }
        }
        ready
    }

    /// Releases everything still held, in order.
    pub fn finish(&mut self) -> Vec<TimedEvent> {
        let mut ready = Vec::new();
        while let Some((bucket, events)) = self.buckets.pop_first() {
            self.released_through = Some(bucket);
            ready.extend(events);
        }
        ready
    }

    /// Events held now.
    pub fn held(&self) -> usize {
        self.buckets.values().map(Vec::len).sum()
    }
}
