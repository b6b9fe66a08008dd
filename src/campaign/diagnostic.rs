//! One problem found in a campaign file, with the place it points at.
//!
//! Every error pagecast reports about a file goes through [`Diagnostic`], so
//! they all read the same way: `file:line:col: error: field: message`, then a
//! `help:` line that says how to fix it.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// How bad a problem is: errors make a campaign invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The campaign is invalid; nothing is sent.
    Error,
    /// Worth a look; the campaign still runs.
    Warning,
}

/// A line and column, both 1-based (columns count Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file at fault.
    pub file: PathBuf,
    /// Where in it (1-based line and column).
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
    /// Error or warning.
    pub severity: Severity,
    /// The field at fault in dotted form (`audiences[0].page`); empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `pos` in `file`.
    pub fn error(file: impl Into<PathBuf>, pos: Pos, field: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: pos.line,
            col: pos.col,
            severity: Severity::Error,
            field: field.to_string(),
            message: message.into(),
            hint: None,
        }
    }

    /// The same problem, reported as a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Adds the fix to the message.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// True for errors (not warnings).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {severity}: ", self.file.display(), self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

/// Turns a JSON pointer (`/audiences/0/page`) into the dotted field name
/// people read (`audiences[0].page`).
pub fn field_name(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&part);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_read_like_paths() {
        assert_eq!(field_name("/audiences/0/page"), "audiences[0].page");
        assert_eq!(field_name(""), "");
        assert_eq!(field_name("/message/quick_replies/12/title"), "message.quick_replies[12].title");
        assert_eq!(field_name("/a~1b"), "a/b");
    }

    #[test]
    fn display_has_place_field_message_and_help() {
        let d = Diagnostic::error("c.yaml", Pos { line: 3, col: 5 }, "tag", "bad").with_hint("fix it");
        assert_eq!(d.to_string(), "c.yaml:3:5: error: tag: bad\n  help: fix it");
    }
}
