//! The pattern-guided event scanner (the flattener).
//!
//! It walks the raw event bytes once, borrowed, and records only the leaf
//! values of fields that some rule names, each with its array trail (which
//! array instance, which element) for array consistency. Subtrees no rule
//! names are skipped without building anything: objects and arrays by the
//! block path of `blocks.rs`, 64 bytes at a time. Strings are borrowed from the
//! event unless they contain escapes, which are decoded into a scratch buffer
//! that is reused from event to event.
//!
//! Two modes: *validating* checks that the whole event is well-formed JSON
//! (UTF-8, grammar, nesting depth) and applies "last duplicate key wins";
//! *early-exit* trusts the input, skips unneeded subtrees by bracket counting
//! and stops as soon as every path a rule names has been read outside arrays.

use std::collections::HashMap;

use crate::blocks;
use crate::error::{EventError, EventErrorKind};
use crate::json;
use crate::key_hash::KeyHashBuilder;
use crate::number;
use crate::swar::{find_quote_or_backslash, find_string_stop, string_stops};

/// "No value" in linked lists and "no field" on trie nodes.
pub(crate) const NIL: u32 = u32::MAX;

/// The JSON type of a leaf value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Number,
    True,
    False,
    Null,
}

/// Bytes of a value: in the event itself or in the scratch buffer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) in_scratch: bool,
}

/// One leaf value of a named field.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldValue {
    pub(crate) field: u32,
    pub(crate) kind: Kind,
    /// Decoded string content, or the number's lexeme.
    pub(crate) text: Span,
    /// For numbers: [`number::approximate`] of the value (NaN when it has
    /// none); the exact key is built from the lexeme only when needed.
    pub(crate) approx: f64,
    pub(crate) trail_start: u32,
    pub(crate) trail_len: u32,
    /// Next value of the same field (`NIL` ends the list).
    pub(crate) next: u32,
}

/// Array membership: (array instance, element index).
pub(crate) type TrailStep = (u32, u32);

/// The field paths rules name, as a trie keyed by event keys. An event key may
/// contain dots, so each node also has edges for every dotted continuation
/// (`detail` → `state.status` → the node of `detail.state.status`).
#[derive(Clone, Debug, Default)]
pub(crate) struct PathTrie {
    nodes: Vec<PathNode>,
}

/// A child edge: the key's length and first eight bytes packed for a quick
/// comparison, the whole key, and the child node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    len: usize,
    head: u64,
    tail: u64,
    key: Box<[u8]>,
    node: u32,
}

/// The last eight bytes of a key (zero-padded when shorter).
#[inline]
fn pack_tail(key: &[u8]) -> u64 {
    match key.last_chunk::<8>() {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => pack_short(key),
    }
}

/// The first eight bytes of a key (zero-padded when shorter).
#[inline]
fn pack_head(key: &[u8]) -> u64 {
    match key.first_chunk::<8>() {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None => pack_short(key),
    }
}

/// A key of fewer than eight bytes, little-endian, zero-padded (a loop,
/// not a variable-length copy, which would call `memcpy`).
#[inline]
fn pack_short(key: &[u8]) -> u64 {
    key.iter()
        .enumerate()
        .fold(0u64, |word, (i, byte)| word | u64::from(*byte) << (8 * i))
}

#[derive(Clone, Debug)]
struct PathNode {
    small: Vec<Edge>,
    big: Option<HashMap<Box<[u8]>, u32, KeyHashBuilder>>,
    field: u32,
    has_children: bool,
    /// The node of the path without its last segment (`NIL` for the root).
    parent: u32,
    /// Distinct one-segment children: early exit counts them down.
    children: u32,
    /// The gate tested once this path has been read (`NIL`: none).
    gate: u32,
}

impl PathNode {
    fn new() -> PathNode {
        PathNode {
            small: Vec::new(),
            big: None,
            field: NIL,
            has_children: false,
            parent: NIL,
            children: 0,
            gate: NIL,
        }
    }
}

const SMALL_CHILDREN: usize = 8;

impl PathTrie {
    /// Builds the trie; `paths[i]` becomes field `i`.
    pub(crate) fn build(paths: &[String]) -> PathTrie {
        let mut nodes = vec![PathNode::new()];
        let mut by_prefix: HashMap<String, u32> = HashMap::new();
        let mut edges: HashMap<(u32, Vec<u8>), u32> = HashMap::new();
        for (field, path) in paths.iter().enumerate() {
            let segments: Vec<&str> = path.split('.').collect();
            // ids[k] is the node of the first k segments; ids[0] is the root.
            let mut ids = vec![0u32];
            for k in 1..=segments.len() {
                let prefix = segments[..k].join(".");
                let id = *by_prefix.entry(prefix).or_insert_with(|| {
                    nodes.push(PathNode::new());
                    (nodes.len() - 1) as u32
                });
                ids.push(id);
            }
            nodes[ids[segments.len()] as usize].field = field as u32;
            for k in 1..ids.len() {
                nodes[ids[k] as usize].parent = ids[k - 1];
            }
            for i in 0..segments.len() {
                for j in i + 1..=segments.len() {
                    let key = segments[i..j].join(".").into_bytes();
                    edges.insert((ids[i], key), ids[j]);
                }
            }
        }
        for ((from, key), to) in edges {
            let node = &mut nodes[from as usize];
            node.has_children = true;
            node.small.push(Edge {
                len: key.len(),
                head: pack_head(&key),
                tail: pack_tail(&key),
                key: key.into_boxed_slice(),
                node: to,
            });
        }
        for node in &mut nodes {
            node.small.sort();
            if node.small.len() > SMALL_CHILDREN {
                node.big = Some(node.small.drain(..).map(|e| (e.key, e.node)).collect());
            }
        }
        for i in 1..nodes.len() {
            let parent = nodes[i].parent as usize;
            nodes[parent].children += 1;
        }
        PathTrie { nodes }
    }

    /// Early exit applies `gate` once `field` has been read.
    pub(crate) fn set_gate(&mut self, field: u32, gate: u32) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.field == field) {
            node.gate = gate;
        }
    }

    /// The child of `node` under the event key `key`.
    #[inline]
    fn child(&self, node: u32, key: &[u8]) -> Option<u32> {
        if key.len() < 8 {
            return self.child_short(node, key, pack_short(key));
        }
        let node = &self.nodes[node as usize];
        if let Some(big) = &node.big {
            return big.get(key).copied();
        }
        // Keys of up to 16 bytes are compared as two words.
        let (head, tail) = (pack_head(key), pack_tail(key));
        node.small
            .iter()
            .find(|e| {
                e.len == key.len()
                    && e.head == head
                    && e.tail == tail
                    && (key.len() <= 16 || e.key.as_ref() == key)
            })
            .map(|e| e.node)
    }

    /// [`PathTrie::child`] for a key of fewer than eight bytes with its
    /// bytes already packed (`head`): length and head decide.
    #[inline]
    fn child_short(&self, node: u32, key: &[u8], head: u64) -> Option<u32> {
        let node = &self.nodes[node as usize];
        if let Some(big) = &node.big {
            return big.get(key).copied();
        }
        node.small
            .iter()
            .find(|e| e.head == head && e.len == key.len())
            .map(|e| e.node)
    }

    /// Approximate heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| {
                std::mem::size_of::<PathNode>()
                    + n.small.iter().map(|e| e.key.len() + 40).sum::<usize>()
                    + n.big
                        .as_ref()
                        .map_or(0, |b| b.keys().map(|k| k.len() + 40).sum::<usize>())
            })
            .sum()
    }
}

/// Per-thread buffers of the scanner, reused across events.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScanBuffers {
    pub(crate) values: Vec<FieldValue>,
    pub(crate) trails: Vec<TrailStep>,
    pub(crate) scratch: Vec<u8>,
    trail_stack: Vec<TrailStep>,
    key_buf: Vec<u8>,
    /// Needed keys seen in the objects being read: (node, first value, object depth).
    seen_keys: Vec<(u32, u32, u32)>,
    /// Early exit: needed children not yet complete, per trie node.
    remaining: Vec<u32>,
    open_containers: Vec<bool>,
}

impl ScanBuffers {
    /// The bytes of a span.
    pub(crate) fn bytes<'a>(&'a self, event: &'a [u8], span: Span) -> &'a [u8] {
        let source = if span.in_scratch {
            &self.scratch[..]
        } else {
            event
        };
        &source[span.start as usize..span.end as usize]
    }
}

/// How a scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScanEnd {
    /// Every value the rules could use has been recorded.
    Read,
    /// Early exit: a gate's field was read and no value of it passed, so no
    /// rule can match; the recorded values are incomplete.
    Rejected,
}

/// Tells whether gate `g` passes on the values recorded so far.
pub(crate) type GateTest<'g> = dyn FnMut(u32, &ScanBuffers) -> bool + 'g;

/// Scans `event`, filling `buffers.values` with the named fields' values.
/// In early-exit mode (`!validate`), `gate_passes` is asked about each
/// gated path (see [`PathTrie::set_gate`]) once it has been read, and a
/// `false` ends the scan.
pub(crate) fn scan(
    trie: &PathTrie,
    event: &[u8],
    validate: bool,
    max_depth: usize,
    buffers: &mut ScanBuffers,
    gate_passes: &mut GateTest<'_>,
) -> Result<ScanEnd, EventError> {
    buffers.values.clear();
    buffers.trails.clear();
    buffers.scratch.clear();
    buffers.trail_stack.clear();
    buffers.seen_keys.clear();
    buffers.remaining.clear();
    if !validate {
        buffers
            .remaining
            .extend(trie.nodes.iter().map(|n| n.children));
    }
    if event.len() >= u32::MAX as usize {
        return Err(EventError::new(
            EventErrorKind::TooLarge,
            "Event is larger than 4 GiB",
        ));
    }
    if validate {
        // Most events are ASCII: only what follows the ASCII prefix needs
        // the full UTF-8 check.
        let ascii = blocks::ascii_prefix(event);
        if let Err(e) = std::str::from_utf8(&event[ascii..]) {
            let at = ascii + e.valid_up_to();
            return Err(EventError::at(
                EventErrorKind::InvalidUtf8,
                at,
                format!("Invalid UTF-8 at byte {at}"),
            ));
        }
    }
    let mut scanner = Scanner {
        src: event,
        pos: 0,
        trie,
        buffers,
        validate,
        max_depth,
        depth: 0,
        arrays: 0,
        done: false,
        rejected: false,
        shared_trail: None,
        gate_passes,
    };
    scanner.skip_ws();
    if scanner.peek() != Some(b'{') {
        return Err(match scanner.peek() {
            None => EventError::new(EventErrorKind::Empty, "Event is empty"),
            Some(_) => EventError::at(
                EventErrorKind::NotAnObject,
                scanner.pos,
                "Event is not a JSON object",
            ),
        });
    }
    scanner.pos += 1;
    scanner.object(0)?;
    if scanner.validate && !scanner.done {
        scanner.skip_ws();
        if scanner.pos != event.len() {
            return Err(scanner.error("Unexpected content after the event object"));
        }
    }
    Ok(if scanner.rejected {
        ScanEnd::Rejected
    } else {
        ScanEnd::Read
    })
}

struct Scanner<'a, 'b, 'g> {
    // `src` is the event; values borrow from it.
    src: &'a [u8],
    pos: usize,
    trie: &'a PathTrie,
    buffers: &'b mut ScanBuffers,
    validate: bool,
    max_depth: usize,
    depth: usize,
    arrays: u32,
    /// Early exit reached: stop reading.
    done: bool,
    /// Early exit because a gate failed.
    rejected: bool,
    /// The trail last written to `trails`, while the array position has not
    /// changed since: values of one array element share it.
    shared_trail: Option<u32>,
    gate_passes: &'b mut GateTest<'g>,
}

impl<'a> Scanner<'a, '_, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        // JSON whitespace as a bit set over the bytes up to a space: most
        // bytes met here are above it and cost one comparison.
        const WHITESPACE: u64 = 1 << b' ' | 1 << b'\n' | 1 << b'\r' | 1 << b'\t';
        while let Some(&c) = self.src.get(self.pos) {
            if c <= b' ' && WHITESPACE >> c & 1 == 1 {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn error(&self, what: &str) -> EventError {
        self.error_of(EventErrorKind::Syntax, what)
    }

    #[cold]
    #[inline(never)]
    fn error_of(&self, kind: EventErrorKind, what: &str) -> EventError {
        if self.pos >= self.src.len() {
            EventError::at(
                EventErrorKind::UnexpectedEnd,
                self.src.len(),
                format!("Unexpected end of event: {what}"),
            )
        } else {
            EventError::at(kind, self.pos, format!("{what} at byte {}", self.pos))
        }
    }

    #[inline]
    fn expect(&mut self, byte: u8, what: &str) -> Result<(), EventError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    #[inline]
    fn enter(&mut self) -> Result<(), EventError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(self.error_of(
                EventErrorKind::TooDeep,
                &format!("Event nesting is deeper than {} levels", self.max_depth),
            ));
        }
        Ok(())
    }

    /// Reads an object's members after its `{`; `node` is its trie node.
    fn object(&mut self, node: u32) -> Result<(), EventError> {
        self.enter()?;
        let seen_mark = self.buffers.seen_keys.len();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("Expected a field name"));
            }
            self.pos += 1;
            let child = self.key_child(node)?;
            self.expect(b':', "Expected ':' after a field name")?;
            self.skip_ws();
            match child {
                None => self.skip_value()?,
                Some(child) => {
                    let first_value = self.buffers.values.len() as u32;
                    if self.validate {
                        self.drop_duplicate(child, seen_mark);
                        self.buffers
                            .seen_keys
                            .push((child, first_value, self.depth as u32));
                    }
                    self.member_value(child)?;
                    if !self.validate && self.buffers.trail_stack.is_empty() {
                        self.complete(child);
                    }
                    if self.done {
                        return Ok(());
                    }
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("Expected ',' or '}' in an object")),
            }
        }
        self.buffers.seen_keys.truncate(seen_mark);
        self.depth -= 1;
        Ok(())
    }

    /// Early exit: the value at `node` has been read outside any array, so
    /// nothing more can be recorded under it. A node whose needed children
    /// are all complete is complete too; when the root is, reading stops.
    /// Reading stops too when a completed node's gate fails, unless reading
    /// stops anyway (the automaton then tests the same values).
    fn complete(&mut self, node: u32) {
        let mut at = node;
        let last = loop {
            if self.buffers.remaining[at as usize] == u32::MAX {
                if at == node {
                    return; // already complete
                }
                break at;
            }
            self.buffers.remaining[at as usize] = u32::MAX;
            let parent = self.trie.nodes[at as usize].parent;
            if parent == NIL {
                self.done = true;
                return;
            }
            let left = &mut self.buffers.remaining[parent as usize];
            *left -= 1;
            if *left != 0 {
                break parent;
            }
            at = parent;
        };
        // `node` and its ancestors below `last` were completed just now.
        let mut at = node;
        while at != last {
            let gate = self.trie.nodes[at as usize].gate;
            if gate != NIL && !(self.gate_passes)(gate, self.buffers) {
                self.rejected = true;
                self.done = true;
                return;
            }
            at = self.trie.nodes[at as usize].parent;
        }
    }

    /// Duplicate key in one object: the values of the earlier one are void.
    #[inline(never)]
    fn drop_duplicate(&mut self, child: u32, seen_mark: usize) {
        let depth = self.depth as u32;
        let earlier = self.buffers.seen_keys[seen_mark..]
            .iter()
            .position(|&(n, _, d)| n == child && d == depth);
        if let Some(i) = earlier {
            let (_, start, _) = self.buffers.seen_keys[seen_mark + i];
            // Values recorded after `start` by other keys stay; only those of
            // the earlier occurrence (up to the next recorded key) are void.
            let end = self.buffers.seen_keys[seen_mark + i + 1..]
                .iter()
                .find(|&&(_, _, d)| d == depth)
                .map_or(self.buffers.values.len() as u32, |&(_, s, _)| s);
            for v in &mut self.buffers.values[start as usize..end as usize] {
                v.field = NIL;
            }
            self.buffers.seen_keys.remove(seen_mark + i);
        }
    }

    /// Reads a key (after its opening quote) and looks it up under `node`.
    fn key_child(&mut self, node: u32) -> Result<Option<u32>, EventError> {
        let start = self.pos;
        // Most keys are short: when the closing quote is among the next
        // eight bytes, one load finds it and is the key's packed head.
        if let Some(chunk) = self.src.get(start..start + 8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(chunk);
            let word = u64::from_le_bytes(bytes);
            let stops = if self.validate {
                string_stops::<true>(word)
            } else {
                string_stops::<false>(word)
            };
            if stops != 0 {
                let len = (stops.trailing_zeros() / 8) as usize;
                if bytes[len] == b'"' {
                    self.pos = start + len + 1;
                    let head = word & ((1u64 << (8 * len)) - 1);
                    let key = &self.src[start..start + len];
                    return Ok(self.trie.child_short(node, key, head));
                }
            }
        }
        let rest = &self.src[start..];
        match self.string_stop(rest) {
            Some(i) if rest[i] == b'"' => {
                self.pos = start + i + 1;
                Ok(self.trie.child(node, &self.src[start..start + i]))
            }
            Some(i) if rest[i] < 0x20 => {
                self.pos = start + i;
                Err(self.error("Control character in a field name"))
            }
            Some(_) => {
                let mut key = std::mem::take(&mut self.buffers.key_buf);
                key.clear();
                let result = self.decode_string(&mut key);
                let child = result.map(|()| self.trie.child(node, &key));
                self.buffers.key_buf = key;
                child
            }
            None => Err(self.error("Unterminated string")),
        }
    }

    /// Where a string's plain run ends: at a quote or backslash, and when
    /// validating also at a control character. Eight bytes are checked at
    /// a time, so a short string resolves in one step.
    #[inline(always)]
    fn string_stop(&self, rest: &[u8]) -> Option<usize> {
        let i = if self.validate {
            find_string_stop(rest)
        } else {
            find_quote_or_backslash(rest)
        };
        (i < rest.len()).then_some(i)
    }

    /// Decodes a string with escapes into `out`; `pos` is after the opening
    /// quote and ends after the closing quote.
    #[inline(never)]
    fn decode_string(&mut self, out: &mut Vec<u8>) -> Result<(), EventError> {
        loop {
            let rest = &self.src[self.pos..];
            let Some(i) = self.string_stop(rest) else {
                return Err(self.error("Unterminated string"));
            };
            out.extend_from_slice(&rest[..i]);
            self.pos += i;
            if self.src[self.pos] < 0x20 {
                return Err(self.error("Control character in a string"));
            }
            if self.src[self.pos] == b'"' {
                self.pos += 1;
                return Ok(());
            }
            self.pos += 1;
            let Some(esc) = self.peek() else {
                return Err(self.error("Unterminated escape"));
            };
            self.pos += 1;
            if let Some(byte) = json::simple_escape(esc) {
                out.push(byte);
            } else if esc == b'u' {
                let c = self.unicode_escape()?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            } else {
                return Err(self.error("Invalid escape in a string"));
            }
        }
    }

    /// Decodes the four hex digits of a `\\u` escape (and a surrogate pair).
    #[cold]
    #[inline(never)]
    fn unicode_escape(&mut self) -> Result<char, EventError> {
        json::decode_unicode_escape(self.src, &mut self.pos).map_err(|e| {
            self.error(match e {
                json::EscapeError::Truncated => "Truncated \\u escape",
                json::EscapeError::NotHex(_) => "Invalid \\u escape",
                json::EscapeError::UnpairedSurrogate => "Unpaired surrogate in \\u escape",
            })
        })
    }

    /// Reads a value whose path is the trie node `node`.
    fn value(&mut self, node: u32) -> Result<(), EventError> {
        let field = self.trie.nodes[node as usize].field;
        match self.peek() {
            Some(b'{') => {
                if self.trie.nodes[node as usize].has_children {
                    self.pos += 1;
                    self.object(node)
                } else {
                    // An object is not a leaf: nothing to record.
                    self.skip_unread()
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.array(node)
            }
            Some(b'"') => self.string_value(field),
            Some(b't') => self.literal(b"true", field, Kind::True),
            Some(b'f') => self.literal(b"false", field, Kind::False),
            Some(b'n') => self.literal(b"null", field, Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number_value(field),
            _ => Err(self.error("Expected a value")),
        }
    }

    /// A member's value at trie node `node`: a string or number is read
    /// right in the member loop, anything else through [`Self::value`].
    #[inline(always)]
    fn member_value(&mut self, node: u32) -> Result<(), EventError> {
        let field = self.trie.nodes[node as usize].field;
        match self.peek() {
            Some(b'"') => self.string_value(field),
            Some(b'-' | b'0'..=b'9') => self.number_value(field),
            _ => self.value(node),
        }
    }

    /// A string where a value is expected (at its opening quote), recorded
    /// for `field` unless that is `NIL`.
    #[inline(always)]
    fn string_value(&mut self, field: u32) -> Result<(), EventError> {
        self.pos += 1;
        let text = self.string()?;
        if field != NIL {
            self.record(field, Kind::String, text, f64::NAN);
        }
        Ok(())
    }

    /// [`Self::skip_value`] for `value`, out of line for the same reason
    /// as [`Self::number_value`].
    #[inline(never)]
    fn skip_unread(&mut self) -> Result<(), EventError> {
        self.skip_value()
    }

    /// A number where a value is expected (from `value` and
    /// `member_value`). Kept out of `value`, which recurses once per nesting
    /// level, so that its frame stays small.
    #[inline(never)]
    fn number_value(&mut self, field: u32) -> Result<(), EventError> {
        let (lexeme, parts) = self.number::<true>()?;
        if field != NIL {
            self.record(field, Kind::Number, lexeme, number::approximate(&parts));
        }
        Ok(())
    }

    fn array(&mut self, node: u32) -> Result<(), EventError> {
        self.enter()?;
        let id = self.arrays;
        self.arrays += 1;
        self.buffers.trail_stack.push((id, 0));
        self.shared_trail = None;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                self.value(node)?;
                if self.done {
                    return Ok(());
                }
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if let Some(last) = self.buffers.trail_stack.last_mut() {
                            last.1 += 1;
                        }
                        self.shared_trail = None;
                    }
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("Expected ',' or ']' in an array")),
                }
            }
        }
        self.buffers.trail_stack.pop();
        self.shared_trail = None;
        self.depth -= 1;
        Ok(())
    }

    fn record(&mut self, field: u32, kind: Kind, text: Span, approx: f64) {
        let mut trail_start = self.buffers.trails.len() as u32;
        let trail_len = self.buffers.trail_stack.len() as u32;
        if let Some(shared) = self.shared_trail {
            trail_start = shared;
        } else if trail_len > 0 {
            self.shared_trail = Some(trail_start);
            let ScanBuffers {
                trails,
                trail_stack,
                ..
            } = &mut *self.buffers;
            // Trails are short: element-wise pushes beat a memcpy call.
            for &step in trail_stack.iter() {
                trails.push(step);
            }
        }
        self.buffers.values.push(FieldValue {
            field,
            kind,
            text,
            approx,
            trail_start,
            trail_len,
            next: NIL,
        });
    }

    /// A string after its opening quote: borrowed, or decoded into scratch.
    fn string(&mut self) -> Result<Span, EventError> {
        let start = self.pos;
        let rest = &self.src[start..];
        match self.string_stop(rest) {
            Some(i) if rest[i] == b'"' => {
                self.pos = start + i + 1;
                Ok(Span {
                    start: start as u32,
                    end: (start + i) as u32,
                    in_scratch: false,
                })
            }
            Some(i) if rest[i] < 0x20 => {
                self.pos = start + i;
                Err(self.error("Control character in a string"))
            }
            Some(_) => {
                let mut scratch = std::mem::take(&mut self.buffers.scratch);
                let from = scratch.len();
                let result = self.decode_string(&mut scratch);
                let end = scratch.len();
                self.buffers.scratch = scratch;
                result.map(|()| Span {
                    start: from as u32,
                    end: end as u32,
                    in_scratch: true,
                })
            }
            None => Err(self.error("Unterminated string")),
        }
    }

    fn literal(&mut self, word: &[u8], field: u32, kind: Kind) -> Result<(), EventError> {
        if self.src.get(self.pos..self.pos + word.len()) != Some(word) {
            return Err(self.error("Invalid literal"));
        }
        let span = Span {
            start: self.pos as u32,
            end: (self.pos + word.len()) as u32,
            in_scratch: false,
        };
        self.pos += word.len();
        if field != NIL {
            self.record(field, kind, span, f64::NAN);
        }
        Ok(())
    }

    /// A number, checked against the JSON grammar in one pass: its lexeme
    /// span and its parts (with `SIGNIFICAND`, including the digits' value
    /// for [`number::approximate`]).
    #[inline(always)]
    fn number<const SIGNIFICAND: bool>(&mut self) -> Result<(Span, number::Parts<'a>), EventError> {
        let src: &'a [u8] = self.src;
        let start = self.pos;
        match number::split_prefix::<SIGNIFICAND>(&src[start..]) {
            Ok((parts, len)) => {
                self.pos = start + len;
                let span = Span {
                    start: start as u32,
                    end: self.pos as u32,
                    in_scratch: false,
                };
                Ok((span, parts))
            }
            Err(at) => {
                self.pos = start + at;
                Err(self.error("Invalid number"))
            }
        }
    }

    /// Skips a value no rule names. Always inlined, as are
    /// [`Self::skip_string`] and [`Self::fast_skip`]: as calls, they made
    /// reading unnamed members one by one up to a tenth slower.
    #[inline(always)]
    fn skip_value(&mut self) -> Result<(), EventError> {
        if !self.validate {
            return self.fast_skip();
        }
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string()
            }
            Some(b'-' | b'0'..=b'9') => self.number::<false>().map(|_| ()),
            _ => self.validate_value(),
        }
    }

    /// Checks and skips a value (validating mode): an object or array by the
    /// block path when it settles it, otherwise iteratively, one loop with an
    /// explicit stack of open containers (`true` = object).
    fn validate_value(&mut self) -> Result<(), EventError> {
        if matches!(self.peek(), Some(b'{' | b'['))
            && let Some(end) = blocks::validate_container(
                self.src,
                self.pos,
                self.max_depth.saturating_sub(self.depth),
            )
        {
            self.pos = end;
            return Ok(());
        }
        // Invalid, or beyond the block path: byte by byte, for the precise error.
        let mut open = std::mem::take(&mut self.buffers.open_containers);
        open.clear();
        let result = self.validate_loop(&mut open);
        self.buffers.open_containers = open;
        result
    }

    fn validate_loop(&mut self, open: &mut Vec<bool>) -> Result<(), EventError> {
        'value: loop {
            // A value starts at `pos` (whitespace already skipped).
            match self.peek() {
                Some(b'{') => {
                    self.pos += 1;
                    self.enter()?;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        self.depth -= 1;
                    } else {
                        open.push(true);
                        self.member_name()?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.enter()?;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        self.depth -= 1;
                    } else {
                        open.push(false);
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    self.pos += 1;
                    self.skip_string()?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number::<false>()?;
                }
                Some(b't') => self.literal(b"true", NIL, Kind::True)?,
                Some(b'f') => self.literal(b"false", NIL, Kind::False)?,
                Some(b'n') => self.literal(b"null", NIL, Kind::Null)?,
                _ => return Err(self.error("Expected a value")),
            }
            // After a value: close containers until a comma opens the next one.
            loop {
                let Some(&in_object) = open.last() else {
                    return Ok(());
                };
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                        if in_object {
                            self.member_name()?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        self.pos += 1;
                        self.depth -= 1;
                        open.pop();
                    }
                    Some(b']') if !in_object => {
                        self.pos += 1;
                        self.depth -= 1;
                        open.pop();
                    }
                    _ if in_object => return Err(self.error("Expected ',' or '}' in an object")),
                    _ => return Err(self.error("Expected ',' or ']' in an array")),
                }
            }
        }
    }

    /// `"name" :` of an object member, leaving `pos` at the value.
    #[inline]
    fn member_name(&mut self) -> Result<(), EventError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("Expected a field name"));
        }
        self.pos += 1;
        self.skip_string()?;
        self.expect(b':', "Expected ':' after a field name")?;
        self.skip_ws();
        Ok(())
    }

    /// Skips a string after its opening quote, checking it when validating.
    #[inline(always)]
    fn skip_string(&mut self) -> Result<(), EventError> {
        loop {
            let rest = &self.src[self.pos..];
            let Some(i) = self.string_stop(rest) else {
                return Err(self.error("Unterminated string"));
            };
            self.pos += i;
            match self.src[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {}
                _ => return Err(self.error("Control character in a string")),
            }
            self.pos += 1;
            if self.validate {
                match self.peek() {
                    Some(c) if json::simple_escape(c).is_some() => self.pos += 1,
                    Some(b'u') => {
                        self.pos += 1;
                        self.unicode_escape()?;
                    }
                    _ => return Err(self.error("Invalid escape in a string")),
                }
            } else if self.pos < self.src.len() {
                self.pos += 1;
            } else {
                return Err(self.error("Unterminated string"));
            }
        }
    }

    /// Skips a value by bracket counting, without checking it (early-exit mode).
    #[inline(always)]
    fn fast_skip(&mut self) -> Result<(), EventError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.skip_string()
            }
            Some(b'{' | b'[') => match blocks::skip_container(self.src, self.pos) {
                Some(end) => {
                    self.pos = end;
                    Ok(())
                }
                None => {
                    self.pos = self.src.len();
                    Err(self.error("Unterminated object or array"))
                }
            },
            Some(_) => {
                while let Some(&c) = self.src.get(self.pos) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(())
            }
            None => Err(self.error("Expected a value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(
        paths: &[&str],
        event: &str,
        validate: bool,
    ) -> Result<Vec<(u32, String, Vec<TrailStep>)>, EventError> {
        let trie = PathTrie::build(&paths.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let mut buffers = ScanBuffers::default();
        scan(
            &trie,
            event.as_bytes(),
            validate,
            1000,
            &mut buffers,
            &mut |_, _| true,
        )?;
        Ok(buffers
            .values
            .iter()
            .filter(|v| v.field != NIL)
            .map(|v| {
                let text =
                    String::from_utf8_lossy(buffers.bytes(event.as_bytes(), v.text)).into_owned();
                let trail = buffers.trails
                    [v.trail_start as usize..(v.trail_start + v.trail_len) as usize]
                    .to_vec();
                (v.field, text, trail)
            })
            .collect())
    }

    #[test]
    fn records_only_named_fields_with_trails() {
        let got = fields(
            &["detail.state.status", "resources"],
            r#"{"id":"x","resources":["a","b\u0041"],"detail":{"other":{"deep":[1,2]},"state":{"status":"running"}}}"#,
            true,
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                (1, "a".into(), vec![(0, 0)]),
                (1, "bA".into(), vec![(0, 1)]),
                (0, "running".into(), vec![]),
            ]
        );
    }

    #[test]
    fn dotted_event_keys_join_paths() {
        let got = fields(
            &["detail.state.status"],
            r#"{"detail":{"state.status":"running"}}"#,
            true,
        )
        .unwrap();
        assert_eq!(got, vec![(0, "running".into(), vec![])]);
        let none = fields(
            &["detail.state.status"],
            r#"{"detail":{"state.status":{"status":"x"}}}"#,
            true,
        )
        .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn short_keys_match_only_whole() {
        // Keys of up to seven bytes are matched with the closing quote in
        // one word: a longer key, an escaped quote or a key at the very end
        // of the event must not be mistaken for them.
        let paths = ["a", "xy", "seven77", "eight888"];
        for validate in [true, false] {
            let got = fields(
                &paths,
                r#"{"ab":1,"a\"":2,"xyz":3,"x":4,"seven777":5,"eight88":6,"a":7,"xy":8,"seven77":9,"eight888":10,"a\u0062":11}"#,
                validate,
            )
            .unwrap();
            let texts: Vec<(u32, String)> = got.into_iter().map(|(f, t, _)| (f, t)).collect();
            assert_eq!(
                texts,
                [(0, "7"), (1, "8"), (2, "9"), (3, "10")].map(|(f, t)| (f, t.to_string())),
                "validate: {validate}"
            );
            let tail = fields(&paths, r#"{"xy":1}"#, validate).unwrap();
            assert_eq!(tail.len(), 1, "validate: {validate}");
        }
        // A raw control byte right after a short key's bytes is not a match
        // and, when validating, an error.
        assert!(fields(&paths, "{\"a\u{1}\":1, \"b\": 2}", true).is_err());
        assert!(
            fields(&paths, "{\"a\u{1}\":1, \"b\": 2}", false)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn last_duplicate_key_wins_when_validating() {
        let got = fields(&["a", "b"], r#"{"a":"1","b":"x","a":"2"}"#, true).unwrap();
        assert_eq!(got, vec![(1, "x".into(), vec![]), (0, "2".into(), vec![])]);
    }

    #[test]
    fn validating_mode_rejects_malformed_events() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{"a":01}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":tru}"#,
            r#"{"a":1} x"#,
            r#"{"z":{"y":[1,}}"#,
        ] {
            assert!(fields(&["a"], bad, true).is_err(), "{bad:?}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(1200), "]".repeat(1200));
        assert!(
            fields(&["a"], &deep, true)
                .unwrap_err()
                .to_string()
                .contains("deeper")
        );
    }

    #[test]
    fn truncated_escape_is_an_error_in_both_modes() {
        for validate in [true, false] {
            assert!(fields(&["resources"], "{\"x\":\"a\\", validate).is_err());
        }
    }

    #[test]
    fn early_exit_stops_after_needed_top_level_fields() {
        // Garbage after the needed field is never read in early-exit mode.
        let got = fields(&["source"], r#"{"source":"s", this is not json"#, false).unwrap();
        assert_eq!(got, vec![(0, "s".into(), vec![])]);
        assert!(fields(&["source"], r#"{"source":"s", this is not json"#, true).is_err());
    }
}
