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
use std::io;

use crate::archive::{
    Archive, Envelope, Segment, SegmentError, SegmentReader, read_envelope, read_time_and_region,
};
use crate::table::RuleTable;
use crate::validation::ValidationError;

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
    // Only the position after `region` is needed: the rest of the event
    // (its `detail`, mostly) is not read.
    let envelope = read_time_and_region(event)?;
    let member = replay_member(name);
    let mut out = Vec::with_capacity(event.len() + member.len() + 2);
    insert_replay_name(event, &envelope, &member, &mut out)?;
    Some(out)
}

/// The member `"replay-name":"NAME"` as bytes.
pub fn replay_member(name: &str) -> Vec<u8> {
    format!("\"replay-name\":{}", serde_json::Value::from(name)).into_bytes()
}

/// Writes `event` with `member` (see [`replay_member`]) added into `out`
/// (cleared first), given the event's envelope.
pub fn insert_replay_name(
    event: &[u8],
    envelope: &Envelope,
    member: &[u8],
    out: &mut Vec<u8>,
) -> Option<()> {
    out.clear();
    match envelope.after_region {
        Some(at) => {
            out.extend_from_slice(&event[..at]);
            out.push(b',');
            out.extend_from_slice(member);
            out.extend_from_slice(&event[at..]);
        }
        None => {
            let open = event.iter().position(|b| *b == b'{')?;
            out.extend_from_slice(&event[..=open]);
            out.extend_from_slice(member);
            let rest = &event[open + 1..];
            if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
                out.push(b',');
            }
            out.extend_from_slice(rest);
        }
    }
    Some(())
}

/// One event read for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedEvent {
    /// Its `time`.
    pub time: i64,
    /// The event as archived (without `replay-name`).
    pub event: Vec<u8>,
}

/// A segment found damaged while replaying: reported by file, its events
/// from the damage on counted as unreadable and never passed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptSegment {
    /// The segment's file.
    pub file: String,
    /// What is wrong with it.
    pub reason: String,
    /// Events the index says it still held past the damage.
    pub events_lost: u64,
}

impl CorruptSegment {
    fn from_error(error: &SegmentError, reader: Option<&SegmentReader>, indexed: u64) -> Self {
        let (file, reason) = match error {
            SegmentError::Corrupt { file, reason } => (file.display().to_string(), reason.clone()),
            SegmentError::Io { file, source } => (file.display().to_string(), source.to_string()),
        };
        CorruptSegment {
            file,
            reason,
            events_lost: reader.map_or(indexed, SegmentReader::events_left),
        }
    }
}

/// Opens a segment; a damaged one is recorded in `corrupt` (`Ok(None)`),
/// one that cannot be read at all is an error.
fn open_checked(
    archive: &Archive,
    segment: &Segment,
    corrupt: &mut Vec<CorruptSegment>,
) -> io::Result<Option<SegmentReader>> {
    match archive.segment_reader(segment) {
        Ok(reader) => Ok(Some(reader)),
        Err(error) if error.is_corrupt() => {
            corrupt.push(CorruptSegment::from_error(&error, None, segment.events));
            Ok(None)
        }
        Err(error) => Err(io::Error::other(error.to_string())),
    }
}

struct Cursor {
    reader: Option<SegmentReader>,
    next: Option<TimedEvent>,
}

impl Cursor {
    /// Reads the cursor's next event; a damaged segment ends the cursor
    /// and is recorded in `corrupt`.
    fn advance(&mut self, corrupt: &mut Vec<CorruptSegment>) -> io::Result<()> {
        self.next = None;
        let Some(reader) = self.reader.as_mut() else {
            return Ok(());
        };
        match reader.next_event() {
            Ok(Some((envelope, event))) => {
                self.next = Some(TimedEvent {
                    time: envelope.time.unwrap_or_default(),
                    event: event.to_vec(),
                });
            }
            Ok(None) => self.reader = None,
            Err(error) if error.is_corrupt() => {
                corrupt.push(CorruptSegment::from_error(&error, Some(reader), 0));
                self.reader = None;
            }
            Err(error) => {
                self.reader = None;
                return Err(io::Error::other(error.to_string()));
            }
        }
        Ok(())
    }
}

/// The events of an archive inside a window, in event-time order. A damaged
/// segment is skipped from the damage on and listed in
/// [`ArchiveEvents::corrupt_segments`]; a segment that cannot be read at
/// all ends the iteration with an error.
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
    corrupt: Vec<CorruptSegment>,
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
            corrupt: Vec::new(),
            failed: false,
        }
    }

    /// The damaged segments met so far.
    pub fn corrupt_segments(&self) -> &[CorruptSegment] {
        &self.corrupt
    }

    /// Opens every waiting segment whose first event is not after `time`.
    fn open_until(&mut self, time: i64) -> io::Result<()> {
        while self.waiting.last().is_some_and(|s| s.first_time <= time) {
            let Some(segment) = self.waiting.pop() else {
                break;
            };
            let mut cursor = Cursor {
                reader: open_checked(self.archive, &segment, &mut self.corrupt)?,
                next: None,
            };
            cursor.advance(&mut self.corrupt)?;
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
                cursor.reader = None;
                continue;
            }
            cursor.advance(&mut self.corrupt)?;
            if let Some(next) = &cursor.next {
                self.heap.push(Reverse((next.time, index)));
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

/// What a replay without delivery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayCounts {
    /// Events in the window.
    pub events: u64,
    /// Events that matched at least one rule.
    pub matched: u64,
    /// Events matched, by rule name.
    pub per_rule: std::collections::BTreeMap<String, u64>,
    /// Events whose time was unreadable, that were not JSON objects, or
    /// that a damaged segment still held.
    pub unreadable: u64,
    /// The damaged segments.
    pub corrupt_segments: Vec<CorruptSegment>,
}

impl ReplayCounts {
    fn add(&mut self, other: ReplayCounts) {
        self.events += other.events;
        self.matched += other.matched;
        self.unreadable += other.unreadable;
        self.corrupt_segments.extend(other.corrupt_segments);
        for (name, count) in other.per_rule {
            *self.per_rule.entry(name).or_default() += count;
        }
    }
}

/// Counts one worker's events: marks each with `replay-name` and matches it.
struct Counter<'t> {
    table: &'t RuleTable,
    bus: &'t str,
    mark: bool,
    member: Vec<u8>,
    scratch: crate::table::Scratch,
    buffer: Vec<u8>,
    slots: Vec<u64>,
    names: Vec<Option<String>>,
    counts: ReplayCounts,
}

impl<'t> Counter<'t> {
    fn new(table: &'t RuleTable, bus: &'t str, name: &str) -> Counter<'t> {
        let slots = table.match_slots(bus);
        // Marking an event only changes what matches when some pattern
        // names `replay-name`; otherwise the copy is skipped.
        let mark = table.rules().any(|r| {
            r.event_pattern
                .as_deref()
                .is_some_and(|p| p.contains("replay-name"))
        });
        Counter {
            table,
            bus,
            mark,
            member: replay_member(name),
            scratch: table.scratch(),
            buffer: Vec::new(),
            slots: vec![0; slots],
            names: vec![None; slots],
            counts: ReplayCounts::default(),
        }
    }

    /// One archived event whose envelope is already read.
    fn count(&mut self, event: &[u8], envelope: &Envelope) {
        if self.mark
            && insert_replay_name(event, envelope, &self.member, &mut self.buffer).is_none()
        {
            self.counts.unreadable += 1;
            return;
        }
        self.counts.events += 1;
        let (slots, names) = (&mut self.slots, &mut self.names);
        let mut any = false;
        let marked = if self.mark { &self.buffer[..] } else { event };
        let result =
            self.table
                .for_each_match(self.bus, marked, &mut self.scratch, |slot, rule| {
                    any = true;
                    if slot >= slots.len() {
                        slots.resize(slot + 1, 0);
                        names.resize(slot + 1, None);
                    }
                    slots[slot] += 1;
                    if names[slot].is_none() {
                        names[slot] = Some(rule.name.clone());
                    }
                });
        if result.is_err() {
            self.counts.unreadable += 1;
        } else if any {
            self.counts.matched += 1;
        }
    }

    fn finish(mut self) -> ReplayCounts {
        for (slot, count) in self.slots.iter().enumerate() {
            if let Some(name) = &self.names[slot] {
                *self.counts.per_rule.entry(name.clone()).or_default() += count;
            }
        }
        self.counts
    }
}

/// Replays an archive's window without delivering: every event is marked
/// with `replay-name` and matched against `table`'s rules on `bus`, on
/// `threads` threads that each take whole segments (the counts do not
/// depend on order, so segments need no merge). `progress` counts events
/// as they are read.
pub fn dry_run_archive(
    archive: &Archive,
    window: Window,
    name: &str,
    table: &RuleTable,
    bus: &str,
    threads: usize,
    progress: &std::sync::atomic::AtomicU64,
) -> io::Result<ReplayCounts> {
    let segments = archive.segments_between(window.start, window.end);
    // Archived events were checked when they were archived.
    let table = &table
        .clone()
        .with_scan_mode(sluice_pattern::ScanMode::EarlyExit);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<io::Result<ReplayCounts>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut counter = Counter::new(table, bus, name);
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(segment) = segments.get(i) else {
                            break;
                        };
                        let corrupt = &mut counter.counts.corrupt_segments;
                        let Some(mut reader) = open_checked(archive, segment, corrupt)? else {
                            continue;
                        };
                        loop {
                            match reader.next_event() {
                                Ok(Some((envelope, event))) => {
                                    if envelope.time.is_some_and(|t| window.contains(t)) {
                                        counter.count(event, &envelope);
                                    }
                                }
                                Ok(None) => break,
                                Err(error) if error.is_corrupt() => {
                                    counter
                                        .counts
                                        .corrupt_segments
                                        .push(CorruptSegment::from_error(&error, Some(&reader), 0));
                                    break;
                                }
                                Err(error) => return Err(io::Error::other(error.to_string())),
                            }
                        }
                        progress
                            .fetch_add(reader.events_read(), std::sync::atomic::Ordering::Relaxed);
                    }
                    let mut counts = counter.finish();
                    counts.unreadable += counts
                        .corrupt_segments
                        .iter()
                        .map(|c| c.events_lost)
                        .sum::<u64>();
                    Ok(counts)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a replay worker stopped")))
            })
            .collect()
    });
    let mut total = ReplayCounts::default();
    for result in results {
        total.add(result?);
    }
    Ok(total)
}

/// Replays ordered events (already in the window) without delivering,
/// matching on `threads` threads fed by the calling thread.
pub fn dry_run_events(
    events: impl Iterator<Item = io::Result<TimedEvent>>,
    name: &str,
    table: &RuleTable,
    bus: &str,
    threads: usize,
) -> io::Result<ReplayCounts> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<TimedEvent>>(threads.max(1) * 2);
    let receiver = std::sync::Mutex::new(receiver);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let receiver = &receiver;
                scope.spawn(move || {
                    let mut counter = Counter::new(table, bus, name);
                    loop {
                        let batch = match receiver.lock() {
                            Ok(guard) => match guard.recv() {
                                Ok(batch) => batch,
                                Err(_) => break,
                            },
                            Err(_) => break,
                        };
                        for event in &batch {
                            match read_envelope(&event.event) {
                                Some(envelope) => counter.count(&event.event, &envelope),
                                None => counter.counts.unreadable += 1,
                            }
                        }
                    }
                    counter.finish()
                })
            })
            .collect();
        let mut batch = Vec::with_capacity(4096);
        let mut failure = None;
        for event in events {
            match event {
                Ok(event) => batch.push(event),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            if batch.len() == 4096 && sender.send(std::mem::take(&mut batch)).is_err() {
                break;
            }
        }
        if !batch.is_empty() {
            let _ = sender.send(batch);
        }
        drop(sender);
        let mut total = ReplayCounts::default();
        for worker in workers {
            total.add(worker.join().unwrap_or_default());
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(total),
        }
    })
}
