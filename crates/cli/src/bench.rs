//! `sluice bench`: single-thread matching throughput on the user's own data.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::Result;
use sluice_pattern::ScanMode;
use sluice_router::table::RuleTable;

use crate::input;
use crate::rules::RulesArgs;

/// Minimum measuring time per mode.
const MEASURE: Duration = Duration::from_secs(2);

/// Options of `sluice bench`.
#[derive(clap::Args, Clone)]
pub struct BenchOptions {
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Event files (JSON Lines; .gz, .zst, or - for stdin).
    #[arg(required = true)]
    pub events: Vec<String>,
    /// The bus the events arrive on: only its rules match.
    #[arg(long, default_value = "default", value_parser = crate::checks::bus_name)]
    pub event_bus: String,
    #[command(flatten)]
    pub size: input::EventSizeArgs,
}

pub fn run(options: &BenchOptions) -> Result<ExitCode> {
    let rules = options.rules.load()?;
    let max_event_bytes = options.size.max_event_bytes;
    let mut data = Vec::new();
    let mut lines = Vec::new();
    for path in &options.events {
        let stream = input::open_events(path, Arc::new(AtomicU64::new(0)))?;
        input::read_batches(path, stream, 0, max_event_bytes, |batch| {
            let base = data.len();
            data.extend_from_slice(&batch.data);
            for line in &batch.lines {
                match line.oversized {
                    None => lines.push((base + line.start, base + line.end)),
                    Some(oversized) => {
                        eprintln!("sluice: {path}:{}: skipped: {oversized}", line.line)
                    }
                }
            }
            Ok(())
        })?;
    }
    let bytes: usize = lines.iter().map(|(s, e)| e - s).sum();
    let mut table = options.rules.table(rules, ScanMode::EarlyExit)?;
    let bus = options.event_bus.as_str();
    println!(
        "events: {} ({:.1} MB), rules: {}",
        lines.len(),
        bytes as f64 / 1e6,
        table.slot_rules(bus).count()
    );
    if lines.is_empty() {
        anyhow::bail!("no events to measure");
    }
    let mut counts = Vec::new();
    for (label, mode) in [
        ("early-exit", ScanMode::EarlyExit),
        ("validating", ScanMode::Validating),
    ] {
        table = table.with_scan_mode(mode);
        let (per_second, per_slot) = measure(&table, bus, &data, &lines);
        println!(
            "{label}: {:.0} events/s ({:.1} MB/s)",
            per_second,
            per_second * bytes as f64 / lines.len() as f64 / 1e6
        );
        counts = per_slot;
    }
    println!("matches per rule (validating):");
    for (slot, rule) in table.slot_rules(bus) {
        println!("  {}: {}", rule.name, counts[slot]);
    }
    Ok(ExitCode::SUCCESS)
}

/// Events per second over whole passes, and the per-rule counts of one pass.
fn measure(table: &RuleTable, bus: &str, data: &[u8], lines: &[(usize, usize)]) -> (f64, Vec<u64>) {
    let mut scratch = table.scratch();
    let mut per_slot = vec![0u64; table.match_slots(bus)];
    let mut pass = |count: bool, per_slot: &mut Vec<u64>| {
        for &(s, e) in lines {
            // Invalid events count for nothing; the pass goes on.
            let _ = table.for_each_match(bus, &data[s..e], &mut scratch, |slot, _| {
                if count {
                    per_slot[slot] += 1;
                }
            });
        }
    };
    pass(true, &mut per_slot); // warm-up, and the counts
    let start = Instant::now();
    let mut passes = 0u64;
    while passes == 0 || start.elapsed() < MEASURE {
        pass(false, &mut per_slot);
        passes += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    ((passes as f64 * lines.len() as f64) / seconds, per_slot)
}
