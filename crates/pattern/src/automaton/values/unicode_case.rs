//! Ignore-case tests whose patterns are not all ASCII.

use super::byte_trie::{ByteTrie, ByteTrieBuilder};
use super::key_map::{KeyMap, key_map_usage, push};
use super::{LookupBuffers, append};
use crate::text::{self, CasePattern};

/// Which part of a value an ignore-case pattern must accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CaseTest {
    Equals,
    Prefix,
    Suffix,
}

/// Ignore-case patterns that are not all ASCII, filed under their case key
/// ([`text::key_into`]): a value's key finds every pattern that can accept
/// it, and each is then checked against the value itself.
#[derive(Clone, Debug)]
pub(super) struct UnicodeCaseIndex {
    tests: Vec<(CaseTest, CasePattern, u32)>,
    equals: KeyMap,
    prefixes: ByteTrie,
    suffixes: ByteTrie,
}

/// Collects the ignore-case tests of one transition.
#[derive(Default)]
pub(super) struct UnicodeCaseIndexBuilder {
    tests: Vec<(CaseTest, CasePattern, u32)>,
    equals: KeyMap,
    prefixes: ByteTrieBuilder,
    suffixes: ByteTrieBuilder,
}

impl UnicodeCaseIndexBuilder {
    pub(super) fn add(&mut self, test: CaseTest, pattern: &str, target: u32) {
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

    /// The index, or `None` when no test was added.
    pub(super) fn finish(self) -> Option<UnicodeCaseIndex> {
        (!self.tests.is_empty()).then(|| UnicodeCaseIndex {
            tests: self.tests,
            equals: self.equals,
            prefixes: self.prefixes.finish(),
            suffixes: self.suffixes.finish(),
        })
    }
}

impl UnicodeCaseIndex {
    pub(super) fn lookup(&self, value: &[u8], buffers: &mut LookupBuffers, out: &mut Vec<u32>) {
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

    pub(super) fn memory_usage(&self) -> usize {
        self.tests
            .iter()
            .map(|(_, p, _)| 40 + p.memory_usage())
            .sum::<usize>()
            + key_map_usage(&self.equals)
            + self.prefixes.memory_usage()
            + self.suffixes.memory_usage()
    }
}
