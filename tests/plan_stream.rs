//! Streamed documents (issue 16): `plan --format json` and `run --dry-run
//! --format json` print the counts, then one row at a time; the document
//! must mean exactly what the in-memory one (the pinned plan of `plan
//! --out`, still built whole) means, and report files written by streaming
//! must agree with themselves.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::io::Read;
use std::process::Stdio;

use common::*;
use serde_json::Value;

const P1: &str = "500725830264749";
const P2: &str = "600725830264750";

/// Two pages; on each, recent recipients (planned), old ones (outside the
/// window) and one with no interaction at all.
fn campaign() -> String {
    let rows = |prefix: &str| -> String {
        let mut text = String::new();
        for i in 0..6 {
            let at = if i % 3 == 0 { "2026-11-10T08:00:00Z" } else { RECENT };
            text.push_str(&format!(
                "      - {{ id: \"{prefix}{i}\", last_interaction: {at}, vars: {{ first_name: P{i} }} }}\n"
            ));
        }
        text
    };
    format!(
        "version: 1\nid: streamed\npages:\n  - {{ id: \"{P1}\", provider: graph, token_env: T }}\n  - {{ id: \"{P2}\", provider: graph, token_env: T }}\n\
         audiences:\n  - page: \"{P1}\"\n    recipients:\n{}  - page: \"{P2}\"\n    recipients:\n{}\
         message:\n  text: \"Hi {{{{ first_name }}}}\"\nmessaging_type: UPDATE\n",
        rows("11"),
        rows("22"),
    )
}

#[test]
fn streamed_plan_json_means_what_the_whole_document_means() {
    let sb = Sandbox::start(&serde_json::json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign());
    let out = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let streamed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dry = ws.run(Some(&sb), &["run", "c.yaml", "--dry-run", "--now", NOW, "--format", "json"], &[("T", "tok")]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let dry: Value = serde_json::from_slice(&dry.stdout).unwrap();

    // The pinned plan is the whole document built in memory, plus two keys.
    let pinned = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--out", "plan.json"], &[("T", "tok")]);
    assert_eq!(pinned.status.code(), Some(0), "{}", text(&pinned));
    let mut whole: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.write("x", "").parent().unwrap().join("plan.json")).unwrap())
            .unwrap();
    let map = whole.as_object_mut().unwrap();
    map.remove("planned_at");
    map.remove("inputs");

    for doc in [&streamed, &dry] {
        let mut doc = doc.clone();
        let mut expected = whole.clone();
        // Times are the wall clock of each process.
        for v in [&mut doc, &mut expected] {
            v["started_at"] = Value::Null;
            v["finished_at"] = Value::Null;
        }
        assert_eq!(doc, expected);
    }
    assert_eq!(streamed["summary"]["recipients"], 12);
    assert_eq!(streamed["summary"]["planned"], 8);
    assert_eq!(streamed["skipped_by_reason"]["outside_window"], 4);
    assert_eq!(streamed["outcomes"].as_array().unwrap().len(), 12);
    assert_eq!(streamed["pages"][P2]["planned"], 4);
}

#[test]
fn streamed_report_files_agree_with_their_counts() {
    let sb = Sandbox::start(&serde_json::json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign());
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = ws.report("streamed", "default");
    let rows = report["outcomes"].as_array().unwrap();
    assert_eq!(rows.len(), 12);
    let sent = rows.iter().filter(|r| r["outcome"] == "sent").count();
    assert_eq!(sent, 8);
    assert_eq!(report["summary"]["sent"], 8);
    assert_eq!(report["summary"]["skipped"], 4);
    assert_eq!(report["pages"][P1]["sent"], 4);
    assert!(rows.iter().filter(|r| r["outcome"] == "sent").all(|r| r["message_id"].is_string()));
    let text = ws.all_report_text();
    assert!(text.contains("outside_window"), "the CSV and HTML are written too");
}

#[test]
fn a_closed_pipe_ends_the_streamed_plan_quietly() {
    let sb = Sandbox::start(&serde_json::json!({}));
    let ws = Workspace::new();
    // 2,000 rows, about 600 KB of JSON: more than a pipe's buffer holds.
    let mut csv = String::from("id,last_interaction\n");
    for i in 0..2000 {
        csv.push_str(&format!("{},{RECENT}\n", 2_560_816_460_000_000u64 + i));
    }
    ws.write("a.csv", &csv);
    ws.write(
        "c.yaml",
        &format!(
            "version: 1\nid: piped\npages:\n  - {{ id: \"{P1}\", provider: graph, token_env: T }}\n\
             audiences:\n  - {{ page: \"{P1}\", file: a.csv }}\nmessage:\n  text: Hello\nmessaging_type: UPDATE\n"
        ),
    );
    let mut child = ws
        .pagecast(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--format", "json"])
        .env("T", "tok")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is now closed: the rest of the document has nowhere to go.
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(first[0], b'{');
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
