//! Stage 4 of a run: settle (the exit code, the run's end in the ledger)
//! and report (stdout, report files, what to run next). Also the dry run's
//! report, which is the plan's.

use chrono::{DateTime, Utc};

use super::send::Sent;
use super::{Prepared, RunRequest, run_exit};
use crate::cli::Format;
use crate::commands::{Exit, Outcome, output};
use crate::ledger::Ledger;
use crate::plan::Plan;
use crate::report::rows::{self, rfc3339};
use crate::report::{self, PauseRow, Report, StoppedPage, write::write_report};
use crate::vocab::{Outcome as Fate, Pending, Reason, SkipReason};

/// How many soonest-closing windows the plan table lists.
const SOONEST: usize = 10;

/// Settles a finished run: its exit code, its end in the ledger, its report.
pub fn settle(ledger: &Ledger, req: &RunRequest, prepared: &Prepared, plan: &Plan, sent: Sent) -> Exit {
    let (campaign, audiences) = (&*prepared.campaign, &*prepared.audiences);
    let Sent { summary, planned, run_id, started, ledger_error, canary } = sent;
    let mut records = planned;
    records.append(summary.records);
    let open = records.fates().filter(|fate| is_open(*fate)).count();
    let mut exit = run_exit(summary.interrupted, !summary.stopped.is_empty(), open);
    if let Some(e) = &ledger_error {
        eprintln!("error: the ledger could not record every outcome: {e}");
        exit = exit.max(Exit::Aborted);
    }
    let finished = req.clock.wall();
    // No list of rows is held: each row is made from its decision or record
    // when it is counted, and again when each report file is written.
    let mut by_person = vec![u32::MAX; plan.len()];
    for i in 0..records.len() {
        let person = records.job(i).person as usize;
        if let Some(slot) = by_person.get_mut(person) {
            *slot = u32::try_from(i).unwrap_or(u32::MAX);
        } else {
            by_person.resize(person + 1, u32::MAX);
            by_person[person] = u32::try_from(i).unwrap_or(u32::MAX);
        }
    }
    let run_rows = || rows::run_row_iter(campaign, audiences, plan, &records, &by_person);
    let mut report = Report::from_rows(
        &campaign.id,
        &req.occurrence,
        false,
        rfc3339(started),
        rfc3339(finished),
        exit.code().into(),
        Vec::new(),
    );
    let mut leftover = 0u64;
    for row in run_rows() {
        if row.outcome == Fate::NotAttempted && row.reason.as_deref() != Some(Pending::Limit.as_str()) {
            leftover += 1;
        }
        report.count(&row);
    }
    report.pauses = summary
        .pauses
        .iter()
        .map(|p| PauseRow {
            page: p.page.clone(),
            from: rfc3339(p.pause.from),
            until: rfc3339(p.pause.until),
            code: p.pause.code,
        })
        .collect();
    report.stopped_pages = summary
        .stopped
        .iter()
        .map(|s| StoppedPage {
            page: s.page.clone(),
            reason: s.stop.pending.as_str().into(),
            detail: s.stop.detail.clone(),
        })
        .collect();
    report.canary = canary;
    let summary_json = serde_json::to_string(&report.summary).unwrap_or_default();
    if let Err(e) = ledger.finish_run(run_id, finished, exit.code().into(), &summary_json) {
        eprintln!("error: {e}");
    }
    emit_streamed(&report, req, started, &[], run_rows);
    next_steps(&report, leftover, req, campaign.path.as_path());
    exit
}

/// A recipient that this run leaves for a later one (not a test send's leftover).
fn is_open((outcome, reason): (Fate, Option<Reason>)) -> bool {
    match outcome {
        Fate::Failed | Fate::Unknown => true,
        Fate::NotAttempted => reason != Some(Reason::Pending(Pending::Limit)),
        _ => false,
    }
}

/// The dry run: the plan printed (table or JSON), report files only when
/// `--report-dir` was given.
pub fn report_plan(req: &RunRequest, prepared: &Prepared, plan: &Plan, started: DateTime<Utc>) -> Outcome {
    let (campaign, audiences) = (&*prepared.campaign, &*prepared.audiences);
    let soonest = rows::soonest(campaign, audiences, plan, SOONEST);
    if req.format != Format::Json && req.report_dir.is_none() && req.out.is_none() {
        // The table needs counts, not a row per recipient.
        let report = rows::plan_summary(campaign, audiences, plan, &req.occurrence, started);
        output::print(&report::table::render(&report, &soonest));
        return Ok(Exit::Done);
    }
    let Some(out) = &req.out else {
        // Streamed: the counts first, then one row at a time, never a list.
        let head = rows::plan_summary(campaign, audiences, plan, &req.occurrence, started);
        emit_streamed(&head, req, started, &soonest, || rows::plan_row_iter(campaign, audiences, plan));
        return Ok(Exit::Done);
    };
    let report = rows::plan_report(campaign, audiences, plan, &req.occurrence, started);
    {
        let inputs = super::pinned::inputs(prepared)?;
        super::pinned::write(out, &super::pinned::document(&report, &inputs, req.clock.now()))?;
        eprintln!(
            "pinned plan: {} ({} inputs); send exactly it with `pagecast run {} --plan {}`",
            out.display(),
            inputs.len(),
            campaign.path.display(),
            out.display()
        );
    }
    emit(&report, req, started, &soonest);
    Ok(Exit::Done)
}

/// Prints the report (table or JSON) and writes the report files.
fn emit(report: &Report, req: &RunRequest, started: DateTime<Utc>, soonest: &[report::OutcomeRow]) {
    match req.format {
        Format::Json => output::print(&report::json::render(report)),
        _ => output::print(&report::table::render(report, soonest)),
    }
    if let Some(dir) = &req.report_dir {
        match write_report(dir, report, started) {
            Ok(dir) => eprintln!("report: {}", dir.display()),
            Err(e) => eprintln!("error: {e}"),
        }
    }
}

/// Prints the report (table, or JSON streamed one row at a time) and
/// writes the report files by streaming; `head` holds the counts, `rows`
/// makes every row afresh each time it is called.
fn emit_streamed<I, F>(head: &Report, req: &RunRequest, started: DateTime<Utc>, soonest: &[report::OutcomeRow], rows: F)
where
    F: Fn() -> I,
    I: Iterator<Item = report::OutcomeRow>,
{
    match req.format {
        Format::Json => {
            let out = std::io::BufWriter::with_capacity(1 << 16, output::Stdout);
            // output::Stdout never fails (a closed pipe is quiet), and the
            // document is only strings and numbers.
            if let Err(e) = report::json::write_streamed(out, head, rows()) {
                eprintln!("error: cannot write the report to stdout: {e}");
            }
        }
        _ => output::print(&report::table::render(head, soonest)),
    }
    if let Some(dir) = &req.report_dir {
        match report::write::write_report_streamed(dir, head, rows, started) {
            Ok(dir) => eprintln!("report: {}", dir.display()),
            Err(e) => eprintln!("error: {e}"),
        }
    }
}

/// Says what to run next when the run left work for a later one
/// (`leftover`: the not_attempted recipients, `--limit`'s aside).
fn next_steps(report: &Report, leftover: u64, req: &RunRequest, path: &std::path::Path) {
    let again = format!("pagecast run {} --occurrence {}", path.display(), req.occurrence);
    if leftover > 0 {
        eprintln!(
            "{leftover} recipient(s) were not attempted and nobody was sent twice; when the cause is fixed, run `{again}` to send to them"
        );
    }
    let unknown_previous = report.skipped_by_reason.get(SkipReason::UnknownPrevious.as_str()).copied().unwrap_or(0);
    if unknown_previous > 0 {
        eprintln!(
            "{unknown_previous} recipient(s) had an earlier attempt whose result was never recorded, and were not resent; \
             if you know they did not get the message, run `{again} --resend-unknown`"
        );
    }
}
