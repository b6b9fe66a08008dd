//! Fire times: the instants a schedule fires at, walked one local calendar
//! day at a time, forwards (`next`) or backwards (the latest fire, missed
//! fires), and counted without listing them.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;

use super::Schedule;

/// How far back [`Schedule::latest_at_or_before`] looks for a fire. A year
/// and a bit covers every yearly job; a line that fires more rarely (only on
/// February 29) is treated as not due rather than searched for years.
const LOOKBACK_DAYS: i64 = 400;

/// How many days a forward search walks without finding a fire before it
/// gives up. The longest real gap between fires is February 29 on a given
/// weekday with AND'ed day fields: 28 years, 40 around 2100. Lines that never
/// fire at all are rejected by [`parse_cron`], so this only bounds the loop.
const MAX_QUIET_DAYS: u32 = 50 * 366;

/// One fire of a schedule, in UTC (the occurrence key) and in the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// The instant, in UTC.
    pub utc: DateTime<Utc>,
    /// The same instant in the schedule's zone.
    pub local: DateTime<Tz>,
}

impl Schedule {
    /// The next `count` fire instants strictly after `after`, in order.
    pub fn fires_after(&self, after: DateTime<Utc>, count: usize) -> Vec<Fire> {
        Walk::forward(self, after)
            .take(count)
            .map(|utc| Fire { utc, local: utc.with_timezone(&self.timezone) })
            .collect()
    }

    /// The latest fire `f` with `f <= now`, searching back at most 400 days;
    /// `None` when there is none in that time.
    pub fn latest_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let floor = now - TimeDelta::days(LOOKBACK_DAYS);
        Walk::backward(self, floor, just_after(now)).next()
    }

    /// Whether the line matches this local calendar day.
    pub(super) fn day_matches(&self, date: NaiveDate) -> bool {
        let pattern = &self.cron.pattern;
        let weekday = croner::Weekday::from_days_from_sunday(date.weekday().num_days_from_sunday());
        // croner errs only on dates that do not exist, and a NaiveDate does.
        pattern.month_match(date.month()).unwrap_or(false)
            && pattern.day_match(date.year(), date.month(), date.day(), weekday).unwrap_or(false)
    }

    /// The fires of one local calendar day, ascending, into `out`.
    pub(super) fn fires_on(&self, date: NaiveDate, out: &mut Vec<DateTime<Utc>>) {
        out.clear();
        if !self.day_matches(date) {
            return;
        }
        for &time in &self.times {
            self.resolve(date.and_time(time), out);
        }
        // On a fall-back day a wildcard job's two passes through the repeated
        // hour interleave, and several skipped times can land on one instant.
        out.sort_unstable();
        out.dedup();
    }

    /// How many fires lie strictly between `after` and `before`, without
    /// listing them: a day without a transition counts as its number of
    /// wall-clock times; only the edge days and DST days are expanded.
    pub(super) fn count_between(&self, after: DateTime<Utc>, before: DateTime<Utc>) -> u64 {
        let mut count = 0;
        // The latest fire counted, so that an instant two days both produce
        // (a gap across midnight) counts once.
        let mut last = after;
        let mut fires = Vec::new();
        let last_day = self.local_date(before).succ_opt();
        let mut day = self.local_date(after).pred_opt();
        while let Some(date) = day.filter(|date| Some(*date) <= last_day) {
            if self.day_matches(date) {
                match self.regular_day(date) {
                    Some((start, end)) if after < start && end <= before => {
                        count += self.times.len() as u64;
                        // Every later fire is at or after `end`.
                        last = start;
                    }
                    _ => {
                        self.fires_on(date, &mut fires);
                        for &fire in &fires {
                            if last < fire && fire < before {
                                count += 1;
                                last = fire;
                            }
                        }
                    }
                }
            }
            day = date.succ_opt();
        }
        count
    }

    /// The newest `limit` fires strictly between `after` and `before`, oldest
    /// first, and how many older ones there are besides.
    pub(super) fn newest_between(
        &self,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
        limit: usize,
    ) -> (Vec<DateTime<Utc>>, u64) {
        let mut fires: Vec<_> = Walk::backward(self, after, before).take(limit).collect();
        let more = if fires.len() == limit {
            let oldest = fires.last().copied().unwrap_or(before);
            self.count_between(after, oldest)
        } else {
            0
        };
        fires.reverse();
        (fires, more)
    }
}

/// Every wall-clock time of day the line names, ascending.
pub(super) fn times_of_day(cron: &Cron) -> Vec<NaiveTime> {
    let minutes = cron.pattern.minutes.values();
    cron.pattern
        .hours
        .values()
        .iter()
        .flat_map(|&hour| {
            minutes.iter().filter_map(move |&minute| NaiveTime::from_hms_opt(u32::from(hour), u32::from(minute), 0))
        })
        .collect()
}

/// The bound that makes "before" mean "at or before" for `at`: fires are
/// whole seconds, so none lies between `at` and this.
fn just_after(at: DateTime<Utc>) -> DateTime<Utc> {
    at + TimeDelta::nanoseconds(1)
}

/// Walks the calendar one local day at a time and yields the fires that lie
/// strictly between `after` and `before`, in time order, forwards or
/// backwards.
struct Walk<'a> {
    schedule: &'a Schedule,
    forward: bool,
    /// The next day to expand.
    day: Option<NaiveDate>,
    /// The last day to expand, if bounded.
    last_day: Option<NaiveDate>,
    /// Fires of the expanded day still to look at, the next one last.
    pending: Vec<DateTime<Utc>>,
    after: DateTime<Utc>,
    before: Option<DateTime<Utc>>,
    /// Days expanded since the last fire yielded.
    quiet_days: u32,
}

impl<'a> Walk<'a> {
    /// Fires after `after`, oldest first. A fire of local day D lies on D or,
    /// pushed past a gap or in the second pass of a repeated hour, next to
    /// it, so the walk starts a day early.
    fn forward(schedule: &'a Schedule, after: DateTime<Utc>) -> Self {
        Walk {
            schedule,
            forward: true,
            day: schedule.local_date(after).pred_opt(),
            last_day: None,
            pending: Vec::new(),
            after,
            before: None,
            quiet_days: 0,
        }
    }

    /// Fires strictly between `after` and `before`, newest first.
    fn backward(schedule: &'a Schedule, after: DateTime<Utc>, before: DateTime<Utc>) -> Self {
        Walk {
            schedule,
            forward: false,
            day: schedule.local_date(before).succ_opt(),
            last_day: schedule.local_date(after).pred_opt(),
            pending: Vec::new(),
            after,
            before: Some(before),
            quiet_days: 0,
        }
    }

    /// Loads the next day's fires; `None` when the walk is over.
    fn expand_next_day(&mut self) -> Option<()> {
        let day = self.day?;
        let past_end = self.last_day.is_some_and(|last| if self.forward { day > last } else { day < last });
        if past_end || self.quiet_days > MAX_QUIET_DAYS {
            return None;
        }
        self.schedule.fires_on(day, &mut self.pending);
        if self.forward {
            self.pending.reverse();
        }
        self.day = if self.forward { day.succ_opt() } else { day.pred_opt() };
        self.quiet_days += 1;
        Some(())
    }
}

impl Iterator for Walk<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            while let Some(fire) = self.pending.pop() {
                if self.after < fire && self.before.is_none_or(|before| fire < before) {
                    // Narrowing the window past each fire yielded also drops
                    // an instant that two adjacent days both produce.
                    if self.forward {
                        self.after = fire;
                    } else {
                        self.before = Some(fire);
                    }
                    self.quiet_days = 0;
                    return Some(fire);
                }
            }
            self.expand_next_day()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::testing::*;

    // --- fires -------------------------------------------------------------

    #[test]
    fn spec_example_weekdays_in_ho_chi_minh() {
        let s = schedule("0 9 * * MON-FRI", "Asia/Ho_Chi_Minh");
        let fires = s.fires_after(t("2026-11-22T12:00:00Z"), 6);
        assert_eq!(fires[0].utc, t("2026-11-23T02:00:00Z"));
        assert_eq!(fires[0].local.to_rfc3339(), "2026-11-23T09:00:00+07:00");
        assert_eq!(
            utc_fires(&s, "2026-11-22T12:00:00Z", 6),
            [
                "2026-11-23T02:00:00Z",
                "2026-11-24T02:00:00Z",
                "2026-11-25T02:00:00Z",
                "2026-11-26T02:00:00Z",
                "2026-11-27T02:00:00Z",
                "2026-11-30T02:00:00Z", // over the weekend
            ]
        );
    }

    #[test]
    fn every_fifteen_minutes() {
        let s = schedule("*/15 * * * *", "UTC");
        assert_eq!(
            utc_fires(&s, "2026-05-01T10:07:00Z", 4),
            ["2026-05-01T10:15:00Z", "2026-05-01T10:30:00Z", "2026-05-01T10:45:00Z", "2026-05-01T11:00:00Z"]
        );
        // Strictly after: a fire at `after` is not repeated.
        assert_eq!(utc_fires(&s, "2026-05-01T10:15:00Z", 1), ["2026-05-01T10:30:00Z"]);
        assert!(s.fires_after(t("2026-05-01T10:15:00Z"), 0).is_empty());
    }

    #[test]
    fn day_fields_are_ored_like_crontab() {
        // The 1st of the month or any Monday.
        let s = schedule("0 0 1 * MON", "UTC");
        assert_eq!(
            utc_fires(&s, "2026-06-01T12:00:00Z", 6),
            [
                "2026-06-08T00:00:00Z",
                "2026-06-15T00:00:00Z",
                "2026-06-22T00:00:00Z",
                "2026-06-29T00:00:00Z",
                "2026-07-01T00:00:00Z", // a Wednesday
                "2026-07-06T00:00:00Z",
            ]
        );
    }

    #[test]
    fn day_fields_are_anded_when_one_starts_with_a_star() {
        // crontab: odd days that are Mondays (croner alone would OR them).
        let s = schedule("0 0 */2 * MON", "UTC");
        assert_eq!(
            utc_fires(&s, "2026-06-01T12:00:00Z", 4),
            ["2026-06-15T00:00:00Z", "2026-06-29T00:00:00Z", "2026-07-13T00:00:00Z", "2026-07-27T00:00:00Z"]
        );
    }

    #[test]
    fn zero_and_seven_are_sunday() {
        let after = "2026-06-01T12:00:00Z";
        let sundays = utc_fires(&schedule("0 0 * * 0", "UTC"), after, 5);
        assert_eq!(sundays[0], "2026-06-07T00:00:00Z"); // 2026-06-07 is a Sunday
        for expr in ["0 0 * * 7", "0 0 * * SUN", "0 0 * * sun", "0 0 * * 0,7"] {
            assert_eq!(utc_fires(&schedule(expr, "UTC"), after, 5), sundays, "{expr}");
        }
        assert_eq!(
            utc_fires(&schedule("0 0 * * FRI-SUN", "UTC"), after, 3),
            utc_fires(&schedule("0 0 * * 5-7", "UTC"), after, 3)
        );
        assert_eq!(
            utc_fires(&schedule("0 0 * * 5-7", "UTC"), after, 3),
            ["2026-06-05T00:00:00Z", "2026-06-06T00:00:00Z", "2026-06-07T00:00:00Z"]
        );
    }

    /// crontab reads a range that starts on Sunday and closes on the name
    /// `SUN` as Sunday alone; only a range starting later wraps to 7.
    #[test]
    fn day_of_week_ranges_read_as_crontab() {
        let after = "2026-06-01T12:00:00Z"; // a Monday
        let sundays = ["2026-06-07T09:00:00Z", "2026-06-14T09:00:00Z", "2026-06-21T09:00:00Z"];
        for expr in ["0 9 * * SUN-SUN", "0 9 * * 0-SUN", "0 9 * * sun-sun", "0 9 * * 7-SUN", "0 9 * * SUN-0"] {
            assert_eq!(utc_fires(&schedule(expr, "UTC"), after, 3), sundays, "{expr}");
        }
        // Numbers keep their meaning: 0-7 is every day.
        assert_eq!(utc_fires(&schedule("0 9 * * 0-7", "UTC"), after, 7).len(), 7);
        assert_eq!(utc_fires(&schedule("0 9 * * 0-7", "UTC"), after, 2)[0], "2026-06-02T09:00:00Z");
        // SAT-SUN wraps to the weekend, SUN-SAT is the whole week.
        assert_eq!(
            utc_fires(&schedule("0 9 * * SAT-SUN", "UTC"), after, 3),
            ["2026-06-06T09:00:00Z", "2026-06-07T09:00:00Z", "2026-06-13T09:00:00Z"]
        );
        assert_eq!(utc_fires(&schedule("0 9 * * SUN-SAT", "UTC"), after, 1), ["2026-06-02T09:00:00Z"]);
        // A step over a Sunday-only range still fires on Sundays alone.
        assert_eq!(utc_fires(&schedule("0 9 * * SUN-SUN/2", "UTC"), after, 3), sundays);
    }

    #[test]
    fn month_names_and_nicknames() {
        assert_eq!(
            utc_fires(&schedule("0 9 1 JAN,jul *", "UTC"), "2026-06-01T00:00:00Z", 2),
            ["2026-07-01T09:00:00Z", "2027-01-01T09:00:00Z"]
        );
        assert_eq!(utc_fires(&schedule("@monthly", "UTC"), "2026-06-15T00:00:00Z", 1), ["2026-07-01T00:00:00Z"]);
        // Leap day: the next one is years away.
        assert_eq!(
            utc_fires(&schedule("0 0 29 2 *", "UTC"), "2026-06-01T00:00:00Z", 2),
            ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
        );
    }

    #[test]
    fn latest_at_or_before() {
        let s = schedule("0 9 * * MON-FRI", "Asia/Ho_Chi_Minh");
        assert_eq!(s.latest_at_or_before(t("2026-11-23T02:00:00Z")), Some(t("2026-11-23T02:00:00Z")));
        assert_eq!(s.latest_at_or_before(t("2026-11-23T01:59:59Z")), Some(t("2026-11-20T02:00:00Z")));
        // Fall-back: the second 01:30 is not a fire.
        let ny = schedule("30 1 * * *", "America/New_York");
        assert_eq!(ny.latest_at_or_before(t("2026-11-01T06:45:00Z")), Some(t("2026-11-01T05:30:00Z")));
        // Spring-forward: the shifted fire.
        let ny = schedule("30 2 * * *", "America/New_York");
        assert_eq!(ny.latest_at_or_before(t("2026-03-08T07:10:00Z")), Some(t("2026-03-08T07:00:00Z")));
        assert_eq!(ny.latest_at_or_before(t("2026-03-08T06:59:59Z")), Some(t("2026-03-07T07:30:00Z")));
        // Nothing within 400 days.
        let leap = schedule("0 0 29 2 *", "UTC");
        assert_eq!(leap.latest_at_or_before(t("2026-06-01T00:00:00Z")), None);
        assert_eq!(leap.latest_at_or_before(t("2028-03-01T00:00:00Z")), Some(t("2028-02-29T00:00:00Z")));
    }

    /// Forward and backward walks and the day counter agree, through the
    /// transitions of several zones.
    #[test]
    fn walks_and_counts_agree_across_transitions() {
        let zones = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Ho_Chi_Minh", "America/Havana"];
        let lines = ["30 1 * * *", "30 2 * * *", "*/20 * * * *", "0,30 0-3 * * *", "15 * * * *", "0 0 * * *"];
        for zone in zones {
            for line in lines {
                let s = schedule(line, zone);
                for start in ["2026-03-01T00:00:00Z", "2026-10-20T00:00:00Z"] {
                    let fires: Vec<_> = s.fires_after(t(start), 3000).iter().map(|f| f.utc).collect();
                    assert!(fires.windows(2).all(|w| w[0] < w[1]), "{zone} {line}");
                    for (i, &fire) in fires.iter().enumerate().skip(1).step_by(7) {
                        assert_eq!(s.latest_at_or_before(fire), Some(fire), "{zone} {line}");
                        let before = fire - TimeDelta::seconds(1);
                        assert_eq!(s.latest_at_or_before(before), Some(fires[i - 1]), "{zone} {line}");
                    }
                    let (first, last) = (fires[0], fires[fires.len() - 1]);
                    assert_eq!(s.count_between(first, last), fires.len() as u64 - 2, "{zone} {line}");
                    let (listed, more) = s.newest_between(first, last, 100);
                    assert_eq!(listed, fires[fires.len() - 101..fires.len() - 1], "{zone} {line}");
                    assert_eq!(more as usize, fires.len() - 102, "{zone} {line}");
                }
            }
        }
    }
}
