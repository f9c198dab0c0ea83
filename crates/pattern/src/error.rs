//! Errors. Bad input is always an error value, never a panic.

use std::fmt;

use crate::pattern::Rejection;

/// A pattern EventBridge would reject.
///
/// [`PatternError::message`] is the text AWS returns, e.g.
/// `Event pattern is not valid. Reason: Empty arrays are not allowed`.
///
/// ```
/// let err = sluice_pattern::check(r#"{"source": []}"#).unwrap_err();
/// assert_eq!(err.reason(), Some("Empty arrays are not allowed"));
/// assert_eq!(err.error_code(), "InvalidEventPatternException");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    rejection: Rejection,
}

impl PatternError {
    pub(crate) fn new(rejection: Rejection) -> Self {
        PatternError { rejection }
    }

    /// The reason after `Reason: `, or `None` for the length constraint
    /// (which AWS reports as a `ValidationException` without a reason).
    ///
    /// ```
    /// let err = sluice_pattern::check(r#"{"a": [{"EXISTS": true}]}"#).unwrap_err();
    /// assert_eq!(err.reason(), Some("Unrecognized match type EXISTS"));
    /// ```
    pub fn reason(&self) -> Option<&str> {
        match &self.rejection {
            Rejection::Invalid(reason) => Some(reason),
            Rejection::TooLong { .. } => None,
        }
    }

    /// The AWS error code: `InvalidEventPatternException`, or
    /// `ValidationException` for a pattern over the length limit.
    ///
    /// ```
    /// let long = format!(r#"{{"a": ["{}"]}}"#, "x".repeat(5000));
    /// assert_eq!(sluice_pattern::check(&long).unwrap_err().error_code(), "ValidationException");
    /// ```
    pub fn error_code(&self) -> &'static str {
        match &self.rejection {
            Rejection::Invalid(_) => "InvalidEventPatternException",
            Rejection::TooLong { .. } => "ValidationException",
        }
    }

    /// The message as AWS words it (first line).
    ///
    /// ```
    /// let err = sluice_pattern::check(r#"{"a": [{"numeric": 10}]}"#).unwrap_err();
    /// assert_eq!(err.message(), "Event pattern is not valid. Reason: Value of numeric must be an array.");
    /// ```
    pub fn message(&self) -> String {
        match &self.rejection {
            Rejection::Invalid(reason) => format!("Event pattern is not valid. Reason: {reason}"),
            Rejection::TooLong { max, .. } => format!(
                "1 validation error detected: Value at 'eventPattern' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ),
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for PatternError {}

/// A rule that could not be added to a matcher: which rule, and why.
///
/// ```
/// let err = sluice_pattern::Matcher::builder()
///     .build([r#"{"source": ["ok"]}"#, r#"{"source": "bad"}"#])
///     .unwrap_err();
/// assert_eq!(err.rule_index(), 1);
/// assert_eq!(err.pattern_error().reason(), Some("\"source\" must be an object or an array"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    index: usize,
    name: Option<String>,
    error: PatternError,
}

impl BuildError {
    pub(crate) fn new(index: usize, name: Option<String>, error: PatternError) -> Self {
        BuildError { index, name, error }
    }

    /// Position of the rule in the input.
    ///
    /// ```
    /// let err = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#, "[]"]).unwrap_err();
    /// assert_eq!(err.rule_index(), 1);
    /// ```
    pub fn rule_index(&self) -> usize {
        self.index
    }

    /// The rule's name, when it was given one.
    ///
    /// ```
    /// let err = sluice_pattern::Matcher::builder().build_named([("broken", "{}")]).unwrap_err();
    /// assert_eq!(err.rule_name(), Some("broken"));
    /// ```
    pub fn rule_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Why the pattern was rejected.
    ///
    /// ```
    /// let err = sluice_pattern::Matcher::builder().build(["{}"]).unwrap_err();
    /// assert_eq!(err.pattern_error().reason(), Some("Empty objects are not allowed"));
    /// ```
    pub fn pattern_error(&self) -> &PatternError {
        &self.error
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "rule {name:?}: {}", self.error),
            None => write!(f, "rule #{}: {}", self.index, self.error),
        }
    }
}

impl std::error::Error for BuildError {}

/// An event that is not well-formed JSON, or not an object.
///
/// ```
/// let matcher = sluice_pattern::Matcher::builder().build([r#"{"a": ["b"]}"#]).unwrap();
/// let mut cache = matcher.create_cache();
/// let mut hits = sluice_pattern::MatchSet::new(matcher.rule_count());
/// let err = matcher.matches_with(&mut cache, br#"{"a": "b""#, &mut hits).unwrap_err();
/// assert!(err.reason().contains("end of event"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    kind: EventErrorKind,
    offset: Option<usize>,
    reason: String,
}

/// What kind of event an [`EventError`] refuses.
///
/// ```
/// use sluice_pattern::{EventErrorKind, Matcher};
/// let m = Matcher::new([r#"{"a": ["1"]}"#]).unwrap();
/// assert_eq!(m.is_match(b"").unwrap_err().kind(), EventErrorKind::Empty);
/// assert_eq!(m.is_match(b"[1]").unwrap_err().kind(), EventErrorKind::NotAnObject);
/// assert_eq!(m.is_match(br#"{"a": }"#).unwrap_err().kind(), EventErrorKind::Syntax);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventErrorKind {
    /// Nothing but white space.
    Empty,
    /// Valid JSON text, but not an object.
    NotAnObject,
    /// Not UTF-8.
    InvalidUtf8,
    /// Not JSON: a syntax error at the offset.
    Syntax,
    /// The event ends inside a value.
    UnexpectedEnd,
    /// Nested deeper than the matcher's limit.
    TooDeep,
    /// Larger than the matcher can address (4 GiB).
    TooLarge,
    /// Asked about a rule the matcher does not have.
    NoSuchRule,
}

impl EventError {
    pub(crate) fn new(kind: EventErrorKind, reason: impl Into<String>) -> Self {
        EventError {
            kind,
            offset: None,
            reason: reason.into(),
        }
    }

    pub(crate) fn at(kind: EventErrorKind, offset: usize, reason: impl Into<String>) -> Self {
        EventError {
            kind,
            offset: Some(offset),
            reason: reason.into(),
        }
    }

    /// What kind of problem it is.
    pub fn kind(&self) -> EventErrorKind {
        self.kind
    }

    /// The byte of the event where reading stopped, when the problem has
    /// a place.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::new([r#"{"a": ["1"]}"#]).unwrap();
    /// assert_eq!(m.is_match(br#"{"a": x}"#).unwrap_err().offset(), Some(6));
    /// ```
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }

    /// What is wrong with the event.
    ///
    /// ```
    /// let m = sluice_pattern::Matcher::builder().build([r#"{"a": ["1"]}"#]).unwrap();
    /// assert_eq!(m.is_match(b"[1]").unwrap_err().reason(), "Event is not a JSON object");
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event is not valid: {}", self.reason)
    }
}

impl std::error::Error for EventError {}
