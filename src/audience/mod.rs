//! Audiences: streams of recipients from CSV and JSONL files, inline rows and
//! live conversations, merged per (page, id), minus opt-outs.

use chrono::{DateTime, Utc};

pub use vars::Vars;

/// One person a page may message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The page-scoped id.
    pub id: String,
    /// The time of the person's last message to the page.
    pub last_interaction: Option<DateTime<Utc>>,
    /// Template variables.
    pub vars: Vars,
}

impl Recipient {
    /// This recipient as a borrowed row.
    pub fn as_row(&self) -> Row<'_> {
        Row { id: &self.id, last_interaction: self.last_interaction, vars: self.vars.as_ref() }
    }
}

/// One row of an audience, borrowed from its reader: what the merge reads,
/// without an allocation per row.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The page-scoped id.
    pub id: &'a str,
    /// The time of the person's last message to the page.
    pub last_interaction: Option<DateTime<Utc>>,
    /// Template variables.
    pub vars: vars::VarsRef<'a>,
}

impl Row<'_> {
    /// An owned copy.
    pub fn to_recipient(&self) -> Recipient {
        Recipient { id: self.id.to_string(), last_interaction: self.last_interaction, vars: self.vars.to_vars() }
    }
}

pub mod conversations;
pub mod csv;
pub mod jsonl;
pub mod merge;
pub mod vars;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone};
use chrono_tz::Tz;

/// A person's last message may be at most this far in the future (clock skew).
pub const FUTURE_TOLERANCE_SECS: i64 = 300;

/// A row problem quotes at most this many characters of the field at fault.
pub const QUOTE_MAX_CHARS: usize = 80;

/// Why a time of last interaction was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// None of the accepted forms (the text, clipped; the audience's zone).
    Unparseable(String, Option<Tz>),
    /// More than five minutes after now.
    Future(String),
}

impl TimeError {
    /// What is wrong, naming the forms that are accepted.
    pub fn message(&self) -> String {
        match self {
            TimeError::Unparseable(t, zone) => format!("\"{t}\" is not a time; {}", accepted_forms(*zone)),
            TimeError::Future(t) => format!("{t} is in the future"),
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> &'static str {
        match self {
            TimeError::Unparseable(_, Some(_)) => "write one of the forms above",
            TimeError::Unparseable(_, None) => {
                "write one of the forms above; for local times such as 2026-12-01 12:02:13 (a spreadsheet export), set `timezone: Area/City` on the audience"
            }
            TimeError::Future(_) => {
                "a last interaction cannot be later than now; check the time zone offset of the export"
            }
        }
    }
}

/// The forms of a time that an audience with this zone accepts.
pub fn accepted_forms(zone: Option<Tz>) -> String {
    let base = "write RFC 3339 (2026-11-20T08:00:00Z) or Unix seconds (1795161600)";
    match zone {
        Some(z) => format!("{base}, or local time in {} (2026-11-20 15:00 or 2026-11-20 15:00:00)", z.name()),
        None => base.to_string(),
    }
}

/// Parses RFC 3339 or Unix seconds; refuses times more than 5 minutes after `now`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    parse_time_in(text, now, None)
}

/// Parses RFC 3339, Unix seconds, or — when the audience has a `zone` —
/// local `YYYY-MM-DD HH:MM[:SS]` in that zone; refuses times more than 5
/// minutes after `now`.
///
/// A local time that a DST change makes ambiguous (it happened twice) or
/// skipped (it never happened) reads as the earliest instant it could mean:
/// a messaging window then never seems to stay open longer than it does.
pub fn parse_time_in(text: &str, now: DateTime<Utc>, zone: Option<Tz>) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0))
    } else {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| zone.and_then(|z| parse_local(text, z)))
    };
    let t = parsed.ok_or_else(|| TimeError::Unparseable(clip(text), zone))?;
    if (t - now).num_seconds() > FUTURE_TOLERANCE_SECS {
        return Err(TimeError::Future(clip(text)));
    }
    Ok(t)
}

/// `YYYY-MM-DD HH:MM[:SS]` (or with `T`) as a wall-clock time in `zone`.
fn parse_local(text: &str, zone: Tz) -> Option<DateTime<Utc>> {
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => {
            // In a gap: read it with the offsets in force on either side and
            // take the earlier instant (the larger offset).
            let around = |d: TimeDelta| naive.checked_add_signed(d).map(|n| zone.offset_from_utc_datetime(&n).fix());
            let offset = [around(TimeDelta::days(-1))?, around(TimeDelta::days(1))?]
                .into_iter()
                .max_by_key(|o| o.local_minus_utc())?;
            naive.checked_sub_signed(TimeDelta::seconds(offset.local_minus_utc().into())).map(|n| n.and_utc())
        }
    }
}

/// At most [`QUOTE_MAX_CHARS`] characters of `text`, with `…` when cut.
pub fn clip(text: &str) -> String {
    clip_to(text, QUOTE_MAX_CHARS)
}

/// At most `max` characters of `text`, with `…` when cut.
pub fn clip_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// A row of an audience file that is left out, or a problem that makes the
/// whole file unusable, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The audience file.
    pub file: PathBuf,
    /// The line (1-based; the header is line 1 of a CSV); 0 when the file
    /// could not be opened at all.
    pub line: u64,
    /// The column or field at fault (`id`, `last_interaction`, ...), empty for the whole row.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// True when the whole file is unusable: nothing may be sent.
    pub fatal: bool,
    /// How to fix it (fatal problems).
    pub hint: Option<String>,
}

impl RowError {
    /// A bad row: left out, the others go on. Field and message are clipped
    /// so that one huge field cannot flood the output.
    pub fn row(file: &Path, line: u64, field: &str, message: impl Into<String>) -> Self {
        RowError {
            file: file.to_path_buf(),
            line,
            field: clip(field),
            message: clip_to(&message.into(), 4 * QUOTE_MAX_CHARS),
            fatal: false,
            hint: None,
        }
    }

    /// A problem that makes the whole file unusable.
    pub fn fatal(file: &Path, line: u64, message: impl Into<String>, hint: impl Into<String>) -> Self {
        RowError { fatal: true, hint: Some(hint.into()), ..RowError::row(file, line, "", message) }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": {}: ", if self.fatal { "error" } else { "warning" })?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if !self.fatal {
            write!(f, " (row left out)")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

/// PSIDs are digits in practice; allow the characters the schema allows.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    #[test]
    fn times_parse_as_rfc3339_or_unix_seconds() {
        let a = parse_time("2026-11-20T08:00:00+07:00", now()).unwrap();
        assert_eq!(a.to_rfc3339(), "2026-11-20T01:00:00+00:00");
        assert_eq!(parse_time("1795161600", now()).unwrap().timestamp(), 1795161600);
        assert!(matches!(parse_time("yesterday", now()), Err(TimeError::Unparseable(..))));
        assert!(matches!(parse_time("", now()), Err(TimeError::Unparseable(..))));
    }

    #[test]
    fn future_beyond_five_minutes_is_refused() {
        assert!(parse_time("2026-11-22T00:05:00Z", now()).is_ok());
        assert!(matches!(parse_time("2026-11-22T00:05:01Z", now()), Err(TimeError::Future(_))));
    }

    #[test]
    fn local_times_need_a_zone_and_name_the_accepted_forms() {
        let e = parse_time("2026-11-21 12:02:13", now()).unwrap_err();
        assert!(e.message().contains("RFC 3339") && e.message().contains("Unix seconds"), "{}", e.message());
        assert!(e.hint().contains("timezone"));
        let hcm: Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
        let t = parse_time_in("2026-11-21 12:02:13", now(), Some(hcm)).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T05:02:13+00:00");
        let e = parse_time_in("21/11/2026 12:02", now(), Some(hcm)).unwrap_err();
        assert!(e.message().contains("local time in Asia/Ho_Chi_Minh"), "{}", e.message());
    }

    /// Europe/Berlin: 02:00-03:00 on 2026-03-29 does not exist; 02:00-03:00 on
    /// 2026-10-25 happens twice. Both read as the earliest instant.
    #[test]
    fn dst_gaps_and_overlaps_read_as_the_earliest_instant() {
        let berlin = Some(chrono_tz::Europe::Berlin);
        let gap = parse_time_in("2026-03-29 02:30", now(), berlin).unwrap();
        assert_eq!(gap.to_rfc3339(), "2026-03-29T00:30:00+00:00");
        let twice = parse_time_in("2026-10-25 02:30", now(), berlin).unwrap();
        assert_eq!(twice.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn quoted_text_is_clipped_to_80_characters() {
        let long = "é".repeat(200);
        let TimeError::Unparseable(quoted, _) = parse_time(&long, now()).unwrap_err() else { panic!() };
        assert_eq!(quoted.chars().count(), 81);
        assert!(quoted.ends_with('…'));
        assert_eq!(clip("short"), "short");
    }
}
