//! `sluice archive`: keep the events of a bus in the archives a rules file
//! declares.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sluice_router::archive::ArchiveWriter;
use sluice_router::load::{Parameters, parse_archives};
use sluice_router::model::Environment;

use crate::input;

/// Options of `sluice archive`.
pub struct ArchiveOptions {
    pub rules: String,
    pub events: Vec<String>,
    pub archive_dir: String,
    pub event_bus: String,
}

#[derive(Serialize)]
struct ArchiveSummary {
    archived: u64,
    segments: usize,
    expired_segments_removed: usize,
}

#[derive(Serialize)]
struct Summary {
    events: u64,
    invalid: u64,
    archives: BTreeMap<String, ArchiveSummary>,
}

pub fn run(options: &ArchiveOptions) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&options.rules)
        .with_context(|| format!("cannot read rules file {}", options.rules))?;
    let archives = parse_archives(
        &options.rules,
        &text,
        &Parameters::default(),
        &Environment::default(),
    )?;
    let mut writers: Vec<ArchiveWriter> = Vec::new();
    for definition in archives {
        if definition.bus == options.event_bus {
            let name = definition.name.clone();
            writers.push(
                ArchiveWriter::open(Path::new(&options.archive_dir), definition).with_context(
                    || format!("cannot open archive {name} in {}", options.archive_dir),
                )?,
            );
        }
    }
    if writers.is_empty() {
        bail!(
            "{} declares no archive for event bus {} (add an \"Archives\" list or AWS::Events::Archive resources)",
            options.rules,
            options.event_bus
        );
    }
    let (mut events, mut invalid) = (0u64, 0u64);
    for item in input::event_lines(options.events.clone()) {
        let input::EventLine { path, line, event } = item?;
        events += 1;
        let mut rejected = None;
        for writer in &mut writers {
            if let Err(error) = writer.append(&event) {
                rejected = Some(error);
            }
        }
        if let Some(error) = rejected {
            invalid += 1;
            eprintln!("sluice: {path}:{line}: {error}");
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut summary = Summary {
        events,
        invalid,
        archives: BTreeMap::new(),
    };
    for writer in &mut writers {
        writer.flush().context("cannot write an archive segment")?;
        let removed = writer.apply_retention(now)?;
        let name = writer.definition().name.clone();
        let dir = Path::new(&options.archive_dir).join(&name);
        let segments = sluice_router::archive::Archive::open(&dir)?
            .segments()
            .len();
        summary.archives.insert(
            name,
            ArchiveSummary {
                archived: writer.archived,
                segments,
                expired_segments_removed: removed,
            },
        );
    }
    println!("{}", serde_json::to_string(&summary)?);
    Ok(ExitCode::SUCCESS)
}
