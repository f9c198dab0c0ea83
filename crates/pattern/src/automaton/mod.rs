//! The rule automaton.
//!
//! Every sub-rule is a conjunction of field conditions sorted by path; the
//! automaton is the trie of those sequences. A state has one transition per
//! field; a transition holds the merged value index of every condition on
//! that field out of that state, and each condition leads to its own next
//! state (two rules share a state only while their conditions are identical).
//! Reaching a state that ends sub-rules matches their rules.
//!
//! Matching walks the trie once per event, depth first, from the start state:
//! at each transition it looks the field's values up in the value index and
//! follows the targets, carrying the array trail of the values used so far so
//! that two fields of one rule are never satisfied by different elements of
//! the same array. Work is proportional to the states reached, not to the
//! number of rules.
//!
//! In early-exit mode the automaton also has *gates*: fields on which every
//! sub-rule has a condition that a missing field fails. Each gate merges those
//! conditions into one test; the scanner applies it as soon as the field has
//! been read, and stops reading an event that fails it, since no rule can
//! match that event any more. Rules filter on `source` and `detail-type`
//! almost always, so most events no rule wants are dropped after their
//! first few fields.

mod values;

use std::collections::{HashMap, HashSet};

use crate::key_hash::KeyHashBuilder;
use crate::pattern::{Op, Pattern};
use crate::scan::{self, FieldValue, NIL, PathTrie, ScanBuffers, ScanEnd, TrailStep};
use crate::search::MatchSet;
use values::{Leaf, LookupBuffers, ValueIndex, ValueIndexBuilder};

#[derive(Clone, Debug, Default)]
struct State {
    /// Rules matched on reaching this state.
    rules: Vec<u32>,
    transitions: Vec<Transition>,
}

#[derive(Clone, Debug)]
struct Transition {
    field: u32,
    /// Positive tests → next states.
    positive: ValueIndex,
    /// Next states taken when the field has no value (`exists: false`).
    absent: Vec<u32>,
    /// Next state of each `anything-but` condition.
    anything_but: Vec<u32>,
    /// Excluded values → index into `anything_but`; only transitions with
    /// an `anything-but` condition have one.
    excluded: Option<Box<ValueIndex>>,
}

/// The compiled automaton for a set of rules.
#[derive(Clone, Debug, Default)]
pub(crate) struct Automaton {
    pub(crate) trie: PathTrie,
    pub(crate) fields: Vec<String>,
    states: Vec<State>,
    max_anything_but: usize,
    gates: Vec<Transition>,
}

/// An edge of the automaton being built: (state, field, conditions).
type EdgeKey<'a> = (u32, u32, &'a [Op]);

impl Automaton {
    /// Builds the automaton for `(rule id, pattern)` pairs, with gates when
    /// `with_gates` (for early-exit scanning).
    pub(crate) fn build<'a>(
        rules: impl IntoIterator<Item = (u32, &'a Pattern)>,
        with_gates: bool,
    ) -> Automaton {
        let mut field_ids: HashMap<&str, u32> = HashMap::new();
        let mut fields: Vec<String> = Vec::new();
        // (state, field, conditions) → next state. The conditions are
        // borrowed from the patterns: nothing is copied per edge.
        let mut edges: HashMap<EdgeKey<'a>, u32, KeyHashBuilder> = HashMap::default();
        let mut state_rules: Vec<Vec<u32>> = vec![Vec::new()];
        let mut gates = GateBuilder::default();
        for (rule, pattern) in rules {
            for subrule in &pattern.subrules {
                gates.subrules += 1;
                let mut state = 0u32;
                for condition in subrule {
                    let field = *field_ids.entry(condition.path.as_str()).or_insert_with(|| {
                        fields.push(condition.path.clone());
                        (fields.len() - 1) as u32
                    });
                    if with_gates {
                        gates.add(field, &condition.ops);
                    }
                    state = *edges
                        .entry((state, field, condition.ops.as_slice()))
                        .or_insert_with(|| {
                            state_rules.push(Vec::new());
                            (state_rules.len() - 1) as u32
                        });
                }
                let rules = &mut state_rules[state as usize];
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
        }
        // Each state's transitions by field, each transition's edges by
        // next state: a deterministic order keeps results and memory use
        // reproducible.
        let mut edges: Vec<(EdgeKey<'a>, u32)> = edges.into_iter().collect();
        edges.sort_unstable_by_key(|&((state, field, _), next)| (state, field, next));
        let mut states: Vec<State> = state_rules
            .into_iter()
            .map(|rules| State {
                rules,
                transitions: Vec::new(),
            })
            .collect();
        let same_transition =
            |a: &(EdgeKey<'a>, u32), b: &(EdgeKey<'a>, u32)| (a.0.0, a.0.1) == (b.0.0, b.0.1);
        // Exact-size transition lists: most states have one.
        let mut counts = vec![0usize; states.len()];
        for group in edges.chunk_by(same_transition) {
            counts[group[0].0.0 as usize] += 1;
        }
        for (state, count) in states.iter_mut().zip(counts) {
            state.transitions.reserve_exact(count);
        }
        let mut max_anything_but = 0;
        for group in edges.chunk_by(same_transition) {
            let ((state, field, _), _) = group[0];
            let t = freeze(field, group.iter().map(|&((_, _, ops), next)| (ops, next)));
            max_anything_but = max_anything_but.max(t.anything_but.len());
            states[state as usize].transitions.push(t);
        }
        let mut trie = PathTrie::build(&fields);
        let gates = if with_gates {
            gates.finish()
        } else {
            Vec::new()
        };
        for (index, gate) in gates.iter().enumerate() {
            trie.set_gate(gate.field, index as u32);
            max_anything_but = max_anything_but.max(gate.anything_but.len());
        }
        Automaton {
            trie,
            fields,
            states,
            max_anything_but,
            gates,
        }
    }

    /// Approximate heap bytes held.
    pub(crate) fn memory_usage(&self) -> usize {
        self.trie.memory_usage()
            + self.fields.iter().map(|f| f.len() + 24).sum::<usize>()
            + self
                .states
                .iter()
                .map(|s| {
                    std::mem::size_of::<State>()
                        + s.rules.len() * 4
                        + s.transitions
                            .iter()
                            .map(|t| {
                                std::mem::size_of::<Transition>()
                                    + t.positive.memory_usage()
                                    + t.excluded.as_ref().map_or(0, |e| {
                                        std::mem::size_of::<ValueIndex>() + e.memory_usage()
                                    })
                                    + (t.absent.len() + t.anything_but.len()) * 4
                            })
                            .sum::<usize>()
                })
                .sum::<usize>()
            + self
                .gates
                .iter()
                .map(|g| {
                    std::mem::size_of::<Transition>()
                        + g.positive.memory_usage()
                        + g.excluded
                            .as_ref()
                            .map_or(0, |e| std::mem::size_of::<ValueIndex>() + e.memory_usage())
                        + g.anything_but.len() * 4
                })
                .sum::<usize>()
    }

    /// Matches one event, adding matched rule ids to `set`.
    pub(crate) fn run(
        &self,
        event: &[u8],
        validate: bool,
        max_depth: usize,
        work: &mut Work,
        set: &mut MatchSet,
    ) -> Result<(), crate::EventError> {
        work.prepare(self);
        let Work {
            scan,
            lookup,
            targets,
            reached,
            excluded_stamp,
            lookup_generation,
            ..
        } = work;
        let mut gate_passes = |gate: u32, buffers: &ScanBuffers| {
            let gate = &self.gates[gate as usize];
            buffers.values.iter().any(|value| {
                value.field == gate.field
                    && accepts(
                        gate,
                        value_leaf(event, buffers, value),
                        lookup,
                        targets,
                        (reached, excluded_stamp),
                        lookup_generation,
                    )
            })
        };
        let end = scan::scan(
            &self.trie,
            event,
            validate,
            max_depth,
            scan,
            &mut gate_passes,
        )?;
        if end == ScanEnd::Rejected {
            return Ok(());
        }
        // Link each field's values.
        for (i, v) in work.scan.values.iter_mut().enumerate() {
            if v.field != NIL {
                v.next = work.heads[v.field as usize];
                work.heads[v.field as usize] = i as u32;
            }
        }
        self.walk(event, work, set);
        for v in &work.scan.values {
            if v.field != NIL {
                work.heads[v.field as usize] = NIL;
            }
        }
        Ok(())
    }

    fn walk(&self, event: &[u8], work: &mut Work, set: &mut MatchSet) {
        let Work {
            scan,
            heads,
            stack,
            arena,
            absences,
            visited,
            reached,
            excluded_stamp,
            generation,
            lookup_generation,
            lookup,
            targets,
            ..
        } = work;
        *generation = generation.wrapping_add(1);
        if *generation == 0 {
            visited.iter_mut().for_each(|v| *v = 0);
            *generation = 1;
        }
        let generation = *generation;
        arena.clear();
        absences.clear();
        stack.clear();
        stack.push(Frame {
            state: 0,
            trail_start: 0,
            trail_len: 0,
            absences: NIL,
        });
        while let Some(frame) = stack.pop() {
            let state_id = frame.state as usize;
            if frame.trail_len == 0 && frame.absences == NIL {
                // Reached without array constraints: any other visit of this
                // state is subsumed.
                if visited[state_id] == generation {
                    continue;
                }
                visited[state_id] = generation;
            }
            let state = &self.states[state_id];
            if !state.rules.is_empty()
                && (frame.absences == NIL || absences_hold(&frame, absences, arena, scan, heads))
            {
                for &rule in &state.rules {
                    set.insert(rule);
                }
            }
            for transition in &state.transitions {
                let mut value_index = heads[transition.field as usize];
                if value_index == NIL {
                    for &next in &transition.absent {
                        stack.push(Frame {
                            state: next,
                            ..frame
                        });
                    }
                    continue;
                }
                if !transition.absent.is_empty() && all_in_arrays(scan, value_index) {
                    // The field has values, all inside arrays: its absence
                    // can still hold on the elements the rule's other
                    // fields choose, which is judged where the sub-rule ends.
                    let link = absences.len() as u32;
                    absences.push((transition.field, frame.absences));
                    for &next in &transition.absent {
                        stack.push(Frame {
                            state: next,
                            absences: link,
                            ..frame
                        });
                    }
                }
                while value_index != NIL {
                    let value: FieldValue = scan.values[value_index as usize];
                    value_index = value.next;
                    let (trail_start, trail_len) = if value.trail_len == 0 {
                        (frame.trail_start, frame.trail_len)
                    } else if frame.trail_len == 0 && value.trail_start < IN_SCAN {
                        // Nothing to merge: the value's own trail, in place.
                        (value.trail_start | IN_SCAN, value.trail_len)
                    } else {
                        let own = &scan.trails[value.trail_start as usize
                            ..(value.trail_start + value.trail_len) as usize];
                        match merge_trails(
                            arena,
                            &scan.trails,
                            frame.trail_start,
                            frame.trail_len,
                            own,
                        ) {
                            Some(merged) => merged,
                            None => continue,
                        }
                    };
                    *lookup_generation = lookup_generation.wrapping_add(1);
                    if *lookup_generation == 0 {
                        reached.iter_mut().for_each(|v| *v = 0);
                        excluded_stamp.iter_mut().for_each(|v| *v = 0);
                        *lookup_generation = 1;
                    }
                    let stamp = *lookup_generation;
                    let leaf = value_leaf(event, scan, &value);
                    targets.clear();
                    transition.positive.lookup(leaf, lookup, targets);
                    for &next in targets.iter() {
                        if reached[next as usize] != stamp {
                            reached[next as usize] = stamp;
                            stack.push(Frame {
                                state: next,
                                trail_start,
                                trail_len,
                                ..frame
                            });
                        }
                    }
                    if !transition.anything_but.is_empty() {
                        targets.clear();
                        if let Some(excluded) = &transition.excluded {
                            excluded.lookup(leaf, lookup, targets);
                        }
                        for &e in targets.iter() {
                            excluded_stamp[e as usize] = stamp;
                        }
                        for (e, &next) in transition.anything_but.iter().enumerate() {
                            if excluded_stamp[e] != stamp && reached[next as usize] != stamp {
                                reached[next as usize] = stamp;
                                stack.push(Frame {
                                    state: next,
                                    trail_start,
                                    trail_len,
                                    ..frame
                                });
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether every value in the list starting at `value_index` lies inside
/// an array (a value outside any array is seen by every choice of elements,
/// so the field's absence can never hold).
fn all_in_arrays(scan: &ScanBuffers, mut value_index: u32) -> bool {
    while value_index != NIL {
        let value = &scan.values[value_index as usize];
        if value.trail_len == 0 {
            return false;
        }
        value_index = value.next;
    }
    true
}

/// Whether each field whose absence `frame` took has no value consistent
/// with the frame's trail (the elements the sub-rule's fields chose).
fn absences_hold(
    frame: &Frame,
    absences: &[(u32, u32)],
    arena: &[TrailStep],
    scan: &ScanBuffers,
    heads: &[u32],
) -> bool {
    let trail: &[TrailStep] = if frame.trail_start & IN_SCAN != 0 {
        let start = (frame.trail_start & !IN_SCAN) as usize;
        &scan.trails[start..start + frame.trail_len as usize]
    } else {
        let start = frame.trail_start as usize;
        &arena[start..start + frame.trail_len as usize]
    };
    let mut link = frame.absences;
    std::iter::from_fn(|| {
        let (field, previous) = *absences.get(link as usize)?;
        link = previous;
        Some(field)
    })
    .all(|field| {
        let mut value_index = heads[field as usize];
        while value_index != NIL {
            let value = &scan.values[value_index as usize];
            let own = &scan.trails[value.trail_start as usize..][..value.trail_len as usize];
            if trails_agree(trail, own) {
                return false;
            }
            value_index = value.next;
        }
        true
    })
}

/// Whether two trails (each sorted by array) take the same element of
/// every array they share.
fn trails_agree(a: &[TrailStep], b: &[TrailStep]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if a[i].1 != b[j].1 {
                    return false;
                }
                i += 1;
                j += 1;
            }
        }
    }
    true
}

/// The value index's view of a recorded value.
#[inline]
fn value_leaf<'e>(event: &'e [u8], buffers: &'e ScanBuffers, value: &FieldValue) -> Leaf<'e> {
    Leaf {
        kind: value.kind,
        text: buffers.bytes(event, value.text),
        approx: value.approx,
    }
}

/// Whether some condition of `transition` accepts `leaf`.
fn accepts(
    transition: &Transition,
    leaf: Leaf<'_>,
    lookup: &mut LookupBuffers,
    targets: &mut Vec<u32>,
    stamps: (&mut [u32], &mut [u32]),
    lookup_generation: &mut u32,
) -> bool {
    let (reached, excluded_stamp) = stamps;
    targets.clear();
    transition.positive.lookup(leaf, lookup, targets);
    if !targets.is_empty() {
        return true;
    }
    if transition.anything_but.is_empty() {
        return false;
    }
    *lookup_generation = lookup_generation.wrapping_add(1);
    if *lookup_generation == 0 {
        // The walk shares the counter: reset its stamps too.
        reached.iter_mut().for_each(|v| *v = 0);
        excluded_stamp.iter_mut().for_each(|v| *v = 0);
        *lookup_generation = 1;
    }
    let stamp = *lookup_generation;
    if let Some(excluded) = &transition.excluded {
        excluded.lookup(leaf, lookup, targets);
    }
    for &e in targets.iter() {
        excluded_stamp[e as usize] = stamp;
    }
    excluded_stamp[..transition.anything_but.len()]
        .iter()
        .any(|&s| s != stamp)
}

/// Gathers, per field, the conditions of the sub-rules that need it; a field
/// every sub-rule needs becomes a gate.
#[derive(Default)]
struct GateBuilder<'a> {
    subrules: usize,
    /// field → the sub-rules needing it
    needed: HashMap<u32, Needed<'a>>,
}

#[derive(Default)]
struct Needed<'a> {
    subrules: usize,
    /// Their conditions on the field.
    conditions: HashSet<&'a [Op], KeyHashBuilder>,
}

impl<'a> GateBuilder<'a> {
    /// A condition of the latest sub-rule.
    fn add(&mut self, field: u32, ops: &'a [Op]) {
        if ops.contains(&Op::Exists(false)) {
            return; // a missing field passes it
        }
        let needed = self.needed.entry(field).or_default();
        // The compiler keys a sub-rule's conditions by path, so this counts
        // sub-rules.
        needed.subrules += 1;
        needed.conditions.insert(ops);
    }

    fn finish(self) -> Vec<Transition> {
        let mut gates: Vec<Transition> = self
            .needed
            .into_iter()
            .filter(|(_, needed)| self.subrules > 0 && needed.subrules == self.subrules)
            .map(|(field, needed)| {
                // The gate only asks whether any condition holds: every
                // edge leads to the same (unused) place.
                freeze(field, needed.conditions.into_iter().map(|ops| (ops, 0)))
            })
            .collect();
        gates.sort_by_key(|g| g.field);
        gates
    }
}

/// Marks a frame's trail start as an offset into the scanner's trails
/// rather than into the arena (a value's trail taken as it is).
const IN_SCAN: u32 = 1 << 31;

/// Merges a frame's trail (in the arena, or in `scanned` when marked
/// [`IN_SCAN`]) with a value's trail into the arena; `None` when they
/// disagree on an element of the same array.
fn merge_trails(
    arena: &mut Vec<TrailStep>,
    scanned: &[TrailStep],
    start: u32,
    len: u32,
    own: &[TrailStep],
) -> Option<(u32, u32)> {
    let out_start = arena.len();
    let in_scan = start & IN_SCAN != 0;
    let mut i = (start & !IN_SCAN) as usize;
    let end = i + len as usize;
    let frame_step = |arena: &[TrailStep], i: usize| if in_scan { scanned[i] } else { arena[i] };
    let mut j = 0;
    while i < end || j < own.len() {
        let step = if j == own.len() || (i < end && frame_step(arena, i).0 < own[j].0) {
            i += 1;
            frame_step(arena, i - 1)
        } else if i == end || own[j].0 < frame_step(arena, i).0 {
            j += 1;
            own[j - 1]
        } else {
            if frame_step(arena, i).1 != own[j].1 {
                arena.truncate(out_start);
                return None;
            }
            i += 1;
            j += 1;
            own[j - 1]
        };
        arena.push(step);
    }
    Some((out_start as u32, (arena.len() - out_start) as u32))
}

/// One state's transition on `field`, from its edges (conditions → next
/// state) in order of next state.
fn freeze<'a>(field: u32, edges: impl Iterator<Item = (&'a [Op], u32)>) -> Transition {
    let mut positive = ValueIndexBuilder::default();
    let mut excluded = ValueIndexBuilder::default();
    let mut absent = Vec::new();
    let mut anything_but = Vec::new();
    for (ops, next) in edges {
        for op in ops {
            match op {
                Op::Exists(false) => absent.push(next),
                Op::AnythingBut(exclusion) => {
                    excluded.add_exclusion(exclusion, anything_but.len() as u32);
                    anything_but.push(next);
                }
                other => positive.add(other, next),
            }
        }
    }
    let excluded = (!anything_but.is_empty()).then(|| Box::new(excluded.finish()));
    Transition {
        field,
        positive: positive.finish(),
        absent,
        anything_but,
        excluded,
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    state: u32,
    trail_start: u32,
    trail_len: u32,
    /// The last field whose absence this path took while it has values in
    /// arrays (a link into `Work::absences`, which chains to the one
    /// before, or `NIL`): each must have no value consistent with the trail
    /// the sub-rule ends with.
    absences: u32,
}

/// Per-thread working memory of the automaton, reused from event to event.
#[derive(Clone, Debug, Default)]
pub(crate) struct Work {
    pub(crate) scan: ScanBuffers,
    heads: Vec<u32>,
    stack: Vec<Frame>,
    arena: Vec<TrailStep>,
    /// (field, previous link) chains of the frames' absences.
    absences: Vec<(u32, u32)>,
    visited: Vec<u32>,
    reached: Vec<u32>,
    excluded_stamp: Vec<u32>,
    generation: u32,
    lookup_generation: u32,
    lookup: LookupBuffers,
    targets: Vec<u32>,
}

impl Work {
    /// Sizes the buffers for `automaton` (allocates only when it grew).
    fn prepare(&mut self, automaton: &Automaton) {
        if self.heads.len() < automaton.fields.len() {
            self.heads.resize(automaton.fields.len(), NIL);
        }
        let states = automaton.states.len();
        if self.visited.len() < states {
            self.visited.resize(states, 0);
            self.reached.resize(states, 0);
        }
        if self.excluded_stamp.len() < automaton.max_anything_but {
            self.excluded_stamp.resize(automaton.max_anything_but, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(mode: crate::ScanMode, patterns: &[&str], event: &str) -> Result<usize, String> {
        let matcher = crate::Matcher::builder()
            .configure(crate::Config::new().scan_mode(mode))
            .build(patterns)
            .unwrap();
        let mut set = matcher.create_match_set();
        matcher
            .matches_with(&mut matcher.create_cache(), event.as_bytes(), &mut set)
            .map(|()| set.len())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_failed_gate_stops_early_exit_reading() {
        use crate::ScanMode::{EarlyExit, Validating};
        let rules = [
            r#"{"source": ["a"], "detail": {"n": [1]}}"#,
            r#"{"source": [{"prefix": "b"}], "x": [{"exists": false}]}"#,
            r#"{"source": [{"anything-but": ["a", "b", "c", "d"]}], "detail": {"n": [2]}}"#,
        ];
        // `source` is a gate: no rule takes "c", so the broken rest is never read.
        let rejected = r#"{"source": "c", "detail": {"n": 1 !!!"#;
        assert_eq!(hits(EarlyExit, &rules, rejected), Ok(0));
        assert!(hits(Validating, &rules, rejected).is_err());
        // A value some condition takes (anything-but included) reads on.
        for (event, expected) in [
            (r#"{"source": "a", "detail": {"n": 1}}"#, 1),
            (r#"{"source": "bee"}"#, 1),
            (r#"{"source": "e", "detail": {"n": 2}}"#, 1),
            (r#"{"source": ["c", "a"], "detail": {"n": 1}}"#, 1),
            (r#"{"detail": {"n": 1}}"#, 0),
        ] {
            assert_eq!(hits(EarlyExit, &rules, event), Ok(expected), "{event}");
            assert_eq!(hits(Validating, &rules, event), Ok(expected), "{event}");
        }
        assert!(
            hits(
                EarlyExit,
                &rules,
                r#"{"source": "e", "detail": {"n": 1 !!!"#
            )
            .is_err()
        );
    }

    #[test]
    fn only_fields_every_subrule_needs_are_gates() {
        let build = |patterns: &[&str]| {
            let compiled: Vec<Pattern> = patterns
                .iter()
                .map(|p| crate::pattern::compile(p, &crate::Config::new().limits()).unwrap())
                .collect();
            let automaton = Automaton::build(
                compiled.iter().enumerate().map(|(i, p)| (i as u32, p)),
                true,
            );
            let mut gates: Vec<String> = automaton
                .gates
                .iter()
                .map(|g| automaton.fields[g.field as usize].clone())
                .collect();
            gates.sort();
            gates
        };
        assert_eq!(
            build(&[
                r#"{"source": ["a"], "detail-type": ["x"]}"#,
                r#"{"source": ["b"]}"#
            ]),
            ["source"]
        );
        // `exists: false` passes when the field is missing.
        assert!(build(&[r#"{"source": ["a"]}"#, r#"{"source": [{"exists": false}]}"#]).is_empty());
        // One `$or` branch without the field is enough to keep it from gating.
        assert!(build(&[r#"{"$or": [{"source": ["a"]}, {"id": ["1"]}]}"#]).is_empty());
        assert_eq!(
            build(&[r#"{"source": ["a"], "$or": [{"id": ["1"]}, {"id": ["2"], "x": [1]}]}"#]),
            ["id", "source"]
        );
    }

    #[test]
    fn trails_merge_or_conflict() {
        let mut arena = vec![(0, 1), (3, 2)];
        let merged = merge_trails(&mut arena, &[], 0, 2, &[(1, 0), (3, 2)]).unwrap();
        assert_eq!(
            &arena[merged.0 as usize..][..merged.1 as usize],
            &[(0, 1), (1, 0), (3, 2)]
        );
        assert!(merge_trails(&mut arena, &[], 0, 2, &[(0, 2)]).is_none());
        assert_eq!(arena.len(), 5);
        // A frame trail still among the scanner's trails.
        let scanned = [(9, 9), (0, 1), (3, 2)];
        let merged = merge_trails(&mut arena, &scanned, 1 | IN_SCAN, 2, &[(1, 0)]).unwrap();
        assert_eq!(
            &arena[merged.0 as usize..][..merged.1 as usize],
            &[(0, 1), (1, 0), (3, 2)]
        );
        assert!(merge_trails(&mut arena, &scanned, 1 | IN_SCAN, 2, &[(3, 1)]).is_none());
    }
}
