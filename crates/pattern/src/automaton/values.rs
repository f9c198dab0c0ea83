//! Value indexes: every test on one field of one state, merged so that a value
//! is looked up once whatever the number of tests (hash maps for exact and
//! ignore-case values, byte tries for prefixes and suffixes, an interval index
//! for numeric and CIDR ranges, and an Aho-Corasick automaton over the
//! longest literal of each wildcard).

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use crate::number::{self, Decimal};
use crate::pattern::cidr::{self, IpRange};
use crate::pattern::wildcard::{PartPlace, Wildcard};
use crate::pattern::{Exclusion, NumericRange, Op};
use crate::scan::Kind;
use crate::text::{self, CasePattern};

/// A fast hash for byte-string keys (FxHash's multiply-rotate, eight bytes
/// at a time). The keys stored are pattern values, which are trusted; event
/// values only probe, so an adversarial event cannot lengthen any chain.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Byte-string key → targets.
type KeyMap = HashMap<Box<[u8]>, Vec<u32>, std::hash::BuildHasherDefault<KeyHasher>>;

/// Appends `targets` to `out`. Answers are short (often empty), and an
/// element loop costs less than `extend_from_slice`'s call to `memcpy`.
#[inline]
fn append(out: &mut Vec<u32>, targets: &[u32]) {
    if !targets.is_empty() {
        out.reserve(targets.len());
        for &target in targets {
            out.push(target);
        }
    }
}

/// A leaf value being looked up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Leaf<'a> {
    pub(crate) kind: Kind,
    /// Decoded string content (strings), lexeme (numbers).
    pub(crate) text: &'a [u8],
    /// Numbers: a double near the exact value ([`number::approximate`]),
    /// or NaN.
    pub(crate) approx: f64,
}

/// Reusable buffers for lookups.
#[derive(Clone, Debug, Default)]
pub(crate) struct LookupBuffers {
    folded: Vec<u8>,
    case_key: Vec<u8>,
    ip_key: Vec<u8>,
    candidates: Vec<u32>,
    number_key: Vec<u8>,
}

/// Wildcards indexed by one literal part each: a value can match only the
/// wildcards whose part it has in that part's place. Each wildcard is filed
/// under the part that the fewest wildcards of the set share (so that a
/// common part such as `.png` does not make every value a candidate for
/// every wildcard), preferring a leading or trailing part, then the longest.
/// Leading parts are found by walking a byte trie over the value's start,
/// trailing parts by one over its end, inner parts by one Aho-Corasick pass
/// over the value. Wildcards with no literal (`*`) are checked always.
#[derive(Clone, Debug, Default)]
struct WildcardIndex {
    wildcards: Vec<(Wildcard, u32)>,
    unanchored: Vec<u32>,
    leading: ByteTrie,
    trailing: ByteTrie,
    inner: Option<AhoCorasick>,
    by_inner: Vec<Vec<u32>>,
}

impl WildcardIndex {
    fn build(wildcards: Vec<(Wildcard, u32)>) -> WildcardIndex {
        let mut inner_ids: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut inner: Vec<Vec<u8>> = Vec::new();
        let mut by_inner: Vec<Vec<u32>> = Vec::new();
        let mut leading = ByteTrie::default();
        let mut trailing = ByteTrie::default();
        let mut unanchored = Vec::new();
        let mut sharing: HashMap<&[u8], usize> = HashMap::new();
        for (wildcard, _) in &wildcards {
            let mut parts: Vec<&[u8]> = wildcard.literal_parts().collect();
            parts.sort_unstable();
            parts.dedup();
            for part in parts {
                *sharing.entry(part).or_default() += 1;
            }
        }
        for (id, (wildcard, _)) in wildcards.iter().enumerate() {
            let id = id as u32;
            let chosen = wildcard.placed_parts().min_by_key(|&(part, place)| {
                (
                    sharing.get(part).copied().unwrap_or(0),
                    place == PartPlace::Inside,
                    std::cmp::Reverse(part.len()),
                )
            });
            match chosen {
                None => unanchored.push(id),
                Some((part, PartPlace::Leading)) => leading.insert(part.iter().copied(), id),
                Some((part, PartPlace::Trailing)) => {
                    trailing.insert(part.iter().rev().copied(), id);
                }
                Some((part, PartPlace::Inside)) => {
                    let next = inner.len();
                    let lit = *inner_ids.entry(part.to_vec()).or_insert_with(|| {
                        inner.push(part.to_vec());
                        by_inner.push(Vec::new());
                        next
                    });
                    by_inner[lit].push(id);
                }
            }
        }
        // Building only fails past limits far beyond a pattern set's size.
        let inner = (!inner.is_empty())
            .then(|| AhoCorasick::new(&inner).ok())
            .flatten();
        WildcardIndex {
            wildcards,
            unanchored,
            leading,
            trailing,
            inner,
            by_inner,
        }
    }

    fn is_empty(&self) -> bool {
        self.wildcards.is_empty()
    }

    fn lookup(&self, value: &[u8], candidates: &mut Vec<u32>, out: &mut Vec<u32>) {
        candidates.clear();
        append(candidates, &self.unanchored);
        self.leading.collect(value.iter().copied(), candidates);
        self.trailing
            .collect(value.iter().rev().copied(), candidates);
        if let Some(inner) = &self.inner {
            for found in inner.find_overlapping_iter(value) {
                append(candidates, &self.by_inner[found.pattern().as_usize()]);
            }
            // An inner part may occur several times: each wildcard once.
            candidates.sort_unstable();
            candidates.dedup();
        }
        for &id in candidates.iter() {
            let (wildcard, target) = &self.wildcards[id as usize];
            if wildcard.matches(value) {
                out.push(*target);
            }
        }
    }

    fn memory_usage(&self) -> usize {
        self.wildcards.len() * 64
            + self.leading.memory_usage()
            + self.trailing.memory_usage()
            + self.inner.as_ref().map_or(0, AhoCorasick::memory_usage)
            + self
                .by_inner
                .iter()
                .map(|v| 24 + v.len() * 4)
                .sum::<usize>()
    }
}

/// Which part of a value an ignore-case pattern must accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CaseTest {
    Equals,
    Prefix,
    Suffix,
}

/// Ignore-case patterns that are not all ASCII, filed under their case key
/// ([`text::key_into`]): a value's key finds every pattern that can accept
/// it, and each is then checked against the value itself.
#[derive(Clone, Debug, Default)]
struct UnicodeCaseIndex {
    tests: Vec<(CaseTest, CasePattern, u32)>,
    equals: KeyMap,
    prefixes: ByteTrie,
    suffixes: ByteTrie,
}

impl UnicodeCaseIndex {
    fn add(&mut self, test: CaseTest, pattern: &str, target: u32) {
        let pattern = CasePattern::new(pattern);
        let key = pattern.key();
        let id = self.tests.len() as u32;
        match test {
            CaseTest::Equals => push(&mut self.equals, &key, id),
            CaseTest::Prefix => self.prefixes.insert(key.into_iter(), id),
            CaseTest::Suffix => self.suffixes.insert(key.into_iter().rev(), id),
        }
        self.tests.push((test, pattern, target));
    }

    fn lookup(&self, value: &[u8], buffers: &mut LookupBuffers, out: &mut Vec<u32>) {
        let LookupBuffers {
            case_key,
            candidates,
            ..
        } = buffers;
        text::key_into(value, case_key);
        candidates.clear();
        if let Some(ids) = self.equals.get(case_key.as_slice()) {
            append(candidates, ids);
        }
        self.prefixes.collect(case_key.iter().copied(), candidates);
        self.suffixes
            .collect(case_key.iter().rev().copied(), candidates);
        for &id in candidates.iter() {
            let (test, pattern, target) = &self.tests[id as usize];
            let accepted = match test {
                CaseTest::Equals => pattern.equals(value),
                CaseTest::Prefix => pattern.is_prefix_of(value),
                CaseTest::Suffix => pattern.is_suffix_of(value),
            };
            if accepted {
                out.push(*target);
            }
        }
    }

    fn memory_usage(&self) -> usize {
        self.tests
            .iter()
            .map(|(_, p, _)| 40 + p.memory_usage())
            .sum::<usize>()
            + key_map_usage(&self.equals)
            + self.prefixes.memory_usage()
            + self.suffixes.memory_usage()
    }
}

/// A byte trie whose nodes carry targets; walking a value collects the
/// targets of every node on its path (all prefixes of the value).
#[derive(Clone, Debug)]
struct ByteTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Clone, Debug, Default)]
struct TrieNode {
    edges: Vec<(u8, u32)>,
    targets: Vec<u32>,
}

impl Default for ByteTrie {
    fn default() -> Self {
        ByteTrie {
            nodes: vec![TrieNode::default()],
        }
    }
}

impl ByteTrie {
    fn insert(&mut self, bytes: impl Iterator<Item = u8>, target: u32) {
        let mut node = 0usize;
        for b in bytes {
            let edges = &self.nodes[node].edges;
            node = match edges.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => edges[i].1 as usize,
                Err(i) => {
                    let id = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    self.nodes[node].edges.insert(i, (b, id as u32));
                    id
                }
            };
        }
        self.nodes[node].targets.push(target);
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.nodes.len() == 1 && self.nodes[0].targets.is_empty()
    }

    #[inline]
    fn collect(&self, bytes: impl Iterator<Item = u8>, out: &mut Vec<u32>) {
        let mut node = &self.nodes[0];
        append(out, &node.targets);
        for b in bytes {
            match node.edges.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => node = &self.nodes[node.edges[i].1 as usize],
                Err(_) => return,
            }
            append(out, &node.targets);
        }
    }

    fn memory_usage(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| std::mem::size_of::<TrieNode>() + n.edges.len() * 8 + n.targets.len() * 4)
            .sum()
    }
}

/// Doubles beside the exact points of a numeric index, in the points' order,
/// so that most numbers are placed among the points from their
/// [`number::approximate`] double, without building their exact key.
///
/// Each double is the point correctly rounded, and rounding keeps order, so
/// the doubles are sorted too. A number's approximation `a` is "near" a
/// point's double `b` when `|a - b| <= NEAR * max(|a|, |b|)`; with both
/// errors at most 2^-51 (relative), a number not near `b` lies strictly on
/// `b`'s side that `a` does. Numbers near a point, or with no approximation,
/// are placed by their exact key instead. Usable only when every point's
/// double is zero for a zero point or a normal double otherwise (so that
/// relative error bounds hold).
#[derive(Clone, Debug, Default)]
struct NumberScreen {
    points: Vec<f64>,
    usable: bool,
}

/// Far wider than the two errors together (at most 2^-50 relative), so
/// that computing the test in doubles cannot tip it.
const NEAR: f64 = number::APPROXIMATION_ERROR * 2048.0;

impl NumberScreen {
    fn build<'p>(points: impl Iterator<Item = &'p [u8]>) -> NumberScreen {
        let mut usable = true;
        let points: Vec<f64> = points
            .map(|key| {
                let point = Decimal::from_key(key);
                let double = point.to_f64();
                usable &= if point.is_zero() {
                    double == 0.0
                } else {
                    double.is_normal()
                };
                double
            })
            .collect();
        usable &= points.windows(2).all(|w| w[0] <= w[1]);
        NumberScreen { points, usable }
    }

    /// How many points lie strictly below the number approximated by
    /// `approx`, when none is equal or near; `None` otherwise.
    #[inline]
    fn place(&self, approx: f64) -> Option<usize> {
        if !self.usable || !approx.is_finite() {
            return None;
        }
        let near = |point: f64| (approx - point).abs() <= approx.abs().max(point.abs()) * NEAR;
        let below = self.points.partition_point(|&p| p < approx);
        if below > 0 && near(self.points[below - 1]) {
            return None;
        }
        if below < self.points.len() && near(self.points[below]) {
            return None;
        }
        Some(below)
    }
}

/// Closed intervals over byte keys; a query returns every interval holding
/// the key, in O(log n + answers). Bounds are first mapped to "slots": slot
/// `2i+1` is the point `points[i]`, slot `2i` the gap just below it. Each
/// interval is stored in the O(log n) segment-tree nodes covering its slots.
#[derive(Clone, Debug, Default)]
struct IntervalIndex {
    points: Vec<Box<[u8]>>,
    /// The first 16 bytes of each point, big-endian: most comparisons end here.
    heads: Vec<u128>,
    leaves: usize,
    tree: Vec<Vec<u32>>,
    /// When small enough, every slot's answer laid out flat (slot `s` holds
    /// `slot_targets[slot_starts[s]..slot_starts[s + 1]]`), so that a query
    /// is one copy instead of a walk up the tree.
    slot_starts: Vec<u32>,
    slot_targets: Vec<u32>,
    /// For numeric indexes: places most numbers without their exact key.
    screen: NumberScreen,
}

/// Flat per-slot answers are kept up to this many entries in all.
const FLAT_SLOT_LIMIT: usize = 1 << 14;

/// The first 16 bytes of a key as a big-endian integer (zero-padded), so that
/// integer order agrees with byte order on those bytes.
fn key_head(key: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    let n = key.len().min(16);
    bytes[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(bytes)
}

type Bound = Option<(Box<[u8]>, bool)>;

impl IntervalIndex {
    fn build(intervals: &[(Bound, Bound, u32)]) -> IntervalIndex {
        if intervals.is_empty() {
            return IntervalIndex::default();
        }
        let mut points: Vec<Box<[u8]>> = intervals
            .iter()
            .flat_map(|(low, high, _)| [low, high])
            .filter_map(|b| b.as_ref().map(|(k, _)| k.clone()))
            .collect();
        points.sort();
        points.dedup();
        let slots = 2 * points.len() + 1;
        let leaves = slots.next_power_of_two();
        let mut tree: Vec<Vec<u32>> = vec![Vec::new(); 2 * leaves];
        let slot_of = |key: &[u8]| {
            2 * points
                .binary_search_by(|p| p.as_ref().cmp(key))
                .unwrap_or(0)
                + 1
        };
        for (low, high, target) in intervals {
            let first = match low {
                None => 0,
                Some((k, true)) => slot_of(k),
                Some((k, false)) => slot_of(k) + 1,
            };
            let last = match high {
                None => slots - 1,
                Some((k, true)) => slot_of(k),
                Some((k, false)) => slot_of(k) - 1,
            };
            if first > last {
                continue;
            }
            let (mut l, mut r) = (first + leaves, last + leaves + 1);
            while l < r {
                if l & 1 == 1 {
                    tree[l].push(*target);
                    l += 1;
                }
                if r & 1 == 1 {
                    r -= 1;
                    tree[r].push(*target);
                }
                l >>= 1;
                r >>= 1;
            }
        }
        let mut index = IntervalIndex {
            heads: points.iter().map(|p| key_head(p)).collect(),
            points,
            leaves,
            tree,
            slot_starts: Vec::new(),
            slot_targets: Vec::new(),
            screen: NumberScreen::default(),
        };
        index.flatten(slots);
        index
    }

    /// Lays out every slot's answer flat when the total stays small.
    fn flatten(&mut self, slots: usize) {
        let mut starts = Vec::with_capacity(slots + 1);
        let mut targets = Vec::new();
        for slot in 0..slots {
            starts.push(targets.len() as u32);
            let mut node = slot + self.leaves;
            while node >= 1 {
                targets.extend_from_slice(&self.tree[node]);
                if targets.len() > FLAT_SLOT_LIMIT {
                    return;
                }
                node >>= 1;
            }
        }
        starts.push(targets.len() as u32);
        self.slot_starts = starts;
        self.slot_targets = targets;
    }

    fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    #[inline]
    fn query(&self, key: &[u8], out: &mut Vec<u32>) {
        if self.tree.is_empty() {
            return;
        }
        let head = key_head(key);
        let found = self.heads.binary_search_by(|&h| h.cmp(&head));
        let position = match found {
            // Equal heads: settle on the whole keys among the equal run.
            Ok(_) => {
                let low = self.heads.partition_point(|&h| h < head);
                let high = self.heads.partition_point(|&h| h <= head);
                self.points[low..high]
                    .binary_search_by(|p| p.as_ref().cmp(key))
                    .map(|i| low + i)
                    .map_err(|i| low + i)
            }
            Err(i) => Err(i),
        };
        let slot = match position {
            Ok(i) => 2 * i + 1,
            Err(i) => 2 * i,
        };
        self.answer(slot, out);
    }

    /// Numeric indexes: appends the targets of the intervals holding the
    /// number `approx` stands for, when the screen can place it; `false`
    /// (nothing appended) when its exact key is needed.
    #[inline]
    fn query_approx(&self, approx: f64, out: &mut Vec<u32>) -> bool {
        match self.screen.place(approx) {
            Some(below) => {
                self.answer(2 * below, out);
                true
            }
            None => false,
        }
    }

    /// Appends the targets of slot `slot`.
    #[inline]
    fn answer(&self, slot: usize, out: &mut Vec<u32>) {
        if let Some(range) = self.slot_starts.get(slot..slot + 2) {
            append(
                out,
                &self.slot_targets[range[0] as usize..range[1] as usize],
            );
            return;
        }
        let mut node = slot + self.leaves;
        while node >= 1 {
            append(out, &self.tree[node]);
            node >>= 1;
        }
    }

    fn memory_usage(&self) -> usize {
        self.points.iter().map(|p| p.len() + 16).sum::<usize>()
            + self.heads.len() * 16
            + self.tree.iter().map(|t| 24 + t.len() * 4).sum::<usize>()
            + (self.slot_starts.len() + self.slot_targets.len()) * 4
    }
}

fn ip_key(v6: bool, address: u128, out: &mut Vec<u8>) {
    out.clear();
    out.push(u8::from(v6));
    out.extend_from_slice(&address.to_be_bytes());
}

/// Collects the tests of one transition before freezing them.
#[derive(Default)]
pub(crate) struct ValueIndexBuilder {
    index: ValueIndex,
    wildcards: Vec<(Wildcard, u32)>,
    ranges: Vec<(Bound, Bound, u32)>,
    cidrs: Vec<(Bound, Bound, u32)>,
    unicode_case: UnicodeCaseIndex,
}

/// An ASCII pattern's bytes, lower-cased.
fn lower_ascii(pattern: &str) -> impl DoubleEndedIterator<Item = u8> + '_ {
    pattern.bytes().map(|b| b.to_ascii_lowercase())
}

impl ValueIndexBuilder {
    /// Adds one positive test leading to `target`. `Exists` and
    /// `AnythingBut` are handled by the transition, not here.
    pub(crate) fn add(&mut self, op: &Op, target: u32) {
        let ix = &mut self.index;
        match op {
            Op::Exists(true) => ix.any_leaf.push(target),
            Op::Exists(false) | Op::AnythingBut(_) => {}
            Op::Null => ix.nulls.push(target),
            Op::Bool(true) => ix.trues.push(target),
            Op::Bool(false) => ix.falses.push(target),
            Op::String(s) => push(&mut ix.strings, s.as_bytes(), target),
            Op::Number(d) => push(&mut ix.numbers, d.key(), target),
            Op::Prefix(p) => ix.prefixes.insert(p.bytes(), target),
            Op::Suffix(s) => ix.suffixes.insert(s.bytes().rev(), target),
            Op::PrefixIgnoreCase(p) if p.is_ascii() => {
                ix.prefixes_ci.insert(lower_ascii(p), target);
            }
            Op::SuffixIgnoreCase(s) if s.is_ascii() => {
                ix.suffixes_ci.insert(lower_ascii(s).rev(), target);
            }
            Op::EqualsIgnoreCase(s) if s.is_ascii() => {
                push(
                    &mut ix.ignore_case,
                    &s.to_ascii_lowercase().into_bytes(),
                    target,
                );
            }
            Op::PrefixIgnoreCase(s) => self.unicode_case.add(CaseTest::Prefix, s, target),
            Op::SuffixIgnoreCase(s) => self.unicode_case.add(CaseTest::Suffix, s, target),
            Op::EqualsIgnoreCase(s) => self.unicode_case.add(CaseTest::Equals, s, target),
            Op::Wildcard(w, _) => self.add_wildcard(w, target),
            Op::Numeric(range) => self.ranges.push(numeric_bounds(range, target)),
            Op::Cidr(range, _) => self.cidrs.push(cidr_bounds(range, target)),
        }
    }

    /// Adds the values an `anything-but` excludes, each leading to `target`.
    pub(crate) fn add_exclusion(&mut self, exclusion: &Exclusion, target: u32) {
        match exclusion {
            Exclusion::Strings(v) => v
                .iter()
                .for_each(|s| self.add(&Op::String(s.clone()), target)),
            Exclusion::Numbers(v) => v
                .iter()
                .for_each(|d| self.add(&Op::Number(d.clone()), target)),
            Exclusion::IgnoreCase(v) => {
                v.iter()
                    .for_each(|s| self.add(&Op::EqualsIgnoreCase(s.clone()), target));
            }
            Exclusion::Prefixes(v) => v
                .iter()
                .for_each(|s| self.add(&Op::Prefix(s.clone()), target)),
            Exclusion::Suffixes(v) => v
                .iter()
                .for_each(|s| self.add(&Op::Suffix(s.clone()), target)),
            Exclusion::Wildcards(v) => v.iter().for_each(|(w, _)| self.add_wildcard(w, target)),
        }
    }

    fn add_wildcard(&mut self, wildcard: &Wildcard, target: u32) {
        self.wildcards.push((wildcard.clone(), target));
    }

    pub(crate) fn finish(mut self) -> ValueIndex {
        self.index.numeric = IntervalIndex::build(&self.ranges);
        let numeric = &mut self.index.numeric;
        numeric.screen = NumberScreen::build(numeric.points.iter().map(|p| p.as_ref()));
        let mut exact: Vec<&Box<[u8]>> = self.index.numbers.keys().collect();
        exact.sort();
        self.index.numbers_screen = NumberScreen::build(exact.into_iter().map(|k| k.as_ref()));
        self.index.cidr = IntervalIndex::build(&self.cidrs);
        self.index.wildcards = WildcardIndex::build(self.wildcards);
        let ix = &mut self.index;
        ix.unicode_case =
            (!self.unicode_case.tests.is_empty()).then(|| Box::new(self.unicode_case));
        ix.needs_fold =
            !ix.prefixes_ci.is_empty() || !ix.suffixes_ci.is_empty() || !ix.ignore_case.is_empty();
        ix.has_string_tests = ix.needs_fold
            || ix.unicode_case.is_some()
            || !ix.strings.is_empty()
            || !ix.prefixes.is_empty()
            || !ix.suffixes.is_empty()
            || !ix.wildcards.is_empty()
            || !ix.cidr.is_empty();
        self.index
    }
}

/// Approximate heap bytes a key map holds.
fn key_map_usage(map: &KeyMap) -> usize {
    map.iter().map(|(k, v)| k.len() + 48 + v.len() * 4).sum()
}

fn push(map: &mut KeyMap, key: &[u8], target: u32) {
    map.entry(key.into()).or_default().push(target);
}

fn numeric_bounds(range: &NumericRange, target: u32) -> (Bound, Bound, u32) {
    let bound = |b: &Option<(crate::number::Decimal, bool)>| {
        b.as_ref()
            .map(|(d, inclusive)| (Box::<[u8]>::from(d.key()), *inclusive))
    };
    (bound(&range.low), bound(&range.high), target)
}

fn cidr_bounds(range: &IpRange, target: u32) -> (Bound, Bound, u32) {
    let mut low = Vec::new();
    let mut high = Vec::new();
    ip_key(range.v6, range.low, &mut low);
    ip_key(range.v6, range.high, &mut high);
    (Some((low.into(), true)), Some((high.into(), true)), target)
}

/// The merged tests of one transition.
#[derive(Clone, Debug, Default)]
pub(crate) struct ValueIndex {
    strings: KeyMap,
    numbers: KeyMap,
    /// Tells most numbers that they equal none of `numbers`.
    numbers_screen: NumberScreen,
    nulls: Vec<u32>,
    trues: Vec<u32>,
    falses: Vec<u32>,
    any_leaf: Vec<u32>,
    prefixes: ByteTrie,
    prefixes_ci: ByteTrie,
    suffixes: ByteTrie,
    suffixes_ci: ByteTrie,
    /// ASCII `equals-ignore-case` patterns, lower-cased (the tries above
    /// hold the ASCII prefix and suffix ones the same way).
    ignore_case: KeyMap,
    /// Ignore-case patterns with other characters.
    unicode_case: Option<Box<UnicodeCaseIndex>>,
    wildcards: WildcardIndex,
    numeric: IntervalIndex,
    cidr: IntervalIndex,
    needs_fold: bool,
    has_string_tests: bool,
}

impl ValueIndex {
    /// Appends the targets of every test `leaf` passes (possibly repeated).
    #[inline]
    pub(crate) fn lookup(&self, leaf: Leaf<'_>, buffers: &mut LookupBuffers, out: &mut Vec<u32>) {
        append(out, &self.any_leaf);
        match leaf.kind {
            Kind::Null => append(out, &self.nulls),
            Kind::True => append(out, &self.trues),
            Kind::False => append(out, &self.falses),
            Kind::Number => self.lookup_number(leaf, buffers, out),
            Kind::String => {
                if self.has_string_tests {
                    self.lookup_string(leaf.text, buffers, out);
                }
            }
        }
    }

    /// Numbers: placed by their approximation where the screens allow,
    /// otherwise by their exact key, built from the lexeme here.
    #[inline]
    fn lookup_number(&self, leaf: Leaf<'_>, buffers: &mut LookupBuffers, out: &mut Vec<u32>) {
        let exact_needed =
            !self.numbers.is_empty() && self.numbers_screen.place(leaf.approx).is_none();
        let ranges_need_key =
            !self.numeric.is_empty() && !self.numeric.query_approx(leaf.approx, out);
        if exact_needed || ranges_need_key {
            self.lookup_number_key(leaf.text, exact_needed, ranges_need_key, buffers, out);
        }
    }

    #[cold]
    #[inline(never)]
    fn lookup_number_key(
        &self,
        lexeme: &[u8],
        exact_needed: bool,
        ranges_need_key: bool,
        buffers: &mut LookupBuffers,
        out: &mut Vec<u32>,
    ) {
        let key = &mut buffers.number_key;
        if !number::encode(lexeme, key) {
            return;
        }
        if exact_needed && let Some(t) = self.numbers.get(key.as_slice()) {
            append(out, t);
        }
        if ranges_need_key {
            self.numeric.query(key, out);
        }
    }

    fn lookup_string(&self, value: &[u8], buffers: &mut LookupBuffers, out: &mut Vec<u32>) {
        if let Some(t) = self.strings.get(value) {
            append(out, t);
        }
        // Most transitions have few kinds of test: empty tries cost a check.
        if !self.prefixes.is_empty() {
            self.prefixes.collect(value.iter().copied(), out);
        }
        if !self.suffixes.is_empty() {
            self.suffixes.collect(value.iter().rev().copied(), out);
        }
        if self.needs_fold {
            text::ascii_lower_into(value, &mut buffers.folded);
            let folded = &buffers.folded;
            if let Some(t) = self.ignore_case.get(folded.as_slice()) {
                append(out, t);
            }
            if !self.prefixes_ci.is_empty() {
                self.prefixes_ci.collect(folded.iter().copied(), out);
            }
            if !self.suffixes_ci.is_empty() {
                self.suffixes_ci.collect(folded.iter().rev().copied(), out);
            }
        }
        if let Some(unicode_case) = &self.unicode_case {
            unicode_case.lookup(value, buffers, out);
        }
        if !self.wildcards.is_empty() {
            self.wildcards.lookup(value, &mut buffers.candidates, out);
        }
        if !self.cidr.is_empty()
            && let Some((v6, address)) = cidr::parse_address(value)
        {
            ip_key(v6, address, &mut buffers.ip_key);
            let LookupBuffers { ip_key, .. } = buffers;
            self.cidr.query(ip_key, out);
        }
    }

    /// Approximate heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        key_map_usage(&self.strings)
            + key_map_usage(&self.numbers)
            + key_map_usage(&self.ignore_case)
            + self.prefixes.memory_usage()
            + self.prefixes_ci.memory_usage()
            + self.suffixes.memory_usage()
            + self.suffixes_ci.memory_usage()
            + self.unicode_case.as_ref().map_or(0, |u| u.memory_usage())
            + self.wildcards.memory_usage()
            + self.numeric.memory_usage()
            + self.cidr.memory_usage()
            + (self.nulls.len() + self.trues.len() + self.falses.len() + self.any_leaf.len()) * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes()).unwrap()
    }

    fn range(low: Option<(&str, bool)>, high: Option<(&str, bool)>) -> NumericRange {
        NumericRange {
            low: low.map(|(s, i)| (n(s), i)),
            high: high.map(|(s, i)| (n(s), i)),
        }
    }

    fn hits(index: &ValueIndex, number: &str) -> Vec<u32> {
        let (parts, _) = number::split_prefix::<true>(number.as_bytes()).unwrap();
        let mut out = Vec::new();
        let leaf = Leaf {
            kind: Kind::Number,
            text: number.as_bytes(),
            approx: number::approximate(&parts),
        };
        index.lookup(leaf, &mut LookupBuffers::default(), &mut out);
        out.sort();
        out.dedup();
        out
    }

    /// Builds an index of `ranges` (targets 0..) and exact `numbers`
    /// (targets after them), and checks every probe against direct
    /// comparison of exact decimals, with the screens and without them.
    fn check_numbers(ranges: &[NumericRange], numbers: &[Decimal], probes: &[String]) {
        let mut builder = ValueIndexBuilder::default();
        for (i, r) in ranges.iter().enumerate() {
            builder.add(&Op::Numeric(r.clone()), i as u32);
        }
        for (i, d) in numbers.iter().enumerate() {
            builder.add(&Op::Number(d.clone()), (ranges.len() + i) as u32);
        }
        let screened = builder.finish();
        let mut unscreened = screened.clone();
        unscreened.numeric.screen.usable = false;
        unscreened.numbers_screen.usable = false;
        for probe in probes {
            let value = n(probe);
            let expected: Vec<u32> = ranges
                .iter()
                .map(|r| r.contains(&value))
                .chain(numbers.iter().map(|d| *d == value))
                .enumerate()
                .filter(|(_, hit)| *hit)
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(hits(&screened, probe), expected, "{probe}");
            assert_eq!(hits(&unscreened, probe), expected, "{probe}");
        }
    }

    #[test]
    fn screens_place_numbers_beside_close_points() {
        // Points and probes that share their double, or sit one unit of
        // the last place apart.
        let points = [
            "1",
            "1.0000000000000000001",
            "-122.42916360922355",
            "-122.429163609223551",
            "0.30000000000000004",
            "9007199254740993",
            "0",
            "1e-300",
        ];
        let ranges: Vec<NumericRange> = points
            .windows(2)
            .map(|w| {
                let (a, b) = if n(w[0]) <= n(w[1]) {
                    (w[0], w[1])
                } else {
                    (w[1], w[0])
                };
                range(Some((a, false)), Some((b, true)))
            })
            .collect();
        let numbers: Vec<Decimal> = points.iter().map(|p| n(p)).collect();
        let probes: Vec<String> = [
            "1",
            "1.0",
            "0.99999999999999999999",
            "1.0000000000000000001",
            "1.0000000000000000002",
            "1.000000000000000001",
            "-122.42916360922355",
            "-122.4291636092235500",
            "-122.429163609223549",
            "-122.429163609223552",
            "0.3",
            "0.30000000000000004",
            "0.30000000000000003",
            "9007199254740992",
            "9007199254740993",
            "9007199254740994",
            "0",
            "-0",
            "1e-300",
            "1e-22",
            "-1e22",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        check_numbers(&ranges, &numbers, &probes);
        // Without the 1e-300 point both screens apply.
        check_numbers(
            &ranges[..ranges.len() - 1],
            &numbers[..numbers.len() - 1],
            &probes,
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        /// Points and probes drawn from a few digit strings with their last
        /// digits varied, so that many share a double or neighbour one.
        #[test]
        fn screens_agree_with_exact_comparison(
            base in "[1-9][0-9]{14,18}",
            point_tails in proptest::collection::vec((0u32..1000, 0usize..4, proptest::bool::ANY), 1..8),
            probe_tails in proptest::collection::vec((0u32..1000, 0usize..4, proptest::bool::ANY), 1..40),
            inclusive in proptest::collection::vec(proptest::bool::ANY, 16),
        ) {
            let make = |(tail, scale, negative): (u32, usize, bool)| {
                let digits = format!("{}{tail:03}", &base[..base.len() - 3]);
                let cut = 1 + scale * 3;
                let sign = if negative { "-" } else { "" };
                format!("{sign}{}.{}", &digits[..cut], &digits[cut..])
            };
            let mut points: Vec<String> = point_tails.into_iter().map(make).collect();
            points.sort_by_key(|p| n(p));
            let ranges: Vec<NumericRange> = points
                .windows(2)
                .enumerate()
                .map(|(i, w)| range(Some((&w[0], inclusive[i % 16])), Some((&w[1], inclusive[(i + 1) % 16]))))
                .chain(points.first().map(|p| range(None, Some((p, inclusive[7])))))
                .collect();
            let numbers: Vec<Decimal> = points.iter().map(|p| n(p)).collect();
            let probes: Vec<String> = probe_tails.into_iter().map(make).chain(points.iter().cloned()).collect();
            check_numbers(&ranges, &numbers, &probes);
        }
    }

    #[test]
    fn wildcard_index_agrees_with_direct_matching() {
        // Leading, trailing and inner parts, shared parts, a star alone,
        // no star, and escapes.
        let patterns = [
            "143*",
            "2*0*1*7",
            "*218",
            "3*5*2",
            "VA*IL",
            "*",
            "exact",
            "*a*",
            "*a*b*",
            "a*a",
            "*ab*ab*",
            "x\\*y*",
            "*.png",
            "img-*.png",
            "*-*-*",
            "*2*",
        ];
        let wildcards: Vec<(Wildcard, u32)> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (Wildcard::parse(p).unwrap(), i as u32))
            .collect();
        let index = WildcardIndex::build(wildcards.clone());
        let values = [
            "",
            "1430022",
            "2607117",
            "2000107",
            "0003218",
            "3745012",
            "VACSTWIL",
            "VAIL",
            "VIL",
            "exact",
            "exactly",
            "a",
            "aa",
            "aba",
            "abab",
            "ababab",
            "x*y",
            "x*yz",
            "xy",
            "img-1.png",
            "img-.png",
            "a.png",
            ".png",
            "a-b-c",
            "--",
            "---",
            "2",
            "22",
        ];
        let mut candidates = Vec::new();
        for value in values {
            let mut got = Vec::new();
            index.lookup(value.as_bytes(), &mut candidates, &mut got);
            got.sort_unstable();
            let before = got.len();
            got.dedup();
            assert_eq!(got.len(), before, "{value}: a wildcard reported twice");
            let expected: Vec<u32> = wildcards
                .iter()
                .filter(|(w, _)| w.matches(value.as_bytes()))
                .map(|&(_, t)| t)
                .collect();
            assert_eq!(got, expected, "{value}");
        }
    }

    #[test]
    fn interval_index_agrees_with_direct_comparison() {
        let ranges = [
            range(Some(("0", false)), Some(("5", true))),
            range(None, Some(("10", false))),
            range(Some(("5", true)), None),
            range(Some(("-3.5", true)), Some(("-3.5", true))),
            range(Some(("100", false)), Some(("200", false))),
        ];
        let mut builder = ValueIndexBuilder::default();
        for (i, r) in ranges.iter().enumerate() {
            builder.add(&Op::Numeric(r.clone()), i as u32);
        }
        let flat = builder.finish();
        assert!(!flat.numeric.slot_starts.is_empty(), "small: laid out flat");
        // The same answers from the tree walk that large indexes use.
        let mut walked = flat.clone();
        walked.numeric.slot_starts.clear();
        walked.numeric.slot_targets.clear();
        for probe in [
            "-10", "-3.5", "-3.49", "0", "0.0001", "5", "5.5", "10", "100", "150", "200", "1e300",
        ] {
            let expected: Vec<u32> = ranges
                .iter()
                .enumerate()
                .filter(|(_, r)| r.contains(&n(probe)))
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(hits(&flat, probe), expected, "{probe}");
            assert_eq!(hits(&walked, probe), expected, "{probe}");
        }
    }
}
