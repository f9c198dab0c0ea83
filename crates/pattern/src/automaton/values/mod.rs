//! Value indexes: every test on one field of one state, merged so that a value
//! is looked up once whatever the number of tests (hash maps for exact and
//! ignore-case values, byte tries for prefixes and suffixes, an interval index
//! for numeric and CIDR ranges, and an Aho-Corasick automaton over the
//! longest literal of each wildcard).
//!
//! A transition usually carries one or two kinds of test, and a large rule
//! set has hundreds of thousands of transitions, so each family of test
//! other than exact strings is boxed and present only when some rule uses
//! it: an index with one kind of test is about a hundred bytes.

mod byte_trie;
mod intervals;
mod key_map;
mod number_screen;
mod unicode_case;
mod wildcards;

use crate::number;
use crate::pattern::cidr::{self, IpRange};
use crate::pattern::wildcard::Wildcard;
use crate::pattern::{Exclusion, NumericRange, Op};
use crate::scan::Kind;
use crate::text;
use byte_trie::{ByteTrie, ByteTrieBuilder};
use intervals::{Bound, IntervalIndex, ip_key};
use key_map::{KeyMap, key_map_usage, push};
use number_screen::NumberScreen;
use unicode_case::{CaseTest, UnicodeCaseIndex, UnicodeCaseIndexBuilder};
use wildcards::WildcardIndex;

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

/// Collects the tests of one transition before freezing them.
#[derive(Default)]
pub(crate) struct ValueIndexBuilder {
    strings: KeyMap,
    any_leaf: Vec<u32>,
    nulls: Vec<u32>,
    trues: Vec<u32>,
    falses: Vec<u32>,
    numbers: KeyMap,
    prefixes: ByteTrieBuilder,
    suffixes: ByteTrieBuilder,
    ignore_case: KeyMap,
    prefixes_ci: ByteTrieBuilder,
    suffixes_ci: ByteTrieBuilder,
    unicode_case: UnicodeCaseIndexBuilder,
    wildcards: Vec<(Wildcard, u32)>,
    ranges: Vec<(Bound, Bound, u32)>,
    cidrs: Vec<(Bound, Bound, u32)>,
}

/// An ASCII pattern's bytes, lower-cased.
fn lower_ascii(pattern: &str) -> impl DoubleEndedIterator<Item = u8> + '_ {
    pattern.bytes().map(|b| b.to_ascii_lowercase())
}

impl ValueIndexBuilder {
    /// Adds one positive test leading to `target`. `Exists` and
    /// `AnythingBut` are handled by the transition, not here.
    pub(crate) fn add(&mut self, op: &Op, target: u32) {
        match op {
            Op::Exists(true) => self.any_leaf.push(target),
            Op::Exists(false) | Op::AnythingBut(_) => {}
            Op::Null => self.nulls.push(target),
            Op::Bool(true) => self.trues.push(target),
            Op::Bool(false) => self.falses.push(target),
            Op::String(s) => push(&mut self.strings, s.as_bytes(), target),
            Op::Number(d) => push(&mut self.numbers, d.key(), target),
            Op::Prefix(p) => self.prefixes.insert(p.bytes(), target),
            Op::Suffix(s) => self.suffixes.insert(s.bytes().rev(), target),
            Op::PrefixIgnoreCase(p) if p.is_ascii() => {
                self.prefixes_ci.insert(lower_ascii(p), target);
            }
            Op::SuffixIgnoreCase(s) if s.is_ascii() => {
                self.suffixes_ci.insert(lower_ascii(s).rev(), target);
            }
            Op::EqualsIgnoreCase(s) if s.is_ascii() => {
                push(
                    &mut self.ignore_case,
                    &s.to_ascii_lowercase().into_bytes(),
                    target,
                );
            }
            Op::PrefixIgnoreCase(s) => self.unicode_case.add(CaseTest::Prefix, s, target),
            Op::SuffixIgnoreCase(s) => self.unicode_case.add(CaseTest::Suffix, s, target),
            Op::EqualsIgnoreCase(s) => self.unicode_case.add(CaseTest::Equals, s, target),
            Op::Wildcard(w, _) => self.wildcards.push((w.clone(), target)),
            Op::Numeric(range) => self.ranges.push(numeric_bounds(range, target)),
            Op::Cidr(range, _) => self.cidrs.push(cidr_bounds(range, target)),
        }
    }

    /// Adds the values an `anything-but` excludes, each leading to `target`.
    pub(crate) fn add_exclusion(&mut self, exclusion: &Exclusion, target: u32) {
        match exclusion {
            Exclusion::Strings(v) => v
                .iter()
                .for_each(|s| push(&mut self.strings, s.as_bytes(), target)),
            Exclusion::Numbers(v) => v
                .iter()
                .for_each(|d| push(&mut self.numbers, d.key(), target)),
            Exclusion::IgnoreCase(v) => {
                v.iter()
                    .for_each(|s| self.add(&Op::EqualsIgnoreCase(s.clone()), target));
            }
            Exclusion::Prefixes(v) => v
                .iter()
                .for_each(|s| self.prefixes.insert(s.bytes(), target)),
            Exclusion::Suffixes(v) => v
                .iter()
                .for_each(|s| self.suffixes.insert(s.bytes().rev(), target)),
            Exclusion::Wildcards(v) => v
                .iter()
                .for_each(|(w, _)| self.wildcards.push((w.clone(), target))),
        }
    }

    pub(crate) fn finish(self) -> ValueIndex {
        let literals = (!self.nulls.is_empty()
            || !self.trues.is_empty()
            || !self.falses.is_empty())
        .then(|| {
            Box::new(Literals {
                nulls: self.nulls,
                trues: self.trues,
                falses: self.falses,
            })
        });
        let numbers = (!self.numbers.is_empty()).then(|| {
            let mut keys: Vec<&[u8]> = self.numbers.keys().map(|k| k.as_ref()).collect();
            keys.sort_unstable();
            let screen = NumberScreen::build(keys.into_iter());
            Box::new(ExactNumbers {
                keys: self.numbers,
                screen,
            })
        });
        let numeric = IntervalIndex::build(&self.ranges).map(|mut index| {
            let screen = NumberScreen::build((0..index.point_count()).map(|i| index.point(i)));
            index.screen = screen;
            Box::new(index)
        });
        let affixes = (!self.prefixes.is_empty() || !self.suffixes.is_empty()).then(|| {
            Box::new(Affixes {
                prefixes: self.prefixes.finish(),
                suffixes: self.suffixes.finish(),
            })
        });
        let folded = (!self.ignore_case.is_empty()
            || !self.prefixes_ci.is_empty()
            || !self.suffixes_ci.is_empty())
        .then(|| {
            Box::new(FoldedTests {
                equals: self.ignore_case,
                prefixes: self.prefixes_ci.finish(),
                suffixes: self.suffixes_ci.finish(),
            })
        });
        let unicode_case = self.unicode_case.finish().map(Box::new);
        let wildcards =
            (!self.wildcards.is_empty()).then(|| Box::new(WildcardIndex::build(self.wildcards)));
        let cidr = IntervalIndex::build(&self.cidrs).map(Box::new);
        let has_string_tests = !self.strings.is_empty()
            || affixes.is_some()
            || folded.is_some()
            || unicode_case.is_some()
            || wildcards.is_some()
            || cidr.is_some();
        let mut any_leaf = self.any_leaf;
        any_leaf.shrink_to_fit();
        ValueIndex {
            strings: self.strings,
            any_leaf,
            literals,
            numbers,
            numeric,
            affixes,
            folded,
            unicode_case,
            wildcards,
            cidr,
            has_string_tests,
        }
    }
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

/// The merged tests of one transition. Exact strings and `exists: true`
/// are inline; each other family is boxed, and present only when a test of
/// it was added.
#[derive(Clone, Debug, Default)]
pub(crate) struct ValueIndex {
    strings: KeyMap,
    any_leaf: Vec<u32>,
    literals: Option<Box<Literals>>,
    numbers: Option<Box<ExactNumbers>>,
    numeric: Option<Box<IntervalIndex>>,
    affixes: Option<Box<Affixes>>,
    /// ASCII ignore-case tests, on the value lower-cased.
    folded: Option<Box<FoldedTests>>,
    /// Ignore-case tests whose patterns have other characters.
    unicode_case: Option<Box<UnicodeCaseIndex>>,
    wildcards: Option<Box<WildcardIndex>>,
    cidr: Option<Box<IntervalIndex>>,
    has_string_tests: bool,
}

/// `null`, `true` and `false` values → targets.
#[derive(Clone, Debug)]
struct Literals {
    nulls: Vec<u32>,
    trues: Vec<u32>,
    falses: Vec<u32>,
}

/// Exact numbers by their decimal key, with the screen that tells most
/// numbers that they equal none of them.
#[derive(Clone, Debug)]
struct ExactNumbers {
    keys: KeyMap,
    screen: NumberScreen,
}

/// Prefixes, and suffixes (reversed).
#[derive(Clone, Debug)]
struct Affixes {
    prefixes: ByteTrie,
    suffixes: ByteTrie,
}

/// ASCII `equals-ignore-case`, and the ASCII ignore-case prefixes and
/// suffixes, all lower-cased.
#[derive(Clone, Debug)]
struct FoldedTests {
    equals: KeyMap,
    prefixes: ByteTrie,
    suffixes: ByteTrie,
}

impl ValueIndex {
    /// Appends the targets of every test `leaf` passes (possibly repeated).
    #[inline]
    pub(crate) fn lookup(&self, leaf: Leaf<'_>, buffers: &mut LookupBuffers, out: &mut Vec<u32>) {
        append(out, &self.any_leaf);
        match leaf.kind {
            Kind::Null => {
                if let Some(literals) = &self.literals {
                    append(out, &literals.nulls);
                }
            }
            Kind::True => {
                if let Some(literals) = &self.literals {
                    append(out, &literals.trues);
                }
            }
            Kind::False => {
                if let Some(literals) = &self.literals {
                    append(out, &literals.falses);
                }
            }
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
        // Exact numbers the screen cannot rule out, and ranges the screen
        // cannot answer (when it can, `query_approx` has appended them).
        let exact = self
            .numbers
            .as_deref()
            .filter(|numbers| numbers.screen.place(leaf.approx).is_none());
        let ranges = match self.numeric.as_deref() {
            Some(numeric) if !numeric.query_approx(leaf.approx, out) => Some(numeric),
            _ => None,
        };
        if exact.is_some() || ranges.is_some() {
            lookup_number_key(leaf.text, exact, ranges, buffers, out);
        }
    }

    fn lookup_string(&self, value: &[u8], buffers: &mut LookupBuffers, out: &mut Vec<u32>) {
        if let Some(t) = self.strings.get(value) {
            append(out, t);
        }
        // Most transitions have few kinds of test: an absent family costs
        // a check.
        if let Some(affixes) = &self.affixes {
            affixes.prefixes.collect(value.iter().copied(), out);
            affixes.suffixes.collect(value.iter().rev().copied(), out);
        }
        if let Some(folded_tests) = &self.folded {
            text::ascii_lower_into(value, &mut buffers.folded);
            let folded = &buffers.folded;
            if let Some(t) = folded_tests.equals.get(folded.as_slice()) {
                append(out, t);
            }
            folded_tests.prefixes.collect(folded.iter().copied(), out);
            folded_tests
                .suffixes
                .collect(folded.iter().rev().copied(), out);
        }
        if let Some(unicode_case) = &self.unicode_case {
            unicode_case.lookup(value, buffers, out);
        }
        if let Some(wildcards) = &self.wildcards {
            wildcards.lookup(value, &mut buffers.candidates, out);
        }
        if let Some(cidr) = &self.cidr
            && let Some((v6, address)) = cidr::parse_address(value)
        {
            ip_key(v6, address, &mut buffers.ip_key);
            cidr.query(&buffers.ip_key, out);
        }
    }

    /// Approximate heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        fn boxed<T>(part: &Option<Box<T>>, usage: impl Fn(&T) -> usize) -> usize {
            part.as_deref()
                .map_or(0, |p| std::mem::size_of::<T>() + usage(p))
        }
        key_map_usage(&self.strings)
            + self.any_leaf.len() * 4
            + boxed(&self.literals, |l| {
                (l.nulls.len() + l.trues.len() + l.falses.len()) * 4
            })
            + boxed(&self.numbers, |n| {
                key_map_usage(&n.keys) + n.screen.memory_usage()
            })
            + boxed(&self.numeric, IntervalIndex::memory_usage)
            + boxed(&self.affixes, |a| {
                a.prefixes.memory_usage() + a.suffixes.memory_usage()
            })
            + boxed(&self.folded, |f| {
                key_map_usage(&f.equals) + f.prefixes.memory_usage() + f.suffixes.memory_usage()
            })
            + boxed(&self.unicode_case, UnicodeCaseIndex::memory_usage)
            + boxed(&self.wildcards, WildcardIndex::memory_usage)
            + boxed(&self.cidr, IntervalIndex::memory_usage)
    }
}

/// Numbers the screens could not place: looked up by their exact key.
#[cold]
#[inline(never)]
fn lookup_number_key(
    lexeme: &[u8],
    exact: Option<&ExactNumbers>,
    ranges: Option<&IntervalIndex>,
    buffers: &mut LookupBuffers,
    out: &mut Vec<u32>,
) {
    let key = &mut buffers.number_key;
    if !number::encode(lexeme, key) {
        return;
    }
    if let Some(t) = exact.and_then(|numbers| numbers.keys.get(key.as_slice())) {
        append(out, t);
    }
    if let Some(ranges) = ranges {
        ranges.query(key, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Decimal;

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
        if let Some(numeric) = &mut unscreened.numeric {
            numeric.screen.usable = false;
        }
        if let Some(numbers) = &mut unscreened.numbers {
            numbers.screen.usable = false;
        }
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
        let flat_numeric = flat.numeric.as_deref().expect("numeric tests were added");
        assert!(flat_numeric.is_flat(), "small: laid out flat");
        // The same answers from the tree walk that large indexes use.
        let bounds: Vec<(Bound, Bound, u32)> = ranges
            .iter()
            .enumerate()
            .map(|(i, r)| numeric_bounds(r, i as u32))
            .collect();
        let mut tree = IntervalIndex::tree_only(&bounds).expect("ranges were given");
        assert!(!tree.is_flat());
        tree.screen = flat_numeric.screen.clone();
        let mut walked = flat.clone();
        walked.numeric = Some(Box::new(tree));
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
