//! Merges a campaign's audiences into one set of (page, recipient) pairs and
//! reads its opt-out lists.
//!
//! Duplicates of (page, id) collapse to one recipient with the latest
//! `last_interaction`; vars merge key by key, later audiences winning. Order
//! is first appearance, so plans and reports are stable from run to run.
//!
//! An agency's audience reaches millions of people, so what is kept per
//! person is packed into columns (see [`People`]): about 30 bytes plus the
//! text of its variables, with no allocation of its own.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, mpsc};

use chrono::{DateTime, Utc};

use super::csv::{CsvRows, read_opt_outs};
use super::jsonl::JsonlRows;
use super::vars::{Names, VarsRef};
use super::{Recipient, Row, RowError};
use crate::campaign::{AudienceSource, Campaign};

/// Row problems kept (and printed) in full; beyond this only counted, so a
/// file of a million bad rows prints a few lines, not a million.
pub const MAX_ROW_ERRORS: usize = 20;

/// The variables of one recipient may take at most this many bytes (a row
/// with more is left out): the length is packed into 24 bits.
pub const MAX_VARS_BYTES: usize = (1 << 24) - 1;

/// Rows read from a file before its size tells how many it holds.
const ESTIMATE_AFTER_ROWS: u64 = 4096;
/// At most this much room is made ahead (a huge file grows the rest step by
/// step, as it would without a guess).
const MAX_RESERVE: u64 = 32_000_000;

/// What is known about one recipient of one page, borrowed from the
/// audiences.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// The latest last interaction seen across audiences.
    pub last_interaction: Option<DateTime<Utc>>,
    /// Merged template variables.
    pub vars: VarsRef<'a>,
}

/// A page-scoped id packed into 8 bytes: ids written as a number (digits,
/// no leading zero, below 2^63), which every real PSID is, are that number;
/// any other id is an index into [`People::other_ids`] with the top bit set.
type PackedId = u64;

const OTHER_ID: u64 = 1 << 63;

/// The number an id is, when it is written as one (canonically).
fn numeric_id(id: &str) -> Option<u64> {
    let canonical = !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit());
    if !canonical || (id.len() > 1 && id.starts_with('0')) {
        return None;
    }
    id.parse::<u64>().ok().filter(|n| n & OTHER_ID == 0)
}

/// No last interaction.
const NO_TIME: i64 = i64::MIN;
/// A last interaction outside the range of `i64` nanoseconds (before 1677
/// or after 2262): the instant is in [`People::far_times`].
const FAR_TIME: i64 = i64::MIN + 1;

/// The recipients, one column per field, in order of first appearance.
#[derive(Debug, Default)]
struct People {
    pages: Vec<u32>,
    ids: Vec<PackedId>,
    /// Nanoseconds since the Unix epoch, or [`NO_TIME`] / [`FAR_TIME`].
    times: Vec<i64>,
    /// Where each person's variables are in `var_text`: start << 24 | len.
    vars: Vec<u64>,
    /// Every person's variable values, each entry a names index (LEB128)
    /// then the values separated by U+001F (see [`Vars`]).
    var_text: Vec<u8>,
    /// The distinct lists of variable names.
    names: Vec<Names>,
    names_index: HashMap<Vec<Arc<str>>, u32>,
    /// Ids that are not numbers (rare).
    other_ids: Vec<Box<str>>,
    /// Last interactions outside the range of [`People::times`] (rare).
    far_times: HashMap<u32, DateTime<Utc>>,
}

impl People {
    fn len(&self) -> usize {
        self.ids.len()
    }

    fn id_text(&self, packed: PackedId) -> IdText<'_> {
        if packed & OTHER_ID != 0 {
            IdText::Text(&self.other_ids[(packed & !OTHER_ID) as usize])
        } else {
            IdText::Number(packed)
        }
    }

    fn time(&self, i: u32) -> Option<DateTime<Utc>> {
        match self.times[i as usize] {
            NO_TIME => None,
            FAR_TIME => self.far_times.get(&i).copied(),
            nanos => Some(DateTime::from_timestamp_nanos(nanos)),
        }
    }

    fn set_time(&mut self, i: u32, t: Option<DateTime<Utc>>) {
        self.times[i as usize] = match t {
            None => NO_TIME,
            Some(t) => match t.timestamp_nanos_opt() {
                Some(nanos) if nanos > FAR_TIME => nanos,
                _ => {
                    self.far_times.insert(i, t);
                    FAR_TIME
                }
            },
        };
    }

    fn vars(&self, i: u32) -> VarsRef<'_> {
        let slot = self.vars[i as usize];
        let (start, len) = ((slot >> 24) as usize, (slot & MAX_VARS_BYTES as u64) as usize);
        if len == 0 {
            return VarsRef::default();
        }
        let entry = &self.var_text[start..start + len];
        let (names, skip) = read_leb128(entry);
        // The entry was written from a `&str` after its LEB128 prefix.
        let values = std::str::from_utf8(&entry[skip..]).unwrap_or_default();
        VarsRef::new(&self.names[names as usize], values)
    }

    /// Stores `vars` as person `i`'s; Err when they are too long to pack.
    fn set_vars(&mut self, i: u32, vars: VarsRef<'_>) -> Result<(), usize> {
        let Some((names, values)) = vars.parts() else {
            self.vars[i as usize] = 0;
            return Ok(());
        };
        let index = self.intern_names(names);
        let start = self.var_text.len();
        write_leb128(&mut self.var_text, index);
        self.var_text.extend_from_slice(values.as_bytes());
        let len = self.var_text.len() - start;
        if len > MAX_VARS_BYTES {
            self.var_text.truncate(start);
            return Err(len);
        }
        self.vars[i as usize] = (start as u64) << 24 | len as u64;
        Ok(())
    }

    fn intern_names(&mut self, names: &Names) -> u32 {
        // Rows of one CSV file share their names: the last list is checked first.
        if let Some(last) = self.names.last()
            && (Arc::ptr_eq(last, names) || **last == **names)
        {
            return self.names.len() as u32 - 1;
        }
        if let Some(&i) = self.names_index.get(&**names) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(names.clone());
        self.names_index.insert(names.to_vec(), i);
        i
    }
}

fn write_leb128(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn read_leb128(bytes: &[u8]) -> (u32, usize) {
    let mut n = 0u32;
    for (i, b) in bytes.iter().enumerate().take(5) {
        n |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (n, i + 1);
        }
    }
    (n, bytes.len())
}

/// A recipient's id as text, borrowed or formatted on the stack (no
/// allocation). Derefs to `&str`.
#[derive(Debug, Clone, Copy)]
pub enum IdText<'a> {
    /// An id that is a number.
    Number(u64),
    /// Any other id.
    Text(&'a str),
}

impl IdText<'_> {
    /// The id as text, written into `buf` when it is a number.
    pub fn as_str<'b>(&'b self, buf: &'b mut [u8; 20]) -> &'b str {
        match self {
            IdText::Text(t) => t,
            IdText::Number(n) => {
                let mut n = *n;
                let mut at = buf.len();
                loop {
                    at -= 1;
                    buf[at] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                std::str::from_utf8(&buf[at..]).unwrap_or_default()
            }
        }
    }
}

impl std::fmt::Display for IdText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdText::Number(n) => write!(f, "{n}"),
            IdText::Text(t) => f.write_str(t),
        }
    }
}

impl PartialEq<str> for IdText<'_> {
    fn eq(&self, other: &str) -> bool {
        match self {
            IdText::Number(n) => numeric_id(other) == Some(*n),
            IdText::Text(t) => *t == other,
        }
    }
}

/// Where the merge takes its rows from, one borrowed row at a time.
trait RowSource {
    /// The next row or problem; a fatal problem ends the stream.
    fn next_row(&mut self) -> Option<Result<Row<'_>, RowError>>;

    /// How many rows the source holds in all, if it can tell.
    fn estimated_rows(&self) -> Option<u64> {
        None
    }
}

impl RowSource for CsvRows {
    fn next_row(&mut self) -> Option<Result<Row<'_>, RowError>> {
        CsvRows::next_row(self)
    }

    fn estimated_rows(&self) -> Option<u64> {
        CsvRows::estimated_rows(self)
    }
}

/// A CSV audience parsed on a thread of its own and handed over in batches
/// of packed rows, so that parsing and merging (hashing millions of ids)
/// run on two cores. Rows and problems keep their order.
struct Threaded {
    rx: mpsc::Receiver<Batch>,
    producer: Option<std::thread::JoinHandle<()>>,
    names: Names,
    batch: Batch,
    /// The next item of `batch`.
    at: usize,
    estimate: Option<u64>,
}

/// Rows (or problems) handed over at once.
const BATCH_ROWS: usize = 4096;
/// Batches parsed ahead of the merge, at most.
const BATCHES_AHEAD: usize = 4;

#[derive(Default)]
struct Batch {
    /// Ids and packed variables, back to back.
    text: String,
    items: Vec<Item>,
    errors: Vec<Option<RowError>>,
    /// How many rows the file holds, once the reader can tell.
    estimate: Option<u64>,
}

enum Item {
    Row { id: std::ops::Range<usize>, vars: std::ops::Range<usize>, last: Option<DateTime<Utc>> },
    Problem(usize),
}

impl Threaded {
    /// Starts the reader's thread; Err gives the rows back when no thread
    /// can be started (they are then read on this one).
    fn spawn(rows: CsvRows) -> Result<Self, Box<CsvRows>> {
        let names = rows.var_names().clone();
        let (tx, rx) = mpsc::sync_channel(BATCHES_AHEAD);
        // The rows move to the thread only if it starts.
        let slot = Arc::new(std::sync::Mutex::new(Some(rows)));
        let theirs = slot.clone();
        let started = std::thread::Builder::new().name("audience-reader".into()).spawn(move || {
            let rows = theirs.lock().ok().and_then(|mut r| r.take());
            if let Some(rows) = rows {
                produce(rows, &tx);
            }
        });
        match started {
            Ok(handle) => {
                Ok(Threaded { rx, producer: Some(handle), names, batch: Batch::default(), at: 0, estimate: None })
            }
            // The closure never ran, so the rows are still in the slot.
            Err(_) => Err(Box::new(
                slot.lock().ok().and_then(|mut r| r.take()).expect("a thread that never started took nothing"),
            )),
        }
    }

    /// Err when the reader's thread died (a bug): rows may be missing.
    fn finish(mut self) -> Result<(), String> {
        match self.producer.take().map(std::thread::JoinHandle::join) {
            Some(Err(_)) => Err("the audience reader stopped unexpectedly; its rows may be incomplete".into()),
            _ => Ok(()),
        }
    }
}

fn produce(mut rows: CsvRows, tx: &mpsc::SyncSender<Batch>) {
    let mut batch = Batch::default();
    let mut n = 0u64;
    while let Some(item) = rows.next_row() {
        match item {
            Ok(row) => {
                let start = batch.text.len();
                batch.text.push_str(row.id);
                let id = start..batch.text.len();
                batch.text.push_str(row.vars.parts().map_or("", |(_, values)| values));
                let vars = id.end..batch.text.len();
                batch.items.push(Item::Row { id, vars, last: row.last_interaction });
            }
            Err(e) => {
                batch.items.push(Item::Problem(batch.errors.len()));
                batch.errors.push(Some(e));
            }
        }
        n += 1;
        if n == ESTIMATE_AFTER_ROWS {
            batch.estimate = rows.estimated_rows();
        }
        if batch.items.len() == BATCH_ROWS && tx.send(std::mem::take(&mut batch)).is_err() {
            return;
        }
    }
    let _ = tx.send(batch);
}

impl RowSource for Threaded {
    fn next_row(&mut self) -> Option<Result<Row<'_>, RowError>> {
        while self.at == self.batch.items.len() {
            self.batch = self.rx.recv().ok()?;
            self.at = 0;
            self.estimate = self.estimate.or(self.batch.estimate);
        }
        let item = &self.batch.items[self.at];
        self.at += 1;
        match item {
            Item::Row { id, vars, last } => {
                let values = &self.batch.text[vars.clone()];
                let vars = if self.names.is_empty() { VarsRef::default() } else { VarsRef::new(&self.names, values) };
                Some(Ok(Row { id: &self.batch.text[id.clone()], last_interaction: *last, vars }))
            }
            Item::Problem(i) => self.batch.errors[*i].take().map(Err),
        }
    }

    fn estimated_rows(&self) -> Option<u64> {
        self.estimate
    }
}

/// Rows that come owned (JSONL lines, inline rows, conversations).
struct Owned<I> {
    rows: I,
    current: Option<Recipient>,
}

impl<I> Owned<I> {
    fn new(rows: I) -> Self {
        Owned { rows, current: None }
    }
}

impl<I: Iterator<Item = Result<Recipient, RowError>>> RowSource for Owned<I> {
    fn next_row(&mut self) -> Option<Result<Row<'_>, RowError>> {
        match self.rows.next()? {
            Ok(r) => Some(Ok(self.current.insert(r).as_row())),
            Err(e) => Some(Err(e)),
        }
    }
}

/// A campaign's recipients after merging, with the rows left out.
#[derive(Debug, Default)]
pub struct Audiences {
    people: People,
    /// Person indices, found by the hash of (page, id): 4 bytes a person.
    /// Hashed with foldhash (seeded per process).
    index: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// People on an opt-out list, by person index.
    suppressed: HashSet<u32>,
    /// Rows left out (the first [`MAX_ROW_ERRORS`]).
    pub row_errors: Vec<RowError>,
    /// How many rows were left out in all.
    pub row_error_count: u64,
    /// Rows read, good and bad.
    pub rows_read: u64,
    /// Opt-out lists that could not be read, or held a row whose id could
    /// not be read. Sending without them could reach people who opted out,
    /// so the caller must send nothing.
    pub unreadable_opt_outs: Vec<RowError>,
    /// Audience files that are unusable (SPEC §1: unreadable, header not
    /// UTF-8, a quote left open to the end, every data row bad). Sending
    /// without them would silently drop their people, so the caller must
    /// send nothing (exit 2).
    pub unusable: Vec<RowError>,
}

/// The key of a person while looking it up: the packed id, or the text of
/// an id that is not a number.
#[derive(Clone, Copy)]
enum Key<'a> {
    Number(u64),
    Text(&'a str),
}

impl<'a> Key<'a> {
    fn of(id: &'a str) -> Self {
        numeric_id(id).map_or(Key::Text(id), Key::Number)
    }
}

impl Audiences {
    fn add_error(&mut self, e: RowError) {
        self.row_error_count += 1;
        if self.row_errors.len() < MAX_ROW_ERRORS {
            self.row_errors.push(e);
        }
    }

    fn hash(hasher: &foldhash::fast::RandomState, page: u32, key: Key<'_>) -> u64 {
        use std::hash::BuildHasher;
        match key {
            Key::Number(n) => hasher.hash_one((page, n)),
            Key::Text(t) => hasher.hash_one((page, t)),
        }
    }

    /// The index of (page, id), if that person is in the audiences.
    fn find(&self, page: u32, key: Key<'_>) -> Option<u32> {
        let people = &self.people;
        let hash = Self::hash(&self.hasher, page, key);
        self.index.find(hash, |&i| people.matches(i, page, key)).copied()
    }

    /// Adds every row of one audience. `estimate` guesses how many rows the
    /// source holds in all; once it can, room is made for them at once
    /// (growing the index of millions step by step costs a fifth of a plan).
    fn read(&mut self, page: u32, file: &std::path::Path, rows: &mut impl RowSource) {
        let mut n = 0u64;
        loop {
            if n == ESTIMATE_AFTER_ROWS
                && let Some(total) = rows.estimated_rows()
            {
                self.reserve(total.saturating_sub(n).min(MAX_RESERVE) as usize);
            }
            let Some(row) = rows.next_row() else { break };
            n += 1;
            match row {
                Ok(r) => {
                    self.rows_read += 1;
                    self.add(page, r, file);
                }
                Err(e) if e.fatal => self.unusable.push(e),
                Err(e) => {
                    self.rows_read += 1;
                    self.add_error(e);
                }
            }
        }
    }

    fn reserve(&mut self, more: usize) {
        let (people, hasher) = (&self.people, &self.hasher);
        self.index.reserve(more, |j| people.rehash(hasher, j));
        let p = &mut self.people;
        p.pages.reserve(more);
        p.ids.reserve(more);
        p.times.reserve(more);
        p.vars.reserve(more);
    }

    fn add(&mut self, page: u32, r: Row<'_>, file: &std::path::Path) {
        // CSV rows are refused sooner, with their line; this is the guard.
        let len = r.vars.parts().map_or(0, |(_, values)| values.len() + 5);
        if len > MAX_VARS_BYTES {
            self.add_error(too_long(file, len));
            return;
        }
        let key = Key::of(r.id);
        let hash = Self::hash(&self.hasher, page, key);
        let (people, hasher) = (&self.people, &self.hasher);
        // One probe finds the person or the slot for a new one.
        let entry = self.index.entry(hash, |&i| people.matches(i, page, key), |j| people.rehash(hasher, j));
        let i = match entry {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let i = *o.get();
                let p = &mut self.people;
                let last = p.time(i).max(r.last_interaction);
                p.set_time(i, last);
                let mut vars = p.vars(i).to_vars();
                vars.merge(r.vars.to_vars());
                if let Err(len) = p.set_vars(i, vars.as_ref()) {
                    self.add_error(too_long(file, len));
                }
                return;
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                let i = people.len() as u32;
                v.insert(i);
                i
            }
        };
        let p = &mut self.people;
        let packed = match key {
            Key::Number(n) => n,
            Key::Text(t) => {
                p.other_ids.push(t.into());
                OTHER_ID | (p.other_ids.len() as u64 - 1)
            }
        };
        p.pages.push(page);
        p.ids.push(packed);
        p.times.push(NO_TIME);
        p.vars.push(0);
        p.set_time(i, r.last_interaction);
        if let Err(len) = p.set_vars(i, r.vars) {
            // Checked above: cannot happen; the person stays without variables.
            self.add_error(too_long(file, len));
        }
    }
}

impl People {
    fn rehash(&self, hasher: &foldhash::fast::RandomState, j: &u32) -> u64 {
        let j = *j as usize;
        let key = match self.id_text(self.ids[j]) {
            IdText::Number(n) => Key::Number(n),
            IdText::Text(t) => Key::Text(t),
        };
        Audiences::hash(hasher, self.pages[j], key)
    }

    /// True when person `i` is (page, key).
    fn matches(&self, i: u32, page: u32, key: Key<'_>) -> bool {
        let packed = self.ids[i as usize];
        self.pages[i as usize] == page
            && match key {
                Key::Number(n) => packed == n,
                Key::Text(t) => packed & OTHER_ID != 0 && &*self.other_ids[(packed & !OTHER_ID) as usize] == t,
            }
    }
}

fn too_long(file: &std::path::Path, len: usize) -> RowError {
    RowError::row(file, 0, "", format!("the row's variables take {len} bytes; at most {MAX_VARS_BYTES} are kept"))
}

/// Reads every audience and opt-out list of `campaign`. `conversations`
/// holds what was fetched beforehand for each page with a conversations
/// audience (the network is not touched here).
pub fn load(campaign: &Campaign, now: DateTime<Utc>, conversations: &HashMap<String, Vec<Recipient>>) -> Audiences {
    let mut out = Audiences::default();
    let page_index = |id: &str| campaign.pages.iter().position(|p| p.id == id).map(|i| i as u32);
    for audience in &campaign.audiences {
        let Some(page) = page_index(&audience.page) else { continue };
        let file = match &audience.source {
            AudienceSource::Csv(path) | AudienceSource::Jsonl(path) => path.clone(),
            _ => campaign.path.clone(),
        };
        match &audience.source {
            AudienceSource::Csv(path) => match CsvRows::open(path, now, audience.timezone) {
                Ok(rows) => match Threaded::spawn(rows) {
                    Ok(mut threaded) => {
                        out.read(page, &file, &mut threaded);
                        if let Err(e) = threaded.finish() {
                            out.unusable.push(RowError::fatal(path, 0, e, "this is a pagecast bug: please report it"));
                        }
                    }
                    Err(mut rows) => out.read(page, &file, &mut *rows),
                },
                Err(e) => out.unusable.push(e),
            },
            AudienceSource::Jsonl(path) => match JsonlRows::open(path, now, audience.timezone) {
                Ok(rows) => out.read(page, &file, &mut Owned::new(rows)),
                Err(e) => out.unusable.push(e),
            },
            AudienceSource::Inline(rows) => out.read(page, &file, &mut Owned::new(rows.iter().cloned().map(Ok))),
            AudienceSource::Conversations(_) => {
                let rows = conversations.get(&audience.page).map_or(&[][..], Vec::as_slice);
                out.read(page, &file, &mut Owned::new(rows.iter().cloned().map(Ok)));
            }
        }
    }
    for s in &campaign.suppress {
        let Some(page) = page_index(&s.page) else { continue };
        match read_opt_outs(&s.file) {
            Ok(ids) => {
                for id in ids {
                    if let Some(i) = out.find(page, Key::of(&id)) {
                        out.suppressed.insert(i);
                    }
                }
            }
            Err(e) => out.unreadable_opt_outs.push(e),
        }
    }
    out
}

/// Lookups by the person index that plans and jobs carry.
///
/// # Panics
/// Each panics when `i` is not a person's index: indices come only from
/// the planner, which numbers the people, so that is a pagecast bug.
impl Audiences {
    /// Audiences of these (page index, recipient) rows, merged as [`load`]
    /// merges (for tests and tools that make rows themselves).
    pub fn from_rows(rows: impl IntoIterator<Item = (u32, Recipient)>) -> Self {
        let mut out = Audiences::default();
        for (page, r) in rows {
            out.rows_read += 1;
            out.add(page, r.as_row(), std::path::Path::new("(rows)"));
        }
        out
    }

    /// How many recipients (after merging).
    pub fn len(&self) -> usize {
        self.people.len()
    }

    /// True when there is nobody.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page-scoped id of person `i`.
    pub fn recipient_id(&self, i: u32) -> IdText<'_> {
        self.people.id_text(self.people.ids[i as usize])
    }

    /// What is known about person `i`.
    pub fn person(&self, i: u32) -> Person<'_> {
        Person { last_interaction: self.people.time(i), vars: self.people.vars(i) }
    }

    /// Person `i`'s last interaction in nanoseconds since the Unix epoch:
    /// Some(None) for none, None when it is outside the range of `i64`
    /// nanoseconds (then see [`Audiences::person`]).
    pub fn last_interaction_nanos(&self, i: u32) -> Option<Option<i64>> {
        match self.people.times[i as usize] {
            NO_TIME => Some(None),
            FAR_TIME => None,
            nanos => Some(Some(nanos)),
        }
    }

    /// Person `i`'s variables.
    pub fn vars(&self, i: u32) -> VarsRef<'_> {
        self.people.vars(i)
    }

    /// Person `i`'s page index.
    pub fn page_of(&self, i: u32) -> u32 {
        self.people.pages[i as usize]
    }

    /// True when person `i` is on an opt-out list of their page.
    pub fn is_suppressed(&self, i: u32) -> bool {
        self.suppressed.contains(&i)
    }

    /// The index of the person with this page index and id.
    pub fn find_person(&self, page: u32, id: &str) -> Option<u32> {
        self.find(page, Key::of(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::audience::Vars;

    fn row(id: &str, t: Option<i64>, vars: &[(&str, &str)]) -> Recipient {
        Recipient {
            id: id.into(),
            last_interaction: t.map(|s| DateTime::from_timestamp(s, 0).unwrap()),
            vars: Vars::from_pairs(vars.iter().copied()),
        }
    }

    #[test]
    fn duplicates_merge_to_the_latest_time_and_later_vars() {
        let mut a = Audiences::default();
        let f = std::path::Path::new("a.csv");
        a.add(0, row("2560816460000001", Some(100), &[("a", "1"), ("b", "2")]).as_row(), f);
        a.add(0, row("x-1", None, &[]).as_row(), f);
        a.add(1, row("2560816460000001", Some(50), &[]).as_row(), f);
        a.add(0, row("2560816460000001", Some(90), &[("b", "3"), ("c", "4")]).as_row(), f);
        a.add(0, row("x-1", Some(7), &[("z", "9")]).as_row(), f);
        assert_eq!(a.len(), 3);
        let p = a.person(0);
        assert_eq!(p.last_interaction.unwrap().timestamp(), 100);
        assert_eq!(p.vars.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "3"), ("c", "4")]);
        assert_eq!(a.recipient_id(1).to_string(), "x-1");
        assert_eq!(a.person(1).vars.get("z"), Some("9"));
        assert_eq!(a.person(1).last_interaction.unwrap().timestamp(), 7);
        assert_eq!((a.page_of(2), a.person(2).last_interaction.unwrap().timestamp()), (1, 50));
        assert_eq!(a.find_person(1, "2560816460000001"), Some(2));
        assert_eq!(a.find_person(0, "x-1"), Some(1));
        assert_eq!(a.find_person(0, "02560816460000001"), None, "a leading zero is another id");
    }

    #[test]
    fn ids_that_are_not_canonical_numbers_stay_text() {
        let mut a = Audiences::default();
        let f = std::path::Path::new("a.csv");
        for id in ["0", "007", "18446744073709551615", "9223372036854775807", "9223372036854775808", "abc"] {
            a.add(0, row(id, None, &[]).as_row(), f);
        }
        let ids: Vec<String> = (0..a.len() as u32).map(|i| a.recipient_id(i).to_string()).collect();
        assert_eq!(ids, ["0", "007", "18446744073709551615", "9223372036854775807", "9223372036854775808", "abc"]);
        let mut buf = [0; 20];
        assert_eq!(a.recipient_id(3).as_str(&mut buf), "9223372036854775807");
        assert!(a.recipient_id(0) == *"0" && a.recipient_id(1) == *"007" && !(a.recipient_id(1) == *"7"));
    }

    #[test]
    fn times_outside_the_nanosecond_range_are_kept_exactly() {
        let mut a = Audiences::default();
        let old: DateTime<Utc> = "1500-01-01T00:00:00.5Z".parse().unwrap();
        let fine: DateTime<Utc> = "2026-11-20T08:00:00.123456789Z".parse().unwrap();
        let f = std::path::Path::new("a.csv");
        a.add(0, Recipient { id: "1".into(), last_interaction: Some(old), vars: Vars::default() }.as_row(), f);
        a.add(0, Recipient { id: "2".into(), last_interaction: Some(fine), vars: Vars::default() }.as_row(), f);
        assert_eq!(a.person(0).last_interaction, Some(old));
        assert_eq!(a.person(1).last_interaction, Some(fine));
        a.add(0, Recipient { id: "1".into(), last_interaction: Some(fine), vars: Vars::default() }.as_row(), f);
        assert_eq!(a.person(0).last_interaction, Some(fine));
    }
}

#[cfg(test)]
mod threaded_tests {
    use std::io::Write;

    use super::*;

    fn read(path: &std::path::Path, threaded: bool) -> Audiences {
        let now: DateTime<Utc> = "2026-11-22T00:00:00Z".parse().unwrap();
        let rows = CsvRows::open(path, now, None).unwrap();
        let mut out = Audiences::default();
        if threaded {
            let mut t = Threaded::spawn(rows).ok().unwrap();
            out.read(0, path, &mut t);
            t.finish().unwrap();
        } else {
            out.read(0, path, &mut { rows });
        }
        out
    }

    /// Many batches, bad rows and duplicates across batch boundaries: the
    /// reader's thread hands over exactly what reading in place gives.
    #[test]
    fn a_threaded_read_is_the_same_read() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "id,last_interaction,name").unwrap();
        for i in 0..20_000u64 {
            match i % 997 {
                0 => writeln!(file, "bad id {i},1795000000,x").unwrap(),
                1 => writeln!(file, "{},not a time,x", 100 + i).unwrap(),
                _ => writeln!(file, "{},{},N{i}", 100 + i % 15_000, 1_795_000_000 + i).unwrap(),
            }
        }
        file.flush().unwrap();
        let (a, b) = (read(file.path(), false), read(file.path(), true));
        assert_eq!((a.len(), a.rows_read, a.row_error_count), (b.len(), b.rows_read, b.row_error_count));
        assert!(a.len() > 14_000 && a.row_error_count >= 40, "{} {}", a.len(), a.row_error_count);
        assert_eq!(a.row_errors, b.row_errors);
        for i in 0..a.len() as u32 {
            assert_eq!(a.recipient_id(i).to_string(), b.recipient_id(i).to_string());
            assert_eq!(a.person(i).last_interaction, b.person(i).last_interaction);
            assert_eq!(a.person(i).vars.iter().collect::<Vec<_>>(), b.person(i).vars.iter().collect::<Vec<_>>());
        }
        // The later duplicate's time and name won.
        let i = b.find_person(0, "100").unwrap();
        assert_eq!(b.person(i).vars.get("name"), Some("N15000"));
    }

    /// A quote left open ends the stream with a fatal problem, threaded too.
    #[test]
    fn a_fatal_problem_crosses_the_thread() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "id,name").unwrap();
        for i in 0..5000 {
            writeln!(file, "{i},N").unwrap();
        }
        writeln!(file, "9999,\"open").unwrap();
        writeln!(file, "10000,N").unwrap();
        file.flush().unwrap();
        let b = read(file.path(), true);
        assert_eq!(b.unusable.len(), 1, "{:?}", b.unusable);
        assert!(b.unusable[0].message.contains("never closed"), "{}", b.unusable[0].message);
    }
}
