//! Any text as an archive's `archive.json`: reading it never panics, and a
//! definition that is accepted has a name that is a single, ordinary
//! directory name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::archive::{ArchiveDefinition, MAX_ARCHIVE_NAME_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(definition) = ArchiveDefinition::from_json("archive.json".as_ref(), text) else {
        return;
    };
    let name = &definition.name;
    assert!(!name.is_empty() && name.len() <= MAX_ARCHIVE_NAME_LEN);
    assert!(name != "." && name != "..");
    assert!(!name.contains('/') && !name.contains('\0'));
});
