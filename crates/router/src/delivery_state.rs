//! Where one delivery stands between attempts, as a plain value a caller
//! can store and hand back after a restart ([`DeliveryState`]), and the
//! wall clock the router reads it by ([`WallClock`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The retry position of one delivery: how many attempts it has made,
/// when the event was taken in (the age limit counts from there), when the
/// first attempt began and when the next one is due. Times are
/// milliseconds since the Unix epoch.
///
/// A delivery resumed from a state keeps its attempt count, so
/// `MaximumRetryAttempts` counts the attempts made before the restart, and
/// its age, so `MaximumEventAgeInSeconds` is not restarted either.
///
/// ```
/// use sluice_router::DeliveryState;
/// let fresh = DeliveryState::new(1_764_000_000_000);
/// assert_eq!((fresh.attempts, fresh.first_attempt_ms, fresh.next_attempt_ms), (0, None, None));
/// assert_eq!(fresh.retries(), 0);
/// let retrying = DeliveryState { attempts: 3, ..fresh };
/// assert_eq!(retrying.retries(), 2);
/// let stored = serde_json::to_string(&retrying).unwrap();
/// assert_eq!(serde_json::from_str::<DeliveryState>(&stored).unwrap(), retrying);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DeliveryState {
    /// Attempts made so far (the first attempt and its retries).
    pub attempts: u32,
    /// When the event was taken in; `MaximumEventAgeInSeconds` counts
    /// from here.
    pub ingested_ms: u64,
    /// When the first attempt began; `None` before it.
    pub first_attempt_ms: Option<u64>,
    /// When the next attempt is due; `None` when it is due at once (or
    /// there is none).
    pub next_attempt_ms: Option<u64>,
}

impl DeliveryState {
    /// The state of a delivery of an event taken in at `ingested_ms`,
    /// before its first attempt.
    pub fn new(ingested_ms: u64) -> DeliveryState {
        DeliveryState {
            attempts: 0,
            ingested_ms,
            first_attempt_ms: None,
            next_attempt_ms: None,
        }
    }

    /// Retries made: the attempts after the first.
    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

/// Wall-clock time read through tokio's clock: the system time when the
/// clock was made, plus tokio's elapsed time since. It moves with a paused
/// test clock, and never backwards.
///
/// ```
/// use sluice_router::delivery_state::WallClock;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let clock = WallClock::new();
/// let now = clock.now_ms();
/// assert!(clock.now_ms() >= now);
/// assert!(clock.until(now + 1_000) <= std::time::Duration::from_secs(1));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WallClock {
    base_ms: u64,
    base: Instant,
}

impl WallClock {
    /// A clock reading the system time now.
    pub fn new() -> WallClock {
        WallClock {
            base_ms: unix_ms(SystemTime::now()),
            base: Instant::now(),
        }
    }

    /// Milliseconds since the Unix epoch, now.
    pub fn now_ms(&self) -> u64 {
        let elapsed = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.base_ms.saturating_add(elapsed)
    }

    /// How long until `at_ms` (zero once it has passed).
    pub fn until(&self, at_ms: u64) -> Duration {
        Duration::from_millis(at_ms.saturating_sub(self.now_ms()))
    }
}

impl Default for WallClock {
    fn default() -> WallClock {
        WallClock::new()
    }
}

/// Milliseconds since the Unix epoch of `time` (0 before the epoch).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use sluice_router::delivery_state::unix_ms;
/// assert_eq!(unix_ms(UNIX_EPOCH + Duration::from_millis(1_500)), 1_500);
/// ```
pub fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
