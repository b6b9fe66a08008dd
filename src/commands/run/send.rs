//! Stage 3 of a run: record the plan's decisions, then send through the
//! pipeline with signals handled and progress shown.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Prepared, RunRequest};
use crate::audience::merge::Audiences;
use crate::commands::{Failure, progress, runtime};
use crate::ledger::Ledger;
use crate::ledger::journal::LedgerJournal;
use crate::plan::{Plan, Verdict};
use crate::records::Records;
use crate::report::CanaryRow;
use crate::send::client::Redactor;
use crate::send::pipeline::{self, Cancel, Context, Pages, SendSummary};
use crate::vocab::{Job, Pending, Reason, Record, SkipReason};

/// What the send stage hands to settling.
pub struct Sent {
    /// The pipeline's summary.
    pub summary: SendSummary,
    /// The records of the plan's decisions that were not sent.
    pub planned: Records,
    /// The run's id in the ledger.
    pub run_id: i64,
    /// When the run started.
    pub started: DateTime<Utc>,
    /// The ledger could not record everything (the first error).
    pub ledger_error: Option<String>,
    /// The canary wave's result, when the campaign has one.
    pub canary: Option<CanaryRow>,
}

/// The first `n` jobs for a canary wave, spread over the pages (round robin,
/// each page in plan order), and the rest in plan order.
pub fn canary_split(jobs: Vec<Job>, n: usize) -> (Vec<Job>, Vec<Job>) {
    let mut per_page: std::collections::BTreeMap<u32, std::collections::VecDeque<usize>> = Default::default();
    let mut page_order = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        per_page
            .entry(job.page)
            .or_insert_with(|| {
                page_order.push(job.page);
                Default::default()
            })
            .push_back(i);
    }
    let mut in_wave = vec![false; jobs.len()];
    let mut taken = 0;
    while taken < n.min(jobs.len()) {
        for page in &page_order {
            if taken == n {
                break;
            }
            if let Some(i) = per_page.get_mut(page).and_then(|q| q.pop_front()) {
                in_wave[i] = true;
                taken += 1;
            }
        }
    }
    let (wave, rest): (Vec<_>, Vec<_>) = jobs.into_iter().zip(in_wave).partition(|(_, w)| *w);
    (wave.into_iter().map(|(j, _)| j).collect(), rest.into_iter().map(|(j, _)| j).collect())
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
    let mut planned = Records::default();
    for record in plan_records(plan, audiences, req.clock.wall()) {
        if !restates_ledger(&record) {
            journal.record(&record);
        }
        planned.push(&record);
    }
    let jobs = plan.jobs(audiences);
    tracing::info!(
        "{}: occurrence {}: {} to send, {} not sent",
        campaign.id,
        req.occurrence,
        jobs.len(),
        plan.len() - jobs.len()
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
    let canary = campaign.send.canary;
    let (summary, canary, flushed) = rt.block_on(async {
        tokio::spawn(progress::watch_signals(cancel_tx));
        let display = progress::spawn(campaign.clone(), progress.clone());
        let pages = Pages::new(&ctx);
        let (mut summary, canary) = match canary {
            Some(canary) => {
                canary_then_rest(&ctx, &pages, jobs, canary.recipients as usize, canary.max_failure_rate).await
            }
            None => (pipeline::send(&ctx, &pages, jobs).await, None),
        };
        pipeline::finish(&ctx, &pages, &mut summary);
        display.abort();
        (summary, canary, writer.flush().await)
    });
    // Requests abandoned by a second signal may still be running: do not
    // wait for them (their recipients are recorded `unknown`).
    rt.shutdown_background();
    Ok(Sent { summary, planned, run_id, started, ledger_error: flushed.err().map(|e| e.to_string()), canary })
}

/// Sends the canary wave, waits for every answer, and sends the rest only
/// if its failure share is within bounds; otherwise every page stops and the
/// rest end `not_attempted` (`canary_failed`).
async fn canary_then_rest<J: pipeline::Journal>(
    ctx: &Arc<Context<J>>,
    pages: &Pages,
    jobs: Vec<Job>,
    size: usize,
    max_failure_rate: f64,
) -> (SendSummary, Option<CanaryRow>) {
    let (wave, rest) = canary_split(jobs, size);
    let mut summary = pipeline::send(ctx, pages, wave).await;
    let result = CanaryRow::judge(&summary.records, max_failure_rate);
    if *ctx.cancel.borrow() == Cancel::Running {
        if result.passed {
            tracing::info!("{}: {}", ctx.campaign.id, result.describe());
        } else {
            tracing::error!("{}: {}", ctx.campaign.id, result.describe());
            pages.stop_all(Pending::CanaryFailed, &result.describe());
        }
    }
    let rest = pipeline::send(ctx, pages, rest).await;
    summary.records.append(rest.records);
    (summary, Some(result))
}

/// The records of the recipients the plan does not send to.
pub fn plan_records<'a>(
    plan: &'a Plan,
    audiences: &'a Audiences,
    at: DateTime<Utc>,
) -> impl Iterator<Item = Record> + 'a {
    plan.decisions(audiences).filter(|d| d.verdict != Verdict::Send).filter_map(move |d| d.record(plan, at))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(page: u32, person: u32) -> Job {
        Job { page, person }
    }

    #[test]
    fn the_canary_wave_is_spread_over_the_pages_in_plan_order() {
        let jobs = vec![job(0, 0), job(0, 1), job(0, 2), job(1, 3), job(1, 4), job(2, 5)];
        let (wave, rest) = canary_split(jobs, 4);
        assert_eq!(wave, [job(0, 0), job(0, 1), job(1, 3), job(2, 5)]);
        assert_eq!(rest, [job(0, 2), job(1, 4)]);
        let (wave, rest) = canary_split(vec![job(0, 0)], 50);
        assert_eq!((wave.len(), rest.len()), (1, 0));
    }

    #[test]
    fn a_canary_fails_past_its_failure_rate() {
        let at = chrono::Utc::now();
        let sent = |n| Record::sent(job(0, n), Some("m".into()), 1, at);
        let failed = |n| Record::failed(job(0, n), crate::vocab::ApiError::default(), 1, at);
        let records: Records = (0..19).map(sent).chain([failed(19)]).collect();
        assert!(CanaryRow::judge(&records, 0.05).passed, "1 of 20 is 5%");
        let records: Records = (0..18).map(sent).chain([failed(18), failed(19)]).collect();
        let result = CanaryRow::judge(&records, 0.05);
        assert!(!result.passed);
        assert_eq!((result.recipients, result.failed), (20, 2));
    }
}
