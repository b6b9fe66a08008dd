//! Operator-facing wording (issue 11): plurals, no "0 … missed" for a
//! campaign without a schedule, log lines with a level and a timestamp
//! when stderr is not a terminal.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

#[test]
fn one_recipient_is_singular_and_status_without_a_schedule_mentions_no_missed_fires() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("single", PAGE, "T", &["1"], ""));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 recipient, 1 sent"), "{}", text(&out));
    assert!(!text(&out).contains("1 recipients"), "{}", text(&out));
    let status = ws.run(None, &["status", "single"], &[]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert!(!text(&status).contains("missed"), "{}", text(&status));
    let validate = ws.run(None, &["validate", "c.yaml", "--now", NOW], &[]);
    assert!(text(&validate).contains("checked 1 file:"), "{}", text(&validate));
}

#[test]
fn log_lines_under_cron_carry_a_timestamp_and_a_level() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let campaign = graph_campaign("cron", PAGE, "T", &["1"], "schedule:\n  cron: \"0 0 * * *\"\n  catch_up: 30m\n");
    ws.write("campaigns/c.yaml", &campaign);
    // stderr is a pipe here, as under cron.
    let out = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T00:05:00Z"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let logged: Vec<&str> =
        stderr.lines().filter(|l| l.contains("running occurrence") || l.contains("reports go to")).collect();
    assert_eq!(logged.len(), 2, "{stderr}");
    for line in logged {
        let (stamp, rest) = line.split_once(' ').unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(stamp).is_ok(), "a timestamp first: {line}");
        assert!(rest.trim_start().starts_with("INFO"), "then a level: {line}");
        assert!(!line.contains('\u{1b}'), "no colour codes in a pipe: {line}");
    }
}
