//! Any template and paths, and any event: compiling never panics, and
//! rendering a compiled transformer over any parsable event never panics;
//! a JSON template's output, when there is one, is valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::transform::{EventText, InputShape};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Layout: template \0 event \0 name=path lines.
    let mut parts = text.splitn(3, '\0');
    let (Some(template), Some(event_text)) = (parts.next(), parts.next()) else {
        return;
    };
    let paths: Vec<(String, String)> = parts
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let Ok(shape) = InputShape::compile("t", None, None, Some((&paths, template))) else {
        return;
    };
    let event = EventText {
        text: event_text,
        rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r",
        rule_name: "r",
        ingestion_time: "2026-11-25T10:00:00Z",
    };
    if let Ok(output) = shape.render_text(&event)
        && !template.trim_start().starts_with('"')
    {
        assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(&output).is_ok(),
            "JSON template output is not JSON: {output}"
        );
    }
});
