//! Issue 8, the ledger: a file that exists but is empty, truncated or not
//! pagecast's is refused (exit 2, nothing sent) — it never reads as "nobody
//! was sent to yet". The ledger and the reports hold people's ids: files are
//! created 0600, directories 0700.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

fn setup(sb: &Sandbox) -> Workspace {
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("ledger", PAGE, "T", &["1", "2", "3"], ""));
    let first = ws.run(Some(sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(sb.message_requests().len(), 3);
    ws
}

fn ledger_path(ws: &Workspace) -> std::path::PathBuf {
    ws.state().join("ledger.sqlite3")
}

/// Removes SQLite's side files so that only the damaged main file is left.
fn drop_side_files(ws: &Workspace) {
    for side in ["ledger.sqlite3-wal", "ledger.sqlite3-shm", "ledger.sqlite3-journal"] {
        let _ = std::fs::remove_file(ws.state().join(side));
    }
}

fn assert_refused(ws: &Workspace, sb: &Sandbox, before: usize, what: &str) {
    let out = ws.run(Some(sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(2), "{what}: {}", text(&out));
    assert!(text(&out).contains("ledger.sqlite3"), "{what}: the message names the file: {}", text(&out));
    assert_eq!(sb.message_requests().len(), before, "{what}: nothing is sent");
    let plan = ws.run(Some(sb), &["plan", "c.yaml", "--now", NOW], &[]);
    assert_eq!(plan.status.code(), Some(2), "{what}: plan refuses it too: {}", text(&plan));
}

#[test]
fn an_emptied_ledger_is_refused_not_read_as_nobody_sent() {
    let sb = Sandbox::start(&json!({}));
    let ws = setup(&sb);
    std::fs::write(ledger_path(&ws), b"").unwrap(); // `: > ledger.sqlite3`, side files left as they are
    assert_refused(&ws, &sb, 3, "empty file");
    assert_eq!(std::fs::metadata(ledger_path(&ws)).unwrap().len(), 0, "the refused file is left as found");
}

#[test]
fn an_emptied_ledger_without_its_side_files_is_refused() {
    let sb = Sandbox::start(&json!({}));
    let ws = setup(&sb);
    drop_side_files(&ws);
    std::fs::write(ledger_path(&ws), b"").unwrap();
    assert_refused(&ws, &sb, 3, "empty file, no -wal");
}

#[test]
fn a_ledger_copied_without_its_wal_is_refused_or_complete() {
    // A backup that took `ledger.sqlite3` alone: whatever SQLite still had in
    // the -wal file is gone. pagecast must not read that as "nobody sent".
    let sb = Sandbox::start(&json!({}));
    let ws = setup(&sb);
    drop_side_files(&ws);
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    match out.status.code() {
        Some(2) => assert_eq!(sb.message_requests().len(), 3, "refused: nothing sent"),
        // The main file held everything (checkpointed at exit): a normal re-run.
        Some(0) => assert_each_delivered_once(&sb, &["1", "2", "3"]),
        other => panic!("unexpected exit {other:?}: {}", text(&out)),
    }
    assert_each_delivered_once(&sb, &["1", "2", "3"]);
}

#[test]
fn an_empty_ledger_file_before_any_run_is_refused() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("ledger", PAGE, "T", &["1"], ""));
    std::fs::create_dir_all(ws.state()).unwrap();
    std::fs::write(ledger_path(&ws), b"").unwrap();
    assert_refused(&ws, &sb, 0, "empty file, fresh state");
}

#[test]
fn a_ledger_without_pagecasts_schema_is_refused() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("ledger", PAGE, "T", &["1"], ""));
    std::fs::create_dir_all(ws.state()).unwrap();
    let db = rusqlite::Connection::open(ledger_path(&ws)).unwrap();
    db.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('x');")
        .unwrap();
    drop(db);
    assert_refused(&ws, &sb, 0, "another program's database");
}

#[test]
fn a_text_file_in_place_of_the_ledger_is_refused() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("ledger", PAGE, "T", &["1"], ""));
    std::fs::create_dir_all(ws.state()).unwrap();
    std::fs::write(ledger_path(&ws), "this is not a database\n".repeat(100)).unwrap();
    assert_refused(&ws, &sb, 0, "a text file");
}

#[test]
fn a_truncated_ledger_is_refused() {
    let sb = Sandbox::start(&json!({}));
    let ws = setup(&sb);
    // Move everything into the main file first, then cut it.
    let db = rusqlite::Connection::open(ledger_path(&ws)).unwrap();
    db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    drop(db);
    drop_side_files(&ws);
    let bytes = std::fs::read(ledger_path(&ws)).unwrap();
    assert!(bytes.len() > 4096, "{}", bytes.len());
    // Keep the header page only: SQLite's header still says "more pages follow".
    std::fs::write(ledger_path(&ws), &bytes[..4096.min(bytes.len() / 2)]).unwrap();
    assert_refused(&ws, &sb, 3, "a truncated file");
}

#[test]
fn a_ledger_missing_its_tables_is_refused() {
    // pagecast's schema marker present but a table dropped: a damaged
    // database must not read as "nobody was sent to".
    let sb = Sandbox::start(&json!({}));
    let ws = setup(&sb);
    let db = rusqlite::Connection::open(ledger_path(&ws)).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in &tables {
        db.execute_batch(&format!("DROP TABLE \"{table}\"")).unwrap();
    }
    drop(db);
    assert!(!tables.is_empty());
    assert_refused(&ws, &sb, 3, "every table dropped");
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>, dirs: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            dirs.push(path.clone());
            walk(&path, files, dirs);
        } else {
            files.push(path);
        }
    }
}

#[test]
fn ledger_and_reports_are_private_to_their_owner() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("private", PAGE, "T", &["1", "2"], ""));
    // A permissive umask, as cron jobs often have: pagecast must not rely on it.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg("umask 000; exec \"$0\" \"$@\"").arg(env!("CARGO_BIN_EXE_pagecast"));
    cmd.args(["run", "c.yaml", "--now", NOW])
        .env("PAGECAST_STATE", ws.state())
        .env("PAGECAST_REPORT_DIR", ws.reports())
        .env("PAGECAST_REQUEST_TIMEOUT", "2")
        .env("PAGECAST_GRAPH_URL", format!("{}/v25.0", sb.url))
        .env("T", "tok")
        .current_dir(&ws.dir);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    assert_eq!(mode(&ws.state()), 0o700, "state directory");
    assert_eq!(mode(&ws.state().join("ledger.sqlite3")), 0o600, "ledger file");
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    walk(&ws.state(), &mut files, &mut dirs);
    for file in files.iter().filter(|f| f.to_string_lossy().contains("ledger.sqlite3")) {
        assert_eq!(mode(file) & 0o077, 0, "{} is readable by others", file.display());
    }

    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    dirs.push(ws.reports());
    walk(&ws.reports(), &mut files, &mut dirs);
    assert!(files.len() >= 3, "{files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    for dir in &dirs {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
}
