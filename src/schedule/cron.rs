//! Reading a crontab line (SPEC §5 "cron reading").
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
//! Day-of-week ranges read as crontab reads them: a range that closes with
//! the name `SUN` after a later day (`FRI-SUN`) runs to the end of the week,
//! but one that starts on Sunday (`SUN-SUN`, `0-SUN`) is Sunday alone.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::ScheduleError;

/// An example that every cron hint ends with.
const CRON_EXAMPLE: &str = "for example \"0 9 * * MON-FRI\" is 09:00 Monday to Friday";

/// The fields of a standard crontab line, in order.
const FIELD_ORDER: &str = "minute hour day-of-month month day-of-week";

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
            // Only a range that starts after Sunday can close on Sunday as 7.
            let last = self.value(text, last, first > self.min)?;
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
    /// the name Sunday closing a range that starts after Sunday is 7, so that
    /// `FRI-SUN` runs forwards (`SUN-SUN` stays 0-0, Sunday alone).
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
pub(super) struct Line {
    pub(super) cron: Cron,
    pub(super) wildcard_time: bool,
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

pub(super) fn parse_line(expr: &str) -> Result<Line, ScheduleError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::testing::*;

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
}
