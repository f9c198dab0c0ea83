//! The error of a definition AWS would refuse: AWS's error code and its
//! exact text. Every module that checks a definition (names, ARNs, input
//! shaping, rules, archives) answers with it.

/// A definition that AWS would refuse, with AWS's error code and text.
///
/// ```
/// use sluice_router::validation::ValidationError;
/// let err = ValidationError::limit_exceeded();
/// assert_eq!(err.code(), "LimitExceededException");
/// assert_eq!(err.message(), "The requested resource exceeds the maximum number allowed.");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ValidationError {
    code: &'static str,
    message: String,
}

impl ValidationError {
    /// A `ValidationException` with this message.
    pub fn validation(message: impl Into<String>) -> ValidationError {
        ValidationError {
            code: "ValidationException",
            message: message.into(),
        }
    }

    /// AWS's `LimitExceededException` for a sixth target.
    pub fn limit_exceeded() -> ValidationError {
        ValidationError {
            code: "LimitExceededException",
            message: "The requested resource exceeds the maximum number allowed.".to_string(),
        }
    }

    /// An `InvalidEventPatternException` with the pattern checker's message.
    pub fn invalid_pattern(message: impl Into<String>) -> ValidationError {
        ValidationError {
            code: "InvalidEventPatternException",
            message: message.into(),
        }
    }

    /// AWS's constraint message: `1 validation error detected: Value 'V' at
    /// 'FIELD' failed to satisfy constraint: CONSTRAINT`.
    ///
    /// ```
    /// use sluice_router::validation::ValidationError;
    /// let err = ValidationError::constraint("a b", "name", "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+");
    /// assert_eq!(err.message(), "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+");
    /// ```
    pub fn constraint(value: &str, field: &str, constraint: &str) -> ValidationError {
        ValidationError::validation(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// The AWS error code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The AWS error message.
    pub fn message(&self) -> &str {
        &self.message
    }
}
