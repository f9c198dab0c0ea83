//! Property test: every case-insensitive operator (`equals-ignore-case`,
//! `prefix` and `suffix` with `equals-ignore-case`, and `anything-but` with
//! `equals-ignore-case`), compiled together into one matcher in both scan
//! modes, accepts exactly the values that event-ruler's rule accepts, as
//! `reference::ignore_case_accepts` states it, over random Unicode strings.

use proptest::prelude::*;
use sluice_pattern::reference::{self, IgnoreCasePart};
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode};

/// Characters whose cases behave unusually: forms of different lengths,
/// title case, final sigma, dotless and dotted i, the Kelvin and Ångström
/// signs, ligatures, long s, and letters that fold into ASCII.
const TRICKY: &[char] = &[
    'ß', 'ẞ', 's', 'S', 'ſ', 'ς', 'σ', 'Σ', 'ı', 'i', 'I', 'İ', 'ﬀ', 'ﬃ', 'f', 'F', 'ǅ', 'ǆ', 'Ǆ',
    'K', 'k', '\u{212A}', '\u{212B}', 'å', 'Å', 'ᾼ', 'ᾳ', 'Α', 'α', 'Ι', 'ι', '\u{345}', 'ΐ', 'ŉ',
    'ǰ', 'a', 'A', 'é', 'É', '\u{301}', 'ﬅ', 'ﬆ', 'Ⱥ', 'ⱥ', 'Ω', '\u{2126}', 'x', '-',
];

fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => proptest::sample::select(TRICKY),
        2 => any::<char>(),
        1 => proptest::char::range('a', 'z'),
    ]
}

fn pattern_text() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..5).prop_map(|v| v.into_iter().collect())
}

/// A value spelled from `pattern`: each character replaced by its lower
/// case, its upper case, itself or a random character, with random
/// characters around it, so that accepted and refused values both occur.
fn value_near(pattern: String) -> impl Strategy<Value = String> {
    let n = pattern.chars().count();
    (
        prop::collection::vec((0u8..8, tricky_char()), n),
        prop::collection::vec(tricky_char(), 0..2),
        prop::collection::vec(tricky_char(), 0..2),
    )
        .prop_map(move |(choices, before, after)| {
            let mut out: String = before.into_iter().collect();
            for (c, (choice, other)) in pattern.chars().zip(choices) {
                match choice {
                    0..=2 => out.extend(c.to_lowercase()),
                    3..=5 => out.extend(c.to_uppercase()),
                    6 => out.push(c),
                    _ => out.push(other),
                }
            }
            out.extend(after);
            out
        })
}

#[derive(Clone, Copy, Debug)]
enum Operator {
    Equals,
    Prefix,
    Suffix,
    AnythingBut,
}

impl Operator {
    fn pattern(self, text: &str) -> String {
        let text = serde_json::to_string(text).expect("a string serializes");
        let test = match self {
            Operator::Equals => format!(r#"{{"equals-ignore-case": {text}}}"#),
            Operator::Prefix => format!(r#"{{"prefix": {{"equals-ignore-case": {text}}}}}"#),
            Operator::Suffix => format!(r#"{{"suffix": {{"equals-ignore-case": {text}}}}}"#),
            Operator::AnythingBut => {
                format!(r#"{{"anything-but": {{"equals-ignore-case": [{text}]}}}}"#)
            }
        };
        format!(r#"{{"v": [{test}]}}"#)
    }

    fn accepts(self, pattern: &str, value: &str) -> bool {
        match self {
            Operator::Equals => {
                reference::ignore_case_accepts(pattern, value, IgnoreCasePart::Whole)
            }
            Operator::Prefix => {
                reference::ignore_case_accepts(pattern, value, IgnoreCasePart::Start)
            }
            Operator::Suffix => reference::ignore_case_accepts(pattern, value, IgnoreCasePart::End),
            Operator::AnythingBut => {
                !reference::ignore_case_accepts(pattern, value, IgnoreCasePart::Whole)
            }
        }
    }
}

const OPERATORS: [Operator; 4] = [
    Operator::Equals,
    Operator::Prefix,
    Operator::Suffix,
    Operator::AnythingBut,
];

fn texts_and_values() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    prop::collection::vec(pattern_text(), 1..5).prop_flat_map(|texts| {
        let values = prop::collection::vec(
            proptest::sample::select(texts.clone()).prop_flat_map(value_near),
            1..8,
        );
        (Just(texts), values)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_ignore_case_operator_follows_the_reference_rule((texts, values) in texts_and_values()) {
        // Every text under every operator, in one matcher: ASCII and other
        // patterns share the indexes.
        let rules: Vec<(Operator, &String)> = OPERATORS
            .iter()
            .flat_map(|&op| texts.iter().map(move |t| (op, t)))
            .collect();
        let patterns: Vec<String> = rules.iter().map(|(op, t)| op.pattern(t)).collect();
        for mode in [ScanMode::Validating, ScanMode::EarlyExit] {
            let matcher = Matcher::builder()
                .configure(Config::new().scan_mode(mode))
                .build(&patterns)
                .expect("ignore-case patterns are valid");
            let mut cache = matcher.create_cache();
            let mut hits = MatchSet::new(matcher.rule_count());
            for value in &values {
                let event = format!(r#"{{"v": {}}}"#, serde_json::to_string(value).expect("serializes"));
                matcher.matches_with(&mut cache, event.as_bytes(), &mut hits).expect("a valid event");
                let found: Vec<usize> = hits.iter().map(|id| id.index()).collect();
                let wanted: Vec<usize> = rules
                    .iter()
                    .enumerate()
                    .filter(|(_, (op, t))| op.accepts(t, value))
                    .map(|(i, _)| i)
                    .collect();
                prop_assert_eq!(&found, &wanted, "mode {:?}, value {:?}, rules {:?}", mode, value, rules);
                // The reference matcher applies the same rule.
                for (i, pattern) in patterns.iter().enumerate() {
                    let hit = reference::matches(pattern, event.as_bytes()).expect("valid");
                    prop_assert_eq!(hit, wanted.contains(&i), "reference on {} {}", pattern, event);
                }
            }
        }
    }
}
