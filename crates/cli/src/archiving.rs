//! `sluice archive`: keep the events of a bus in the archives a rules file
//! declares.
//!
//! Events are read on their own thread, so a slow or idle input (a pipe, a
//! terminal) never keeps accepted events in memory: whatever has waited
//! `--flush-interval` is written as a segment, whether or not more input
//! comes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sluice_router::archive::{ArchiveError, ArchiveWriter, Recovery};

use crate::input;
use crate::rules::RulesArgs;

/// Options of `sluice archive`.
#[derive(clap::Args, Clone)]
pub struct ArchiveOptions {
    /// The archives are those the rules file declares: an "Archives" list
    /// of CreateArchive requests, or AWS::Events::Archive resources.
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Event files (JSON Lines; .gz, .zst, or - for stdin).
    #[arg(required = true)]
    pub events: Vec<String>,
    /// Where archives live (one directory per archive).
    #[arg(long, default_value = "archives")]
    pub archive_dir: String,
    /// The bus the events arrive on.
    #[arg(long, default_value = "default", value_parser = crate::checks::bus_name)]
    pub event_bus: String,
    /// Seconds an accepted event may wait in memory before it is written
    /// (segments are also written every 100,000 events or 64 MiB).
    #[arg(long = "flush-interval", value_name = "SECONDS", default_value_t = 1.0, value_parser = parse_interval)]
    pub flush_interval_seconds: f64,
    #[command(flatten)]
    pub size: input::EventSizeArgs,
}

fn parse_interval(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.001..=3600.0).contains(&seconds) {
        return Err(format!("{seconds} is not between 0.001 and 3600 seconds"));
    }
    Ok(seconds)
}

#[derive(Serialize)]
struct ArchiveSummary {
    archived: u64,
    segments: usize,
    expired_segments_removed: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    recovered_segments: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unreadable_segments: Vec<String>,
}

#[derive(Serialize)]
struct Summary {
    events: u64,
    invalid: u64,
    archives: BTreeMap<String, ArchiveSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
}

pub fn run(options: &ArchiveOptions) -> Result<ExitCode> {
    let archives = options.rules.archives()?;
    let mut writers: Vec<ArchiveWriter> = Vec::new();
    for definition in archives {
        if definition.bus == options.event_bus {
            let name = definition.name.clone();
            let writer = ArchiveWriter::open(Path::new(&options.archive_dir), definition)
                .with_context(|| {
                    format!("cannot open archive {name} in {}", options.archive_dir)
                })?;
            for recovery in writer.recovered() {
                match recovery {
                    Recovery::Indexed(segment) => eprintln!(
                        "sluice: archive {name}: segment {} was written but not indexed; checked and indexed ({} events)",
                        segment.file, segment.events
                    ),
                    Recovery::Unreadable { file, reason } => eprintln!(
                        "sluice: archive {name}: segment {file} is not indexed and cannot be read, left out: {reason}"
                    ),
                }
            }
            writers.push(writer);
        }
    }
    if writers.is_empty() {
        bail!(
            "{} declares no archive for event bus {} (add an \"Archives\" list or AWS::Events::Archive resources)",
            options.rules.path,
            options.event_bus
        );
    }

    // Lines come from their own thread, so the wait below can time out.
    let (sender, receiver) = sync_channel::<Result<input::EventLine>>(1024);
    let paths = options.events.clone();
    let max_event_bytes = options.size.max_event_bytes;
    std::thread::spawn(move || {
        for item in input::event_lines(paths, max_event_bytes) {
            let failed = item.is_err();
            if sender.send(item).is_err() || failed {
                break;
            }
        }
    });
    let interval = Duration::from_secs_f64(options.flush_interval_seconds);
    let (mut events, mut invalid) = (0u64, 0u64);
    let mut stopped = None;
    loop {
        let item = match receiver.recv_timeout(interval) {
            Ok(item) => Some(item),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(item) = item {
            let input::EventLine { path, line, event } = match item {
                Ok(line) => line,
                Err(error) => {
                    stopped = Some(format!("{error:#}"));
                    break;
                }
            };
            events += 1;
            let event = match event {
                Ok(event) => event,
                Err(oversized) => {
                    invalid += 1;
                    eprintln!("sluice: {path}:{line}: {oversized}");
                    continue;
                }
            };
            let mut rejected = None;
            for writer in &mut writers {
                match writer.append(&event) {
                    Ok(_) => {}
                    Err(ArchiveError::Write(error)) => {
                        stopped = Some(format!("archive {}: {error}", writer.definition().name));
                    }
                    Err(error) => rejected = Some(error),
                }
            }
            if stopped.is_some() {
                break;
            }
            if let Some(error) = rejected {
                invalid += 1;
                eprintln!("sluice: {path}:{line}: {error}");
            }
        }
        for writer in &mut writers {
            if let Err(error) = writer.flush_if_waited(interval) {
                stopped = Some(format!("archive {}: {error}", writer.definition().name));
            }
        }
        if stopped.is_some() {
            break;
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut summary = Summary {
        events,
        invalid,
        archives: BTreeMap::new(),
        stopped: None,
    };
    for writer in &mut writers {
        let name = writer.definition().name.clone();
        let mut removed = 0;
        let flushed = writer
            .flush()
            .and_then(|()| writer.apply_retention(now))
            .map(|n| removed = n);
        if let Err(error) = flushed {
            stopped.get_or_insert_with(|| format!("archive {name}: {error}"));
        }
        let segments = sluice_router::archive::Archive::open(writer.dir())
            .map(|a| a.segments().len())
            .unwrap_or(0);
        let (mut recovered_segments, mut unreadable_segments) = (Vec::new(), Vec::new());
        for recovery in writer.recovered() {
            match recovery {
                Recovery::Indexed(segment) => recovered_segments.push(segment.file.clone()),
                Recovery::Unreadable { file, .. } => unreadable_segments.push(file.clone()),
            }
        }
        summary.archives.insert(
            name,
            ArchiveSummary {
                // What a failed write still holds was not archived.
                archived: writer.archived - writer.buffered() as u64,
                segments,
                expired_segments_removed: removed,
                recovered_segments,
                unreadable_segments,
            },
        );
    }
    summary.stopped = stopped;
    println!("{}", serde_json::to_string(&summary)?);
    if let Some(reason) = &summary.stopped {
        eprintln!("sluice: archiving stopped: {reason}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
