//! What one `pagecast tick` should do about one campaign (SPEC §5): run the
//! latest fire, resume an unfinished one, record the others as missed.

use chrono::{DateTime, Utc};

use super::Schedule;

/// At most this many missed fires are listed in a [`TickPlan`]; the rest are
/// only counted (a minutely job after a year-long outage has 500k of them).
pub const MAX_MISSED_LISTED: usize = 1000;

/// What one `tick` knows about one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickInput {
    /// The latest fire that an earlier tick handled (ran, or recorded as
    /// missed); `None` on the campaign's first tick.
    pub last_handled: Option<DateTime<Utc>>,
    /// An occurrence that started but did not finish.
    pub unfinished: Option<DateTime<Utc>>,
    /// The tick's clock.
    pub now: DateTime<Utc>,
}

/// What one `tick` should do for one campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickPlan {
    /// The occurrence to run now: a new fire, or an unfinished one resumed.
    pub run: Option<DateTime<Utc>>,
    /// Fires to record as missed (never sent), oldest first, at most
    /// [`MAX_MISSED_LISTED`]; the newest ones when there are more.
    pub missed: Vec<DateTime<Utc>>,
    /// How many more missed fires there were, older than those listed.
    pub missed_more: u64,
}

/// What one `tick` should do for one campaign (SPEC §5).
///
/// Let `f` be the latest fire at or before `now`. When no earlier tick handled
/// it, `f` runs if `now - f <= catch_up` and is missed otherwise; the fires
/// between the last handled one and `f` are missed (on the first tick there
/// are none: nothing before `f` counts). When nothing new runs, an unfinished
/// occurrence is resumed while `now - fire <= catch_up`; a new fire that runs
/// wins over it, and its run stays unfinished.
pub fn plan_tick(schedule: &Schedule, input: &TickInput) -> TickPlan {
    let now = input.now;
    let new_fire =
        schedule.latest_at_or_before(now).filter(|&fire| input.last_handled.is_none_or(|handled| fire > handled));
    let Some(fire) = new_fire else {
        return TickPlan { run: resumable(schedule, input), ..TickPlan::default() };
    };

    let runs = now - fire <= schedule.catch_up;
    let limit = MAX_MISSED_LISTED - usize::from(!runs);
    let (mut missed, missed_more) = match input.last_handled {
        Some(handled) => schedule.newest_between(handled, fire, limit),
        None => (Vec::new(), 0),
    };
    if !runs {
        missed.push(fire);
    }
    TickPlan { run: if runs { Some(fire) } else { resumable(schedule, input) }, missed, missed_more }
}

/// The unfinished occurrence, while it is still within `catch_up`.
fn resumable(schedule: &Schedule, input: &TickInput) -> Option<DateTime<Utc>> {
    input.unfinished.filter(|&fire| fire <= input.now && input.now - fire <= schedule.catch_up)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::testing::*;

    // --- plan_tick ---------------------------------------------------------

    fn tick(s: &Schedule, last_handled: Option<&str>, unfinished: Option<&str>, now: &str) -> TickPlan {
        plan_tick(s, &TickInput { last_handled: last_handled.map(t), unfinished: unfinished.map(t), now: t(now) })
    }

    fn plan(run: Option<&str>, missed: &[&str], missed_more: u64) -> TickPlan {
        TickPlan { run: run.map(t), missed: missed.iter().map(|s| t(s)).collect(), missed_more }
    }

    #[test]
    fn first_tick_counts_only_the_latest_fire() {
        let s = schedule("0 * * * *", "UTC");
        assert_eq!(tick(&s, None, None, "2026-05-01T10:05:00Z"), plan(Some("2026-05-01T10:00:00Z"), &[], 0));
        // Too late: recorded as missed, and nothing older is.
        assert_eq!(tick(&s, None, None, "2026-05-01T10:45:00Z"), plan(None, &["2026-05-01T10:00:00Z"], 0));
    }

    #[test]
    fn a_due_fire_runs() {
        let s = schedule("0 9 * * MON-FRI", "Asia/Ho_Chi_Minh");
        assert_eq!(
            tick(&s, Some("2026-11-20T02:00:00Z"), None, "2026-11-23T02:01:00Z"),
            plan(Some("2026-11-23T02:00:00Z"), &[], 0)
        );
    }

    #[test]
    fn catch_up_boundary() {
        let s = schedule("0 9 * * *", "UTC");
        let last = Some("2026-05-01T09:00:00Z");
        // Exactly catch_up late: still runs (now - f <= catch_up).
        assert_eq!(tick(&s, last, None, "2026-05-02T09:30:00Z"), plan(Some("2026-05-02T09:00:00Z"), &[], 0));
        // One second more: missed.
        assert_eq!(tick(&s, last, None, "2026-05-02T09:30:01Z"), plan(None, &["2026-05-02T09:00:00Z"], 0));
    }

    #[test]
    fn nothing_due() {
        let s = schedule("0 9 * * *", "UTC");
        assert_eq!(tick(&s, Some("2026-05-02T09:00:00Z"), None, "2026-05-02T09:10:00Z"), TickPlan::default());
        assert_eq!(tick(&s, Some("2026-05-02T09:00:00Z"), None, "2026-05-03T08:59:59Z"), TickPlan::default());
        // A fall-back hour brings no second fire of a fixed-time job.
        let ny = schedule("30 1 * * *", "America/New_York");
        assert_eq!(tick(&ny, Some("2026-11-01T05:30:00Z"), None, "2026-11-01T06:35:00Z"), TickPlan::default());
    }

    #[test]
    fn older_fires_are_missed_never_sent() {
        let s = schedule("0 9 * * *", "UTC");
        assert_eq!(
            tick(&s, Some("2026-05-01T09:00:00Z"), None, "2026-05-04T09:10:00Z"),
            plan(Some("2026-05-04T09:00:00Z"), &["2026-05-02T09:00:00Z", "2026-05-03T09:00:00Z"], 0)
        );
        assert_eq!(
            tick(&s, Some("2026-05-01T09:00:00Z"), None, "2026-05-04T12:00:00Z"),
            plan(None, &["2026-05-02T09:00:00Z", "2026-05-03T09:00:00Z", "2026-05-04T09:00:00Z"], 0)
        );
    }

    #[test]
    fn resumes_an_unfinished_occurrence_within_catch_up() {
        let s = schedule("0 9 * * *", "UTC");
        let f = "2026-05-02T09:00:00Z";
        assert_eq!(tick(&s, Some(f), Some(f), "2026-05-02T09:20:00Z"), plan(Some(f), &[], 0));
        assert_eq!(tick(&s, Some(f), Some(f), "2026-05-02T09:30:00Z"), plan(Some(f), &[], 0));
        assert_eq!(tick(&s, Some(f), Some(f), "2026-05-02T09:30:01Z"), TickPlan::default());
        assert_eq!(tick(&s, Some(f), Some(f), "2026-05-02T08:00:00Z"), TickPlan::default());
    }

    #[test]
    fn a_new_fire_wins_over_an_unfinished_one() {
        let s = schedule("*/10 * * * *", "UTC");
        let u = "2026-05-02T09:00:00Z";
        assert_eq!(tick(&s, Some(u), Some(u), "2026-05-02T09:10:30Z"), plan(Some("2026-05-02T09:10:00Z"), &[], 0));
    }

    #[test]
    fn a_long_outage_lists_the_newest_thousand_and_counts_the_rest() {
        let s = schedule("* * * * *", "Europe/Berlin");
        let started = std::time::Instant::now();
        let plan = tick(&s, Some("2025-01-01T00:00:00Z"), None, "2026-01-01T00:00:30Z");
        let took = started.elapsed();

        assert_eq!(plan.run, Some(t("2026-01-01T00:00:00Z")));
        assert_eq!(plan.missed.len(), MAX_MISSED_LISTED);
        assert_eq!(plan.missed[0], t("2025-12-31T07:20:00Z")); // 1000 minutes before
        assert_eq!(plan.missed[999], t("2025-12-31T23:59:00Z"));
        assert!(plan.missed.windows(2).all(|w| w[0] < w[1]));
        // A year of minutes (DST changes nothing: every minute exists once in
        // UTC either way), less both ends and the 1000 listed.
        assert_eq!(plan.missed_more, 365 * 1440 - 1 - 1000);
        if !cfg!(debug_assertions) {
            assert!(took < std::time::Duration::from_millis(50), "took {took:?}");
        }

        // When the latest fire is missed too, it is the last of the 1000.
        let s = Schedule::new("* * * * *", Some("Europe/Berlin"), 0).unwrap();
        let plan = tick(&s, Some("2025-01-01T00:00:00Z"), None, "2026-01-01T01:00:30Z");
        assert_eq!(plan.run, None);
        assert_eq!(plan.missed.len(), MAX_MISSED_LISTED);
        assert_eq!(plan.missed[999], t("2026-01-01T01:00:00Z"));
        assert_eq!(plan.missed_more, 365 * 1440 + 60 - 1000);
    }

    #[test]
    fn missed_fires_across_dst_are_exact() {
        // An hourly fixed list through both New York transitions.
        let s = schedule("30 0-3 * * *", "America/New_York");
        let plan = tick(&s, Some("2026-01-01T05:30:00Z"), None, "2026-12-31T05:40:00Z");
        let expected: Vec<_> = s
            .fires_after(t("2026-01-01T05:30:00Z"), 2000)
            .into_iter()
            .map(|f| f.utc)
            .take_while(|&f| f < t("2026-12-31T05:30:00Z"))
            .collect();
        assert_eq!(plan.run, Some(t("2026-12-31T05:30:00Z")));
        // A fixed-time job keeps its 4 fires on both transition days:
        // 3 on January 1 (after 00:30), 4 a day to December 30.
        assert_eq!(expected.len(), 3 + 363 * 4);
        assert_eq!(plan.missed_more as usize + plan.missed.len(), expected.len());
        assert_eq!(plan.missed, expected[expected.len() - 1000..]);
    }
}
