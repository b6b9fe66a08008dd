//! JSONL audience files: one `{"id", "last_interaction", "vars"}` per line,
//! streamed. A bad line is reported and left out; the rest go on. A file that
//! cannot be read, or whose every line is bad, is unusable (SPEC §1); an
//! empty file is an empty audience. Lines are read with a cap, so a file
//! without line breaks cannot fill the memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::{Recipient, RowError, clip, parse_time_in, valid_id};

/// A line longer than this is a bad row (and is skipped without being kept).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: Value,
    #[serde(default)]
    last_interaction: Option<Value>,
    #[serde(default)]
    vars: serde_json::Map<String, Value>,
}

/// The lines of a JSONL audience. A fatal [`RowError`] ends the stream.
pub struct JsonlRows {
    path: PathBuf,
    reader: BufReader<File>,
    buf: Vec<u8>,
    line: u64,
    now: DateTime<Utc>,
    zone: Option<Tz>,
    good: u64,
    bad: u64,
    first_bad_line: u64,
    done: bool,
}

impl JsonlRows {
    /// Opens the file. `zone` is the audience's `timezone`, for local times.
    pub fn open(path: &Path, now: DateTime<Utc>, zone: Option<Tz>) -> Result<Self, RowError> {
        let file = File::open(path).map_err(|e| {
            RowError::fatal(path, 0, format!("cannot read the file: {e}"), "check the path and the file's permissions")
        })?;
        Ok(JsonlRows {
            path: path.to_path_buf(),
            reader: BufReader::new(file),
            buf: Vec::new(),
            line: 0,
            now,
            zone,
            good: 0,
            bad: 0,
            first_bad_line: 0,
            done: false,
        })
    }

    fn error(&self, field: &str, message: String) -> RowError {
        RowError::row(&self.path, self.line, field, message)
    }

    fn time(&self, text: &str) -> Result<DateTime<Utc>, RowError> {
        parse_time_in(text, self.now, self.zone).map_err(|e| self.error("last_interaction", e.message()))
    }

    fn parse(&self, text: &str) -> Result<Recipient, RowError> {
        let row: Row = serde_json::from_str(text).map_err(|e| {
            self.error("", format!("not a recipient object {{\"id\", \"last_interaction\", \"vars\"}}: {e}"))
        })?;
        let id = match &row.id {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(self.error("id", "the id must be a string".into())),
        };
        if !valid_id(&id) {
            return Err(
                self.error("id", format!("\"{}\" is not a page-scoped id (letters, digits, `_` and `-`)", clip(&id)))
            );
        }
        let last_interaction = match &row.last_interaction {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(self.time(s)?),
            Some(Value::Number(n)) => Some(self.time(&n.to_string())?),
            Some(_) => return Err(self.error("last_interaction", "must be a time string or Unix seconds".into())),
        };
        let mut vars = Vec::with_capacity(row.vars.len());
        for (k, v) in &row.vars {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(
                        self.error(&format!("vars.{k}"), "a variable must be text, a number or true/false".into())
                    );
                }
            };
            vars.push((k.as_str(), text));
        }
        let vars = super::Vars::from_pairs(vars);
        Ok(Recipient { id, last_interaction, vars })
    }

    /// Reads the next line into `buf` (without its line break). Ok(false)
    /// at the end; Ok(true) with an empty `buf` and `too_long` set for a
    /// line over [`MAX_LINE_BYTES`], which is skipped to its end.
    fn read_line(&mut self, too_long: &mut bool) -> std::io::Result<bool> {
        self.buf.clear();
        *too_long = false;
        let n = (&mut self.reader).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(false);
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() > MAX_LINE_BYTES {
            *too_long = true;
            self.buf.clear();
            // Skip the rest of the line, a buffer at a time.
            loop {
                let chunk = self.reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.reader.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = chunk.len();
                        self.reader.consume(len);
                    }
                }
            }
        }
        Ok(true)
    }

    fn step(&mut self) -> Option<Result<Recipient, RowError>> {
        loop {
            self.line += 1;
            let mut too_long = false;
            match self.read_line(&mut too_long) {
                Ok(false) => {
                    return (self.good == 0 && self.bad > 0).then(|| {
                        Err(RowError::fatal(
                            &self.path,
                            self.first_bad_line,
                            format!("none of the {} lines can be used (the first bad one is this line)", self.bad),
                            "fix the lines reported above; a file meant to be empty holds no lines",
                        ))
                    });
                }
                Ok(true) => {}
                Err(e) => {
                    return Some(Err(RowError::fatal(
                        &self.path,
                        self.line,
                        format!("cannot read the file: {e}"),
                        "check the disk and the file's permissions",
                    )));
                }
            }
            let row = if too_long {
                Err(self.error("", format!("the line is over {MAX_LINE_BYTES} bytes")))
            } else {
                match std::str::from_utf8(&self.buf) {
                    Ok(text) if text.trim().is_empty() => continue,
                    Ok(text) => self.parse(text),
                    Err(_) => Err(self.error("", "not valid UTF-8; save the file as UTF-8".into())),
                }
            };
            match &row {
                Ok(_) => self.good += 1,
                Err(_) => {
                    self.bad += 1;
                    if self.first_bad_line == 0 {
                        self.first_bad_line = self.line;
                    }
                }
            }
            return Some(row);
        }
    }
}

impl Iterator for JsonlRows {
    type Item = Result<Recipient, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step();
        if matches!(&item, None | Some(Err(RowError { fatal: true, .. }))) {
            self.done = true;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn rows(bytes: &[u8], zone: Option<Tz>) -> Vec<Result<Recipient, RowError>> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        JsonlRows::open(f.path(), now(), zone).unwrap().collect()
    }

    #[test]
    fn good_and_bad_lines() {
        let rows = rows(b"{\"id\":\"1\",\"last_interaction\":\"2026-11-21T00:00:00Z\",\"vars\":{\"n\":\"A\",\"k\":3}}\n\n{\"id\":\"2\"\n{\"id\":\"3\",\"extra\":1}\n{\"id\":4}\n\xff\n", None);
        assert_eq!(rows.len(), 5);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.vars.len(), 2);
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
        assert_eq!(rows[2].as_ref().unwrap_err().line, 4);
        assert_eq!(rows[3].as_ref().unwrap().id, "4");
        assert!(rows[4].as_ref().unwrap_err().message.contains("UTF-8"));
    }

    #[test]
    fn every_line_bad_is_fatal_and_an_empty_file_is_empty() {
        let r = rows(b"\n{\"id\": \"a b\"}\n{}\n", None);
        let last = r.last().unwrap().as_ref().unwrap_err();
        assert_eq!((last.fatal, last.line), (true, 2));
        assert!(rows(b"", None).is_empty());
        assert!(rows(b"\n\n", None).is_empty());
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_and_the_next_is_read() {
        let mut bytes = vec![b'x'; MAX_LINE_BYTES + 10];
        bytes.extend_from_slice(b"\n{\"id\":\"1\",\"last_interaction\":1795161600}\n");
        let r = rows(&bytes, None);
        assert!(r[0].as_ref().unwrap_err().message.contains("over"));
        assert_eq!(r[1].as_ref().unwrap().last_interaction.unwrap().timestamp(), 1795161600);
    }

    #[test]
    fn local_times_need_the_zone() {
        let line = b"{\"id\":\"1\",\"last_interaction\":\"2026-11-21 07:00\"}\n";
        assert!(rows(line, None)[0].is_err());
        let t = rows(line, Some(chrono_tz::Europe::Berlin))[0].as_ref().unwrap().last_interaction.unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T06:00:00+00:00");
    }
}
