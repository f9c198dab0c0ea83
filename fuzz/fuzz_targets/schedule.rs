//! Any text as a schedule expression: parsing never panics; a parsed cron
//! gives next fire times that are strictly later, on minute boundaries, and
//! at which it fires.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::schedule::Schedule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(schedule) = Schedule::parse(text) else {
        return;
    };
    // 2026-11-25T10:00:30Z
    let mut after = 1_795_600_830;
    for _ in 0..3 {
        let Some(next) = schedule.next_after(after) else {
            break;
        };
        assert!(next > after);
        assert_eq!(next % 60, 0);
        if let Schedule::Cron(cron) = &schedule {
            assert!(cron.fires_at(next), "{text}: does not fire at {next}");
        }
        after = next;
    }
});
