//! kill -9 in the middle of a run, run again: nobody gets two messages, and
//! everyone ends sent, skipped, failed or unknown.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

#[test]
fn kill_9_then_rerun_never_sends_twice() {
    let sb = Sandbox::start(&json!({"latency_ms": 5}));
    let ws = Workspace::new();
    let n = 300;
    let ids: Vec<String> = (1..=n).map(|i| format!("9{i:05}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    ws.write("c.yaml", &graph_campaign("crash", PAGE, "T", &refs, "send: { concurrency: 16, rate: 300 }\n"));

    let mut child = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]).env("T", "tok").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.requests().len() < 60 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let first = sb.requests().len();
    assert!(first >= 60 && first < n, "killed mid-run ({first} requests)");

    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert!(matches!(out.status.code(), Some(0) | Some(1)), "{}", text(&out));

    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for r in sb.requests() {
        *per_recipient.entry(r["recipient"].as_str().unwrap().to_string()).or_default() += 1;
    }
    let twice: Vec<_> = per_recipient.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "recipients messaged twice: {twice:?}");

    let report = ws.report("crash", "default");
    let mut unknown_previous = 0;
    for id in &ids {
        let r = row(&report, id);
        match (r["outcome"].as_str().unwrap(), r["reason"].as_str()) {
            ("sent", _) => assert_eq!(per_recipient.get(id), Some(&1)),
            ("skipped", Some("already_sent")) => assert_eq!(per_recipient.get(id), Some(&1)),
            ("skipped", Some("unknown_previous")) => unknown_previous += 1,
            other => panic!("{id} ended {other:?}"),
        }
    }
    assert!(unknown_previous <= 16 + 64, "{unknown_previous} unknown after kill -9");
    // Those in doubt are exactly the ones whose outcome never became durable;
    // all others were reached exactly once.
    let reached_once = per_recipient.len();
    assert!(reached_once + unknown_previous >= n, "someone was neither sent nor in doubt");
}

#[test]
fn a_corrupt_ledger_is_a_clear_error_and_sends_nothing() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("corrupt", PAGE, "T", &["1"], ""));
    ws.write("state/ledger.sqlite3", &"this is not a database ".repeat(500));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("ledger.sqlite3"), "{}", text(&out));
    assert!(sb.requests().is_empty());
}

#[test]
fn an_unwritable_state_directory_is_a_clear_error_and_sends_nothing() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("nostate", PAGE, "T", &["1"], ""));
    let file = ws.write("plain-file", "x");
    let state = file.join("state");
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--state", state.to_str().unwrap()], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("plain-file"), "{}", text(&out));
    assert!(sb.requests().is_empty());
}

#[test]
fn a_second_run_of_a_locked_campaign_exits_4_at_once() {
    let faults: serde_json::Map<String, serde_json::Value> =
        (1..=4).map(|i| (i.to_string(), json!(["slow:1500"]))).collect();
    let sb = Sandbox::start(&json!({ "faults": faults }));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("locked", PAGE, "T", &["1", "2", "3", "4"], "send: { concurrency: 1 }\n"));
    let mut first = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]).env("T", "tok").spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sb.requests().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(second.status.code(), Some(4), "{}", text(&second));
    assert!(text(&second).contains("locked"), "{}", text(&second));
    first.kill().unwrap();
    first.wait().unwrap();
}
