//! The planner: who is sent to, and why not. Pure: it takes the campaign,
//! the merged audiences, what the ledger knows of this occurrence, and `now`,
//! and returns a [`Plan`]. `plan` and `run --dry-run` print it; `run` sends it.

use chrono::{DateTime, Utc};

use crate::audience::merge::Audiences;
use crate::audience::vars::VarsRef;
use crate::campaign::Campaign;
use crate::vocab::{Job, Pending, Prior, Reason, Record, SkipReason};

/// The verdict for one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Would be (or will be) sent.
    Send,
    /// Not sent, for this reason (template errors have a detail in
    /// [`Plan::details`]).
    Skip(SkipReason),
    /// Would be sent, but is held back for a later run (`--limit`, `--only`,
    /// a pinned plan, the page's daily cap): `not_attempted` with this reason.
    Hold(Pending),
}

impl Verdict {
    /// The reason a recipient is not sent, if it is not.
    pub fn reason(self) -> Option<Reason> {
        match self {
            Verdict::Send => None,
            Verdict::Skip(r) => Some(Reason::Skip(r)),
            Verdict::Hold(r) => Some(Reason::Pending(r)),
        }
    }
}

/// One recipient's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// The recipient.
    pub job: Job,
    /// Send, skip or hold.
    pub verdict: Verdict,
}

impl Decision {
    /// When the recipient's window closes (None when no window applies).
    /// Derived rather than stored: a plan holds one decision per recipient.
    pub fn window_closes_at(&self, campaign: &Campaign, audiences: &Audiences) -> Option<DateTime<Utc>> {
        window_closes_at(campaign, audiences, self.job)
    }

    /// The record of a recipient that is not sent (None for `Send`).
    pub fn record(&self, plan: &Plan, at: DateTime<Utc>) -> Option<Record> {
        let reason = self.verdict.reason()?;
        let mut record = Record::new(self.job, reason, 0, at);
        record.error.message = plan.details.get(&self.job.person).cloned();
        Some(record)
    }
}

/// When a recipient's window closes (None when no window applies).
pub fn window_closes_at(campaign: &Campaign, audiences: &Audiences, job: Job) -> Option<DateTime<Utc>> {
    let rule = &campaign.pages[job.page as usize].rule;
    // In nanoseconds when they fit (a report of millions asks for each row).
    if let Some(last) = audiences.last_interaction_nanos(job.person)
        && let Some(closes) = rule.closes_at_nanos(last?)
    {
        return closes.map(DateTime::from_timestamp_nanos);
    }
    rule.closes_at(audiences.person(job.person).last_interaction)
}

/// The whole plan, in audience order.
#[derive(Debug)]
pub struct Plan {
    /// One verdict per merged recipient, indexed by person (2 bytes each:
    /// a plan of millions stays small). The page comes from the audiences:
    /// see [`Plan::decisions`].
    pub verdicts: Vec<Verdict>,
    /// Why a template failed, per person index (rare, so kept aside).
    pub details: std::collections::HashMap<u32, String>,
}

/// What the ledger holds for an occurrence, keyed by (page, recipient), as
/// the `prior` lookup [`plan`] takes: by person index, so that planning
/// millions asks a map of numbers (entries for people in no audience are
/// dropped).
pub fn prior_lookup(
    map: std::collections::HashMap<(String, String), Prior>,
    campaign: &Campaign,
    audiences: &Audiences,
) -> impl Fn(u32) -> Option<Prior> + use<> {
    let page_index: std::collections::HashMap<&str, u32> =
        campaign.pages.iter().enumerate().map(|(i, p)| (p.id.as_str(), i as u32)).collect();
    let by_person: std::collections::HashMap<u32, Prior> = map
        .into_iter()
        .filter_map(|((page, recipient), prior)| {
            Some((audiences.find_person(*page_index.get(page.as_str())?, &recipient)?, prior))
        })
        .collect();
    move |person| by_person.get(&person).copied()
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
    F: Fn(u32) -> Option<Prior>,
{
    let mut details = std::collections::HashMap::new();
    let now_nanos = now.timestamp_nanos_opt();
    let verdicts = (0..audiences.len() as u32)
        .map(|i| {
            let page = audiences.page_of(i);
            let known = prior(i);
            let window = || {
                let rule = &campaign.pages[page as usize].rule;
                let fast = match (audiences.last_interaction_nanos(i), now_nanos) {
                    (Some(None), _) => Some(Err(SkipReason::NoInteraction)),
                    (Some(Some(last)), Some(now)) => rule.check_nanos(last, now),
                    _ => None,
                };
                fast.unwrap_or_else(|| rule.check(audiences.person(i).last_interaction, now).map(|_| ()))
            };
            let person =
                Candidate { suppressed: audiences.is_suppressed(i), prior: known, window, vars: || audiences.vars(i) };
            match decide(campaign, person, options) {
                Ok(v) => v,
                Err(detail) => {
                    details.insert(i, detail);
                    Verdict::Skip(SkipReason::TemplateError)
                }
            }
        })
        .collect();
    Plan { verdicts, details }
}

/// What the planner knows of one recipient; the window and the variables
/// are looked at only when the reasons before them do not decide.
struct Candidate<W, V> {
    suppressed: bool,
    prior: Option<Prior>,
    window: W,
    vars: V,
}

/// Ok(verdict), or Err(detail) for a template error.
fn decide<'a, W, V>(campaign: &Campaign, person: Candidate<W, V>, options: PlanOptions) -> Result<Verdict, String>
where
    W: FnOnce() -> Result<(), SkipReason>,
    V: FnOnce() -> VarsRef<'a>,
{
    let skip = |reason| Ok(Verdict::Skip(reason));
    if person.suppressed {
        return skip(SkipReason::Suppressed);
    }
    match person.prior {
        Some(Prior::Sent) => return skip(SkipReason::AlreadySent),
        Some(Prior::Failed) => return skip(SkipReason::AlreadyFailed),
        Some(Prior::Unknown) if !options.resend_unknown => return skip(SkipReason::UnknownPrevious),
        _ => {}
    }
    if let Err(reason) = (person.window)() {
        return skip(reason);
    }
    campaign.message.check((person.vars)().iter())?;
    Ok(Verdict::Send)
}

impl Plan {
    /// Every decision, in plan order (person order).
    pub fn decisions<'a>(&'a self, audiences: &'a Audiences) -> impl Iterator<Item = Decision> + 'a {
        self.verdicts
            .iter()
            .enumerate()
            .map(|(i, &verdict)| Decision { job: Job { page: audiences.page_of(i as u32), person: i as u32 }, verdict })
    }

    /// How many recipients the plan decides.
    pub fn len(&self) -> usize {
        self.verdicts.len()
    }

    /// True when it decides nobody.
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
    }

    /// The recipients to send to, in plan order.
    pub fn jobs(&self, audiences: &Audiences) -> Vec<Job> {
        self.decisions(audiences).filter(|d| d.verdict == Verdict::Send).map(|d| d.job).collect()
    }

    /// How many recipients are to be sent to.
    pub fn send_count(&self) -> usize {
        self.verdicts.iter().filter(|v| **v == Verdict::Send).count()
    }

    /// Holds back every planned recipient after the first `n` (`--limit`).
    pub fn limit(&mut self, audiences: &Audiences, n: usize) {
        self.hold_where(audiences, Pending::Limit, |i, _| i >= n);
    }

    /// Holds back every planned recipient for which `keep` is false
    /// (`--only`, a pinned plan).
    pub fn only(&mut self, audiences: &Audiences, keep: impl Fn(Job) -> bool) {
        self.hold_where(audiences, Pending::Limit, |_, job| !keep(job));
    }

    /// Holds back planned recipient number `i` (counting planned ones only,
    /// in plan order) when `hold(i, job)`.
    pub fn hold_where(&mut self, audiences: &Audiences, reason: Pending, mut hold: impl FnMut(usize, Job) -> bool) {
        let planned = self.verdicts.iter_mut().enumerate().filter(|(_, v)| **v == Verdict::Send);
        for (n, (i, v)) in planned.enumerate() {
            let job = Job { page: audiences.page_of(i as u32), person: i as u32 };
            if hold(n, job) {
                *v = Verdict::Hold(reason);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prior_lookup_finds_by_page_and_recipient() {
        let text = "version: 1\nid: c\npages:\n  - { id: \"500\", provider: graph, token_env: T }\n  - { id: \"600\", provider: graph, token_env: T }\naudiences:\n  - { page: \"500\", recipients: [{ id: \"1\" }, { id: \"2\" }] }\n  - { page: \"600\", recipients: [{ id: \"1\" }] }\nmessage: { text: hi }\nmessaging_type: UPDATE\n";
        let loaded = crate::campaign::load::load_bytes(std::path::Path::new("c.yaml"), text.as_bytes()).unwrap();
        let now = chrono::Utc::now();
        let campaign = crate::campaign::validate(&loaded, now).unwrap();
        let audiences = crate::audience::merge::load(&campaign, now, &Default::default());
        let map = [
            (("500".to_string(), "1".to_string()), Prior::Sent),
            (("600".to_string(), "1".to_string()), Prior::Failed),
            (("700".to_string(), "1".to_string()), Prior::Failed),
            (("500".to_string(), "9".to_string()), Prior::Failed),
        ];
        let lookup = prior_lookup(map.into_iter().collect(), &campaign, &audiences);
        let person = |page, id| audiences.find_person(page, id).unwrap();
        assert_eq!(lookup(person(0, "1")), Some(Prior::Sent));
        assert_eq!(lookup(person(1, "1")), Some(Prior::Failed));
        assert_eq!(lookup(person(0, "2")), None);
    }
}
