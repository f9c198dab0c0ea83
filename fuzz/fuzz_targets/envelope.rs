//! Any bytes as an event for replay: reading the envelope and adding
//! `replay-name` never panic, and a marked valid object stays valid JSON
//! with the same members plus `replay-name`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::archive::{read_envelope, read_time_and_region};
use sluice_router::replay::with_replay_name;

fuzz_target!(|data: &[u8]| {
    let _ = read_time_and_region(data);
    let _ = read_envelope(data);
    let Some(marked) = with_replay_name(data, "r") else {
        return;
    };
    let Some(before) = top_level_members(data) else {
        return;
    };
    match top_level_members(&marked) {
        Some(after) => assert_eq!(after, before + 1),
        None => panic!(
            "marking broke a valid object: {:?}",
            String::from_utf8_lossy(&marked)
        ),
    }
});

/// The number of members of a JSON object, duplicates included; `None` when
/// the text is not one.
fn top_level_members(text: &[u8]) -> Option<usize> {
    struct Members(usize);
    impl<'de> serde::Deserialize<'de> for Members {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Count;
            impl<'de> serde::de::Visitor<'de> for Count {
                type Value = Members;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Members, A::Error> {
                    let mut n = 0;
                    while map
                        .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                        .is_some()
                    {
                        n += 1;
                    }
                    Ok(Members(n))
                }
            }
            deserializer.deserialize_map(Count)
        }
    }
    serde_json::from_slice::<Members>(text).ok().map(|m| m.0)
}
