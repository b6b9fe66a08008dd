//! The record of every API request, which tests assert on.
//!
//! Each request is written down when it arrives, before it is answered, so a
//! test that kills pagecast mid-send still sees what reached the "API". A
//! record is serialized once and the same JSON line feeds memory
//! (`GET /_sandbox/requests`) and the `--record` file. The file is flushed
//! per record (never fsynced): the sandbox may be killed at the end of a
//! test, and the page cache survives that. All work per request is O(1).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

/// Which imitated endpoint a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `/_sandbox/landing`, where the `redirect:` faults lead.
    Landing,
    /// `POST /{page}/messages`.
    Graph,
    /// `POST /social/messages.json`.
    Harasocial,
    /// `GET /{page}/conversations`.
    Conversations,
}

/// What is recorded of one request (everything but `seq` and `at`).
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Path as received, version prefix included.
    pub path: &'a str,
    /// Raw query string, empty when there is none.
    pub query: &'a str,
    /// The `Authorization` header as received.
    pub authorization: Option<&'a str>,
    /// Page id (from the path, or `page_id` in a Harasocial body).
    pub page: Option<&'a str>,
    /// Recipient PSID from the body, when there is one.
    pub recipient: Option<&'a str>,
    /// Endpoint kind.
    pub kind: Kind,
    /// The fault the request was given (`ok`, `graph:613`…), or why it was
    /// rejected (`auth_error`, `bad_request`).
    pub fault: &'a str,
    /// The body parsed as JSON, or as a string when it is not JSON.
    pub body: &'a Value,
}

/// A record as serialized: the entry plus its sequence number and time.
#[derive(Serialize)]
struct Numbered<'a> {
    seq: u64,
    at: String,
    #[serde(flatten)]
    entry: &'a Entry<'a>,
}

/// Counters behind `GET /_sandbox/stats`.
#[derive(Debug, Default, Serialize)]
struct Stats {
    requests: u64,
    by_page: HashMap<String, u64>,
    by_fault: HashMap<String, u64>,
}

/// The journal's mutable part, behind one lock so that sequence numbers,
/// memory and file agree on the order.
struct Inner {
    last_seq: u64,
    lines: Vec<String>,
    stats: Stats,
    file: Option<BufWriter<File>>,
}

/// The request journal shared by all connections.
pub struct Journal {
    inner: Mutex<Inner>,
}

impl Journal {
    /// A journal that also appends to `file` when given.
    pub fn new(file: Option<File>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                last_seq: 0,
                lines: Vec::new(),
                stats: Stats::default(),
                file: file.map(BufWriter::new),
            }),
        }
    }

    /// Records a request and returns its sequence number (from 1, never
    /// reused, not even after [`Journal::clear`]).
    pub fn record(&self, entry: &Entry<'_>) -> u64 {
        let mut inner = self.lock();
        inner.last_seq += 1;
        let seq = inner.last_seq;
        let numbered = Numbered { seq, at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true), entry };
        // Serializing borrowed strings and a `Value` cannot fail.
        let line = serde_json::to_string(&numbered).unwrap_or_default();
        inner.append_to_file(&line);
        inner.lines.push(line);
        inner.stats.count(entry);
        seq
    }

    /// All records since the last clear, as a JSON array in arrival order.
    pub fn requests_json(&self) -> String {
        let inner = self.lock();
        let size = inner.lines.iter().map(|l| l.len() + 1).sum::<usize>() + 2;
        let mut out = String::with_capacity(size);
        out.push('[');
        for (i, line) in inner.lines.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(line);
        }
        out.push(']');
        out
    }

    /// The stats object, as JSON.
    pub fn stats_json(&self) -> Value {
        serde_json::to_value(&self.lock().stats).unwrap_or_default()
    }

    /// Forgets the records and stats kept in memory (the file keeps its lines).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.lines.clear();
        inner.stats = Stats::default();
    }

    /// Locks the journal; a panic elsewhere must not stop the recording.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Appends one line to the `--record` file and flushes it. After a write
    /// error the file is dropped with one message, rather than one per request.
    fn append_to_file(&mut self, line: &str) {
        let Some(file) = &mut self.file else { return };
        let written = file.write_all(line.as_bytes()).and_then(|()| file.write_all(b"\n")).and_then(|()| file.flush());
        if let Err(error) = written {
            eprintln!("pagecast-sandbox: stopped writing the --record file: {error}");
            self.file = None;
        }
    }
}

impl Stats {
    /// Counts one request, allocating only for a page or fault not yet seen.
    fn count(&mut self, entry: &Entry<'_>) {
        self.requests += 1;
        if let Some(page) = entry.page {
            bump(&mut self.by_page, page);
        }
        bump(&mut self.by_fault, entry.fault);
    }
}

/// Adds one to `map[key]`.
fn bump(map: &mut HashMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(page: Option<&'a str>, fault: &'a str, body: &'a Value) -> Entry<'a> {
        Entry {
            method: "POST",
            path: "/v25.0/500/messages",
            query: "",
            authorization: Some("Bearer t"),
            page,
            recipient: Some("42"),
            kind: Kind::Graph,
            fault,
            body,
        }
    }

    #[test]
    fn records_in_order_and_counts() {
        let journal = Journal::new(None);
        let body = serde_json::json!({"recipient": {"id": "42"}});
        assert_eq!(journal.record(&entry(Some("500"), "ok", &body)), 1);
        assert_eq!(journal.record(&entry(Some("500"), "graph:613", &body)), 2);
        assert_eq!(journal.record(&entry(None, "bad_request", &body)), 3);

        let records: Vec<Value> = serde_json::from_str(&journal.requests_json()).expect("valid JSON array");
        let seqs: Vec<_> = records.iter().map(|r| r["seq"].as_u64()).collect();
        assert_eq!(seqs, [Some(1), Some(2), Some(3)]);
        assert_eq!(records[1]["fault"], "graph:613");
        assert_eq!(records[0]["kind"], "graph");
        assert_eq!(records[0]["body"]["recipient"]["id"], "42");
        let at = records[0]["at"].as_str().unwrap_or_default();
        assert!(at.ends_with('Z') && at.len() == 24, "{at}");

        let stats = journal.stats_json();
        assert_eq!(stats["requests"], 3);
        assert_eq!(stats["by_page"]["500"], 2);
        assert_eq!(stats["by_fault"]["ok"], 1);
    }

    #[test]
    fn clear_keeps_numbering() {
        let journal = Journal::new(None);
        let body = Value::Null;
        journal.record(&entry(None, "ok", &body));
        journal.clear();
        assert_eq!(journal.requests_json(), "[]");
        assert_eq!(journal.stats_json()["requests"], 0);
        assert_eq!(journal.record(&entry(None, "ok", &body)), 2);
    }
}
