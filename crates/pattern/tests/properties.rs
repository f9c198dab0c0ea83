//! Property test: for random rule sets and random events, the automaton (in
//! both scan modes) finds exactly the rules the brute-force reference finds.

use proptest::prelude::*;
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode, check, reference};

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("a".to_string()),
        4 => Just("b".to_string()),
        2 => Just("c".to_string()),
        1 => Just("a.b".to_string()),
    ]
}

fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"\"".to_string()),
        Just("\"x\"".to_string()),
        Just("\"xy\"".to_string()),
        Just("\"X\"".to_string()),
        Just("\"yx\"".to_string()),
        Just("\"x*y\"".to_string()),
        Just("\"10.0.0.1\"".to_string()),
        Just("\"\\u0078\"".to_string()),
    ]
}

fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0"),
        Just("1"),
        Just("-1"),
        Just("1.5"),
        Just("300"),
        Just("3e2"),
        Just("1e-9"),
        Just("-0.0"),
        Just("9007199254740993"),
    ]
    .prop_map(str::to_string)
}

fn event_leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => string_literal(),
        3 => number_literal(),
        1 => Just("true".to_string()),
        1 => Just("false".to_string()),
        1 => Just("null".to_string()),
    ]
}

fn event_value() -> impl Strategy<Value = String> {
    event_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::btree_map(key(), inner, 0..4).prop_map(object),
        ]
    })
}

fn object(members: std::collections::BTreeMap<String, String>) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn event() -> impl Strategy<Value = String> {
    prop::collection::btree_map(key(), event_value(), 0..5).prop_map(object)
}

/// An event whose members, `g` among them when present, come in any order.
fn gated_event() -> impl Strategy<Value = String> {
    (
        prop::collection::btree_map(key(), event_value(), 0..5),
        prop::option::of(event_value()),
    )
        .prop_flat_map(|(members, gate)| {
            let mut members: Vec<(String, String)> = members.into_iter().collect();
            members.extend(gate.map(|g| ("g".to_string(), g)));
            Just(members).prop_shuffle()
        })
        .prop_map(|members| {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            format!("{{{}}}", body.join(","))
        })
}

fn condition() -> impl Strategy<Value = String> {
    let text = prop_oneof![Just("x"), Just("xy"), Just("X"), Just("y")];
    prop_oneof![
        3 => string_literal(),
        2 => number_literal(),
        1 => Just("null".to_string()),
        1 => Just("true".to_string()),
        1 => text.clone().prop_map(|t| format!("{{\"prefix\":\"{t}\"}}")),
        1 => text.clone().prop_map(|t| format!("{{\"suffix\":\"{t}\"}}")),
        1 => text.clone().prop_map(|t| format!("{{\"prefix\":{{\"equals-ignore-case\":\"{t}\"}}}}")),
        1 => text.clone().prop_map(|t| format!("{{\"suffix\":{{\"equals-ignore-case\":\"{t}\"}}}}")),
        1 => text.clone().prop_map(|t| format!("{{\"equals-ignore-case\":\"{t}\"}}")),
        1 => prop_oneof![Just("*"), Just("x*"), Just("*y"), Just("x*y"), Just("")]
            .prop_map(|w| format!("{{\"wildcard\":\"{w}\"}}")),
        1 => string_literal().prop_map(|s| format!("{{\"anything-but\":{s}}}")),
        1 => number_literal().prop_map(|n| format!("{{\"anything-but\":[{n},7]}}")),
        1 => text.clone().prop_map(|t| format!("{{\"anything-but\":{{\"prefix\":\"{t}\"}}}}")),
        1 => text.clone().prop_map(|t| format!("{{\"anything-but\":{{\"suffix\":[\"{t}\"]}}}}")),
        1 => text.clone().prop_map(|t| format!("{{\"anything-but\":{{\"equals-ignore-case\":\"{t}\"}}}}")),
        1 => prop_oneof![Just("*"), Just("x*")].prop_map(|w| format!("{{\"anything-but\":{{\"wildcard\":\"{w}\"}}}}")),
        2 => prop_oneof![
            Just("[\">\",0]"), Just("[\"<\",1.5]"), Just("[\">=\",-1,\"<=\",300]"),
            Just("[\">\",1,\"<\",9007199254740993]"), Just("[\"=\",3e2]"), Just("[\"<=\",-0.0]"),
        ]
        .prop_map(|r| format!("{{\"numeric\":{r}}}")),
        1 => any::<bool>().prop_map(|b| format!("{{\"exists\":{b}}}")),
        1 => Just("{\"cidr\":\"10.0.0.0/8\"}".to_string()),
    ]
}

fn leaf_list() -> impl Strategy<Value = String> {
    prop::collection::vec(condition(), 1..3).prop_map(|v| format!("[{}]", v.join(",")))
}

fn pattern_object(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return prop::collection::btree_map(key(), leaf_list(), 1..3)
            .prop_map(object)
            .boxed();
    }
    let member = prop_oneof![3 => leaf_list(), 1 => pattern_object(depth - 1)];
    let plain = prop::collection::btree_map(key(), member, 1..3).prop_map(object);
    let with_or = (
        prop::collection::btree_map(key(), leaf_list(), 0..2),
        prop::collection::vec(pattern_object(depth - 1), 2..4),
    )
        .prop_map(|(fields, branches)| {
            let mut body: Vec<String> =
                fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            body.push(format!("\"$or\":[{}]", branches.join(",")));
            format!("{{{}}}", body.join(","))
        });
    prop_oneof![3 => plain, 1 => with_or].boxed()
}

/// Early exit stops reading an object once every path a rule names under it
/// has been read, so it cannot see a later dotted spelling of such a path
/// (`{"a": {"b": 1}, "a.b": 2}`): by contract it is only compared on events
/// that do not spell a path both ways within one object.
fn early_exit_applies(event: &str) -> bool {
    fn plain(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => {
                !map.keys().any(|k| {
                    k.split_once('.')
                        .is_some_and(|(first, _)| map.contains_key(first))
                }) && map.values().all(plain)
            }
            serde_json::Value::Array(items) => items.iter().all(plain),
            _ => true,
        }
    }
    serde_json::from_str::<serde_json::Value>(event).is_ok_and(|v| plain(&v))
}

/// The patterns the brute-force reference matcher finds for `event`.
fn expected(patterns: &[String], event: &str) -> Vec<usize> {
    patterns
        .iter()
        .enumerate()
        .filter(|(_, p)| reference::matches(p, event.as_bytes()) == Ok(true))
        .map(|(i, _)| i)
        .collect()
}

fn found(matcher: &Matcher, event: &str) -> Vec<usize> {
    let mut cache = matcher.create_cache();
    let mut hits = MatchSet::new(matcher.rule_count());
    matcher
        .matches_with(&mut cache, event.as_bytes(), &mut hits)
        .expect("generated events are valid");
    hits.iter().map(|id| id.index()).collect()
}

/// An element of an array of objects: some of the members `k`, `d`, `e`,
/// each a leaf, and sometimes `s`, an array of such elements again.
fn element(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![Just("\"x\""), Just("\"y\""), Just("1"), Just("[]")];
    let members = prop::collection::btree_map(
        prop_oneof![Just("k"), Just("d"), Just("e")],
        leaf.prop_map(str::to_string),
        0..3,
    );
    if depth == 0 {
        return members
            .prop_map(|m| object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
            .boxed();
    }
    (
        members,
        prop::option::of(prop::collection::vec(element(depth - 1), 0..3)),
    )
        .prop_map(|(m, nested)| {
            let mut m: std::collections::BTreeMap<String, String> =
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            if let Some(items) = nested {
                m.insert("s".to_string(), format!("[{}]", items.join(",")));
            }
            object(m)
        })
        .boxed()
}

/// A condition on a member of those elements: a value, `exists` either way,
/// or `exists: false` ORed with a value.
fn element_condition() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(r#"[{"exists":false}]"#),
        2 => Just(r#"["x"]"#),
        1 => Just(r#"["y"]"#),
        1 => Just("[1]"),
        1 => Just(r#"[{"exists":true}]"#),
        1 => Just(r#"[{"exists":false},"x"]"#),
        1 => Just(r#"[{"anything-but":"x"}]"#),
    ]
    .prop_map(str::to_string)
}

/// A rule over `a`'s elements (and `a.s`'s), with `exists: false` common.
fn element_rule() -> impl Strategy<Value = String> {
    let fields = || {
        prop::collection::btree_map(
            prop_oneof![Just("k"), Just("d"), Just("e")],
            element_condition(),
            1..4,
        )
    };
    (fields(), prop::option::of(fields())).prop_map(|(outer, inner)| {
        let mut body: Vec<String> = outer.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        if let Some(inner) = inner {
            let inner: Vec<String> = inner.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            body.push(format!("\"s\":{{{}}}", inner.join(",")));
        }
        format!("{{\"a\":{{{}}}}}", body.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// `exists: false` inside arrays of objects is judged on the elements the
    /// rule's other fields choose, at every level of nesting.
    #[test]
    fn absence_in_arrays_of_objects_agrees_with_reference(
        patterns in prop::collection::vec(element_rule(), 1..6),
        elements in prop::collection::vec(prop::collection::vec(element(1), 0..4), 1..6),
    ) {
        let events: Vec<String> = elements
            .iter()
            .map(|items| format!("{{\"a\":[{}]}}", items.join(",")))
            .collect();
        for mode in [ScanMode::Validating, ScanMode::EarlyExit] {
            let matcher = Matcher::builder()
                .configure(Config::new().scan_mode(mode))
                .build(&patterns)
                .expect("valid patterns build");
            for event in &events {
                prop_assert_eq!(found(&matcher, event), expected(&patterns, event), "mode {:?}, event {}, patterns {:?}", mode, event, patterns);
            }
        }
    }

    #[test]
    fn automaton_agrees_with_reference(
        patterns in prop::collection::vec(pattern_object(2), 1..8),
        events in prop::collection::vec(event(), 1..6),
    ) {
        for p in &patterns {
            prop_assert!(check(p).is_ok(), "generator made an invalid pattern: {p}: {:?}", check(p));
        }
        for mode in [ScanMode::Validating, ScanMode::EarlyExit] {
            let matcher = Matcher::builder()
                .configure(Config::new().scan_mode(mode))
                .build(&patterns)
                .expect("valid patterns build");
            for event in &events {
                if mode == ScanMode::EarlyExit && !early_exit_applies(event) {
                    continue;
                }
                prop_assert_eq!(found(&matcher, event), expected(&patterns, event), "mode {:?}, event {}, patterns {:?}", mode, event, patterns);
            }
        }
    }

    /// Every rule names `g` (a gate: early exit stops reading an event whose
    /// `g` no rule accepts); events have `g` anywhere among their fields, or not at all.
    #[test]
    fn gated_rules_agree_with_reference(
        rules in prop::collection::vec((leaf_list(), pattern_object(1)), 1..6),
        events in prop::collection::vec(gated_event(), 1..6),
    ) {
        let patterns: Vec<String> = rules
            .iter()
            .map(|(gate, rest)| format!("{{\"g\":{gate},{}", &rest[1..]))
            .collect();
        let matcher = Matcher::builder()
            .configure(Config::new().scan_mode(ScanMode::EarlyExit))
            .build(&patterns)
            .expect("valid patterns build");
        for event in &events {
            if !early_exit_applies(event) {
                continue;
            }
            prop_assert_eq!(found(&matcher, event), expected(&patterns, event), "event {}, patterns {:?}", event, patterns);
        }
    }

    #[test]
    fn adding_and_removing_rules_keeps_results(
        patterns in prop::collection::vec(pattern_object(1), 2..6),
        events in prop::collection::vec(event(), 1..4),
    ) {
        let full = Matcher::builder().build(&patterns).expect("valid patterns build");
        let mut grown = Matcher::builder().build(&patterns[..1]).expect("valid");
        for p in &patterns[1..] {
            grown = grown.with_rule(None, p).expect("valid").0;
        }
        let without_first = full.without_rule(sluice_pattern::RuleId::new(0));
        for event in &events {
            let all = found(&full, event);
            prop_assert_eq!(found(&grown, event), all.clone());
            let rest: Vec<usize> = all.into_iter().filter(|&i| i != 0).collect();
            prop_assert_eq!(found(&without_first, event), rest);
        }
    }
}
