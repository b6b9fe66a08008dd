//! `report.json`: the machine-readable report, and the document `plan
//! --format json` prints.
//!
//! Its keys are normative (SPEC §6), so the shape lives in the serde
//! derives of [`Report`] and this formatter only chooses the layout.

use std::io::{self, Write};

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::{OutcomeRow, Report};

/// Renders the report as JSON with keys in the order of the [`Report`]
/// fields, laid out by [`Layout`], ending with a newline.
pub fn render(report: &Report) -> String {
    let mut out = Vec::new();
    // Only strings, integers, booleans and string-keyed maps, into memory:
    // cannot fail.
    write_streamed(&mut out, report, report.outcomes.iter().cloned()).expect("a Report always serializes");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn write_with_layout<W: Write, T: Serialize>(out: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, Layout::default());
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// The report's layout: the top levels indented two spaces a level, as
/// `serde_json`'s pretty printer does, and each value two levels down (an
/// outcome row, a page's counts, a pause) on one line of its own. A
/// report of millions of rows is then about half the size, and reads (and
/// greps) one recipient per line.
#[derive(Default)]
struct Layout {
    /// Objects and arrays open around the value being written.
    depth: usize,
    /// The current object or array has a value written already.
    has_value: bool,
}

/// Nesting below which values are written on one line.
const ONE_LINE_BELOW: usize = 2;

impl Layout {
    fn pretty(&self) -> bool {
        self.depth <= ONE_LINE_BELOW
    }

    fn newline_indent<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        let was_pretty = self.pretty();
        self.depth -= 1;
        if was_pretty && self.has_value {
            self.newline_indent(w)?;
        }
        self.has_value = true;
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(if self.pretty() { b"," } else { b", " })?;
        }
        if self.pretty() { self.newline_indent(w) } else { Ok(()) }
    }
}

impl serde_json::ser::Formatter for Layout {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes the same document as [`render`] to `out`, taking the rows one at
/// a time from `rows` instead of from `head.outcomes` (which is ignored): the
/// counts of `head` go first, then `"outcomes": [`, then each row as it is
/// produced, so no list of rows is ever held. `out` should be buffered.
pub fn write_streamed<W: Write>(out: W, head: &Report, rows: impl Iterator<Item = OutcomeRow>) -> io::Result<()> {
    let mut out = out;
    // The head through serde, with an empty `outcomes` last; the rows, by
    // far the bulk of a large report, written by hand in its place (the
    // same text serde would write, several times faster).
    let mut top = Vec::new();
    write_with_layout(&mut top, &Head(head))?;
    let open =
        top.strip_suffix(b"[]\n}").ok_or_else(|| io::Error::other("the report's head does not end in outcomes"))?;
    out.write_all(open)?;
    out.write_all(b"[")?;
    let mut first = true;
    for row in rows {
        out.write_all(if first { b"\n    " } else { b",\n    " })?;
        write_row(&mut out, &row)?;
        first = false;
    }
    out.write_all(if first { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    out.flush()
}

/// One row as [`Layout`] writes an object two levels down: on one line,
/// keys in the order of [`OutcomeRow`]'s fields.
fn write_row<W: Write>(w: &mut W, row: &OutcomeRow) -> io::Result<()> {
    w.write_all(b"{\"page\": ")?;
    write_str(w, &row.page)?;
    w.write_all(b", \"recipient\": ")?;
    write_str(w, &row.recipient)?;
    w.write_all(b", \"outcome\": \"")?;
    w.write_all(row.outcome.as_str().as_bytes())?;
    w.write_all(b"\", \"reason\": ")?;
    write_opt_str(w, row.reason.as_deref())?;
    w.write_all(b", \"error_code\": ")?;
    write_opt_int(w, row.error_code)?;
    w.write_all(b", \"error_subcode\": ")?;
    write_opt_int(w, row.error_subcode)?;
    w.write_all(b", \"error_message\": ")?;
    write_opt_str(w, row.error_message.as_deref())?;
    w.write_all(b", \"message_id\": ")?;
    write_opt_str(w, row.message_id.as_deref())?;
    w.write_all(b", \"attempts\": ")?;
    write_opt_int(w, Some(row.attempts.into()))?;
    w.write_all(b", \"at\": ")?;
    write_opt_str(w, row.at.as_deref())?;
    w.write_all(b", \"window_closes_at\": ")?;
    write_opt_str(w, row.window_closes_at.as_deref())?;
    w.write_all(b"}")
}

/// A JSON string: as is when nothing in it needs escaping (ids, reasons,
/// times), through serde_json otherwise.
fn write_str<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        w.write_all(b"\"")
    } else {
        serde_json::to_writer(w, s).map_err(io::Error::from)
    }
}

fn write_opt_str<W: Write>(w: &mut W, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => write_str(w, s),
        None => w.write_all(b"null"),
    }
}

fn write_opt_int<W: Write>(w: &mut W, n: Option<i64>) -> io::Result<()> {
    match n {
        Some(n) => write!(w, "{n}"),
        None => w.write_all(b"null"),
    }
}

/// A [`Report`]'s head: every key of the derive of [`Report`], in its order,
/// with `outcomes` empty (the rows are written after it by hand).
struct Head<'a>(&'a Report);

impl Serialize for Head<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let h = self.0;
        let mut doc = serializer.serialize_struct("Report", 15)?;
        doc.serialize_field("campaign", &h.campaign)?;
        doc.serialize_field("occurrence", &h.occurrence)?;
        doc.serialize_field("dry_run", &h.dry_run)?;
        doc.serialize_field("started_at", &h.started_at)?;
        doc.serialize_field("finished_at", &h.finished_at)?;
        doc.serialize_field("exit_code", &h.exit_code)?;
        doc.serialize_field("summary", &h.summary)?;
        doc.serialize_field("pages", &h.pages)?;
        doc.serialize_field("skipped_by_reason", &h.skipped_by_reason)?;
        doc.serialize_field("failed_by_code", &h.failed_by_code)?;
        doc.serialize_field("not_attempted_by_reason", &h.not_attempted_by_reason)?;
        doc.serialize_field("pauses", &h.pauses)?;
        doc.serialize_field("stopped_pages", &h.stopped_pages)?;
        doc.serialize_field("canary", &h.canary)?;
        doc.serialize_field("outcomes", &[] as &[OutcomeRow])?;
        doc.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::report::tests::sample;

    /// The keys SPEC §6 names, then the ones this module adds (the SPEC
    /// allows additions, never renames).
    const SPEC_TOP: &[&str] = &[
        "campaign",
        "occurrence",
        "dry_run",
        "started_at",
        "finished_at",
        "exit_code",
        "summary",
        "skipped_by_reason",
        "failed_by_code",
        "pauses",
        "outcomes",
    ];
    const ADDED_TOP: &[&str] = &["pages", "stopped_pages", "canary", "not_attempted_by_reason"];
    const SPEC_SUMMARY: &[&str] = &["recipients", "sent", "skipped", "failed", "unknown", "not_attempted", "planned"];
    const SPEC_ROW: &[&str] = &[
        "page",
        "recipient",
        "outcome",
        "reason",
        "error_code",
        "error_subcode",
        "message_id",
        "attempts",
        "at",
        "window_closes_at",
    ];
    const ADDED_ROW: &[&str] = &["error_message"];

    fn keys(value: &Value) -> BTreeSet<&str> {
        value.as_object().unwrap().keys().map(String::as_str).collect()
    }

    fn set<'a>(spec: &[&'a str], added: &[&'a str]) -> BTreeSet<&'a str> {
        spec.iter().chain(added).copied().collect()
    }

    #[test]
    fn key_sets_are_the_spec_keys_plus_documented_additions() {
        let value: Value = serde_json::from_str(&render(&sample())).unwrap();
        assert_eq!(keys(&value), set(SPEC_TOP, ADDED_TOP));
        assert_eq!(keys(&value["summary"]), set(SPEC_SUMMARY, &[]));
        for page in value["pages"].as_object().unwrap().values() {
            assert_eq!(keys(page), set(SPEC_SUMMARY, &[]));
        }
        for row in value["outcomes"].as_array().unwrap() {
            assert_eq!(keys(row), set(SPEC_ROW, ADDED_ROW));
        }
    }

    #[test]
    fn keys_come_in_struct_order() {
        let text = render(&sample());
        let position = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
        let order = ["campaign", "occurrence", "dry_run", "started_at", "finished_at"];
        let more = ["exit_code", "summary", "pages", "skipped_by_reason", "failed_by_code"];
        let positions: Vec<_> = order.iter().chain(&more).map(|k| position(k)).collect();
        assert!(positions.is_sorted(), "{positions:?}");
        assert!(position("failed_by_code") < position("outcomes"));
    }

    #[test]
    fn nulls_and_lowercase_outcomes_are_written_as_the_spec_shows() {
        let value: Value = serde_json::from_str(&render(&sample())).unwrap();
        let row = &value["outcomes"][6];
        assert_eq!(row["outcome"], "not_attempted");
        assert!(row["reason"].is_null() && row["at"].is_null());
        assert_eq!(value["failed_by_code"]["551"], 1);
        assert_eq!(value["summary"]["planned"], 0);
    }

    #[test]
    fn streamed_document_is_byte_identical_to_the_rendered_one() {
        let report = sample();
        let head = Report { outcomes: Vec::new(), ..report.clone() };
        let mut out = Vec::new();
        write_streamed(&mut out, &head, report.outcomes.clone().into_iter()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), render(&report));
    }

    #[test]
    fn streamed_document_with_no_rows_matches_too() {
        let report = Report::from_rows("c", "o", true, "t0", "t1", 0, Vec::new());
        let mut out = Vec::new();
        write_streamed(&mut out, &report, std::iter::empty()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), render(&report));
    }

    #[test]
    fn the_top_is_indented_and_each_row_is_one_line() {
        let report = sample();
        let text = render(&report);
        assert!(text.starts_with("{\n  \"campaign\": "), "{text}");
        assert!(text.contains("\n  \"summary\": {\n    \"recipients\": "), "{text}");
        let row_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("    {\"page\": ")).collect();
        assert_eq!(row_lines.len(), report.outcomes.len(), "{text}");
        for line in row_lines {
            let row: Value = serde_json::from_str(line.trim_end_matches(',')).unwrap();
            assert_eq!(keys(&row), set(SPEC_ROW, ADDED_ROW));
        }
        let empty = render(&Report::from_rows("c", "o", true, "t0", "t1", 0, Vec::new()));
        assert!(empty.contains("\"outcomes\": []"), "{empty}");
    }

    /// The rows written by hand are the text serde writes for the whole
    /// report, escapes and nulls included.
    #[test]
    fn hand_written_rows_are_what_serde_writes() {
        let mut report = sample();
        let mut odd = report.outcomes[0].clone();
        odd.error_message = Some("a \"quoted\" \\ word\nnew line\u{1}, é, \u{2028}".into());
        odd.message_id = Some("m_\u{7f}".into());
        odd.error_code = Some(-1);
        odd.error_subcode = Some(i64::MAX);
        odd.attempts = u32::MAX;
        report.outcomes.push(odd);
        let mut by_serde = Vec::new();
        write_with_layout(&mut by_serde, &report).unwrap();
        by_serde.push(b'\n');
        assert_eq!(render(&report), String::from_utf8(by_serde).unwrap());
        let empty = Report::from_rows("c", "o", true, "t0", "t1", 0, Vec::new());
        let mut by_serde = Vec::new();
        write_with_layout(&mut by_serde, &empty).unwrap();
        by_serde.push(b'\n');
        assert_eq!(render(&empty), String::from_utf8(by_serde).unwrap());
    }

    #[test]
    fn round_trips_through_serde() {
        let report = sample();
        let back: Report = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(back, report);
    }
}
