//! A reader that goes away (`pagecast run --format json | head -c 10`) must
//! not crash pagecast after messages went out: the run ends quietly, every
//! outcome recorded and the report files written (SPEC §1, issue 9).

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::process::Stdio;

use common::*;
use serde_json::json;

#[test]
fn a_closed_stdout_ends_quietly_with_the_run_recorded_and_reported() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(30);
    ws.write("c.yaml", &graph_campaign("pipe", "500725830264749", "T", &refs(&people), ""));
    let mut child = ws
        .pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW, "--format", "json"])
        .env("T", "tok")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader leaves before pagecast writes a byte.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "no panic (101) on a closed pipe:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report = ws.report("pipe", "default");
    assert_eq!(report["summary"]["sent"], 30, "the report was written after the closed pipe");
    assert_each_delivered_once(&sb, &refs(&people));
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(ws.report("pipe", "default")["skipped_by_reason"]["already_sent"], 30, "every outcome was recorded");
}
