//! "What now?" after one answer, as a pure function (SPEC §4).
//!
//! [`classify`](super::classify) says what an answer means; [`next`] says
//! what the worker does about it, given how many attempts were made and
//! whether an earlier answer left delivery in doubt. The worker's loop only
//! carries out the step: it never decides. Two rules hold for every path:
//! - `failed` only for an answer about the person ([`Ending::Failed`]);
//!   everything else that surely did not deliver is [`Ending::Pending`], so
//!   the next run of the occurrence sends to them;
//! - once an answer may have delivered the message, nothing later can make
//!   the recipient `failed` or `not_attempted`: it ends `unknown`.

use super::classify::Class;
use crate::vocab::{Doubt, Pending};

/// The attempt settings of a campaign (`send.max_attempts`, `send.retry_ambiguous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attempts per recipient for errors that were surely not delivered.
    pub max_attempts: u32,
    /// Retry answers that may have been delivered.
    pub retry_ambiguous: bool,
}

/// How one recipient ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Delivered.
    Sent,
    /// The API answered about this person. `streak`: the failure is of a
    /// kind that, repeated, shows an error of the page (SPEC §4 streaks).
    Failed {
        /// Counts towards a streak.
        streak: bool,
    },
    /// May have been delivered.
    Unsure(Doubt),
    /// Surely not delivered, for this reason.
    Pending(Pending),
}

/// What the worker does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The recipient's outcome is final.
    Done(Ending),
    /// Wait out a backoff and send again. `ambiguous`: this answer may have
    /// delivered (only with `retry_ambiguous`).
    Retry {
        /// This answer left delivery in doubt.
        ambiguous: bool,
    },
    /// Pause the whole page, then send again; not counted as an attempt.
    PausePage,
    /// Stop the page (an error that would repeat for every recipient); the
    /// recipient ends as given.
    StopPage(Ending),
}

/// The step after answer `class` to attempt number `attempt` (1-based).
/// `maybe_delivered`: an earlier attempt's answer was ambiguous.
pub fn next(class: Class, doubt: Option<Doubt>, attempt: u32, limits: Limits, maybe_delivered: bool) -> Step {
    let pending = |reason| Step::Done(settle(reason, maybe_delivered));
    let failed = |streak| match maybe_delivered {
        true => Step::Done(Ending::Unsure(Doubt::EarlierAttempt)),
        false => Step::Done(Ending::Failed { streak }),
    };
    match class {
        Class::Sent => Step::Done(Ending::Sent),
        Class::RecipientFailed => failed(false),
        Class::OtherFailure => failed(true),
        Class::TryLater => pending(Pending::TryLater),
        Class::Fatal => Step::StopPage(settle(Pending::PageStopped, maybe_delivered)),
        Class::Throttle => Step::PausePage,
        Class::Ambiguous if limits.retry_ambiguous && attempt < limits.max_attempts => Step::Retry { ambiguous: true },
        Class::Ambiguous => Step::Done(Ending::Unsure(doubt.unwrap_or(Doubt::ServerError))),
        Class::Retry | Class::ConnectFailed if attempt >= limits.max_attempts => pending(Pending::RetriesExhausted),
        Class::Retry | Class::ConnectFailed => Step::Retry { ambiguous: false },
    }
}

/// How a recipient ends that is stopped before its next attempt: not
/// attempted for `reason`, unless an earlier answer may have delivered.
pub fn settle(reason: Pending, maybe_delivered: bool) -> Ending {
    if maybe_delivered { Ending::Unsure(Doubt::EarlierAttempt) } else { Ending::Pending(reason) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_attempts: 3, retry_ambiguous: false };
    const RETRY_AMBIGUOUS: Limits = Limits { max_attempts: 3, retry_ambiguous: true };

    fn step(class: Class, attempt: u32) -> Step {
        next(class, None, attempt, LIMITS, false)
    }

    #[test]
    fn answers_about_the_person_fail_and_only_other_failures_count_towards_a_streak() {
        assert_eq!(step(Class::RecipientFailed, 1), Step::Done(Ending::Failed { streak: false }));
        assert_eq!(step(Class::OtherFailure, 1), Step::Done(Ending::Failed { streak: true }));
        assert_eq!(step(Class::Sent, 2), Step::Done(Ending::Sent));
    }

    #[test]
    fn used_up_retries_are_not_attempted_never_failed() {
        assert_eq!(step(Class::Retry, 1), Step::Retry { ambiguous: false });
        assert_eq!(step(Class::ConnectFailed, 2), Step::Retry { ambiguous: false });
        assert_eq!(step(Class::Retry, 3), Step::Done(Ending::Pending(Pending::RetriesExhausted)));
        assert_eq!(step(Class::ConnectFailed, 3), Step::Done(Ending::Pending(Pending::RetriesExhausted)));
    }

    #[test]
    fn a_fatal_answer_stops_the_page_and_leaves_the_recipient_for_the_next_run() {
        assert_eq!(step(Class::Fatal, 1), Step::StopPage(Ending::Pending(Pending::PageStopped)));
    }

    #[test]
    fn a_busy_person_is_tried_later() {
        assert_eq!(step(Class::TryLater, 1), Step::Done(Ending::Pending(Pending::TryLater)));
    }

    #[test]
    fn throttles_pause_the_page_whatever_the_attempt_count() {
        assert_eq!(step(Class::Throttle, 1), Step::PausePage);
        assert_eq!(step(Class::Throttle, 99), Step::PausePage);
    }

    #[test]
    fn ambiguous_answers_are_unknown_unless_retry_ambiguous() {
        let doubt = Some(Doubt::Timeout);
        assert_eq!(next(Class::Ambiguous, doubt, 1, LIMITS, false), Step::Done(Ending::Unsure(Doubt::Timeout)));
        assert_eq!(next(Class::Ambiguous, doubt, 1, RETRY_AMBIGUOUS, false), Step::Retry { ambiguous: true });
        assert_eq!(next(Class::Ambiguous, doubt, 3, RETRY_AMBIGUOUS, true), Step::Done(Ending::Unsure(Doubt::Timeout)));
    }

    #[test]
    fn after_an_ambiguous_answer_nothing_is_failed_or_pending() {
        let after = |class| next(class, None, 3, RETRY_AMBIGUOUS, true);
        assert_eq!(after(Class::Retry), Step::Done(Ending::Unsure(Doubt::EarlierAttempt)));
        assert_eq!(after(Class::TryLater), Step::Done(Ending::Unsure(Doubt::EarlierAttempt)));
        assert_eq!(after(Class::RecipientFailed), Step::Done(Ending::Unsure(Doubt::EarlierAttempt)));
        assert_eq!(after(Class::Fatal), Step::StopPage(Ending::Unsure(Doubt::EarlierAttempt)));
        assert_eq!(settle(Pending::Interrupted, true), Ending::Unsure(Doubt::EarlierAttempt));
        assert_eq!(settle(Pending::Interrupted, false), Ending::Pending(Pending::Interrupted));
    }
}
