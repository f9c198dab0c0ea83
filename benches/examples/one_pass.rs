//! One matching pass over a JSON Lines file, for instruction-count profiling:
//! `valgrind --tool=callgrind target/release/examples/one_pass RULES EVENTS early-exit|validating`
//! (rules as for `sluice match`: a list of {"Name", "EventPattern"}).
//! An optional fifth argument repeats the pass that many times and prints
//! the matching rate (a quick timing, not a benchmark).

use std::io::BufRead;

use serde::Deserialize;
use serde_json::value::RawValue;
use sluice_pattern::{Config, MatchSet, Matcher, ScanMode};

#[derive(Deserialize)]
struct Rule {
    #[serde(rename = "EventPattern")]
    pattern: Box<RawValue>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (rules, events, mode, repeat) = match args.as_slice() {
        [_, rules, events, mode] => (rules, events, mode, 1),
        [_, rules, events, mode, repeat] => (rules, events, mode, repeat.parse().unwrap_or(1)),
        _ => {
            eprintln!("usage: one_pass RULES EVENTS early-exit|validating [REPEAT]");
            std::process::exit(2);
        }
    };
    let rules: Vec<Rule> =
        serde_json::from_str(&std::fs::read_to_string(rules).expect("rules")).expect("rules parse");
    let patterns: Vec<String> = rules
        .iter()
        .map(|r| {
            let raw = r.pattern.get();
            if raw.starts_with('"') {
                serde_json::from_str(raw).expect("string")
            } else {
                raw.to_string()
            }
        })
        .collect();
    let mode = if mode == "early-exit" {
        ScanMode::EarlyExit
    } else {
        ScanMode::Validating
    };
    let matcher = Matcher::builder()
        .configure(Config::new().scan_mode(mode))
        .build(&patterns)
        .expect("valid");
    let lines: Vec<Vec<u8>> = std::io::BufReader::new(std::fs::File::open(events).expect("events"))
        .split(b'\n')
        .map(|l| l.expect("read"))
        .collect();
    let mut cache = matcher.create_cache();
    let mut hits = MatchSet::new(patterns.len());
    let mut total = 0;
    let started = std::time::Instant::now();
    for _ in 0..repeat {
        for line in &lines {
            if matcher.matches_with(&mut cache, line, &mut hits).is_ok() {
                total += hits.len();
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("{} events, {total} matches", lines.len());
    if repeat > 1 {
        let rate = (lines.len() * repeat) as f64 / elapsed;
        let bytes: usize = lines.iter().map(Vec::len).sum();
        let megabytes = (bytes * repeat) as f64 / elapsed / 1e6;
        println!("{:.0} K events/s, {megabytes:.0} MB/s", rate / 1e3);
    }
}
