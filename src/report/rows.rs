//! From the stages' records to report rows: the one place where a
//! [`Record`] (indices, typed reasons, instants) becomes an [`OutcomeRow`]
//! (ids and text), for the plan and for the run alike.

use chrono::{DateTime, Utc};

use super::{Outcome, OutcomeRow, Report};
use crate::audience::merge::Audiences;
use crate::campaign::Campaign;
use crate::plan::{Decision, Plan, Verdict, window_closes_at};
use crate::records::Records;
use crate::vocab::{Job, Record};

/// RFC 3339 in UTC with a `Z`, to the second (the format of every report).
/// Written by hand for years 0-9999 (a report of millions of rows formats
/// millions of times; chrono's general formatter is several times slower),
/// by chrono otherwise; the same text either way.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    let secs = t.timestamp();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&year) {
        return t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    }
    let of_day = secs.rem_euclid(86_400);
    let mut out = *b"0000-00-00T00:00:00Z";
    let fields = [year / 100, year % 100, month, day, of_day / 3600, of_day / 60 % 60, of_day % 60];
    for (value, at) in fields.into_iter().zip([0, 2, 5, 8, 11, 14, 17]) {
        out[at] = b'0' + (value / 10) as u8;
        out[at + 1] = b'0' + (value % 10) as u8;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// (year, month, day) of a count of days since 1970-01-01 in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
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
        ..OutcomeRow::new(
            &campaign.pages[job.page as usize].id,
            audiences.recipient_id(job.person).as_str(&mut [0; 20]),
            outcome,
        )
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
    records: &'a Records,
    by_person: &'a [u32],
) -> impl Iterator<Item = OutcomeRow> + 'a {
    plan.decisions(audiences).map(move |d| match by_person.get(d.job.person as usize) {
        Some(&i) if i != u32::MAX => record_row(campaign, audiences, &records.get(i as usize)),
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
    Report {
        outcomes: plan_rows(campaign, audiences, plan),
        ..plan_summary(campaign, audiences, plan, occurrence, started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_by_hand_is_chronos_text() {
        let mut rng = fastrand::Rng::with_seed(3339);
        let first = DateTime::<Utc>::MIN_UTC.timestamp();
        let last = DateTime::<Utc>::MAX_UTC.timestamp();
        let edges = [0, -1, 86_399, 86_400, -62_167_219_200, -62_167_219_201, 253_402_300_799, 253_402_300_800];
        let random: Vec<i64> = (0..20_000)
            .map(|i| if i % 2 == 0 { rng.i64(-62_200_000_000..253_500_000_000) } else { rng.i64(first..=last) })
            .collect();
        for secs in edges.into_iter().chain(random) {
            let t = DateTime::from_timestamp(secs, rng.u32(0..1_000_000_000)).unwrap();
            assert_eq!(rfc3339(t), t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "{secs}");
        }
    }
}
