//! Cron schedules: when a campaign fires, and what one `pagecast tick` should
//! do about it (SPEC §2 `schedule:`, §5 `tick`).
//!
//! This module exists so that every question about time that `tick`, `next`
//! and `validate` ask is answered in one pure place: no clock (every function
//! takes `now`), no I/O, no ledger. That keeps the rules that are easy to get
//! wrong (daylight saving time, catch-up, missed fires after an outage) small
//! enough to test exhaustively.
//!
//! # How a line is read
//!
//! [croner] holds the parsed pattern and answers "does this day match", because
//! it reads standard crontab: 0 and 7 are Sunday, and day-of-month and
//! day-of-week are OR'ed. (The `cron` crate wants a seconds field, numbers
//! Sunday 1 and ANDs the day fields; see DEPENDENCIES.md.) The line is
//! tokenised here first, because croner on its own
//! - replaces names anywhere in the line, so `0 9 * * JAN` would run on
//!   Mondays (JAN = 1) instead of being rejected;
//! - accepts Quartz extensions (`L`, `W`, `#`, `?`, `+`) that crontab does not;
//! - ORs the day fields even when one of them is a step such as `*/2`, where
//!   crontab (vixie cron, cronie) ANDs them: crontab ORs only when neither day
//!   field starts with `*`;
//! - accepts lines that can never fire, such as `0 0 31 2 *`;
//! - gives terse messages ("Component error: Number out of bounds.").
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
//! lets [`plan_tick`] count a year of minutely missed fires day by day instead
//! of one by one.

use chrono::{
    DateTime, Datelike, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// At most this many missed fires are listed in a [`TickPlan`]; the rest are
/// only counted (a minutely job after a year-long outage has 500k of them).
pub const MAX_MISSED_LISTED: usize = 1000;

/// How far back [`Schedule::latest_at_or_before`] looks for a fire. A year
/// and a bit covers every yearly job; a line that fires more rarely (only on
/// February 29) is treated as not due rather than searched for years.
const LOOKBACK_DAYS: i64 = 400;

/// How many days a forward search walks without finding a fire before it
/// gives up. The longest real gap between fires is February 29 on a given
/// weekday with AND'ed day fields: 28 years, 40 around 2100. Lines that never
/// fire at all are rejected by [`parse_cron`], so this only bounds the loop.
const MAX_QUIET_DAYS: u32 = 50 * 366;

/// An example that every cron hint ends with.
const CRON_EXAMPLE: &str = "for example \"0 9 * * MON-FRI\" is 09:00 Monday to Friday";

/// The fields of a standard crontab line, in order.
const FIELD_ORDER: &str = "minute hour day-of-month month day-of-week";

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

/// One fire of a schedule, in UTC (the occurrence key) and in the zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// The instant, in UTC.
    pub utc: DateTime<Utc>,
    /// The same instant in the schedule's zone.
    pub local: DateTime<Tz>,
}

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

// ---------------------------------------------------------------------------
// Parsing the crontab line

/// One field of a crontab line: its range and its names, if any.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for `min`, `min + 1`, … (three letters, any case).
    names: &'static [&'static str],
    /// What the field accepts, for hints.
    accepts: &'static str,
}

const FIELDS: [Field; 5] = [
    Field { name: "minute", min: 0, max: 59, names: &[], accepts: "0-59" },
    Field { name: "hour", min: 0, max: 23, names: &[], accepts: "0-23" },
    Field { name: "day-of-month", min: 1, max: 31, names: &[], accepts: "1-31" },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
        accepts: "1-12 or JAN-DEC",
    },
    Field {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
        accepts: "0-7 or SUN-SAT (0 and 7 are Sunday)",
    },
];

impl Field {
    /// Checks one field and rewrites it with numbers only, for croner.
    fn normalize(&self, text: &str) -> Result<String, ScheduleError> {
        let items = text.split(',').map(|item| self.normalize_item(text, item)).collect::<Result<Vec<_>, _>>()?;
        Ok(items.join(","))
    }

    /// One list item: `*`, `N`, `N-M`, each optionally with `/STEP`.
    fn normalize_item(&self, text: &str, item: &str) -> Result<String, ScheduleError> {
        if item.is_empty() {
            return Err(self.error(text, "has an empty list item"));
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(self.step(text, step)?)),
            None => (item, None),
        };
        let range = if range == "*" {
            range.to_string()
        } else if let Some((first, last)) = range.split_once('-') {
            let first = self.value(text, first, false)?;
            let last = self.value(text, last, true)?;
            if first > last {
                return Err(ScheduleError::cron(
                    format!("the {} field \"{text}\" has the range {first}-{last}, which runs backwards", self.name),
                    format!(
                        "crontab ranges do not wrap around: write two ranges, e.g. \"{first}-{},{}-{last}\"",
                        self.max, self.min
                    ),
                ));
            }
            format!("{first}-{last}")
        } else {
            let value = self.value(text, range, false)?;
            if let Some(step) = step {
                // vixie cron and cronie reject "5/15"; say what it would mean.
                return Err(ScheduleError::cron(
                    format!("the {} field \"{text}\" steps from a single value ({item})", self.name),
                    format!("a step needs a range: write \"{value}-{}/{step}\", or \"*/{step}\"", self.max),
                ));
            }
            value.to_string()
        };
        Ok(match step {
            Some(step) => format!("{range}/{step}"),
            None => range,
        })
    }

    /// A value: a number in range, or a name of this field. `at_range_end`:
    /// Sunday closing a range is 7, so that `FRI-SUN` runs forwards.
    fn value(&self, text: &str, token: &str, at_range_end: bool) -> Result<u32, ScheduleError> {
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            return match token.parse::<u32>() {
                Ok(value) if (self.min..=self.max).contains(&value) => Ok(value),
                _ => Err(ScheduleError::cron(
                    format!("the {} field \"{text}\": {token} is out of range", self.name),
                    format!("the {} is {}", self.name, self.accepts),
                )),
            };
        }
        if let Some(index) = self.names.iter().position(|name| name.eq_ignore_ascii_case(token)) {
            let value = self.min + index as u32;
            return Ok(if at_range_end && value == 0 { 7 } else { value });
        }
        Err(self.bad_token(text, token))
    }

    /// A step: a whole number from 1 to the size of the field's range.
    fn step(&self, text: &str, token: &str) -> Result<u32, ScheduleError> {
        let span = self.max - self.min + 1;
        match token.parse::<u32>() {
            Ok(step) if (1..=span).contains(&step) && token.bytes().all(|b| b.is_ascii_digit()) => Ok(step),
            _ => Err(ScheduleError::cron(
                format!("the {} field \"{text}\" has the step \"{token}\"", self.name),
                format!("a {} step is a whole number from 1 to {span}, e.g. \"*/15\"", self.name),
            )),
        }
    }

    fn bad_token(&self, text: &str, token: &str) -> ScheduleError {
        let upper = token.to_ascii_uppercase();
        let names_elsewhere = FIELDS.iter().find(|field| field.names.contains(&upper.as_str()));
        let hint = if let Some(field) = names_elsewhere {
            format!("{upper} is a {} name; the {} is {}", field.name, self.name, self.accepts)
        } else if upper.contains(['L', 'W', '#', '?', '+']) {
            format!("L, W, #, ? and + are Quartz extensions, not crontab; the {} is {}", self.name, self.accepts)
        } else {
            format!("the {} is {}; names are three letters, e.g. MON or JAN", self.name, self.accepts)
        };
        ScheduleError::cron(format!("the {} field \"{text}\": \"{token}\" is not a {}", self.name, self.name), hint)
    }

    fn error(&self, text: &str, what: &str) -> ScheduleError {
        ScheduleError::cron(
            format!("the {} field \"{text}\" {what}", self.name),
            format!("the {} is {}; {CRON_EXAMPLE}", self.name, self.accepts),
        )
    }
}

/// A crontab line, parsed, with what croner's pattern does not record.
struct Line {
    cron: Cron,
    wildcard_time: bool,
}

/// Parses a standard 5-field crontab line (`minute hour day-of-month month
/// day-of-week`), as crontab(5) reads it: names such as `MON-FRI` and `JAN`
/// in their own fields, 0 and 7 both Sunday, and the day fields OR'ed unless
/// one of them starts with `*`. The nicknames `@hourly`, `@daily`,
/// `@midnight`, `@weekly`, `@monthly`, `@yearly` and `@annually` are
/// accepted. Rejected, with a message and a hint: seconds or year fields,
/// `@reboot`, values out of range, names in the wrong field, Quartz
/// extensions, and lines that can never fire (`0 0 31 2 *`).
pub fn parse_cron(expr: &str) -> Result<Cron, ScheduleError> {
    parse_line(expr).map(|line| line.cron)
}

fn parse_line(expr: &str) -> Result<Line, ScheduleError> {
    let line = expand_nickname(expr.trim())?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    check_field_count(expr, fields.len())?;
    let numeric =
        FIELDS.iter().zip(&fields).map(|(field, text)| field.normalize(text)).collect::<Result<Vec<_>, _>>()?;

    // crontab(5): "If both fields are restricted (i.e., don't start with *),
    // the command will be run when either field matches". When one starts
    // with `*` (even `*/2`) a day must match both; croner's `+` says so.
    let and_days = fields[2].starts_with('*') || fields[4].starts_with('*');
    let and_marker = if and_days { "+" } else { "" };
    let croner_line = format!("{} {} {} {} {and_marker}{}", numeric[0], numeric[1], numeric[2], numeric[3], numeric[4]);
    let cron = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(&croner_line)
        .map_err(|e| ScheduleError::cron(format!("the cron line \"{expr}\" is not valid: {e}"), CRON_EXAMPLE))?;
    check_can_fire(expr, &cron, and_days)?;
    Ok(Line { cron, wildcard_time: fields[0].starts_with('*') || fields[1].starts_with('*') })
}

/// crontab(5)'s nicknames, as 5-field lines.
fn expand_nickname(line: &str) -> Result<&str, ScheduleError> {
    let Some(name) = line.strip_prefix('@') else {
        return Ok(line);
    };
    match name.to_ascii_lowercase().as_str() {
        "yearly" | "annually" => Ok("0 0 1 1 *"),
        "monthly" => Ok("0 0 1 * *"),
        "weekly" => Ok("0 0 * * 0"),
        "daily" | "midnight" => Ok("0 0 * * *"),
        "hourly" => Ok("0 * * * *"),
        "reboot" => Err(ScheduleError::cron(
            "@reboot has no time of day: `pagecast tick` runs a campaign at the times of its cron line",
            format!("write the 5 fields {FIELD_ORDER}; {CRON_EXAMPLE}"),
        )),
        _ => Err(ScheduleError::cron(
            format!("unknown cron nickname \"{line}\""),
            format!(
                "the nicknames are @hourly, @daily, @weekly, @monthly and @yearly; or write the 5 fields {FIELD_ORDER}"
            ),
        )),
    }
}

fn check_field_count(expr: &str, count: usize) -> Result<(), ScheduleError> {
    let five = format!("pagecast takes the standard 5 fields: {FIELD_ORDER}");
    let message = match count {
        5 => return Ok(()),
        0 => "the cron line is empty".to_string(),
        6 => format!("the cron line \"{expr}\" has 6 fields; {five}; drop the seconds field"),
        7 => format!("the cron line \"{expr}\" has 7 fields; {five}; drop the seconds field and the year field"),
        _ => format!("the cron line \"{expr}\" has {count} fields; {five}"),
    };
    Err(ScheduleError::cron(message, CRON_EXAMPLE))
}

/// Rejects a line whose days never exist, such as `0 0 31 2 *`. With OR'ed
/// day fields a line always fires (every month has every weekday); with
/// AND'ed ones it fires when some month has one of its days, because every
/// date falls on every weekday in some year.
fn check_can_fire(expr: &str, cron: &Cron, and_days: bool) -> Result<(), ScheduleError> {
    const LONGEST_MONTH: [u16; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let days = cron.pattern.days.values();
    let possible = !and_days
        || cron.pattern.months.values().iter().any(|&month| {
            let longest = LONGEST_MONTH[usize::from(month.clamp(1, 12)) - 1];
            days.iter().any(|&day| day <= longest)
        });
    if possible {
        Ok(())
    } else {
        Err(ScheduleError::cron(
            format!("the cron line \"{expr}\" never fires: none of its months has that day"),
            "check the day-of-month and month fields (e.g. February has at most 29 days)",
        ))
    }
}

// ---------------------------------------------------------------------------
// Parsing the time zone

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

// ---------------------------------------------------------------------------
// Fires

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
    fn day_matches(&self, date: NaiveDate) -> bool {
        let pattern = &self.cron.pattern;
        let weekday = croner::Weekday::from_days_from_sunday(date.weekday().num_days_from_sunday());
        // croner errs only on dates that do not exist, and a NaiveDate does.
        pattern.month_match(date.month()).unwrap_or(false)
            && pattern.day_match(date.year(), date.month(), date.day(), weekday).unwrap_or(false)
    }

    /// The fires of one local calendar day, ascending, into `out`.
    fn fires_on(&self, date: NaiveDate, out: &mut Vec<DateTime<Utc>>) {
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

    /// The instants at which the wall-clock time `local` fires, by cron's
    /// DST rule (module documentation).
    fn resolve(&self, local: NaiveDateTime, out: &mut Vec<DateTime<Utc>>) {
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
    fn regular_day(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let midnight = |date: NaiveDate| self.timezone.from_local_datetime(&date.and_time(NaiveTime::MIN)).single();
        let start = midnight(date)?;
        let end = midnight(date.succ_opt()?)?;
        // Equal offsets at both ends: no transition, as no zone has had two
        // in one day.
        (start.offset().fix() == end.offset().fix()).then(|| (start.to_utc(), end.to_utc()))
    }

    /// How many fires lie strictly between `after` and `before`, without
    /// listing them: a day without a transition counts as its number of
    /// wall-clock times; only the edge days and DST days are expanded.
    fn count_between(&self, after: DateTime<Utc>, before: DateTime<Utc>) -> u64 {
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
    fn newest_between(&self, after: DateTime<Utc>, before: DateTime<Utc>, limit: usize) -> (Vec<DateTime<Utc>>, u64) {
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

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }
}

/// Every wall-clock time of day the line names, ascending.
fn times_of_day(cron: &Cron) -> Vec<NaiveTime> {
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

// ---------------------------------------------------------------------------
// One tick

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

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("test time")
    }

    fn schedule(expr: &str, zone: &str) -> Schedule {
        Schedule::new(expr, Some(zone), 30 * 60).expect("test schedule")
    }

    fn utc_fires(schedule: &Schedule, after: &str, count: usize) -> Vec<String> {
        schedule
            .fires_after(t(after), count)
            .iter()
            .map(|fire| fire.utc.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .collect()
    }

    fn cron_error(expr: &str) -> ScheduleError {
        let err = parse_cron(expr).expect_err(expr);
        assert_eq!(err.field(), "cron", "{expr}");
        assert!(!err.hint().is_empty(), "{expr}");
        err
    }

    // --- parsing ---------------------------------------------------------

    #[test]
    fn accepts_standard_lines() {
        for expr in [
            "0 9 * * MON-FRI",
            "0 9 * * mon-fri",
            "*/15 * * * *",
            "0 0 1 JAN *",
            "0,30 8-18/2 1-15 */3 1,3,5",
            "0 0 * * 7",
            "0 0 * * FRI-SUN",
            "  0 9 * * *  ",
            "0 0 29 2 *",
            "0 0 31 2 MON",
            "@daily",
            "@HOURLY",
            "@weekly",
            "@yearly",
        ] {
            assert!(parse_cron(expr).is_ok(), "{expr}: {:?}", parse_cron(expr));
        }
    }

    #[test]
    fn rejects_seconds_and_year_fields() {
        let err = cron_error("0 0 9 * * *");
        assert!(
            err.to_string().contains(
                "pagecast takes the standard 5 fields: minute hour day-of-month month day-of-week; drop the seconds field"
            ),
            "{err}"
        );
        let err = cron_error("0 0 9 * * * 2026");
        assert!(err.to_string().contains("drop the seconds field and the year field"), "{err}");
    }

    #[test]
    fn rejects_wrong_field_counts_and_garbage() {
        assert!(cron_error("0 9 * *").to_string().contains("has 4 fields"));
        assert!(cron_error("").to_string().contains("empty"));
        assert!(cron_error("   ").to_string().contains("empty"));
        assert!(cron_error("every day at nine").to_string().contains("4 fields"));
        assert!(cron_error("a b c d e").to_string().contains("\"a\" is not a minute"));
        assert!(cron_error("1 2 3 4 5 6 7 8").to_string().contains("8 fields"));
    }

    #[test]
    fn rejects_reboot_and_unknown_nicknames() {
        assert!(cron_error("@reboot").to_string().contains("@reboot"));
        assert!(cron_error("@every 5m").to_string().contains("nickname"));
    }

    #[test]
    fn rejects_values_out_of_range() {
        for (expr, says) in [
            ("60 * * * *", "minute field \"60\": 60 is out of range"),
            ("0 24 * * *", "hour field \"24\": 24 is out of range"),
            ("0 0 0 * *", "day-of-month field \"0\": 0 is out of range"),
            ("0 0 32 * *", "day-of-month"),
            ("0 0 * 13 *", "month field \"13\""),
            ("0 0 * 0 *", "month field \"0\""),
            ("0 0 * * 8", "day-of-week field \"8\""),
            ("0 0-99999999999 * * *", "out of range"),
            ("*/0 * * * *", "step \"0\""),
            ("*/61 * * * *", "step \"61\""),
            ("0 9 * * FRI-MON", "runs backwards"),
            ("5/15 * * * *", "single value"),
            ("1,,2 * * * *", "empty list item"),
            ("0 0 31 2 *", "never fires"),
            ("0 0 30,31 2 *", "never fires"),
            ("0 0 31 4,6 *", "never fires"),
        ] {
            let err = cron_error(expr);
            assert!(err.to_string().contains(says), "{expr}: {err}");
        }
        // Out of range hints say what the field takes.
        assert!(cron_error("0 0 * * 8").hint().contains("0-7 or SUN-SAT"));
        assert!(cron_error("0 9 * * FRI-MON").hint().contains("5-7,0-1"));
        assert!(cron_error("5/15 * * * *").hint().contains("5-59/15"));
    }

    #[test]
    fn rejects_names_in_the_wrong_field_and_extensions() {
        // croner alone would read JAN as 1, i.e. Monday.
        let err = cron_error("0 9 * * JAN");
        assert!(err.hint().contains("JAN is a month name"), "{}", err.hint());
        assert!(cron_error("0 9 * FRI *").hint().contains("FRI is a day-of-week name"));
        assert!(cron_error("0 9 * * MONDAY").to_string().contains("\"MONDAY\""));
        assert!(cron_error("JAN 9 * * *").to_string().contains("minute"));
        for expr in ["0 9 L * *", "0 9 15W * *", "0 9 * * 5#2", "0 9 ? * *", "0 9 * * 5L", "0 9 * * +MON"] {
            assert!(cron_error(expr).hint().contains("Quartz"), "{expr}");
        }
    }

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
    fn new_defaults_to_utc_and_reports_the_field() {
        let s = Schedule::new("0 9 * * *", None, 1800).unwrap();
        assert_eq!(s.timezone, Tz::UTC);
        assert_eq!(s.catch_up, TimeDelta::minutes(30));
        assert_eq!(s.expr, "0 9 * * *");
        assert_eq!(Schedule::new("0 9 * *", None, 0).unwrap_err().field(), "cron");
        assert_eq!(Schedule::new("0 9 * * *", Some("Nowhere"), 0).unwrap_err().field(), "timezone");
        assert_eq!(Schedule::new("0 9 * * *", None, -5).unwrap().catch_up, TimeDelta::zero());
    }

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
