//! The rules file every command reads, and what resolves it: one set of
//! options, one loader (the router's) and one table, so `match`, `bench`,
//! `route`, `replay`, `archive` and `schedule run` agree on which rules a
//! file holds, which of them take part in matching, and how a bad file is
//! reported.

use std::path::Path;

use anyhow::{Context, Result};
use sluice_pattern::ScanMode;
use sluice_router::archive::ArchiveDefinition;
use sluice_router::load::{Parameters, load_rules, parse_archives};
use sluice_router::model::{Environment, Rule};
use sluice_router::table::RuleTable;

/// `--rules` and the values that resolve it.
#[derive(clap::Args, Clone, Debug)]
pub struct RulesArgs {
    /// Rules file (JSON or YAML): a list of PutRule requests, each with
    /// optional "Targets"; {"Rules": [...], "Targets": [PutTargets
    /// requests]} as ListRules and PutTargets take them; or a
    /// CloudFormation/SAM template.
    #[arg(long = "rules", value_name = "FILE")]
    pub path: String,
    /// Values for Ref, Fn::GetAtt and ${...} in templates (JSON or YAML).
    #[arg(long, value_name = "FILE")]
    pub parameters: Option<String>,
    /// Region in rule ARNs (default: AWS_REGION, else AWS_DEFAULT_REGION,
    /// else us-east-1).
    #[arg(long, value_parser = crate::checks::region)]
    pub region: Option<String>,
    /// Account id in rule ARNs.
    #[arg(long, default_value = "123456789012", value_parser = crate::checks::account)]
    pub account: String,
}

impl RulesArgs {
    /// The region and account rule ARNs are made in.
    pub fn environment(&self) -> Result<Environment> {
        let region = self
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".to_string());
        Environment::new(&region, &self.account).map_err(|e| anyhow::anyhow!("{}", e.message()))
    }

    /// The template parameters given with `--parameters`.
    pub fn parameters(&self) -> Result<Parameters> {
        match &self.parameters {
            None => Ok(Parameters::default()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read parameters file {path}"))?;
                Ok(Parameters::parse(path, &text)?)
            }
        }
    }

    /// The text of the rules file.
    pub fn text(&self) -> Result<String> {
        std::fs::read_to_string(&self.path)
            .with_context(|| format!("cannot read rules file {}", self.path))
    }

    /// Every rule of the file, checked as PutRule and PutTargets check them.
    pub fn load(&self) -> Result<Vec<Rule>> {
        let environment = self.environment()?;
        Ok(load_rules(
            Path::new(&self.path),
            &self.parameters()?,
            &environment,
        )?)
    }

    /// The archives the file declares. Its rules are read and checked too,
    /// so a file every other command refuses is refused here as well.
    pub fn archives(&self) -> Result<Vec<ArchiveDefinition>> {
        self.load()?;
        let text = self.text()?;
        Ok(parse_archives(
            &self.path,
            &text,
            &self.parameters()?,
            &self.environment()?,
        )?)
    }

    /// The rules compiled for matching events in `mode`. Rules that only
    /// have a schedule are kept (events never reach them) and named on
    /// stderr, so a file that matches nothing says why.
    pub fn table(&self, rules: Vec<Rule>, mode: ScanMode) -> Result<RuleTable> {
        warn_schedule_only(&rules);
        RuleTable::with_mode(rules, mode).map_err(|e| anyhow::anyhow!("{}: {e}", self.path))
    }
}

/// Names the rules events cannot trigger because they only have a schedule.
fn warn_schedule_only(rules: &[Rule]) {
    for rule in rules {
        if rule.event_pattern.is_none() {
            eprintln!(
                "sluice: rule {} has only a ScheduleExpression; events do not trigger it",
                rule.name
            );
        }
    }
}
