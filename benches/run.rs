//! Run-memory benchmark (issue 16): `pagecast run` (the real binary) of
//! `RUN_BENCH_ROWS` recipients (default 1,000,000 under `--bench`) spread
//! over 50 pages at `send.rate: 300`, against `pagecast-sandbox` on loopback
//! at zero latency, with the ledger on disk and all three report files
//! written. Printed: wall time, messages per second, and the peak resident
//! memory of the `pagecast` process (its `VmHWM`, read from `/proc` every
//! 50 ms while it runs), against the target of under 400 MB.
//!
//! Run: `cargo bench --bench run`. Under `cargo test --all-targets` it is a
//! smoke run of 2,000 recipients.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-11-22T00:00:00Z";
const PAGES: u64 = 50;
const SANDBOX_CHILD: &str = "PAGECAST_RUN_BENCH_SANDBOX";

fn main() {
    if std::env::var_os(SANDBOX_CHILD).is_some() {
        pagecast_sandbox::serve_announced_forever();
    }
    let full = std::env::args().any(|a| a == "--bench");
    let default_rows = if full { 1_000_000 } else { 2_000 };
    let rows: u64 = std::env::var("RUN_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_rows);
    let dir = tempfile::tempdir().expect("a temp dir");
    let yaml = write_campaign(dir.path(), rows);

    let mut sandbox = Command::new(std::env::current_exe().expect("own path"))
        .env(SANDBOX_CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sandbox");
    let mut line = String::new();
    BufReader::new(sandbox.stdout.take().expect("piped")).read_line(&mut line).expect("the sandbox's first line");
    let url = line.trim().strip_prefix("listening on ").expect("`listening on URL`").to_string();

    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pagecast"))
        .args(["run", yaml.to_str().expect("utf-8 path"), "--now", NOW])
        .env("PAGECAST_STATE", dir.path().join("state"))
        .env("PAGECAST_REPORT_DIR", dir.path().join("reports"))
        .env("PAGECAST_GRAPH_URL", format!("{url}/v25.0"))
        .env("PAGECAST_HARASOCIAL_URL", &url)
        .env("BENCH_TOKEN", "bench-token")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pagecast");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(kb) = std::fs::read_to_string(&status_path).ok().as_deref().and_then(vm_hwm_kb) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait for pagecast") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let seconds = start.elapsed().as_secs_f64();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    assert!(status.success(), "pagecast run exited with {status}");
    let report = find_report(&dir.path().join("reports")).expect("report.json written");
    let text = std::fs::read_to_string(&report).expect("read report.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
    let sent = doc["summary"]["sent"].as_u64().unwrap_or(0);
    assert_eq!(sent, rows, "every recipient sent");
    println!(
        "run: {rows} recipients on {PAGES} pages, {seconds:.1} s ({:.0} msg/s), report.json {:.0} MB, \
         peak memory (VmHWM of pagecast) {:.0} MB  (target < 400 MB)",
        rows as f64 / seconds,
        text.len() as f64 / 1e6,
        peak_kb as f64 / 1024.0
    );
}

fn write_campaign(dir: &Path, rows: u64) -> std::path::PathBuf {
    let mut pages = String::new();
    let mut audiences = String::new();
    for p in 0..PAGES {
        let page = 100_000_000_000_000 + p;
        let _ = writeln!(pages, "  - {{ id: \"{page}\", provider: graph, token_env: BENCH_TOKEN }}");
        let _ = writeln!(audiences, "  - {{ page: \"{page}\", file: a{p}.csv }}");
        let file = std::fs::File::create(dir.join(format!("a{p}.csv"))).expect("create csv");
        let mut w = BufWriter::with_capacity(1 << 20, file);
        writeln!(w, "id,last_interaction,first_name").expect("write");
        for i in (p..rows).step_by(PAGES as usize) {
            writeln!(w, "{},2026-11-21T23:00:00Z,Name{i}", 2_560_816_460_000_000u64 + i).expect("write");
        }
        w.flush().expect("flush");
    }
    let yaml = format!(
        "version: 1\nid: runbench\npages:\n{pages}audiences:\n{audiences}message:\n  text: \"Hi {{{{ first_name }}}}\"\n\
         messaging_type: UPDATE\nsend:\n  concurrency: 64\n  rate: 300\n"
    );
    let path = dir.join("runbench.yaml");
    std::fs::write(&path, yaml).expect("write campaign");
    path
}

fn vm_hwm_kb(status: &str) -> Option<u64> {
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn find_report(dir: &Path) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_report(&path) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == "report.json") {
            return Some(path);
        }
    }
    None
}
