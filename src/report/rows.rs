//! From the stages' records to report rows: the one place where a
//! [`Record`] (indices, typed reasons, instants) becomes an [`OutcomeRow`]
//! (ids and text), for the plan and for the run alike.

use chrono::{DateTime, Utc};

use super::{Outcome, OutcomeRow, Report};
use crate::audience::merge::Audiences;
use crate::campaign::Campaign;
use crate::plan::{Decision, Plan, Verdict, window_closes_at};
use crate::vocab::{Job, Record};

/// RFC 3339 in UTC with a `Z`, to the second (the format of every report).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The row of one recipient's record.
pub fn record_row(campaign: &Campaign, audiences: &Audiences, r: &Record) -> OutcomeRow {
    OutcomeRow {
        reason: r.reason.map(|reason| reason.as_str().to_string()),
        error_code: r.error.code,
        error_subcode: r.error.subcode,
        error_message: r.error.message.clone(),
        message_id: r.message_id.clone(),
        attempts: r.attempts,
        at: Some(rfc3339(r.at)),
        ..bare_row(campaign, audiences, r.job, r.outcome)
    }
}

/// The row of one plan decision: `planned`, or skipped / held with its reason.
pub fn decision_row(campaign: &Campaign, audiences: &Audiences, plan: &Plan, d: &Decision) -> OutcomeRow {
    let outcome = match d.verdict {
        Verdict::Send => Outcome::Planned,
        Verdict::Skip(_) => Outcome::Skipped,
        Verdict::Hold(_) => Outcome::NotAttempted,
    };
    OutcomeRow {
        reason: d.verdict.reason().map(|r| r.as_str().to_string()),
        error_message: plan.details.get(&d.job.person).cloned(),
        ..bare_row(campaign, audiences, d.job, outcome)
    }
}

fn bare_row(campaign: &Campaign, audiences: &Audiences, job: Job, outcome: Outcome) -> OutcomeRow {
    OutcomeRow {
        window_closes_at: window_closes_at(campaign, audiences, job).map(rfc3339),
        ..OutcomeRow::new(&campaign.pages[job.page as usize].id, audiences.recipient_id(job.person).to_string(), outcome)
    }
}

/// The plan as rows, in plan order.
pub fn plan_rows(campaign: &Campaign, audiences: &Audiences, plan: &Plan) -> Vec<OutcomeRow> {
    plan_row_iter(campaign, audiences, plan).collect()
}

/// The plan as rows, in plan order, made one at a time (for streaming).
pub fn plan_row_iter<'a>(
    campaign: &'a Campaign,
    audiences: &'a Audiences,
    plan: &'a Plan,
) -> impl Iterator<Item = OutcomeRow> + 'a {
    plan.decisions(audiences).map(move |d| decision_row(campaign, audiences, plan, &d))
}

/// A run's rows, in plan order, made one at a time: each decision's row,
/// or the row of its recipient's record when the run has one. `by_person`
/// maps a person index to its record's index in `records` (`u32::MAX`: none).
pub fn run_row_iter<'a>(
    campaign: &'a Campaign,
    audiences: &'a Audiences,
    plan: &'a Plan,
    records: &'a [&'a Record],
    by_person: &'a [u32],
) -> impl Iterator<Item = OutcomeRow> + 'a {
    plan.decisions(audiences).map(move |d| match by_person.get(d.job.person as usize) {
        Some(&i) if i != u32::MAX => record_row(campaign, audiences, records[i as usize]),
        _ => decision_row(campaign, audiences, plan, &d),
    })
}

/// The dry-run report's counts without its per-recipient rows: what the
/// table view needs, without a row per recipient of a huge audience.
pub fn plan_summary(
    campaign: &Campaign,
    audiences: &Audiences,
    plan: &Plan,
    occurrence: &str,
    started: DateTime<Utc>,
) -> Report {
    let now = rfc3339(started);
    let mut report = Report::from_rows(&campaign.id, occurrence, true, &now, &now, 0, Vec::new());
    // Counted per page index and verdict, then named: no string per recipient.
    let mut per_page: Vec<std::collections::HashMap<Verdict, u64>> = vec![Default::default(); campaign.pages.len()];
    for d in plan.decisions(audiences) {
        *per_page[d.job.page as usize].entry(d.verdict).or_default() += 1;
    }
    for (page, counts) in campaign.pages.iter().zip(per_page) {
        for (verdict, n) in counts {
            let outcome = match verdict {
                Verdict::Send => Outcome::Planned,
                Verdict::Skip(reason) => {
                    *report.skipped_by_reason.entry(reason.as_str().to_string()).or_default() += n;
                    Outcome::Skipped
                }
                Verdict::Hold(reason) => {
                    *report.not_attempted_by_reason.entry(reason.as_str().to_string()).or_default() += n;
                    Outcome::NotAttempted
                }
            };
            report.summary.add_n(outcome, n);
            report.pages.entry(page.id.clone()).or_default().add_n(outcome, n);
        }
    }
    report
}

/// The `n` planned recipients whose window closes first, as rows (ties in
/// plan order). Keeps `n` candidates, not one per planned recipient.
pub fn soonest(campaign: &Campaign, audiences: &Audiences, plan: &Plan, n: usize) -> Vec<OutcomeRow> {
    let mut best: std::collections::BinaryHeap<(DateTime<Utc>, u32, u32)> = Default::default();
    if n > 0 {
        for d in plan.decisions(audiences).filter(|d| d.verdict == Verdict::Send) {
            let Some(closes) = d.window_closes_at(campaign, audiences) else { continue };
            if best.len() == n {
                match best.peek() {
                    Some(&(worst, person, _)) if (closes, d.job.person) < (worst, person) => {
                        best.pop();
                    }
                    _ => continue,
                }
            }
            best.push((closes, d.job.person, d.job.page));
        }
    }
    best.into_sorted_vec()
        .into_iter()
        .map(|(_, person, page)| bare_row(campaign, audiences, Job { page, person }, Outcome::Planned))
        .collect()
}

/// The dry-run report of a plan, every row included.
pub fn plan_report(
    campaign: &Campaign,
    audiences: &Audiences,
    plan: &Plan,
    occurrence: &str,
    started: DateTime<Utc>,
) -> Report {
    let now = rfc3339(started);
    Report::from_rows(&campaign.id, occurrence, true, &now, &now, 0, plan_rows(campaign, audiences, plan))
}
