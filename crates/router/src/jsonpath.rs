//! The JSONPath subset EventBridge accepts in InputPath, InputPathsMap and
//! KinesisParameters.PartitionKeyPath: `$`, dot members (letters, digits,
//! `-`, `_`, `/`), bracketed quoted members (`$['a b']`), array indices
//! (`$.a[0]`) and the `*` wildcard (`$.a.*`, `$.a[*]`).

use crate::document::{Node, decode_str};

/// Longest path AWS accepts.
pub const MAX_PATH_LEN: usize = 256;

/// A compiled path.
///
/// ```
/// use sluice_router::transform::JsonPath;
/// let path = JsonPath::parse("$.detail.ids[1]").unwrap();
/// assert_eq!(path.as_str(), "$.detail.ids[1]");
/// assert!(JsonPath::parse("detail").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Member(String),
    Index(usize),
    Wildcard,
}

/// Why a path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} is not a valid JSONPath: {reason}")]
pub struct JsonPathError {
    /// The path as written.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl JsonPath {
    /// Compiles a path.
    ///
    /// ```
    /// use sluice_router::transform::JsonPath;
    /// assert!(JsonPath::parse("$.detail.state-name").is_ok());
    /// assert!(JsonPath::parse("detail").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<JsonPath, JsonPathError> {
        let fail = |reason| JsonPathError {
            path: text.to_string(),
            reason,
        };
        if text.len() > MAX_PATH_LEN {
            return Err(fail("longer than 256 characters"));
        }
        let Some(mut rest) = text.strip_prefix('$') else {
            return Err(fail("it must start with '$'"));
        };
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                if let Some(after_star) = after.strip_prefix('*') {
                    steps.push(Step::Wildcard);
                    rest = after_star;
                    continue;
                }
                let len = after
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/'))
                    .count();
                if len == 0 {
                    return Err(fail("a '.' must be followed by a member name or '*'"));
                }
                steps.push(Step::Member(after[..len].to_string()));
                rest = &after[len..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let Some(close) = after.find(']') else {
                    return Err(fail("'[' without ']'"));
                };
                let inside = &after[..close];
                let step = if inside == "*" {
                    Step::Wildcard
                } else if let Some(quoted) = inside
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    Step::Member(quoted.to_string())
                } else if !inside.is_empty() && inside.bytes().all(|b| b.is_ascii_digit()) {
                    match inside.parse() {
                        Ok(index) => Step::Index(index),
                        Err(_) => return Err(fail("array index out of range")),
                    }
                } else {
                    return Err(fail("brackets must hold an index, '*' or a quoted name"));
                };
                steps.push(step);
                rest = &after[close + 1..];
            } else {
                return Err(fail("expected '.' or '[' after a step"));
            }
        }
        Ok(JsonPath {
            text: text.to_string(),
            steps,
        })
    }

    /// The path as written.
    ///
    /// ```
    /// use sluice_router::transform::JsonPath;
    /// assert_eq!(JsonPath::parse("$.id").unwrap().as_str(), "$.id");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path selects a list of values (`*` appears in it).
    ///
    /// ```
    /// use sluice_router::transform::JsonPath;
    /// assert!(JsonPath::parse("$.resources[*]").unwrap().has_wildcard());
    /// ```
    pub fn has_wildcard(&self) -> bool {
        self.steps.contains(&Step::Wildcard)
    }

    /// The value the path selects in `root`, or `None` when nothing is there.
    /// A path with `*` yields an array of every value it reaches (`None` when
    /// it reaches none).
    pub(crate) fn select<'a>(&self, root: &Node<'a>) -> Option<Node<'a>> {
        if !self.has_wildcard() {
            let mut node = root;
            for step in &self.steps {
                node = step_into(node, step)?;
            }
            return Some(node.clone());
        }
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for node in current {
                match step {
                    Step::Wildcard => match node {
                        Node::Object(members) => next.extend(members.iter().map(|(_, v)| v)),
                        Node::Array(items) => next.extend(items.iter()),
                        _ => {}
                    },
                    _ => next.extend(step_into(node, step)),
                }
            }
            current = next;
        }
        if current.is_empty() {
            None
        } else {
            Some(Node::Array(current.into_iter().cloned().collect()))
        }
    }
}

fn step_into<'n, 'a>(node: &'n Node<'a>, step: &Step) -> Option<&'n Node<'a>> {
    match (node, step) {
        (Node::Object(members), Step::Member(name)) => members
            .iter()
            .rev()
            .find(|(raw, _)| decode_str(raw) == name.as_str())
            .map(|(_, value)| value),
        (Node::Array(items), Step::Index(index)) => items.get(*index),
        _ => None,
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_select_members_and_indices() {
        let path = JsonPath::parse("$.detail.ids[1]").unwrap();
        let event = Node::parse(r#"{"detail": {"ids": ["a", "b"]}}"#).unwrap();
        assert_eq!(path.select(&event).unwrap().to_json(), r#""b""#);
    }

    #[test]
    fn a_wildcard_selects_every_value_it_reaches() {
        let event = Node::parse(r#"{"a": [{"b": 1}, {"b": 2}, {}]}"#).unwrap();
        let all = JsonPath::parse("$.a[*].b").unwrap().select(&event).unwrap();
        assert_eq!(all.to_json(), "[1,2]");
        assert!(JsonPath::parse("$.x").unwrap().select(&event).is_none());
    }

    #[test]
    fn parses_the_accepted_forms() {
        for ok in [
            "$",
            "$.detail",
            "$.detail.state-name",
            "$.a_b.c/d",
            "$.a[0]",
            "$.a[0][12].b",
            "$['a b'].c",
            "$[\"x\"]",
            "$.a.*",
            "$.a[*]",
        ] {
            assert!(JsonPath::parse(ok).is_ok(), "{ok} rejected");
        }
        for bad in [
            "", "detail", "$.", "$..a", "$.a[", "$.a[x]", "$.a b", "$[-1]",
        ] {
            assert!(JsonPath::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(JsonPath::parse(&format!("$.{}", "a".repeat(255))).is_err());
    }

    #[test]
    fn selects_members_indices_and_wildcards() {
        let doc = Node::parse(r#"{"a":{"b c":[10,20]},"d":"x\"y","o":{"p":1,"q":2}}"#).unwrap();
        let pick = |p: &str| {
            JsonPath::parse(p)
                .unwrap()
                .select(&doc)
                .map(|n| n.to_json())
        };
        assert_eq!(pick("$").unwrap(), doc.to_json());
        assert_eq!(pick("$['a']['b c'][1]").as_deref(), Some("20"));
        assert_eq!(pick("$.d").as_deref(), Some(r#""x\"y""#));
        assert_eq!(pick("$.o.*").as_deref(), Some("[1,2]"));
        assert_eq!(pick("$.a['b c'][5]"), None);
        assert_eq!(pick("$.d.*"), None);
    }
}
