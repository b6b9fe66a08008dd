//! JSONL audience files: one `{"id", "last_interaction", "vars"}` per line,
//! streamed. A bad line is reported and left out; the rest go on.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{Recipient, RowError, parse_time, valid_id};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: Value,
    #[serde(default)]
    last_interaction: Option<Value>,
    #[serde(default)]
    vars: serde_json::Map<String, Value>,
}

/// The lines of a JSONL audience.
pub struct JsonlRows {
    path: PathBuf,
    lines: std::io::Lines<BufReader<File>>,
    line: u64,
    now: DateTime<Utc>,
}

impl JsonlRows {
    /// Opens the file.
    pub fn open(path: &Path, now: DateTime<Utc>) -> Result<Self, RowError> {
        let file = File::open(path).map_err(|e| RowError {
            file: path.to_path_buf(),
            line: 0,
            field: String::new(),
            message: format!("cannot open: {e}"),
        })?;
        Ok(JsonlRows { path: path.to_path_buf(), lines: BufReader::new(file).lines(), line: 0, now })
    }

    fn error(&self, field: &str, message: String) -> RowError {
        RowError { file: self.path.clone(), line: self.line, field: field.into(), message }
    }

    fn parse(&self, text: &str) -> Result<Recipient, RowError> {
        let row: Row =
            serde_json::from_str(text).map_err(|e| self.error("", format!("not a recipient object: {e}")))?;
        let id = match &row.id {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(self.error("id", "the id must be a string".into())),
        };
        if !valid_id(&id) {
            return Err(self.error("id", format!("\"{id}\" is not a page-scoped id")));
        }
        let last_interaction = match &row.last_interaction {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(parse_time(s, self.now).map_err(|e| self.error("last_interaction", e.message()))?)
            }
            Some(Value::Number(n)) => {
                Some(parse_time(&n.to_string(), self.now).map_err(|e| self.error("last_interaction", e.message()))?)
            }
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
}

impl Iterator for JsonlRows {
    type Item = Result<Recipient, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.line += 1;
            let text = match self.lines.next()? {
                Ok(t) => t,
                Err(e) => return Some(Err(self.error("", format!("unreadable line: {e}")))),
            };
            if !text.trim().is_empty() {
                return Some(self.parse(&text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn good_and_bad_lines() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"{\"id\":\"1\",\"last_interaction\":\"2026-11-21T00:00:00Z\",\"vars\":{\"n\":\"A\",\"k\":3}}\n\n{\"id\":\"2\"\n{\"id\":\"3\",\"extra\":1}\n{\"id\":4}\n").unwrap();
        let rows: Vec<_> = JsonlRows::open(f.path(), now).unwrap().collect();
        assert_eq!(rows.len(), 4);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.vars.len(), 2);
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
        assert_eq!(rows[2].as_ref().unwrap_err().line, 4);
        assert_eq!(rows[3].as_ref().unwrap().id, "4");
    }
}
