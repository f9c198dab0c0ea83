//! The wildcards of one transition, indexed by a literal part of each.

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use super::append;
use super::byte_trie::{ByteTrie, ByteTrieBuilder};
use crate::pattern::wildcard::{PartPlace, Wildcard};

/// Wildcards indexed by one literal part each: a value can match only the
/// wildcards whose part it has in that part's place. Each wildcard is filed
/// under the part that the fewest wildcards of the set share (so that a
/// common part such as `.png` does not make every value a candidate for
/// every wildcard), preferring a leading or trailing part, then the longest.
/// Leading parts are found by walking a byte trie over the value's start,
/// trailing parts by one over its end, inner parts by one Aho-Corasick pass
/// over the value. Wildcards with no literal (`*`) are checked always.
#[derive(Clone, Debug, Default)]
pub(super) struct WildcardIndex {
    wildcards: Vec<(Wildcard, u32)>,
    unanchored: Vec<u32>,
    leading: ByteTrie,
    trailing: ByteTrie,
    inner: Option<AhoCorasick>,
    by_inner: Vec<Vec<u32>>,
}

impl WildcardIndex {
    pub(super) fn build(wildcards: Vec<(Wildcard, u32)>) -> WildcardIndex {
        let mut inner_ids: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut inner: Vec<Vec<u8>> = Vec::new();
        let mut by_inner: Vec<Vec<u32>> = Vec::new();
        let mut leading = ByteTrieBuilder::default();
        let mut trailing = ByteTrieBuilder::default();
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
            leading: leading.finish(),
            trailing: trailing.finish(),
            inner,
            by_inner,
        }
    }

    pub(super) fn lookup(&self, value: &[u8], candidates: &mut Vec<u32>, out: &mut Vec<u32>) {
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

    pub(super) fn memory_usage(&self) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
