//! Merges a campaign's audiences into one set of (page, recipient) pairs and
//! reads its opt-out lists.
//!
//! Duplicates of (page, id) collapse to one recipient with the latest
//! `last_interaction`; vars merge key by key, later audiences winning. Order
//! is first appearance, so plans and reports are stable from run to run.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

use super::csv::CsvRows;
use super::jsonl::JsonlRows;
use super::{Recipient, RowError, Vars};
use crate::campaign::{AudienceSource, Campaign};

/// Row problems kept in full; beyond this only counted.
pub const MAX_ROW_ERRORS: usize = 1000;

/// What is known about one recipient of one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The latest last interaction seen across audiences.
    pub last_interaction: Option<DateTime<Utc>>,
    /// Merged template variables.
    pub vars: Vars,
}

/// A campaign's recipients after merging, with the rows left out.
#[derive(Debug, Default)]
pub struct Audiences {
    /// Key: (index into `Campaign::pages`, PSID).
    pub people: IndexMap<(u32, Box<str>), Person>,
    /// Opt-outs: (page index, PSID).
    pub suppressed: HashSet<(u32, Box<str>)>,
    /// Rows left out (the first [`MAX_ROW_ERRORS`]).
    pub row_errors: Vec<RowError>,
    /// How many rows were left out in all.
    pub row_error_count: u64,
    /// Rows read, good and bad.
    pub rows_read: u64,
    /// Opt-out lists that could not be read. Sending without them could reach
    /// people who opted out, so the caller must not send to those pages.
    pub unreadable_opt_outs: Vec<RowError>,
}

impl Audiences {
    fn add_error(&mut self, e: RowError) {
        self.row_error_count += 1;
        if self.row_errors.len() < MAX_ROW_ERRORS {
            self.row_errors.push(e);
        }
    }

    fn add(&mut self, page: u32, r: Recipient) {
        match self.people.entry((page, r.id.into_boxed_str())) {
            indexmap::map::Entry::Vacant(v) => {
                v.insert(Person { last_interaction: r.last_interaction, vars: r.vars });
            }
            indexmap::map::Entry::Occupied(mut o) => {
                let p = o.get_mut();
                p.last_interaction = p.last_interaction.max(r.last_interaction);
                p.vars.merge(r.vars);
            }
        }
    }
}

/// Reads every audience and opt-out list of `campaign`. `conversations`
/// holds what was fetched beforehand for each page with a conversations
/// audience (the network is not touched here).
pub fn load(campaign: &Campaign, now: DateTime<Utc>, conversations: &HashMap<String, Vec<Recipient>>) -> Audiences {
    let mut out = Audiences::default();
    let page_index = |id: &str| campaign.pages.iter().position(|p| p.id == id).map(|i| i as u32);
    for audience in &campaign.audiences {
        let Some(page) = page_index(&audience.page) else { continue };
        let rows: Box<dyn Iterator<Item = Result<Recipient, RowError>>> = match &audience.source {
            AudienceSource::Csv(path) => match CsvRows::open(path, now) {
                Ok(rows) => Box::new(rows),
                Err(e) => {
                    out.add_error(e);
                    continue;
                }
            },
            AudienceSource::Jsonl(path) => match JsonlRows::open(path, now) {
                Ok(rows) => Box::new(rows),
                Err(e) => {
                    out.add_error(e);
                    continue;
                }
            },
            AudienceSource::Inline(rows) => Box::new(rows.clone().into_iter().map(Ok)),
            AudienceSource::Conversations(_) => {
                Box::new(conversations.get(&audience.page).cloned().unwrap_or_default().into_iter().map(Ok))
            }
        };
        for row in rows {
            out.rows_read += 1;
            match row {
                Ok(r) => out.add(page, r),
                Err(e) => out.add_error(e),
            }
        }
    }
    for s in &campaign.suppress {
        let Some(page) = page_index(&s.page) else { continue };
        match CsvRows::open(&s.file, now) {
            Ok(rows) => {
                for row in rows {
                    match row {
                        Ok(r) => {
                            out.suppressed.insert((page, r.id.into_boxed_str()));
                        }
                        Err(e) => out.add_error(e),
                    }
                }
            }
            Err(e) => out.unreadable_opt_outs.push(e),
        }
    }
    out
}

/// Lookups by the person index that plans and jobs carry.
impl Audiences {
    /// The page-scoped id of person `i`.
    ///
    /// # Panics
    /// When `i` is not an index of `people`: indices come only from the
    /// planner, which numbers `people`, so that is a pagecast bug.
    pub fn recipient_id(&self, i: u32) -> &str {
        &self.entry(i).0.1
    }

    /// What is known about person `i` (see [`Audiences::recipient_id`]).
    pub fn person(&self, i: u32) -> &Person {
        self.entry(i).1
    }

    /// Person `i`'s page index.
    pub fn page_of(&self, i: u32) -> u32 {
        self.entry(i).0.0
    }

    fn entry(&self, i: u32) -> (&(u32, Box<str>), &Person) {
        self.people.get_index(i as usize).expect("person indices come from the planner")
    }
}
