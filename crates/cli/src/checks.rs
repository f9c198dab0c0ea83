//! Checks of command-line values that name AWS resources, with AWS's texts,
//! as clap value parsers.

use sluice_router::model;

/// `--event-bus`: a bus name or ARN, as PutRule takes it.
pub fn bus_name(text: &str) -> Result<String, String> {
    model::parse_bus_name(text).map_err(|e| e.message().to_string())
}

/// `--region`.
pub fn region(text: &str) -> Result<String, String> {
    model::check_region(text)
        .map(|()| text.to_string())
        .map_err(|e| e.message().to_string())
}

/// `--account`: twelve digits.
pub fn account(text: &str) -> Result<String, String> {
    model::Environment::new("us-east-1", text)
        .map(|_| text.to_string())
        .map_err(|e| e.message().to_string())
}

/// `replay --name`.
pub fn replay_name(text: &str) -> Result<String, String> {
    model::check_replay_name(text)
        .map(|()| text.to_string())
        .map_err(|e| e.message().to_string())
}

/// The most worker threads a command starts: four per core, and never
/// fewer than 256 (matching gains nothing past one per core).
pub fn max_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cores * 4).max(256)
}

/// `--threads`: 1 to [`max_threads`].
pub fn threads(text: &str) -> Result<usize, String> {
    let threads: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of threads"))?;
    let max = max_threads();
    if threads == 0 || threads > max {
        return Err(format!("{threads} is not between 1 and {max}"));
    }
    Ok(threads)
}
