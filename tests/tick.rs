//! `pagecast tick DIR` from cron: due fires run once, missed fires are
//! recorded and never sent, concurrent ticks never double-send.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

fn scheduled(id: &str, recipients: &[&str], last: &str) -> String {
    let rows: String =
        recipients.iter().map(|r| format!("      - {{ id: \"{r}\", last_interaction: {last} }}\n")).collect();
    format!(
        "version: 1\nid: {id}\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients:\n{rows}message:\n  text: Hello\nmessaging_type: UPDATE\nschedule:\n  cron: \"0 9 * * *\"\n  timezone: Asia/Ho_Chi_Minh\n  catch_up: 30m\n"
    )
}

#[test]
fn a_due_fire_runs_once_and_a_second_tick_does_nothing() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    // 09:00 in Ho Chi Minh City is 02:00 UTC.
    ws.write("campaigns/daily.yaml", &scheduled("daily", &["1", "2"], "2026-11-22T01:00:00Z"));
    let out = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.requests().len(), 2);
    let report = ws.report("daily", "2026-11-22T02:00:00Z");
    assert_eq!(report["summary"]["sent"], 2);

    let again = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:10:00Z"], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(sb.requests().len(), 2, "a handled fire is not run again");
}

#[test]
fn a_fire_past_catch_up_is_recorded_as_missed_not_sent() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &scheduled("daily", &["1"], "2026-11-22T01:00:00Z"));
    // A new campaign's first tick, 40 minutes after the 02:00Z fire (catch_up
    // 30m): nothing was ever due for it, so nothing is missed or sent.
    let first = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:40:00Z"], &[("T", "tok")]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(!text(&first).contains("fire(s) missed"), "{}", text(&first));
    assert!(sb.requests().is_empty());
    // The next day's tick comes 40 minutes late: that fire is missed, not sent.
    let late = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-23T02:40:00Z"], &[("T", "tok")]);
    assert_eq!(late.status.code(), Some(0), "{}", text(&late));
    assert!(sb.requests().is_empty());
    let status = ws.run(None, &["status", "daily"], &[]);
    assert!(text(&status).contains("2026-11-23T02:00:00Z missed: past catch_up"), "{}", text(&status));
    assert!(
        text(&status).contains("2026-11-22T02:00:00Z missed: before the campaign's first tick"),
        "{}",
        text(&status)
    );
}

#[test]
fn after_a_long_outage_old_fires_are_missed_and_only_a_fresh_one_runs() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &scheduled("daily", &["1"], "2026-11-22T01:00:00Z"));
    let first = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:01:00Z"], &[("T", "tok")]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // The server is down for three days; it comes back 10 minutes after a
    // fire, with a fresh audience.
    ws.write("campaigns/daily.yaml", &scheduled("daily", &["1"], "2026-11-25T01:00:00Z"));
    let back = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-25T02:10:00Z"], &[("T", "tok")]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    let occurrences: Vec<String> = std::fs::read_dir(ws.reports().join("daily"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(occurrences.contains(&"2026-11-25T02:00:00Z".to_string()), "{occurrences:?}");
    assert!(!occurrences.contains(&"2026-11-23T02:00:00Z".to_string()));
    assert!(!occurrences.contains(&"2026-11-24T02:00:00Z".to_string()));
    let status = ws.run(None, &["status", "daily"], &[]);
    assert!(text(&status).contains("2 scheduled fire(s) missed"), "{}", text(&status));
}

#[test]
fn two_concurrent_ticks_never_send_twice() {
    let sb = Sandbox::start(&json!({"latency_ms": 20}));
    let ws = Workspace::new();
    let ids: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    ws.write("campaigns/a.yaml", &scheduled("camp-a", &refs, "2026-11-22T01:00:00Z"));
    ws.write("campaigns/b.yaml", &scheduled("camp-b", &refs, "2026-11-22T01:00:00Z").replace(PAGE, "600000000000001"));
    let spawn = || {
        ws.pagecast(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"]).env("T", "tok").spawn().unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    let (ca, cb) = (a.wait().unwrap().code(), b.wait().unwrap().code());
    assert_eq!((ca, cb), (Some(0), Some(0)));
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for r in sb.requests() {
        *seen.entry((r["page"].as_str().unwrap().into(), r["recipient"].as_str().unwrap().into())).or_default() += 1;
    }
    assert_eq!(seen.len(), 80, "both campaigns reached everyone");
    assert!(seen.values().all(|c| *c == 1), "a recipient got two messages");
}

#[test]
fn an_invalid_campaign_is_reported_and_the_others_still_run() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/good.yaml", &scheduled("good", &["1"], "2026-11-22T01:00:00Z"));
    ws.write("campaigns/bad.yaml", "version: 1\nid: bad\n");
    let out = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bad.yaml"), "{}", text(&out));
    assert_eq!(sb.requests().len(), 1);
}

#[test]
fn next_lists_fires_in_utc_and_local_time() {
    let ws = Workspace::new();
    ws.write("c.yaml", &scheduled("daily", &["1"], "2026-11-22T01:00:00Z").replace("0 9 * * *", "0 9 * * MON-FRI"));
    let out =
        ws.run(None, &["next", "c.yaml", "--count", "2", "--now", "2026-11-22T12:00:00Z", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc,
        json!({"campaign": "daily", "timezone": "Asia/Ho_Chi_Minh", "fires": [
            {"utc": "2026-11-23T02:00:00Z", "local": "2026-11-23T09:00:00+07:00"},
            {"utc": "2026-11-24T02:00:00Z", "local": "2026-11-24T09:00:00+07:00"}]})
    );
}

#[test]
fn a_tick_killed_mid_run_is_resumed_by_the_next_tick_without_double_sends() {
    let sb = Sandbox::start(&json!({"latency_ms": 30}));
    let ws = Workspace::new();
    let ids: Vec<String> = (1..=120).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let campaign = scheduled("resume", &refs, "2026-11-22T01:00:00Z")
        .replace("catch_up: 30m\n", "catch_up: 30m\nsend: { concurrency: 4 }\n");
    ws.write("campaigns/resume.yaml", &campaign);
    let mut first = ws
        .pagecast(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"])
        .env("T", "tok")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sb.requests().len() < 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    first.kill().unwrap(); // SIGKILL: the occurrence stays "started"
    first.wait().unwrap();
    let reached = sb.requests().len();
    assert!(reached < 120, "killed mid-run");

    let second = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:10:00Z"], &[("T", "tok")]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in sb.requests() {
        *seen.entry(r["recipient"].as_str().unwrap().into()).or_default() += 1;
    }
    assert!(seen.values().all(|c| *c == 1), "a recipient got two messages");
    let report = ws.report("resume", "2026-11-22T02:00:00Z");
    let unknown = report["skipped_by_reason"]["unknown_previous"].as_u64().unwrap_or(0);
    assert!(unknown <= 4 + 64);
    assert_eq!(report["summary"]["recipients"], 120);
    assert_eq!(
        report["summary"]["sent"].as_u64().unwrap()
            + report["skipped_by_reason"]["already_sent"].as_u64().unwrap_or(0)
            + unknown,
        120,
        "everyone is sent, already sent, or in doubt"
    );

    // Past catch_up, an unfinished occurrence is left alone.
    let late = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:45:00Z"], &[("T", "tok")]);
    assert_eq!(late.status.code(), Some(0), "{}", text(&late));
    assert_eq!(sb.requests().len(), seen.values().sum::<usize>());
}
