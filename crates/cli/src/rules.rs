//! Loading rules files: a list of `{"Name", "EventPattern"}` (the pattern as a
//! JSON string or an object, as PutRule takes it), or `{"Rules": [...]}` as
//! ListRules returns it.
//!
//! Pattern objects are kept as the raw text of the file: numbers in patterns
//! are compared exactly, so they must never pass through a lossy `f64`.

use std::collections::HashSet;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::value::RawValue;
use sluice_pattern::{Config, Matcher};
use sluice_router::model::{self, RuleState};

/// A rule as read from a file.
pub struct RuleSpec {
    pub name: String,
    pub pattern: String,
}

#[derive(Deserialize)]
struct RuleEntry {
    #[serde(rename = "Name")]
    name: Option<String>,
    #[serde(rename = "EventPattern")]
    event_pattern: Option<Box<RawValue>>,
    #[serde(rename = "State")]
    state: Option<String>,
    #[serde(rename = "ScheduleExpression")]
    schedule_expression: Option<String>,
}

#[derive(Deserialize)]
struct ListRulesOutput {
    #[serde(rename = "Rules")]
    rules: Vec<RuleEntry>,
}

/// Reads the enabled event-pattern rules of a rules file. Names and states
/// are checked as PutRule checks them; disabled rules and schedule-only
/// rules match no event and are left out.
pub fn load(path: &str) -> Result<Vec<RuleSpec>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read rules file {path}"))?;
    let entries: Vec<RuleEntry> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).with_context(|| format!("{path}: not a list of rules"))?
    } else {
        serde_json::from_str::<ListRulesOutput>(&text)
            .with_context(|| {
                format!("{path}: expected a list of rules or an object with a \"Rules\" list")
            })?
            .rules
    };
    let mut rules: Vec<RuleSpec> = Vec::new();
    let mut seen: HashSet<String> = HashSet::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let Some(name) = entry.name else {
            bail!("{path}: rule #{} has no \"Name\"", i + 1);
        };
        model::check_rule_name(&name)
            .map_err(|e| anyhow!("{path}: rule #{}: {}", i + 1, e.message()))?;
        if !seen.insert(name.clone()) {
            bail!("{path}: rule name {name:?} appears twice");
        }
        let state = match entry.state.as_deref() {
            None => RuleState::Enabled,
            Some(text) => RuleState::parse(text)
                .map_err(|e| anyhow!("{path}: rule {name:?}: {}", e.message()))?,
        };
        if state == RuleState::Disabled {
            continue;
        }
        let pattern = match entry.event_pattern {
            Some(raw) if raw.get().starts_with('"') => serde_json::from_str::<String>(raw.get())
                .with_context(|| format!("{path}: rule {name:?}: bad \"EventPattern\" string"))?,
            Some(raw) if raw.get().starts_with('{') => raw.get().to_string(),
            Some(_) => {
                bail!("{path}: rule {name:?}: \"EventPattern\" must be a JSON string or object")
            }
            None if entry.schedule_expression.is_some() => continue,
            None => bail!("{path}: rule {name:?} has no \"EventPattern\""),
        };
        rules.push(RuleSpec { name, pattern });
    }
    Ok(rules)
}

/// Compiles rules into one matcher; errors name the file and the rule.
pub fn compile(path: &str, rules: &[RuleSpec], config: Config) -> Result<Matcher> {
    Matcher::builder()
        .configure(config)
        .build_named(rules.iter().map(|r| (r.name.as_str(), r.pattern.as_str())))
        .map_err(|e| {
            anyhow::anyhow!(
                "{path}: rule {:?}: {}",
                e.rule_name().unwrap_or("?"),
                e.pattern_error().message()
            )
        })
}
