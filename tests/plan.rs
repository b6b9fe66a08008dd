//! `pagecast plan`: conversations read live from the sandbox, nothing sent or
//! written, and the ledger's view (`already_sent`) shown.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use common::*;
use serde_json::{Value, json};

const PAGE: &str = "500725830264749";

/// `recent` conversations five minutes apart from 2026-11-21T23:00, newest
/// first, then `old` ones from 2026-11-10 (outside a 7-day `within`).
fn conversations(recent: usize, old: usize) -> Value {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-21T23:00:00Z").unwrap();
    let list: Vec<Value> = (0..recent + old)
        .map(|i| {
            let t = if i < recent {
                (start - chrono::TimeDelta::minutes(5 * i as i64)).format("%Y-%m-%dT%H:%M:%S+0000").to_string()
            } else {
                "2026-11-10T08:00:00+0000".to_string()
            };
            json!({"id": format!("t_{i}"), "updated_time": t,
                   "participants": [{"id": format!("77{i:03}"), "name": "Customer"}],
                   "messages": [{"id": format!("m_{i}"), "created_time": t, "from": {"id": format!("77{i:03}")}}]})
        })
        .collect();
    json!({ PAGE: list })
}

fn campaign() -> String {
    format!(
        "version: 1\nid: convo\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    conversations: {{ within: 7d }}\nmessage:\n  text: Hello\nmessaging_type: UPDATE\n"
    )
}

#[test]
fn plan_reads_conversations_page_by_page_at_two_calls_a_second() {
    // 250 conversations within a day, 30 from 12 days ago (outside `within`);
    // pagecast asks for 100 a page.
    let sb = Sandbox::start(&json!({"conversations": conversations(250, 30)}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign());
    let out = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["summary"]["recipients"], 250, "conversations older than 7 days are left out");
    // The newest message (23:00) is inside the window, and so is the last (02:15).
    assert_eq!(row(&plan, "77000")["outcome"], "planned");
    assert_eq!(row(&plan, "77000")["window_closes_at"], "2026-11-22T22:50:00Z");
    assert_eq!(row(&plan, "77249")["window_closes_at"], "2026-11-22T02:05:00Z");

    let calls: Vec<Value> = sb.requests().into_iter().filter(|r| r["kind"] == "conversations").collect();
    assert_eq!(calls.len(), 3, "pages of 100; stops at conversations older than `within`");
    assert_eq!(calls[0]["authorization"], "Bearer tok");
    let at = |r: &Value| chrono::DateTime::parse_from_rfc3339(r["at"].as_str().unwrap()).unwrap();
    for pair in calls.windows(2) {
        let gap = at(&pair[1]) - at(&pair[0]);
        assert!(gap.num_milliseconds() >= 450, "calls {gap:?} apart: Meta allows 2 per second per page");
    }
}

#[test]
fn plan_sends_nothing_and_writes_nothing() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("quiet", PAGE, "T", &["1", "2"], ""));
    let out = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 planned"), "{}", text(&out));
    assert!(sb.requests().is_empty());
    assert!(!ws.state().exists(), "plan created a ledger");
    assert!(!ws.reports().exists(), "plan wrote a report without --report-dir");
    let dry = ws.run(Some(&sb), &["run", "c.yaml", "--dry-run", "--now", NOW], &[("T", "tok")]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(sb.requests().is_empty() && !ws.state().exists() && !ws.reports().exists());
}

#[test]
fn plan_after_a_run_shows_who_was_already_sent() {
    let sb = Sandbox::start(&json!({"faults": {"2": ["graph:551"]}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("again", PAGE, "T", &["1", "2", "3"], ""));
    let run = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let out = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row(&plan, "1")["reason"], "already_sent");
    assert_eq!(row(&plan, "2")["reason"], "already_failed");
    let other = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--format", "json", "--occurrence", "second"], &[]);
    let plan: Value = serde_json::from_slice(&other.stdout).unwrap();
    assert_eq!(plan["summary"]["planned"], 3, "another occurrence starts afresh");
}
