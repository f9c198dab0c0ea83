//! What a target receives: the whole event, a constant (`Input`), a part of
//! the event (`InputPath`) or a template filled from the event
//! (`InputTransformer`), exactly as EventBridge shapes it. The rules, quirks
//! included, are in `spec/README.md` and `spec/input-transformer.jsonl`.

use crate::document::{Node, decode_str};
pub use crate::jsonpath::{JsonPath, JsonPathError};
use crate::validation::ValidationError;

/// Most entries an InputPathsMap may have.
pub const MAX_INPUT_PATHS: usize = 100;
/// Longest InputTemplate and longest constant Input, in characters.
pub const MAX_TEMPLATE_LEN: usize = 8192;

/// An event to shape, as received, with the rule it matched.
///
/// ```
/// use sluice_router::transform::{EventText, InputShape};
/// let shape = InputShape::compile("t1", None, Some("$.detail"), None).unwrap();
/// let event = EventText {
///     text: r#"{"id": "1", "detail": {"state": "AVAILABLE"}}"#,
///     rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r",
///     rule_name: "r",
///     ingestion_time: "2026-11-25T10:00:00Z",
/// };
/// assert_eq!(shape.render_text(&event).unwrap(), r#"{"state":"AVAILABLE"}"#);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EventText<'a> {
    /// The event as received.
    pub text: &'a str,
    /// ARN of the matched rule (`<aws.events.rule-arn>`).
    pub rule_arn: &'a str,
    /// Name of the matched rule (`<aws.events.rule-name>`).
    pub rule_name: &'a str,
    /// When the event was taken in (`<aws.events.event.ingestion-time>`).
    pub ingestion_time: &'a str,
}

/// Everything a payload is built from: the parsed event and the rule it
/// matched (planning parses an event once for all its targets).
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventContext<'e, 'a> {
    /// The parsed event.
    pub(crate) event: &'e Node<'a>,
    /// The event as received.
    pub(crate) event_text: &'a str,
    /// ARN of the matched rule (`<aws.events.rule-arn>`).
    pub(crate) rule_arn: &'e str,
    /// Name of the matched rule (`<aws.events.rule-name>`).
    pub(crate) rule_name: &'e str,
    /// When the event was taken in (`<aws.events.event.ingestion-time>`).
    pub(crate) ingestion_time: &'e str,
}

/// Why no payload could be built for one event. EventBridge drops such
/// deliveries without a trace; sluice reports them as failed deliveries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The InputPath selects nothing in this event.
    #[error("InputPath {0} selects nothing in the event")]
    PathNotFound(String),
    /// A JSON InputTemplate filled with this event's values is not JSON (an
    /// object or array placed inside quotes, or a value with a `"`).
    #[error("the InputTemplate filled with this event is not valid JSON: {0}")]
    InvalidJson(String),
    /// The event given to [`InputShape::render_text`] cannot be read as
    /// JSON (planning only shapes events that matched, which can).
    #[error("the event cannot be read: {0}")]
    InvalidEvent(String),
}

impl TransformError {
    /// A short code for dead-letter attributes and reports.
    ///
    /// ```
    /// use sluice_router::transform::TransformError;
    /// assert_eq!(TransformError::InvalidJson("{".into()).code(), "INVALID_JSON");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            TransformError::PathNotFound(_) => "INPUT_PATH_NOT_FOUND",
            TransformError::InvalidJson(_) => "INVALID_JSON",
            TransformError::InvalidEvent(_) => "INVALID_EVENT",
        }
    }
}

/// The input shaping of one target.
///
/// ```
/// use sluice_router::transform::{EventText, InputShape};
/// let shape = InputShape::compile("t1", Some(r#"{"fixed": true}"#), None, None).unwrap();
/// let event = EventText { text: "{}", rule_arn: "arn", rule_name: "r", ingestion_time: "t" };
/// assert_eq!(shape.render_text(&event).unwrap(), r#"{"fixed": true}"#);
/// ```
#[derive(Debug, Clone)]
pub enum InputShape {
    /// The event as received.
    WholeEvent,
    /// `Input`: this JSON text instead of the event.
    Constant(std::sync::Arc<str>),
    /// `InputPath`: the selected part of the event.
    Path(JsonPath),
    /// `InputTransformer`.
    Transformer(InputTransformer),
}

impl InputShape {
    /// Builds the shaping of target `target_id` from its Input, InputPath and
    /// InputTransformer (paths map and template), with AWS's checks and
    /// error texts. At most one of the three may be given.
    ///
    /// ```
    /// use sluice_router::transform::InputShape;
    /// let err = InputShape::compile("t1", Some("{}"), Some("$.detail"), None).unwrap_err();
    /// assert_eq!(
    ///     err.message(),
    ///     "Only one of Input, InputPath, or InputTransformer must be provided for target t1."
    /// );
    /// ```
    pub fn compile(
        target_id: &str,
        input: Option<&str>,
        input_path: Option<&str>,
        transformer: Option<(&[(String, String)], &str)>,
    ) -> Result<InputShape, ValidationError> {
        let given = [input.is_some(), input_path.is_some(), transformer.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(ValidationError::validation(format!(
                "Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
            )));
        }
        if let Some(input) = input {
            if input.chars().count() > MAX_TEMPLATE_LEN {
                return Err(ValidationError::validation(format!(
                    "Input for target {target_id} is longer than {MAX_TEMPLATE_LEN} characters."
                )));
            }
            if Node::parse(input).is_err() {
                return Err(ValidationError::validation(format!(
                    "Input for target {target_id} is not valid JSON text."
                )));
            }
            return Ok(InputShape::Constant(input.into()));
        }
        if let Some(path) = input_path {
            return JsonPath::parse(path).map(InputShape::Path).map_err(|e| {
                ValidationError::validation(format!("InputPath for target {target_id}: {e}."))
            });
        }
        if let Some((paths, template)) = transformer {
            return InputTransformer::compile(target_id, paths, template)
                .map(InputShape::Transformer);
        }
        Ok(InputShape::WholeEvent)
    }

    /// Whether building the payload needs the parsed event.
    ///
    /// ```
    /// use sluice_router::transform::InputShape;
    /// assert!(!InputShape::WholeEvent.needs_document());
    /// ```
    pub fn needs_document(&self) -> bool {
        matches!(self, InputShape::Path(_) | InputShape::Transformer(_))
    }

    /// The payload for one event given as text (see [`EventText`]).
    pub fn render_text(&self, event: &EventText<'_>) -> Result<String, TransformError> {
        let document = match self {
            InputShape::WholeEvent => return Ok(event.text.trim().to_string()),
            InputShape::Constant(text) => return Ok(text.to_string()),
            _ => Node::parse(event.text.trim())
                .map_err(|e| TransformError::InvalidEvent(e.to_string()))?,
        };
        self.render(&EventContext {
            event: &document,
            event_text: event.text,
            rule_arn: event.rule_arn,
            rule_name: event.rule_name,
            ingestion_time: event.ingestion_time,
        })
    }

    /// The payload for one parsed event.
    pub(crate) fn render(&self, context: &EventContext<'_, '_>) -> Result<String, TransformError> {
        match self {
            InputShape::WholeEvent => Ok(context.event_text.trim().to_string()),
            InputShape::Constant(text) => Ok(text.to_string()),
            InputShape::Path(path) => path
                .select(context.event)
                .map(|node| node.to_json())
                .ok_or_else(|| TransformError::PathNotFound(path.to_string())),
            InputShape::Transformer(transformer) => transformer.render(context),
        }
    }
}

/// A compiled InputTransformer: named paths and a template.
///
/// ```
/// use sluice_router::transform::{EventText, InputShape, InputTransformer};
/// let paths = [("state".to_string(), "$.detail.state".to_string())];
/// let transformer =
///     InputTransformer::compile("t1", &paths, r#"{"state": <state>, "rule": <aws.events.rule-name>}"#).unwrap();
/// let event = EventText {
///     text: r#"{"detail": {"state": "FAILED"}}"#, rule_arn: "arn", rule_name: "failures",
///     ingestion_time: "2026-11-25T10:00:00Z",
/// };
/// let shape = InputShape::Transformer(transformer);
/// assert_eq!(shape.render_text(&event).unwrap(), r#"{"state":"FAILED","rule":"failures"}"#);
/// ```
#[derive(Debug, Clone)]
pub struct InputTransformer {
    paths: Vec<JsonPath>,
    pieces: Vec<Piece>,
    json_template: bool,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Value { variable: Variable, quoted: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variable {
    Path(usize),
    RuleArn,
    RuleName,
    IngestionTime,
    Event,
    EventJson,
}

impl Variable {
    fn reserved(name: &str) -> Option<Variable> {
        Some(match name {
            "aws.events.rule-arn" => Variable::RuleArn,
            "aws.events.rule-name" => Variable::RuleName,
            "aws.events.event.ingestion-time" => Variable::IngestionTime,
            "aws.events.event" => Variable::Event,
            "aws.events.event.json" => Variable::EventJson,
            _ => return None,
        })
    }
}

fn is_placeholder_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

impl InputTransformer {
    /// Compiles a transformer for target `target_id`, with AWS's checks:
    /// at most 100 paths, names of `[A-Za-z0-9_-]`, a template of 1 to 8192
    /// characters, no placeholder that is neither a path name nor a
    /// predefined `aws.events.*` variable.
    ///
    /// ```
    /// use sluice_router::transform::InputTransformer;
    /// let err = InputTransformer::compile("t1", &[], "\"<who>\"").unwrap_err();
    /// assert_eq!(err.message(), "InputTemplate for target t1 contains invalid placeholder who.");
    /// ```
    pub fn compile(
        target_id: &str,
        paths: &[(String, String)],
        template: &str,
    ) -> Result<InputTransformer, ValidationError> {
        if paths.len() > MAX_INPUT_PATHS {
            return Err(ValidationError::validation(format!(
                "InputPathsMap for target {target_id} has {} entries; at most {MAX_INPUT_PATHS} are allowed.",
                paths.len()
            )));
        }
        let mut compiled = Vec::with_capacity(paths.len());
        for (name, path) in paths {
            if name.is_empty()
                || name.len() > 256
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
            {
                return Err(ValidationError::validation(format!(
                    "InputPathsMap for target {target_id}: key {name:?} must match [A-Za-z0-9_\\-]+ (1 to 256 characters)."
                )));
            }
            if name.starts_with("aws.") {
                return Err(ValidationError::validation(format!(
                    "InputPathsMap for target {target_id}: {name} is a reserved name."
                )));
            }
            compiled.push(JsonPath::parse(path).map_err(|e| {
                ValidationError::validation(format!(
                    "InputPathsMap for target {target_id}, key {name}: {e}."
                ))
            })?);
        }
        let length = template.chars().count();
        if length == 0 || length > MAX_TEMPLATE_LEN {
            return Err(ValidationError::validation(format!(
                "InputTemplate for target {target_id} must be 1 to {MAX_TEMPLATE_LEN} characters long."
            )));
        }
        let json_template = !template.trim_start().starts_with('"');
        let pieces = split_template(template, json_template, |name| {
            if let Some(i) = paths.iter().position(|(key, _)| key == name) {
                return Ok(Variable::Path(i));
            }
            Variable::reserved(name).ok_or_else(|| {
                ValidationError::validation(format!(
                    "InputTemplate for target {target_id} contains invalid placeholder {name}."
                ))
            })
        })?;
        for piece in &pieces {
            if let Piece::Value {
                variable: variable @ (Variable::Event | Variable::EventJson),
                quoted,
            } = piece
                && (*quoted || !json_template)
            {
                let name = if *variable == Variable::Event {
                    "aws.events.event"
                } else {
                    "aws.events.event.json"
                };
                return Err(ValidationError::validation(format!(
                    "InputTemplate for target {target_id}: <{name}> can only be used as a JSON value, not inside a string."
                )));
            }
        }
        Ok(InputTransformer {
            paths: compiled,
            pieces,
            json_template,
        })
    }

    /// Fills the template from one event.
    pub(crate) fn render(&self, context: &EventContext<'_, '_>) -> Result<String, TransformError> {
        let values: Vec<Option<Node<'_>>> = self
            .paths
            .iter()
            .map(|path| path.select(context.event))
            .collect();
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value { variable, quoted } => {
                    let in_string = *quoted || !self.json_template;
                    match variable {
                        Variable::Path(i) => match &values[*i] {
                            None if in_string => {}
                            None => out.push_str("\"\""),
                            Some(node) => write_value(node, *quoted, self.json_template, &mut out),
                        },
                        Variable::RuleArn => write_text(context.rule_arn, in_string, &mut out),
                        Variable::RuleName => write_text(context.rule_name, in_string, &mut out),
                        Variable::IngestionTime => {
                            write_text(context.ingestion_time, in_string, &mut out)
                        }
                        Variable::Event => out.push_str(&event_summary(context)),
                        Variable::EventJson => out.push_str(&context.event.to_json()),
                    }
                }
            }
        }
        if self.json_template {
            crate::document::minify(&out).map_err(|_| TransformError::InvalidJson(out))
        } else {
            Ok(out)
        }
    }
}

/// A value placed in the output. Unquoted in a JSON template: its JSON.
/// Inside quotes of a JSON template: a string's text, other values' JSON.
/// In a string template: a string's text, objects and arrays unquoted.
fn write_value(node: &Node<'_>, quoted: bool, json_template: bool, out: &mut String) {
    match node {
        Node::String(raw) if quoted || !json_template => out.push_str(&decode_str(raw)),
        Node::Object(_) | Node::Array(_) if !json_template => {
            out.push_str(&node.to_unquoted_text())
        }
        _ => node.write_json(out),
    }
}

fn write_text(text: &str, in_string: bool, out: &mut String) {
    if in_string {
        out.push_str(text);
    } else {
        out.push_str(&serde_json::Value::from(text).to_string());
    }
}

/// `<aws.events.event>`: the envelope without `detail`, with AWS's
/// camel-case `detailType` key and the ingestion time as `time`.
fn event_summary(context: &EventContext<'_, '_>) -> String {
    let mut members: Vec<(&str, Node<'_>)> = Vec::new();
    for (out_key, in_key) in [
        ("id", "id"),
        ("account", "account"),
        ("detailType", "detail-type"),
        ("time", ""),
        ("source", "source"),
        ("region", "region"),
        ("resources", "resources"),
        ("version", "version"),
    ] {
        if in_key.is_empty() {
            members.push((out_key, Node::String(context.ingestion_time)));
        } else if let Some(value) = context.event.get(in_key) {
            members.push((out_key, value.clone()));
        }
    }
    Node::Object(members).to_json()
}

/// Splits a template into text and placeholders, noting for each
/// placeholder of a JSON template whether it sits inside a quoted string.
fn split_template(
    template: &str,
    json_template: bool,
    mut resolve: impl FnMut(&str) -> Result<Variable, ValidationError>,
) -> Result<Vec<Piece>, ValidationError> {
    let bytes = template.as_bytes();
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 2,
            b'"' => {
                in_string = !in_string;
                i += 1;
            }
            b'<' => {
                let name_len = bytes[i + 1..]
                    .iter()
                    .take_while(|b| is_placeholder_byte(**b))
                    .count();
                let end = i + 1 + name_len;
                if name_len > 0 && bytes.get(end) == Some(&b'>') {
                    let name = &template[i + 1..end];
                    let variable = resolve(name)?;
                    if text_start < i {
                        pieces.push(Piece::Text(template[text_start..i].to_string()));
                    }
                    pieces.push(Piece::Value {
                        variable,
                        quoted: json_template && in_string,
                    });
                    i = end + 1;
                    text_start = i;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    if text_start < bytes.len() {
        pieces.push(Piece::Text(template[text_start..].to_string()));
    }
    Ok(pieces)
}
