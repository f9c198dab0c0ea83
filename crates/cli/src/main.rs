//! `sluice`: test EventBridge patterns offline and match events in bulk.
//!
//! Exit codes: 0 match (or success), 1 no match, 2 error, 130 and 143
//! stopped by SIGINT and SIGTERM (see [`AFTER_HELP`]).

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
mod run_report;
mod scheduling;
mod testing;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Loading rules and routing events allocate many small, short-lived
/// objects, which mimalloc serves several times faster than the system
/// allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Examples and exit codes, after the top-level help.
const AFTER_HELP: &str = "\
Examples:
  sluice test-event-pattern --event-pattern file://pattern.json --event file://event.json
  sluice explain --event-pattern file://pattern.json --event file://event.json
  tail -f events.jsonl | sluice match --rules rules.json -
  sluice route --dry-run --rules routes.json events.jsonl.gz
  sluice replay --archive archives/image-events --rules routes.json \\
      --start 2026-09-14T00:00:00Z --end 2026-09-15T00:00:00Z --dry-run
  sluice schedule next 'cron(0 2 ? * SAT#3 *)' --count 3

Exit codes:
  0    success; for test-event-pattern, explain and match: a match
  1    no match (test-event-pattern, explain, match)
  2    error: an invalid pattern, rules file or argument, or deliveries that
       reached neither their target nor a dead-letter queue
  130  stopped by SIGINT (route, replay); deliveries not yet
       final are written to --failures as \"interrupted\"
  143  stopped by SIGTERM, likewise";

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Amazon EventBridge patterns, offline and fast",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test an event against a pattern, like `aws events test-event-pattern`.
    TestEventPattern(testing::PatternOptions),
    /// Say why an event does or does not match a pattern.
    Explain(testing::PatternOptions),
    /// Match files of JSON Lines events (.gz, .zst, or - for stdin) against a rules file.
    Match(matching::MatchOptions),
    /// Deliver events to the targets of the rules they match.
    #[command(after_help = delivering::DELIVERY_HELP)]
    Route(routing::RouteOptions),
    /// Keep the events of a bus in the archives a rules file declares.
    Archive(archiving::ArchiveOptions),
    /// Replay the events of a time window from an archive or a JSON Lines file.
    #[command(after_help = delivering::DELIVERY_HELP)]
    Replay(replaying::ReplayOptions),
    /// Follow one event through a processing log (written by --log-to).
    Log(following::FollowOptions),
    /// Schedule expressions: when a rate(...) or cron(...) rule fires.
    Schedule {
        #[command(subcommand)]
        command: scheduling::ScheduleCommand,
    },
    /// Measure single-thread matching throughput on your own rules and events.
    Bench(bench::BenchOptions),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sluice: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: &Command) -> Result<ExitCode> {
    match command {
        Command::TestEventPattern(options) => testing::test_event_pattern(options),
        Command::Explain(options) => testing::explain(options),
        Command::Match(options) => matching::run(options),
        Command::Route(options) => routing::run(options),
        Command::Archive(options) => archiving::run(options),
        Command::Replay(options) => replaying::run(options),
        Command::Log(options) => following::run(options),
        Command::Schedule { command } => scheduling::run(command),
        Command::Bench(options) => bench::run(options),
    }
}
