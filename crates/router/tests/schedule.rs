//! Cron next-fire times against a brute-force evaluator that checks every
//! minute in turn.

use proptest::prelude::*;
use sluice_router::schedule::Schedule;

/// Up to this many days are scanned minute by minute.
const SCAN_DAYS: i64 = 400;

fn field(values: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = String> {
    let (low, high) = (*values.start(), *values.end());
    prop_oneof![
        Just("*".to_string()),
        (low..=high).prop_map(|v| v.to_string()),
        (low..=high, low..=high).prop_map(|(a, b)| format!("{a}-{b}")),
        (low..=high, 1..=high.max(2)).prop_map(|(a, s)| format!("{a}/{s}")),
        (low..=high, low..=high).prop_map(|(a, b)| format!("{a},{b}")),
    ]
}

fn days() -> impl Strategy<Value = (String, String)> {
    let q = || "?".to_string();
    prop_oneof![
        field(1..=31).prop_map(move |d| (d, q())),
        Just(("L".to_string(), q())),
        Just(("LW".to_string(), q())),
        (1u32..=31).prop_map(move |d| (format!("{d}W"), q())),
        field(1..=7).prop_map(move |d| (q(), d)),
        (1u32..=7).prop_map(move |d| (q(), format!("{d}L"))),
        (1u32..=7, 1u32..=5).prop_map(move |(d, k)| (q(), format!("{d}#{k}"))),
        Just((q(), "MON-FRI".to_string())),
    ]
}

fn cron() -> impl Strategy<Value = String> {
    (field(0..=59), field(0..=23), days(), field(1..=12))
        .prop_map(|(m, h, (dom, dow), mo)| format!("cron({m} {h} {dom} {mo} {dow} *)"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn next_fire_time_equals_a_minute_by_minute_scan(
        expression in cron(),
        // 1970 … 2190, any second.
        from in 0i64..7_000_000_000,
    ) {
        let Ok(schedule) = Schedule::parse(&expression) else {
            // Generated ranges can be out of order or otherwise invalid; the
            // parser's own tests cover rejections.
            return Ok(());
        };
        let Schedule::Cron(cron) = &schedule else { unreachable!() };
        let fast = schedule.next_after(from);
        let mut minute = (from.div_euclid(60) + 1) * 60;
        let limit = minute + SCAN_DAYS * 86_400;
        let mut slow = None;
        while minute < limit {
            if cron.fires_at(minute) {
                slow = Some(minute);
                break;
            }
            minute += 60;
        }
        match (fast, slow) {
            (Some(f), Some(s)) => prop_assert_eq!(f, s, "{}", expression),
            (Some(f), None) => prop_assert!(f >= limit, "{}: {} before the scan's limit", expression, f),
            (None, found) => prop_assert!(found.is_none(), "{}: the scan found {:?}", expression, found),
        }
    }
}
