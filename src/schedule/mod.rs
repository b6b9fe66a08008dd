//! Cron schedules: when a campaign fires, and what one `pagecast tick` should
//! do about it (SPEC §2 `schedule:`, §5 `tick`).
//!
//! This module exists so that every question about time that `tick`, `next`
//! and `validate` ask is answered in one pure place: no clock (every function
//! takes `now`), no I/O, no ledger. That keeps the rules that are easy to get
//! wrong (daylight saving time, catch-up, missed fires after an outage) small
//! enough to test exhaustively.
//!
//! - [`cron`](self::cron): reading the crontab line as crontab(5) does;
//! - [`zone`]: IANA zone names, and daylight saving time;
//! - [`fires`]: the fire times, forwards and backwards;
//! - [`tick`]: what one tick does about one campaign.

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use croner::Cron;

mod cron;
mod fires;
mod tick;
mod zone;

pub use cron::parse_cron;
use cron::parse_line;
pub use fires::Fire;
use fires::times_of_day;
pub use tick::{MAX_MISSED_LISTED, TickInput, TickPlan, plan_tick};
pub use zone::parse_timezone;

/// A parsed `schedule:`: a crontab line, the IANA zone it is read in, and how
/// late a fire may still be sent.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The crontab line as written in the campaign file.
    pub expr: String,
    /// The zone the line's wall-clock times are read in.
    pub timezone: Tz,
    /// A fire whose time is more than this before `now` is recorded as
    /// missed instead of sent.
    pub catch_up: TimeDelta,
    /// The parsed line; decides which calendar days match.
    cron: Cron,
    /// Every wall-clock time of day the line names, ascending.
    times: Vec<NaiveTime>,
    /// cron's "wildcard job": the minute or hour field starts with `*`. Such a
    /// job runs on the clock as it is through DST; other jobs run once per
    /// local time (see the module documentation).
    wildcard_time: bool,
}

/// Why a `schedule:` was rejected. The message says what is wrong, the hint
/// how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The `cron` line is not a standard 5-field crontab line.
    #[error("{message}")]
    Cron {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The `timezone` is not an IANA zone name.
    #[error("{message}")]
    Timezone {
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl ScheduleError {
    /// The `schedule:` key at fault: `"cron"` or `"timezone"`.
    pub fn field(&self) -> &'static str {
        match self {
            ScheduleError::Cron { .. } => "cron",
            ScheduleError::Timezone { .. } => "timezone",
        }
    }

    /// How to fix it, in one sentence.
    pub fn hint(&self) -> &str {
        match self {
            ScheduleError::Cron { hint, .. } | ScheduleError::Timezone { hint, .. } => hint,
        }
    }

    fn cron(message: impl Into<String>, hint: impl Into<String>) -> Self {
        ScheduleError::Cron { message: message.into(), hint: hint.into() }
    }
}

impl Schedule {
    /// Builds a schedule from a `schedule:` block: the crontab line (see
    /// [`parse_cron`]), the zone (see [`parse_timezone`]; `None` is UTC) and
    /// `catch_up` in seconds. A negative `catch_up` counts as zero: durations
    /// are checked where the file is read.
    pub fn new(expr: &str, timezone: Option<&str>, catch_up_secs: i64) -> Result<Schedule, ScheduleError> {
        let line = parse_line(expr)?;
        let timezone = timezone.map(parse_timezone).transpose()?.unwrap_or(Tz::UTC);
        Ok(Schedule {
            expr: expr.to_string(),
            timezone,
            catch_up: TimeDelta::try_seconds(catch_up_secs.max(0)).unwrap_or(TimeDelta::MAX),
            times: times_of_day(&line.cron),
            cron: line.cron,
            wildcard_time: line.wildcard_time,
        })
    }
}

/// Helpers shared by the tests of every part.
#[cfg(test)]
mod testing {
    use super::*;
    use chrono::{DateTime, Utc};

    pub(crate) fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("test time")
    }

    pub(crate) fn schedule(expr: &str, zone: &str) -> Schedule {
        Schedule::new(expr, Some(zone), 30 * 60).expect("test schedule")
    }

    pub(crate) fn utc_fires(schedule: &Schedule, after: &str, count: usize) -> Vec<String> {
        schedule
            .fires_after(t(after), count)
            .iter()
            .map(|fire| fire.utc.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .collect()
    }

    pub(crate) fn cron_error(expr: &str) -> ScheduleError {
        let err = parse_cron(expr).expect_err(expr);
        assert_eq!(err.field(), "cron", "{expr}");
        assert!(!err.hint().is_empty(), "{expr}");
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_defaults_to_utc_and_reports_the_field() {
        let s = Schedule::new("0 9 * * *", None, 1800).unwrap();
        assert_eq!(s.timezone, Tz::UTC);
        assert_eq!(s.catch_up, TimeDelta::minutes(30));
        assert_eq!(s.expr, "0 9 * * *");
        assert_eq!(Schedule::new("0 9 * *", None, 0).unwrap_err().field(), "cron");
        assert_eq!(Schedule::new("0 9 * * *", Some("Nowhere"), 0).unwrap_err().field(), "timezone");
        assert_eq!(Schedule::new("0 9 * * *", None, -5).unwrap().catch_up, TimeDelta::zero());
    }
}
