//! `sluice match`: match event files against a rules file on every core.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use sluice_pattern::ScanMode;
use sluice_router::table::RuleTable;

use crate::input::{self, Batch};
use crate::rules::RulesArgs;

/// Options of `sluice match`.
#[derive(clap::Args, Clone)]
pub struct MatchOptions {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Event files (JSON Lines; .gz, .zst, or - for stdin).
    #[arg(required = true)]
    pub events: Vec<String>,
    /// The bus the events arrive on: only its rules match.
    #[arg(long, default_value = "default", value_parser = crate::checks::bus_name)]
    pub event_bus: String,
    /// Print one summary object instead of one line per event.
    #[arg(long)]
    pub count: bool,
    /// Worker threads (default: every core).
    #[arg(long, value_parser = crate::checks::threads)]
    pub threads: Option<usize>,
    /// Trust the input: skip validation of unneeded parts of events.
    #[arg(long)]
    pub early_exit: bool,
    #[command(flatten)]
    pub size: input::EventSizeArgs,
}

/// What one worker made of one batch.
struct BatchResult {
    seq: u64,
    output: Vec<u8>,
    events: u64,
    invalid: u64,
    matched_events: u64,
}

/// Per-rule counts of one worker.
struct Tally {
    per_rule: Vec<u64>,
}

pub fn run(options: &MatchOptions) -> Result<ExitCode> {
    let mode = if options.early_exit {
        ScanMode::EarlyExit
    } else {
        ScanMode::Validating
    };
    let table = Arc::new(options.rules.table(options.rules.load()?, mode)?);
    let bus: Arc<str> = options.event_bus.as_str().into();
    let slots = table.match_slots(&bus);
    // Names by slot, quoted once; a slot without a rule has no name.
    let mut names: Vec<Option<String>> = vec![None; slots];
    for (slot, rule) in table.slot_rules(&bus) {
        names[slot] = Some(serde_json::to_string(&rule.name)?);
    }
    let names = Arc::new(names);
    let threads = options
        .threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
        .max(1);

    let read = Arc::new(AtomicU64::new(0));
    let total: Option<u64> = options
        .events
        .iter()
        .map(|p| input::file_len(p))
        .sum::<Option<u64>>();
    let progress = progress_bar(total);

    let (batch_tx, batch_rx) = sync_channel::<Batch>(threads * 2);
    let batch_rx = Arc::new(Mutex::new(batch_rx));
    let (result_tx, result_rx) = sync_channel::<BatchResult>(threads * 4);

    let mut workers = Vec::new();
    for _ in 0..threads {
        let rx = batch_rx.clone();
        let tx = result_tx.clone();
        let table = table.clone();
        let names = names.clone();
        let bus = bus.clone();
        let per_event = !options.count;
        let spawned = std::thread::Builder::new()
            .name("sluice-match".into())
            .spawn(move || worker(&table, &bus, &names, per_event, &rx, &tx))
            .with_context(|| format!("cannot start {threads} matching threads"))?;
        workers.push(spawned);
    }
    drop(result_tx);

    let files = options.events.clone();
    let reader_read = read.clone();
    let max_event_bytes = options.size.max_event_bytes;
    let reader = std::thread::Builder::new()
        .name("sluice-read".into())
        .spawn(move || -> Result<()> {
            let mut seq = 0;
            for file in &files {
                let stream = input::open_events(file, reader_read.clone())?;
                seq += input::read_batches(file, stream, seq, max_event_bytes, |batch| {
                    batch_tx.send(batch).context("workers stopped")
                })?;
            }
            Ok(())
        })
        .context("cannot start the reading thread")?;

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut next_seq = 0;
    let (mut events, mut invalid, mut matched_events) = (0u64, 0u64, 0u64);
    for result in result_rx {
        events += result.events;
        invalid += result.invalid;
        matched_events += result.matched_events;
        if !options.count {
            pending.insert(result.seq, result.output);
            while let Some(output) = pending.remove(&next_seq) {
                out.write_all(&output)?;
                next_seq += 1;
            }
            // Each batch's lines go out when it is done, so a live pipe
            // is filtered as it flows.
            out.flush()?;
        }
        if let Some(bar) = &progress {
            bar.set_position(read.load(Ordering::Relaxed));
        }
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
    let mut per_rule = vec![0u64; slots];
    for worker in workers {
        let tally = worker
            .join()
            .map_err(|_| anyhow::anyhow!("worker thread panicked"))?;
        for (total, n) in per_rule.iter_mut().zip(tally.per_rule) {
            *total += n;
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if options.count {
        let rules: Vec<String> = names
            .iter()
            .zip(&per_rule)
            .filter_map(|(name, n)| Some(format!("{}:{n}", name.as_ref()?)))
            .collect();
        writeln!(
            out,
            "{{\"events\":{events},\"invalid\":{invalid},\"rules\":{{{}}}}}",
            rules.join(",")
        )?;
    }
    out.flush()?;
    if invalid > 0 {
        eprintln!(
            "sluice: {invalid} of {events} events were not valid JSON objects (or were too large) and matched nothing"
        );
    }
    Ok(if matched_events > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn progress_bar(total: Option<u64>) -> Option<indicatif::ProgressBar> {
    const LARGE: u64 = 16 << 20;
    if !std::io::stderr().is_terminal() || total.is_some_and(|t| t < LARGE) {
        return None;
    }
    let bar = match total {
        Some(total) => indicatif::ProgressBar::new(total),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

fn worker(
    table: &RuleTable,
    bus: &str,
    quoted: &[Option<String>],
    per_event: bool,
    batches: &Mutex<Receiver<Batch>>,
    results: &std::sync::mpsc::SyncSender<BatchResult>,
) -> Tally {
    let mut scratch = table.scratch();
    let mut tally = Tally {
        per_rule: vec![0; quoted.len()],
    };
    let mut listed: Vec<&str> = Vec::new();
    loop {
        let batch = {
            let Ok(rx) = batches.lock() else { break };
            match rx.recv() {
                Ok(batch) => batch,
                Err(_) => break,
            }
        };
        let file = serde_json::to_string(&*batch.file).unwrap_or_default();
        let mut result = BatchResult {
            seq: batch.seq,
            output: Vec::new(),
            events: 0,
            invalid: 0,
            matched_events: 0,
        };
        for &input::BatchLine {
            start,
            end,
            line,
            oversized,
        } in &batch.lines
        {
            result.events += 1;
            if let Some(oversized) = oversized {
                result.invalid += 1;
                if per_event {
                    let reason = serde_json::to_string(&oversized.to_string()).unwrap_or_default();
                    let _ = writeln!(
                        result.output,
                        "{{\"file\":{file},\"line\":{line},\"error\":{reason}}}"
                    );
                }
                continue;
            }
            listed.clear();
            let matched =
                table.for_each_match(bus, &batch.data[start..end], &mut scratch, |slot, _| {
                    tally.per_rule[slot] += 1;
                    if let Some(name) = &quoted[slot] {
                        listed.push(name);
                    }
                });
            match matched {
                Ok(()) => {
                    if !listed.is_empty() {
                        result.matched_events += 1;
                    }
                    if per_event {
                        let _ = writeln!(
                            result.output,
                            "{{\"file\":{file},\"line\":{line},\"rules\":[{}]}}",
                            listed.join(",")
                        );
                    }
                }
                Err(error) => {
                    result.invalid += 1;
                    if per_event {
                        let reason = serde_json::to_string(error.reason()).unwrap_or_default();
                        let _ = writeln!(
                            result.output,
                            "{{\"file\":{file},\"line\":{line},\"error\":{reason}}}"
                        );
                    }
                }
            }
        }
        if results.send(result).is_err() {
            break;
        }
    }
    tally
}
