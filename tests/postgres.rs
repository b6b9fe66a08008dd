//! The shared ledger on a real PostgreSQL server (SPEC §5): several
//! "hosts" (separate workspaces, one database) ticking the same campaigns,
//! a host killed mid-send and taken over, the database connection cut
//! mid-run, and a server that refuses connections.
//!
//! The server comes from `PAGECAST_TEST_DATABASE_URL` (`.ci/run` sets it);
//! each test works in a fresh schema of that database (`search_path` via the
//! URL's `options`), so tests run in parallel. Without the variable these
//! tests print that they were not run and pass (the refused-connection test
//! needs no server and always runs).

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

/// A fresh schema in the test database, dropped at the end of the test.
struct Db {
    /// The URL pagecast gets: the schema as search_path, and an
    /// application_name that lets the test find pagecast's sessions.
    url: String,
    base: String,
    name: String,
}

/// Runs `f` on a new connection to `url` on a plain thread.
fn sql<T: Send + 'static>(url: &str, f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static) -> T {
    let url = url.to_string();
    std::thread::spawn(move || f(&mut postgres::Client::connect(&url, postgres::NoTls).expect("connect")))
        .join()
        .expect("database thread panicked")
}

impl Db {
    fn create() -> Option<Db> {
        let Some(base) = std::env::var("PAGECAST_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            eprintln!("PAGECAST_TEST_DATABASE_URL is not set: PostgreSQL ledger test NOT RUN");
            return None;
        };
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("it_{}_{n}_{nanos}", std::process::id());
        let create = format!("CREATE SCHEMA {name}");
        sql(&base, move |c| c.batch_execute(&create).unwrap());
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}&application_name=pc_{name}");
        Some(Db { url, base, name })
    }

    fn count(&self, query: &str) -> i64 {
        let query = query.to_string();
        sql(&self.url, move |c| c.query_one(&query, &[]).unwrap().get(0))
    }

    /// How many of pagecast's sessions (of this test) the server still has.
    fn sessions(&self) -> i64 {
        let app = format!("pc_{}", self.name);
        sql(&self.base, move |c| {
            c.query_one("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1", &[&app]).unwrap().get(0)
        })
    }

    /// Ends every session of pagecast's (as a server restart would).
    fn terminate_sessions(&self) -> i64 {
        let app = format!("pc_{}", self.name);
        sql(&self.base, move |c| {
            c.query_one(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1) t",
                &[&app],
            )
            .unwrap()
            .get(0)
        })
    }

    /// Waits until the server has dropped every session of a killed process.
    fn wait_sessions_gone(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.sessions() > 0 {
            assert!(Instant::now() < deadline, "the killed process's sessions never ended");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let drop_sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        let base = self.base.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&base, postgres::NoTls) {
                let _ = c.batch_execute(&drop_sql);
            }
        })
        .join();
    }
}

fn scheduled(id: &str, page: &str, recipients: &[&str], extra: &str) -> String {
    let rows: String = recipients
        .iter()
        .map(|r| format!("      - {{ id: \"{r}\", last_interaction: 2026-11-22T01:00:00Z }}\n"))
        .collect();
    format!(
        "version: 1\nid: {id}\npages:\n  - {{ id: \"{page}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{page}\"\n    recipients:\n{rows}message:\n  text: Hello\nmessaging_type: UPDATE\nschedule:\n  cron: \"0 9 * * *\"\n  timezone: Asia/Ho_Chi_Minh\n  catch_up: 30m\n{extra}"
    )
}

fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

/// Messages per (page, recipient) the sandbox received.
fn per_recipient(sb: &Sandbox) -> HashMap<(String, String), usize> {
    let mut seen = HashMap::new();
    for r in sb.requests() {
        *seen.entry((r["page"].as_str().unwrap().into(), r["recipient"].as_str().unwrap().into())).or_default() += 1;
    }
    seen
}

fn wait_for_requests(sb: &Sandbox, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.requests().len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn two_hosts_ticking_the_same_crontab_send_each_recipient_once() {
    let Some(db) = Db::create() else { return };
    let sb = Sandbox::start(&json!({"latency_ms": 20}));
    let refs = ids(40);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    // Two hosts: each its own workspace (campaign files, reports), one ledger.
    let hosts = [Workspace::new(), Workspace::new()];
    for ws in &hosts {
        ws.write("campaigns/a.yaml", &scheduled("camp-a", PAGE, &refs, ""));
        ws.write("campaigns/b.yaml", &scheduled("camp-b", "600000000000001", &refs, ""));
    }
    let mut children: Vec<_> = hosts
        .iter()
        .map(|ws| {
            ws.pagecast(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"])
                .env("T", "tok")
                .env("PAGECAST_STATE", &db.url)
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<_> = children.iter_mut().map(|c| c.wait().unwrap().code()).collect();
    assert_eq!(codes, [Some(0), Some(0)]);
    let seen = per_recipient(&sb);
    assert_eq!(seen.len(), 80, "both campaigns reached everyone");
    assert!(seen.values().all(|c| *c == 1), "a recipient got two messages: {seen:?}");
    assert_eq!(db.count("SELECT COUNT(*) FROM runs"), 2, "each fire was run once in all");
    assert_eq!(db.count("SELECT COUNT(*) FROM fires WHERE status = 'finished'"), 2);

    // A later tick on either host finds the fires handled.
    let again = hosts[1].run(
        Some(&sb),
        &["tick", "campaigns", "--now", "2026-11-22T02:10:00Z"],
        &[("T", "tok"), ("PAGECAST_STATE", &db.url)],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(sb.requests().len(), 80);
}

#[test]
fn a_host_killed_mid_send_is_taken_over_by_another_within_catch_up() {
    let Some(db) = Db::create() else { return };
    let sb = Sandbox::start(&json!({"latency_ms": 30}));
    let refs = ids(120);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let campaign = scheduled("resume", PAGE, &refs, "send: { concurrency: 4 }\n");
    let (host_a, host_b) = (Workspace::new(), Workspace::new());
    host_a.write("campaigns/resume.yaml", &campaign);
    host_b.write("campaigns/resume.yaml", &campaign);
    let mut first = host_a
        .pagecast(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"])
        .env("T", "tok")
        .env("PAGECAST_STATE", &db.url)
        .spawn()
        .unwrap();
    wait_for_requests(&sb, 20);
    // While host A holds the campaign, host B passes over it.
    let passed = host_b.run(
        Some(&sb),
        &["tick", "campaigns", "--now", "2026-11-22T02:05:30Z"],
        &[("T", "tok"), ("PAGECAST_STATE", &db.url)],
    );
    assert_eq!(passed.status.code(), Some(0), "{}", text(&passed));
    first.kill().unwrap(); // SIGKILL: the occurrence stays "started", the session dies
    first.wait().unwrap();
    let reached = sb.requests().len();
    assert!(reached < 120, "killed mid-run ({reached} requests)");
    assert!(per_recipient(&sb).values().all(|c| *c == 1), "host B sent while A held the lock");
    // The server ends the dead host's sessions (and with them its lock).
    db.wait_sessions_gone();

    let second = host_b.run(
        Some(&sb),
        &["tick", "campaigns", "--now", "2026-11-22T02:10:00Z"],
        &[("T", "tok"), ("PAGECAST_STATE", &db.url)],
    );
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let seen = per_recipient(&sb);
    assert!(seen.values().all(|c| *c == 1), "a recipient got two messages");
    let report = host_b.report("resume", "2026-11-22T02:00:00Z");
    let unknown = report["skipped_by_reason"]["unknown_previous"].as_u64().unwrap_or(0);
    assert!(unknown <= 4 + 64, "{unknown} unknown after kill -9");
    assert_eq!(
        report["summary"]["sent"].as_u64().unwrap()
            + report["skipped_by_reason"]["already_sent"].as_u64().unwrap_or(0)
            + unknown,
        120,
        "everyone is sent, already sent, or in doubt"
    );
    assert_eq!(seen.len() as u64, report["summary"]["sent"].as_u64().unwrap() + reached as u64);

    // `status` from either host shows the shared ledger, never a password.
    let status = host_a.run(None, &["status", "resume"], &[("PAGECAST_STATE", &db.url)]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert!(text(&status).contains("2026-11-22T02:00:00Z"), "{}", text(&status));
}

#[test]
fn a_database_cut_mid_run_stops_the_run_and_loses_nothing() {
    let Some(db) = Db::create() else { return };
    let sb = Sandbox::start(&json!({"latency_ms": 30}));
    let refs = ids(150);
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("cut", PAGE, "T", &refs, "send: { concurrency: 4 }\n"));
    let env = [("T", "tok"), ("PAGECAST_STATE", db.url.as_str())];
    let mut child = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]).envs(env).spawn().unwrap();
    wait_for_requests(&sb, 20);
    assert!(db.terminate_sessions() >= 3, "reader, writer and lock sessions");
    let code = child.wait().unwrap().code();
    let reached = sb.requests().len();
    assert!(reached < 150, "the run stopped ({reached} requests)");
    assert!(code.is_some_and(|c| c >= 3), "a run that lost its ledger ended {code:?}");

    // Rerun: what the first run sent or had in flight is never sent again.
    let second = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &env);
    assert!(matches!(second.status.code(), Some(0 | 1)), "{}", text(&second));
    let seen = per_recipient(&sb);
    assert!(seen.values().all(|c| *c == 1), "a recipient got two messages");
    assert_eq!(seen.len(), sb.requests().len());
    let report = ws.report("cut", "default");
    let unknown = report["skipped_by_reason"]["unknown_previous"].as_u64().unwrap_or(0);
    let already = report["skipped_by_reason"]["already_sent"].as_u64().unwrap_or(0);
    assert_eq!(already + unknown, reached as u64, "each recipient reached by the cut run is sent or in doubt");
    assert_eq!(report["summary"]["sent"].as_u64().unwrap() + already + unknown, 150);
}

#[test]
fn a_refused_connection_at_start_sends_nothing_and_hides_the_password() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("refused", PAGE, "T", &["1", "2"], ""));
    let url = "postgres://agency:hunter2secret@127.0.0.1:1/ledger";
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok"), ("PAGECAST_STATE", url)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(sb.requests().is_empty(), "nothing may be sent without a ledger");
    let all = text(&out);
    assert!(all.contains("127.0.0.1:1/ledger"), "{all}");
    assert!(!all.contains("hunter2secret"), "{all}");
    let tick = ws.run(Some(&sb), &["status"], &[("PAGECAST_STATE", url)]);
    assert_eq!(tick.status.code(), Some(2), "{}", text(&tick));
    assert!(!text(&tick).contains("hunter2secret"), "{}", text(&tick));
}
