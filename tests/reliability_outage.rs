//! Issue 8, outages: connections refused before the request is written are
//! never a person's failure. Those recipients end `not_attempted`
//! (`retries_exhausted`, or `unreachable` once ten connection failures in a
//! row stop the page, exit 3), and a re-run after the outage sends to each of
//! them exactly once.

mod common;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

/// Reasons a recipient whose requests never left may carry.
const NEVER_LEFT: [&str; 2] = ["retries_exhausted", "unreachable"];

#[test]
fn a_short_outage_leaves_people_not_attempted_and_the_rerun_sends_to_them() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(3);
    ws.write(
        "c.yaml",
        &graph_campaign("outage", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 2 }\n"),
    );
    sb.down();
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(1), "left for a later run, no page stop (6 < 10 failures): {}", text(&out));
    let report = ws.report("outage", "default");
    for id in &people {
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "retries_exhausted".into()), "{id}");
        assert_eq!(row(&report, id)["attempts"], 2, "{id}: the attempt count is kept");
    }
    assert_eq!(report["summary"]["failed"], 0, "an outage is nobody's failure");
    assert_eq!(report["summary"]["not_attempted"], 3);

    sb.up();
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let report = ws.report("outage", "default");
    assert_eq!(report["summary"]["sent"], 3);
    assert!(report["skipped_by_reason"].get("already_failed").is_none(), "{}", report["skipped_by_reason"]);
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn ten_connection_failures_in_a_row_stop_the_page_as_unreachable() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(40);
    ws.write(
        "c.yaml",
        &graph_campaign("gone", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 2 }\n"),
    );
    sb.down();
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(3), "an API that is gone stops the page: {}", text(&out));
    let report = ws.report("gone", "default");
    assert_eq!(report["summary"]["not_attempted"], 40, "{}", report["summary"]);
    assert_eq!(report["summary"]["failed"], 0);
    let tried: Vec<&serde_json::Value> =
        report["outcomes"].as_array().unwrap().iter().filter(|r| r["attempts"].as_u64().unwrap_or(0) > 0).collect();
    let attempts: u64 = tried.iter().map(|r| r["attempts"].as_u64().unwrap()).sum();
    assert!(attempts <= 12, "the page must stop near ten connection failures, not burn its audience: {attempts}");
    for r in report["outcomes"].as_array().unwrap() {
        let reason = r["reason"].as_str().unwrap_or_default();
        assert!(NEVER_LEFT.contains(&reason), "{r}");
    }
    let untouched = report["outcomes"].as_array().unwrap().iter().filter(|r| r["attempts"] == 0).count();
    assert!(untouched >= 30, "{untouched}");
    assert!(report["outcomes"].as_array().unwrap().iter().any(|r| r["reason"] == "unreachable"), "the stop says why");

    sb.up();
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn an_outage_mid_run_loses_nobody_and_doubles_nobody() {
    // The API answers three requests, then the port closes.
    let sb = Sandbox::start(&json!({"down": {"after": 3}}));
    let ws = Workspace::new();
    let people = ids(8);
    ws.write(
        "c.yaml",
        &graph_campaign("mid", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 2 }\n"),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert!(matches!(out.status.code(), Some(1 | 3)), "{}", text(&out));
    let report = ws.report("mid", "default");
    assert_eq!(report["summary"]["sent"], 3, "{}", report["summary"]);
    assert_eq!(report["summary"]["not_attempted"], 5);
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["unknown"], 0, "a refused connect surely did not deliver");
    for r in report["outcomes"].as_array().unwrap().iter().filter(|r| r["outcome"] == "not_attempted") {
        assert!(NEVER_LEFT.contains(&r["reason"].as_str().unwrap_or_default()), "{r}");
    }

    sb.up();
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let report = ws.report("mid", "default");
    assert_eq!(report["skipped_by_reason"]["already_sent"], 3);
    assert_eq!(report["summary"]["sent"], 5);
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn repeated_outages_converge_with_one_message_each() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(6);
    ws.write(
        "c.yaml",
        &graph_campaign("flaky", PAGE, "T", &refs(&people), "send: { concurrency: 2, max_attempts: 1 }\n"),
    );
    let run = |label: &str| {
        let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
        assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{label}: {}", text(&out));
        let report = ws.report("flaky", "default");
        assert_eq!(report["summary"]["failed"], 0, "{label}: {}", report["summary"]);
        assert_eq!(report["summary"]["unknown"], 0, "{label}");
        out.status.code()
    };
    sb.down();
    run("down");
    sb.up();
    // Up for good now: a last run and a further one that has nothing to do.
    assert_eq!(run("up"), Some(0));
    assert_eq!(run("again"), Some(0));
    let report = ws.report("flaky", "default");
    assert_eq!(report["skipped_by_reason"]["already_sent"], 6);
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn a_tick_during_an_outage_is_resumed_by_the_next_tick_within_catch_up() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(3);
    let campaign = graph_campaign(
        "daily",
        PAGE,
        "T",
        &refs(&people),
        "schedule:\n  cron: \"0 2 * * *\"\n  catch_up: 30m\nsend: { concurrency: 1, max_attempts: 2 }\n",
    )
    .replace(RECENT, "2026-11-22T01:30:00Z");
    ws.write("campaigns/daily.yaml", &campaign);
    sb.down();
    let first = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"], &[("T", "tok")]);
    assert!(matches!(first.status.code(), Some(1 | 3)), "{}", text(&first));
    sb.up();
    let second = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:10:00Z"], &[("T", "tok")]);
    assert_eq!(second.status.code(), Some(0), "the unsettled fire is resumed: {}", text(&second));
    assert_each_delivered_once(&sb, &refs(&people));
    let third = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:15:00Z"], &[("T", "tok")]);
    assert_eq!(third.status.code(), Some(0), "{}", text(&third));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn an_outage_on_a_harasocial_page_is_not_a_failure_either() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write(
        "h.yaml",
        &format!(
            "version: 1\nid: hflow\npages:\n  - {{ id: \"{PAGE}\", provider: harasocial, token_env: H }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients:\n      - {{ id: \"1\", last_interaction: {RECENT} }}\n      - {{ id: \"2\", last_interaction: {RECENT} }}\nmessage:\n  payload_id: __hrf_f_abc\nsend: {{ concurrency: 1, max_attempts: 2 }}\n"
        ),
    );
    sb.down();
    let out = ws.run(Some(&sb), &["run", "h.yaml", "--now", NOW], &[("H", "tok")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = ws.report("hflow", "default");
    assert_eq!(outcome(&report, "1"), ("not_attempted".into(), "retries_exhausted".into()));
    assert_eq!(outcome(&report, "2"), ("not_attempted".into(), "retries_exhausted".into()));
    sb.up();
    let again = ws.run(Some(&sb), &["run", "h.yaml", "--now", NOW], &[("H", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &["1", "2"]);
}

#[test]
fn an_outage_shorter_than_the_retry_budget_is_ridden_out_in_the_same_run() {
    // Down for 300 ms after the first answer; four attempts back off at least
    // 125 + 250 + 500 ms, so the last attempt surely meets the API again.
    let sb = Sandbox::start(&json!({"down": {"after": 1, "for_ms": 300}}));
    let ws = Workspace::new();
    let people = ids(4);
    ws.write(
        "c.yaml",
        &graph_campaign("blip", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 4 }\n"),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = ws.report("blip", "default");
    assert_eq!(report["summary"]["sent"], 4, "{}", report["summary"]);
    assert!(row(&report, "2")["attempts"].as_u64().unwrap() >= 2, "the second recipient met the outage");
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn tick_dry_run_after_an_outage_says_it_would_resume_the_fire() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let campaign = graph_campaign(
        "daily",
        PAGE,
        "T",
        &["1", "2"],
        "schedule:\n  cron: \"0 2 * * *\"\n  catch_up: 30m\nsend: { concurrency: 1, max_attempts: 1 }\n",
    )
    .replace(RECENT, "2026-11-22T01:30:00Z");
    ws.write("campaigns/daily.yaml", &campaign);
    sb.down();
    let first = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"], &[("T", "tok")]);
    assert!(matches!(first.status.code(), Some(1 | 3)), "{}", text(&first));
    sb.up();
    let dry = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:08:00Z", "--dry-run"], &[("T", "tok")]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(text(&dry).contains("resume"), "tick --dry-run says it would resume the fire: {}", text(&dry));
    assert!(text(&dry).contains("2026-11-22T02:00:00Z"), "{}", text(&dry));
    assert!(sb.message_requests().is_empty(), "the dry run sends nothing");
}
