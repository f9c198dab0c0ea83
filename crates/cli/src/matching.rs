//! `sluice match`: match event files against a rules file on every core.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode};

use crate::input::{self, Batch};
use crate::rules;

/// Options of `sluice match`.
pub struct MatchOptions {
    pub rules: String,
    pub events: Vec<String>,
    pub count: bool,
    pub threads: usize,
    pub early_exit: bool,
    pub max_event_bytes: usize,
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
    let specs = rules::load(&options.rules)?;
    let mode = if options.early_exit {
        ScanMode::EarlyExit
    } else {
        ScanMode::Validating
    };
    let matcher = rules::compile(&options.rules, &specs, Config::new().scan_mode(mode))?;
    let names: Vec<String> = specs.iter().map(|r| r.name.clone()).collect();
    let threads = options.threads.max(1);

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
        let matcher = matcher.clone();
        let names = names.clone();
        let per_event = !options.count;
        let spawned = std::thread::Builder::new()
            .name("sluice-match".into())
            .spawn(move || worker(&matcher, &names, per_event, &rx, &tx))
            .with_context(|| format!("cannot start {threads} matching threads"))?;
        workers.push(spawned);
    }
    drop(result_tx);

    let files = options.events.clone();
    let reader_read = read.clone();
    let max_event_bytes = options.max_event_bytes;
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
        }
        if let Some(bar) = &progress {
            bar.set_position(read.load(Ordering::Relaxed));
        }
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
    let mut per_rule = vec![0u64; matcher.rule_capacity()];
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
            .map(|(name, n)| format!("{}: {n}", serde_json::to_string(name).unwrap_or_default()))
            .collect();
        writeln!(
            out,
            "{{\"events\": {events}, \"invalid\": {invalid}, \"rules\": {{{}}}}}",
            rules.join(", ")
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
    matcher: &Matcher,
    names: &[String],
    per_event: bool,
    batches: &Mutex<Receiver<Batch>>,
    results: &std::sync::mpsc::SyncSender<BatchResult>,
) -> Tally {
    let mut cache = matcher.create_cache();
    let mut hits = MatchSet::new(matcher.rule_capacity());
    let mut tally = Tally {
        per_rule: vec![0; matcher.rule_capacity()],
    };
    let quoted: Vec<String> = names
        .iter()
        .map(|n| serde_json::to_string(n).unwrap_or_default())
        .collect();
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
                        "{{\"file\": {file}, \"line\": {line}, \"error\": {reason}}}"
                    );
                }
                continue;
            }
            match matcher.matches_with(&mut cache, &batch.data[start..end], &mut hits) {
                Ok(()) => {
                    if !hits.is_empty() {
                        result.matched_events += 1;
                    }
                    for id in hits.iter_unordered() {
                        tally.per_rule[id.index()] += 1;
                    }
                    if per_event {
                        let listed: Vec<&str> =
                            hits.iter().map(|id| quoted[id.index()].as_str()).collect();
                        let _ = writeln!(
                            result.output,
                            "{{\"file\": {file}, \"line\": {line}, \"rules\": [{}]}}",
                            listed.join(", ")
                        );
                    }
                }
                Err(error) => {
                    result.invalid += 1;
                    if per_event {
                        let reason = serde_json::to_string(error.reason()).unwrap_or_default();
                        let _ = writeln!(
                            result.output,
                            "{{\"file\": {file}, \"line\": {line}, \"error\": {reason}}}"
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
