//! Maps from exact byte-string values (strings, number keys, lower-cased
//! text) to the targets they lead to.

use std::collections::HashMap;

use crate::key_hash::KeyHashBuilder;

/// Byte-string key → targets.
pub(super) type KeyMap = HashMap<Box<[u8]>, Vec<u32>, KeyHashBuilder>;

/// Approximate heap bytes a key map holds.
pub(super) fn key_map_usage(map: &KeyMap) -> usize {
    map.iter().map(|(k, v)| k.len() + 48 + v.len() * 4).sum()
}

pub(super) fn push(map: &mut KeyMap, key: &[u8], target: u32) {
    map.entry(key.into()).or_default().push(target);
}
