//! Rule identifiers and the caller-owned set of the rules an event matched.

/// Identifies a rule within a [`Matcher`](crate::Matcher). Ids are dense,
/// assigned in insertion order, and stay valid when other rules are removed.
///
/// ```
/// let matcher = sluice_pattern::Matcher::builder().build([r#"{"a": ["b"]}"#]).unwrap();
/// let id = sluice_pattern::RuleId::new(0);
/// assert_eq!(matcher.rule_name(id), None);
/// assert_eq!(id.index(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(u32);

impl RuleId {
    /// The id with this index.
    ///
    /// ```
    /// assert_eq!(sluice_pattern::RuleId::new(7).index(), 7);
    /// ```
    pub fn new(index: u32) -> RuleId {
        RuleId(index)
    }

    /// The index of this id (its position in insertion order).
    ///
    /// ```
    /// assert_eq!(sluice_pattern::RuleId::new(3).index(), 3);
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) fn raw(self) -> u32 {
        self.0
    }
}

/// The rules an event matched: a bitset with a summary of its non-zero
/// words, plus the list of members, so that clearing costs the number of
/// matches and walking in id order costs the matches plus one bit per 4,096
/// rules, never a sort or an allocation.
///
/// ```
/// use sluice_pattern::{Matcher, MatchSet};
/// let matcher = Matcher::builder().build([r#"{"a": ["x"]}"#, r#"{"a": [{"prefix": ""}]}"#]).unwrap();
/// let mut cache = matcher.create_cache();
/// let mut hits = MatchSet::new(matcher.rule_count());
/// matcher.matches_with(&mut cache, br#"{"a": "x"}"#, &mut hits).unwrap();
/// assert_eq!(hits.len(), 2);
/// let ids: Vec<usize> = hits.iter().map(|id| id.index()).collect();
/// assert_eq!(ids, [0, 1]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct MatchSet {
    bits: Vec<u64>,
    /// Bit `w` is set when `bits[w]` is not zero.
    summary: Vec<u64>,
    members: Vec<u32>,
}

impl MatchSet {
    /// An empty set sized for `capacity` rules (it grows if needed).
    ///
    /// ```
    /// let hits = sluice_pattern::MatchSet::new(100);
    /// assert!(hits.is_empty());
    /// ```
    pub fn new(capacity: usize) -> MatchSet {
        let words = capacity.div_ceil(64);
        MatchSet {
            bits: vec![0; words],
            summary: vec![0; words.div_ceil(64)],
            members: Vec::with_capacity(capacity.min(1024)),
        }
    }

    #[inline]
    pub(crate) fn insert(&mut self, id: u32) {
        let word = (id / 64) as usize;
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
            self.summary.resize((word + 1).div_ceil(64), 0);
        }
        let bit = 1u64 << (id % 64);
        let before = self.bits[word];
        if before & bit == 0 {
            if before == 0 {
                self.summary[word / 64] |= 1u64 << (word % 64);
            }
            self.bits[word] = before | bit;
            self.members.push(id);
        }
    }

    /// Whether `id` is in the set.
    ///
    /// ```
    /// use sluice_pattern::{Matcher, MatchSet, RuleId};
    /// let m = Matcher::builder().build([r#"{"a": ["1"]}"#, r#"{"a": ["2"]}"#]).unwrap();
    /// let mut hits = MatchSet::new(2);
    /// m.matches_with(&mut m.create_cache(), br#"{"a": "2"}"#, &mut hits).unwrap();
    /// assert!(hits.contains(RuleId::new(1)) && !hits.contains(RuleId::new(0)));
    /// ```
    pub fn contains(&self, id: RuleId) -> bool {
        let word = id.index() / 64;
        self.bits
            .get(word)
            .is_some_and(|w| w & (1u64 << (id.raw() % 64)) != 0)
    }

    /// Number of rules in the set.
    ///
    /// ```
    /// assert_eq!(sluice_pattern::MatchSet::new(8).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no rule matched.
    ///
    /// ```
    /// assert!(sluice_pattern::MatchSet::new(8).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Removes every member.
    ///
    /// ```
    /// use sluice_pattern::{Matcher, MatchSet};
    /// let m = Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// let mut hits = MatchSet::new(1);
    /// m.matches_with(&mut m.create_cache(), br#"{"a": "1"}"#, &mut hits).unwrap();
    /// hits.clear();
    /// assert!(hits.is_empty());
    /// ```
    pub fn clear(&mut self) {
        for &id in &self.members {
            let word = (id / 64) as usize;
            self.bits[word] = 0;
            self.summary[word / 64] = 0;
        }
        self.members.clear();
    }

    /// The members in ascending id order.
    ///
    /// ```
    /// use sluice_pattern::{Matcher, MatchSet};
    /// let m = Matcher::builder().build([r#"{"a": [{"prefix": ""}]}"#, r#"{"a": ["1"]}"#]).unwrap();
    /// let mut hits = MatchSet::new(2);
    /// m.matches_with(&mut m.create_cache(), br#"{"a": "1"}"#, &mut hits).unwrap();
    /// assert_eq!(hits.iter().map(|id| id.index()).collect::<Vec<_>>(), [0, 1]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = RuleId> + '_ {
        let words = set_bits(&self.summary);
        words.flat_map(|word| {
            set_bits(std::slice::from_ref(&self.bits[word]))
                .map(move |bit| RuleId((word * 64 + bit) as u32))
        })
    }

    /// The members in the order they were found (no sorting, no allocation).
    ///
    /// ```
    /// use sluice_pattern::{Matcher, MatchSet};
    /// let m = Matcher::builder().build([r#"{"a": [{"prefix": ""}]}"#, r#"{"a": ["1"]}"#]).unwrap();
    /// let mut hits = MatchSet::new(2);
    /// m.matches_with(&mut m.create_cache(), br#"{"a": "1"}"#, &mut hits).unwrap();
    /// let mut ids: Vec<usize> = hits.iter_unordered().map(|id| id.index()).collect();
    /// ids.sort();
    /// assert_eq!(ids, [0, 1]);
    /// ```
    pub fn iter_unordered(&self) -> impl Iterator<Item = RuleId> + '_ {
        self.members.iter().map(|&id| RuleId(id))
    }
}

/// The positions of the set bits of `words`, in ascending order.
fn set_bits(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(at, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            Some(at * 64 + bit)
        })
    })
}

#[cfg(test)]
mod match_set_tests {
    use super::MatchSet;

    /// Walking in id order agrees with sorting the members, across words
    /// and summary words, after growth and after clearing.
    #[test]
    fn iter_walks_members_in_id_order() {
        let mut set = MatchSet::new(10);
        for round in 0..3u32 {
            let ids: Vec<u32> = (0..200u32)
                .map(|i| (i * 7919 + round * 104_729) % 20_000)
                .collect();
            for &id in &ids {
                set.insert(id);
                set.insert(id);
            }
            let mut expected = ids.clone();
            expected.sort_unstable();
            expected.dedup();
            let walked: Vec<u32> = set.iter().map(|id| id.raw()).collect();
            assert_eq!(walked, expected);
            assert_eq!(set.len(), expected.len());
            set.clear();
            assert_eq!(set.iter().count(), 0);
        }
    }
}
