//! `report.json`: the machine-readable report, and the document `plan
//! --format json` prints.
//!
//! Its keys are normative (SPEC §6), so the shape lives in the serde
//! derives of [`Report`] and this formatter only chooses the layout.

use super::Report;

/// Renders the report as pretty-printed JSON with keys in the order of the
/// [`Report`] fields, ending with a newline.
pub fn render(report: &Report) -> String {
    // Only strings, integers, booleans and string-keyed maps: cannot fail.
    let mut text = serde_json::to_string_pretty(report).expect("a Report always serializes");
    text.push('\n');
    text
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
    const ADDED_TOP: &[&str] = &["pages", "stopped_pages", "canary"];
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
    fn round_trips_through_serde() {
        let report = sample();
        let back: Report = serde_json::from_str(&render(&report)).unwrap();
        assert_eq!(back, report);
    }
}
