//! A borrowed, order-preserving JSON tree for input shaping.
//!
//! InputPath and InputTransformer select parts of an event and write them
//! out again. AWS keeps member order and number lexemes, so this tree keeps
//! the source text of every scalar (a number stays `1.50`, not `1.5`) and
//! the members of an object in source order, duplicates included.

use std::borrow::Cow;

/// Deepest nesting accepted, the same bound EventBridge puts on events.
pub const MAX_DEPTH: usize = 1000;

/// One JSON value, borrowing its text from the source document.
#[derive(Debug, Clone, PartialEq)]
pub enum Node<'a> {
    /// Members in source order; each key is the raw text between its quotes.
    Object(Vec<(&'a str, Node<'a>)>),
    /// Elements in order.
    Array(Vec<Node<'a>>),
    /// A string: the raw text between the quotes, escapes not decoded.
    String(&'a str),
    /// A number, `true`, `false` or `null`: its exact source text.
    Scalar(&'a str),
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct DocumentError {
    /// What was wrong.
    pub reason: &'static str,
    /// Where, as a byte offset into the document.
    pub offset: usize,
}

impl<'a> Node<'a> {
    /// Parses a whole JSON document.
    pub fn parse(text: &'a str) -> Result<Node<'a>, DocumentError> {
        let mut parser = Parser {
            src: text,
            bytes: text.as_bytes(),
            pos: 0,
            members: Vec::new(),
            items: Vec::new(),
        };
        let node = parser.value(0)?;
        parser.skip_ws();
        if parser.pos != parser.bytes.len() {
            return Err(parser.error("Trailing characters after the document"));
        }
        Ok(node)
    }

    /// The value of the last member named `key` (the last duplicate wins, as
    /// in pattern matching), if this is an object that has one.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        let Node::Object(members) = self else {
            return None;
        };
        members
            .iter()
            .rev()
            .find(|(raw, _)| decode_str(raw) == key)
            .map(|(_, value)| value)
    }

    /// Compact JSON text of this value (no insignificant whitespace).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the compact JSON text of this value to `out`.
    pub fn write_json(&self, out: &mut String) {
        self.write(out, true);
    }

    /// Writes the value compactly; with `quoted` false, strings (member
    /// names included) are written decoded and without their quotes.
    fn write(&self, out: &mut String, quoted: bool) {
        let write_string = |raw: &str, out: &mut String| {
            if quoted {
                out.push('"');
                out.push_str(raw);
                out.push('"');
            } else {
                out.push_str(&decode_str(raw));
            }
        };
        match self {
            Node::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write(out, quoted);
                }
                out.push('}');
            }
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out, quoted);
                }
                out.push(']');
            }
            Node::String(raw) => write_string(raw, out),
            Node::Scalar(text) => out.push_str(text),
        }
    }

    /// Text of this value as EventBridge writes it inside a string template:
    /// strings without quotes, objects and arrays with every quote removed
    /// (`{acc_id:0a787ecb,sf_id:baz}`, `[HIGH]`), other values as JSON.
    pub fn to_unquoted_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, false);
        out
    }
}

/// Decodes the raw text between a JSON string's quotes. The text was checked
/// by the parser, so decoding cannot fail; a malformed escape is kept as is.
pub fn decode_str(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let quoted = format!("\"{raw}\"");
    match serde_json::from_str::<String>(&quoted) {
        Ok(text) => Cow::Owned(text),
        Err(_) => Cow::Borrowed(raw),
    }
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// The members and elements read so far of the objects and arrays
    /// being read, innermost last: each is moved out at its end into a
    /// vector of exactly its size.
    members: Vec<(&'a str, Node<'a>)>,
    items: Vec<Node<'a>>,
}

impl<'a> Parser<'a> {
    fn error(&self, reason: &'static str) -> DocumentError {
        DocumentError {
            reason,
            offset: self.pos,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, DocumentError> {
        self.skip_ws();
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => Ok(Node::String(self.string()?)),
            Some(b't') => self.keyword("true"),
            Some(b'f') => self.keyword("false"),
            Some(b'n') => self.keyword("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("Expected a value")),
            None => Err(self.error("Unexpected end of document")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Node<'a>, DocumentError> {
        if depth > MAX_DEPTH {
            return Err(self.error("Document nested too deeply"));
        }
        self.pos += 1;
        let first = self.members.len();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Node::Object(Vec::new()));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("Expected a field name"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("Expected ':' after a field name"));
            }
            self.pos += 1;
            let value = self.value(depth)?;
            self.members.push((key, value));
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Node::Object(self.members.drain(first..).collect()));
                }
                _ => return Err(self.error("Expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Node<'a>, DocumentError> {
        if depth > MAX_DEPTH {
            return Err(self.error("Document nested too deeply"));
        }
        self.pos += 1;
        let first = self.items.len();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Node::Array(Vec::new()));
        }
        loop {
            let item = self.value(depth)?;
            self.items.push(item);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array(self.items.drain(first..).collect()));
                }
                _ => return Err(self.error("Expected ',' or ']' in an array")),
            }
        }
    }

    /// Reads a string at its opening quote; returns the text between quotes.
    fn string(&mut self) -> Result<&'a str, DocumentError> {
        let start = self.pos + 1;
        let mut at = start;
        loop {
            match self.bytes.get(at) {
                None => {
                    self.pos = at;
                    return Err(self.error("Unterminated string"));
                }
                Some(b'"') => break,
                Some(b'\\') => match self.bytes.get(at + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at += 2,
                    Some(b'u') => {
                        let hex = self.bytes.get(at + 2..at + 6);
                        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                            self.pos = at;
                            return Err(self.error("Invalid \\u escape in a string"));
                        }
                        at += 6;
                    }
                    _ => {
                        self.pos = at;
                        return Err(self.error("Invalid escape in a string"));
                    }
                },
                Some(&c) if c < 0x20 => {
                    self.pos = at;
                    return Err(self.error("Control character in a string"));
                }
                Some(_) => at += 1,
            }
        }
        self.pos = at + 1;
        Ok(&self.src[start..at])
    }

    fn keyword(&mut self, word: &'static str) -> Result<Node<'a>, DocumentError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            let text = &self.src[self.pos..self.pos + word.len()];
            self.pos += word.len();
            Ok(Node::Scalar(text))
        } else {
            Err(self.error("Unrecognized token"))
        }
    }

    fn number(&mut self) -> Result<Node<'a>, DocumentError> {
        let start = self.pos;
        let digits = |p: &mut Parser<'a>| {
            let from = p.pos;
            while p.bytes.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_len = digits(self);
        if int_len == 0 || (int_len > 1 && self.bytes[int_start] == b'0') {
            return Err(self.error("Invalid number"));
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("Invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("Invalid number"));
            }
        }
        Ok(Node::Scalar(&self.src[start..self.pos]))
    }
}

/// Checks that `text` is one JSON document and returns it without
/// insignificant whitespace, keeping member order and number lexemes.
pub fn minify(text: &str) -> Result<String, DocumentError> {
    Ok(Node::parse(text)?.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_keeps_member_order_and_number_lexemes() {
        let doc = Node::parse(r#"{"b": 1.50, "a": [true]}"#).unwrap();
        assert_eq!(doc.to_json(), r#"{"b":1.50,"a":[true]}"#);
    }

    #[test]
    fn the_last_duplicate_member_wins() {
        let doc = Node::parse(r#"{"a": 1, "a": 2}"#).unwrap();
        assert_eq!(doc.get("a"), Some(&Node::Scalar("2")));
    }

    #[test]
    fn json_text_is_compact() {
        let doc = Node::parse(r#"[ "x\n", { "k" : null } ]"#).unwrap();
        assert_eq!(doc.to_json(), r#"["x\n",{"k":null}]"#);
    }

    #[test]
    fn unquoted_text_drops_every_quote() {
        let doc = Node::parse(r#"{"ids": ["a", "b"], "n": 2}"#).unwrap();
        assert_eq!(doc.to_unquoted_text(), "{ids:[a,b],n:2}");
    }

    #[test]
    fn strings_decode_their_escapes() {
        let Node::String(raw) = Node::parse(r#""tab\there""#).unwrap() else {
            unreachable!()
        };
        assert_eq!(decode_str(raw), "tab\there");
    }

    #[test]
    fn minify_checks_and_compacts() {
        assert_eq!(minify("{ \"a\" : [1, 2.0] }").unwrap(), r#"{"a":[1,2.0]}"#);
        assert!(minify("{\"a\": }").is_err());
    }

    #[test]
    fn keeps_order_duplicates_and_lexemes() {
        let doc = Node::parse(r#"{"z":1e2,"a":-0.50,"z":"\u00e9"}"#).unwrap();
        assert_eq!(doc.to_json(), r#"{"z":1e2,"a":-0.50,"z":"\u00e9"}"#);
        assert_eq!(doc.get("z"), Some(&Node::String("\\u00e9")));
        assert_eq!(decode_str("\\u00e9"), "é");
    }

    #[test]
    fn rejects_malformed_documents() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"a",
            "\"\\x\"",
            "tru",
            "[1] 2",
            "\"\u{1}\"",
            "1e",
        ] {
            assert!(Node::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            Node::parse(&deep).unwrap_err().reason,
            "Document nested too deeply"
        );
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Node::parse(&ok).is_ok());
    }
}
