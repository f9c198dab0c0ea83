//! An archive's definition, as CreateArchive takes it and `archive.json`
//! keeps it.

use std::io;
use std::path::Path;

use crate::validation::ValidationError;

/// Longest archive name.
pub const MAX_ARCHIVE_NAME_LEN: usize = 48;

/// An archive as declared in a rules file (`Archives`) or a template
/// (`AWS::Events::Archive`).
///
/// ```
/// use sluice_router::archive::ArchiveDefinition;
/// let archive = ArchiveDefinition::new("image-events", "default", Some(r#"{"source": ["aws.imagebuilder"]}"#), 30).unwrap();
/// assert_eq!(archive.retention_days, 30);
/// assert!(ArchiveDefinition::new("bad name", "default", None, 0).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveDefinition {
    /// `ArchiveName`.
    pub name: String,
    /// The bus whose events it keeps.
    pub bus: String,
    /// Only events matching this pattern are kept (all when `None`).
    pub event_pattern: Option<String>,
    /// Days events are kept; 0 keeps them forever.
    pub retention_days: u32,
}

impl ArchiveDefinition {
    /// Checks a definition as CreateArchive does.
    pub fn new(
        name: &str,
        bus: &str,
        event_pattern: Option<&str>,
        retention_days: i64,
    ) -> Result<ArchiveDefinition, ValidationError> {
        if name.is_empty()
            || name.len() > MAX_ARCHIVE_NAME_LEN
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        {
            return Err(ValidationError::constraint(
                name,
                "archiveName",
                "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ (1 to 48 characters)",
            ));
        }
        // An archive is a directory named after it: `.` and `..` would be
        // the archive root or its parent.
        if name == "." || name == ".." {
            return Err(ValidationError::constraint(
                name,
                "archiveName",
                "Member must not be '.' or '..' (an archive is a directory of that name)",
            ));
        }
        if let Some(pattern) = event_pattern {
            sluice_pattern::check(pattern)
                .map_err(|e| ValidationError::invalid_pattern(e.message()))?;
        }
        if retention_days < 0 {
            return Err(ValidationError::constraint(
                &retention_days.to_string(),
                "retentionDays",
                "Member must have value greater than or equal to 0",
            ));
        }
        Ok(ArchiveDefinition {
            name: name.to_string(),
            bus: bus.to_string(),
            event_pattern: event_pattern.map(str::to_string),
            retention_days: u32::try_from(retention_days).unwrap_or(u32::MAX),
        })
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::json!({
            "ArchiveName": self.name,
            "EventBusName": self.bus,
            "EventPattern": self.event_pattern,
            "RetentionDays": self.retention_days,
        })
        .to_string()
    }

    /// Reads `archive.json` (`file` names it in errors).
    ///
    /// ```
    /// use sluice_router::archive::ArchiveDefinition;
    /// let text = r#"{"ArchiveName": "a", "EventBusName": "default", "RetentionDays": 3}"#;
    /// let definition = ArchiveDefinition::from_json("archive.json".as_ref(), text).unwrap();
    /// assert_eq!(definition.retention_days, 3);
    /// assert!(ArchiveDefinition::from_json("archive.json".as_ref(), r#"{"ArchiveName": ".."}"#).is_err());
    /// ```
    pub fn from_json(file: &Path, text: &str) -> io::Result<ArchiveDefinition> {
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {what}", file.display()),
            )
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let name = value["ArchiveName"]
            .as_str()
            .ok_or_else(|| bad("no ArchiveName"))?;
        let bus = match &value["EventBusName"] {
            serde_json::Value::Null => "default",
            other => other
                .as_str()
                .ok_or_else(|| bad("EventBusName is not a string"))?,
        };
        let pattern = match &value["EventPattern"] {
            serde_json::Value::Null => None,
            other => Some(
                other
                    .as_str()
                    .ok_or_else(|| bad("EventPattern is not a string"))?,
            ),
        };
        let retention = match &value["RetentionDays"] {
            serde_json::Value::Null => 0,
            other => other
                .as_i64()
                .ok_or_else(|| bad("RetentionDays is not an integer"))?,
        };
        ArchiveDefinition::new(name, bus, pattern, retention).map_err(|e| bad(e.message()))
    }
}
