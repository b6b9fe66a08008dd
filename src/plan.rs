//! The planner: who is sent to, and why not. Pure: it takes the campaign,
//! the merged audiences, what the ledger knows of this occurrence, and `now`,
//! and returns a [`Plan`]. `plan` and `run --dry-run` print it; `run` sends it.

use chrono::{DateTime, Utc};

use crate::audience::merge::{Audiences, Person};
use crate::campaign::Campaign;
use crate::policy::SkipReason;
use crate::report::{Outcome, OutcomeRow, Report};

pub use crate::ledger::Prior;

/// The verdict for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Would be (or will be) sent.
    Send,
    /// Not sent, for this reason (template errors have a detail in
    /// [`Plan::details`]).
    Skip(SkipReason),
}

/// One recipient's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Index into `Campaign::pages`.
    pub page: u32,
    /// Index into `Audiences::people` (for the id and vars).
    pub person: u32,
    /// Send or skip.
    pub verdict: Verdict,
}

impl Decision {
    /// When the recipient's window closes (None when no window applies).
    /// Derived rather than stored: a plan holds one decision per recipient.
    pub fn window_closes_at(&self, campaign: &Campaign, audiences: &Audiences) -> Option<DateTime<Utc>> {
        let (_, person) = audiences.people.get_index(self.person as usize).expect("decision indexes people");
        campaign.pages[self.page as usize].rule.closes_at(person.last_interaction)
    }
}

/// The whole plan, in audience order.
#[derive(Debug)]
pub struct Plan {
    /// One decision per merged recipient (12 bytes each: a plan of millions
    /// stays small).
    pub decisions: Vec<Decision>,
    /// Why a template failed, per person index (rare, so kept aside).
    pub details: std::collections::HashMap<u32, String>,
}

/// What the ledger holds for an occurrence, keyed by (page, recipient), as
/// the `prior` lookup [`plan`] takes: indexed per page so a lookup borrows
/// its keys instead of allocating two strings per recipient.
pub fn prior_lookup(map: std::collections::HashMap<(String, String), Prior>) -> impl Fn(&str, &str) -> Option<Prior> {
    let mut by_page: std::collections::HashMap<String, std::collections::HashMap<String, Prior>> = Default::default();
    for ((page, recipient), prior) in map {
        by_page.entry(page).or_default().insert(recipient, prior);
    }
    move |page, recipient| by_page.get(page)?.get(recipient).copied()
}

/// Options that change decisions.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Resend recipients whose earlier attempt has no recorded outcome.
    pub resend_unknown: bool,
}

/// Decides every recipient (SPEC §3, reasons in their order of precedence).
pub fn plan<F>(campaign: &Campaign, audiences: &Audiences, prior: F, now: DateTime<Utc>, options: PlanOptions) -> Plan
where
    F: Fn(&str, &str) -> Option<Prior>,
{
    let mut details = std::collections::HashMap::new();
    let decisions = audiences
        .people
        .iter()
        .enumerate()
        .map(|(i, ((page, id), person))| {
            let page_spec = &campaign.pages[*page as usize];
            let suppressed = audiences.suppressed.contains(&(*page, id.clone()));
            let known = prior(&page_spec.id, id);
            let verdict = match decide(campaign, *page, person, suppressed, known, now, options) {
                Ok(v) => v,
                Err(detail) => {
                    details.insert(i as u32, detail);
                    Verdict::Skip(SkipReason::TemplateError)
                }
            };
            Decision { page: *page, person: i as u32, verdict }
        })
        .collect();
    Plan { decisions, details }
}

/// Ok(verdict), or Err(detail) for a template error.
fn decide(
    campaign: &Campaign,
    page: u32,
    person: &Person,
    suppressed: bool,
    prior: Option<Prior>,
    now: DateTime<Utc>,
    options: PlanOptions,
) -> Result<Verdict, String> {
    let skip = |reason| Ok(Verdict::Skip(reason));
    if suppressed {
        return skip(SkipReason::Suppressed);
    }
    match prior {
        Some(Prior::Sent) => return skip(SkipReason::AlreadySent),
        Some(Prior::Failed) => return skip(SkipReason::AlreadyFailed),
        Some(Prior::Unknown) if !options.resend_unknown => return skip(SkipReason::UnknownPrevious),
        _ => {}
    }
    if let Err(reason) = campaign.pages[page as usize].rule.check(person.last_interaction, now) {
        return skip(reason);
    }
    render_check(campaign, person)?;
    Ok(Verdict::Send)
}

fn render_check(campaign: &Campaign, person: &Person) -> Result<(), String> {
    if campaign.message.is_constant() {
        return Ok(());
    }
    campaign.message.render(person.vars.iter()).map(|_| ())
}

impl Plan {
    /// The recipients to send to, as pipeline jobs.
    pub fn jobs(&self) -> Vec<crate::send::pipeline::Job> {
        self.decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Send)
            .map(|d| crate::send::pipeline::Job { page: d.page, person: d.person as usize })
            .collect()
    }

    /// The plan as report rows (`planned` or `skipped`), in plan order.
    pub fn rows(&self, campaign: &Campaign, audiences: &Audiences) -> Vec<OutcomeRow> {
        self.decisions
            .iter()
            .map(|d| {
                let (key, _) = audiences.people.get_index(d.person as usize).expect("decision indexes people");
                let (outcome, reason, message) = match &d.verdict {
                    Verdict::Send => (Outcome::Planned, None, None),
                    Verdict::Skip(r) => {
                        (Outcome::Skipped, Some(r.as_str().to_string()), self.details.get(&d.person).cloned())
                    }
                };
                OutcomeRow {
                    reason,
                    error_message: message,
                    window_closes_at: d.window_closes_at(campaign, audiences).map(rfc3339),
                    ..OutcomeRow::new(&campaign.pages[d.page as usize].id, &*key.1, outcome)
                }
            })
            .collect()
    }

    /// The dry-run report's counts without its per-recipient rows: what the
    /// table view needs, without a row per recipient of a huge audience.
    pub fn summary_report(&self, campaign: &Campaign, occurrence: &str, started: DateTime<Utc>) -> Report {
        let now = rfc3339(started);
        let mut report = Report::from_rows(&campaign.id, occurrence, true, &now, &now, 0, Vec::new());
        for d in &self.decisions {
            let outcome = match &d.verdict {
                Verdict::Send => Outcome::Planned,
                Verdict::Skip(reason) => {
                    *report.skipped_by_reason.entry(reason.as_str().to_string()).or_default() += 1;
                    Outcome::Skipped
                }
            };
            report.summary.add(outcome);
            report.pages.entry(campaign.pages[d.page as usize].id.clone()).or_default().add(outcome);
        }
        report
    }

    /// The `n` planned recipients whose window closes first, as rows.
    pub fn soonest(&self, campaign: &Campaign, audiences: &Audiences, n: usize) -> Vec<OutcomeRow> {
        let mut planned: Vec<(DateTime<Utc>, &Decision)> = self
            .decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Send)
            .filter_map(|d| Some((d.window_closes_at(campaign, audiences)?, d)))
            .collect();
        planned.sort_by_key(|(t, _)| *t);
        planned.truncate(n);
        planned
            .into_iter()
            .map(|(closes, d)| {
                let (key, _) = audiences.people.get_index(d.person as usize).expect("decision indexes people");
                OutcomeRow {
                    window_closes_at: Some(rfc3339(closes)),
                    ..OutcomeRow::new(&campaign.pages[d.page as usize].id, &*key.1, Outcome::Planned)
                }
            })
            .collect()
    }

    /// The dry-run report of this plan.
    pub fn report(
        &self,
        campaign: &Campaign,
        audiences: &Audiences,
        occurrence: &str,
        started: DateTime<Utc>,
    ) -> Report {
        let now = rfc3339(started);
        Report::from_rows(&campaign.id, occurrence, true, &now, &now, 0, self.rows(campaign, audiences))
    }
}

/// RFC 3339 in UTC with a `Z`, to the second (the format of every report).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_lookup_finds_by_page_and_recipient() {
        let map = [
            (("500".to_string(), "1".to_string()), Prior::Sent),
            (("600".to_string(), "1".to_string()), Prior::Failed),
        ];
        let lookup = prior_lookup(map.into_iter().collect());
        assert_eq!(lookup("500", "1"), Some(Prior::Sent));
        assert_eq!(lookup("600", "1"), Some(Prior::Failed));
        assert_eq!(lookup("500", "2"), None);
        assert_eq!(lookup("700", "1"), None);
    }
}
