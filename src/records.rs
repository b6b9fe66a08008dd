//! The records of a run, packed for runs of millions of recipients.
//!
//! A run keeps one record per recipient until its report is written. A
//! [`Record`] is about 110 bytes plus its strings; here an entry is 40
//! bytes, error texts are stored once however many recipients share them
//! (a page's streak of 551s is one text), and message ids sit back to back
//! in one buffer. The ledger has already been given the full record; what
//! is kept is what the report shows, so times are kept to the second.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::vocab::{ApiError, Job, Outcome, Reason, Record};

/// Message ids longer than this are cut in the report (Meta's are about 90
/// bytes; the length is packed into 16 bits).
const MAX_MESSAGE_ID_BYTES: usize = u16::MAX as usize;

#[derive(Debug, Clone, Copy)]
struct Entry {
    job: Job,
    /// Unix seconds.
    at: i64,
    /// start << 16 | len in `message_ids`; 0 when there is none.
    message_id: u64,
    /// 1 + index into `errors`; 0 for no error.
    error: u32,
    attempts: u32,
    outcome: Outcome,
    reason: Option<Reason>,
}

/// Records, packed, in the order they were added.
#[derive(Debug, Default)]
pub struct Records {
    entries: Vec<Entry>,
    message_ids: String,
    errors: Vec<ApiError>,
    error_index: HashMap<ApiError, u32>,
}

impl Records {
    /// Adds one record.
    pub fn push(&mut self, r: &Record) {
        let message_id = match r.message_id.as_deref() {
            Some(id) if !id.is_empty() => {
                let id = &id[..floor_char_boundary(id, MAX_MESSAGE_ID_BYTES)];
                let start = self.message_ids.len() as u64;
                self.message_ids.push_str(id);
                start << 16 | id.len() as u64
            }
            _ => 0,
        };
        let error = if r.error == ApiError::default() { 0 } else { self.intern(&r.error) + 1 };
        self.entries.push(Entry {
            job: r.job,
            at: r.at.timestamp(),
            message_id,
            error,
            attempts: r.attempts,
            outcome: r.outcome,
            reason: r.reason,
        });
    }

    /// The index of `error` in `errors`, added if new.
    fn intern(&mut self, error: &ApiError) -> u32 {
        if let Some(&i) = self.error_index.get(error) {
            return i;
        }
        let i = self.errors.len() as u32;
        self.errors.push(error.clone());
        self.error_index.insert(error.clone(), i);
        i
    }

    /// Adds every record of `other` after these: its entries are moved over
    /// with their message ids and errors re-pointed, not rebuilt.
    pub fn append(&mut self, other: Records) {
        let base = self.message_ids.len() as u64;
        self.message_ids.push_str(&other.message_ids);
        let errors: Vec<u32> = other.errors.iter().map(|e| self.intern(e)).collect();
        self.entries.extend(other.entries.into_iter().map(|mut e| {
            if e.message_id != 0 {
                e.message_id += base << 16;
            }
            if e.error != 0 {
                e.error = errors[e.error as usize - 1] + 1;
            }
            e
        }));
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Record `i` (its time to the second).
    ///
    /// # Panics
    /// When `i` is not below [`Records::len`].
    pub fn get(&self, i: usize) -> Record {
        let e = &self.entries[i];
        let message_id = (e.message_id != 0).then(|| {
            let (start, len) = ((e.message_id >> 16) as usize, (e.message_id & 0xffff) as usize);
            self.message_ids[start..start + len].to_string()
        });
        Record {
            job: e.job,
            outcome: e.outcome,
            reason: e.reason,
            error: if e.error == 0 { ApiError::default() } else { self.errors[e.error as usize - 1].clone() },
            message_id,
            attempts: e.attempts,
            at: DateTime::<Utc>::from_timestamp(e.at, 0).unwrap_or_default(),
        }
    }

    /// The job of record `i` (see [`Records::get`]).
    pub fn job(&self, i: usize) -> Job {
        self.entries[i].job
    }

    /// Every record, in order.
    pub fn iter(&self) -> impl Iterator<Item = Record> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Every (outcome, reason), in order, without building records.
    pub fn fates(&self) -> impl Iterator<Item = (Outcome, Option<Reason>)> + '_ {
        self.entries.iter().map(|e| (e.outcome, e.reason))
    }

    /// Changes the outcome and reason of every record whose job `matches`
    /// and whose outcome is `from` (streak re-labels).
    pub fn relabel(&mut self, matches: impl Fn(Job) -> bool, from: Outcome, to: (Outcome, Reason)) {
        for e in self.entries.iter_mut().filter(|e| e.outcome == from && matches(e.job)) {
            (e.outcome, e.reason) = (to.0, Some(to.1));
        }
    }
}

impl FromIterator<Record> for Records {
    fn from_iter<I: IntoIterator<Item = Record>>(iter: I) -> Self {
        let mut records = Records::default();
        for r in iter {
            records.push(&r);
        }
        records
    }
}

/// The largest index at most `max` that is a character boundary of `s`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Pending, SkipReason};

    #[test]
    fn records_come_back_as_they_went_in_to_the_second() {
        let at: DateTime<Utc> = "2026-11-22T01:02:03.456Z".parse().unwrap();
        let job = |person| Job { page: 1, person };
        let error = ApiError { code: Some(551), subcode: Some(1545041), message: Some("unavailable".into()) };
        let records = [
            Record::sent(job(0), Some("m_1".into()), 1, at),
            Record::failed(job(1), error.clone(), 2, at),
            Record::failed(job(2), error.clone(), 1, at),
            Record::new(job(3), Reason::Skip(SkipReason::OutsideWindow), 0, at),
            Record::sent(job(4), Some("é".repeat(40_000)), 1, at),
        ];
        let mut packed: Records = records.iter().cloned().collect();
        assert_eq!(packed.len(), 5);
        assert_eq!(packed.errors.len(), 1, "one text for the same error");
        let back: Vec<Record> = packed.iter().collect();
        let at_second: DateTime<Utc> = "2026-11-22T01:02:03Z".parse().unwrap();
        for (b, r) in back.iter().zip(&records).take(4) {
            assert_eq!(*b, Record { at: at_second, ..r.clone() });
        }
        let long = back[4].message_id.as_deref().unwrap();
        assert!(long.len() <= MAX_MESSAGE_ID_BYTES && long.chars().all(|c| c == 'é'));

        packed.relabel(
            |j| j.person == 1,
            Outcome::Failed,
            (Outcome::NotAttempted, Reason::Pending(Pending::PageStopped)),
        );
        assert_eq!(packed.get(1).outcome, Outcome::NotAttempted);
        assert_eq!(packed.get(2).outcome, Outcome::Failed);

        // Appended after records with their own message ids and errors:
        // every id and error still points at its own text.
        let other = ApiError { code: Some(100), subcode: None, message: Some("other".into()) };
        let mut all = Records::default();
        all.push(&records[3]);
        all.push(&Record::failed(job(9), other.clone(), 1, at));
        all.push(&Record::sent(job(8), Some("m_first".into()), 1, at));
        all.append(packed);
        assert_eq!(all.len(), 8);
        assert_eq!(all.get(1).error, other);
        assert_eq!(all.get(2).message_id.as_deref(), Some("m_first"));
        assert_eq!(all.get(3).message_id.as_deref(), Some("m_1"));
        assert_eq!((all.get(4).error.clone(), all.get(5).error.clone()), (error.clone(), error));
        assert_eq!(all.get(7).message_id, back[4].message_id);
        assert_eq!(all.errors.len(), 2);
    }
}
