//! `sluice replay`: the events of an archive (or of JSON Lines files) in a
//! time window, in event-time order, marked with `replay-name`, matched
//! against rules and delivered through the router or, with `--dry-run`,
//! counted.
//!
//! A reader thread decompresses, merges and marks events into batches;
//! matching runs on every core (dry run) or delivery overlaps reading
//! (real run). Memory is bounded by the batch queue and the open segments.

use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use sluice_router::archive::{Archive, read_envelope};
use sluice_router::clock::parse_rfc3339;
use sluice_router::dispatch::{Router, RouterSettings};
use sluice_router::load::{Parameters, load_rules};
use sluice_router::model::{Environment, Rule};
use sluice_router::replay::{
    ArchiveEvents, BucketOrder, TimedEvent, Window, dry_run_archive, dry_run_events,
    with_replay_name,
};
use sluice_router::table::RuleTable;

use crate::input;
use crate::routing;

/// Options of `sluice replay`.
#[derive(clap::Args, Clone)]
pub struct ReplayOptions {
    /// An archive directory (with archive.json), or a JSON Lines file (.jsonl, .gz, .zst).
    #[arg(long)]
    pub archive: String,
    /// First event time replayed (RFC 3339).
    #[arg(long)]
    pub start: String,
    /// First event time not replayed (RFC 3339).
    #[arg(long)]
    pub end: String,
    /// Rules with targets, as for `route`.
    #[arg(long)]
    pub rules: String,
    /// The replay's name, set as "replay-name" on every event.
    #[arg(long, default_value = "sluice-replay")]
    pub name: String,
    /// Deliver only to these rules (repeatable).
    #[arg(long = "filter-rule")]
    pub filter_rules: Vec<String>,
    /// Count what would be delivered instead of delivering.
    #[arg(long)]
    pub dry_run: bool,
    /// The bus of a JSON Lines file (an archive knows its own).
    #[arg(long, default_value = "default")]
    pub event_bus: String,
    /// Seconds to wait for out-of-order events in a JSON Lines file.
    #[arg(long = "lateness", value_name = "SECONDS", default_value_t = 600)]
    pub lateness_seconds: i64,
    /// Matching threads for --dry-run (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write failed deliveries here (default: stderr).
    #[arg(long)]
    pub failures: Option<String>,
    #[command(flatten)]
    pub log: crate::logging::LogArgs,
}

impl ReplayOptions {
    /// Matching threads: `--threads`, else every core.
    fn threads(&self) -> usize {
        self.threads
            .unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            })
            .max(1)
    }
}

/// Events per batch handed from the reader to the matchers.
const BATCH_EVENTS: usize = 4096;

/// Replayed events, back to back, with their ends.
struct Batch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            data: Vec::with_capacity(BATCH_EVENTS * 1024),
            ends: Vec::with_capacity(BATCH_EVENTS),
        }
    }

    fn events(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let event = &self.data[start..end];
            start = end;
            event
        })
    }
}

/// What the reader thread reports when it is done.
struct ReadTotals {
    events: u64,
    late_events: u64,
}

pub fn run(options: &ReplayOptions) -> Result<ExitCode> {
    let start = parse_rfc3339(&options.start)
        .ok_or_else(|| anyhow!("--start {:?} is not an RFC 3339 time", options.start))?;
    let end = parse_rfc3339(&options.end)
        .ok_or_else(|| anyhow!("--end {:?} is not an RFC 3339 time", options.end))?;
    let window = Window::new(start, end).map_err(|e| anyhow!("{}", e.message()))?;
    let source = Source::open(&options.archive, &options.event_bus)?;
    let bus = source.bus().to_string();
    let table = replay_table(options, &bus)?;

    let began = Instant::now();
    let read = Arc::new(AtomicU64::new(0));
    let progress = routing::progress_bar();
    let ticker = progress.clone().map(|bar| {
        let read = read.clone();
        std::thread::spawn(move || {
            while !bar.is_finished() {
                bar.set_position(read.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    });
    if options.dry_run && options.log.wanted() {
        anyhow::bail!("--dry-run delivers nothing, so it writes no processing log (--log-to)");
    }
    let outcome = if options.dry_run {
        dry_run(options, source, window, &table, &bus, &read)
    } else {
        let (sender, receiver) = sync_channel::<Batch>(options.threads() * 2);
        // An archive's events were checked when they were archived; events
        // from plain files are checked as they are matched.
        let table = match source {
            Source::Archive(_) => table.with_scan_mode(sluice_pattern::ScanMode::EarlyExit),
            Source::Files { .. } => table,
        };
        let name = options.name.clone();
        let lateness = options.lateness_seconds;
        let counter = read.clone();
        let reader =
            std::thread::spawn(move || source.read(window, &name, lateness, &sender, &counter));
        let delivered = deliver(options, table, &bus, receiver);
        let totals = reader
            .join()
            .map_err(|_| anyhow!("the archive reader stopped unexpectedly"))?;
        totals.and_then(|totals| {
            delivered.map(|(rules, matched, failures)| (totals, rules, matched, failures))
        })
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if let Some(ticker) = ticker {
        let _ = ticker.join();
    }
    let (totals, rules, matched, failures) = outcome?;
    let seconds = began.elapsed().as_secs_f64();
    let summary = Summary {
        replay: &options.name,
        dry_run: options.dry_run,
        events: totals.events,
        matched,
        late_events: totals.late_events,
        seconds: (seconds * 1000.0).round() / 1000.0,
        events_per_second: (totals.events as f64 / seconds.max(1e-9)).round(),
        rules,
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(if failures > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Serialize)]
struct Summary<'a> {
    replay: &'a str,
    dry_run: bool,
    events: u64,
    matched: u64,
    late_events: u64,
    seconds: f64,
    events_per_second: f64,
    rules: serde_json::Value,
}

/// The rules on the replay's bus, narrowed to `--filter-rule` names.
fn replay_table(options: &ReplayOptions, bus: &str) -> Result<RuleTable> {
    let rules = load_rules(
        Path::new(&options.rules),
        &Parameters::default(),
        &Environment::default(),
    )?;
    for name in &options.filter_rules {
        if !rules.iter().any(|r| &r.name == name && r.bus == bus) {
            bail!(
                "Parameter Destination.FilterArns is not valid. Reason: Rule {name} does not exist on EventBus {bus}."
            );
        }
    }
    let selected: Vec<Rule> = rules
        .into_iter()
        .filter(|r| r.bus == bus && r.event_pattern.is_some())
        .filter(|r| options.filter_rules.is_empty() || options.filter_rules.contains(&r.name))
        .collect();
    RuleTable::new(selected).map_err(|e| anyhow!("{}: {e}", options.rules))
}

enum Source {
    Archive(Archive),
    Files { paths: Vec<String>, bus: String },
}

impl Source {
    fn open(path: &str, bus: &str) -> Result<Source> {
        let dir = Path::new(path);
        if dir.join("archive.json").exists() {
            return Ok(Source::Archive(
                Archive::open(dir).with_context(|| format!("cannot open archive {path}"))?,
            ));
        }
        if dir.is_dir() {
            bail!("{path} is a directory without archive.json: not an archive");
        }
        Ok(Source::Files {
            paths: vec![path.to_string()],
            bus: bus.to_string(),
        })
    }

    fn bus(&self) -> &str {
        match self {
            Source::Archive(archive) => &archive.definition().bus,
            Source::Files { bus, .. } => bus,
        }
    }

    /// Sends the window's events, in order and marked, in batches.
    fn read(
        self,
        window: Window,
        name: &str,
        lateness: i64,
        sender: &SyncSender<Batch>,
        read: &AtomicU64,
    ) -> Result<ReadTotals> {
        let mut batch = Batch::new();
        let mut totals = ReadTotals {
            events: 0,
            late_events: 0,
        };
        let mut emit = |event: TimedEvent, batch: &mut Batch| -> Result<()> {
            let marked = with_replay_name(&event.event, name)
                .ok_or_else(|| anyhow!("an archived event is not a JSON object"))?;
            batch.data.extend_from_slice(&marked);
            batch.ends.push(batch.data.len());
            totals.events += 1;
            read.fetch_add(1, Ordering::Relaxed);
            if batch.ends.len() >= BATCH_EVENTS {
                let full = std::mem::replace(batch, Batch::new());
                sender
                    .send(full)
                    .map_err(|_| anyhow!("the replay stopped reading"))?;
            }
            Ok(())
        };
        match self {
            Source::Archive(archive) => {
                for event in ArchiveEvents::new(&archive, window) {
                    emit(event?, &mut batch)?;
                }
            }
            Source::Files { paths, .. } => {
                let mut events = PlainEvents::new(paths, window, lateness);
                for event in &mut events {
                    emit(event?, &mut batch)?;
                }
                totals.late_events = events.late_events();
            }
        }
        if !batch.ends.is_empty() {
            sender
                .send(batch)
                .map_err(|_| anyhow!("the replay stopped reading"))?;
        }
        Ok(totals)
    }
}

/// The window's events from plain JSON Lines files, in one-minute-bucket
/// order (see [`BucketOrder`]). Events without an RFC 3339 `time` are
/// skipped with a message; replayed events are never replayed again.
struct PlainEvents {
    lines: input::EventLines,
    window: Window,
    order: BucketOrder,
    ready: VecDeque<TimedEvent>,
    finished: bool,
}

impl PlainEvents {
    fn new(paths: Vec<String>, window: Window, lateness: i64) -> PlainEvents {
        PlainEvents {
            lines: input::event_lines(paths),
            window,
            order: BucketOrder::new(lateness),
            ready: VecDeque::new(),
            finished: false,
        }
    }

    /// Events that arrived after their minute bucket had been replayed.
    fn late_events(&self) -> u64 {
        self.order.late_events
    }
}

impl Iterator for PlainEvents {
    type Item = std::io::Result<TimedEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(Ok(event));
            }
            if self.finished {
                return None;
            }
            let input::EventLine { path, line, event } = match self.lines.next() {
                Some(Ok(line)) => line,
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(std::io::Error::other(format!("{e:#}"))));
                }
                None => {
                    self.ready.extend(self.order.finish());
                    self.finished = true;
                    continue;
                }
            };
            let envelope = read_envelope(&event);
            let Some(time) = envelope.and_then(|e| e.time) else {
                eprintln!("sluice: {path}:{line}: skipped: no RFC 3339 \"time\"");
                continue;
            };
            if envelope.is_some_and(|e| e.replayed) || !self.window.contains(time) {
                continue;
            }
            self.ready.extend(self.order.push(time, event));
        }
    }
}

type Outcome = Result<(serde_json::Value, u64, usize)>;

/// Counts what each rule would receive, matching on every core; delivers nothing.
fn dry_run(
    options: &ReplayOptions,
    source: Source,
    window: Window,
    table: &RuleTable,
    bus: &str,
    read: &AtomicU64,
) -> Result<(ReadTotals, serde_json::Value, u64, usize)> {
    let threads = options.threads();
    let mut late_events = 0;
    let counts = match source {
        Source::Archive(archive) => {
            dry_run_archive(&archive, window, &options.name, table, bus, threads, read)?
        }
        Source::Files { paths, .. } => {
            let mut events = PlainEvents::new(paths, window, options.lateness_seconds);
            let counted = events.by_ref().inspect(|_| {
                read.fetch_add(1, Ordering::Relaxed);
            });
            let counts = dry_run_events(counted, &options.name, table, bus, threads)?;
            late_events = events.late_events();
            counts
        }
    };
    let rules_json: serde_json::Map<String, serde_json::Value> = table
        .rules()
        .map(|rule| {
            let count = counts.per_rule.get(&rule.name).copied().unwrap_or(0);
            let targets: serde_json::Map<String, serde_json::Value> = rule
                .targets
                .iter()
                .map(|t| {
                    (
                        t.id.clone(),
                        serde_json::json!({"arn": t.arn.as_str(), "would_deliver": count}),
                    )
                })
                .collect();
            (
                rule.name.clone(),
                serde_json::json!({"matched": count, "targets": targets}),
            )
        })
        .collect();
    let totals = ReadTotals {
        events: counts.events,
        late_events,
    };
    Ok((
        totals,
        serde_json::Value::Object(rules_json),
        counts.matched,
        0,
    ))
}

/// Routes every event, in order, through the router to the real targets.
fn deliver(
    options: &ReplayOptions,
    table: RuleTable,
    bus: &str,
    receiver: Receiver<Batch>,
) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (rule_names, target_arns) = routing::names(&table);
    let bus = bus.to_string();
    runtime.block_on(async move {
        let connector = sluice_targets::AwsConnector::from_env().await;
        let log = options
            .log
            .open(&connector, &Environment::default(), "replay")?;
        let router = Router::with_processing_log(
            table,
            Arc::new(connector),
            RouterSettings::default(),
            log.clone(),
        )?;
        let mut matched = 0u64;
        // Batches arrive from a plain thread; take them off the runtime's workers.
        let receiver = Arc::new(Mutex::new(receiver));
        loop {
            let receiver = receiver.clone();
            let next = tokio::task::spawn_blocking(move || receiver.lock().ok()?.recv().ok())
                .await
                .ok()
                .flatten();
            let Some(batch) = next else { break };
            for event in batch.events() {
                match router.route(&bus, event).await {
                    Ok(routed) if routed.rules > 0 => matched += 1,
                    Ok(_) => {}
                    Err(error) => eprintln!("sluice: event rejected: {error}"),
                }
            }
        }
        router.drain().await;
        let rules = routing::rule_summaries(&router, &rule_names, &target_arns);
        // Failed deliveries are written out before anything else can fail.
        let mut failures = routing::write_failures(&router, options.failures.as_deref())?;
        if !crate::logging::finish(log, &options.log).await {
            // Lost processing-log records fail the replay too (exit 2).
            failures += 1;
        }
        Ok((serde_json::to_value(rules)?, matched, failures))
    })
}
