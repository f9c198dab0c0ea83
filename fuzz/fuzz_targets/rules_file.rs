//! Any text given as a rules file (JSON, YAML or a CloudFormation
//! template): never a panic or a hang; what loads must compile into a rule
//! table and plan deliveries for a fixed event without panicking, and a
//! Run Command payload must read as document parameters or be refused.
//! Seeds: `fuzz/seeds/rules_file` (`cargo fuzz run -s none rules_file
//! corpus/rules_file seeds/rules_file`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_router::arn::TargetKind;
use sluice_router::load::{Parameters, parse_rules};
use sluice_router::model::Environment;
use sluice_router::plan;
use sluice_router::table::RuleTable;
use sluice_router::target_parameters::document_parameters;

const EVENT: &[u8] = br#"{"version":"0","id":"e1","detail-type":"EC2 Image Builder Image State Change","source":"aws.imagebuilder","account":"123456789012","time":"2026-11-25T10:00:00Z","region":"us-east-1","resources":["arn:aws:imagebuilder:us-east-1:123456789012:image/a/1.0.0/1"],"detail":{"state":{"status":"FAILED","reason":"x"},"n":1.50,"list":[1,"two",{"three":3}]}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parameters = Parameters::default();
    parameters.insert("Queue.Arn", "arn:aws:sqs:us-east-1:123456789012:q");
    let Ok(rules) = parse_rules("fuzz", text, &parameters, &Environment::default()) else {
        return;
    };
    if let Ok(table) = RuleTable::new(rules)
        && let Ok(planned) = plan(&table, "default", EVENT, "2026-11-25T10:00:00Z")
    {
        for delivery in planned.deliveries {
            if delivery.target().kind == TargetKind::RunCommandDocument
                && let Ok(payload) = &delivery.payload
            {
                let _ = document_parameters(payload);
            }
        }
    }
});
