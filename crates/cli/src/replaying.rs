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
use sluice_pattern::ScanMode;
use sluice_router::archive::{Archive, is_archive, read_envelope};
use sluice_router::clock::{format_epoch_seconds, parse_rfc3339};
use sluice_router::model::Rule;
use sluice_router::replay::{
    ArchiveEvents, BucketOrder, CorruptSegment, ReplayCounts, TimedEvent, Window, dry_run_archive,
    dry_run_events, with_replay_name,
};
use sluice_router::table::RuleTable;
use sluice_router::{Router, RouterSettings};

use crate::delivering::{FailuresFile, StopSignal};
use crate::input;
use crate::rules::RulesArgs;
use crate::run_report;

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
    #[command(flatten)]
    pub rules: RulesArgs,
    /// The replay's name, set as "replay-name" on every event.
    #[arg(long, default_value = "sluice-replay", value_parser = crate::checks::replay_name)]
    pub name: String,
    /// Deliver only to these rules (repeatable).
    #[arg(long = "filter-rule")]
    pub filter_rules: Vec<String>,
    /// Count what would be delivered instead of delivering.
    #[arg(long)]
    pub dry_run: bool,
    /// The bus of a JSON Lines file (an archive knows its own).
    #[arg(long, default_value = "default", value_parser = crate::checks::bus_name)]
    pub event_bus: String,
    /// Seconds to wait for out-of-order events in a JSON Lines file. Events
    /// are replayed by minute of event time, each minute once events more
    /// than this much newer have been read; an event that comes after its
    /// minute was replayed is replayed at once and counted in the summary's
    /// `late_events`.
    #[arg(long = "lateness", value_name = "SECONDS", default_value_t = 600)]
    pub lateness_seconds: i64,
    /// Matching threads for --dry-run (default: every core).
    #[arg(long, value_parser = crate::checks::threads)]
    pub threads: Option<usize>,
    /// Skip the first N events of the window (in replay order): with the
    /// --start a stopped replay printed, it continues where that one ended.
    #[arg(long = "skip-events", value_name = "N", default_value_t = 0)]
    pub skip_events: u64,
    /// Write failed deliveries here (default: stderr).
    #[arg(long)]
    pub failures: Option<String>,
    #[command(flatten)]
    pub retry: crate::delivering::RetryArgs,
    #[command(flatten)]
    pub log: crate::logging::LogArgs,
    #[command(flatten)]
    pub size: input::EventSizeArgs,
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
#[derive(Default)]
struct ReadTotals {
    events: u64,
    late_events: u64,
    /// Events that could not be read (damaged segments, no time, too large).
    unreadable: u64,
    /// Events of a plain file that already carried `replay-name`.
    already_replayed: u64,
    corrupt_segments: Vec<CorruptSegment>,
    /// The time of the last event replayed, and how many events of the
    /// window at that time came up to it (skipped ones included).
    last: Option<(i64, u64)>,
    /// Why reading stopped before the end of the window.
    stopped: Option<String>,
}

impl ReadTotals {
    /// What a rerun takes to continue after the last event replayed.
    fn resume(&self) -> Option<serde_json::Value> {
        let (time, at_time) = self.last?;
        Some(serde_json::json!({
            "replayed_through": format_epoch_seconds(time),
            "start": format_epoch_seconds(time),
            "skip_events": at_time,
        }))
    }
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
    let progress = run_report::progress_bar();
    let ticker = progress.clone().map(|bar| {
        let read = read.clone();
        std::thread::spawn(move || {
            while !bar.is_finished() {
                bar.set_position(read.load(Ordering::Relaxed));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    });
    if options.dry_run && options.skip_events > 0 {
        bail!("--skip-events continues a delivering replay; a dry run counts the whole window");
    }
    if options.dry_run && options.log.wanted() {
        anyhow::bail!("--dry-run delivers nothing, so it writes no processing log (--log-to)");
    }
    let outcome = if options.dry_run {
        dry_run(options, source, window, &table, &bus, &read)
    } else {
        let failures = FailuresFile::create(options.failures.as_deref())?;
        let (sender, receiver) = sync_channel::<Batch>(options.threads() * 2);
        // An archive's events were checked when they were archived; events
        // from plain files are checked as they are matched.
        let table = match source {
            Source::Archive(_) => table.with_scan_mode(ScanMode::EarlyExit),
            Source::Files { .. } => table,
        };
        let plan = ReadPlan {
            window,
            name: options.name.clone(),
            lateness: options.lateness_seconds,
            skip: options.skip_events,
            max_event_bytes: options.size.max_event_bytes,
        };
        let counter = read.clone();
        let reader = std::thread::Builder::new()
            .name("sluice-replay-read".into())
            .spawn(move || source.read(&plan, &sender, &counter))
            .context("cannot start the reading thread")?;
        let delivered = deliver(options, table, &bus, receiver, failures);
        let totals = reader
            .join()
            .map_err(|_| anyhow!("the archive reader stopped unexpectedly"))?;
        delivered
            .map(|(rules, matched, failures, signal)| (totals, rules, matched, failures, signal))
    };
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    if let Some(ticker) = ticker {
        let _ = ticker.join();
    }
    let (mut totals, rules, matched, failures, signal) = outcome?;
    if let Some(signal) = signal {
        // What was read is not what was delivered: no resume point is
        // given, and the interrupted deliveries are in the failures file.
        totals.stopped = Some(format!("interrupted by {}", signal.name()));
        totals.last = None;
    }
    let seconds = began.elapsed().as_secs_f64();
    let corrupt_segments: Vec<serde_json::Value> = totals
        .corrupt_segments
        .iter()
        .map(|c| serde_json::json!({"file": c.file, "reason": c.reason, "events_lost": c.events_lost}))
        .collect();
    for corrupt in &totals.corrupt_segments {
        eprintln!(
            "sluice: {}: damaged, {} events not replayed: {}",
            corrupt.file, corrupt.events_lost, corrupt.reason
        );
    }
    let stopped = totals
        .stopped
        .as_ref()
        .map(|reason| serde_json::json!({"reason": reason, "resume": totals.resume()}));
    let summary = Summary {
        replay: &options.name,
        dry_run: options.dry_run,
        events: totals.events,
        matched,
        late_events: totals.late_events,
        unreadable: totals.unreadable,
        already_replayed: totals.already_replayed,
        corrupt_segments,
        stopped,
        seconds: (seconds * 1000.0).round() / 1000.0,
        events_per_second: (totals.events as f64 / seconds.max(1e-9)).round(),
        rules,
    };
    println!("{}", serde_json::to_string(&summary)?);
    if let Some(reason) = &totals.stopped {
        eprintln!("sluice: the replay stopped: {reason}");
        if let Some((time, at_time)) = totals.last {
            eprintln!(
                "sluice: to continue after the last event replayed, run again with --start {} --skip-events {at_time}",
                format_epoch_seconds(time)
            );
        }
    }
    Ok(if let Some(signal) = signal {
        ExitCode::from(signal.exit_code())
    } else if failures > 0 || totals.stopped.is_some() {
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
    /// Events of a plain file that came after their minute of event time
    /// had been replayed (more than `--lateness` seconds out of order):
    /// replayed at once, out of order.
    late_events: u64,
    /// Events in the window that could not be read.
    unreadable: u64,
    /// Events of a plain file skipped because they already carried
    /// `replay-name`: a replayed event is never replayed again.
    already_replayed: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    corrupt_segments: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<serde_json::Value>,
    seconds: f64,
    events_per_second: f64,
    rules: serde_json::Value,
}

/// The rules on the replay's bus, narrowed to `--filter-rule` names.
fn replay_table(options: &ReplayOptions, bus: &str) -> Result<RuleTable> {
    let mut rules = options.rules.load()?;
    options.retry.apply(&mut rules);
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
    options.rules.table(selected, ScanMode::Validating)
}

enum Source {
    Archive(Archive),
    Files { paths: Vec<String>, bus: String },
}

impl Source {
    fn open(path: &str, bus: &str) -> Result<Source> {
        let dir = Path::new(path);
        if is_archive(dir) {
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

    /// Sends the window's events, in order and marked, in batches. An
    /// error ends the reading; what was sent before it is replayed, and the
    /// totals say where it stopped.
    fn read(self, plan: &ReadPlan, sender: &SyncSender<Batch>, read: &AtomicU64) -> ReadTotals {
        let mut batch = Batch::new();
        let mut totals = ReadTotals::default();
        let mut seen = 0u64;
        let mut at_time: Option<(i64, u64)> = None;
        let mut emit =
            |event: TimedEvent, batch: &mut Batch, totals: &mut ReadTotals| -> Result<()> {
                seen += 1;
                at_time = match at_time {
                    Some((time, n)) if time == event.time => Some((time, n + 1)),
                    _ => Some((event.time, 1)),
                };
                if seen <= plan.skip {
                    return Ok(());
                }
                let marked = with_replay_name(&event.event, &plan.name)
                    .ok_or_else(|| anyhow!("an archived event is not a JSON object"))?;
                batch.data.extend_from_slice(&marked);
                batch.ends.push(batch.data.len());
                totals.events += 1;
                totals.last = at_time;
                read.fetch_add(1, Ordering::Relaxed);
                if batch.ends.len() >= BATCH_EVENTS {
                    let full = std::mem::replace(batch, Batch::new());
                    sender
                        .send(full)
                        .map_err(|_| anyhow!("the replay stopped reading"))?;
                }
                Ok(())
            };
        let outcome: Result<()> = match self {
            Source::Archive(archive) => {
                let mut events = ArchiveEvents::new(&archive, plan.window);
                let mut outcome = Ok(());
                for event in events.by_ref() {
                    if let Err(e) = event
                        .map_err(anyhow::Error::from)
                        .and_then(|event| emit(event, &mut batch, &mut totals))
                    {
                        outcome = Err(e);
                        break;
                    }
                }
                totals.corrupt_segments = events.corrupt_segments().to_vec();
                totals.unreadable = totals.corrupt_segments.iter().map(|c| c.events_lost).sum();
                outcome
            }
            Source::Files { paths, .. } => {
                let mut events =
                    PlainEvents::new(paths, plan.window, plan.lateness, plan.max_event_bytes);
                let mut outcome = Ok(());
                for event in &mut events {
                    if let Err(e) = event
                        .map_err(anyhow::Error::from)
                        .and_then(|event| emit(event, &mut batch, &mut totals))
                    {
                        outcome = Err(e);
                        break;
                    }
                }
                totals.late_events = events.late_events();
                totals.unreadable = events.unreadable;
                totals.already_replayed = events.already_replayed;
                outcome
            }
        };
        if !batch.ends.is_empty() && sender.send(batch).is_err() {
            totals
                .stopped
                .get_or_insert_with(|| "the replay stopped reading".into());
        }
        if let Err(e) = outcome {
            totals.stopped = Some(format!("{e:#}"));
        }
        totals
    }
}

/// What the reader thread reads, and how.
struct ReadPlan {
    window: Window,
    name: String,
    lateness: i64,
    /// Events of the window skipped at its start.
    skip: u64,
    max_event_bytes: usize,
}

/// The window's events from plain JSON Lines files, in one-minute-bucket
/// order (see [`BucketOrder`]). Events without an RFC 3339 `time`, and
/// events that already carry `replay-name` (a replayed event is never
/// replayed again), are skipped with a message and counted.
struct PlainEvents {
    lines: input::EventLines,
    window: Window,
    order: BucketOrder,
    ready: VecDeque<TimedEvent>,
    finished: bool,
    /// Lines skipped: too large, or without an RFC 3339 `time`.
    unreadable: u64,
    /// Events skipped because they already carried `replay-name`.
    already_replayed: u64,
}

impl PlainEvents {
    fn new(
        paths: Vec<String>,
        window: Window,
        lateness: i64,
        max_event_bytes: usize,
    ) -> PlainEvents {
        PlainEvents {
            lines: input::event_lines(paths, max_event_bytes),
            window,
            order: BucketOrder::new(lateness),
            ready: VecDeque::new(),
            finished: false,
            unreadable: 0,
            already_replayed: 0,
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
            let event = match event {
                Ok(event) => event,
                Err(oversized) => {
                    self.unreadable += 1;
                    eprintln!("sluice: {path}:{line}: skipped: {oversized}");
                    continue;
                }
            };
            let envelope = read_envelope(&event);
            let Some(time) = envelope.and_then(|e| e.time) else {
                self.unreadable += 1;
                eprintln!("sluice: {path}:{line}: skipped: no RFC 3339 \"time\"");
                continue;
            };
            if !self.window.contains(time) {
                continue;
            }
            if envelope.is_some_and(|e| e.replayed) {
                self.already_replayed += 1;
                eprintln!(
                    "sluice: {path}:{line}: skipped: it already carries \"replay-name\" (a replayed event is not replayed again)"
                );
                continue;
            }
            self.ready.extend(self.order.push(time, event));
        }
    }
}

/// Per-rule counts, events matched, failures, and the signal that stopped
/// the run, if one did.
type Outcome = Result<(serde_json::Value, u64, usize, Option<StopSignal>)>;

/// Counts what each rule would receive, matching on every core; delivers nothing.
fn dry_run(
    options: &ReplayOptions,
    source: Source,
    window: Window,
    table: &RuleTable,
    bus: &str,
    read: &AtomicU64,
) -> Result<(
    ReadTotals,
    serde_json::Value,
    u64,
    usize,
    Option<StopSignal>,
)> {
    let threads = options.threads();
    let mut late_events = 0;
    let mut already_replayed = 0;
    let mut counts: ReplayCounts = match source {
        Source::Archive(archive) => {
            dry_run_archive(&archive, window, &options.name, table, bus, threads, read)?
        }
        Source::Files { paths, .. } => {
            let mut events = PlainEvents::new(
                paths,
                window,
                options.lateness_seconds,
                options.size.max_event_bytes,
            );
            let counted = events.by_ref().inspect(|_| {
                read.fetch_add(1, Ordering::Relaxed);
            });
            let mut counts = dry_run_events(counted, &options.name, table, bus, threads)?;
            late_events = events.late_events();
            already_replayed = events.already_replayed;
            counts.unreadable += events.unreadable;
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
        unreadable: counts.unreadable,
        already_replayed,
        corrupt_segments: std::mem::take(&mut counts.corrupt_segments),
        ..ReadTotals::default()
    };
    Ok((
        totals,
        serde_json::Value::Object(rules_json),
        counts.matched,
        0,
        None,
    ))
}

/// Routes every event, in order, through the router to the real targets.
fn deliver(
    options: &ReplayOptions,
    table: RuleTable,
    bus: &str,
    receiver: Receiver<Batch>,
    mut failures_file: FailuresFile,
) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (rule_names, target_arns) = run_report::names(&table);
    let bus = bus.to_string();
    runtime.block_on(async move {
        let connector = sluice_targets::AwsConnector::from_env().await;
        let log = options
            .log
            .open(&connector, &options.rules.environment()?, "replay")?;
        crate::delivering::check_credentials(&connector).await?;
        let router = Router::with_processing_log(
            table,
            Arc::new(connector),
            RouterSettings::default(),
            log.clone(),
        )?;
        let mut matched = 0u64;
        let mut stop = crate::delivering::interrupt_on_signal(&router)?;
        let retries = crate::delivering::report_retries(&router, target_arns.clone());
        // Batches arrive from a plain thread; take them off the runtime's
        // workers. On a signal the receiver is dropped once the pending
        // receive returns, which stops the reader.
        let receiver = Arc::new(Mutex::new(receiver));
        'batches: loop {
            let receiver = receiver.clone();
            let next = tokio::select! {
                next = tokio::task::spawn_blocking(move || receiver.lock().ok()?.recv().ok()) => {
                    next.ok().flatten()
                }
                _ = stop.changed() => None,
            };
            let Some(batch) = next else { break };
            for event in batch.events() {
                if router.is_interrupted() {
                    break 'batches;
                }
                match router.route(&bus, event).await {
                    Ok(routed) if routed.rules > 0 => matched += 1,
                    Ok(_) => {}
                    Err(error) => eprintln!("sluice: event rejected: {error}"),
                }
            }
        }
        router.drain().await;
        retries.abort();
        let rules = run_report::rule_summaries(&router, &rule_names, &target_arns);
        // Failed deliveries are written out before anything else can fail.
        let mut failures = run_report::write_failures(&router, &mut failures_file)?;
        if !crate::logging::finish(log, &options.log).await {
            // Lost processing-log records fail the replay too (exit 2).
            failures += 1;
        }
        let stopped = *stop.borrow();
        Ok((serde_json::to_value(rules)?, matched, failures, stopped))
    })
}
