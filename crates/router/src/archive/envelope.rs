//! The envelope fields replay needs (`time`, `replay-name`, where `region`
//! ends), read from an event's top-level members without parsing the rest.

use crate::clock::parse_rfc3339;

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
