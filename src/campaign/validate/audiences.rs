//! Rules about audiences and opt-out lists: pages they name exist, files
//! exist with an `id` column (and the columns the message needs), inline rows
//! are well formed.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::TimeDelta;

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
            let source = if let Some(file) = &a.file {
                self.audience_file(&format!("{at}/file"), file, variables)
            } else if let Some(rows) = &a.recipients {
                Some(AudienceSource::Inline(self.inline(&at, rows)))
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
                out.push(Audience { page: a.page.clone(), source });
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
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => self.error(at, format!("{} is not a file", path.display()), "name a .csv or .jsonl file"),
            Err(e) => self.error(
                at,
                format!("cannot open {}: {e}", path.display()),
                "paths are relative to the campaign file; check the spelling",
            ),
        }
        if let AudienceSource::Csv(p) = &source {
            self.check_csv_columns(at, p, variables);
        }
        Some(source)
    }

    /// Warns when the header lacks a column the message's templates use.
    fn check_csv_columns(&mut self, at: &str, path: &Path, variables: &BTreeSet<String>) {
        let Ok(header) = audience::csv::read_header(path) else { return };
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
            self.warn(
                at,
                format!("the message uses {} but {} has no such column", missing.join(", "), path.display()),
                "add the column, or its recipients are skipped as template_error unless another audience provides it",
            );
        }
    }

    fn inline(&mut self, at: &str, rows: &[crate::campaign::model::InlineRecipient]) -> Vec<Recipient> {
        let mut out = Vec::with_capacity(rows.len());
        for (j, row) in rows.iter().enumerate() {
            let row_at = format!("{at}/recipients/{j}");
            let last = match row.last_interaction.as_deref().map(|t| audience::parse_time(t, self.now)) {
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
            match audience::csv::read_header(&path) {
                Ok(h) if h.iter().any(|c| c == "id") => {}
                Ok(h) => self.error(
                    &format!("/suppress/{i}/file"),
                    format!("{} has no `id` column (its header is: {})", path.display(), h.join(",")),
                    "an opt-out list is a CSV with an `id` column",
                ),
                Err(e) => self.error(
                    &format!("/suppress/{i}/file"),
                    format!("cannot read {}: {e}", path.display()),
                    "paths are relative to the campaign file; check the spelling",
                ),
            }
            out.push(Suppress { page: s.page.clone(), file: path });
        }
        out
    }
}
