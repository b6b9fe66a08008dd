//! Ledger tests: claims and outcomes, group commit, locks, damage, fires.
//!
//! Every test of the ledger's behaviour runs against both backends (`both!`):
//! SQLite in a temporary directory, and PostgreSQL in a fresh schema of the
//! database named by `PAGECAST_TEST_DATABASE_URL` (without it, the
//! PostgreSQL half prints that it was not run and passes). Tests of the
//! SQLite file itself (damage, permissions, its migration) run on SQLite.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use tempfile::TempDir;

use super::*;

const C: &str = "camp";
const OCC: &str = "default";

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Sqlite,
    Postgres,
}

/// Where a test's ledger lives; dropping it removes it.
enum Guard {
    Dir(TempDir),
    Schema(PgSchema),
}

impl Guard {
    /// What `--state` would be.
    fn location(&self) -> PathBuf {
        match self {
            Guard::Dir(d) => d.path().to_path_buf(),
            Guard::Schema(s) => PathBuf::from(&s.url),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            Guard::Dir(_) => Kind::Sqlite,
            Guard::Schema(_) => Kind::Postgres,
        }
    }
}

/// A fresh schema in the test database, dropped afterwards.
pub(crate) struct PgSchema {
    pub(crate) url: String,
    base: String,
    name: String,
}

/// Runs `f` with a new connection to `url` on a plain thread (the
/// `postgres` crate must not run inside tokio).
fn on_pg<T: Send + 'static>(url: &str, f: impl FnOnce(&mut ::postgres::Client) -> T + Send + 'static) -> T {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect to the test database");
        f(&mut client)
    })
    .join()
    .expect("the database thread panicked")
}

impl PgSchema {
    /// A new schema, or `None` (with a note) without `PAGECAST_TEST_DATABASE_URL`.
    pub(crate) fn create() -> Option<PgSchema> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let Some(base) = std::env::var("PAGECAST_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
            eprintln!("PAGECAST_TEST_DATABASE_URL is not set: the PostgreSQL half of this test was not run");
            return None;
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("t_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let sql = format!("CREATE SCHEMA {name}");
        on_pg(&base, move |c| c.batch_execute(&sql).expect("create a test schema"));
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}&application_name=pagecast_{name}");
        Some(PgSchema { url, base, name })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        let base = self.base.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = ::postgres::Client::connect(&base, ::postgres::NoTls) {
                let _ = c.batch_execute(&sql);
            }
        })
        .join();
    }
}

fn fresh(kind: Kind) -> Option<(Guard, Ledger)> {
    let guard = match kind {
        Kind::Sqlite => Guard::Dir(TempDir::new().unwrap()),
        Kind::Postgres => Guard::Schema(PgSchema::create()?),
    };
    let ledger = Ledger::open(&guard.location()).unwrap();
    Some((guard, ledger))
}

fn fresh_sqlite() -> (TempDir, Ledger) {
    let dir = TempDir::new().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    (dir, ledger)
}

/// Declares a test body `async fn(Guard, Ledger)` run once per backend.
macro_rules! both {
    (async fn $name:ident($g:ident, $ledger:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_variables)]
            async fn body($g: Guard, $ledger: Ledger) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let (g, l) = fresh(Kind::Sqlite).unwrap();
                body(g, l).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some((g, l)) = fresh(Kind::Postgres) else { return };
                body(g, l).await
            }
        }
    };
}

fn record(run_id: i64, recipient: &str, outcome: &str) -> OutcomeRecord {
    use crate::vocab::{ApiError, Job, Outcome, Record};
    let outcome = match outcome {
        "sent" => Outcome::Sent,
        "failed" => Outcome::Failed,
        "unknown" => Outcome::Unknown,
        "not_attempted" => Outcome::NotAttempted,
        "skipped" => Outcome::Skipped,
        _ => Outcome::Planned,
    };
    let record = Record {
        job: Job { page: 0, person: 0 },
        outcome,
        reason: None,
        error: ApiError::default(),
        message_id: (outcome == Outcome::Sent).then(|| format!("m_{recipient}")),
        attempts: 1,
        at: t(1),
    };
    OutcomeRecord {
        campaign: C.into(),
        occurrence: OCC.into(),
        page: "p1".into(),
        recipient: recipient.into(),
        run_id,
        record,
    }
}

fn prior_of(ledger: &Ledger, recipient: &str) -> Option<Prior> {
    ledger.prior(C, OCC).unwrap().get(&("p1".to_string(), recipient.to_string())).copied()
}

/// A separate connection, as another process would see the ledger.
fn raw_count(g: &Guard, sql: &str) -> i64 {
    match g {
        Guard::Dir(d) => Connection::open(d.path().join(DB_FILE)).unwrap().query_row(sql, [], |r| r.get(0)).unwrap(),
        Guard::Schema(s) => {
            let sql = sql.to_string();
            on_pg(&s.url, move |c| c.query_one(&sql, &[]).unwrap().get(0))
        }
    }
}

both! {
    async fn intent_without_outcome_is_unknown(g, ledger) {
        let run = ledger.start_run(C, OCC, t(0)).unwrap();
        ledger.writer().intent(C, OCC, "p1", "r1", run, t(0)).await.unwrap();
        assert_eq!(prior_of(&ledger, "r1"), Some(Prior::Unknown));
        // Durable before the call returned: another connection sees it.
        assert_eq!(raw_count(&g, "SELECT COUNT(*) FROM sends WHERE intent_at IS NOT NULL"), 1);
    }
}

both! {
    async fn outcomes_map_to_priors(g, ledger) {
        let run = ledger.start_run(C, OCC, t(0)).unwrap();
        let w = ledger.writer();
        for (r, outcome) in [("a", "sent"), ("b", "failed"), ("c", "unknown"), ("d", "not_attempted"), ("e", "skipped")] {
            w.intent(C, OCC, "p1", r, run, t(0)).await.unwrap();
            w.outcome(record(run, r, outcome));
        }
        w.outcome(record(run, "f", "skipped")); // skipped without an intent
        w.flush().await.unwrap();
        let expect = [
            ("a", Some(Prior::Sent)),
            ("b", Some(Prior::Failed)),
            ("c", Some(Prior::Unknown)),
            ("d", None),
            ("e", None),
            ("f", None),
        ];
        for (r, prior) in expect {
            assert_eq!(prior_of(&ledger, r), prior, "recipient {r}");
        }
        assert!(ledger.prior(C, "other").unwrap().is_empty());
    }
}

both! {
    async fn resend_overwrites_an_unknown_claim(g, ledger) {
        let w = ledger.writer();
        let run1 = ledger.start_run(C, OCC, t(0)).unwrap();
        w.intent(C, OCC, "p1", "r1", run1, t(0)).await.unwrap();
        // Crash: no outcome. A later run with --resend-unknown claims again.
        let run2 = ledger.start_run(C, OCC, t(10)).unwrap();
        w.intent(C, OCC, "p1", "r1", run2, t(10)).await.unwrap();
        assert_eq!(raw_count(&g, "SELECT claims FROM sends"), 2);
        assert_eq!(prior_of(&ledger, "r1"), Some(Prior::Unknown));
        w.outcome(record(run2, "r1", "sent"));
        w.flush().await.unwrap();
        assert_eq!(prior_of(&ledger, "r1"), Some(Prior::Sent));
        assert_eq!(raw_count(&g, "SELECT run_id FROM sends"), run2);
    }
}

both! {
    async fn a_final_outcome_is_never_claimed_again(g, ledger) {
        let w = ledger.writer();
        let run = ledger.start_run(C, OCC, t(0)).unwrap();
        w.intent(C, OCC, "p1", "r1", run, t(0)).await.unwrap();
        w.outcome(record(run, "r1", "sent"));
        let err = w.intent(C, OCC, "p1", "r1", run, t(1)).await.unwrap_err();
        assert!(matches!(&err, LedgerError::AlreadyFinal { outcome, .. } if outcome == "sent"), "{err}");
        assert!(err.to_string().contains("would send twice"), "{err}");
        assert_eq!(prior_of(&ledger, "r1"), Some(Prior::Sent));
        w.flush().await.unwrap();
    }
}

both! {
    async fn a_later_skip_does_not_erase_an_earlier_claim(g, ledger) {
        let w = ledger.writer();
        let run1 = ledger.start_run(C, OCC, t(0)).unwrap();
        w.intent(C, OCC, "p1", "sent", run1, t(0)).await.unwrap();
        w.outcome(record(run1, "sent", "sent"));
        w.intent(C, OCC, "p1", "lost", run1, t(0)).await.unwrap();
        let run2 = ledger.start_run(C, OCC, t(10)).unwrap();
        w.outcome(record(run2, "sent", "skipped"));
        w.outcome(record(run2, "lost", "skipped"));
        w.flush().await.unwrap();
        assert_eq!(prior_of(&ledger, "sent"), Some(Prior::Sent));
        assert_eq!(prior_of(&ledger, "lost"), Some(Prior::Unknown));
    }
}

both! {
    async fn concurrent_intents_share_commits(g, ledger) {
        let run = ledger.start_run(C, OCC, t(0)).unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let w = ledger.writer();
                tokio::spawn(async move { w.intent(C, OCC, "p1", &format!("r{i}"), run, t(0)).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(raw_count(&g, "SELECT COUNT(*) FROM sends"), 200);
        assert_eq!(ledger.prior(C, OCC).unwrap().len(), 200);
    }
}

both! {
    async fn outcomes_are_batched_and_flushed(g, ledger) {
        let w = ledger.writer();
        let run = ledger.start_run(C, OCC, t(0)).unwrap();
        for i in 0..150 {
            w.outcome(record(run, &format!("r{i}"), "skipped"));
        }
        w.flush().await.unwrap();
        assert_eq!(raw_count(&g, "SELECT COUNT(*) FROM sends WHERE outcome = 'skipped'"), 150);
        // Without a flush, a few outcomes are committed within ~20 ms.
        for i in 0..5 {
            w.outcome(record(run, &format!("late{i}"), "skipped"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(raw_count(&g, "SELECT COUNT(*) FROM sends"), 155);
    }
}

both! {
    async fn an_invalid_outcome_is_reported_by_flush(g, ledger) {
        let w = ledger.writer();
        w.outcome(record(1, "r1", "delivered"));
        w.outcome(record(1, "r2", "sent"));
        let err = w.flush().await.unwrap_err();
        assert!(matches!(err, LedgerError::InvalidOutcome { .. }), "{err}");
        // The valid one in the same batch was still recorded.
        assert_eq!(prior_of(&ledger, "r2"), Some(Prior::Sent));
    }
}

both! {
    async fn the_lock_is_exclusive_per_campaign(g, ledger) {
        let held = ledger.lock("a").unwrap();
        // A second take of the lock (another lock file handle, another
        // PostgreSQL session), even in this process, is refused.
        let err = ledger.lock("a").unwrap_err();
        assert!(matches!(&err, LedgerError::Locked { campaign, .. } if campaign == "a"));
        let lock_name = if g.kind() == Kind::Sqlite { "a.lock" } else { "advisory lock of campaign `a`" };
        assert!(err.to_string().contains(lock_name), "{err}");
        let other = Ledger::open(&g.location()).unwrap();
        assert!(matches!(other.lock("a"), Err(LedgerError::Locked { .. })));
        let b = other.lock("b").unwrap();
        drop(held);
        let again = other.lock("a").unwrap();
        if g.kind() == Kind::Sqlite {
            assert!(err.to_string().contains(&format!("by PID {}", std::process::id())), "{err}");
            assert!(b.path().ends_with("locks/b.lock"));
            let pid = fs::read_to_string(again.path()).unwrap();
            assert_eq!(pid.trim(), std::process::id().to_string());
        }
        drop(again);
        // Released with the session: taken again at once.
        drop(ledger.lock("a").unwrap());
    }
}

fn corrupt_and_open(write: impl FnOnce(&Path)) -> LedgerError {
    let dir = TempDir::new().unwrap();
    {
        let ledger = Ledger::open(dir.path()).unwrap();
        ledger.start_run(C, OCC, t(0)).unwrap();
    }
    let db = dir.path().join(DB_FILE);
    write(&db);
    match Ledger::open(dir.path()).and_then(|l| l.prior(C, OCC)) {
        Ok(_) => panic!("a damaged ledger opened"),
        Err(e) => e,
    }
}

#[test]
fn a_garbage_file_is_corrupt() {
    let err = corrupt_and_open(|db| fs::write(db, vec![0x5a; 8192]).unwrap());
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(DB_FILE) && text.contains("move the file"), "{text}");
}

#[test]
fn a_damaged_page_is_corrupt() {
    // Keep the 100-byte header, overwrite the schema page behind it.
    let err = corrupt_and_open(|db| {
        let mut bytes = fs::read(db).unwrap();
        bytes[100..4096].fill(0xa5);
        fs::write(db, bytes).unwrap();
    });
    assert!(matches!(err, LedgerError::Corrupt { .. }), "{err}");
}

#[test]
fn an_unusable_state_dir_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let state = file.path().join("state");
    let Err(err) = Ledger::open(&state) else { panic!("opened a ledger under a file") };
    assert!(matches!(err, LedgerError::Open { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&state.display().to_string()), "{text}");
    assert!(text.contains("--state DIR") && text.contains("PAGECAST_STATE"), "{text}");
}

#[test]
fn open_existing_creates_nothing() {
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state");
    assert!(Ledger::open_existing(&state).unwrap().is_none());
    assert!(!state.exists());
    Ledger::open(&state).unwrap();
    assert!(Ledger::open_existing(&state).unwrap().is_some());
}

#[test]
fn the_schema_is_versioned() {
    let (dir, ledger) = fresh_sqlite();
    let user_version: i64 =
        Connection::open(ledger.path()).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(user_version, schema::LATEST);
    assert_eq!(schema::LATEST, 2);
    drop(ledger);
    Ledger::open(dir.path()).unwrap(); // reopening an up-to-date file is a no-op
    let db = dir.path().join(DB_FILE);
    Connection::open(&db).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let Err(err) = Ledger::open(dir.path()) else { panic!("opened a newer ledger") };
    assert!(matches!(err, LedgerError::TooNew { found: 99, supported: 2, .. }), "{err}");
    assert!(err.to_string().contains("upgrade pagecast"), "{err}");
}

#[test]
fn an_existing_file_without_the_schema_is_refused_not_initialised() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join(DB_FILE);
    fs::write(&db, b"").unwrap();
    let Err(err) = Ledger::open(dir.path()) else { panic!("an empty file was taken for a new ledger") };
    assert!(matches!(err, LedgerError::NotALedger { .. }), "{err}");
    assert_eq!(fs::metadata(&db).unwrap().len(), 0, "the file was left as it was");
    // Another program's SQLite database likewise.
    fs::remove_file(&db).unwrap();
    Connection::open(&db).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    assert!(matches!(Ledger::open(dir.path()), Err(LedgerError::NotALedger { .. })));
}

#[test]
fn a_new_ledger_is_private_and_leaves_no_temporary_file() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _ledger) = fresh_sqlite();
    let mode = fs::metadata(dir.path().join(DB_FILE)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let names: Vec<String> =
        fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains("creating")), "{names:?}");
}

#[test]
fn version_1_fires_survive_the_migration_and_pending_fires_are_not_handled() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join(DB_FILE);
    {
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(schema::V1).unwrap();
        conn.execute(
            "INSERT INTO fires (campaign, fire, status, recorded_at) VALUES (?1, ?2, 'finished', ?2)",
            [C, &schema::ts(t(0))],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let ledger = Ledger::open(dir.path()).unwrap();
    assert_eq!(ledger.last_handled_fire(C).unwrap(), Some(t(0)));
    ledger.record_fires(C, &[t(60)], FireStatus::Pending, Some("no token"), t(61)).unwrap();
    assert_eq!(ledger.last_handled_fire(C).unwrap(), Some(t(0)), "a pending fire is not handled");
    ledger.record_fires(C, &[t(60)], FireStatus::Missed, None, t(62)).unwrap();
    let troubled = ledger.troubled_fires(C, 10).unwrap();
    assert_eq!(troubled.len(), 1);
    assert_eq!((troubled[0].status, troubled[0].reason.as_deref()), ("missed", Some("no token")));
}

both! {
    async fn fires_are_recorded_idempotently(g, ledger) {
        assert_eq!(ledger.last_handled_fire(C).unwrap(), None);
        let (f1, f2, f3) = (t(0), t(3600), t(7200));
        ledger.record_fires(C, &[f1, f2], FireStatus::Missed, None, t(7300)).unwrap();
        ledger.record_fires(C, &[f1, f2], FireStatus::Missed, None, t(7301)).unwrap();
        assert_eq!(ledger.missed_count(C).unwrap(), 2);
        ledger.record_fires(C, &[f3], FireStatus::Started, None, t(7300)).unwrap();
        assert_eq!(ledger.last_handled_fire(C).unwrap(), Some(f3));
        assert_eq!(ledger.unfinished_fire(C).unwrap(), Some(f3));
        // Repeats are no-ops; a finished fire never goes back.
        ledger.record_fires(C, &[f3], FireStatus::Started, None, t(7400)).unwrap();
        ledger.record_fires(C, &[f3], FireStatus::Finished, None, t(7500)).unwrap();
        ledger.record_fires(C, &[f3], FireStatus::Started, None, t(7600)).unwrap();
        ledger.record_fires(C, &[f3], FireStatus::Missed, None, t(7600)).unwrap();
        assert_eq!(ledger.unfinished_fire(C).unwrap(), None);
        assert_eq!(ledger.missed_count(C).unwrap(), 2);
        assert_eq!(ledger.last_handled_fire("other").unwrap(), None);
    }
}

both! {
    async fn missed_gives_up_an_unfinished_fire(g, ledger) {
        ledger.record_fires(C, &[t(0)], FireStatus::Started, None, t(1)).unwrap();
        ledger.record_fires(C, &[t(0)], FireStatus::Missed, None, t(100_000)).unwrap();
        assert_eq!(ledger.unfinished_fire(C).unwrap(), None);
        assert_eq!(ledger.missed_count(C).unwrap(), 1);
        assert_eq!(ledger.last_handled_fire(C).unwrap(), Some(t(0)));
    }
}

both! {
    async fn status_counts_per_occurrence(g, ledger) {
        let w = ledger.writer();
        let run1 = ledger.start_run(C, OCC, t(0)).unwrap();
        for (r, outcome) in [("a", "sent"), ("b", "failed"), ("c", "skipped")] {
            w.intent(C, OCC, "p1", r, run1, t(0)).await.unwrap();
            w.outcome(record(run1, r, outcome));
        }
        w.intent(C, OCC, "p1", "d", run1, t(0)).await.unwrap(); // crashed
        w.flush().await.unwrap();
        let run2 = ledger.start_run(C, OCC, t(100)).unwrap();
        ledger.finish_run(run2, t(200), 1, "{}").unwrap();
        let run3 = ledger.start_run("other", "x", t(50)).unwrap();
        ledger.finish_run(run3, t(60), 0, "{}").unwrap();
        assert!(ledger.finish_run(999, t(0), 0, "{}").is_err());

        let all = ledger.status(None).unwrap();
        assert_eq!(all.len(), 2);
        let s = &all[0]; // newest first
        assert_eq!((s.campaign.as_str(), s.runs, s.last_exit_code), (C, 2, Some(1)));
        assert_eq!((s.first_started_at, s.last_finished_at), (t(0), Some(t(200))));
        let expect = OutcomeCounts { sent: 1, failed: 1, unknown: 1, not_attempted: 0, skipped: 1 };
        assert_eq!(s.counts, expect);
        let other = ledger.status(Some("other")).unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].counts, OutcomeCounts::default());
        assert_eq!(other[0].last_exit_code, Some(0));
    }
}

#[test]
fn handles_are_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Ledger>();
    check::<LedgerWriter>();
    check::<LedgerError>();
}

/// By hand: `cargo test --release --lib ledger::tests::throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, run by hand"]
async fn throughput() {
    const TOTAL: usize = 20_000;
    const TASKS: usize = 64;
    let (dir, ledger) = fresh_sqlite();
    let g = Guard::Dir(dir);
    let run = ledger.start_run(C, OCC, t(0)).unwrap();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let w = ledger.writer();
            tokio::spawn(async move {
                for i in (task..TOTAL).step_by(TASKS) {
                    let r = format!("r{i}");
                    w.intent(C, OCC, "p1", &r, run, Utc::now()).await.unwrap();
                    w.outcome(record(run, &r, "sent"));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    ledger.writer().flush().await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let sent = raw_count(&g, "SELECT COUNT(*) FROM sends WHERE outcome = 'sent'");
    assert_eq!(sent, TOTAL as i64);
    println!("{TOTAL} intent+outcome pairs, {TASKS} tasks: {secs:.2} s, {:.0} pairs/s", TOTAL as f64 / secs);
}

both! {
    async fn pending_fires_are_not_handled_and_keep_their_reason(g, ledger) {
        ledger.record_fires(C, &[t(0)], FireStatus::Finished, None, t(1)).unwrap();
        ledger.record_fires(C, &[t(60)], FireStatus::Pending, Some("no token"), t(61)).unwrap();
        assert_eq!(ledger.last_handled_fire(C).unwrap(), Some(t(0)), "a pending fire is not handled");
        ledger.record_fires(C, &[t(60)], FireStatus::Missed, None, t(62)).unwrap();
        let troubled = ledger.troubled_fires(C, 10).unwrap();
        assert_eq!(troubled.len(), 1);
        assert_eq!((troubled[0].status, troubled[0].reason.as_deref()), ("missed", Some("no token")));
        assert_eq!(ledger.last_handled_fire(C).unwrap(), Some(t(60)));
    }
}

both! {
    async fn recipient_history_lists_every_occurrence(g, ledger) {
        let w = ledger.writer();
        let run = ledger.start_run(C, OCC, t(0)).unwrap();
        w.intent(C, OCC, "p1", "r1", run, t(0)).await.unwrap();
        w.outcome(record(run, "r1", "sent"));
        w.intent(C, "later", "p1", "r1", run, t(5)).await.unwrap();
        w.flush().await.unwrap();
        let history = ledger.recipient_history(C, "r1").unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!((history[0].occurrence.as_str(), history[0].outcome.as_str()), ("later", "unknown"));
        assert_eq!(history[1].message_id.as_deref(), Some("m_r1"));
        assert_eq!(ledger.open_count(C, OCC).unwrap(), 0);
    }
}

/// PostgreSQL: a schema without pagecast's tables is no ledger for readers;
/// opening creates version 1; a newer version is refused.
#[test]
fn postgres_schema_is_versioned_and_created_only_by_open() {
    let Some(schema) = PgSchema::create() else { return };
    let url = PathBuf::from(&schema.url);
    assert!(Ledger::open_existing(&url).unwrap().is_none(), "a reader created the tables");
    let ledger = Ledger::open(&url).unwrap();
    assert!(ledger.is_shared());
    assert!(Ledger::open_existing(&url).unwrap().is_some());
    let g = Guard::Schema(schema);
    assert_eq!(raw_count(&g, "SELECT version::bigint FROM pagecast_schema"), 1);
    let Guard::Schema(s) = &g else { unreachable!() };
    on_pg(&s.url, |c| c.batch_execute("UPDATE pagecast_schema SET version = 99").unwrap());
    let Err(err) = Ledger::open(&url) else { panic!("opened a newer ledger") };
    assert!(matches!(err, LedgerError::TooNew { found: 99, supported: 1, .. }), "{err}");
    assert!(err.to_string().contains("upgrade pagecast"), "{err}");
}

/// PostgreSQL: hosts opening a new database at once migrate one at a time.
#[test]
fn postgres_concurrent_opens_migrate_once() {
    let Some(schema) = PgSchema::create() else { return };
    let url = PathBuf::from(&schema.url);
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Ledger::open(&url).map(|_| ()))
        })
        .collect();
    for o in opened {
        o.join().unwrap().unwrap();
    }
    let g = Guard::Schema(schema);
    assert_eq!(raw_count(&g, "SELECT COUNT(*) FROM pagecast_schema"), 1);
}

/// A refused connection is a clear error naming host:port/db, never the
/// password (no server needed: nothing listens on port 1).
#[test]
fn postgres_refused_connection_names_the_server_not_the_password() {
    let url = PathBuf::from("postgres://agency:s3cr3t-pw@127.0.0.1:1/ledger");
    let Err(err) = Ledger::open(&url) else { panic!("connected to port 1") };
    let text = err.to_string();
    assert!(matches!(err, LedgerError::Server { .. }), "{text}");
    assert!(text.contains("postgres://agency@127.0.0.1:1/ledger"), "{text}");
    assert!(!text.contains("s3cr3t"), "{text}");
    let Err(err) = Ledger::open(Path::new("postgres://agency:s3cr3t-pw@127.0.0.1:notaport/x")) else { panic!() };
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

/// PostgreSQL: once the session holding the campaign's lock is gone (a
/// terminated backend), the writer claims nothing more for that campaign,
/// even though its own connection survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claims_stop_when_the_lock_session_is_lost() {
    let Some((g, ledger)) = fresh(Kind::Postgres) else { return };
    let lock = ledger.lock(C).unwrap();
    let run = ledger.start_run(C, OCC, t(0)).unwrap();
    let w = ledger.writer();
    w.intent(C, OCC, "p1", "r1", run, t(0)).await.unwrap();
    let pid = ledger.pg().unwrap().lock_pid(C).unwrap();
    let Guard::Schema(s) = &g else { unreachable!() };
    on_pg(&s.url, move |c| c.query_one("SELECT pg_terminate_backend($1)", &[&pid]).unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while raw_count(&g, &format!("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = {pid}")) > 0 {
        assert!(std::time::Instant::now() < deadline, "the backend never ended");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let err = w.intent(C, OCC, "p1", "r2", run, t(1)).await.unwrap_err();
    assert!(err.to_string().contains("lock ended"), "{err}");
    assert_eq!(prior_of(&ledger, "r2"), None, "nothing was claimed");
    // Another campaign, never locked here, is unaffected.
    w.intent("other", OCC, "p1", "r3", run, t(1)).await.unwrap();
    drop(lock);
}
