//! `TestEventPattern`, as the EventBridge API does it.

use std::fmt;

use crate::json::Json;
use crate::{Config, Matcher, PatternError};

/// Top-level keys the API requires in a test event.
const REQUIRED_EVENT_KEYS: [&str; 6] = ["id", "account", "source", "time", "region", "detail-type"];

/// Why `TestEventPattern` failed.
///
/// ```
/// use sluice_pattern::{TestEventPatternError, test_event_pattern};
/// let err = test_event_pattern(r#"{"a": ["1"]}"#, "\"plain string\"").unwrap_err();
/// assert!(matches!(err, TestEventPatternError::Event(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TestEventPatternError {
    /// `InvalidEventPatternException` (or the length `ValidationException`).
    Pattern(PatternError),
    /// `ValidationException: Parameter Event is not valid.`: the event is not
    /// a JSON object with `id`, `account`, `source`, `time`, `region` and
    /// `detail-type`. The detail says which.
    Event(String),
}

impl TestEventPatternError {
    /// The AWS error code.
    ///
    /// ```
    /// let err = sluice_pattern::test_event_pattern(r#"{"a": 1}"#, "{}").unwrap_err();
    /// assert_eq!(err.error_code(), "InvalidEventPatternException");
    /// ```
    pub fn error_code(&self) -> &'static str {
        match self {
            TestEventPatternError::Pattern(e) => e.error_code(),
            TestEventPatternError::Event(_) => "ValidationException",
        }
    }

    /// The message as AWS words it.
    ///
    /// ```
    /// let err = sluice_pattern::test_event_pattern(r#"{"a": ["1"]}"#, "[]").unwrap_err();
    /// assert_eq!(err.message(), "Parameter Event is not valid.");
    /// ```
    pub fn message(&self) -> String {
        match self {
            TestEventPatternError::Pattern(e) => e.message(),
            TestEventPatternError::Event(_) => "Parameter Event is not valid.".to_string(),
        }
    }

    /// What exactly is wrong with the event (AWS says no more than
    /// `Parameter Event is not valid.`).
    ///
    /// ```
    /// let err = sluice_pattern::test_event_pattern(r#"{"a": ["1"]}"#, r#"{"id": "1"}"#).unwrap_err();
    /// assert_eq!(err.detail(), Some("missing required field(s): account, source, time, region, detail-type"));
    /// ```
    pub fn detail(&self) -> Option<&str> {
        match self {
            TestEventPatternError::Pattern(_) => None,
            TestEventPatternError::Event(detail) => Some(detail),
        }
    }
}

impl fmt::Display for TestEventPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for TestEventPatternError {}

/// Tests an event against a pattern as the `TestEventPattern` API does: the
/// pattern is validated first, then the event must be a JSON object holding
/// the envelope fields the API requires.
///
/// ```
/// use sluice_pattern::test_event_pattern;
/// let event = r#"{"id": "1", "account": "111122223333", "source": "aws.imagebuilder",
///     "time": "2026-03-02T04:05:11Z", "region": "us-east-1",
///     "detail-type": "EC2 Image Builder Image State Change",
///     "detail": {"state": {"status": "AVAILABLE"}}}"#;
/// assert_eq!(test_event_pattern(r#"{"detail": {"state": {"status": ["AVAILABLE"]}}}"#, event), Ok(true));
/// let err = test_event_pattern(r#"{"source": ["x"]}"#, r#"{"testEvent": "value"}"#).unwrap_err();
/// assert_eq!(err.message(), "Parameter Event is not valid.");
/// ```
pub fn test_event_pattern(pattern: &str, event: &str) -> Result<bool, TestEventPatternError> {
    test_event_pattern_with(&Config::default(), pattern, event)
}

/// [`test_event_pattern`] with the limits of `config`.
///
/// ```
/// let config = sluice_pattern::Config::new().max_pattern_len(8);
/// assert!(sluice_pattern::test_event_pattern_with(&config, r#"{"a": ["long"]}"#, "{}").is_err());
/// ```
pub fn test_event_pattern_with(
    config: &Config,
    pattern: &str,
    event: &str,
) -> Result<bool, TestEventPatternError> {
    let matcher = Matcher::builder()
        .configure(config.clone())
        .build([pattern])
        .map_err(|e| TestEventPatternError::Pattern(e.pattern_error().clone()))?;
    validate_envelope(event).map_err(TestEventPatternError::Event)?;
    matcher
        .is_match(event.as_bytes())
        .map_err(|e| TestEventPatternError::Event(e.reason().to_string()))
}

/// Checks the envelope the API requires of a test event.
fn validate_envelope(event: &str) -> Result<(), String> {
    let json = Json::parse(event.as_bytes())?;
    if !matches!(json, Json::Object(_)) {
        return Err("the event is not a JSON object".into());
    }
    let missing: Vec<&str> = REQUIRED_EVENT_KEYS
        .iter()
        .copied()
        .filter(|key| json.get(key).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing required field(s): {}", missing.join(", ")));
    }
    Ok(())
}
