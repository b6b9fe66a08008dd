//! CSV audience files and opt-out lists, streamed with one reused record.
//!
//! Audiences: column `id` is required, `last_interaction` optional; every
//! other column becomes a template variable. A bad row is reported with its
//! line and left out; the rows after it go on. What makes the whole file
//! unusable is an error that stops the run before anything is sent (SPEC §1):
//! a file that cannot be read, a header that is not UTF-8 or has no `id`, a
//! quoted field left open to the end of the file (one stray `"` swallows every
//! row after it), or a file whose every data row is bad. A file with a header
//! and no data rows is a valid, empty audience (nobody to send to today), and
//! rows whose every field is empty (a spreadsheet's trailing `,,,`) are not
//! rows at all.
//!
//! Opt-out lists read the `id` column only: other columns (missing, extra,
//! not UTF-8, any content) never matter, and a row whose id cannot be read
//! stops the run, since skipping it could message a person who opted out.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::vars::VarsRef;
use super::{Recipient, Row, RowError, clip, parse_time_in, valid_id};

/// The header row of a CSV audience (for validation): Err says why it
/// cannot be used (unreadable, not UTF-8).
pub fn read_header(path: &Path) -> Result<Vec<String>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut reader = builder().from_reader(file);
    let header = reader.byte_headers().map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    header_names(header)
        .map_err(|col| format!("the header of {} is not UTF-8 (column {col}); save the file as UTF-8", path.display()))
}

/// Header names, trimmed, without a byte-order mark; Err is the first
/// column (1-based) that is not UTF-8.
fn header_names(header: &csv::ByteRecord) -> Result<Vec<String>, usize> {
    header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h);
            std::str::from_utf8(h).map(|h| h.trim().to_string()).map_err(|_| i + 1)
        })
        .collect()
}

fn builder() -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    b.flexible(true);
    b
}

/// Opens `path` for the CSV reader, with the quote watcher between.
fn open_reader(path: &Path) -> Result<csv::Reader<QuoteWatch<File>>, RowError> {
    let file = File::open(path).map_err(|e| {
        RowError::fatal(path, 0, format!("cannot read the file: {e}"), "check the path and the file's permissions")
    })?;
    Ok(builder().from_reader(QuoteWatch::new(file)))
}

fn unreadable(path: &Path, line: u64, e: &csv::Error) -> RowError {
    RowError::fatal(path, line, format!("cannot read the file: {e}"), "check the disk and the file's permissions")
}

fn open_quote(path: &Path, line: u64) -> RowError {
    RowError::fatal(
        path,
        line,
        "a quoted field opens here and is never closed: every row after it would be read as part of one field",
        "remove the stray `\"` or close it; a quote inside a field is written doubled, as in \"a \"\"quoted\"\" word\"",
    )
}

/// The rows of a CSV audience, one [`Recipient`] or [`RowError`] at a time.
/// A fatal [`RowError`] ends the stream.
pub struct CsvRows {
    path: PathBuf,
    reader: csv::Reader<QuoteWatch<File>>,
    record: csv::ByteRecord,
    id_col: usize,
    time_col: Option<usize>,
    /// The column index of every other column.
    var_cols: Vec<usize>,
    /// Their names, shared by every row's [`super::Vars`].
    var_names: super::vars::Names,
    /// The current row's values, packed (see [`super::Vars`]).
    packed: String,
    width: usize,
    now: DateTime<Utc>,
    zone: Option<Tz>,
    good: u64,
    bad: u64,
    first_bad_line: u64,
    done: bool,
}

impl CsvRows {
    /// Opens the file and reads its header. `zone` is the audience's
    /// `timezone`, for local times.
    pub fn open(path: &Path, now: DateTime<Utc>, zone: Option<Tz>) -> Result<Self, RowError> {
        let mut reader = open_reader(path)?;
        let header = reader.byte_headers().map_err(|e| unreadable(path, 1, &e))?;
        if header.is_empty() || header.iter().all(<[u8]>::is_empty) {
            return Err(RowError::fatal(
                path,
                1,
                "the file is empty: an audience needs a header line",
                "write the column names on the first line, one of them `id`",
            ));
        }
        let header = header_names(header).map_err(|col| {
            RowError::fatal(
                path,
                1,
                format!("the header is not UTF-8 (column {col})"),
                "save the file as UTF-8 (spreadsheets call it \"CSV UTF-8\")",
            )
        })?;
        let id_col = header.iter().position(|h| h == "id").ok_or_else(|| {
            RowError::fatal(
                path,
                1,
                format!("the header has no `id` column ({})", clip(&header.join(","))),
                "the first line must name the columns, with one called `id`",
            )
        })?;
        let time_col = header.iter().position(|h| h == "last_interaction");
        let vars: Vec<(usize, Arc<str>)> = header
            .iter()
            .enumerate()
            .filter(|(i, h)| *i != id_col && Some(*i) != time_col && !h.is_empty())
            .map(|(i, h)| (i, Arc::from(h.as_str())))
            .collect();
        let var_cols = vars.iter().map(|(i, _)| *i).collect();
        let var_names = vars.into_iter().map(|(_, n)| n).collect();
        Ok(CsvRows {
            path: path.to_path_buf(),
            reader,
            record: csv::ByteRecord::new(),
            id_col,
            time_col,
            var_cols,
            var_names,
            packed: String::new(),
            width: header.len(),
            now,
            zone,
            good: 0,
            bad: 0,
            first_bad_line: 0,
            done: false,
        })
    }

    /// The names of the variable columns.
    pub fn var_names(&self) -> &super::vars::Names {
        &self.var_names
    }

    /// How many rows the whole file holds, guessed from the bytes read so
    /// far and the file's size (None before any row, or for a file whose
    /// size is unknown).
    pub fn estimated_rows(&self) -> Option<u64> {
        let read = self.reader.position().byte();
        let rows = self.good + self.bad;
        if read == 0 || rows == 0 {
            return None;
        }
        let size = self.reader.get_ref().inner.metadata().ok()?.len();
        Some(size.saturating_mul(rows) / read)
    }

    fn row_error(&self, line: u64, field: &str, message: String) -> RowError {
        RowError::row(&self.path, line, field, message)
    }

    /// Checks the current record and packs its variables into
    /// `self.packed`; Ok is its last interaction (see [`CsvRows::row`]).
    fn parse_record(&mut self, line: u64) -> Result<Option<DateTime<Utc>>, RowError> {
        let rec = &self.record;
        if rec.len() != self.width {
            let mut message = format!("the row has {} fields; the header has {}", rec.len(), self.width);
            let breaks = rec.iter().flatten().filter(|&&b| b == b'\n').count() as u64;
            if breaks > 0 {
                message.push_str(&format!(
                    "; a quoted field runs over lines {line}-{}: check for a stray `\"`",
                    line + breaks
                ));
            }
            return Err(self.row_error(line, "", message));
        }
        let path = &self.path;
        let text = |i: usize, name: &str| {
            std::str::from_utf8(&rec[i])
                .map(str::trim)
                .map_err(|_| RowError::row(path, line, name, "not valid UTF-8; save the file as UTF-8"))
        };
        let id = text(self.id_col, "id")?;
        if id.is_empty() {
            return Err(self.row_error(line, "id", "the id is empty".into()));
        }
        if !valid_id(id) {
            return Err(self.row_error(
                line,
                "id",
                format!("\"{}\" is not a page-scoped id (letters, digits, `_` and `-`)", clip(id)),
            ));
        }
        let last_interaction = match self.time_col {
            Some(i) => match text(i, "last_interaction")? {
                "" => None,
                t => Some(
                    parse_time_in(t, self.now, self.zone)
                        .map_err(|e| self.row_error(line, "last_interaction", e.message()))?,
                ),
            },
            None => None,
        };
        let mut values = Vec::with_capacity(self.var_cols.len());
        for (i, name) in self.var_cols.iter().zip(self.var_names.iter()) {
            values.push(text(*i, name)?);
        }
        self.packed.clear();
        super::vars::pack_into(&mut self.packed, values);
        // Kept per recipient in 24 bits (with a few bytes of its own).
        if self.packed.len() > super::merge::MAX_VARS_BYTES - 8 {
            let bytes = self.packed.len();
            return Err(self.row_error(
                line,
                "",
                format!("the row's variables take {bytes} bytes; at most 16 MiB can be kept for a recipient"),
            ));
        }
        Ok(last_interaction)
    }

    /// The current record as a row, once [`CsvRows::parse_record`] accepted it.
    fn row(&self, last_interaction: Option<DateTime<Utc>>) -> Row<'_> {
        let id = std::str::from_utf8(&self.record[self.id_col]).map_or("", str::trim);
        let vars =
            if self.var_names.is_empty() { VarsRef::default() } else { VarsRef::new(&self.var_names, &self.packed) };
        Row { id, last_interaction, vars }
    }

    /// The next row, borrowed (nothing is allocated per row), or the next
    /// problem. A fatal [`RowError`] ends the stream.
    pub fn next_row(&mut self) -> Option<Result<Row<'_>, RowError>> {
        if self.done {
            return None;
        }
        let item = self.step();
        if matches!(&item, None | Some(Err(RowError { fatal: true, .. }))) {
            self.done = true;
        }
        Some(item?.map(|last| self.row(last)))
    }

    /// The end of the file: a quote left open, or no usable row, is fatal.
    fn finish(&mut self) -> Option<RowError> {
        if let Some(line) = self.reader.get_ref().open_quote_line() {
            return Some(open_quote(&self.path, line));
        }
        (self.good == 0 && self.bad > 0).then(|| {
            RowError::fatal(
                &self.path,
                self.first_bad_line,
                format!("none of the {} data rows can be used (the first bad one is this line)", self.bad),
                "fix the rows reported above; a file meant to be empty holds only its header line",
            )
        })
    }

    fn step(&mut self) -> Option<Result<Option<DateTime<Utc>>, RowError>> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return self.finish().map(Err),
                Ok(true) => {
                    let line = self.record.position().map_or(0, |p| p.line());
                    // The record that holds a quote left open to the end.
                    if let Some(open) = self.reader.get_ref().open_quote_line()
                        && self.reader.position().byte() > self.reader.get_ref().open_quote_byte
                    {
                        return Some(Err(open_quote(&self.path, open)));
                    }
                    if self.record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                        continue;
                    }
                    let row = self.parse_record(line);
                    match &row {
                        Ok(_) => self.good += 1,
                        Err(_) => {
                            self.bad += 1;
                            if self.first_bad_line == 0 {
                                self.first_bad_line = line;
                            }
                        }
                    }
                    return Some(row);
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    return Some(Err(unreadable(&self.path, line, &e)));
                }
            }
        }
    }
}

impl Iterator for CsvRows {
    type Item = Result<Recipient, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_row()?.map(|row| row.to_recipient()))
    }
}

/// Reads the ids of an opt-out list. Only the `id` column is read; Err is
/// the first problem that could let an opted-out person through (the list or
/// an id cannot be read).
pub fn read_opt_outs(path: &Path) -> Result<Vec<Box<str>>, RowError> {
    let mut reader = open_reader(path)?;
    let header = reader.byte_headers().map_err(|e| unreadable(path, 1, &e))?;
    let id_col = header
        .iter()
        .position(|h| {
            let h = h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h);
            h.trim_ascii() == b"id"
        })
        .ok_or_else(|| {
            RowError::fatal(
                path,
                1,
                format!("the header has no `id` column ({})", clip(&String::from_utf8_lossy(header.as_slice()))),
                "an opt-out list is a CSV whose first line names an `id` column",
            )
        })?;
    let bad_id = |line: u64, what: String| {
        RowError::fatal(
            path,
            line,
            format!("the id of this opt-out row {what}"),
            "fix the row: every opt-out must be read, or people who opted out could be messaged",
        )
    };
    let mut ids = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(unreadable(path, e.position().map_or(0, |p| p.line()), &e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        if let Some(open) = reader.get_ref().open_quote_line()
            && reader.position().byte() > reader.get_ref().open_quote_byte
        {
            return Err(open_quote(path, open));
        }
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let id = match record.get(id_col).map(std::str::from_utf8) {
            None => return Err(bad_id(line, format!("is missing (the row has {} fields)", record.len()))),
            Some(Err(_)) => return Err(bad_id(line, "is not UTF-8".into())),
            Some(Ok(id)) => id.trim(),
        };
        if id.is_empty() {
            return Err(bad_id(line, "is empty".into()));
        }
        if !valid_id(id) {
            return Err(bad_id(
                line,
                format!("\"{}\" is not a page-scoped id (letters, digits, `_` and `-`)", clip(id)),
            ));
        }
        ids.push(id.into());
    }
    if let Some(open) = reader.get_ref().open_quote_line() {
        return Err(open_quote(path, open));
    }
    Ok(ids)
}

/// Where a CSV parser (the csv crate's, default dialect) is within a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    /// At the start of a field: a `"` opens a quoted field.
    FieldStart,
    /// In an unquoted field: a `"` is a plain character.
    Unquoted,
    /// In a quoted field.
    Quoted,
    /// Just after a `"` in a quoted field: `""` is a quote, else it closed.
    AfterQuote,
}

/// Passes bytes through to the CSV reader and follows the quoting, so that a
/// quoted field still open at the end of the file can be pointed at. (The
/// csv crate returns such a field as if it had been closed there.)
struct QuoteWatch<R> {
    inner: R,
    state: CsvState,
    /// Line breaks seen so far.
    lines: u64,
    /// Bytes seen so far.
    bytes: u64,
    /// Where the last quoted field opened.
    open_quote_line: u64,
    open_quote_byte: u64,
    eof: bool,
}

impl<R> QuoteWatch<R> {
    fn new(inner: R) -> Self {
        QuoteWatch {
            inner,
            state: CsvState::FieldStart,
            lines: 0,
            bytes: 0,
            open_quote_line: 0,
            open_quote_byte: 0,
            eof: false,
        }
    }

    /// The line of a quoted field left open at the end of the file.
    fn open_quote_line(&self) -> Option<u64> {
        (self.eof && self.state == CsvState::Quoted).then_some(self.open_quote_line)
    }

    fn watch(&mut self, buf: &[u8]) {
        // Most of a file has no quote: count its lines, and the state after
        // it is set by its last byte alone.
        if self.state != CsvState::Quoted && !buf.contains(&b'"') {
            if let Some(&last) = buf.last() {
                self.lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
                self.bytes += buf.len() as u64;
                self.state =
                    if matches!(last, b',' | b'\n' | b'\r') { CsvState::FieldStart } else { CsvState::Unquoted };
            }
            return;
        }
        for &b in buf {
            self.state = match (self.state, b) {
                (CsvState::FieldStart, b'"') => {
                    self.open_quote_line = self.lines + 1;
                    self.open_quote_byte = self.bytes;
                    CsvState::Quoted
                }
                (CsvState::Quoted, b'"') => CsvState::AfterQuote,
                (CsvState::Quoted, _) => CsvState::Quoted,
                (CsvState::AfterQuote, b'"') => CsvState::Quoted,
                (_, b',' | b'\n' | b'\r') => CsvState::FieldStart,
                _ => CsvState::Unquoted,
            };
            if b == b'\n' {
                self.lines += 1;
            }
            self.bytes += 1;
        }
    }
}

impl<R: Read> Read for QuoteWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof = true;
        }
        self.watch(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn rows_in(text: &[u8], zone: Option<Tz>) -> Vec<Result<Recipient, RowError>> {
        let f = file(text);
        CsvRows::open(f.path(), now(), zone).unwrap().collect()
    }

    fn rows(text: &str) -> Vec<Result<Recipient, RowError>> {
        rows_in(text.as_bytes(), None)
    }

    fn fatal(r: &[Result<Recipient, RowError>]) -> Option<(u64, String)> {
        r.iter().filter_map(|x| x.as_ref().err()).find(|e| e.fatal).map(|e| (e.line, e.message.clone()))
    }

    #[test]
    fn reads_ids_times_and_vars() {
        let r = rows("id,last_interaction,first_name\n111,2026-11-21T08:00:00Z,Lan\n222,,Minh\n");
        let a = r[0].as_ref().unwrap();
        assert_eq!(a.id, "111");
        assert_eq!(a.vars.iter().collect::<Vec<_>>(), [("first_name", "Lan")]);
        assert!(r[1].as_ref().unwrap().last_interaction.is_none());
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_and_the_rest_go_on() {
        let r = rows(
            "id,last_interaction\n,2026-11-21T08:00:00Z\n222,soon\n333,2030-01-01T00:00:00Z\n444,2026-11-21T08:00:00Z\n555\n666,1795161600\n",
        );
        let errs: Vec<(u64, String)> =
            r.iter().filter_map(|x| x.as_ref().err()).map(|e| (e.line, e.field.clone())).collect();
        assert_eq!(
            errs,
            vec![(2, "id".into()), (3, "last_interaction".into()), (4, "last_interaction".into()), (6, String::new())]
        );
        let ok: Vec<&str> = r.iter().filter_map(|x| x.as_ref().ok()).map(|x| x.id.as_str()).collect();
        assert_eq!(ok, ["444", "666"]);
        assert_eq!(fatal(&r), None);
    }

    #[test]
    fn a_file_without_an_id_column_is_refused() {
        let f = file(b"psid,name\n1,a\n");
        let e = CsvRows::open(f.path(), now(), None).err().unwrap();
        assert!(e.fatal && e.message.contains("no `id` column"), "{e}");
    }

    #[test]
    fn quoted_fields_and_crlf_work() {
        let r = rows("id,note\r\n111,\"a, \"\"b\"\"\"\r\n");
        assert_eq!(r[0].as_ref().unwrap().vars.get("note"), Some("a, \"b\""));
    }

    #[test]
    fn a_quote_left_open_to_the_end_is_fatal_at_its_line() {
        let mut text = String::from("id,first_name\n1,Lan\n2,\"Minh\n");
        for i in 3..1000 {
            text.push_str(&format!("{i},Name{i}\n"));
        }
        let r = rows(&text);
        let (line, message) = fatal(&r).expect("fatal");
        assert_eq!(line, 3);
        assert!(message.contains("never closed"), "{message}");
        assert_eq!(r.iter().filter(|x| x.is_ok()).count(), 1);
        assert!(r.last().unwrap().as_ref().is_err_and(|e| e.fatal), "the fatal error ends the stream");
    }

    #[test]
    fn quotes_inside_unquoted_fields_and_doubled_quotes_are_fine() {
        let r = rows("id,note\n1,Lan \"the\" best\n2,\"say \"\"hi\"\"\"\n3,\"\"\n");
        assert!(r.iter().all(Result::is_ok), "{r:?}");
        assert_eq!(r[0].as_ref().unwrap().vars.get("note"), Some("Lan \"the\" best"));
    }

    #[test]
    fn a_quoted_field_over_many_lines_names_them() {
        let r = rows("id,note,city\n1,\"a\n2,b,c\n3,c\"\n4,d,e\n");
        let e = r[0].as_ref().unwrap_err();
        assert!(e.message.contains("lines 2-4"), "{e}");
        assert_eq!(r[1].as_ref().unwrap().id, "4");
    }

    #[test]
    fn every_row_bad_is_fatal_but_a_header_alone_is_an_empty_audience() {
        let r = rows("id,last_interaction\n1,soon\n2,later\n");
        assert_eq!(fatal(&r).map(|f| f.0), Some(2));
        assert!(rows("id,last_interaction\n").is_empty());
        assert!(rows("id,name\n,,\n , \n").is_empty(), "rows of empty fields are not rows");
    }

    #[test]
    fn a_header_that_is_not_utf8_or_an_empty_file_is_fatal() {
        let f = file(b"id,pr\xe9nom\n1,a\n");
        let e = CsvRows::open(f.path(), now(), None).err().unwrap();
        assert_eq!((e.fatal, e.line), (true, 1));
        assert!(e.message.contains("not UTF-8 (column 2)"), "{e}");
        let f = file(b"");
        assert!(CsvRows::open(f.path(), now(), None).err().unwrap().message.contains("empty"));
        let e = CsvRows::open(Path::new("/no/such/file.csv"), now(), None).err().unwrap();
        assert_eq!((e.fatal, e.line), (true, 0));
    }

    #[test]
    fn local_times_are_read_in_the_audiences_zone() {
        let zone: Tz = "Asia/Ho_Chi_Minh".parse().unwrap();
        let r = rows_in(b"id,last_interaction\n1,2026-11-21 12:02:13\n2,2026-11-21 12:02\n3,1795161600\n", Some(zone));
        let times: Vec<String> = r.iter().map(|x| x.as_ref().unwrap().last_interaction.unwrap().to_rfc3339()).collect();
        assert_eq!(times, ["2026-11-21T05:02:13+00:00", "2026-11-21T05:02:00+00:00", "2026-11-20T08:00:00+00:00"]);
        let without = rows("id,last_interaction\n1,2026-11-21 12:02:13\n2,2026-11-21T08:00:00Z\n");
        let e = without[0].as_ref().unwrap_err();
        assert!(e.message.contains("RFC 3339") && e.message.contains("Unix seconds"), "{e}");
    }

    #[test]
    fn a_huge_bad_field_is_quoted_short() {
        let junk = "x".repeat(1 << 20);
        let r = rows(&format!("id,last_interaction\n1,{junk}\n2,2026-11-21T08:00:00Z\n"));
        let shown = r[0].as_ref().unwrap_err().to_string();
        assert!(shown.len() < 500, "{} bytes", shown.len());
        assert!(shown.contains(&format!("\"{}…\"", "x".repeat(80))), "{shown}");
    }

    #[test]
    fn opt_outs_read_only_the_id_column() {
        let f = file(b"id,name,last_interaction\n1,Lan,2030-01-01T00:00:00Z\n2,Minh\n3,Ng\xf4\n4,a,b,c,d\n,,\n");
        let ids = read_opt_outs(f.path()).unwrap();
        assert_eq!(ids, ["1", "2", "3", "4"].map(Box::from));
        let f = file(b"name,id\nLan,1\nMinh\n");
        let e = read_opt_outs(f.path()).unwrap_err();
        assert_eq!((e.fatal, e.line), (true, 3));
        assert!(e.message.contains("missing"), "{e}");
        for (bytes, line) in [(&b"id\n1\n\xff\n"[..], 3), (b"id\n1\n\"2\n3\n", 3), (b"id\n1\n1 2\n", 3), (b"x\n1\n", 1)]
        {
            let f = file(bytes);
            let e = read_opt_outs(f.path()).unwrap_err();
            assert_eq!((e.fatal, e.line), (true, line), "{e}");
        }
    }
}
