//! The pattern language: parsing, validation with EventBridge's reason texts,
//! and the intermediate form the automaton is built from.
//!
//! The compiler reads the pattern as a token stream and validates in document
//! order, so when a pattern has several faults the one reported is the first
//! one AWS reports.

pub(crate) mod cidr;
pub(crate) mod wildcard;

use std::collections::BTreeMap;

use crate::json::{Lexer, Token};
use crate::number::Decimal;
use cidr::IpRange;
use wildcard::Wildcard;

/// Limits applied while compiling one pattern.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub(crate) max_pattern_len: usize,
    pub(crate) max_fields_per_rule: usize,
    pub(crate) max_or_combinations: usize,
}

/// Field names that may not appear inside `$or` objects.
const RESERVED_IN_OR: &[&str] = &[
    "anything-but",
    "cidr",
    "equals-ignore-case",
    "exactly",
    "exists",
    "numeric",
    "prefix",
    "suffix",
    "wildcard",
    "=",
    "<",
    "<=",
    ">",
    ">=",
];

/// One value test; the tests of one field are ORed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Op {
    /// `{"exists": true|false}`.
    Exists(bool),
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An exact string.
    String(String),
    /// An exact number, compared by value.
    Number(Decimal),
    /// `{"prefix": "…"}`.
    Prefix(String),
    /// `{"prefix": {"equals-ignore-case": "…"}}` (original text).
    PrefixIgnoreCase(String),
    /// `{"suffix": "…"}`.
    Suffix(String),
    /// `{"suffix": {"equals-ignore-case": "…"}}` (original text).
    SuffixIgnoreCase(String),
    /// `{"equals-ignore-case": "…"}` (original text).
    EqualsIgnoreCase(String),
    /// `{"wildcard": "…"}`.
    Wildcard(Wildcard, String),
    /// `{"numeric": […]}`.
    Numeric(NumericRange),
    /// `{"cidr": "…"}`, or an exact string that is an IP address.
    Cidr(IpRange, String),
    /// `{"anything-but": …}`.
    AnythingBut(Exclusion),
}

/// What an `anything-but` excludes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Exclusion {
    Strings(Vec<String>),
    Numbers(Vec<Decimal>),
    IgnoreCase(Vec<String>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    Wildcards(Vec<(Wildcard, String)>),
}

/// A numeric interval; `None` is unbounded. The flag is "inclusive".
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NumericRange {
    pub(crate) low: Option<(Decimal, bool)>,
    pub(crate) high: Option<(Decimal, bool)>,
}

impl NumericRange {
    pub(crate) fn contains(&self, x: &Decimal) -> bool {
        let above = match &self.low {
            None => true,
            Some((b, true)) => x >= b,
            Some((b, false)) => x > b,
        };
        let below = match &self.high {
            None => true,
            Some((t, true)) => x <= t,
            Some((t, false)) => x < t,
        };
        above && below
    }
}

/// The conditions on one field path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FieldCondition {
    /// Dot-joined path, e.g. `detail.state.status`.
    pub(crate) path: String,
    /// ORed tests, sorted and deduplicated.
    pub(crate) ops: Vec<Op>,
}

/// A conjunction of field conditions, sorted by path; a pattern is the OR of
/// its sub-rules (more than one only when it uses `$or`).
pub(crate) type SubRule = Vec<FieldCondition>;

/// A validated pattern.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    pub(crate) subrules: Vec<SubRule>,
}

/// Why a pattern was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// `InvalidEventPatternException` with this reason.
    Invalid(String),
    /// The API's length constraint (a `ValidationException`).
    TooLong { length: usize, max: usize },
}

type Alternatives = Vec<BTreeMap<String, Vec<Op>>>;

/// Compiles a pattern.
pub(crate) fn compile(text: &str, limits: &Limits) -> Result<Pattern, Rejection> {
    let length = text.chars().count();
    if length > limits.max_pattern_len {
        return Err(Rejection::TooLong {
            length,
            max: limits.max_pattern_len,
        });
    }
    let mut compiler = Compiler {
        lexer: Lexer::new(text.as_bytes()),
        limits,
    };
    let alternatives = compiler.document().map_err(Rejection::Invalid)?;
    let mut subrules = Vec::with_capacity(alternatives.len());
    for alternative in alternatives {
        if alternative.len() > limits.max_fields_per_rule {
            return Err(Rejection::Invalid(format!(
                "Event pattern has {} fields in one rule, more than the limit of {}",
                alternative.len(),
                limits.max_fields_per_rule
            )));
        }
        let subrule: SubRule = alternative
            .into_iter()
            .map(|(path, mut ops)| {
                ops.sort();
                ops.dedup();
                FieldCondition { path, ops }
            })
            .collect();
        if !subrules.contains(&subrule) {
            subrules.push(subrule);
        }
    }
    Ok(Pattern { subrules })
}

struct Compiler<'a> {
    lexer: Lexer<'a>,
    limits: &'a Limits,
}

fn join(path: &[String], name: &str) -> String {
    let mut out = String::new();
    for step in path {
        out.push_str(step);
        out.push('.');
    }
    out.push_str(name);
    out
}

impl Compiler<'_> {
    fn next(&mut self) -> Result<Token, String> {
        match self.lexer.next_token()? {
            Some(t) => Ok(t),
            None => Err("Unexpected end-of-input".into()),
        }
    }

    fn document(&mut self) -> Result<Alternatives, String> {
        let mut alternatives: Alternatives = Vec::new();
        if self.next()? != Token::StartObject {
            return Err("Filter is not an object".into());
        }
        self.object(&mut alternatives, &mut Vec::new(), false)?;
        // Like the service, nothing after the closing brace is read.
        Ok(alternatives)
    }

    fn object(
        &mut self,
        alternatives: &mut Alternatives,
        path: &mut Vec<String>,
        inside_or: bool,
    ) -> Result<(), String> {
        let mut fields_present = false;
        loop {
            let name = match self.next()? {
                Token::EndObject => break,
                Token::FieldName(name) => name,
                other => return Err(format!("Unexpected token {}", other.text())),
            };
            fields_present = true;
            if name == "$or" {
                self.or(alternatives, path)?;
                continue;
            }
            if inside_or && RESERVED_IN_OR.contains(&name.as_str()) {
                return Err(format!(
                    "{name} is Ruler reserved fieldName which cannot be used inside $or."
                ));
            }
            match self.next()? {
                Token::StartObject => {
                    path.push(name);
                    self.object(alternatives, path, inside_or)?;
                    path.pop();
                }
                Token::StartArray => {
                    let ops = self.value_list()?;
                    if alternatives.is_empty() {
                        alternatives.push(BTreeMap::new());
                    }
                    let key = join(path, &name);
                    for alternative in alternatives.iter_mut() {
                        alternative.insert(key.clone(), ops.clone());
                    }
                }
                _ => return Err(format!("\"{name}\" must be an object or an array")),
            }
        }
        if !fields_present {
            return Err("Empty objects are not allowed".into());
        }
        Ok(())
    }

    fn or(
        &mut self,
        alternatives: &mut Alternatives,
        path: &mut Vec<String>,
    ) -> Result<(), String> {
        let before = std::mem::take(alternatives);
        if self.next()? != Token::StartArray {
            return Err("It must be an Array followed with $or.".into());
        }
        let mut members = 0;
        loop {
            match self.next()? {
                Token::EndArray => break,
                Token::StartObject => {
                    members += 1;
                    let mut branch = if before.is_empty() {
                        vec![BTreeMap::new()]
                    } else {
                        before.clone()
                    };
                    self.object(&mut branch, path, true)?;
                    alternatives.extend(branch);
                    if alternatives.len() > self.limits.max_or_combinations {
                        return Err(format!(
                            "Event pattern expands to more than {} combinations through $or",
                            self.limits.max_or_combinations
                        ));
                    }
                }
                _ => return Err("Only JSON object is allowed in array of $or relationship.".into()),
            }
        }
        if members < 2 {
            return Err("There must have at least 2 Objects in $or relationship.".into());
        }
        Ok(())
    }

    /// The array of a leaf, after its `[`.
    fn value_list(&mut self) -> Result<Vec<Op>, String> {
        let mut ops = Vec::new();
        loop {
            match self.next()? {
                Token::EndArray => break,
                Token::StartObject => self.match_expression(&mut ops)?,
                Token::String(s) => {
                    if let Some(range) = IpRange::single(&s) {
                        ops.push(Op::Cidr(range, s.clone()));
                    }
                    ops.push(Op::String(s));
                }
                Token::Number(n) => ops.push(Op::Number(number(&n)?)),
                Token::True => ops.push(Op::Bool(true)),
                Token::False => ops.push(Op::Bool(false)),
                Token::Null => ops.push(Op::Null),
                _ => return Err("Match value must be String, number, true, false, or null".into()),
            }
        }
        if ops.is_empty() {
            return Err("Empty arrays are not allowed".into());
        }
        Ok(ops)
    }

    fn end_object(&mut self, message: &str) -> Result<(), String> {
        if self.next()? != Token::EndObject {
            return Err(message.into());
        }
        Ok(())
    }

    fn string_operand(&mut self, message: &str) -> Result<String, String> {
        match self.next()? {
            Token::String(s) => Ok(s),
            _ => Err(message.into()),
        }
    }

    /// A `{ "<operator>": … }` object, after its `{`.
    fn match_expression(&mut self, ops: &mut Vec<Op>) -> Result<(), String> {
        const ONE_KEY: &str = "Only one key allowed in match expression";
        let Token::FieldName(operator) = self.next()? else {
            return Err("Match expression name not found".into());
        };
        match operator.as_str() {
            "exactly" => {
                let s = self.string_operand("exact match pattern must be a string")?;
                ops.push(Op::String(s));
                self.end_object(ONE_KEY)
            }
            "prefix" | "suffix" => {
                let is_prefix = operator == "prefix";
                match self.next()? {
                    Token::StartObject => {
                        let s = self.ignore_case_operand(&operator)?;
                        ops.push(if is_prefix {
                            Op::PrefixIgnoreCase(s)
                        } else {
                            Op::SuffixIgnoreCase(s)
                        });
                        self.end_object(ONE_KEY)?;
                        self.end_object(ONE_KEY)
                    }
                    Token::String(s) => {
                        ops.push(if is_prefix {
                            Op::Prefix(s)
                        } else {
                            Op::Suffix(s)
                        });
                        self.end_object(ONE_KEY)
                    }
                    _ => Err(format!("{operator} match pattern must be a string")),
                }
            }
            "numeric" => {
                if self.next()? != Token::StartArray {
                    return Err("Value of numeric must be an array.".into());
                }
                ops.push(Op::Numeric(self.numeric()?));
                self.end_object("Too many elements in numeric expression")
            }
            "anything-but" => self.anything_but(ops),
            "exists" => {
                let exists = match self.next()? {
                    Token::True => true,
                    Token::False => false,
                    _ => return Err("exists match pattern must be either true or false.".into()),
                };
                ops.push(Op::Exists(exists));
                self.end_object(ONE_KEY)
            }
            "cidr" => {
                // The service reports a non-string cidr with the prefix text.
                let s = self.string_operand("prefix match pattern must be a string")?;
                ops.push(Op::Cidr(IpRange::parse_cidr(&s)?, s));
                self.end_object(ONE_KEY)
            }
            "equals-ignore-case" => {
                let s = self.string_operand("equals-ignore-case match pattern must be a string")?;
                ops.push(Op::EqualsIgnoreCase(s));
                self.end_object(ONE_KEY)
            }
            "wildcard" => {
                let s = self.string_operand("wildcard match pattern must be a string")?;
                ops.push(Op::Wildcard(Wildcard::parse(&s)?, s));
                self.end_object(ONE_KEY)
            }
            _ => Err(format!("Unrecognized match type {operator}")),
        }
    }

    /// `{"equals-ignore-case": "…"}` nested in prefix/suffix, after its `{`.
    fn ignore_case_operand(&mut self, operator: &str) -> Result<String, String> {
        let Token::FieldName(inner) = self.next()? else {
            let capital = if operator == "prefix" {
                "Prefix"
            } else {
                "Suffix"
            };
            return Err(format!("{capital} expression name not found"));
        };
        if inner != "equals-ignore-case" {
            return Err(format!("Unsupported {operator} pattern: {inner}"));
        }
        self.string_operand("equals-ignore-case match pattern must be a string")
    }

    /// The array of a `numeric` expression, after its `[`.
    fn numeric(&mut self) -> Result<NumericRange, String> {
        let operator = match self.next()? {
            Token::String(s) => s,
            other => return Err(format!("Invalid member in numeric match: {}", other.text())),
        };
        let operand = self.next()?;
        let value = |t: &Token, name: &str| -> Result<Decimal, String> {
            match t {
                Token::Number(n) => number(n),
                _ => Err(format!("Value of {name} must be numeric")),
            }
        };
        let too_many = "Too many elements in numeric expression";
        match operator.as_str() {
            "=" => {
                let v = value(&operand, "equals")?;
                if self.next()? != Token::EndArray {
                    return Err(too_many.into());
                }
                Ok(NumericRange {
                    low: Some((v.clone(), true)),
                    high: Some((v, true)),
                })
            }
            ">" | ">=" => {
                let low = (value(&operand, &operator)?, operator == ">=");
                match self.next()? {
                    Token::EndArray => Ok(NumericRange {
                        low: Some(low),
                        high: None,
                    }),
                    Token::String(top_operator) => {
                        if top_operator != "<" && top_operator != "<=" {
                            return Err(format!("Bad numeric range operator: {top_operator}"));
                        }
                        let high = (value(&self.next()?, &top_operator)?, top_operator == "<=");
                        if self.next()? != Token::EndArray {
                            return Err("Too many terms in numeric range expression".into());
                        }
                        // Equal bounds are refused whatever the operators,
                        // as event-ruler's range check does.
                        if low.0 >= high.0 {
                            return Err("Bottom must be less than top".into());
                        }
                        Ok(NumericRange {
                            low: Some(low),
                            high: Some(high),
                        })
                    }
                    other => Err(format!("Bad value in numeric range: {}", other.text())),
                }
            }
            "<" | "<=" => {
                let high = (value(&operand, &operator)?, operator == "<=");
                if self.next()? != Token::EndArray {
                    return Err(too_many.into());
                }
                Ok(NumericRange {
                    low: None,
                    high: Some(high),
                })
            }
            _ => Err(format!("Unrecognized numeric range operator: {operator}")),
        }
    }

    fn anything_but(&mut self, ops: &mut Vec<Op>) -> Result<(), String> {
        const TOO_MANY: &str = "Too many elements in numeric expression";
        let mut token = self.next()?;
        let mut kind: Option<String> = None;
        if token == Token::StartObject {
            let Token::FieldName(inner) = self.next()? else {
                return Err("Anything-But expression name not found".into());
            };
            if !matches!(
                inner.as_str(),
                "equals-ignore-case" | "prefix" | "suffix" | "wildcard"
            ) {
                return Err(format!("Unsupported anything-but pattern: {inner}"));
            }
            kind = Some(inner);
            token = self.next()?;
        }
        if !matches!(
            token,
            Token::StartArray | Token::String(_) | Token::Number(_)
        ) {
            return Err(
                "Value of anything-but must be an array or single string/number value.".into(),
            );
        }
        let exclusion = match kind.as_deref() {
            None => self.anything_but_values(token)?,
            Some(kind) => self.anything_but_set(token, kind)?,
        };
        ops.push(Op::AnythingBut(exclusion));
        self.end_object(TOO_MANY)?;
        if kind.is_some() {
            self.end_object(TOO_MANY)?;
        }
        Ok(())
    }

    /// Plain `anything-but`: one value or a list, all strings or all numbers.
    fn anything_but_values(&mut self, first: Token) -> Result<Exclusion, String> {
        let mut strings = Vec::new();
        let mut numbers = Vec::new();
        match first {
            Token::String(s) => strings.push(s),
            Token::Number(n) => numbers.push(number(&n)?),
            _ => loop {
                match self.next()? {
                    Token::EndArray => break,
                    Token::String(s) => strings.push(s),
                    Token::Number(n) => numbers.push(number(&n)?),
                    _ => {
                        return Err(
                            "Inside anything but list, start|null|boolean is not supported.".into(),
                        );
                    }
                }
            },
        }
        match (strings.is_empty(), numbers.is_empty()) {
            (false, true) => Ok(Exclusion::Strings(sorted(strings))),
            (true, false) => Ok(Exclusion::Numbers(sorted(numbers))),
            _ => Err(
                "Inside anything but list, either all values are number or string, mixed type is not supported"
                    .into(),
            ),
        }
    }

    /// `anything-but` with `equals-ignore-case`, `prefix`, `suffix` or `wildcard`.
    fn anything_but_set(&mut self, first: Token, kind: &str) -> Result<Exclusion, String> {
        let wrong_type = match kind {
            "equals-ignore-case" => {
                "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
            }
            "wildcard" => "wildcard match pattern must be a string",
            _ => "prefix/suffix match pattern must be a string",
        };
        let mut values = Vec::new();
        let mut take = |token: Token| -> Result<(), String> {
            match token {
                Token::String(s) => {
                    if s.is_empty() && (kind == "prefix" || kind == "suffix") {
                        return Err("Null prefix/suffix not allowed".into());
                    }
                    values.push(s);
                    Ok(())
                }
                _ => Err(wrong_type.into()),
            }
        };
        if first == Token::StartArray {
            loop {
                match self.next()? {
                    Token::EndArray => break,
                    t => take(t)?,
                }
            }
        } else {
            take(first)?;
        }
        let values = sorted(values);
        Ok(match kind {
            "equals-ignore-case" => Exclusion::IgnoreCase(values),
            "prefix" => Exclusion::Prefixes(values),
            "suffix" => Exclusion::Suffixes(values),
            _ => {
                let mut wildcards = Vec::with_capacity(values.len());
                for v in values {
                    wildcards.push((Wildcard::parse(&v)?, v));
                }
                Exclusion::Wildcards(wildcards)
            }
        })
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

fn number(lexeme: &str) -> Result<Decimal, String> {
    Decimal::parse(lexeme.as_bytes()).ok_or_else(|| format!("Invalid number: {lexeme}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_pattern_len: 4096,
            max_fields_per_rule: 256,
            max_or_combinations: 1000,
        }
    }

    fn reason(text: &str) -> String {
        match compile(text, &limits()) {
            Err(Rejection::Invalid(r)) => r,
            other => panic!("{text}: expected an invalid pattern, got {other:?}"),
        }
    }

    #[test]
    fn or_expands_into_subrules() {
        let p = compile(
            r#"{"source":["a"],"$or":[{"x":[1]},{"y":[2],"$or":[{"z":[3]},{"w":[4]}]}]}"#,
            &limits(),
        )
        .unwrap();
        let paths: Vec<Vec<&str>> = p
            .subrules
            .iter()
            .map(|s| s.iter().map(|f| f.path.as_str()).collect())
            .collect();
        assert_eq!(
            paths,
            vec![
                vec!["source", "x"],
                vec!["source", "y", "z"],
                vec!["source", "w", "y"]
            ]
        );
    }

    #[test]
    fn dotted_and_nested_keys_are_one_path_and_last_wins() {
        let p = compile(r#"{"a":{"b.c":["1"]},"a.b":{"c":["2"]}}"#, &limits()).unwrap();
        assert_eq!(p.subrules.len(), 1);
        assert_eq!(p.subrules[0].len(), 1);
        assert_eq!(p.subrules[0][0].ops, vec![Op::String("2".into())]);
    }

    #[test]
    fn reasons_follow_document_order() {
        assert_eq!(
            reason(r#"{"a": 1, "b": }"#),
            "\"a\" must be an object or an array"
        );
        assert_eq!(reason("[]"), "Filter is not an object");
        assert_eq!(reason("{}"), "Empty objects are not allowed");
        assert_eq!(reason(r#"{"a":{}}"#), "Empty objects are not allowed");
        assert_eq!(
            reason(r#"{"a":[[1]]}"#),
            "Match value must be String, number, true, false, or null"
        );
        assert_eq!(reason(r#"{"a":[{}]}"#), "Match expression name not found");
        assert_eq!(
            reason(r#"{"a":[{"prefix":"x","suffix":"y"}]}"#),
            "Only one key allowed in match expression"
        );
        assert_eq!(
            reason(r#"{"a":[{"numeric":["<",1,2]}]}"#),
            "Too many elements in numeric expression"
        );
        assert_eq!(
            reason(r#"{"a":[{"numeric":[">",1,"<",2,3]}]}"#),
            "Too many terms in numeric range expression"
        );
        assert_eq!(
            reason(r#"{"a":[{"numeric":["!",1]}]}"#),
            "Unrecognized numeric range operator: !"
        );
        assert_eq!(
            reason(r#"{"a":[{"numeric":[1]}]}"#),
            "Invalid member in numeric match: 1"
        );
        assert_eq!(
            reason(r#"{"a":[{"numeric":["=","x"]}]}"#),
            "Value of equals must be numeric"
        );
        assert_eq!(
            reason(r#"{"a":[{"numeric":[">",5,"<",1]}]}"#),
            "Bottom must be less than top"
        );
        assert_eq!(
            reason(r#"{"a":[{"exists":"yes"}]}"#),
            "exists match pattern must be either true or false."
        );
        assert_eq!(
            reason(r#"{"a":[{"anything-but":{"exactly":"x"}}]}"#),
            "Unsupported anything-but pattern: exactly"
        );
        assert_eq!(
            reason(r#"{"a":[{"anything-but":[]}]}"#),
            "Inside anything but list, either all values are number or string, mixed type is not supported"
        );
        assert_eq!(
            reason(r#"{"a":[{"anything-but":["a",1]}]}"#),
            "Inside anything but list, either all values are number or string, mixed type is not supported"
        );
        assert_eq!(
            reason(r#"{"a":[{"prefix":{"foo":"x"}}]}"#),
            "Unsupported prefix pattern: foo"
        );
        assert_eq!(
            reason(r#"{"$or":[{"a":["1"]}]}"#),
            "There must have at least 2 Objects in $or relationship."
        );
        assert_eq!(
            reason(r#"{"$or":{"a":["1"]}}"#),
            "It must be an Array followed with $or."
        );
        assert_eq!(
            reason(r#"{"$or":[{"a":["1"]},[]]}"#),
            "Only JSON object is allowed in array of $or relationship."
        );
        assert_eq!(
            reason(r#"{"$or":[{"numeric":["1"]},{"b":["1"]}]}"#),
            "numeric is Ruler reserved fieldName which cannot be used inside $or."
        );
        assert_eq!(
            reason(r#"{"a":[{"wildcard":"a\\b"}]}"#),
            "Invalid escape character at pos 2"
        );
    }

    #[test]
    fn or_combinations_are_limited() {
        let branch = r#"[{"a":["1"]},{"b":["1"]},{"c":["1"]},{"d":["1"]},{"e":["1"]},{"f":["1"]},{"g":["1"]},{"h":["1"]},{"i":["1"]},{"j":["1"]}]"#;
        let three =
            format!(r#"{{"x":{{"$or":{branch}}},"y":{{"$or":{branch}}},"z":{{"$or":{branch}}}}}"#);
        assert_eq!(compile(&three, &limits()).unwrap().subrules.len(), 1000);
        let four = format!(
            r#"{{"x":{{"$or":{branch}}},"y":{{"$or":{branch}}},"z":{{"$or":{branch}}},"w":{{"$or":{branch}}}}}"#
        );
        assert!(reason(&four).contains("more than 1000 combinations"));
    }

    #[test]
    fn length_limit() {
        let long = format!(r#"{{"a":["{}"]}}"#, "x".repeat(5000));
        assert_eq!(
            compile(&long, &limits()).unwrap_err(),
            Rejection::TooLong {
                length: 5010,
                max: 4096
            }
        );
    }
}
