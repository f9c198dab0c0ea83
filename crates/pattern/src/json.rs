//! A small streaming JSON tokenizer whose syntax errors read like the ones
//! EventBridge returns (its service parses patterns with Jackson).
//!
//! It is used where fidelity of messages matters more than speed: the pattern
//! compiler and the reference matcher. The hot path uses `scan.rs` instead.

/// One JSON token. Strings are decoded; numbers stay lexemes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Token {
    StartObject,
    EndObject,
    StartArray,
    EndArray,
    FieldName(String),
    String(String),
    Number(String),
    True,
    False,
    Null,
}

impl Token {
    /// The token's text, as Jackson's `getText()` gives it.
    pub(crate) fn text(&self) -> String {
        match self {
            Token::StartObject => "{".into(),
            Token::EndObject => "}".into(),
            Token::StartArray => "[".into(),
            Token::EndArray => "]".into(),
            Token::FieldName(s) | Token::String(s) | Token::Number(s) => s.clone(),
            Token::True => "true".into(),
            Token::False => "false".into(),
            Token::Null => "null".into(),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Object,
    Array,
}

#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// Start of the document.
    Root,
    /// After `{`: a field name or `}`.
    FirstField,
    /// After `,` in an object: a field name.
    Field,
    /// After a field name: a value.
    FieldValue,
    /// After `[`: a value or `]`.
    FirstElement,
    /// After `,` in an array: a value.
    Element,
    /// After a value inside a container: `,` or the close marker.
    Separator,
    /// After the root value: only whitespace.
    End,
}

/// Maximum nesting accepted before the input is rejected (Jackson's default
/// stream read constraint is 1000 as well).
pub(crate) const MAX_DEPTH: usize = 1000;

/// Streaming tokenizer over JSON text.
pub(crate) struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    /// Open containers, each with the offset of its start marker.
    stack: Vec<(Container, usize)>,
    expect: Expect,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Self {
        Lexer {
            src,
            pos: 0,
            stack: Vec::new(),
            expect: Expect::Root,
        }
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.src.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// Returns the next token, `Ok(None)` at a clean end of input.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token>, String> {
        self.skip_ws();
        let Some(&c) = self.src.get(self.pos) else {
            return match self.expect {
                Expect::Root => Err("No content to map due to end-of-input".into()),
                Expect::End => Ok(None),
                _ => Err(self.eof_message()),
            };
        };
        match self.expect {
            Expect::End => Err(format!(
                "Unexpected character ({}): expected end-of-input",
                describe(c)
            )),
            Expect::Separator => {
                let in_object = matches!(self.stack.last(), Some((Container::Object, _)));
                match c {
                    b',' => {
                        self.pos += 1;
                        self.expect = if in_object {
                            Expect::Field
                        } else {
                            Expect::Element
                        };
                        self.next_token()
                    }
                    b'}' if in_object => self.close(),
                    b']' if !in_object => self.close(),
                    _ => {
                        let what = if in_object {
                            "Object entries"
                        } else {
                            "Array entries"
                        };
                        Err(format!(
                            "Unexpected character ({}): was expecting comma to separate {what}",
                            describe(c)
                        ))
                    }
                }
            }
            Expect::FirstField | Expect::Field => {
                if c == b'}' && self.expect == Expect::FirstField {
                    return self.close();
                }
                if c != b'"' {
                    return Err(format!(
                        "Unexpected character ({}): was expecting double-quote to start field name",
                        describe(c)
                    ));
                }
                let name = self.string()?;
                self.skip_ws();
                match self.src.get(self.pos) {
                    Some(b':') => self.pos += 1,
                    Some(&other) => {
                        return Err(format!(
                            "Unexpected character ({}): was expecting a colon to separate field name and value",
                            describe(other)
                        ));
                    }
                    None => return Err(self.eof_message()),
                }
                self.expect = Expect::FieldValue;
                Ok(Some(Token::FieldName(name)))
            }
            Expect::Root | Expect::FieldValue | Expect::FirstElement | Expect::Element => {
                if c == b']' && self.expect == Expect::FirstElement {
                    return self.close();
                }
                self.value(c).map(Some)
            }
        }
    }

    /// Jackson's text for input that ends inside a container: its type
    /// and where its start marker is.
    fn eof_message(&self) -> String {
        let Some(&(container, start)) = self.stack.last() else {
            return "Unexpected end-of-input".into();
        };
        let kind = match container {
            Container::Object => "Object",
            Container::Array => "Array",
        };
        format!(
            "Unexpected end-of-input: expected close marker for {kind} (start marker at {})",
            location(self.src, start)
        )
    }

    fn close(&mut self) -> Result<Option<Token>, String> {
        self.pos += 1;
        let closed = self.stack.pop();
        self.after_value();
        Ok(Some(match closed {
            Some((Container::Object, _)) => Token::EndObject,
            _ => Token::EndArray,
        }))
    }

    fn after_value(&mut self) {
        self.expect = if self.stack.is_empty() {
            Expect::End
        } else {
            Expect::Separator
        };
    }

    fn open(&mut self, container: Container) -> Result<(), String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!(
                "Document nesting depth exceeds the maximum allowed ({MAX_DEPTH})"
            ));
        }
        self.stack.push((container, self.pos));
        self.pos += 1;
        self.expect = match container {
            Container::Object => Expect::FirstField,
            Container::Array => Expect::FirstElement,
        };
        Ok(())
    }

    fn value(&mut self, c: u8) -> Result<Token, String> {
        let token = match c {
            b'{' => {
                self.open(Container::Object)?;
                return Ok(Token::StartObject);
            }
            b'[' => {
                self.open(Container::Array)?;
                return Ok(Token::StartArray);
            }
            b'"' => Token::String(self.string()?),
            b'-' | b'0'..=b'9' => Token::Number(self.number()?),
            b't' => self.keyword(b"true", Token::True)?,
            b'f' => self.keyword(b"false", Token::False)?,
            b'n' => self.keyword(b"null", Token::Null)?,
            _ if c.is_ascii_alphabetic() || c == b'_' => return Err(self.unrecognized_token()),
            _ => {
                return Err(format!(
                    "Unexpected character ({}): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                    describe(c)
                ));
            }
        };
        self.after_value();
        Ok(token)
    }

    fn keyword(&mut self, word: &[u8], token: Token) -> Result<Token, String> {
        let end = self.pos + word.len();
        let boundary_ok = self
            .src
            .get(end)
            .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'_'));
        if self.src.get(self.pos..end) == Some(word) && boundary_ok {
            self.pos = end;
            Ok(token)
        } else {
            Err(self.unrecognized_token())
        }
    }

    fn unrecognized_token(&self) -> String {
        let rest = &self.src[self.pos..];
        let len = rest
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80)
            .count()
            .max(1);
        let token = String::from_utf8_lossy(&rest[..len.min(256)]);
        format!(
            "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        )
    }

    fn number(&mut self) -> Result<String, String> {
        let start = self.pos;
        let src = self.src;
        let mut i = self.pos;
        if src[i] == b'-' {
            i += 1;
        }
        let int_start = i;
        while i < src.len() && src[i].is_ascii_digit() {
            i += 1;
        }
        if i == int_start {
            return Err(
                "Unexpected character: expected digit (0-9) to follow minus sign, for valid numeric value"
                    .into(),
            );
        }
        if i - int_start > 1 && src[int_start] == b'0' {
            return Err("Invalid numeric value: Leading zeroes not allowed".into());
        }
        if i < src.len() && src[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < src.len() && src[i].is_ascii_digit() {
                i += 1;
            }
            if i == frac_start {
                return Err("Unexpected character: Decimal point not followed by a digit".into());
            }
        }
        if i < src.len() && (src[i] == b'e' || src[i] == b'E') {
            i += 1;
            if i < src.len() && (src[i] == b'+' || src[i] == b'-') {
                i += 1;
            }
            let exp_start = i;
            while i < src.len() && src[i].is_ascii_digit() {
                i += 1;
            }
            if i == exp_start {
                return Err(
                    "Unexpected character: Exponent indicator not followed by a digit".into(),
                );
            }
        }
        if i < src.len() && (src[i].is_ascii_alphabetic() || src[i] == b'_') {
            self.pos = start;
            return Err(self.unrecognized_token());
        }
        self.pos = i;
        Ok(String::from_utf8_lossy(&src[start..i]).into_owned())
    }

    /// Reads a string starting at the opening quote and decodes it.
    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let rest = &self.src[self.pos..];
            let Some(stop) = memchr::memchr3(b'"', b'\\', b'\n', rest).map_or_else(
                || rest.iter().position(|&b| b < 0x20),
                |p| {
                    let control = rest[..p].iter().position(|&b| b < 0x20);
                    Some(control.unwrap_or(p))
                },
            ) else {
                return Err(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                        .into(),
                );
            };
            out.extend_from_slice(&rest[..stop]);
            self.pos += stop;
            let c = self.src[self.pos];
            match c {
                b'"' => {
                    self.pos += 1;
                    return String::from_utf8(out)
                        .map_err(|_| "Invalid UTF-8 middle byte in string value".to_string());
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&esc) = self.src.get(self.pos) else {
                        return Err("Unexpected end-of-input in character escape sequence".into());
                    };
                    self.pos += 1;
                    if let Some(byte) = simple_escape(esc) {
                        out.push(byte);
                    } else if esc == b'u' {
                        let ch = decode_unicode_escape(self.src, &mut self.pos).map_err(|e| match e {
                            EscapeError::Truncated => {
                                "Unexpected end-of-input in character escape sequence".to_string()
                            }
                            EscapeError::NotHex(d) => format!(
                                "Unexpected character ({}): expected a hex-digit for character escape sequence",
                                describe(d)
                            ),
                            EscapeError::UnpairedSurrogate => "Unpaired surrogate in string value".to_string(),
                        })?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    } else {
                        return Err(format!("Unrecognized character escape {}", describe(esc)));
                    }
                }
                _ => {
                    return Err(format!(
                        "Illegal unquoted character ({}): has to be escaped using backslash to be included in string value",
                        describe(c)
                    ));
                }
            }
        }
    }
}

/// Longest source text a location quotes, in characters (Jackson's
/// content snippet).
const MAX_SNIPPET: usize = 500;

/// A Jackson location for offset `pos` of `src`:
/// `[Source: (String)"…"; line: L, column: C]`. Lines end at `\n`, `\r`
/// or `\r\n`; columns count UTF-16 units from 1, as Jackson's do on a
/// `String`. A source longer than the snippet is cut, and says by how much.
fn location(src: &[u8], pos: usize) -> String {
    let text = String::from_utf8_lossy(src);
    let before = String::from_utf8_lossy(&src[..pos.min(src.len())]);
    let mut line = 1;
    let mut column = 1;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                column = 1;
            }
            c => column += c.len_utf16(),
        }
    }
    let length = text.chars().count();
    let snippet: String = text.chars().take(MAX_SNIPPET).collect();
    let cut = if length > MAX_SNIPPET {
        format!("[truncated {} chars]", length - MAX_SNIPPET)
    } else {
        String::new()
    };
    format!("[Source: (String)\"{snippet}\"{cut}; line: {line}, column: {column}]")
}

/// The byte a one-character escape (`\\n`, `\\"`, …) stands for.
#[inline]
pub(crate) fn simple_escape(c: u8) -> Option<u8> {
    Some(match c {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    })
}

/// Why a `\\u` escape could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EscapeError {
    Truncated,
    NotHex(u8),
    UnpairedSurrogate,
}

/// Decodes the four hex digits after `\\u` at `src[*pos..]`, and the
/// `\\u` low surrogate that must follow a high one; advances `pos`.
pub(crate) fn decode_unicode_escape(src: &[u8], pos: &mut usize) -> Result<char, EscapeError> {
    let hex4 = |pos: &mut usize| -> Result<u32, EscapeError> {
        let digits = src.get(*pos..*pos + 4).ok_or(EscapeError::Truncated)?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + (d as char).to_digit(16).ok_or(EscapeError::NotHex(d))?;
        }
        *pos += 4;
        Ok(v)
    };
    let first = hex4(pos)?;
    let code = match first {
        0xD800..=0xDBFF => {
            if src.get(*pos..*pos + 2) != Some(b"\\u") {
                return Err(EscapeError::UnpairedSurrogate);
            }
            *pos += 2;
            let second = hex4(pos)?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(EscapeError::UnpairedSurrogate);
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        }
        0xDC00..=0xDFFF => return Err(EscapeError::UnpairedSurrogate),
        _ => first,
    };
    char::from_u32(code).ok_or(EscapeError::UnpairedSurrogate)
}

/// Jackson's rendering of an offending character: `'x' (code 120)`.
fn describe(c: u8) -> String {
    if c.is_ascii_graphic() || c == b' ' {
        format!("'{}' (code {})", c as char, c)
    } else {
        format!("CTRL-CHAR, code {c}")
    }
}

/// A parsed JSON document, keeping object members in order (duplicates too).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    String(String),
    Number(String),
    Bool(bool),
    Null,
}

impl Json {
    /// Parses a whole document.
    pub(crate) fn parse(src: &[u8]) -> Result<Json, String> {
        let mut lexer = Lexer::new(src);
        let first = lexer
            .next_token()?
            .ok_or_else(|| "No content to map due to end-of-input".to_string())?;
        let value = Self::from_token(&mut lexer, first)?;
        match lexer.next_token()? {
            None => Ok(value),
            Some(_) => Err("Unexpected content after the JSON value".into()),
        }
    }

    fn from_token(lexer: &mut Lexer<'_>, token: Token) -> Result<Json, String> {
        Ok(match token {
            Token::StartObject => {
                let mut members = Vec::new();
                loop {
                    match lexer.next_token()? {
                        Some(Token::FieldName(name)) => {
                            let t = lexer.next_token()?.ok_or("Unexpected end-of-input")?;
                            members.push((name, Self::from_token(lexer, t)?));
                        }
                        Some(Token::EndObject) => break,
                        _ => return Err("Malformed object".into()),
                    }
                }
                Json::Object(members)
            }
            Token::StartArray => {
                let mut items = Vec::new();
                loop {
                    match lexer.next_token()? {
                        Some(Token::EndArray) => break,
                        Some(t) => items.push(Self::from_token(lexer, t)?),
                        None => return Err("Unexpected end-of-input".into()),
                    }
                }
                Json::Array(items)
            }
            Token::String(s) => Json::String(s),
            Token::Number(n) => Json::Number(n),
            Token::True => Json::Bool(true),
            Token::False => Json::Bool(false),
            Token::Null => Json::Null,
            Token::EndObject | Token::EndArray | Token::FieldName(_) => {
                return Err("Malformed document".into());
            }
        })
    }

    /// The value of the last member named `key` (duplicate keys: last wins).
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Result<Vec<Token>, String> {
        let mut lexer = Lexer::new(src.as_bytes());
        let mut out = Vec::new();
        while let Some(t) = lexer.next_token()? {
            out.push(t);
        }
        Ok(out)
    }

    #[test]
    fn tokenizes_nested_documents() {
        let t = tokens(r#"{"a": [1, "x\u00e9\n", true, null, {"b": -2.5e3}], "c": {}}"#).unwrap();
        assert_eq!(
            t,
            vec![
                Token::StartObject,
                Token::FieldName("a".into()),
                Token::StartArray,
                Token::Number("1".into()),
                Token::String("xé\n".into()),
                Token::True,
                Token::Null,
                Token::StartObject,
                Token::FieldName("b".into()),
                Token::Number("-2.5e3".into()),
                Token::EndObject,
                Token::EndArray,
                Token::FieldName("c".into()),
                Token::StartObject,
                Token::EndObject,
                Token::EndObject,
            ]
        );
    }

    #[test]
    fn errors_read_like_jackson() {
        assert_eq!(
            tokens("this is valid json but not a dict").unwrap_err(),
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        assert_eq!(
            tokens("{'bad': 'quotation'}").unwrap_err(),
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name"
        );
        assert_eq!(
            tokens(r#"{"not": closed mark""#).unwrap_err(),
            "Unrecognized token 'closed': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        assert!(
            tokens("[1 2]")
                .unwrap_err()
                .contains("comma to separate Array")
        );
        assert!(tokens("{\"a\" 1}").unwrap_err().contains("colon"));
        assert!(
            tokens("[1,]")
                .unwrap_err()
                .contains("expected a valid value")
        );
        assert!(tokens("{} x").unwrap_err().contains("end-of-input"));
        assert!(tokens("\"\\ud800\"").is_err());
    }

    #[test]
    fn unclosed_containers_name_their_start_marker() {
        assert_eq!(
            tokens(r#"{"a": 1"#).unwrap_err(),
            r#"Unexpected end-of-input: expected close marker for Object (start marker at [Source: (String)"{"a": 1"; line: 1, column: 1])"#
        );
        assert_eq!(
            tokens("{\"a\":\n  [\"x\"").unwrap_err(),
            "Unexpected end-of-input: expected close marker for Array (start marker at [Source: (String)\"{\"a\":\n  [\"x\"\"; line: 2, column: 3])"
        );
        let long = format!("{{\"a\": \"{}\", \"b\": [", "x".repeat(600));
        let message = tokens(&long).unwrap_err();
        assert!(
            message.ends_with(r#""[truncated 116 chars]; line: 1, column: 616])"#),
            "{message}"
        );
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(tokens(&deep).unwrap_err().contains("nesting depth"));
    }
}
