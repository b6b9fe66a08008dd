//! README's rehearsal, run exactly as written: the ```` ```sh rehearsal ````
//! block's lines are executed in order against an in-process sandbox started
//! with the faults file the ```` ```sh rehearsal-sandbox ```` block names, with
//! the sandbox URL and the built binary substituted. A line's `# exit N`
//! comment is its expected exit code (else 0). If the README drifts from the
//! binary (a flag renamed, a file missing, a `--now` that sends nobody), this
//! test fails.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const README_PORT_URL: &str = "http://127.0.0.1:8787";

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The lines of every fenced block whose info string is exactly `info`.
fn block(text: &str, info: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let t = line.trim();
        if inside {
            if t.starts_with("```") {
                inside = false;
            } else {
                out.push(t.to_string());
            }
        } else if t.strip_prefix("```").is_some_and(|rest| rest.trim() == info) {
            inside = true;
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn the_readme_rehearsal_runs_as_written() {
    let readme_text = readme();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    // The sandbox block: its --config names a file that ships, read as JSON.
    let sandbox = block(&readme_text, "sh rehearsal-sandbox");
    assert!(!sandbox.is_empty(), "README has a ```sh rehearsal-sandbox block");
    let start = sandbox.iter().find(|l| l.contains("pagecast-sandbox")).expect("a line that starts the sandbox");
    assert!(start.contains("--addr 127.0.0.1:8787"), "{start}");
    let words: Vec<&str> = start.split_whitespace().collect();
    let config = words.iter().position(|w| *w == "--config").map(|i| words[i + 1]).expect("--config FILE");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(config)).expect("the faults file ships")).unwrap();
    let sb = Sandbox::start(&config);

    // A fresh clone's files, in a scratch directory.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("examples"), &dir.path().join("examples"));

    let lines = block(&readme_text, "sh rehearsal");
    assert!(lines.len() >= 4, "README has a ```sh rehearsal block: {lines:?}");
    let mut env: Vec<(String, String)> = Vec::new();
    let mut ran = Vec::new();
    for line in lines.iter().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (command, comment) = line.split_once('#').map_or((line.as_str(), ""), |(c, m)| (c.trim(), m.trim()));
        if let Some(assignments) = command.strip_prefix("export ") {
            for a in assignments.split_whitespace() {
                let (k, v) = a.split_once('=').expect("NAME=value");
                env.push((k.to_string(), v.replace(README_PORT_URL, &sb.url)));
            }
            continue;
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[0], "target/release/pagecast", "each command calls the built binary: {line}");
        let expected: i32 = comment
            .strip_prefix("exit ")
            .and_then(|c| c.split(|ch: char| !ch.is_ascii_digit()).next()?.parse().ok())
            .unwrap_or(0);
        let out = Command::new(env!("CARGO_BIN_EXE_pagecast"))
            .args(&words[1..])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(expected), "`{line}`:\n{}", text(&out));
        ran.push((line.clone(), text(&out)));
    }
    // The rehearsal really sent, and wrote its report where it says.
    assert!(sb.message_requests().len() >= 5, "the rehearsal sends: {} requests", sb.message_requests().len());
    let reports = dir.path().join("rehearsal/reports/order-shipped/default");
    assert!(std::fs::read_dir(&reports).map(|d| d.count()).unwrap_or(0) >= 1, "reports under {}", reports.display());
    let (_, status) = ran.last().unwrap();
    assert!(status.contains("551"), "status --recipient shows the failure's code: {status}");
    let (_, plan) = &ran[0];
    assert!(plan.contains(" planned") && !plan.contains(", 0 planned"), "the plan sends to someone: {plan}");
}
