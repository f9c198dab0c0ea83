//! The rules of every bus, compiled: one matcher per bus plus the rule each
//! matcher id stands for. A table is immutable; changes make a new table
//! that shares everything unchanged, so readers never wait for writers.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use sluice_pattern::{Cache, Config, EventError, MatchSet, Matcher, RuleId, ScanMode};

use crate::model::{Rule, RuleState};
use crate::validation::ValidationError;

/// Read-only CloudTrail management events, which only rules in state
/// `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` receive.
const READ_ONLY_MANAGEMENT_EVENT: &str = r#"{"detail-type": ["AWS API Call via CloudTrail"], "detail": {"readOnly": [true], "managementEvent": [true]}}"#;

/// Every rule, by bus, with a compiled matcher per bus.
///
/// ```
/// use sluice_router::{load, model::Environment, table::RuleTable};
/// let rules = load::parse_rules("r.json", r#"[{"Name": "r", "EventPattern": {"source": ["a"]}}]"#,
///     &Default::default(), &Environment::default()).unwrap();
/// let table = RuleTable::new(rules).unwrap();
/// let mut matched = Vec::new();
/// let mut scratch = table.scratch();
/// table.matching("default", br#"{"source": "a"}"#, &mut scratch, &mut matched).unwrap();
/// assert_eq!(matched[0].name, "r");
/// ```
#[derive(Clone)]
pub struct RuleTable {
    buses: HashMap<String, BusRules>,
    /// How events are scanned; `Validating` unless set with
    /// [`RuleTable::with_scan_mode`].
    mode: ScanMode,
}

impl Default for RuleTable {
    fn default() -> RuleTable {
        RuleTable {
            buses: HashMap::new(),
            mode: ScanMode::Validating,
        }
    }
}

/// A matching rule, with what matching asks of it kept beside the
/// pointer, so a match reads no rule it does not report.
#[derive(Clone)]
struct Slot {
    rule: Arc<Rule>,
    /// Whether read-only CloudTrail management events reach it.
    all_management_events: bool,
}

impl Slot {
    fn new(rule: &Arc<Rule>) -> Slot {
        Slot {
            rule: rule.clone(),
            all_management_events: rule.state
                == RuleState::EnabledWithAllCloudTrailManagementEvents,
        }
    }
}

#[derive(Clone)]
struct BusRules {
    matcher: Matcher,
    /// The rule behind each matcher id (`None`: removed).
    by_id: Vec<Option<Slot>>,
    /// Rules by name, with their matcher id when they have a pattern and are not disabled.
    by_name: HashMap<String, (Arc<Rule>, Option<RuleId>)>,
}

/// A rule a table cannot take, named.
///
/// ```
/// use sluice_router::{load, model::Environment, table::RuleTable};
/// let rules = load::parse_definitions("r.json", r#"[{"Name": "r", "EventPattern": {"a": ["1"]}},
///     {"Name": "r", "EventPattern": {"a": ["2"]}}]"#, &Default::default(), &Environment::default()).unwrap();
/// let rules = rules.iter().map(|d| sluice_router::model::Rule::new(d, &Environment::default()).unwrap());
/// let Err(error) = RuleTable::new(rules) else { panic!("a name appears twice") };
/// assert_eq!(error.to_string(), "rule r: ValidationException: Rule r appears twice on EventBus default.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule}: {error}")]
pub struct RuleError {
    /// The rule's name.
    pub rule: String,
    /// Why it was refused, with AWS's code.
    pub error: ValidationError,
}

/// Per-thread scratch space for [`RuleTable::matching`].
#[derive(Debug, Default)]
pub struct Scratch {
    cache: Cache,
    hits: MatchSet,
    probe_cache: Cache,
    probe_hits: MatchSet,
}

/// Whether `event` is a read-only CloudTrail management event. Asked only
/// about events some rule matched, which were read (and, when validating,
/// checked) already, so the probe reads no more than it needs.
fn is_read_only_management_event(
    event: &[u8],
    cache: &mut Cache,
    hits: &mut MatchSet,
) -> Result<bool, EventError> {
    // The detail-type must be written somewhere in the event, as is or
    // with escapes; most events have neither, and are answered without a scan.
    static DETAIL_TYPE: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    let detail_type =
        DETAIL_TYPE.get_or_init(|| memchr::memmem::Finder::new(b"AWS API Call via CloudTrail"));
    if detail_type.find(event).is_none() && memchr::memchr(b'\\', event).is_none() {
        return Ok(false);
    }
    static PROBE: OnceLock<Matcher> = OnceLock::new();
    let probe = PROBE.get_or_init(|| {
        Matcher::builder()
            .configure(Config::new().scan_mode(ScanMode::EarlyExit))
            .build([READ_ONLY_MANAGEMENT_EVENT])
            .expect("the built-in CloudTrail pattern is valid")
    });
    probe.matches_with(cache, event, hits)?;
    Ok(!hits.is_empty())
}

impl BusRules {
    /// A bus with no rules yet, compiled once per scan mode and shared.
    fn new(mode: ScanMode) -> BusRules {
        BusRules::empty(mode).clone()
    }

    fn empty(mode: ScanMode) -> &'static BusRules {
        static VALIDATING: OnceLock<BusRules> = OnceLock::new();
        static EARLY_EXIT: OnceLock<BusRules> = OnceLock::new();
        let cell = if mode == ScanMode::EarlyExit {
            &EARLY_EXIT
        } else {
            &VALIDATING
        };
        cell.get_or_init(|| BusRules::compile(mode))
    }

    fn compile(mode: ScanMode) -> BusRules {
        BusRules {
            matcher: BusRules::builder(mode).build_empty(),
            by_id: Vec::new(),
            by_name: HashMap::new(),
        }
    }

    fn builder(mode: ScanMode) -> sluice_pattern::Builder {
        Matcher::builder().configure(Config::new().scan_mode(mode))
    }

    /// Whether a rule in `state` with a pattern takes part in matching.
    fn matches_in(state: RuleState) -> bool {
        matches!(
            state,
            RuleState::Enabled | RuleState::EnabledWithAllCloudTrailManagementEvents
        )
    }

    /// One bus's rules compiled in one matcher build. Names must be
    /// unique; the first repeated one is the error.
    fn from_rules(rules: Vec<Arc<Rule>>, mode: ScanMode) -> Result<BusRules, RuleError> {
        let mut by_name = HashMap::with_capacity(rules.len());
        let mut by_id = Vec::new();
        for rule in &rules {
            if by_name.contains_key(&rule.name) {
                return Err(RuleError {
                    rule: rule.name.clone(),
                    error: ValidationError::validation(format!(
                        "Rule {} appears twice on EventBus {}.",
                        rule.name, rule.bus
                    )),
                });
            }
            let id = match (&rule.event_pattern, BusRules::matches_in(rule.state)) {
                (Some(_), true) => {
                    by_id.push(Some(Slot::new(rule)));
                    Some(RuleId::new((by_id.len() - 1) as u32))
                }
                _ => None,
            };
            by_name.insert(rule.name.clone(), (rule.clone(), id));
        }
        let matcher = BusRules::builder(mode)
            .build_named(by_id.iter().flatten().map(|slot| {
                (
                    slot.rule.name.clone(),
                    slot.rule.event_pattern.as_deref().unwrap_or_default(),
                )
            }))
            .map_err(|e| RuleError {
                rule: e.rule_name().unwrap_or("?").to_string(),
                error: ValidationError::invalid_pattern(e.pattern_error().message()),
            })?;
        Ok(BusRules {
            matcher,
            by_id,
            by_name,
        })
    }

    fn insert(&mut self, rule: Arc<Rule>) -> Result<(), ValidationError> {
        self.remove(&rule.name);
        let id = match (&rule.event_pattern, BusRules::matches_in(rule.state)) {
            (Some(pattern), true) => {
                let (matcher, id) = self
                    .matcher
                    .with_rule(Some(&rule.name), pattern)
                    .map_err(|e| ValidationError::invalid_pattern(e.pattern_error().message()))?;
                self.matcher = matcher;
                if self.by_id.len() <= id.index() {
                    self.by_id.resize(id.index() + 1, None);
                }
                self.by_id[id.index()] = Some(Slot::new(&rule));
                Some(id)
            }
            _ => None,
        };
        self.by_name.insert(rule.name.clone(), (rule, id));
        Ok(())
    }

    fn remove(&mut self, name: &str) -> Option<Arc<Rule>> {
        let (rule, id) = self.by_name.remove(name)?;
        if let Some(id) = id {
            self.matcher = self.matcher.without_rule(id);
            self.by_id[id.index()] = None;
        }
        Some(rule)
    }
}

impl RuleTable {
    /// Compiles a table from checked rules, with one matcher build per
    /// bus. Rule names must be unique per bus.
    pub fn new(rules: impl IntoIterator<Item = Rule>) -> Result<RuleTable, RuleError> {
        RuleTable::with_mode(rules, ScanMode::Validating)
    }

    /// Compiles a table whose matchers scan events in `mode` (see
    /// [`RuleTable::with_scan_mode`]).
    ///
    /// ```
    /// use sluice_pattern::ScanMode;
    /// use sluice_router::{load, model::Environment, table::RuleTable};
    /// let rules = load::parse_rules("r.json", r#"[{"Name": "r", "EventPattern": {"source": ["a"]}}]"#,
    ///     &Default::default(), &Environment::default()).unwrap();
    /// let table = RuleTable::with_mode(rules, ScanMode::EarlyExit).unwrap();
    /// assert_eq!(table.slot_rules("default").count(), 1);
    /// ```
    pub fn with_mode(
        rules: impl IntoIterator<Item = Rule>,
        mode: ScanMode,
    ) -> Result<RuleTable, RuleError> {
        RuleTable::compile(rules.into_iter().map(Arc::new), mode)
    }

    fn compile(
        rules: impl Iterator<Item = Arc<Rule>>,
        mode: ScanMode,
    ) -> Result<RuleTable, RuleError> {
        // Buses in the order they first appear, so errors come in file order.
        let mut order: Vec<String> = Vec::new();
        let mut by_bus: HashMap<String, Vec<Arc<Rule>>> = HashMap::new();
        for rule in rules {
            by_bus
                .entry(rule.bus.clone())
                .or_insert_with(|| {
                    order.push(rule.bus.clone());
                    Vec::new()
                })
                .push(rule);
        }
        let mut buses = HashMap::with_capacity(order.len());
        for bus in order {
            let rules = by_bus.remove(&bus).unwrap_or_default();
            buses.insert(bus, BusRules::from_rules(rules, mode)?);
        }
        Ok(RuleTable { buses, mode })
    }

    /// The same rules, matching events in `mode`. `EarlyExit` skips the
    /// parts of an event no rule reads without checking them: use it only
    /// for events already known to be valid JSON (an archive's, say).
    pub fn with_scan_mode(self, mode: ScanMode) -> RuleTable {
        if mode == self.mode {
            return self;
        }
        let rules: Vec<Arc<Rule>> = self.rules().cloned().collect();
        // The rules were compiled once already, so this cannot fail; if it
        // did, the table would keep its mode rather than lose rules.
        match RuleTable::compile(rules.into_iter(), mode) {
            Ok(table) => table,
            Err(_) => self,
        }
    }

    /// Adds a rule, or replaces the rule of the same name on its bus (as
    /// PutRule does).
    pub fn put(&mut self, rule: Rule) -> Result<(), ValidationError> {
        self.buses
            .entry(rule.bus.clone())
            .or_insert_with(|| BusRules::new(self.mode))
            .insert(Arc::new(rule))
    }

    /// Removes a rule; returns it if it existed.
    pub fn remove(&mut self, bus: &str, name: &str) -> Option<Arc<Rule>> {
        self.buses.get_mut(bus)?.remove(name)
    }

    /// A rule by bus and name.
    pub fn rule(&self, bus: &str, name: &str) -> Option<&Arc<Rule>> {
        self.buses.get(bus)?.by_name.get(name).map(|(rule, _)| rule)
    }

    /// Every rule, in no particular order.
    pub fn rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.buses
            .values()
            .flat_map(|bus| bus.by_name.values().map(|(rule, _)| rule))
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.buses.values().map(|b| b.by_name.len()).sum()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Scratch space for [`RuleTable::matching`]; keep one per thread.
    pub fn scratch(&self) -> Scratch {
        Scratch::default()
    }

    /// Calls `found` with each enabled rule of `bus` that `event` matches
    /// and a number for it that is dense and stable within this table and bus
    /// (for counting in a `Vec`), without cloning the rule. The same
    /// CloudTrail rule as [`RuleTable::matching`] applies.
    pub fn for_each_match(
        &self,
        bus: &str,
        event: &[u8],
        scratch: &mut Scratch,
        mut found: impl FnMut(usize, &Arc<Rule>),
    ) -> Result<(), EventError> {
        let Some(rules) = self.buses.get(bus) else {
            // No rules on this bus, but the event must still be valid.
            return BusRules::empty(self.mode).matcher.matches_with(
                &mut scratch.cache,
                event,
                &mut scratch.hits,
            );
        };
        let Scratch {
            cache,
            hits,
            probe_cache,
            probe_hits,
        } = scratch;
        rules.matcher.matches_with(cache, event, hits)?;
        // Asked once, and only when a matched rule's state depends on it.
        let mut read_only: Option<bool> = None;
        for id in hits.iter() {
            let Some(Some(slot)) = rules.by_id.get(id.index()) else {
                continue;
            };
            let receives = match slot.all_management_events {
                true => true,
                false => match read_only {
                    Some(read_only) => !read_only,
                    None => {
                        let answer = is_read_only_management_event(event, probe_cache, probe_hits)?;
                        read_only = Some(answer);
                        !answer
                    }
                },
            };
            if receives {
                found(id.index(), &slot.rule);
            }
        }
        Ok(())
    }

    /// The largest number [`RuleTable::for_each_match`] gives on `bus`, plus one.
    pub fn match_slots(&self, bus: &str) -> usize {
        self.buses.get(bus).map_or(0, |b| b.by_id.len())
    }

    /// The rules of `bus` that take part in matching, each with the number
    /// [`RuleTable::for_each_match`] gives it, in the order the rules were
    /// given.
    pub fn slot_rules(&self, bus: &str) -> impl Iterator<Item = (usize, &Arc<Rule>)> {
        self.buses.get(bus).into_iter().flat_map(|rules| {
            rules
                .by_id
                .iter()
                .enumerate()
                .filter_map(|(at, slot)| Some((at, &slot.as_ref()?.rule)))
        })
    }

    /// The enabled rules of `bus` that `event` matches, in `out` (cleared
    /// first). Read-only CloudTrail management events reach only rules in
    /// state `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub fn matching(
        &self,
        bus: &str,
        event: &[u8],
        scratch: &mut Scratch,
        out: &mut Vec<Arc<Rule>>,
    ) -> Result<(), EventError> {
        out.clear();
        self.for_each_match(bus, event, scratch, |_, rule| out.push(rule.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;
    use crate::model::Environment;

    fn table(text: &str) -> RuleTable {
        let rules = load::parse_rules("t.json", text, &Default::default(), &Environment::default())
            .unwrap();
        RuleTable::new(rules).unwrap()
    }

    fn names(table: &RuleTable, bus: &str, event: &str) -> Vec<String> {
        let mut out = Vec::new();
        table
            .matching(bus, event.as_bytes(), &mut table.scratch(), &mut out)
            .unwrap();
        let mut names: Vec<String> = out.iter().map(|r| r.name.clone()).collect();
        names.sort();
        names
    }

    #[test]
    fn states_and_buses_decide_who_matches() {
        let t = table(
            r#"[{"Name": "on", "EventPattern": {"source": ["aws.ec2"]}},
                {"Name": "off", "State": "DISABLED", "EventPattern": {"source": ["aws.ec2"]}},
                {"Name": "all", "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "EventPattern": {"source": ["aws.ec2"]}},
                {"Name": "on", "EventBusName": "ops", "EventPattern": {"source": ["aws.ec2"]}}]"#,
        );
        assert_eq!(
            names(&t, "default", r#"{"source": "aws.ec2"}"#),
            ["all", "on"]
        );
        assert_eq!(names(&t, "ops", r#"{"source": "aws.ec2"}"#), ["on"]);
        assert!(names(&t, "nope", r#"{"source": "aws.ec2"}"#).is_empty());
        let read_only = r#"{"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail",
                            "detail": {"readOnly": true, "managementEvent": true}}"#;
        assert_eq!(names(&t, "default", read_only), ["all"]);
        assert!(
            t.matching("nope", b"{", &mut t.scratch(), &mut Vec::new())
                .is_err()
        );
    }

    #[test]
    fn put_replaces_and_remove_forgets() {
        let mut t = table(r#"[{"Name": "r", "EventPattern": {"source": ["a"]}}]"#);
        let replacement = table(r#"[{"Name": "r", "EventPattern": {"source": ["b"]}}]"#);
        t.put((**replacement.rule("default", "r").unwrap()).clone())
            .unwrap();
        assert_eq!(t.len(), 1);
        assert!(names(&t, "default", r#"{"source": "a"}"#).is_empty());
        assert_eq!(names(&t, "default", r#"{"source": "b"}"#), ["r"]);
        assert!(t.remove("default", "r").is_some());
        assert!(names(&t, "default", r#"{"source": "b"}"#).is_empty());
        assert!(t.is_empty());
    }
}
