//! `sluice`: test EventBridge patterns offline and match events in bulk.
//!
//! Exit codes: 0 match (or success), 1 no match, 2 error.

#![forbid(unsafe_code)]

mod archiving;
mod bench;
mod checks;
mod delivering;
mod following;
mod input;
mod logging;
mod matching;
mod replaying;
mod routing;
mod rules;
mod scheduling;

use std::process::ExitCode;

use std::io::Write;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Loading rules and routing events allocate many small, short-lived
/// objects, which mimalloc serves several times faster than the system
/// allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Amazon EventBridge patterns, offline and fast"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test an event against a pattern, like `aws events test-event-pattern`.
    TestEventPattern {
        /// The pattern: JSON text, or file://PATH.
        #[arg(long)]
        event_pattern: String,
        /// The event: JSON text, or file://PATH.
        #[arg(long)]
        event: String,
    },
    /// Say why an event does or does not match a pattern.
    Explain {
        /// The pattern: JSON text, or file://PATH.
        #[arg(long)]
        event_pattern: String,
        /// The event: JSON text, or file://PATH.
        #[arg(long)]
        event: String,
    },
    /// Match files of JSON Lines events (.gz, .zst, or - for stdin) against a rules file.
    Match {
        /// Rules: a list of {"Name", "EventPattern"} or {"Rules": [...]} as ListRules returns.
        #[arg(long)]
        rules: String,
        /// Event files.
        #[arg(required = true)]
        events: Vec<String>,
        /// Print one summary object instead of one line per event.
        #[arg(long)]
        count: bool,
        /// Worker threads (default: every core).
        #[arg(long, value_parser = checks::threads)]
        threads: Option<usize>,
        /// Trust the input: skip validation of unneeded parts of events.
        #[arg(long)]
        early_exit: bool,
        #[command(flatten)]
        size: input::EventSizeArgs,
    },
    /// Deliver events to the targets of the rules they match.
    Route(routing::RouteOptions),
    /// Keep the events of a bus in the archives a rules file declares.
    Archive(archiving::ArchiveOptions),
    /// Replay the events of a time window from an archive or a JSON Lines file.
    Replay(replaying::ReplayOptions),
    /// Follow one event through a processing log (written by --log-to).
    Log {
        /// The event's id.
        #[arg(long)]
        event_id: String,
        /// The log file (its rotated predecessors PATH.1, PATH.2, ... are read too).
        path: String,
        /// Print the records as they are (JSON) instead of one readable line each.
        #[arg(long)]
        json: bool,
    },
    /// Schedule expressions: when a rate(...) or cron(...) rule fires.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Measure single-thread matching throughput on your own rules and events.
    Bench {
        /// Rules file, as for `match`.
        #[arg(long)]
        rules: String,
        /// Event files.
        #[arg(required = true)]
        events: Vec<String>,
        #[command(flatten)]
        size: input::EventSizeArgs,
    },
}

#[derive(Subcommand)]
enum ScheduleCommand {
    /// Print the next fire times (UTC, RFC 3339), one per line.
    Next {
        /// rate(value unit) or cron(Minutes Hours Day-of-month Month Day-of-week Year).
        expression: String,
        /// Times strictly after this one (RFC 3339; default: now). A rate
        /// counts from here, as if the rule were created then.
        #[arg(long)]
        from: Option<String>,
        /// How many times to print.
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// Fire the scheduled rules of a rules file at their times, until Ctrl-C.
    Run {
        /// Rules with targets, as for `route`.
        #[arg(long)]
        rules: String,
        /// Print each delivery (target ARN and payload) instead of making it.
        #[arg(long)]
        dry_run: bool,
        /// Write failed deliveries here (default: stderr).
        #[arg(long)]
        failures: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sluice: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn aws_error(code: &str, message: &str) -> ExitCode {
    eprintln!("An error occurred ({code}) when calling the TestEventPattern operation: {message}");
    ExitCode::from(2)
}

/// `sluice schedule next`.
fn schedule_next(expression: &str, from: Option<&str>, count: usize) -> Result<ExitCode> {
    use sluice_router::clock::{format_epoch_seconds, parse_rfc3339};
    use sluice_router::schedule::Schedule;
    let schedule = match Schedule::parse(expression) {
        Ok(schedule) => schedule,
        Err(error) => {
            eprintln!(
                "An error occurred (ValidationException) when calling the PutRule operation: {}",
                error.message()
            );
            eprintln!("sluice: {}", error.hint());
            return Ok(ExitCode::from(2));
        }
    };
    let from = match from {
        Some(text) => parse_rfc3339(text).ok_or_else(|| {
            anyhow::anyhow!("--from {text:?} is not an RFC 3339 time such as 2026-11-25T10:00:00Z")
        })?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    let anchor = from.div_euclid(60) * 60;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = from;
    let mut printed = 0;
    for _ in 0..count {
        let Some(next) = schedule.next_after_anchor(after, anchor) else {
            break;
        };
        writeln!(out, "{}", format_epoch_seconds(next))?;
        printed += 1;
        after = next;
    }
    out.flush()?;
    if printed < count {
        // Only a cron whose years are over stops firing.
        anyhow::bail!(
            "the schedule does not fire after {}: its last year has passed",
            format_epoch_seconds(after)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::TestEventPattern {
            event_pattern,
            event,
        } => {
            let pattern = input::inline_or_file(&event_pattern)?;
            let event = input::inline_or_file(&event)?;
            match sluice_pattern::test_event_pattern(&pattern, &event) {
                Ok(result) => {
                    println!("{{\"Result\": {result}}}");
                    Ok(ExitCode::from(if result { 0 } else { 1 }))
                }
                Err(error) => {
                    if let Some(detail) = error.detail() {
                        eprintln!("sluice: {detail}");
                    }
                    Ok(aws_error(error.error_code(), &error.message()))
                }
            }
        }
        Command::Explain {
            event_pattern,
            event,
        } => {
            let pattern = input::inline_or_file(&event_pattern)?;
            let event = input::inline_or_file(&event)?;
            let matcher = match sluice_pattern::Matcher::builder().build([pattern.as_str()]) {
                Ok(m) => m,
                Err(e) => {
                    let error = e.pattern_error();
                    return Ok(aws_error(error.error_code(), &error.message()));
                }
            };
            let explanation = matcher
                .explain(sluice_pattern::RuleId::new(0), event.as_bytes())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{explanation}");
            Ok(ExitCode::from(if explanation.matched() { 0 } else { 1 }))
        }
        Command::Route(options) => routing::run(&options),
        Command::Archive(options) => archiving::run(&options),
        Command::Replay(options) => replaying::run(&options),
        Command::Log {
            event_id,
            path,
            json,
        } => following::run(&following::FollowOptions {
            event_id,
            path,
            json,
        }),
        Command::Schedule {
            command:
                ScheduleCommand::Next {
                    expression,
                    from,
                    count,
                },
        } => schedule_next(&expression, from.as_deref(), count),
        Command::Schedule {
            command:
                ScheduleCommand::Run {
                    rules,
                    dry_run,
                    failures,
                },
        } => scheduling::run(&rules, dry_run, failures.as_deref()),
        Command::Match {
            rules,
            events,
            count,
            threads,
            early_exit,
            size,
        } => {
            let threads = threads.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            matching::run(&matching::MatchOptions {
                rules,
                events,
                count,
                threads,
                early_exit,
                max_event_bytes: size.max_event_bytes,
            })
        }
        Command::Bench {
            rules,
            events,
            size,
        } => bench::run(&rules, &events, size.max_event_bytes),
    }
}
