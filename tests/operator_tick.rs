//! The operator's cron day (issue 11): `tick --dry-run` decides like a real
//! tick and changes nothing; warnings of an unchanged file are printed once;
//! a first tick misses nothing; an empty directory says so; the "already
//! running" error names the holder's PID.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::path::Path;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

/// A daily 02:00 UTC campaign (09:00 in Ho Chi Minh City), catch_up 30m.
fn scheduled(id: &str, last: &str, extra: &str) -> String {
    format!(
        "version: 1\nid: {id}\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients:\n      - {{ id: \"1\", last_interaction: {last} }}\n      - {{ id: \"2\", last_interaction: {last} }}\nmessage:\n  text: Hello\nmessaging_type: UPDATE\nschedule:\n  cron: \"0 9 * * *\"\n  timezone: Asia/Ho_Chi_Minh\n  catch_up: 30m\n{extra}"
    )
}

/// (length, content fingerprint, mtime) of a file.
fn snapshot(path: &Path) -> (usize, u64, std::time::SystemTime) {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).unwrap();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    (bytes.len(), h.finish(), std::fs::metadata(path).unwrap().modified().unwrap())
}

/// Every path under `dir`, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            out.push(e.path().display().to_string());
            if e.path().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn tick_dry_run_says_what_it_would_do_and_changes_nothing() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &scheduled("daily", "2026-11-22T01:00:00Z", ""));
    ws.write("campaigns/once.yaml", &graph_campaign("once", PAGE, "T", &["9"], ""));
    ws.write("campaigns/broken.yaml", "version: 1\nid: broken\n");
    // A first real tick handles the 22nd's fire.
    let first = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"], &[("T", "tok")]);
    assert_eq!(first.status.code(), Some(2), "the broken file counts 2: {}", text(&first));
    assert_eq!(sb.message_requests().len(), 2);
    // The last close of a process may leave committed pages in the WAL, which
    // the next open of the file moves into it (same content, new bytes): let a
    // reader do that first, so that the bytes below are those of the content.
    let status_before = text(&ws.run(None, &["status", "--format", "json"], &[]));
    let ledger = ws.state().join("ledger.sqlite3");
    let before = snapshot(&ledger);
    let reports_before = tree(&ws.reports());
    let state_before = tree(&ws.state());

    // Not due: says when the next fire is.
    let early = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T12:00:00Z", "--dry-run"], &[]);
    assert!(
        text(&early).contains("daily: would pass over: not due (next fire 2026-11-23T02:00:00Z)"),
        "{}",
        text(&early)
    );

    // The next day's fire is due at 02:00Z on the 23rd.
    ws.write("campaigns/daily.yaml", &scheduled("daily", "2026-11-23T01:00:00Z", ""));
    let dry = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-23T02:05:00Z", "--dry-run"], &[("T", "tok")]);
    let out = String::from_utf8_lossy(&dry.stdout).to_string();
    assert_eq!(dry.status.code(), Some(2), "{}", text(&dry));
    assert!(out.contains("daily: would run fire 2026-11-23T02:00:00Z"), "{out}");
    assert!(out.contains("once: would pass over: no schedule"), "{out}");
    assert!(out.contains("broken.yaml: would pass over: invalid"), "{out}");
    assert_eq!(snapshot(&ledger), before, "the ledger's bytes and mtime are unchanged");
    assert_eq!(tree(&ws.reports()), reports_before, "no report written");
    assert_eq!(tree(&ws.state()), state_before, "nothing new in the state directory");
    assert_eq!(sb.message_requests().len(), 2, "nothing sent");
    assert_eq!(text(&ws.run(None, &["status", "--format", "json"], &[])), status_before);
    let before = snapshot(&ledger);

    // Three days later: the 23rd and 24th are missed, the 25th runs.
    let late = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-25T02:10:00Z", "--dry-run"], &[]);
    assert!(
        text(&late).contains("daily: would record 2 fires as missed (past catch_up); latest 2026-11-24T02:00:00Z"),
        "{}",
        text(&late)
    );
    assert!(text(&late).contains("daily: would run fire 2026-11-25T02:00:00Z"), "{}", text(&late));
    assert_eq!(snapshot(&ledger), before);

    // The real tick then does what the dry run said.
    let real = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-23T02:05:00Z"], &[("T", "tok")]);
    assert_eq!(real.status.code(), Some(2), "{}", text(&real));
    assert_eq!(sb.message_requests().len(), 4);
    assert!(ws.reports().join("daily/2026-11-23T02:00:00Z").is_dir());
    assert!(text(&real).contains(&format!("reports go to {}", ws.reports().display())), "{}", text(&real));
}

#[test]
fn tick_dry_run_on_a_fresh_state_creates_no_ledger() {
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &scheduled("daily", "2026-11-22T01:00:00Z", ""));
    let dry = ws.run(None, &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z", "--dry-run"], &[]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(text(&dry).contains("daily: would run fire 2026-11-22T02:00:00Z"), "{}", text(&dry));
    assert!(!ws.state().exists(), "no state directory made");
}

#[test]
fn a_first_tick_past_catch_up_misses_nothing() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/daily.yaml", &scheduled("daily", "2026-11-22T01:00:00Z", ""));
    let out = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T05:00:00Z"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("missed"), "{}", text(&out));
    assert!(sb.message_requests().is_empty());
}

#[test]
fn warnings_of_an_unchanged_file_are_printed_on_the_first_tick_only() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let fast = scheduled("daily", "2026-11-22T01:00:00Z", "send: { rate: 50 }\n");
    ws.write("campaigns/daily.yaml", &fast);
    let tick = |now: &str| text(&ws.run(Some(&sb), &["tick", "campaigns", "--now", now], &[("T", "tok")]));
    let first = tick("2026-11-22T01:00:00Z");
    assert!(first.contains("50 messages per second"), "{first}");
    assert!(tick("2026-11-22T01:05:00Z").matches("messages per second").count() == 0, "not repeated");
    // validate always prints them.
    let validate = ws.run(None, &["validate", "campaigns"], &[]);
    assert!(text(&validate).contains("50 messages per second"), "{}", text(&validate));
    // A changed file is warned about again, once.
    ws.write("campaigns/daily.yaml", &fast.replace("text: Hello", "text: Hello again"));
    assert!(tick("2026-11-22T01:10:00Z").contains("50 messages per second"));
    assert!(!tick("2026-11-22T01:15:00Z").contains("50 messages per second"));
    let record = ws.state().join("warned.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&record).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
}

#[test]
fn tick_on_a_directory_without_campaigns_says_so() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.dir.join("campaigns")).unwrap();
    let out = ws.run(None, &["tick", "campaigns"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no campaign files"), "{}", text(&out));
    let missing = ws.run(None, &["tick", "nowhere"], &[]);
    assert_eq!(missing.status.code(), Some(2), "a directory that does not exist is a usage error");
}

#[test]
fn the_already_running_error_names_the_holders_pid() {
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("held", PAGE, "T", &["1"], ""));
    let locks = ws.state().join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    let path = locks.join("held.lock");
    std::fs::write(&path, "4242\n").unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.try_lock().unwrap();
    let out = ws.run(None, &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("held by PID 4242"), "{}", text(&out));
    drop(file);
}
