//! Any text given as a pattern: never a panic or a hang; a pattern that
//! compiles also matches (against a fixed event) like the reference matcher.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_pattern::{Matcher, reference};

const EVENT: &[u8] = br#"{"version":"0","id":"1","detail-type":"EC2 Image Builder CVE Detected","source":"aws.imagebuilder","account":"210987654321","time":"2026-09-14T06:40:12Z","region":"eu-central-1","resources":["arn:aws:imagebuilder:eu-central-1:210987654321:image/web-base/3.1.0/12"],"detail":{"resource-id":"i-0a1b","finding-severity-counts":{"all":7,"critical":2,"high":3,"medium":2},"a":[{"b":1,"c":"x"},{"b":2,"c":"y"}],"ip":"10.1.2.3","n":null,"t":true}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Matcher::builder().build([text]) {
        Ok(matcher) => {
            let got = matcher.is_match(EVENT).expect("the fixed event is valid");
            let oracle = reference::matches(text, EVENT).expect("a compiled pattern is valid");
            assert_eq!(got, oracle, "automaton and reference disagree on {text}");
        }
        Err(error) => {
            assert!(!error.pattern_error().message().is_empty());
            assert!(sluice_pattern::check(text).is_err());
        }
    }
});
