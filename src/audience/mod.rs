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

pub mod conversations;
pub mod csv;
pub mod jsonl;
pub mod merge;
pub mod vars;

use std::fmt;
use std::path::PathBuf;

/// A person's last message may be at most this far in the future (clock skew).
pub const FUTURE_TOLERANCE_SECS: i64 = 300;

/// Why a time of last interaction was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Neither RFC 3339 nor Unix seconds.
    Unparseable(String),
    /// More than five minutes after now.
    Future(String),
}

impl TimeError {
    /// What is wrong.
    pub fn message(&self) -> String {
        match self {
            TimeError::Unparseable(t) => format!("\"{t}\" is not a time"),
            TimeError::Future(t) => format!("{t} is in the future"),
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> &'static str {
        match self {
            TimeError::Unparseable(_) => "write RFC 3339 (2026-11-20T08:00:00Z) or Unix seconds (1795161600)",
            TimeError::Future(_) => {
                "a last interaction cannot be later than now; check the time zone offset of the export"
            }
        }
    }
}

/// Parses RFC 3339 or Unix seconds; refuses times more than 5 minutes after `now`.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().ok().and_then(|s| DateTime::from_timestamp(s, 0))
    } else {
        DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
    };
    let t = parsed.ok_or_else(|| TimeError::Unparseable(text.to_string()))?;
    if (t - now).num_seconds() > FUTURE_TOLERANCE_SECS {
        return Err(TimeError::Future(text.to_string()));
    }
    Ok(t)
}

/// A row of an audience file that is left out, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The audience file.
    pub file: PathBuf,
    /// The line (1-based; the header is line 1 of a CSV).
    pub line: u64,
    /// The column or field at fault (`id`, `last_interaction`, ...), empty for the whole row.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: warning: ", self.file.display(), self.line)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{} (row left out)", self.message)
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
        assert!(matches!(parse_time("yesterday", now()), Err(TimeError::Unparseable(_))));
        assert!(matches!(parse_time("", now()), Err(TimeError::Unparseable(_))));
    }

    #[test]
    fn future_beyond_five_minutes_is_refused() {
        assert!(parse_time("2026-11-22T00:05:00Z", now()).is_ok());
        assert!(matches!(parse_time("2026-11-22T00:05:01Z", now()), Err(TimeError::Future(_))));
    }
}
