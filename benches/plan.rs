//! Planning benchmark: a generated 1,000,000-row CSV audience, planned the way
//! `pagecast plan` does (validate, stream and merge the audience, decide every
//! recipient, count the summary and find the soonest-closing windows).
//!
//! The stated ideal is the floor for touching every byte: the `csv` crate
//! reading the same file with one reused `ByteRecord` and doing nothing else.
//! Printed: the time of each, their ratio, and the peak resident memory
//! (`VmHWM`), against the targets of under 3 s and under 200 MB.
//!
//! Run: `cargo bench --bench plan` (rows: `PLAN_BENCH_ROWS`, default 1,000,000).
//! Under `cargo test --all-targets` (no `--bench` argument) it is a quick
//! smoke run of 10,000 rows, so the bench code is known to work.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let default_rows = if full { 1_000_000 } else { 10_000 };
    let rows: usize = std::env::var("PLAN_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_rows);
    let dir = tempfile::tempdir().expect("a temp dir");
    let now: DateTime<Utc> = "2026-11-22T00:00:00Z".parse().expect("a time");
    let csv = dir.path().join("audience.csv");
    generate(&csv, rows, now);
    let campaign_path = dir.path().join("bench.yaml");
    std::fs::write(&campaign_path, CAMPAIGN).expect("write campaign");
    let bytes = std::fs::metadata(&csv).map(|m| m.len()).unwrap_or(0);
    println!("audience: {rows} rows, {:.1} MB", bytes as f64 / 1e6);

    let ideal = time(|| raw_read(&csv));
    let planned = time(|| plan(&campaign_path, now));
    let peak_mb = peak_rss_kb() as f64 / 1024.0;
    println!("ideal (csv read, reused ByteRecord): {:.3} s", ideal.0);
    println!(
        "plan: {:.3} s for {} decisions ({} planned)  ratio to ideal {:.1}x  (target < 3 s)",
        planned.0,
        planned.1.0,
        planned.1.1,
        planned.0 / ideal.0
    );
    println!("peak memory (VmHWM): {peak_mb:.0} MB  (target < 200 MB)");
}

const CAMPAIGN: &str = r#"version: 1
id: bench
pages:
  - { id: "500725830264749", provider: graph, token_env: BENCH_TOKEN }
audiences:
  - { page: "500725830264749", file: audience.csv }
message:
  text: "Hi {{ first_name }}, your order {{ order_id }} has shipped."
messaging_type: UPDATE
"#;

/// Rows spread over 48 hours before `now`, so about half fall outside the
/// 24-hour window; every 50th has no last interaction.
fn generate(path: &Path, rows: usize, now: DateTime<Utc>) {
    let mut w = BufWriter::new(std::fs::File::create(path).expect("create csv"));
    writeln!(w, "id,last_interaction,first_name,order_id").expect("write");
    for i in 0..rows {
        let id = 2_560_816_460_000_000u64 + i as u64;
        if i % 50 == 0 {
            writeln!(w, "{id},,Name{i},{i}").expect("write");
        } else {
            let t = now - TimeDelta::seconds((i as i64 * 7919) % (48 * 3600));
            writeln!(w, "{id},{},Name{i},{i}", t.timestamp()).expect("write");
        }
    }
    w.flush().expect("flush");
}

fn raw_read(path: &Path) -> u64 {
    let mut reader = csv::Reader::from_path(path).expect("open");
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record).expect("read") {
        n += record.len() as u64;
    }
    n
}

fn plan(path: &Path, now: DateTime<Utc>) -> (usize, usize) {
    let campaign = pagecast::campaign::validate_file(path, now).expect("valid campaign");
    let audiences = pagecast::audience::merge::load(&campaign, now, &HashMap::new());
    let plan = pagecast::plan::plan(&campaign, &audiences, |_, _| None, now, Default::default());
    // What `pagecast plan` (table view) does: counts and the soonest windows.
    let report = pagecast::report::rows::plan_summary(&campaign, &plan, "default", now);
    let soonest = pagecast::report::rows::soonest(&campaign, &audiences, &plan, 10);
    assert_eq!(soonest.len(), 10.min(report.summary.planned as usize));
    (report.summary.recipients as usize, report.summary.planned as usize)
}

fn time<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed().as_secs_f64(), out)
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(String::from))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
