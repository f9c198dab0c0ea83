//! `sluice bench`: single-thread matching throughput on the user's own data.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::Result;
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode};

use crate::input;
use crate::rules;

/// Minimum measuring time per mode.
const MEASURE: Duration = Duration::from_secs(2);

pub fn run(rules_path: &str, events_paths: &[String], max_event_bytes: usize) -> Result<ExitCode> {
    let specs = rules::load(rules_path)?;
    let mut data = Vec::new();
    let mut lines = Vec::new();
    for path in events_paths {
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
    println!(
        "events: {} ({:.1} MB), rules: {}",
        lines.len(),
        bytes as f64 / 1e6,
        specs.len()
    );
    if lines.is_empty() {
        anyhow::bail!("no events to measure");
    }
    let mut counts = Vec::new();
    for (label, mode) in [
        ("early-exit", ScanMode::EarlyExit),
        ("validating", ScanMode::Validating),
    ] {
        let matcher = rules::compile(rules_path, &specs, Config::new().scan_mode(mode))?;
        let (per_second, per_rule) = measure(&matcher, &data, &lines);
        println!(
            "{label}: {:.0} events/s ({:.1} MB/s)",
            per_second,
            per_second * bytes as f64 / lines.len() as f64 / 1e6
        );
        counts = per_rule;
    }
    println!("matches per rule (validating):");
    for (spec, n) in specs.iter().zip(&counts) {
        println!("  {}: {n}", spec.name);
    }
    Ok(ExitCode::SUCCESS)
}

/// Events per second over whole passes, and the per-rule counts of one pass.
fn measure(matcher: &Matcher, data: &[u8], lines: &[(usize, usize)]) -> (f64, Vec<u64>) {
    let mut cache = matcher.create_cache();
    let mut hits = MatchSet::new(matcher.rule_capacity());
    let mut per_rule = vec![0u64; matcher.rule_capacity()];
    let mut pass = |count: bool, per_rule: &mut Vec<u64>| {
        for &(s, e) in lines {
            if matcher
                .matches_with(&mut cache, &data[s..e], &mut hits)
                .is_ok()
                && count
            {
                for id in hits.iter_unordered() {
                    per_rule[id.index()] += 1;
                }
            }
        }
    };
    pass(true, &mut per_rule); // warm-up, and the counts
    let start = Instant::now();
    let mut passes = 0u64;
    while passes == 0 || start.elapsed() < MEASURE {
        pass(false, &mut per_rule);
        passes += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    ((passes as f64 * lines.len() as f64) / seconds, per_rule)
}
