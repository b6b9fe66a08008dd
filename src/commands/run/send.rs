//! Stage 3 of a run: record the plan's decisions, then send through the
//! pipeline with signals handled and progress shown.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Prepared, RunRequest};
use crate::commands::{Failure, progress, runtime};
use crate::ledger::Ledger;
use crate::ledger::journal::LedgerJournal;
use crate::plan::{Plan, Verdict};
use crate::send::client::Redactor;
use crate::send::pipeline::{self, Cancel, Context, SendSummary};
use crate::vocab::{Reason, Record, SkipReason};

/// What the send stage hands to settling.
pub struct Sent {
    /// The pipeline's summary.
    pub summary: SendSummary,
    /// The records of the plan's decisions that were not sent.
    pub planned: Vec<Record>,
    /// The run's id in the ledger.
    pub run_id: i64,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// The ledger could not record everything (the first error).
    pub ledger_error: Option<String>,
}

/// Records the plan's skips and holds, sends the rest, flushes the ledger.
pub fn send_stage(
    ledger: &Ledger,
    req: &RunRequest,
    prepared: &Prepared,
    plan: &Plan,
    started: DateTime<Utc>,
) -> Result<Sent, Failure> {
    let (campaign, audiences) = (&prepared.campaign, &prepared.audiences);
    let run_id = ledger.start_run(&campaign.id, &req.occurrence, started)?;
    let writer = ledger.writer();
    let journal =
        LedgerJournal::new(writer.clone(), campaign.clone(), audiences.clone(), &req.occurrence, run_id, req.clock);
    let planned = plan_records(plan, req.clock.wall());
    for record in planned.iter().filter(|r| !restates_ledger(r)) {
        journal.record(record);
    }
    let jobs = plan.jobs();
    tracing::info!(
        "{}: occurrence {}: {} to send, {} not sent",
        campaign.id,
        req.occurrence,
        jobs.len(),
        plan.decisions.len() - jobs.len()
    );

    let rt = runtime()?;
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(Cancel::Running);
    let progress: Vec<_> = campaign.pages.iter().map(|_| Arc::new(pipeline::Progress::default())).collect();
    let ctx = Arc::new(Context {
        campaign: campaign.clone(),
        audiences: audiences.clone(),
        client: prepared.client.clone(),
        redactor: Redactor::new(prepared.tokens.iter().cloned()),
        tokens: prepared.tokens.clone(),
        journal,
        clock: req.clock,
        cancel: cancel_rx,
        progress: progress.clone(),
    });
    let (summary, flushed) = rt.block_on(async {
        tokio::spawn(progress::watch_signals(cancel_tx));
        let display = progress::spawn(campaign.clone(), progress.clone());
        let summary = pipeline::run(ctx, jobs).await;
        display.abort();
        (summary, writer.flush().await)
    });
    // Requests abandoned by a second signal may still be running: do not
    // wait for them (their recipients are recorded `unknown`).
    rt.shutdown_background();
    Ok(Sent { summary, planned, run_id, started, ledger_error: flushed.err().map(|e| e.to_string()) })
}

/// The records of the recipients the plan does not send to.
pub fn plan_records(plan: &Plan, at: DateTime<Utc>) -> Vec<Record> {
    plan.decisions.iter().filter(|d| d.verdict != Verdict::Send).filter_map(|d| d.record(plan, at)).collect()
}

/// Skips that restate what the ledger already holds (already_sent,
/// already_failed, unknown_previous) are not written: overwriting them
/// would lose the record.
fn restates_ledger(r: &Record) -> bool {
    matches!(
        r.reason,
        Some(Reason::Skip(SkipReason::AlreadySent | SkipReason::AlreadyFailed | SkipReason::UnknownPrevious))
    )
}
