//! Time zones and daylight saving time: reading a `timezone:` name, and how
//! a wall-clock time of the cron line becomes instants in that zone.
//!
//! # Daylight saving time
//!
//! Fires follow the campaign's zone the way cron does (crontab(5), "Special
//! considerations ... daylight savings time"):
//! - a *fixed-time* job (neither the minute nor the hour field starts with
//!   `*`) whose local time is skipped by spring-forward fires once, at the
//!   first valid instant after the jump; a local time repeated by fall-back
//!   fires once, at its first occurrence;
//! - a *wildcard* job (`*/15 * * * *`, `0 * * * *`) runs on the clock as it
//!   is: skipped times do not fire, and the repeated hour fires again, so an
//!   "every 15 minutes" job keeps its pace through both transitions.
//!
//! croner 4 applies the fixed-time rules only to lines with a single minute
//! and a single hour: `30 2,14 * * *` loses its 02:30 fire on a
//! spring-forward day and `30 1,13 * * *` fires twice on a fall-back day. So
//! fires are computed here, per local calendar day: each wall-clock time the
//! line names is resolved in the zone and the rule above is applied. This also
//! lets [`plan_tick`](super::plan_tick) count a year of minutely missed fires day by day instead
//! of one by one.

use chrono::{DateTime, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::{Schedule, ScheduleError};

/// Parses an IANA time zone name (`Asia/Ho_Chi_Minh`, `Europe/Berlin`,
/// `UTC`). Names are case-sensitive, as in the tz database; the hint gives the
/// right spelling when the name matches a zone in another case, with spaces
/// for underscores, or by its city alone.
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>().map_err(|_| timezone_error(name))
}

fn timezone_error(name: &str) -> ScheduleError {
    let message = if name.trim().is_empty() {
        "the time zone is empty".to_string()
    } else {
        format!("unknown time zone \"{name}\"")
    };
    // Offsets first: "GMT+7" would otherwise find "Etc/GMT+7", which is
    // UTC-7 (POSIX signs are inverted).
    let hint = if looks_like_offset(name) {
        "a UTC offset is not a time zone and does not follow daylight saving time; use the IANA name of the place, e.g. \"Asia/Ho_Chi_Minh\"".to_string()
    } else if let Some(zone) = suggest_zone(name) {
        format!("did you mean \"{zone}\"? Zone names are IANA names, spelled exactly")
    } else {
        "use an IANA time zone name, e.g. \"Asia/Ho_Chi_Minh\", \"Europe/Berlin\" or \"UTC\"".to_string()
    };
    ScheduleError::Timezone { message, hint }
}

/// A zone whose name is `name` up to case and spaces, or whose city is.
fn suggest_zone(name: &str) -> Option<&'static str> {
    fn fold(s: &str) -> String {
        s.trim().to_ascii_lowercase().replace(' ', "_")
    }
    let wanted = fold(name);
    if wanted.is_empty() {
        return None;
    }
    let zones = || chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    zones().find(|zone| fold(zone) == wanted).or_else(|| {
        zones().find(|zone| {
            !wanted.contains('/')
                && zone.contains('/')
                && zone.rsplit('/').next().is_some_and(|city| fold(city) == wanted)
        })
    })
}

fn looks_like_offset(name: &str) -> bool {
    let name = name.trim();
    let rest = name.strip_prefix("UTC").or_else(|| name.strip_prefix("GMT")).unwrap_or(name);
    rest.starts_with(['+', '-']) && rest[1..].bytes().any(|b| b.is_ascii_digit())
}

impl Schedule {
    /// The instants at which the wall-clock time `local` fires, by cron's
    /// DST rule (module documentation).
    pub(super) fn resolve(&self, local: NaiveDateTime, out: &mut Vec<DateTime<Utc>>) {
        match self.timezone.from_local_datetime(&local) {
            MappedLocalTime::Single(at) => out.push(at.to_utc()),
            MappedLocalTime::Ambiguous(first, second) => {
                out.push(first.to_utc());
                if self.wildcard_time {
                    out.push(second.to_utc());
                }
            }
            MappedLocalTime::None => {
                if !self.wildcard_time {
                    out.extend(first_instant_after_gap(self.timezone, local));
                }
            }
        }
    }

    /// The UTC span of a local day without a DST transition: its fires are
    /// exactly one per wall-clock time, all within the span.
    pub(super) fn regular_day(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let midnight = |date: NaiveDate| self.timezone.from_local_datetime(&date.and_time(NaiveTime::MIN)).single();
        let start = midnight(date)?;
        let end = midnight(date.succ_opt()?)?;
        // Equal offsets at both ends: no transition, as no zone has had two
        // in one day.
        (start.offset().fix() == end.offset().fix()).then(|| (start.to_utc(), end.to_utc()))
    }

    pub(super) fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }
}

/// The first instant after the spring-forward gap that swallowed `local`.
/// Transitions fall on whole minutes in today's tz database, so minutes are
/// probed first; the pass over seconds finds an old LMT transition that
/// does not.
fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    // Gaps last an hour or less; the longest ever (Samoa, 2011) a whole day.
    const MAX_GAP_MINUTES: i64 = 2 * 24 * 60;
    let exists = |t: &NaiveDateTime| tz.from_local_datetime(t).earliest().is_some();
    let minute = (1..=MAX_GAP_MINUTES).map(|m| local + TimeDelta::minutes(m)).find(exists)?;
    // The minute before `minute` is in the gap, so the first second that
    // exists after it is where the gap ends.
    let end = (0..60).rev().map(|s| minute - TimeDelta::seconds(s)).find(exists)?;
    tz.from_local_datetime(&end).earliest().map(|at| at.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::testing::*;

    #[test]
    fn timezone_names() {
        assert_eq!(parse_timezone("Asia/Ho_Chi_Minh"), Ok(chrono_tz::Asia::Ho_Chi_Minh));
        assert_eq!(parse_timezone("UTC"), Ok(Tz::UTC));
        assert_eq!(parse_timezone("Europe/Berlin"), Ok(chrono_tz::Europe::Berlin));

        for (name, suggestion) in [
            ("asia/ho_chi_minh", "\"Asia/Ho_Chi_Minh\""),
            ("Asia/Ho Chi Minh", "\"Asia/Ho_Chi_Minh\""),
            ("ho chi minh", "\"Asia/Ho_Chi_Minh\""),
            ("utc", "\"UTC\""),
            ("Berlin", "\"Europe/Berlin\""),
            (" Europe/Berlin", "\"Europe/Berlin\""),
        ] {
            let err = parse_timezone(name).expect_err(name);
            assert_eq!(err.field(), "timezone");
            assert!(err.hint().contains(suggestion), "{name}: {}", err.hint());
        }
        for name in ["Mars/Olympus", "ICT", "", "+07:00", "UTC+7", "GMT+7"] {
            let err = parse_timezone(name).expect_err(name);
            assert!(err.hint().contains("Asia/Ho_Chi_Minh"), "{name}: {}", err.hint());
        }
        assert!(parse_timezone("+07:00").unwrap_err().hint().contains("UTC offset"));
        assert!(!parse_timezone("GMT+7").unwrap_err().hint().contains("Etc/GMT+7"));
        assert!(parse_timezone("Mars/Olympus").unwrap_err().to_string().contains("Mars/Olympus"));
    }

    #[test]
    fn spring_forward_fires_once_at_the_first_instant_after_the_jump() {
        // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        let s = schedule("30 2 * * *", "America/New_York");
        let fires = s.fires_after(t("2026-03-07T12:00:00Z"), 3);
        assert_eq!(fires[0].utc, t("2026-03-08T07:00:00Z"));
        assert_eq!(fires[0].local.to_rfc3339(), "2026-03-08T03:00:00-04:00");
        assert_eq!(fires[1].utc, t("2026-03-09T06:30:00Z")); // 02:30 EDT
        // Several skipped times of one line collapse into one fire.
        assert_eq!(
            utc_fires(&schedule("0,30 2 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 2),
            ["2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"]
        );
        // A list of hours is still a fixed-time job (croner 4 drops this fire).
        assert_eq!(
            utc_fires(&schedule("30 2,14 * * *", "America/New_York"), "2026-03-07T20:00:00Z", 3),
            ["2026-03-08T07:00:00Z", "2026-03-08T18:30:00Z", "2026-03-09T06:30:00Z"]
        );
    }

    #[test]
    fn fall_back_fires_once_at_the_first_occurrence() {
        // New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST.
        let s = schedule("30 1 * * *", "America/New_York");
        let fires = s.fires_after(t("2026-10-31T12:00:00Z"), 2);
        assert_eq!(fires[0].utc, t("2026-11-01T05:30:00Z"));
        assert_eq!(fires[0].local.to_rfc3339(), "2026-11-01T01:30:00-04:00");
        assert_eq!(fires[1].utc, t("2026-11-02T06:30:00Z")); // not 2026-11-01T06:30Z
        // Also when the hour is one of a list (croner 4 fires twice).
        assert_eq!(
            utc_fires(&schedule("30 1,13 * * *", "America/New_York"), "2026-10-31T12:00:00Z", 4),
            ["2026-10-31T17:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T18:30:00Z", "2026-11-02T06:30:00Z"]
        );
    }

    #[test]
    fn wildcard_jobs_run_on_the_clock_through_dst() {
        // As cron: the repeated hour fires again, the skipped hour does not.
        let s = schedule("*/30 * * * *", "America/New_York");
        assert_eq!(
            utc_fires(&s, "2026-11-01T04:45:00Z", 5),
            [
                "2026-11-01T05:00:00Z", // 01:00 EDT
                "2026-11-01T05:30:00Z", // 01:30 EDT
                "2026-11-01T06:00:00Z", // 01:00 EST
                "2026-11-01T06:30:00Z", // 01:30 EST
                "2026-11-01T07:00:00Z", // 02:00 EST
            ]
        );
        assert_eq!(
            utc_fires(&s, "2026-03-08T06:15:00Z", 3),
            [
                "2026-03-08T06:30:00Z", // 01:30 EST
                "2026-03-08T07:00:00Z", // 03:00 EDT
                "2026-03-08T07:30:00Z",
            ]
        );
        // An hourly job keeps an hour between fires in UTC.
        let hourly = schedule("0 * * * *", "America/New_York");
        assert_eq!(
            utc_fires(&hourly, "2026-11-01T04:30:00Z", 3),
            ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z"]
        );
    }

    #[test]
    fn berlin_transitions() {
        // 2026-03-29 02:00 CET jumps to 03:00 CEST; 2026-10-25 03:00 CEST falls to 02:00 CET.
        let s = schedule("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            utc_fires(&s, "2026-03-28T12:00:00Z", 3),
            ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]
        );
        assert_eq!(
            utc_fires(&s, "2026-10-24T12:00:00Z", 3),
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"]
        );
        // Times next to the transitions are untouched.
        assert_eq!(
            utc_fires(&schedule("0 3 * * *", "Europe/Berlin"), "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"]
        );
        assert_eq!(
            utc_fires(&schedule("0 9 * * *", "Europe/Berlin"), "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z"]
        );
    }

    #[test]
    fn havana_transitions_at_midnight() {
        // Havana springs forward at 00:00 (to 01:00 CDT) and falls back at
        // 01:00 CDT (to 00:00 CST): midnight itself is skipped, then repeated.
        let s = schedule("0 0 * * *", "America/Havana");
        assert_eq!(
            utc_fires(&s, "2026-03-06T12:00:00Z", 3),
            ["2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"]
        );
        assert_eq!(s.fires_after(t("2026-03-07T12:00:00Z"), 1)[0].local.to_rfc3339(), "2026-03-08T01:00:00-04:00");
        assert_eq!(utc_fires(&s, "2026-10-31T12:00:00Z", 2), ["2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"]);
    }
}
