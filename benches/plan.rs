//! Planning benchmark (issue 16): two generated CSV audiences of
//! `PLAN_BENCH_ROWS` rows in all (default 10,000,000 under `--bench`), one
//! per page, 5 % of each file's rows repeating an earlier id of that page,
//! last interactions spread over 48 hours (about half outside the 24-hour
//! window, every 50th row without one). Planned the way `pagecast plan`
//! does it, twice, each in its own process so each peak is its own:
//!
//! - `table`: validate, stream and merge the audiences, decide every
//!   recipient, count the summary and find the soonest-closing windows;
//! - `json`: the same, then the whole `--format json` document streamed to a
//!   sink through a `BufWriter` (counts first, then one row at a time).
//!
//! The stated ideal is the floor for touching every byte: the `csv` crate
//! reading the same files with one reused `ByteRecord` and doing nothing
//! else. Printed: the time of each, their ratio to the ideal, and the peak
//! resident memory (`VmHWM`), against the targets of under 10 s and 600 MB.
//!
//! Run: `cargo bench --bench plan` (rows: `PLAN_BENCH_ROWS`).
//! Under `cargo test --all-targets` (no `--bench` argument) it is a quick
//! smoke run of 10,000 rows in-process, so the bench code is known to work.

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

const PAGES: [&str; 2] = ["500725830264749", "600725830264750"];

fn main() {
    let now: DateTime<Utc> = "2026-11-22T00:00:00Z".parse().expect("a time");
    // A child: plan the files the parent generated, print one line.
    if let (Ok(mode), Ok(dir)) = (std::env::var("PLAN_BENCH_MODE"), std::env::var("PLAN_BENCH_DIR")) {
        let campaign = Path::new(&dir).join("bench.yaml");
        let (seconds, (recipients, planned)) = time(|| plan(&campaign, now, mode == "json"));
        println!("{seconds} {recipients} {planned} {}", peak_rss_kb());
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let default_rows = if full { 10_000_000 } else { 10_000 };
    let rows: usize = std::env::var("PLAN_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_rows);
    let dir = tempfile::tempdir().expect("a temp dir");
    let files: Vec<PathBuf> = (0..PAGES.len()).map(|i| dir.path().join(format!("audience{i}.csv"))).collect();
    for (i, file) in files.iter().enumerate() {
        generate(file, rows / PAGES.len(), i as u64, now);
    }
    std::fs::write(dir.path().join("bench.yaml"), CAMPAIGN).expect("write campaign");
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
    println!("audiences: {rows} rows in {} files, {:.1} MB, 5 % duplicate ids", files.len(), bytes as f64 / 1e6);

    let ideal = time(|| files.iter().map(|f| raw_read(f)).sum::<u64>()).0;
    println!("ideal (csv read, reused ByteRecord): {ideal:.3} s");
    for mode in ["table", "json"] {
        let (seconds, recipients, planned, peak_kb) = if full {
            child(mode, dir.path())
        } else {
            let (s, (r, p)) = time(|| plan(&dir.path().join("bench.yaml"), now, mode == "json"));
            (s, r, p, peak_rss_kb())
        };
        println!(
            "plan ({mode:5}): {seconds:.3} s for {recipients} recipients ({planned} planned)  ratio to ideal {:.1}x  \
             peak memory (VmHWM) {:.0} MB  (targets < 10 s, < 600 MB)",
            seconds / ideal,
            peak_kb as f64 / 1024.0
        );
    }
}

/// Runs this bench again as a child planning in `mode`; its figures.
fn child(mode: &str, dir: &Path) -> (f64, u64, u64, u64) {
    let out = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env("PLAN_BENCH_MODE", mode)
        .env("PLAN_BENCH_DIR", dir)
        .output()
        .expect("run the child");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert!(out.status.success() && fields.len() == 4, "child failed: {text} {}", String::from_utf8_lossy(&out.stderr));
    let n = |i: usize| fields[i].parse::<u64>().expect("a number");
    (fields[0].parse().expect("seconds"), n(1), n(2), n(3))
}

const CAMPAIGN: &str = r#"version: 1
id: bench
pages:
  - { id: "500725830264749", provider: graph, token_env: BENCH_TOKEN }
  - { id: "600725830264750", provider: graph, token_env: BENCH_TOKEN }
audiences:
  - { page: "500725830264749", file: audience0.csv }
  - { page: "600725830264750", file: audience1.csv }
message:
  text: "Hi {{ first_name }}, your order {{ order_id }} has shipped."
messaging_type: UPDATE
"#;

/// Rows spread over 48 hours before `now`, so about half fall outside the
/// 24-hour window; every 50th has no last interaction; every 20th repeats
/// the id of a row written earlier in the file.
fn generate(path: &Path, rows: usize, seed: u64, now: DateTime<Utc>) {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).expect("create csv"));
    writeln!(w, "id,last_interaction,first_name,order_id").expect("write");
    for i in 0..rows {
        let n = if i % 20 == 19 { i as u64 - 10 } else { i as u64 };
        let id = 2_560_816_460_000_000u64 + seed * 100_000_000 + n;
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

fn plan(path: &Path, now: DateTime<Utc>, json: bool) -> (u64, u64) {
    use pagecast::report::rows;
    let campaign = pagecast::campaign::validate_file(path, now).expect("valid campaign");
    let audiences = pagecast::audience::merge::load(&campaign, now, &HashMap::new());
    let plan = pagecast::plan::plan(&campaign, &audiences, |_| None, now, Default::default());
    // What `pagecast plan` does: counts and the soonest windows (the table),
    // or counts then every row streamed (`--format json`).
    let report = rows::plan_summary(&campaign, &audiences, &plan, "default", now);
    let soonest = rows::soonest(&campaign, &audiences, &plan, 10);
    assert_eq!(soonest.len(), 10.min(report.summary.planned as usize));
    if json {
        let sink = BufWriter::with_capacity(1 << 16, std::io::sink());
        pagecast::report::json::write_streamed(sink, &report, rows::plan_row_iter(&campaign, &audiences, &plan))
            .expect("write to a sink");
    } else {
        std::hint::black_box(pagecast::report::table::render(&report, &soonest));
    }
    (report.summary.recipients, report.summary.planned)
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
