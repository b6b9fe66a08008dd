//! Issue 8, ticks: a fire whose run could not start (a missing token) is not
//! handled. The next tick within `catch_up` tries it again; past `catch_up`
//! it is recorded as missed with that reason, and `status` shows it.

mod common;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";
const FIRE: &str = "2026-11-22T02:00:00Z";

fn daily(people: &[&str]) -> String {
    graph_campaign(
        "daily",
        PAGE,
        "DAILY_SHOP_TOKEN",
        people,
        "schedule:\n  cron: \"0 2 * * *\"\n  catch_up: 30m\nsend: { concurrency: 1 }\n",
    )
    .replace(RECENT, "2026-11-22T01:30:00Z")
}

fn tick(ws: &Workspace, sb: &Sandbox, now: &str, token: Option<&str>) -> std::process::Output {
    let env: Vec<(&str, &str)> = token.map(|t| vec![("DAILY_SHOP_TOKEN", t)]).unwrap_or_default();
    let mut cmd = ws.pagecast(Some(sb), &["tick", "campaigns", "--now", now]);
    cmd.env_remove("DAILY_SHOP_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_tick_without_its_token_does_not_consume_the_fire() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &daily(&["1", "2"]));
    let first = tick(&ws, &sb, "2026-11-22T02:05:00Z", None);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first));
    assert!(text(&first).contains("DAILY_SHOP_TOKEN"), "the message names the variable: {}", text(&first));
    assert!(sb.requests().is_empty());

    let second = tick(&ws, &sb, "2026-11-22T02:20:00Z", Some("tok"));
    assert_eq!(second.status.code(), Some(0), "the fire is still due: {}", text(&second));
    assert_each_delivered_once(&sb, &["1", "2"]);
    let report = ws.report("daily", FIRE);
    assert_eq!(report["summary"]["sent"], 2);

    let third = tick(&ws, &sb, "2026-11-22T02:25:00Z", Some("tok"));
    assert_eq!(third.status.code(), Some(0), "{}", text(&third));
    assert_each_delivered_once(&sb, &["1", "2"]);
}

#[test]
fn a_fire_that_never_started_is_missed_past_catch_up_with_its_reason() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &daily(&["1"]));
    let first = tick(&ws, &sb, "2026-11-22T02:05:00Z", None);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first));
    let second = tick(&ws, &sb, "2026-11-22T02:20:00Z", None);
    assert_eq!(second.status.code(), Some(2), "still no token, still inside catch_up: {}", text(&second));

    // 40 minutes after the fire: past catch_up, token set now.
    let late = tick(&ws, &sb, "2026-11-22T02:40:00Z", Some("tok"));
    assert_eq!(late.status.code(), Some(0), "{}", text(&late));
    assert!(sb.requests().is_empty(), "a fire past catch_up is never sent");

    let status = ws.run(None, &["status", "daily"], &[]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let shown = text(&status);
    assert!(shown.contains("missed"), "{shown}");
    assert!(shown.contains("2026-11-22T02:00:00Z"), "status names the fire: {shown}");
    assert!(shown.contains("DAILY_SHOP_TOKEN"), "status gives the reason it did not start: {shown}");

    // The next day's fire is not held back by the missed one.
    let next_day = tick(&ws, &sb, "2026-11-23T02:05:00Z", Some("tok"));
    assert_eq!(next_day.status.code(), Some(0), "{}", text(&next_day));
    // The inline recipient's last interaction is a day old by then: skipped, not sent.
    assert!(sb.requests().is_empty());
}

#[test]
fn status_shows_a_pending_fire_that_did_not_start() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &daily(&["1"]));
    let first = tick(&ws, &sb, "2026-11-22T02:05:00Z", None);
    assert_eq!(first.status.code(), Some(2), "{}", text(&first));
    let status = ws.run(None, &["status", "daily"], &[]);
    let shown = text(&status);
    assert!(shown.contains("2026-11-22T02:00:00Z"), "the pending fire is listed: {shown}");
    assert!(shown.contains("DAILY_SHOP_TOKEN"), "with its reason: {shown}");
}

#[test]
fn one_campaign_without_its_token_does_not_hold_back_the_others() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &daily(&["1"]));
    let other = daily(&["2"]).replace("id: daily", "id: other").replace("DAILY_SHOP_TOKEN", "OTHER_TOKEN");
    ws.write("campaigns/other.yaml", &other);
    let mut cmd = ws.pagecast(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"]);
    cmd.env_remove("DAILY_SHOP_TOKEN").env("OTHER_TOKEN", "tok");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_each_delivered_once(&sb, &["2"]);
    assert!(sb.requests_for("1").is_empty());

    let mut cmd = ws.pagecast(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:10:00Z"]);
    cmd.env("DAILY_SHOP_TOKEN", "tok").env("OTHER_TOKEN", "tok");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_each_delivered_once(&sb, &["1", "2"]);
}
