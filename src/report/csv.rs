//! `outcomes.csv`: the outcome rows of `report.json`, one per line, for
//! spreadsheets and `grep`.
//!
//! The columns are the fields of [`OutcomeRow`] in order; a null is an empty
//! cell. Quoting is left to the `csv` crate so that error messages with
//! commas, quotes or line breaks survive a round trip.

use super::{OutcomeRow, Report};

/// The header row, in field order.
pub const HEADER: [&str; 11] = [
    "page",
    "recipient",
    "outcome",
    "reason",
    "error_code",
    "error_subcode",
    "error_message",
    "message_id",
    "attempts",
    "at",
    "window_closes_at",
];

/// Renders the outcome rows as CSV (RFC 4180 quoting, `\n` line ends) with a
/// header row.
pub fn render(report: &Report) -> Vec<u8> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail, and every record has HEADER.len() fields.
    writer.write_record(HEADER).expect("write to memory");
    for row in &report.outcomes {
        writer.write_record(cells(row)).expect("write to memory");
    }
    writer.into_inner().expect("flush to memory")
}

/// Writes the same text as [`render`] to `out`, one row at a time from
/// `rows` (nothing held but the row being written). `out` should be buffered.
pub fn write_streamed<W: std::io::Write>(out: W, rows: impl Iterator<Item = OutcomeRow>) -> std::io::Result<()> {
    let mut writer = ::csv::Writer::from_writer(out);
    writer.write_record(HEADER)?;
    for row in rows {
        writer.write_record(cells(&row))?;
    }
    writer.flush()?;
    Ok(())
}

fn cells(row: &OutcomeRow) -> [String; 11] {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let number = |value: Option<i64>| value.map(|n| n.to_string()).unwrap_or_default();
    [
        row.page.clone(),
        row.recipient.clone(),
        row.outcome.as_str().to_owned(),
        text(&row.reason),
        number(row.error_code),
        number(row.error_subcode),
        text(&row.error_message),
        text(&row.message_id),
        row.attempts.to_string(),
        text(&row.at),
        text(&row.window_closes_at),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{row, sample};
    use crate::report::{Outcome, OutcomeRow};

    fn read(bytes: &[u8]) -> Vec<::csv::StringRecord> {
        let mut reader = ::csv::Reader::from_reader(bytes);
        assert_eq!(reader.headers().unwrap(), &HEADER[..]);
        reader.records().map(Result::unwrap).collect()
    }

    #[test]
    fn one_line_per_outcome_with_empty_cells_for_nulls() {
        let report = sample();
        let records = read(&render(&report));
        assert_eq!(records.len(), report.outcomes.len());
        let first = &records[0];
        assert_eq!((&first[0], &first[1], &first[2]), ("111", "r1", "sent"));
        assert_eq!((&first[3], &first[4], &first[7], &first[8]), ("", "", "m_1", "1"));
        let failed = &records[7];
        assert_eq!((&failed[4], &failed[5]), ("10", "2018278"));
    }

    #[test]
    fn awkward_messages_round_trip() {
        let message = "Invalid \"param\", see:\nline two,\r\nand a trailing comma,";
        let rows = vec![OutcomeRow {
            error_code: Some(100),
            error_message: Some(message.to_owned()),
            reason: Some(" leading space".to_owned()),
            ..row("1", "a,b", Outcome::Failed)
        }];
        let report = Report::from_rows("c", "o", false, "t0", "t1", 1, rows);
        let records = read(&render(&report));
        assert_eq!(records.len(), 1);
        assert_eq!(&records[0][1], "a,b");
        assert_eq!(&records[0][3], " leading space");
        assert_eq!(&records[0][6], message);
    }

    #[test]
    fn an_empty_run_is_just_the_header() {
        let report = Report::from_rows("c", "o", true, "t0", "t1", 0, Vec::new());
        assert_eq!(render(&report), HEADER.join(",").into_bytes().into_iter().chain([b'\n']).collect::<Vec<_>>());
    }
}
