//! Any bytes as a CSV audience and as an opt-out list: the readers answer,
//! a fatal problem ends the stream, messages stay short.
#![no_main]

use std::io::Write;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use pagecast::audience::csv::{CsvRows, read_opt_outs};

fuzz_target!(|data: &[u8]| {
    let now = DateTime::<Utc>::from_timestamp(1_795_305_600, 0).expect("a time");
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(data).expect("written");
    if let Ok(rows) = CsvRows::open(file.path(), now, Some(chrono_tz::Asia::Ho_Chi_Minh)) {
        let rows: Vec<_> = rows.collect();
        if let Some(i) = rows.iter().position(|r| r.as_ref().is_err_and(|e| e.fatal)) {
            assert_eq!(i, rows.len() - 1);
        }
        for e in rows.iter().filter_map(|r| r.as_ref().err()) {
            assert!(e.to_string().len() < 2000);
        }
    }
    let _ = read_opt_outs(file.path());
});
