//! The public front door: [`Config`], [`Builder`], [`Matcher`] and
//! [`LiveMatcher`].

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::automaton::Automaton;
use crate::cache::Cache;
use crate::error::{BuildError, EventError, PatternError};
use crate::explain::{self, Explanation};
use crate::pattern::{self, Limits, Pattern};
use crate::search::{MatchSet, RuleId};

/// How events are read.
///
/// ```
/// use sluice_pattern::{Config, ScanMode};
/// let config = Config::new().scan_mode(ScanMode::EarlyExit);
/// assert_eq!(config.get_scan_mode(), ScanMode::EarlyExit);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanMode {
    /// Check that the whole event is well-formed JSON; a later duplicate key
    /// replaces an earlier one. The default.
    Validating,
    /// Trust the event: skip unneeded subtrees without checking them and
    /// stop as soon as every path some rule names has been read (outside
    /// arrays), or as soon as a field every rule needs has been read with a
    /// value no rule accepts. Faster; what comes after the stopping point is not seen:
    /// a fault, a later duplicate key, or a later dotted spelling of a path
    /// already read (`{"detail": {…}, "detail.x": 1}`).
    EarlyExit,
}

/// Matcher settings. The defaults are AWS's.
///
/// ```
/// use sluice_pattern::Config;
/// // The "Event pattern size" service quota defaults to 2,048 characters.
/// let config = Config::new().max_pattern_len(2048);
/// assert_eq!(config.get_max_pattern_len(), 2048);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    max_pattern_len: usize,
    max_fields_per_rule: usize,
    max_or_combinations: usize,
    max_matcher_combinations: usize,
    max_event_depth: usize,
    scan_mode: ScanMode,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_pattern_len: 4096,
            max_fields_per_rule: usize::MAX,
            max_or_combinations: 1000,
            max_matcher_combinations: DEFAULT_MAX_MATCHER_COMBINATIONS,
            max_event_depth: 1000,
            scan_mode: ScanMode::Validating,
        }
    }
}

impl Config {
    /// The default configuration.
    ///
    /// ```
    /// let config = sluice_pattern::Config::new();
    /// assert_eq!(config.get_max_pattern_len(), 4096);
    /// ```
    pub fn new() -> Config {
        Config::default()
    }

    /// Longest accepted pattern, in characters. Default 4096 (the API's
    /// constraint; the adjustable PutRule quota defaults to 2048).
    ///
    /// ```
    /// let config = sluice_pattern::Config::new().max_pattern_len(16);
    /// assert!(sluice_pattern::check_with(&config, r#"{"source": ["aws.imagebuilder"]}"#).is_err());
    /// ```
    pub fn max_pattern_len(mut self, len: usize) -> Config {
        self.max_pattern_len = len;
        self
    }

    /// Most fields one rule (one `$or` combination) may test. AWS documents
    /// no such limit, so the default is unlimited: the pattern length bounds it.
    ///
    /// ```
    /// let config = sluice_pattern::Config::new().max_fields_per_rule(1);
    /// assert!(sluice_pattern::check_with(&config, r#"{"a": ["1"], "b": ["2"]}"#).is_err());
    /// ```
    pub fn max_fields_per_rule(mut self, fields: usize) -> Config {
        self.max_fields_per_rule = fields;
        self
    }

    /// Most combinations `$or` may expand to. Default 1000, as on AWS.
    ///
    /// ```
    /// let config = sluice_pattern::Config::new().max_or_combinations(1);
    /// assert!(sluice_pattern::check_with(&config, r#"{"$or": [{"a": ["1"]}, {"b": ["2"]}]}"#).is_err());
    /// ```
    pub fn max_or_combinations(mut self, combinations: usize) -> Config {
        self.max_or_combinations = combinations;
        self
    }

    /// Most combinations all the rules of one matcher may expand to, a rule
    /// without `$or` counting as one. Each combination is compiled on its
    /// own, so this bounds a matcher's memory whatever the rules file
    /// holds. Default [`DEFAULT_MAX_MATCHER_COMBINATIONS`].
    ///
    /// ```
    /// let rule = r#"{"$or": [{"a": ["1"]}, {"b": ["2"]}]}"#;
    /// let builder = sluice_pattern::Matcher::builder()
    ///     .configure(sluice_pattern::Config::new().max_matcher_combinations(3));
    /// let err = builder.build_named([("one", rule), ("two", rule)]).unwrap_err();
    /// assert_eq!(err.rule_name(), Some("two"));
    /// ```
    pub fn max_matcher_combinations(mut self, combinations: usize) -> Config {
        self.max_matcher_combinations = combinations;
        self
    }

    /// Deepest event nesting accepted. Default 1000, as PutEvents documents.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder()
    ///     .configure(sluice_pattern::Config::new().max_event_depth(2))
    ///     .build([r#"{"a": ["x"]}"#]).unwrap();
    /// assert!(m.is_match(br#"{"b": {"c": {"d": 1}}}"#).is_err());
    /// ```
    pub fn max_event_depth(mut self, depth: usize) -> Config {
        self.max_event_depth = depth;
        self
    }

    /// How events are read. Default [`ScanMode::Validating`].
    ///
    /// ```
    /// use sluice_pattern::{Config, Matcher, ScanMode};
    /// let m = Matcher::builder().configure(Config::new().scan_mode(ScanMode::EarlyExit))
    ///     .build([r#"{"source": ["s"]}"#]).unwrap();
    /// // Early exit stops reading after "source": the broken tail is never seen.
    /// assert!(m.is_match(br#"{"source": "s", "rest": [1, 2"#).unwrap());
    /// ```
    pub fn scan_mode(mut self, mode: ScanMode) -> Config {
        self.scan_mode = mode;
        self
    }

    /// The pattern length limit.
    ///
    /// ```
    /// assert_eq!(sluice_pattern::Config::new().max_pattern_len(2048).get_max_pattern_len(), 2048);
    /// ```
    pub fn get_max_pattern_len(&self) -> usize {
        self.max_pattern_len
    }

    /// The scan mode.
    ///
    /// ```
    /// use sluice_pattern::{Config, ScanMode};
    /// assert_eq!(Config::new().get_scan_mode(), ScanMode::Validating);
    /// ```
    pub fn get_scan_mode(&self) -> ScanMode {
        self.scan_mode
    }

    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_pattern_len: self.max_pattern_len,
            max_fields_per_rule: self.max_fields_per_rule,
            max_or_combinations: self.max_or_combinations,
        }
    }
}

/// The default of [`Config::max_matcher_combinations`]: 100,000 rules and
/// as many again from `$or`, a few hundred megabytes of automaton.
pub const DEFAULT_MAX_MATCHER_COMBINATIONS: usize = 200_000;

/// The error for a rule that takes a matcher past its combinations.
fn too_many_combinations(limit: usize, total: usize) -> PatternError {
    PatternError::new(pattern::Rejection::Invalid(format!(
        "the rules of one matcher may expand to at most {limit} combinations through $or (a rule without $or is one); with this rule they expand to {total}"
    )))
}

/// Checks a pattern as EventBridge does, with the default [`Config`].
///
/// ```
/// assert!(sluice_pattern::check(r#"{"detail": {"state": [{"anything-but": "init"}]}}"#).is_ok());
/// let err = sluice_pattern::check(r#"{"int": 42}"#).unwrap_err();
/// assert_eq!(err.message(), r#"Event pattern is not valid. Reason: "int" must be an object or an array"#);
/// ```
pub fn check(pattern: &str) -> Result<(), PatternError> {
    check_with(&Config::default(), pattern)
}

/// Checks a pattern with the limits of `config`.
///
/// ```
/// let config = sluice_pattern::Config::new().max_pattern_len(10);
/// assert!(sluice_pattern::check_with(&config, r#"{"source": ["aws.imagebuilder"]}"#).is_err());
/// ```
pub fn check_with(config: &Config, pattern: &str) -> Result<(), PatternError> {
    pattern::compile(pattern, &config.limits())
        .map(|_| ())
        .map_err(PatternError::new)
}

/// Builds a [`Matcher`].
///
/// ```
/// use sluice_pattern::{Config, Matcher};
/// let matcher = Matcher::builder()
///     .configure(Config::new().max_pattern_len(2048))
///     .build_named([("failed", r#"{"detail": {"state": {"status": ["FAILED"]}}}"#)])
///     .unwrap();
/// assert_eq!(matcher.rule_count(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: Config,
}

impl Builder {
    /// Uses `config` instead of the default.
    ///
    /// ```
    /// use sluice_pattern::{Config, Matcher};
    /// let m = Matcher::builder().configure(Config::new().max_pattern_len(2048)).build([r#"{"a": ["1"]}"#]).unwrap();
    /// assert_eq!(m.config().get_max_pattern_len(), 2048);
    /// ```
    pub fn configure(mut self, config: Config) -> Builder {
        self.config = config;
        self
    }

    /// A matcher with no rules yet (which cannot fail): it still checks
    /// events in validating mode, and takes rules with
    /// [`Matcher::with_rule`].
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build_empty();
    /// assert_eq!(m.rule_count(), 0);
    /// assert!(!m.is_match(br#"{"a": 1}"#).unwrap());
    /// assert!(m.is_match(b"{").is_err());
    /// ```
    pub fn build_empty(self) -> Matcher {
        Matcher::from_entries(self.config, Vec::new())
    }

    /// Builds a matcher from unnamed patterns; rule ids follow their order.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#, r#"{"b": ["2"]}"#]).unwrap();
    /// assert_eq!(m.rule_count(), 2);
    /// ```
    pub fn build<I, P>(self, patterns: I) -> Result<Matcher, BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        self.build_rules(patterns.into_iter().map(|p| (None, p.as_ref().to_string())))
    }

    /// Builds a matcher from `(name, pattern)` pairs.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build_named([("ones", r#"{"a": ["1"]}"#)]).unwrap();
    /// assert_eq!(m.rule_name(sluice_pattern::RuleId::new(0)), Some("ones"));
    /// ```
    pub fn build_named<I, N, P>(self, rules: I) -> Result<Matcher, BuildError>
    where
        I: IntoIterator<Item = (N, P)>,
        N: Into<String>,
        P: AsRef<str>,
    {
        self.build_rules(
            rules
                .into_iter()
                .map(|(n, p)| (Some(n.into()), p.as_ref().to_string())),
        )
    }

    fn build_rules(
        self,
        rules: impl Iterator<Item = (Option<String>, String)>,
    ) -> Result<Matcher, BuildError> {
        let limits = self.config.limits();
        let limit = self.config.max_matcher_combinations;
        let mut entries = Vec::new();
        let mut combinations = 0usize;
        for (index, (name, source)) in rules.enumerate() {
            let pattern = pattern::compile(&source, &limits)
                .map_err(|r| BuildError::new(index, name.clone(), PatternError::new(r)))?;
            combinations += pattern.subrules.len();
            if combinations > limit {
                return Err(BuildError::new(
                    index,
                    name,
                    too_many_combinations(limit, combinations),
                ));
            }
            entries.push(Some(Arc::new(RuleEntry {
                name,
                source,
                pattern,
            })));
        }
        Ok(Matcher::from_entries(self.config, entries))
    }
}

#[derive(Debug)]
struct RuleEntry {
    name: Option<String>,
    source: String,
    pattern: Pattern,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    rules: Vec<Option<Arc<RuleEntry>>>,
    live: usize,
    automaton: Automaton,
}

/// An immutable, compiled set of rules. Cheap to clone (`Arc` inside),
/// `Send + Sync`; share it between threads and give each a [`Cache`].
///
/// ```
/// use sluice_pattern::{Matcher, MatchSet};
/// let matcher = Matcher::builder().build([
///     r#"{"source": ["aws.imagebuilder"]}"#,
///     r#"{"detail": {"state": {"status": [{"prefix": "FAIL"}]}}}"#,
/// ]).unwrap();
/// let event = br#"{"source": "aws.imagebuilder", "detail": {"state": {"status": "FAILED"}}}"#;
/// let mut cache = matcher.create_cache();
/// let mut hits = MatchSet::new(matcher.rule_count());
/// matcher.matches_with(&mut cache, event, &mut hits).unwrap();
/// assert_eq!(hits.len(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Matcher {
    inner: Arc<Inner>,
}

impl Matcher {
    /// A matcher of unnamed patterns with the default configuration; rule
    /// ids follow their order. Use [`Matcher::builder`] for names and
    /// settings.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::new([r#"{"a": ["1"]}"#, r#"{"b": ["2"]}"#]).unwrap();
    /// assert!(m.is_match(br#"{"b": "2"}"#).unwrap());
    /// ```
    pub fn new<I, P>(patterns: I) -> Result<Matcher, BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        Matcher::builder().build(patterns)
    }

    /// A builder with the default configuration.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// assert!(m.is_match(br#"{"a": "1"}"#).unwrap());
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    fn from_entries(config: Config, rules: Vec<Option<Arc<RuleEntry>>>) -> Matcher {
        let automaton = Automaton::build(
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.as_ref().map(|r| (i as u32, &r.pattern))),
            config.scan_mode == ScanMode::EarlyExit,
        );
        let live = rules.iter().filter(|r| r.is_some()).count();
        Matcher {
            inner: Arc::new(Inner {
                config,
                rules,
                live,
                automaton,
            }),
        }
    }

    /// Scratch memory for one thread.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// let mut cache = m.create_cache();
    /// let mut hits = m.create_match_set();
    /// m.matches_with(&mut cache, br#"{"a": "1"}"#, &mut hits).unwrap();
    /// assert_eq!(hits.len(), 1);
    /// ```
    pub fn create_cache(&self) -> Cache {
        Cache::default()
    }

    /// An empty result set sized for this matcher's rules, so matching
    /// into it allocates nothing.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::new([r#"{"a": ["1"]}"#, r#"{"a": [{"prefix": ""}]}"#]).unwrap();
    /// let mut hits = m.create_match_set();
    /// m.matches_with(&mut m.create_cache(), br#"{"a": "1"}"#, &mut hits).unwrap();
    /// let ids: Vec<usize> = hits.iter().map(|id| id.index()).collect();
    /// assert_eq!(ids, [0, 1]);
    /// ```
    pub fn create_match_set(&self) -> MatchSet {
        MatchSet::new(self.rule_capacity())
    }

    /// Number of rules.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#, r#"{"a": ["2"]}"#]).unwrap();
    /// assert_eq!(m.without_rule(sluice_pattern::RuleId::new(0)).rule_count(), 1);
    /// ```
    pub fn rule_count(&self) -> usize {
        self.inner.live
    }

    /// One more than the largest rule id ever assigned (size a [`MatchSet`]
    /// with this to avoid any growth).
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#, r#"{"a": ["2"]}"#]).unwrap();
    /// // Removing a rule keeps the other ids, so the capacity stays.
    /// assert_eq!(m.without_rule(sluice_pattern::RuleId::new(0)).rule_capacity(), 2);
    /// ```
    pub fn rule_capacity(&self) -> usize {
        self.inner.rules.len()
    }

    /// The ids of the rules, ascending.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#, r#"{"a": ["2"]}"#]).unwrap();
    /// let ids: Vec<usize> = m.without_rule(sluice_pattern::RuleId::new(0)).rule_ids().map(|id| id.index()).collect();
    /// assert_eq!(ids, [1]);
    /// ```
    pub fn rule_ids(&self) -> impl Iterator<Item = RuleId> + '_ {
        self.inner
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_some())
            .map(|(i, _)| RuleId::new(i as u32))
    }

    fn entry(&self, id: RuleId) -> Option<&RuleEntry> {
        self.inner.rules.get(id.index()).and_then(|r| r.as_deref())
    }

    /// The name a rule was given, if any.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build_named([("failed", r#"{"a": ["1"]}"#)]).unwrap();
    /// assert_eq!(m.rule_name(sluice_pattern::RuleId::new(0)), Some("failed"));
    /// ```
    pub fn rule_name(&self, id: RuleId) -> Option<&str> {
        self.entry(id).and_then(|r| r.name.as_deref())
    }

    /// The pattern text of a rule.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// assert_eq!(m.rule_pattern(sluice_pattern::RuleId::new(0)), Some(r#"{"a": ["1"]}"#));
    /// ```
    pub fn rule_pattern(&self, id: RuleId) -> Option<&str> {
        self.entry(id).map(|r| r.source.as_str())
    }

    /// The configuration in use.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// assert_eq!(m.config().get_max_pattern_len(), 4096);
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Finds every rule `event` (raw JSON bytes) matches. `hits` is cleared
    /// first. Allocation-free once `cache` has warmed up.
    ///
    /// ```
    /// use sluice_pattern::{Matcher, MatchSet};
    /// let m = Matcher::builder().build([r#"{"resources": [{"suffix": "/1"}]}"#]).unwrap();
    /// let mut cache = m.create_cache();
    /// let mut hits = m.create_match_set();
    /// m.matches_with(&mut cache, br#"{"resources": ["x/2", "y/1"]}"#, &mut hits).unwrap();
    /// assert_eq!(hits.len(), 1);
    /// assert!(m.matches_with(&mut cache, b"not json", &mut hits).is_err());
    /// ```
    pub fn matches_with(
        &self,
        cache: &mut Cache,
        event: &[u8],
        hits: &mut MatchSet,
    ) -> Result<(), EventError> {
        hits.clear();
        let config = &self.inner.config;
        self.inner.automaton.run(
            event,
            config.scan_mode == ScanMode::Validating,
            config.max_event_depth,
            &mut cache.work,
            hits,
        )
    }

    /// Whether `event` matches any rule (allocates a cache; prefer
    /// [`Matcher::matches_with`] in loops).
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"n": [{"numeric": [">", 100]}]}"#]).unwrap();
    /// assert!(m.is_match(br#"{"n": 101.0}"#).unwrap());
    /// assert!(!m.is_match(br#"{"n": "300"}"#).unwrap());
    /// ```
    pub fn is_match(&self, event: &[u8]) -> Result<bool, EventError> {
        let mut hits = MatchSet::new(self.rule_capacity());
        self.matches_with(&mut self.create_cache(), event, &mut hits)?;
        Ok(!hits.is_empty())
    }

    /// A new matcher with one more rule; the new rule's id is returned too.
    /// Existing ids are unchanged.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// let (m2, id) = m.with_rule(Some("second"), r#"{"a": ["2"]}"#).unwrap();
    /// assert_eq!(id.index(), 1);
    /// assert_eq!(m2.rule_count(), 2);
    /// assert_eq!(m.rule_count(), 1);
    /// ```
    pub fn with_rule(
        &self,
        name: Option<&str>,
        pattern: &str,
    ) -> Result<(Matcher, RuleId), BuildError> {
        let index = self.inner.rules.len();
        let compiled = pattern::compile(pattern, &self.inner.config.limits())
            .map_err(|r| BuildError::new(index, name.map(str::to_string), PatternError::new(r)))?;
        let limit = self.inner.config.max_matcher_combinations;
        let combinations = compiled.subrules.len()
            + self
                .inner
                .rules
                .iter()
                .flatten()
                .map(|r| r.pattern.subrules.len())
                .sum::<usize>();
        if combinations > limit {
            return Err(BuildError::new(
                index,
                name.map(str::to_string),
                too_many_combinations(limit, combinations),
            ));
        }
        let mut rules = self.inner.rules.clone();
        rules.push(Some(Arc::new(RuleEntry {
            name: name.map(str::to_string),
            source: pattern.to_string(),
            pattern: compiled,
        })));
        Ok((
            Matcher::from_entries(self.inner.config.clone(), rules),
            RuleId::new(index as u32),
        ))
    }

    /// A new matcher without rule `id` (unchanged if there is no such rule).
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#, r#"{"a": ["2"]}"#]).unwrap();
    /// let m2 = m.without_rule(sluice_pattern::RuleId::new(0));
    /// assert_eq!(m2.rule_count(), 1);
    /// assert!(!m2.is_match(br#"{"a": "1"}"#).unwrap());
    /// ```
    pub fn without_rule(&self, id: RuleId) -> Matcher {
        let mut rules = self.inner.rules.clone();
        if let Some(slot) = rules.get_mut(id.index()) {
            *slot = None;
        }
        Matcher::from_entries(self.inner.config.clone(), rules)
    }

    /// Approximate heap bytes held by the compiled rules.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// assert!(m.memory_usage() > 0);
    /// ```
    pub fn memory_usage(&self) -> usize {
        self.inner.automaton.memory_usage()
            + self
                .inner
                .rules
                .iter()
                .flatten()
                .map(|r| r.source.len() * 3 + 64)
                .sum::<usize>()
    }

    /// Why rule `id` does or does not match `event`: the first condition
    /// that fails, with the field path and the values seen.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder()
    ///     .build([r#"{"detail": {"state": {"status": ["FAILED"]}}}"#]).unwrap();
    /// let why = m.explain(sluice_pattern::RuleId::new(0),
    ///     br#"{"detail": {"state": {"status": "AVAILABLE"}}}"#).unwrap();
    /// assert!(!why.matched());
    /// assert!(why.to_string().contains("detail.state.status"));
    /// ```
    pub fn explain(&self, id: RuleId, event: &[u8]) -> Result<Explanation, EventError> {
        let entry = self.entry(id).ok_or_else(|| {
            EventError::new(
                crate::error::EventErrorKind::NoSuchRule,
                format!("No rule with id {}", id.index()),
            )
        })?;
        explain::explain(&entry.pattern, event, self.inner.config.max_event_depth)
    }
}

/// A matcher whose rules change while other threads match: readers take a
/// snapshot without ever blocking; writers build the next matcher and swap it in.
///
/// ```
/// use sluice_pattern::{LiveMatcher, Matcher};
/// let live = LiveMatcher::new(Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap());
/// let id = live.add_rule(Some("two"), r#"{"a": ["2"]}"#).unwrap();
/// assert!(live.snapshot().is_match(br#"{"a": "2"}"#).unwrap());
/// live.remove_rule(id);
/// assert!(!live.snapshot().is_match(br#"{"a": "2"}"#).unwrap());
/// ```
#[derive(Debug)]
pub struct LiveMatcher {
    current: ArcSwap<Matcher>,
    writer: Mutex<()>,
}

impl LiveMatcher {
    /// Starts from `matcher`.
    ///
    /// ```
    /// let live = sluice_pattern::LiveMatcher::new(sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap());
    /// assert_eq!(live.snapshot().rule_count(), 1);
    /// ```
    pub fn new(matcher: Matcher) -> LiveMatcher {
        LiveMatcher {
            current: ArcSwap::from_pointee(matcher),
            writer: Mutex::new(()),
        }
    }

    /// The current rules; never blocks.
    ///
    /// ```
    /// use sluice_pattern::{LiveMatcher, Matcher};
    /// let live = LiveMatcher::new(Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap());
    /// let before = live.snapshot();
    /// live.add_rule(None, r#"{"a": ["2"]}"#).unwrap();
    /// assert_eq!((before.rule_count(), live.snapshot().rule_count()), (1, 2));
    /// ```
    pub fn snapshot(&self) -> Arc<Matcher> {
        self.current.load_full()
    }

    /// Adds a rule; matching continues on the old rules until it is in.
    ///
    /// ```
    /// use sluice_pattern::{LiveMatcher, Matcher};
    /// let live = LiveMatcher::new(Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap());
    /// assert!(live.add_rule(Some("bad"), r#"{"a": []}"#).is_err());
    /// assert_eq!(live.add_rule(Some("two"), r#"{"a": ["2"]}"#).unwrap().index(), 1);
    /// ```
    pub fn add_rule(&self, name: Option<&str>, pattern: &str) -> Result<RuleId, BuildError> {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let (next, id) = self.current.load().with_rule(name, pattern)?;
        self.current.store(Arc::new(next));
        Ok(id)
    }

    /// Removes a rule.
    ///
    /// ```
    /// use sluice_pattern::{LiveMatcher, Matcher, RuleId};
    /// let live = LiveMatcher::new(Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap());
    /// live.remove_rule(RuleId::new(0));
    /// assert_eq!(live.snapshot().rule_count(), 0);
    /// ```
    pub fn remove_rule(&self, id: RuleId) {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let next = self.current.load().without_rule(id);
        self.current.store(Arc::new(next));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Matcher>();
        assert_send_sync::<LiveMatcher>();
        assert_send_sync::<Cache>();
        assert_send_sync::<MatchSet>();
        assert_send_sync::<BuildError>();
        assert_send_sync::<EventError>();
    }
}
