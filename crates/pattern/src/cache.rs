//! The caller-owned, per-thread scratch memory of matching.

use crate::automaton::Work;

/// Per-thread scratch memory for matching. Create one per thread with
/// [`Matcher::create_cache`](crate::Matcher::create_cache) and reuse it: after
/// the first few events, matching allocates nothing.
///
/// ```
/// let matcher = sluice_pattern::Matcher::builder().build([r#"{"a": ["b"]}"#]).unwrap();
/// let mut cache = matcher.create_cache();
/// let mut hits = sluice_pattern::MatchSet::new(1);
/// for _ in 0..3 {
///     hits.clear();
///     matcher.matches_with(&mut cache, br#"{"a": "b"}"#, &mut hits).unwrap();
///     assert_eq!(hits.len(), 1);
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Cache {
    pub(crate) work: Work,
}
