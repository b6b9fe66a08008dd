//! CSV audience files, streamed with one reused record.
//!
//! Column `id` is required, `last_interaction` optional; every other column
//! becomes a template variable. A bad row is reported with its line and left
//! out; the rows after it go on.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Recipient, RowError, parse_time, valid_id};

/// The header row of a CSV file (for validation).
pub fn read_header(path: &Path) -> io::Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path).map_err(io::Error::other)?;
    let header = reader.headers().map_err(io::Error::other)?;
    Ok(header.iter().map(|h| h.trim().to_string()).collect())
}

/// The rows of a CSV audience, one [`Recipient`] or [`RowError`] at a time.
pub struct CsvRows {
    path: PathBuf,
    reader: csv::Reader<File>,
    record: csv::ByteRecord,
    id_col: usize,
    time_col: Option<usize>,
    /// (column index, variable name) for every other column.
    var_cols: Vec<usize>,
    /// Their names, shared by every row's [`super::Vars`].
    var_names: super::vars::Names,
    width: usize,
    now: DateTime<Utc>,
}

impl CsvRows {
    /// Opens the file and reads its header.
    pub fn open(path: &Path, now: DateTime<Utc>) -> Result<Self, RowError> {
        let fail = |line, message: String| RowError { file: path.to_path_buf(), line, field: String::new(), message };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| fail(0, format!("cannot open: {e}")))?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| fail(1, format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let id_col = header
            .iter()
            .position(|h| h == "id")
            .ok_or_else(|| fail(1, format!("the header has no `id` column ({})", header.join(","))))?;
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
            width: header.len(),
            now,
        })
    }

    fn row_error(&self, line: u64, field: &str, message: String) -> RowError {
        RowError { file: self.path.clone(), line, field: field.to_string(), message }
    }

    fn parse_record(&self, line: u64) -> Result<Recipient, RowError> {
        let rec = &self.record;
        if rec.len() != self.width {
            return Err(self.row_error(
                line,
                "",
                format!("the row has {} fields; the header has {}", rec.len(), self.width),
            ));
        }
        let text = |i: usize, name: &str| {
            std::str::from_utf8(&rec[i])
                .map(str::trim)
                .map_err(|_| self.row_error(line, name, "not valid UTF-8".into()))
        };
        let id = text(self.id_col, "id")?;
        if id.is_empty() {
            return Err(self.row_error(line, "id", "the id is empty".into()));
        }
        if !valid_id(id) {
            return Err(self.row_error(line, "id", format!("\"{id}\" is not a page-scoped id")));
        }
        let last_interaction = match self.time_col {
            Some(i) => match text(i, "last_interaction")? {
                "" => None,
                t => Some(parse_time(t, self.now).map_err(|e| self.row_error(line, "last_interaction", e.message()))?),
            },
            None => None,
        };
        let mut values = Vec::with_capacity(self.var_cols.len());
        for (i, name) in self.var_cols.iter().zip(self.var_names.iter()) {
            values.push(text(*i, name)?);
        }
        let vars = super::Vars::new(&self.var_names, values);
        Ok(Recipient { id: id.to_string(), last_interaction, vars })
    }
}

impl Iterator for CsvRows {
    type Item = Result<Recipient, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                Some(self.parse_record(line))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                Some(Err(self.row_error(line, "", format!("unreadable row: {e}"))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn rows(text: &str) -> Vec<Result<Recipient, RowError>> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        CsvRows::open(f.path(), now()).unwrap().collect()
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
    }

    #[test]
    fn a_file_without_an_id_column_is_refused() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"psid,name\n1,a\n").unwrap();
        let e = CsvRows::open(f.path(), now()).err().unwrap();
        assert!(e.message.contains("no `id` column"));
    }

    #[test]
    fn quoted_fields_and_crlf_work() {
        let r = rows("id,note\r\n111,\"a, \"\"b\"\"\"\r\n");
        assert_eq!(r[0].as_ref().unwrap().vars.get("note"), Some("a, \"b\""));
    }
}
