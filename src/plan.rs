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
    /// Not sent, for this reason; `detail` says more (e.g. which variable).
    Skip(SkipReason, Option<String>),
}

/// One recipient's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Index into `Campaign::pages`.
    pub page: u32,
    /// Index into `Audiences::people` (for the id and vars).
    pub person: usize,
    /// Send or skip.
    pub verdict: Verdict,
    /// When the recipient's window closes (None when no window applies).
    pub window_closes_at: Option<DateTime<Utc>>,
}

/// The whole plan, in audience order.
#[derive(Debug)]
pub struct Plan {
    /// One decision per merged recipient.
    pub decisions: Vec<Decision>,
    /// The instant the plan was made for.
    pub now: DateTime<Utc>,
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
    let decisions = audiences
        .people
        .iter()
        .enumerate()
        .map(|(i, ((page, id), person))| {
            let page_spec = &campaign.pages[*page as usize];
            let suppressed = audiences.suppressed.contains(&(*page, id.clone()));
            let known = prior(&page_spec.id, id);
            let (verdict, window_closes_at) = decide(campaign, *page, person, suppressed, known, now, options);
            Decision { page: *page, person: i, verdict, window_closes_at }
        })
        .collect();
    Plan { decisions, now }
}

fn decide(
    campaign: &Campaign,
    page: u32,
    person: &Person,
    suppressed: bool,
    prior: Option<Prior>,
    now: DateTime<Utc>,
    options: PlanOptions,
) -> (Verdict, Option<DateTime<Utc>>) {
    let rule = campaign.pages[page as usize].rule;
    let closes = rule.closes_at(person.last_interaction);
    let skip = |reason| (Verdict::Skip(reason, None), closes);
    if suppressed {
        return skip(SkipReason::Suppressed);
    }
    match prior {
        Some(Prior::Sent) => return skip(SkipReason::AlreadySent),
        Some(Prior::Failed) => return skip(SkipReason::AlreadyFailed),
        Some(Prior::Unknown) if !options.resend_unknown => return skip(SkipReason::UnknownPrevious),
        _ => {}
    }
    if let Err(reason) = rule.check(person.last_interaction, now) {
        return skip(reason);
    }
    if let Err(detail) = render_check(campaign, person) {
        return (Verdict::Skip(SkipReason::TemplateError, Some(detail)), closes);
    }
    (Verdict::Send, closes)
}

fn render_check(campaign: &Campaign, person: &Person) -> Result<(), String> {
    if campaign.message.is_constant() {
        return Ok(());
    }
    campaign.message.render(person.vars.iter().map(|(k, v)| (&**k, &**v))).map(|_| ())
}

impl Plan {
    /// The plan as report rows (`planned` or `skipped`), in plan order.
    pub fn rows(&self, campaign: &Campaign, audiences: &Audiences) -> Vec<OutcomeRow> {
        self.decisions
            .iter()
            .map(|d| {
                let (key, _) = audiences.people.get_index(d.person).expect("decision indexes people");
                let (outcome, reason, message) = match &d.verdict {
                    Verdict::Send => (Outcome::Planned, None, None),
                    Verdict::Skip(r, detail) => (Outcome::Skipped, Some(r.as_str().to_string()), detail.clone()),
                };
                OutcomeRow {
                    page: campaign.pages[d.page as usize].id.clone(),
                    recipient: key.1.clone(),
                    outcome,
                    reason,
                    error_code: None,
                    error_subcode: None,
                    error_message: message,
                    message_id: None,
                    attempts: 0,
                    at: None,
                    window_closes_at: d.window_closes_at.map(rfc3339),
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
