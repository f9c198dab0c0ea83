//! Every command of the README runs as written and prints what the README
//! shows. A ```sh block followed by a ```text block is a command and its
//! output (stdout and stderr as a terminal shows them); `…` in the output
//! stands for text that changes from run to run (timings). The commands
//! run in a fresh directory where `examples/` is the repository's, with
//! this build's `sluice` first on the PATH; `cargo run --release --` is
//! that binary too. Only the test command itself is not run here, and
//! every other ```sh block must show its output.

mod common;

use std::path::Path;
use std::process::Command;

use common::{repo, temp_dir};

/// Commands the README shows without output: the test suite itself.
const NOT_RUN: [&str; 1] = ["scripts/test"];

/// (command block, expected output) pairs, in README order.
fn examples(readme: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut lines = readme.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() != "```sh" {
            continue;
        }
        let command: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        let command = command.join("\n");
        while lines.peek().is_some_and(|l| l.trim().is_empty()) {
            lines.next();
        }
        if lines.peek().is_some_and(|l| l.trim() == "```text") {
            lines.next();
            let output: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            pairs.push((command, output.join("\n")));
        } else {
            assert!(
                NOT_RUN
                    .iter()
                    .any(|skip| command.trim_start().starts_with(skip)),
                "a README command without its output: {command}"
            );
        }
    }
    pairs
}

/// Whether `actual` is `expected`, with each `…` standing for any text
/// within its line.
fn matches(expected: &str, actual: &str) -> bool {
    let (expected, actual): (Vec<&str>, Vec<&str>) =
        (expected.lines().collect(), actual.lines().collect());
    expected.len() == actual.len()
        && expected
            .iter()
            .zip(&actual)
            .all(|(e, a)| line_matches(e, a))
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let mut parts = expected.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn every_readme_command_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let pairs = examples(&readme);
    assert!(pairs.len() >= 8, "only {} commands found", pairs.len());
    let dir = temp_dir("readme");
    std::os::unix::fs::symlink(repo().join("examples"), dir.join("examples")).unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_sluice"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for (command, expected) in pairs {
        let script = command.replace("cargo run --release --", "sluice");
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{{\n{script}\n}} 2>&1"))
            .current_dir(&dir)
            .env("PATH", &path)
            .output()
            .unwrap();
        let actual = String::from_utf8_lossy(&out.stdout);
        if !matches(&expected, &actual) {
            failures.push(format!(
                "$ {command}\n--- README shows:\n{expected}\n--- it printed:\n{actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ellipses_stand_for_text_within_a_line() {
    assert!(line_matches(
        "\"seconds\":…,\"rate\":…}",
        "\"seconds\":0.01,\"rate\":5}"
    ));
    assert!(!line_matches("a…c", "abd"));
    assert!(line_matches("exact", "exact"));
    assert!(!line_matches("exact", "exactly"));
    assert!(!matches("one", "one\ntwo"));
}
