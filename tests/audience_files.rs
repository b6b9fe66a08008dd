//! Audience files and opt-out lists against the real binary and the sandbox
//! (SPEC §1, §2): unusable input is exit 2 naming the file and line with
//! nothing sent; local times read in the audience's zone; row warnings are
//! short and bounded; opt-out lists read only ids and never let a person
//! through.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::process::Output;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

/// A campaign over `audiences/people.csv` (with `audience_extra` lines under
/// the audience entry) and `extra` at the end.
fn campaign(audience_extra: &str, extra: &str) -> String {
    format!(
        "version: 1\nid: people\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    file: audiences/people.csv\n{audience_extra}message:\n  text: \"Hi {{{{ first_name }}}}\"\nmessaging_type: UPDATE\n{extra}"
    )
}

fn people(rows: usize) -> String {
    let mut csv = String::from("id,last_interaction,first_name\n");
    for i in 1..=rows {
        csv.push_str(&format!("{i},{RECENT},Name{i}\n"));
    }
    csv
}

fn run(ws: &Workspace, sb: &Sandbox) -> Output {
    ws.run(Some(sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")])
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn one_stray_quote_stops_the_run_at_its_line_and_nothing_is_sent() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign("", ""));
    ws.write("audiences/people.csv", &people(1000).replacen("\n3,", "\n3,\"", 1));
    let out = run(&ws, &sb);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = stderr(&out);
    assert!(
        err.contains("audiences/people.csv:4: error: a quoted field opens here and is never closed"),
        "line 4 is recipient 3: {err}"
    );
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(sb.requests().is_empty(), "nothing may be sent");
}

#[test]
fn a_header_that_is_not_utf8_is_invalid_for_validate_and_run() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign("", ""));
    std::fs::create_dir_all(ws.dir.join("audiences")).unwrap();
    std::fs::write(ws.dir.join("audiences/people.csv"), b"id,last_interaction,first_name,pr\xe9nom\n1,,Lan,x\n")
        .unwrap();
    let out = ws.run(None, &["validate", "c.yaml", "--now", NOW], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).starts_with("c.yaml:7:11: error: audiences[0].file: the header of "), "{}", stderr(&out));
    assert!(stderr(&out).contains("is not UTF-8 (column 4)"), "{}", stderr(&out));
    let out = run(&ws, &sb);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(sb.requests().is_empty());
}

#[test]
fn every_row_bad_is_invalid_and_a_timezone_reads_the_spreadsheet_times() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    // A spreadsheet export: 20,000 local times without an offset.
    let mut csv = String::from("id,last_interaction,first_name\n");
    for i in 1..=20_000 {
        csv.push_str(&format!("{i},2026-11-21 12:02:13,Name{i}\n"));
    }
    ws.write("audiences/people.csv", &csv);
    ws.write("c.yaml", &campaign("", ""));
    let out = run(&ws, &sb);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.len() < 10_000, "warnings stay bounded: {} bytes", err.len());
    assert!(err.contains(
        "audiences/people.csv:2: warning: last_interaction: \"2026-11-21 12:02:13\" is not a time; write RFC 3339 (2026-11-20T08:00:00Z) or Unix seconds (1795161600) (row left out)"
    ), "{err}");
    assert!(err.contains("... and 19980 more rows left out"), "{err}");
    assert!(
        err.contains(
            "audiences/people.csv:2: error: none of the 20000 data rows can be used (the first bad one is this line)"
        ),
        "{err}"
    );
    assert!(sb.requests().is_empty());

    // The same file with its zone: 12:02:13 in Ho Chi Minh City is 05:02:13Z,
    // inside the window at NOW.
    ws.write("c.yaml", &campaign("    timezone: Asia/Ho_Chi_Minh\n", ""));
    let out = ws.run(None, &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["planned"], 20_000, "{}", plan["summary"]);
}

#[test]
fn a_header_with_no_rows_is_an_empty_audience_not_an_error() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign("", ""));
    ws.write("audiences/people.csv", "id,last_interaction,first_name\n");
    let out = run(&ws, &sb);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(sb.requests().is_empty());
}

#[test]
fn huge_bad_fields_print_short_warnings() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign("", ""));
    let junk = "z".repeat(100_000);
    let mut csv = people(2);
    for i in 0..50 {
        csv.push_str(&format!("{},{junk},x\n", 100 + i));
    }
    ws.write("audiences/people.csv", &csv);
    let out = run(&ws, &sb);
    assert_eq!(out.status.code(), Some(0), "the good rows are sent: {}", text(&out));
    let err = stderr(&out);
    assert!(err.len() < 12_000, "{} bytes of stderr for 5 MB of junk", err.len());
    assert!(err.contains(&format!("\"{}…\" is not a time", "z".repeat(80))), "{err}");
    assert!(err.contains("... and 30 more rows left out"), "{err}");
    assert_eq!(sb.requests().len(), 2);
}

/// Issue 8: a messy opt-out export let 3 of 4 opted-out people through.
#[test]
fn opt_out_rows_are_read_by_id_alone_and_nobody_who_opted_out_is_messaged() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign("", &format!("suppress:\n  - {{ page: \"{PAGE}\", file: optout.csv }}\n")));
    ws.write("audiences/people.csv", &people(5));
    // A missing trailing column, a future time, a name that is not UTF-8,
    // and a plain row.
    let mut list = b"id,name,last_interaction\n1,Lan\n2,Minh,2030-01-01T00:00:00Z\n3,Ng".to_vec();
    list.extend_from_slice(b"\xf4,2026-11-01T00:00:00Z\n4,Hoa,2026-11-01T00:00:00Z\n");
    std::fs::write(ws.dir.join("optout.csv"), list).unwrap();
    let out = run(&ws, &sb);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sent: Vec<String> = sb.requests().iter().map(|r| r["recipient"].as_str().unwrap().to_string()).collect();
    assert_eq!(sent, ["5"], "only the person who did not opt out");
    let report = ws.report("people", "default");
    for id in ["1", "2", "3", "4"] {
        assert_eq!(row(&report, id)["outcome"], "skipped", "{id}");
    }
}

#[test]
fn an_opt_out_row_without_a_readable_id_stops_the_run_before_anything_is_sent() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign("", &format!("suppress:\n  - {{ page: \"{PAGE}\", file: optout.csv }}\n")));
    ws.write("audiences/people.csv", &people(3));
    ws.write("optout.csv", "id,name\n1,Lan\n2,Minh\n");
    assert_eq!(run(&ws, &sb).status.code(), Some(0));
    assert_eq!(sb.requests().len(), 1, "3 only");
    // The list changes after validation would pass: the run still refuses it.
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign("", &format!("suppress:\n  - {{ page: \"{PAGE}\", file: optout.csv }}\n")));
    ws.write("audiences/people.csv", &people(3));
    std::fs::write(ws.dir.join("optout.csv"), b"id,name\n1,Lan\n\"2,Minh\n").unwrap();
    let out = run(&ws, &sb);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("optout.csv:3: "), "{}", stderr(&out));
    assert!(sb.requests().is_empty());
}

#[test]
fn jsonl_local_times_and_unix_seconds() {
    let ws = Workspace::new();
    let c = campaign("    timezone: Europe/Berlin\n", "").replace("people.csv", "people.jsonl");
    ws.write("c.yaml", &c);
    ws.write(
        "audiences/people.jsonl",
        "{\"id\": \"1\", \"last_interaction\": \"2026-11-21 23:30\", \"vars\": {\"first_name\": \"A\"}}\n{\"id\": \"2\", \"last_interaction\": 1795291200, \"vars\": {\"first_name\": \"B\"}}\n",
    );
    let out = ws.run(None, &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["planned"], 2, "{}", plan["summary"]);
}

#[test]
fn inline_rows_read_local_times_in_the_audiences_zone_too() {
    let ws = Workspace::new();
    let inline = |zone: &str| {
        format!(
            "version: 1\nid: inline\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n{zone}    recipients:\n      - {{ id: \"1\", last_interaction: 2026-11-21 12:00 }}\nmessage:\n  text: Hello\nmessaging_type: UPDATE\n"
        )
    };
    ws.write("c.yaml", &inline(""));
    let out = ws.run(None, &["validate", "c.yaml", "--now", NOW], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).lines().take(2).collect::<Vec<_>>(),
        [
            "c.yaml:8:38: error: audiences[0].recipients[0].last_interaction: \"2026-11-21 12:00\" is not a time; write RFC 3339 (2026-11-20T08:00:00Z) or Unix seconds (1795161600)",
            "  help: write one of the forms above; for local times such as 2026-12-01 12:02:13 (a spreadsheet export), set `timezone: Area/City` on the audience",
        ]
    );
    ws.write("c.yaml", &inline("    timezone: Asia/Ho_Chi_Minh\n"));
    let out = ws.run(None, &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["planned"], 1, "12:00 in Ho Chi Minh City is 05:00Z, inside the window");
}
