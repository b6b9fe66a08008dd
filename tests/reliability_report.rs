//! Issue 8, the report: `pauses` lists every throttling pause of the run,
//! and the new `not_attempted` reasons appear in report.json and outcomes.csv.

mod common;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

fn rfc3339(value: &serde_json::Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap_or_default())
        .unwrap_or_else(|_| panic!("not RFC 3339: {value}"))
}

#[test]
fn a_throttled_run_lists_its_pauses() {
    // Meta says 0 minutes to regain access: the page pauses 1 s, then goes on.
    let sb = Sandbox::start(&json!({"faults": {"1": ["throttle:0", "ok"]}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("paused", PAGE, "T", &["1", "2"], "send: { concurrency: 1 }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = ws.report("paused", "default");
    let pauses = report["pauses"].as_array().unwrap_or_else(|| panic!("no pauses list: {report}"));
    assert_eq!(pauses.len(), 1, "{pauses:?}");
    let pause = &pauses[0];
    assert_eq!(pause["page"], PAGE);
    assert!(pause["code"] == 613 || pause["code"] == "613", "{pause}");
    let (from, until) = (rfc3339(&pause["from"]), rfc3339(&pause["until"]));
    assert!(until > from, "{pause}");
    assert_each_delivered_once(&sb, &["1", "2"]);
}

#[test]
fn a_run_without_throttling_has_an_empty_pauses_list() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("calm", PAGE, "T", &["1"], ""));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ws.report("calm", "default")["pauses"], json!([]));
}

#[test]
fn the_new_reasons_reach_every_report_file() {
    let sb = Sandbox::start(&json!({"faults": {
        "1": ["graph:2", "graph:2"], "2": ["graph:2018321"], "3": ["ok"]
    }}));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &graph_campaign("reasons", PAGE, "T", &["1", "2", "3"], "send: { concurrency: 1, max_attempts: 2 }\n"),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = ws.report("reasons", "default");
    assert_eq!(outcome(&report, "1"), ("not_attempted".into(), "retries_exhausted".into()));
    assert_eq!(outcome(&report, "2"), ("not_attempted".into(), "try_later".into()));
    assert_eq!(report["exit_code"], 1);
    let dir = ws.reports().join("reasons").join("default");
    let run = std::fs::read_dir(&dir).unwrap().flatten().next().unwrap().path();
    let mut csv = csv::Reader::from_path(run.join("outcomes.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (recipient, outcome_col, reason) = (column("recipient"), column("outcome"), column("reason"));
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let find = |id: &str| rows.iter().find(|r| &r[recipient] == id).unwrap_or_else(|| panic!("no csv row {id}"));
    assert_eq!((&find("1")[outcome_col], &find("1")[reason]), ("not_attempted", "retries_exhausted"));
    assert_eq!((&find("2")[outcome_col], &find("2")[reason]), ("not_attempted", "try_later"));
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(html.contains("retries_exhausted") && html.contains("try_later"), "the page for people shows them");
}
