//! Rules about audiences and opt-out lists: pages they name exist, files
//! exist with an `id` column (and the columns the message needs), inline rows
//! are well formed.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::TimeDelta;
use chrono_tz::Tz;

use super::Validator;
use crate::audience::{self, Recipient};
use crate::campaign::model::Provider;
use crate::campaign::{Audience, AudienceSource, Suppress};

impl Validator<'_> {
    pub(super) fn audiences(&mut self, variables: &BTreeSet<String>) -> Vec<Audience> {
        let raw = self.raw;
        let ids: Vec<&str> = raw.pages.iter().map(|p| p.id.as_str()).collect();
        let mut out = Vec::new();
        for (i, a) in raw.audiences.iter().enumerate() {
            let at = format!("/audiences/{i}");
            let page = raw.pages.iter().find(|p| p.id == a.page);
            if page.is_none() {
                self.error(
                    &format!("{at}/page"),
                    format!("page \"{}\" is not one of this campaign's pages", a.page),
                    format!("use one of: {}", ids.join(", ")),
                );
            }
            let kinds = [a.file.is_some(), a.recipients.is_some(), a.conversations.is_some()];
            if kinds.iter().filter(|k| **k).count() != 1 {
                self.error(
                    &at,
                    "an audience has exactly one of `file`, `recipients`, `conversations`",
                    "split it into one audience per source",
                );
                continue;
            }
            let timezone = self.audience_timezone(&at, a);
            let source = if let Some(file) = &a.file {
                self.audience_file(&format!("{at}/file"), file, variables)
            } else if let Some(rows) = &a.recipients {
                Some(AudienceSource::Inline(self.inline(&at, rows, timezone)))
            } else {
                let c = a.conversations.as_ref().expect("one of three");
                if page.is_some_and(|p| p.provider != Provider::Graph) {
                    self.error_at_key(
                        &format!("{at}/conversations"),
                        "conversations are read from the Graph API: only for graph pages",
                        "list the recipients in a file instead",
                    );
                }
                let within =
                    self.duration(&format!("{at}/conversations/within"), Some(&c.within.0), TimeDelta::days(1));
                Some(AudienceSource::Conversations(within))
            };
            if let Some(source) = source {
                out.push(Audience { page: a.page.clone(), source, timezone });
            }
        }
        out
    }

    fn audience_file(&mut self, at: &str, file: &str, variables: &BTreeSet<String>) -> Option<AudienceSource> {
        let path = self.dir().join(file);
        let is = |ext: &str| file.to_ascii_lowercase().ends_with(ext);
        let source = if is(".csv") {
            AudienceSource::Csv(path.clone())
        } else if is(".jsonl") || is(".ndjson") {
            AudienceSource::Jsonl(path.clone())
        } else {
            self.error(
                at,
                format!("\"{file}\" is neither .csv nor .jsonl"),
                "give an audience file ending in .csv or .jsonl",
            );
            return None;
        };
        let is_file = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => true,
            Ok(_) => {
                self.error(at, format!("{} is not a file", path.display()), "name a .csv or .jsonl file");
                false
            }
            Err(e) => {
                self.error(
                    at,
                    format!("cannot open {}: {e}", path.display()),
                    "paths are relative to the campaign file; check the spelling",
                );
                false
            }
        };
        if let AudienceSource::Csv(p) = &source
            && is_file
        {
            self.check_csv_columns(at, p, variables);
        }
        Some(source)
    }

    /// The header must be readable, have `id`, and have a column for every
    /// variable of the message: without it every row of the file would fail.
    fn check_csv_columns(&mut self, at: &str, path: &Path, variables: &BTreeSet<String>) {
        let header = match audience::csv::read_header(path) {
            Ok(h) => h,
            Err(e) => {
                self.error(at, e, "an audience file is CSV in UTF-8 with a header line");
                return;
            }
        };
        if !header.iter().any(|h| h == "id") {
            self.error(
                at,
                format!("{} has no `id` column (its header is: {})", path.display(), header.join(",")),
                "the first line must name the columns, with one called `id`",
            );
            return;
        }
        let missing: Vec<&str> =
            variables.iter().map(String::as_str).filter(|v| !header.iter().any(|h| h == v)).collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
            self.error(
                at,
                format!(
                    "the message uses {} but {} has no such column, so every row of it would fail",
                    names.join(", "),
                    path.display()
                ),
                "add the column to the file's header line, or take the variable out of the message",
            );
        }
    }

    /// The audience's `timezone`, checked (SPEC §2: local times in audience files).
    fn audience_timezone(&mut self, at: &str, a: &crate::campaign::model::AudienceSpec) -> Option<Tz> {
        let name = a.timezone.as_deref()?;
        if a.conversations.is_some() {
            self.error_at_key(
                &format!("{at}/timezone"),
                "`timezone` reads the times of a file or of inline rows; conversations carry their own",
                "remove `timezone` from this audience",
            );
            return None;
        }
        match crate::schedule::parse_timezone(name) {
            Ok(zone) => Some(zone),
            Err(e) => {
                let hint = e.hint().to_string();
                self.error(&format!("{at}/timezone"), e.to_string(), hint);
                None
            }
        }
    }

    fn inline(
        &mut self,
        at: &str,
        rows: &[crate::campaign::model::InlineRecipient],
        zone: Option<Tz>,
    ) -> Vec<Recipient> {
        let mut out = Vec::with_capacity(rows.len());
        for (j, row) in rows.iter().enumerate() {
            let row_at = format!("{at}/recipients/{j}");
            let last = match row.last_interaction.as_deref().map(|t| audience::parse_time_in(t, self.now, zone)) {
                None => None,
                Some(Ok(t)) => Some(t),
                Some(Err(e)) => {
                    self.error(&format!("{row_at}/last_interaction"), e.message(), e.hint());
                    continue;
                }
            };
            let vars = audience::Vars::from_pairs(row.vars.iter().map(|(k, v)| (k.as_str(), v.to_text())));
            out.push(Recipient { id: row.id.clone(), last_interaction: last, vars });
        }
        out
    }

    pub(super) fn suppress(&mut self) -> Vec<Suppress> {
        let raw = self.raw;
        let ids: Vec<&str> = raw.pages.iter().map(|p| p.id.as_str()).collect();
        let mut out = Vec::new();
        for (i, s) in raw.suppress.iter().enumerate() {
            if !ids.contains(&s.page.as_str()) {
                self.error(
                    &format!("/suppress/{i}/page"),
                    format!("page \"{}\" is not one of this campaign's pages", s.page),
                    format!("use one of: {}", ids.join(", ")),
                );
            }
            let path = self.dir().join(&s.file);
            self.check_opt_outs(&format!("/suppress/{i}/file"), &path);
            out.push(Suppress { page: s.page.clone(), file: path });
        }
        out
    }

    /// An opt-out list is read whole (they are short): a run refuses a list
    /// with a row whose id cannot be read, so `validate` does too.
    fn check_opt_outs(&mut self, at: &str, path: &Path) {
        if let Err(e) = std::fs::File::open(path) {
            self.error(
                at,
                format!("cannot read {}: {e}", path.display()),
                "paths are relative to the campaign file; check the spelling",
            );
            return;
        }
        if let Err(e) = audience::csv::read_opt_outs(path) {
            let hint = e.hint.clone().unwrap_or_default();
            self.error(at, format!("{}:{}: {}", path.display(), e.line, e.message), hint);
        }
    }
}
