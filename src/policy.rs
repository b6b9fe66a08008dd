//! Meta's messaging-window rules (SPEC §3) as data and pure functions.
//!
//! The planner asks [`Rule::check`] once per recipient, and the sender asks
//! again just before each request, so a window that closes during a long run
//! is honoured. Nothing here reads a clock: `now` is always an argument.

use std::fmt;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::Serialize;

use crate::campaign::model::{MessageTag, MessagingType, Provider};

/// Why a recipient is not sent to, in the order of precedence SPEC §3 gives:
/// when several apply, the first is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// On an opt-out list.
    Suppressed,
    /// The ledger holds a send for this occurrence.
    AlreadySent,
    /// The ledger holds a permanent failure for this occurrence.
    AlreadyFailed,
    /// An earlier attempt of this occurrence never recorded its result.
    UnknownPrevious,
    /// No time of last interaction is known.
    NoInteraction,
    /// Outside the 24-hour standard window.
    OutsideWindow,
    /// Outside the 7-day window of the tag.
    OutsideTagWindow,
    /// A template variable is undefined, or the rendered text breaks a limit.
    TemplateError,
    /// The page's utility template is missing or not APPROVED (SPEC §7).
    TemplateNotApproved,
}

impl SkipReason {
    /// The reason as it appears in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Suppressed => "suppressed",
            SkipReason::AlreadySent => "already_sent",
            SkipReason::AlreadyFailed => "already_failed",
            SkipReason::UnknownPrevious => "unknown_previous",
            SkipReason::NoInteraction => "no_interaction",
            SkipReason::OutsideWindow => "outside_window",
            SkipReason::OutsideTagWindow => "outside_tag_window",
            SkipReason::TemplateError => "template_error",
            SkipReason::TemplateNotApproved => "template_not_approved",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long after a person's last message the campaign may reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The 24-hour standard window (RESPONSE, UPDATE, harasocial payload ids).
    Standard,
    /// The 7-day window of the CUSTOMER_FEEDBACK tag.
    Tag,
    /// No window: approved utility templates (and retired tags before retirement).
    Unlimited,
}

impl Window {
    fn length(self) -> Option<TimeDelta> {
        match self {
            Window::Standard => Some(TimeDelta::hours(24)),
            Window::Tag => Some(TimeDelta::days(7)),
            Window::Unlimited => None,
        }
    }

    fn skip_reason(self) -> SkipReason {
        match self {
            Window::Tag => SkipReason::OutsideTagWindow,
            _ => SkipReason::OutsideWindow,
        }
    }
}

/// A tag Meta retired, and when.
#[derive(Debug, Clone, Copy)]
pub struct Retirement {
    /// The tag.
    pub tag: MessageTag,
    /// From this instant Meta answers error 100.
    pub at: DateTime<Utc>,
}

/// Tags Meta retired: requests with them get error 100 from this date on.
pub fn retirements() -> [Retirement; 3] {
    let at = Utc.with_ymd_and_hms(2026, 4, 27, 0, 0, 0).single().expect("a valid date");
    [
        Retirement { tag: MessageTag::AccountUpdate, at },
        Retirement { tag: MessageTag::ConfirmedEventUpdate, at },
        Retirement { tag: MessageTag::PostPurchaseUpdate, at },
    ]
}

/// Why a campaign's messaging type and tag cannot be sent at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// HUMAN_AGENT is for people typing, not campaigns.
    #[error("HUMAN_AGENT is for replies typed by a person; Meta forbids it for automated messages")]
    HumanAgent,
    /// Meta retired the tag.
    #[error("Meta retired the {tag} tag on {date}; requests with it now fail with error 100")]
    Retired {
        /// The tag's wire name.
        tag: &'static str,
        /// The retirement date.
        date: String,
    },
    /// A graph message needs a messaging type.
    #[error("graph pages need a messaging_type")]
    MissingType,
    /// MESSAGE_TAG without a tag.
    #[error("MESSAGE_TAG needs a tag")]
    MissingTag,
}

/// The window rule that applies to a campaign's sends on one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The window.
    pub window: Window,
    /// Windows are treated as closing this much early.
    pub margin: TimeDelta,
}

impl Rule {
    /// The rule for a provider, messaging type and tag, as of `now` (SPEC §3).
    pub fn for_campaign(
        provider: Provider,
        messaging_type: Option<MessagingType>,
        tag: Option<MessageTag>,
        margin: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Rule, RuleError> {
        let window = match (provider, messaging_type, tag) {
            (Provider::Harasocial, _, _) => Window::Standard,
            (Provider::Graph, None, _) => return Err(RuleError::MissingType),
            (Provider::Graph, Some(MessagingType::Response | MessagingType::Update), _) => Window::Standard,
            (Provider::Graph, Some(MessagingType::Utility), _) => Window::Unlimited,
            (Provider::Graph, Some(MessagingType::MessageTag), None) => return Err(RuleError::MissingTag),
            (Provider::Graph, Some(MessagingType::MessageTag), Some(tag)) => tag_window(tag, now)?,
        };
        Ok(Rule { window, margin })
    }

    /// When the window closes for someone whose last message was at `last`
    /// (`last` + window − margin); None when no window applies.
    pub fn closes_at(&self, last: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        Some(last? + self.window.length()? - self.margin)
    }

    /// [`Rule::check`] in nanoseconds since the Unix epoch, for planning
    /// millions of recipients without building a date for each: the same
    /// answer, or None when the sum does not fit (then use `check`).
    pub fn check_nanos(&self, last: i64, now: i64) -> Option<Result<(), SkipReason>> {
        Some(match self.closes_at_nanos(last)? {
            None => Ok(()),
            Some(closes) if now < closes => Ok(()),
            Some(_) => Err(self.window.skip_reason()),
        })
    }

    /// [`Rule::closes_at`] in nanoseconds since the Unix epoch; None when
    /// the sum does not fit (then use `closes_at`).
    pub fn closes_at_nanos(&self, last: i64) -> Option<Option<i64>> {
        let Some(length) = self.window.length() else { return Some(None) };
        Some(Some(last.checked_add((length - self.margin).num_nanoseconds()?)?))
    }

    /// May the message be sent at `now` to someone whose last message was at
    /// `last`? Ok carries `window_closes_at`.
    pub fn check(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, SkipReason> {
        let Some(last) = last else { return Err(SkipReason::NoInteraction) };
        match self.closes_at(Some(last)) {
            None => Ok(None),
            Some(closes) if now < closes => Ok(Some(closes)),
            Some(_) => Err(self.window.skip_reason()),
        }
    }
}

fn tag_window(tag: MessageTag, now: DateTime<Utc>) -> Result<Window, RuleError> {
    if let Some(r) = retirements().into_iter().find(|r| r.tag == tag) {
        if now >= r.at {
            return Err(RuleError::Retired { tag: tag.as_str(), date: r.at.format("%Y-%m-%d").to_string() });
        }
        // Before retirement these tags reached people outside any window.
        return Ok(Window::Unlimited);
    }
    match tag {
        MessageTag::CustomerFeedback => Ok(Window::Tag),
        MessageTag::HumanAgent => Err(RuleError::HumanAgent),
        _ => unreachable!("retired tags are handled above"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_check_in_nanoseconds_is_the_check() {
        let mut rng = fastrand::Rng::with_seed(24);
        let now: DateTime<Utc> = "2026-11-22T00:00:00Z".parse().unwrap();
        let now_nanos = now.timestamp_nanos_opt().unwrap();
        for window in [Window::Standard, Window::Tag, Window::Unlimited] {
            for margin in [TimeDelta::zero(), TimeDelta::minutes(5), TimeDelta::milliseconds(1)] {
                let rule = Rule { window, margin };
                for _ in 0..5000 {
                    let back = rng.i64(-1_000_000_000..8 * 86_400 * 1_000_000_000);
                    let last = now_nanos - back;
                    let fast = rule.check_nanos(last, now_nanos).unwrap();
                    let slow = rule.check(Some(DateTime::from_timestamp_nanos(last)), now).map(|_| ());
                    assert_eq!(fast, slow, "{window:?} {margin} {back}");
                    let closes = rule.closes_at_nanos(last).unwrap().map(DateTime::from_timestamp_nanos);
                    assert_eq!(closes, rule.closes_at(Some(DateTime::from_timestamp_nanos(last))));
                }
                assert!(rule.window.length().is_none() || rule.check_nanos(i64::MAX, 0).is_none(), "overflow is None");
            }
        }
    }

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rule(mt: MessagingType, tag: Option<MessageTag>) -> Rule {
        Rule::for_campaign(Provider::Graph, Some(mt), tag, TimeDelta::minutes(10), t("2026-11-22T00:00:00Z")).unwrap()
    }

    const LAST: &str = "2026-11-20T08:00:00Z";

    #[test]
    fn standard_window_boundary_is_24h_minus_margin_exclusive() {
        let r = rule(MessagingType::Update, None);
        let last = Some(t(LAST));
        let closes = t("2026-11-21T07:50:00Z");
        assert_eq!(r.check(last, closes - TimeDelta::seconds(1)), Ok(Some(closes)));
        assert_eq!(r.check(last, closes), Err(SkipReason::OutsideWindow));
        assert_eq!(r.check(last, closes + TimeDelta::seconds(1)), Err(SkipReason::OutsideWindow));
    }

    #[test]
    fn harasocial_uses_the_standard_window() {
        let r = Rule::for_campaign(Provider::Harasocial, None, None, TimeDelta::minutes(10), t(LAST)).unwrap();
        assert_eq!(r.window, Window::Standard);
    }

    #[test]
    fn customer_feedback_has_seven_days() {
        let r = rule(MessagingType::MessageTag, Some(MessageTag::CustomerFeedback));
        let closes = t("2026-11-27T07:50:00Z");
        assert_eq!(r.check(Some(t(LAST)), closes - TimeDelta::seconds(1)), Ok(Some(closes)));
        assert_eq!(r.check(Some(t(LAST)), closes), Err(SkipReason::OutsideTagWindow));
    }

    #[test]
    fn utility_has_no_window_but_needs_an_interaction() {
        let r = rule(MessagingType::Utility, None);
        assert_eq!(r.check(Some(t("2020-01-01T00:00:00Z")), t(LAST)), Ok(None));
        assert_eq!(r.check(None, t(LAST)), Err(SkipReason::NoInteraction));
    }

    #[test]
    fn no_interaction_is_never_sent() {
        assert_eq!(rule(MessagingType::Response, None).check(None, t(LAST)), Err(SkipReason::NoInteraction));
    }

    #[test]
    fn human_agent_is_refused() {
        let e = Rule::for_campaign(
            Provider::Graph,
            Some(MessagingType::MessageTag),
            Some(MessageTag::HumanAgent),
            TimeDelta::zero(),
            t(LAST),
        );
        assert_eq!(e, Err(RuleError::HumanAgent));
    }

    #[test]
    fn retired_tags_are_refused_from_2026_04_27() {
        let at = |now| {
            Rule::for_campaign(
                Provider::Graph,
                Some(MessagingType::MessageTag),
                Some(MessageTag::PostPurchaseUpdate),
                TimeDelta::zero(),
                t(now),
            )
        };
        assert!(at("2026-04-26T23:59:59Z").is_ok());
        assert!(matches!(at("2026-04-27T00:00:00Z"), Err(RuleError::Retired { .. })));
    }

    #[test]
    fn precedence_follows_the_spec() {
        let mut reasons = [SkipReason::TemplateError, SkipReason::NoInteraction, SkipReason::Suppressed];
        reasons.sort();
        assert_eq!(reasons[0], SkipReason::Suppressed);
        assert!(SkipReason::AlreadySent < SkipReason::AlreadyFailed);
        assert!(SkipReason::UnknownPrevious < SkipReason::NoInteraction);
        assert!(SkipReason::OutsideTagWindow < SkipReason::TemplateError);
    }
}
