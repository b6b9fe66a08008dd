//! The PostgreSQL side of the writer thread: the SQLite writer's claim and
//! outcome statements, one transaction per batch (group commit).
//!
//! The writer never reconnects. When its connection is lost mid-run, the
//! batch fails: intents in it are refused, so their requests never leave
//! (the sender records them `not_attempted`), and the lost outcomes make the
//! run's final flush fail (exit 3); those recipients, claimed but without an
//! outcome, read as `unknown_previous` next time. An intent whose commit was
//! sent but not acknowledged may be durable: it then reads as unknown too,
//! never as free to send.

use std::collections::HashMap;

use ::postgres::{Client, Statement};

use super::HeldLocks;
use super::conn::{Target, db_error};
use crate::ledger::schema::ts;
use crate::ledger::writer::{BatchResult, BatchWrite, CLAIM_SQL, Msg, OUTCOME_SQL};
use crate::ledger::{LedgerError, OutcomeRecord};
use crate::vocab::Outcome;

/// The writer's connection and its prepared statements.
struct PgWrite {
    client: Client,
    claim: Statement,
    outcome: Statement,
    final_outcome: Statement,
    lock_alive: Statement,
    held: HeldLocks,
    label: String,
}

/// Opens the writer's connection (on the writer thread).
pub(super) fn connect(target: &Target, held: HeldLocks) -> Result<Box<dyn BatchWrite>, LedgerError> {
    let label = target.label().to_string();
    let mut client = target.connect()?;
    let err = |e: ::postgres::Error| db_error(&label, &e);
    let claim = client.prepare(&dollars(CLAIM_SQL)).map_err(err)?;
    let outcome = client.prepare(&dollars(OUTCOME_SQL)).map_err(err)?;
    let final_outcome = client
        .prepare("SELECT outcome FROM sends WHERE campaign = $1 AND occurrence = $2 AND page = $3 AND recipient = $4")
        .map_err(err)?;
    let lock_alive = client
        .prepare("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND granted)")
        .map_err(err)?;
    Ok(Box::new(PgWrite { client, claim, outcome, final_outcome, lock_alive, held, label }))
}

/// SQLite's `?N` placeholders as PostgreSQL's `$N` (the shared statements
/// hold no other `?`).
pub(super) fn dollars(sql: &str) -> String {
    sql.replace('?', "$")
}

impl BatchWrite for PgWrite {
    fn write(&mut self, batch: &[Msg]) -> BatchResult {
        let PgWrite { client, claim, outcome, final_outcome, lock_alive, held, label } = self;
        let err = |e: ::postgres::Error| db_error(label, &e);
        let mut tx = client.transaction().map_err(err)?;
        // Claims only while this process still holds the campaign's lock.
        let pids: HashMap<String, i32> = held.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut lost: HashMap<&str, bool> = HashMap::new();
        for msg in batch {
            if let Msg::Intent(c, _) = msg
                && let Some(pid) = pids.get(&c.campaign)
                && !lost.contains_key(c.campaign.as_str())
            {
                let alive: bool = tx.query_one(&*lock_alive, &[pid]).map_err(err)?.get(0);
                lost.insert(&c.campaign, !alive);
            }
        }
        let mut results = Vec::with_capacity(batch.len());
        for msg in batch {
            let result = match msg {
                Msg::Intent(c, _) if lost.get(c.campaign.as_str()) == Some(&true) => Some(LedgerError::Server {
                    target: label.clone(),
                    msg: format!(
                        "the session holding campaign `{}`'s lock ended, so another host may take it over; \
                         nothing more is claimed",
                        c.campaign
                    ),
                }),
                Msg::Intent(c, _) => {
                    let at = ts(c.at);
                    let changed = tx
                        .execute(&*claim, &[&c.campaign, &c.occurrence, &c.page, &c.recipient, &c.run_id, &at])
                        .map_err(err)?;
                    if changed > 0 {
                        None
                    } else {
                        let row = tx
                            .query_opt(&*final_outcome, &[&c.campaign, &c.occurrence, &c.page, &c.recipient])
                            .map_err(err)?;
                        let found: Option<String> = row.and_then(|r| r.get(0));
                        Some(LedgerError::AlreadyFinal {
                            campaign: c.campaign.clone(),
                            occurrence: c.occurrence.clone(),
                            page: c.page.clone(),
                            recipient: c.recipient.clone(),
                            outcome: found.unwrap_or_default(),
                        })
                    }
                }
                Msg::Outcome(r) => write_outcome(&mut tx, outcome, r).map_err(err)?,
                Msg::Flush(_) => None,
            };
            results.push(result);
        }
        tx.commit().map_err(err)?;
        Ok(results)
    }
}

fn write_outcome(
    tx: &mut ::postgres::Transaction,
    stmt: &Statement,
    r: &OutcomeRecord,
) -> Result<Option<LedgerError>, ::postgres::Error> {
    let record = &r.record;
    if record.outcome == Outcome::Planned {
        return Ok(Some(LedgerError::InvalidOutcome {
            page: r.page.clone(),
            recipient: r.recipient.clone(),
            outcome: record.outcome.as_str().to_string(),
        }));
    }
    let reason = record.reason.map(|reason| reason.as_str());
    let attempts = i64::from(record.attempts);
    tx.execute(
        stmt,
        &[
            &r.campaign,
            &r.occurrence,
            &r.page,
            &r.recipient,
            &r.run_id,
            &record.outcome.as_str(),
            &reason,
            &record.error.code,
            &record.error.subcode,
            &record.error.message,
            &record.message_id,
            &attempts,
            &ts(record.at),
        ],
    )?;
    Ok(None)
}
