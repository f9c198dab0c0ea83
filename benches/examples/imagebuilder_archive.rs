//! Writes a sluice archive of generated Image Builder events: the bundled
//! example archive (`examples/imagebuilder/archive`) is made with
//! `cargo run -p sluice-benches --example imagebuilder_archive -- examples/imagebuilder/archive 10000`.
//! Usage: imagebuilder_archive DIR COUNT [SEED]

use std::path::Path;

use sluice_router::archive::{ArchiveDefinition, ArchiveWriter};

/// 2026-09-14T00:00:00Z
const START: i64 = 1_789_344_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(count)) = (args.get(1), args.get(2)) else {
        return Err("usage: imagebuilder_archive DIR COUNT [SEED]".into());
    };
    let count: usize = count.parse()?;
    let seed: u64 = args.get(3).map_or(Ok(42), |s| s.parse())?;
    let definition = ArchiveDefinition::new(
        "image-events",
        "default",
        Some(r#"{"source": ["aws.imagebuilder"]}"#),
        0,
    )?;
    let mut writer = ArchiveWriter::open(Path::new(dir), definition)?;
    for event in sluice_benches::imagebuilder::events(seed, START, count) {
        writer.append(event.as_bytes())?;
    }
    writer.flush()?;
    println!("{} events archived in {dir}/image-events", writer.archived);
    Ok(())
}
