//! The writer thread: every intent and outcome goes through one connection on
//! one thread, which commits whatever has queued up in one transaction.
//!
//! Group commit falls out of the loop: while a commit's fsync runs, new
//! intents queue; the next transaction takes all of them. An idle writer
//! commits a lone intent at once, so latency stays one fsync, and a busy one
//! pays one fsync for many intents.
//!
//! Outcomes need not wait for the disk, so `outcome()` only queues; the writer
//! commits them with the next intent, or when 64 are waiting, or 20 ms after
//! the first of them arrived. Messages are applied in the order they were
//! queued, so once a worker's next `intent()` resolves, its previous outcome
//! is durable as well. Together this bounds what a kill -9 can leave
//! `unknown`: per worker, at most the one recipient in flight (its intent
//! durable, its outcome not), plus fewer than 64 queued outcomes once the
//! workers stop claiming.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::runs::optional_text;
use super::schema::{self, ts};
use super::{LedgerError, OutcomeRecord};
use crate::vocab::Outcome;

/// Commit once this many outcomes wait, even without an intent.
const OUTCOME_BATCH: usize = 64;
/// Commit outcomes at the latest this long after the first of them arrived.
const OUTCOME_DELAY: Duration = Duration::from_millis(20);
/// Upper bound on one transaction, so a flood of messages cannot delay the
/// waiting intents without end.
const MAX_BATCH: usize = 4096;

/// Records a claim; a key claimed before is claimed again (a
/// `--resend-unknown` resend): its outcome is cleared and `claims` counts up.
/// A key whose outcome is `sent` or `failed` is never claimed again, whatever
/// the caller thinks: that is the last guard of "at most one message".
pub(super) const CLAIM_SQL: &str = "
INSERT INTO sends (campaign, occurrence, page, recipient, run_id, intent_at, claims)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
ON CONFLICT (campaign, occurrence, page, recipient) DO UPDATE SET
    run_id = excluded.run_id, intent_at = excluded.intent_at, claims = sends.claims + 1,
    outcome = NULL, reason = NULL, error_code = NULL, error_subcode = NULL,
    error_message = NULL, message_id = NULL, attempts = NULL, outcome_at = NULL
WHERE sends.outcome IS NULL OR sends.outcome NOT IN ('sent', 'failed')";

/// Records an outcome. It applies to a row this run claimed or to a row no
/// run claimed (a skip record). Another run's claim is never overwritten, so
/// a later run that skips a recipient as `already_sent` or `unknown_previous`
/// cannot erase what the earlier run recorded.
pub(super) const OUTCOME_SQL: &str = "
INSERT INTO sends (campaign, occurrence, page, recipient, run_id, outcome, reason, error_code,
                   error_subcode, error_message, message_id, attempts, outcome_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
ON CONFLICT (campaign, occurrence, page, recipient) DO UPDATE SET
    run_id = excluded.run_id, outcome = excluded.outcome, reason = excluded.reason,
    error_code = excluded.error_code, error_subcode = excluded.error_subcode,
    error_message = excluded.error_message, message_id = excluded.message_id,
    attempts = excluded.attempts, outcome_at = excluded.outcome_at
WHERE sends.intent_at IS NULL OR sends.run_id = excluded.run_id";

pub(super) type Reply = oneshot::Sender<Result<(), LedgerError>>;

/// The key and time of one claim.
pub(super) struct Claim {
    pub(super) campaign: String,
    pub(super) occurrence: String,
    pub(super) page: String,
    pub(super) recipient: String,
    pub(super) run_id: i64,
    pub(super) at: DateTime<Utc>,
}

pub(super) enum Msg {
    Intent(Claim, Reply),
    Outcome(Box<OutcomeRecord>),
    Flush(Reply),
}

/// A handle to the ledger's writer thread; clone it freely (each worker of
/// the sender can hold one). The thread stops once every handle is dropped
/// and the queue is drained.
#[derive(Clone)]
pub struct LedgerWriter {
    tx: Sender<Msg>,
    path: Arc<PathBuf>,
}

/// What commits a batch: one connection of one backend, owned by the
/// writer thread.
pub(super) trait BatchWrite {
    /// Writes `batch` in one transaction: `Err` when the transaction failed,
    /// else one refusal (or none) per message.
    fn write(&mut self, batch: &[Msg]) -> BatchResult;
}

/// Opens a backend's connection on the writer thread.
pub(super) type Connect = Box<dyn FnOnce() -> Result<Box<dyn BatchWrite>, LedgerError> + Send>;

struct SqliteWrite {
    conn: Connection,
    path: PathBuf,
}

impl BatchWrite for SqliteWrite {
    fn write(&mut self, batch: &[Msg]) -> BatchResult {
        write(&mut self.conn, &self.path, batch)
    }
}

impl LedgerWriter {
    /// Starts a writer thread with its own connection to `path`.
    pub(crate) fn spawn(path: PathBuf) -> LedgerWriter {
        let thread_path = path.clone();
        let connect: Connect = Box::new(move || {
            let conn = schema::connect(&thread_path)?;
            Ok(Box::new(SqliteWrite { conn, path: thread_path }) as Box<dyn BatchWrite>)
        });
        LedgerWriter::spawn_with(path, connect)
    }

    /// Starts a writer thread that commits through what `connect` opens;
    /// `label` names the ledger in errors (a file, or a redacted URL).
    pub(super) fn spawn_with(label: PathBuf, connect: Connect) -> LedgerWriter {
        let path = label;
        let (tx, rx) = channel();
        let spawned = std::thread::Builder::new().name("pagecast-ledger".into()).spawn(move || run(connect, rx));
        // If the thread cannot start, the receiver is gone and every call
        // answers `WriterGone`: nothing can be claimed, so nothing is sent.
        if let Err(e) = spawned {
            tracing::error!("cannot start the ledger writer thread: {e}");
        }
        LedgerWriter { tx, path: Arc::new(path) }
    }

    /// Records that a request to this recipient is about to leave, and
    /// resolves once that is durable (committed with `synchronous=FULL`).
    /// Concurrent calls share one transaction (group commit).
    ///
    /// Re-claiming a key that already has an intent (a `--resend-unknown`
    /// resend) overwrites it: its outcome is cleared and its `claims` counter
    /// incremented. A key whose outcome is `sent` or `failed` is refused with
    /// [`LedgerError::AlreadyFinal`]. Send only after `Ok(())`.
    pub async fn intent(
        &self,
        campaign: &str,
        occurrence: &str,
        page: &str,
        recipient: &str,
        run_id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let claim = Claim {
            campaign: campaign.to_string(),
            occurrence: occurrence.to_string(),
            page: page.to_string(),
            recipient: recipient.to_string(),
            run_id,
            at,
        };
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Intent(claim, reply))?;
        answer.await.map_err(|_| self.gone())?
    }

    /// Queues an outcome; it is committed with the next intent, when 64 are
    /// queued, or within about 20 ms. Never blocks. A write error shows in the
    /// next [`flush`](Self::flush).
    pub fn outcome(&self, record: OutcomeRecord) {
        // A closed queue is reported by `flush`.
        let _ = self.tx.send(Msg::Outcome(Box::new(record)));
    }

    /// Waits until everything queued before it is committed. Returns the
    /// first write error this writer has seen, if any (errors stay reported:
    /// once a write failed, the run cannot claim to be fully recorded).
    /// Call it before a run ends; outcomes still queued when the process
    /// exits are lost (and read as `unknown` next time).
    pub async fn flush(&self) -> Result<(), LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.send(Msg::Flush(reply))?;
        answer.await.map_err(|_| self.gone())?
    }

    fn send(&self, msg: Msg) -> Result<(), LedgerError> {
        self.tx.send(msg).map_err(|_| self.gone())
    }

    fn gone(&self) -> LedgerError {
        LedgerError::WriterGone { path: self.path.to_path_buf() }
    }
}

/// The thread's body: take a batch, commit it, answer its waiters.
fn run(connect: Connect, rx: Receiver<Msg>) {
    let mut conn = match connect() {
        Ok(conn) => conn,
        Err(e) => return refuse_all(&rx, &e),
    };
    let mut first_error: Option<LedgerError> = None;
    while let Some(batch) = next_batch(&rx) {
        let results = conn.write(&batch);
        answer(batch, results, &mut first_error);
    }
}

/// Without a connection, every waiter learns why.
fn refuse_all(rx: &Receiver<Msg>, err: &LedgerError) {
    tracing::error!("{err}");
    for msg in rx {
        if let Msg::Intent(_, reply) | Msg::Flush(reply) = msg {
            let _ = reply.send(Err(err.clone()));
        }
    }
}

/// Blocks for the first message, then takes what else is queued. A batch of
/// outcomes alone waits (up to [`OUTCOME_DELAY`]) for company.
fn next_batch(rx: &Receiver<Msg>) -> Option<Vec<Msg>> {
    let mut batch = vec![rx.recv().ok()?];
    let started = Instant::now();
    loop {
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        let outcomes_only = batch.iter().all(|m| matches!(m, Msg::Outcome(_)));
        if !outcomes_only || batch.len() >= OUTCOME_BATCH {
            return Some(batch);
        }
        let Some(left) = OUTCOME_DELAY.checked_sub(started.elapsed()) else {
            return Some(batch);
        };
        match rx.recv_timeout(left) {
            Ok(msg) => batch.push(msg),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                return Some(batch);
            }
        }
    }
}

/// One result per message: `Err` of the whole batch when the transaction
/// failed, else the refusal of a single claim or outcome, if any.
pub(super) type BatchResult = Result<Vec<Option<LedgerError>>, LedgerError>;

fn write(conn: &mut Connection, path: &Path, batch: &[Msg]) -> BatchResult {
    let err = |e| LedgerError::sql(path, e);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
    let mut results = Vec::with_capacity(batch.len());
    for msg in batch {
        let result = match msg {
            Msg::Intent(claim, _) => write_claim(&tx, claim).map_err(err)?,
            Msg::Outcome(record) => write_outcome(&tx, record).map_err(err)?,
            Msg::Flush(_) => None,
        };
        results.push(result);
    }
    tx.commit().map_err(err)?;
    Ok(results)
}

fn write_claim(tx: &Transaction, c: &Claim) -> rusqlite::Result<Option<LedgerError>> {
    let key = params![c.campaign, c.occurrence, c.page, c.recipient];
    let changed = tx.prepare_cached(CLAIM_SQL)?.execute(params![
        c.campaign,
        c.occurrence,
        c.page,
        c.recipient,
        c.run_id,
        ts(c.at)
    ])?;
    if changed > 0 {
        return Ok(None);
    }
    let outcome = optional_text(
        tx,
        "SELECT outcome FROM sends
         WHERE campaign = ?1 AND occurrence = ?2 AND page = ?3 AND recipient = ?4",
        key,
    )?;
    Ok(Some(LedgerError::AlreadyFinal {
        campaign: c.campaign.clone(),
        occurrence: c.occurrence.clone(),
        page: c.page.clone(),
        recipient: c.recipient.clone(),
        outcome: outcome.unwrap_or_default(),
    }))
}

fn write_outcome(tx: &Transaction, r: &OutcomeRecord) -> rusqlite::Result<Option<LedgerError>> {
    let record = &r.record;
    if record.outcome == Outcome::Planned {
        return Ok(Some(LedgerError::InvalidOutcome {
            page: r.page.clone(),
            recipient: r.recipient.clone(),
            outcome: record.outcome.as_str().to_string(),
        }));
    }
    tx.prepare_cached(OUTCOME_SQL)?.execute(params![
        r.campaign,
        r.occurrence,
        r.page,
        r.recipient,
        r.run_id,
        record.outcome.as_str(),
        record.reason.map(|reason| reason.as_str()),
        record.error.code,
        record.error.subcode,
        record.error.message,
        record.message_id,
        record.attempts,
        ts(record.at)
    ])?;
    Ok(None)
}

/// Answers each waiter of a batch. Claims get their own result; a flush gets
/// the first error seen so far, which a failed outcome also sets.
fn answer(batch: Vec<Msg>, results: BatchResult, first_error: &mut Option<LedgerError>) {
    let results = match results {
        Ok(results) => results,
        Err(e) => {
            tracing::error!("{e}");
            first_error.get_or_insert_with(|| e.clone());
            vec![Some(e); batch.len()]
        }
    };
    for (msg, result) in batch.into_iter().zip(results) {
        match msg {
            Msg::Intent(_, reply) => {
                let _ = reply.send(result.map_or(Ok(()), Err));
            }
            Msg::Outcome(_) => {
                if let Some(e) = result {
                    first_error.get_or_insert(e);
                }
            }
            Msg::Flush(reply) => {
                let _ = reply.send(first_error.clone().map_or(Ok(()), Err));
            }
        }
    }
}
