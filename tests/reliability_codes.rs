//! Issue 8, Meta's codes: retries used up, a wrong token, streaks, blocked
//! users, a stale id and "try later" each end in the state SPEC §4 names, and
//! a re-run handles that state: `not_attempted` people are sent to once,
//! `failed` ones never again.

mod common;

use common::*;
use serde_json::{Value, json};

const PAGE: &str = "500725830264749";

fn run(ws: &Workspace, sb: &Sandbox, token: &str) -> std::process::Output {
    ws.run(Some(sb), &["run", "c.yaml", "--now", NOW], &[("T", token)])
}

fn faults(pairs: &[(&str, &[&str])]) -> Value {
    let map: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({ "faults": map })
}

#[test]
fn retries_used_up_on_transient_codes_are_not_attempted_and_resent_by_the_rerun() {
    // Two answers each (max_attempts 2), then success on the re-run.
    let sb = Sandbox::start(&faults(&[
        ("1", &["graph:1", "graph:1", "ok"]),
        ("2", &["graph:2", "graph:2", "ok"]),
        ("3", &["graph:1200", "graph:1200", "ok"]),
        ("4", &["graph_transient:10900", "graph_transient:10900", "ok"]),
        ("5", &["ok"]),
    ]));
    let ws = Workspace::new();
    let people = ids(5);
    ws.write(
        "c.yaml",
        &graph_campaign("retry", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 2 }\n"),
    );
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(1), "left for a later run: {}", text(&out));
    let report = ws.report("retry", "default");
    for id in ["1", "2", "3", "4"] {
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "retries_exhausted".into()), "{id}");
        assert_eq!(row(&report, id)["attempts"], 2, "{id}");
        assert_eq!(sb.requests_for(id).len(), 2, "{id}: exactly max_attempts requests");
    }
    assert_eq!(report["summary"]["failed"], 0);
    assert!(ws.all_report_text().contains("retries_exhausted"), "the reason is in the report files");

    let again = run(&ws, &sb, "tok");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let report = ws.report("retry", "default");
    assert_eq!(report["summary"]["sent"], 4);
    assert!(report["skipped_by_reason"].get("already_failed").is_none());
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn a_wrong_token_stops_the_page_and_nobody_is_failed_for_it() {
    let sb = Sandbox::start(&json!({"tokens": {PAGE: "right-token"}}));
    let ws = Workspace::new();
    let people = ids(12);
    ws.write("c.yaml", &graph_campaign("token", PAGE, "T", &refs(&people), "send: { concurrency: 4 }\n"));
    let out = run(&ws, &sb, "wrong-token");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("190"), "{}", text(&out));
    let report = ws.report("token", "default");
    assert_eq!(report["summary"]["failed"], 0, "a page's error is charged to nobody: {}", report["summary"]);
    assert_eq!(report["summary"]["not_attempted"], 12);
    let answered = sb.message_requests();
    assert!(!answered.is_empty());
    for r in &answered {
        let id = r["recipient"].as_str().unwrap();
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "page_stopped".into()), "in flight: {id}");
    }
    for r in report["outcomes"].as_array().unwrap() {
        assert_eq!(r["reason"], "page_stopped", "{r}");
    }

    let again = run(&ws, &sb, "right-token");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let report = ws.report("token", "default");
    assert!(report["skipped_by_reason"].get("already_failed").is_none(), "{}", report["skipped_by_reason"]);
    assert_eq!(report["summary"]["sent"], 12);
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn three_identical_errors_in_a_row_stop_the_page_and_those_three_are_not_lost() {
    let sb = Sandbox::start(&faults(&[
        ("1", &["graph:10900", "ok"]),
        ("2", &["graph:10900", "ok"]),
        ("3", &["graph:10900", "ok"]),
    ]));
    let ws = Workspace::new();
    let people = ids(8);
    ws.write("c.yaml", &graph_campaign("streak", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("streak", "default");
    for id in ["1", "2", "3"] {
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "page_stopped".into()), "{id}");
    }
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["not_attempted"], 8);
    assert!(sb.requests_for("4").is_empty(), "the page stopped after the third");

    let again = run(&ws, &sb, "tok");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn three_stale_ids_in_a_row_are_a_streak_too() {
    // 100 without subcode counts towards a streak (SPEC §4).
    let sb = Sandbox::start(&faults(&[
        ("1", &["graph:100", "ok"]),
        ("2", &["graph:100", "ok"]),
        ("3", &["graph:100", "ok"]),
    ]));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("stale3", PAGE, "T", &refs(&ids(5)), "send: { concurrency: 1 }\n"));
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("stale3", "default");
    for id in ["1", "2", "3"] {
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "page_stopped".into()), "{id}");
    }
}

#[test]
fn broken_runs_of_errors_are_not_a_streak() {
    let sb = Sandbox::start(&faults(&[
        ("1", &["graph:10900"]),
        ("2", &["graph:10900"]),
        ("4", &["graph:10900"]),
        ("5", &["graph:10900"]),
        ("7", &["graph:10901"]),
        ("8", &["graph:10900"]),
    ]));
    let ws = Workspace::new();
    let people = ids(9);
    ws.write("c.yaml", &graph_campaign("nostreak", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(1), "two in a row, a success, two, a success, two different: {}", text(&out));
    let report = ws.report("nostreak", "default");
    assert_eq!(report["summary"]["failed"], 6);
    assert_eq!(report["summary"]["sent"], 3);
    assert_eq!(row(&report, "1")["error_code"], 10900);
}

#[test]
fn ten_different_errors_in_a_row_stop_the_page() {
    let pairs: Vec<(String, Vec<&str>)> = (1..=10).map(|i| (i.to_string(), vec!["graph_varied:10900", "ok"])).collect();
    let borrowed: Vec<(&str, &[&str])> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    let sb = Sandbox::start(&faults(&borrowed));
    let ws = Workspace::new();
    let people = ids(14);
    ws.write("c.yaml", &graph_campaign("ten", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("ten", "default");
    assert_eq!(report["summary"]["failed"], 0, "the streak's people are re-labelled: {}", report["summary"]);
    for id in refs(&ids(10)) {
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "page_stopped".into()), "{id}");
    }
    let again = run(&ws, &sb, "tok");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn ten_blocked_users_in_a_row_do_not_stop_the_page() {
    let pairs: Vec<(String, Vec<&str>)> = (1..=10).map(|i| (i.to_string(), vec!["graph:551/1545041"])).collect();
    let borrowed: Vec<(&str, &[&str])> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    let sb = Sandbox::start(&faults(&borrowed));
    let ws = Workspace::new();
    let people = ids(13);
    ws.write("c.yaml", &graph_campaign("blocked", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = ws.report("blocked", "default");
    assert_eq!(report["summary"]["failed"], 10);
    assert_eq!(report["summary"]["sent"], 3);
    assert_eq!(row(&report, "10")["error_code"], 551);
    assert_eq!(row(&report, "10")["error_subcode"], 1545041);
    assert_eq!(report["failed_by_code"]["551"], 10);

    let before = sb.message_requests().len();
    let again = run(&ws, &sb, "tok");
    assert!(matches!(again.status.code(), Some(0 | 1)), "nothing left to do: {}", text(&again));
    assert_eq!(sb.message_requests().len(), before, "failed people are never sent to again");
    let report = ws.report("blocked", "default");
    assert_eq!(report["skipped_by_reason"]["already_failed"], 10);
}

#[test]
fn one_stale_id_fails_that_person_only() {
    let sb = Sandbox::start(&faults(&[("3", &["graph:100"])]));
    let ws = Workspace::new();
    let people = ids(6);
    ws.write("c.yaml", &graph_campaign("stale", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = ws.report("stale", "default");
    assert_eq!(outcome(&report, "3").0, "failed");
    assert_eq!(row(&report, "3")["error_code"], 100);
    assert!(row(&report, "3")["error_subcode"].is_null());
    assert!(row(&report, "3")["error_message"].as_str().unwrap_or_default().contains("No matching user found"));
    assert_eq!(report["summary"]["sent"], 5);
}

#[test]
fn a_flow_still_running_is_tried_again_by_the_next_run() {
    let sb = Sandbox::start(&faults(&[("1", &["graph:2018321", "ok"])]));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("busy", PAGE, "T", &["1", "2"], "send: { concurrency: 1 }\n"));
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(1), "left for a later run: {}", text(&out));
    let report = ws.report("busy", "default");
    assert_eq!(outcome(&report, "1"), ("not_attempted".into(), "try_later".into()));
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(sb.requests_for("1").len(), 1, "try later is not a retry within the run (SPEC §4 classes)");
    assert!(ws.all_report_text().contains("try_later"));

    let again = run(&ws, &sb, "tok");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(outcome(&ws.report("busy", "default"), "1").0, "sent");
    assert_each_delivered_once(&sb, &["1", "2"]);
}

#[test]
fn throttling_past_max_pause_is_not_attempted_throttled_and_resent() {
    let sb = Sandbox::start(&faults(&[("1", &["throttle:20", "ok"])]));
    let ws = Workspace::new();
    let people = ids(3);
    ws.write(
        "c.yaml",
        &graph_campaign("pause", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_pause: 1m }\n"),
    );
    let out = run(&ws, &sb, "tok");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("pause", "default");
    for id in refs(&people) {
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "throttled".into()), "{id}");
    }
    let again = run(&ws, &sb, "tok");
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}
