//! Send benchmark: the pipeline against `pagecast-sandbox` on loopback.
//!
//! Run with `cargo bench --bench send` (40 s to 2 min depending on how fast
//! the pipeline is; the sandbox binary is built by cargo and started by the
//! bench). Every run must send every message, or the bench panics. Each
//! figure is one line with the measured value, the ideal it is compared to,
//! the ratio and the target (`MISSED` when not met):
//!
//! - `throughput_20ms_c64`: 20,000 messages, sandbox latency 20 ms,
//!   concurrency 64, no rate limit, no journal. Ideal: 64 requests in flight
//!   for 20 ms each = 3200 msg/s. Shows what the pipeline loses to dispatch
//!   and timers when the network is the bottleneck. (The sandbox's own tokio
//!   sleep rounds up to the next millisecond, so about 0.95 is the ceiling.)
//! - `ledger_20ms_c64`: the same run with the real SQLite ledger (fresh state
//!   directory, durable intent before every request, outcomes batched, flush
//!   included in the time). Ideal: the run without a journal.
//! - `pipeline_vs_bare_0ms_c64`: 20,000 messages, no latency, concurrency 64,
//!   no journal, against a bare reqwest loop (same pool settings, the same
//!   JSON bodies built beforehand with `wire::graph_body`, 64 tasks pulling
//!   from an atomic counter). Both share the 2 cores with the sandbox, so
//!   this is CPU overhead per request. Each runs five times, interleaved;
//!   the best of each is kept. Target 0.90.
//!   `cpu_per_msg_0ms_c64` (no target) is the bench process's CPU per
//!   message of each, the lowest of its runs.
//! - `rate_50_window_10s`: one page at `send.rate: 50`, concurrency 16, 700
//!   recipients. From the sandbox's recorded arrival times, the requests in
//!   the 10 s starting 1 s after the first one. Ideal: 500.
//!   `rate_50_max_1s` is the busiest 1 s sliding window (ideal 50).
//! - `cpu_per_msg_1000_pages_vs_10_pages`: CPU per message of the bench
//!   process (as below) for the zero-latency run of 20,000 messages,
//!   concurrency 64, no rate limit, no journal, spread evenly over 1,000
//!   pages (20 each, one audience file per page) against the same spread
//!   over 10 pages. Choosing the next job costs O(log pages) (a heap of
//!   pages, queue.rs), so the ratio should stay near 1: target <= 1.10.
//!   Nine runs of each, interleaved (which goes first alternates); the
//!   means of each less its highest and lowest run are compared, and every
//!   run is printed on the line below.
//!   The sandbox accepts any token for a page its config does not name, so
//!   every page sends.
//! - `cpu_per_msg_20ms_c64`: user+sys CPU of the bench process during the
//!   first run (`/proc/self/stat`, 100 ticks/s), divided by messages. The
//!   sandbox is a separate process: its CPU is not counted.
//! - `peak_rss`: `VmHWM` of the bench process after the two 20 ms runs, and
//!   after the zero-latency runs (which add the bare loop's 20,000 prebuilt
//!   `serde_json` bodies).
//!
//! `SEND_BENCH_ONLY=pipeline` (or `bare`) runs that side alone at zero
//! latency (`SEND_BENCH_PAGES`, default 1; `SEND_BENCH_RUNS`, default 3) and
//! prints each run's rate and CPU per message: a process to give to
//! `perf record` or callgrind.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pagecast::audience::merge::Audiences;
use pagecast::campaign::Campaign;
use pagecast::ledger::Ledger;
use pagecast::ledger::journal::LedgerJournal;
use pagecast::report::Outcome;
use pagecast::send::client::{Client, Endpoints, Redactor};
use pagecast::send::pipeline::{self, Cancel, Context, Journal, NoJournal, Progress};
use pagecast::send::wire::{self, GraphEnvelope};
use pagecast::vocab::Clock;
use serde_json::Value;
use tokio::runtime::Runtime;

use common::{Fixture, PAGE, Sandbox};

/// The frozen "now" of every run; recipients last wrote 1 h before it.
const NOW: &str = "2026-11-22T00:00:00Z";
/// Recipients of the throughput runs.
const RECIPIENTS: usize = 20_000;
/// Requests in flight in the throughput runs.
const CONCURRENCY: usize = 64;
/// Zero-latency runs of each kind; the best of them is kept.
const BEST_OF: usize = 5;
/// The page counts whose CPU per message is compared.
const FEW_PAGES: usize = 10;
/// See [`FEW_PAGES`].
const MANY_PAGES: usize = 1000;
/// Runs of each page count, interleaved; each count's CPU per message is
/// the mean of its runs less the highest and the lowest. On a shared
/// machine a run's CPU per message moves by ±15 % with the load of the
/// other processes, either way: runs side by side, many of them, compare
/// the code, not the moment (medians of seven gave 1.04 to 1.16 for the
/// same code; trimmed means of nine vary less).
const PAGES_RUNS: usize = 9;
/// "No rate limit": one slot every microsecond.
const NO_RATE_LIMIT: u32 = 1_000_000;
/// The token sent to the sandbox (which accepts any token for this page).
const TOKEN: &str = "bench-token";
/// `/proc/self/stat` times are in clock ticks; Linux uses 100 per second.
const TICKS_PER_SECOND: f64 = 100.0;

fn main() {
    common::serve_sandbox_if_asked();
    // `cargo test --all-targets` runs bench binaries without `--bench`: this
    // one needs half a minute of both cores, so it runs only under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("send bench: skipped (run `cargo bench --bench send`)");
        return;
    }
    if let Ok(side) = std::env::var("SEND_BENCH_ONLY") {
        only(&side);
        return;
    }
    let started = Instant::now();
    let now: DateTime<Utc> = NOW.parse().expect("NOW is RFC 3339");
    let work = tempfile::tempdir().expect("create a temporary directory");
    let rt = runtime();
    let sandbox = Sandbox::start(work.path());
    let bulk = Fixture::build(work.path(), "bulk", RECIPIENTS, 1, CONCURRENCY, NO_RATE_LIMIT, now);
    let paced = Fixture::build(work.path(), "paced", 700, 1, 16, 50, now);
    println!(
        "send bench: sandbox {} (separate process), tokio 2 workers, {} cores",
        sandbox.endpoints().graph,
        cores()
    );

    rt.block_on(sandbox.set_latency(20));
    let plain = run_pipeline(&rt, &sandbox, &bulk, now, NoJournal);
    let ideal = CONCURRENCY as f64 / 0.020;
    report("throughput_20ms_c64", plain.rate(), ideal, "msg/s", "64 / 20 ms", Target::AtLeast(0.90));

    let with_ledger = run_with_ledger(&rt, &sandbox, &bulk, now);
    let rss_pipeline = peak_rss_kib();
    let ideal = plain.rate();
    report("ledger_20ms_c64", with_ledger.rate(), ideal, "msg/s", "same run, no journal", Target::AtLeast(0.90));
    postgres_against_sqlite(&rt, &sandbox, &bulk, now, with_ledger);

    rt.block_on(sandbox.set_latency(0));
    let (pipeline_best, bare_best) = pipeline_against_bare(&rt, &sandbox, &bulk, now);
    let rss_end = peak_rss_kib();
    let (measured, ideal) = (pipeline_best.rate(), bare_best.rate());
    let ideal_is = format!("bare reqwest loop; best of {BEST_OF} runs each");
    report("pipeline_vs_bare_0ms_c64", measured, ideal, "msg/s", &ideal_is, Target::AtLeast(0.90));
    println!(
        "cpu_per_msg_0ms_c64: pipeline {:.1} us/msg, bare loop {:.1} us/msg  (lowest of the runs above, bench \
         process)",
        pipeline_best.cpu_per_msg() * 1e6,
        bare_best.cpu_per_msg() * 1e6
    );

    let window = rate_windows(&rt, &sandbox, &paced, now);
    let in_window = window.in_window as f64;
    report("rate_50_window_10s", in_window, 500.0, "requests", "50/s x 10 s", Target::Within(0.95, 1.05));
    let busiest = window.max_per_second as f64;
    report("rate_50_max_1s", busiest, 50.0, "requests", "50/s, any 1 s window", Target::None);

    let (few, many) = cpu_over_pages(&rt, &sandbox, work.path(), now);
    let ideal_is = format!(
        "{FEW_PAGES} pages; {RECIPIENTS} msgs, 0 ms, c64, {PAGES_RUNS} runs each, mean less highest and lowest"
    );
    let name = format!("cpu_per_msg_{MANY_PAGES}_pages_vs_{FEW_PAGES}_pages");
    report(&name, trimmed_mean(&many) * 1e9, trimmed_mean(&few) * 1e9, "ns/msg", &ideal_is, Target::AtMost(1.10));
    let runs = |values: &[f64]| values.iter().map(|v| format!("{:.1}", v * 1e6)).collect::<Vec<_>>().join(" ");
    println!("  (runs, us/msg: {FEW_PAGES} pages {}; {MANY_PAGES} pages {})", runs(&few), runs(&many));

    println!(
        "cpu_per_msg_20ms_c64: {:.1} us/msg  ({:.2} s user+sys for {} msgs in the bench process; \
         sandbox CPU not counted)",
        plain.cpu_per_msg() * 1e6,
        plain.cpu_seconds(),
        plain.sent
    );
    println!(
        "peak_rss: {} MiB after runs 1-2 (pipeline, ledger; {RECIPIENTS} recipients), {} MiB after the zero \
         latency runs (includes the bare loop's prebuilt bodies)  (VmHWM of the bench process)",
        rss_pipeline / 1024,
        rss_end / 1024
    );
    println!("bench wall time: {:.0} s", started.elapsed().as_secs_f64());
}

/// The runtime `pagecast run` uses: multi-thread, 2 workers.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime starts")
}

/// Messages sent, the wall time they took and the CPU time (user + sys, in
/// clock ticks) the bench process spent meanwhile.
#[derive(Debug, Clone, Copy)]
struct Measured {
    sent: usize,
    elapsed: Duration,
    cpu_ticks: u64,
}

impl Measured {
    fn rate(self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }

    fn cpu_seconds(self) -> f64 {
        self.cpu_ticks as f64 / TICKS_PER_SECOND
    }

    fn cpu_per_msg(self) -> f64 {
        self.cpu_seconds() / self.sent as f64
    }

    /// The faster of two runs, with the lower CPU per message of the two
    /// (each is the least disturbed figure of its kind on a shared machine).
    fn better(self, other: Measured) -> Measured {
        let cpu_ticks = self.cpu_ticks.min(other.cpu_ticks);
        let faster = if other.rate() > self.rate() { other } else { self };
        Measured { cpu_ticks, ..faster }
    }
}

/// Sends every job of `fixture` through `pipeline::run` with a fresh client.
/// Panics unless every result is `sent`: a figure built on errors is no figure.
fn run_pipeline<J: Journal>(
    rt: &Runtime,
    sandbox: &Sandbox,
    fixture: &Fixture,
    now: DateTime<Utc>,
    journal: J,
) -> Measured {
    rt.block_on(sandbox.reset());
    // The pipeline reads a closed cancel channel as "woken", which would skip
    // the rate sleeps: keep the sender alive for the whole run.
    let (_cancel_tx, cancel) = tokio::sync::watch::channel(Cancel::Running);
    let ctx = Arc::new(context(fixture, sandbox.endpoints(), now, journal, cancel));
    let jobs = fixture.jobs.clone();
    let (started, cpu_before) = (Instant::now(), cpu_ticks());
    let summary = rt.block_on(pipeline::run(ctx, jobs));
    let (elapsed, cpu_ticks) = (started.elapsed(), cpu_ticks() - cpu_before);
    let sent = summary.records.fates().filter(|(outcome, _)| *outcome == Outcome::Sent).count();
    assert_eq!(
        sent,
        fixture.jobs.len(),
        "not every message was sent; first result: {:?}",
        summary.records.iter().next()
    );
    assert_eq!(rt.block_on(sandbox.request_count()), sent as u64, "the sandbox saw a different number of requests");
    Measured { sent, elapsed, cpu_ticks }
}

/// A run's context, built like `commands::run` builds it.
fn context<J: Journal>(
    fixture: &Fixture,
    endpoints: Endpoints,
    now: DateTime<Utc>,
    journal: J,
    cancel: tokio::sync::watch::Receiver<Cancel>,
) -> Context<J> {
    let concurrency = fixture.campaign.send.concurrency;
    Context {
        campaign: fixture.campaign.clone(),
        audiences: fixture.audiences.clone(),
        client: Client::new(endpoints, concurrency).expect("build the HTTP client"),
        tokens: vec![TOKEN.to_string(); fixture.campaign.pages.len()],
        redactor: Redactor::new([TOKEN.to_string()]),
        journal,
        clock: Clock::new(Some(now)),
        cancel,
        progress: fixture.campaign.pages.iter().map(|_| Arc::new(Progress::default())).collect(),
    }
}

/// The run with the real ledger in a fresh state directory; the final flush
/// (every outcome durable) is part of the time.
fn run_with_ledger(rt: &Runtime, sandbox: &Sandbox, fixture: &Fixture, now: DateTime<Utc>) -> Measured {
    let state = tempfile::tempdir().expect("create the ledger's state directory");
    run_with_ledger_at(rt, sandbox, fixture, now, state.path())
}

/// The same run with the shared PostgreSQL ledger (a fresh schema of the
/// database in `PAGECAST_TEST_DATABASE_URL`), beside the SQLite one: sends
/// per second of each and their ratio. Skipped without the variable.
fn postgres_against_sqlite(rt: &Runtime, sandbox: &Sandbox, fixture: &Fixture, now: DateTime<Utc>, sqlite: Measured) {
    let Some(base) = std::env::var("PAGECAST_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        println!("ledger_postgres_20ms_c64: not run (set PAGECAST_TEST_DATABASE_URL)");
        return;
    };
    let schema = format!("bench_{}", std::process::id());
    let on_base = |sql: String| {
        let base = base.clone();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&base, postgres::NoTls).expect("connect to the bench database");
            client.batch_execute(&sql).expect("prepare the bench schema");
        })
        .join()
        .expect("the database thread panicked");
    };
    on_base(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    let pg = run_with_ledger_at(rt, sandbox, fixture, now, std::path::Path::new(&url));
    on_base(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    println!(
        "ledger_postgres_20ms_c64: {:.0} sends/s with PostgreSQL, {:.0} sends/s with SQLite: \
         PostgreSQL / SQLite = {:.2}",
        pg.rate(),
        sqlite.rate(),
        pg.rate() / sqlite.rate()
    );
}

fn run_with_ledger_at(
    rt: &Runtime,
    sandbox: &Sandbox,
    fixture: &Fixture,
    now: DateTime<Utc>,
    state: &std::path::Path,
) -> Measured {
    let ledger = Ledger::open(state).expect("open a fresh ledger");
    let run_id = ledger.start_run(&fixture.campaign.id, "default", Utc::now()).expect("start a ledger run");
    let writer = ledger.writer();
    let journal = LedgerJournal::new(
        writer.clone(),
        fixture.campaign.clone(),
        fixture.audiences.clone(),
        "default",
        run_id,
        Clock::new(Some(now)),
    );
    let sent = run_pipeline(rt, sandbox, fixture, now, journal);
    let started = Instant::now();
    rt.block_on(writer.flush()).expect("the ledger records every outcome");
    Measured { elapsed: sent.elapsed + started.elapsed(), ..sent }
}

/// The pipeline and the bare loop at zero latency, interleaved, best of
/// [`BEST_OF`] each.
fn pipeline_against_bare(
    rt: &Runtime,
    sandbox: &Sandbox,
    fixture: &Fixture,
    now: DateTime<Utc>,
) -> (Measured, Measured) {
    let bodies = Arc::new(graph_bodies(&fixture.campaign, &fixture.audiences, fixture));
    let mut pipeline_best = run_pipeline(rt, sandbox, fixture, now, NoJournal);
    let mut bare_best = run_bare(rt, sandbox, bodies.clone());
    for _ in 1..BEST_OF {
        pipeline_best = pipeline_best.better(run_pipeline(rt, sandbox, fixture, now, NoJournal));
        bare_best = bare_best.better(run_bare(rt, sandbox, bodies.clone()));
    }
    (pipeline_best, bare_best)
}

/// CPU seconds per message of [`PAGES_RUNS`] runs each of the same
/// zero-latency run spread over [`FEW_PAGES`] and over [`MANY_PAGES`] pages
/// (interleaved, which goes first alternating): choosing the next job costs
/// O(log pages), so the two should be close.
fn cpu_over_pages(rt: &Runtime, sandbox: &Sandbox, dir: &std::path::Path, now: DateTime<Utc>) -> (Vec<f64>, Vec<f64>) {
    let few = Fixture::build(dir, "few-pages", RECIPIENTS, FEW_PAGES, CONCURRENCY, NO_RATE_LIMIT, now);
    let many = Fixture::build(dir, "many-pages", RECIPIENTS, MANY_PAGES, CONCURRENCY, NO_RATE_LIMIT, now);
    let (mut few_runs, mut many_runs) = (Vec::new(), Vec::new());
    for round in 0..PAGES_RUNS {
        let mut pair = [(&few, &mut few_runs), (&many, &mut many_runs)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (fixture, runs) in pair {
            runs.push(run_pipeline(rt, sandbox, fixture, now, NoJournal).cpu_per_msg());
        }
    }
    (few_runs, many_runs)
}

/// The mean of `values` less the highest and the lowest (of three or more).
fn trimmed_mean(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    let kept = &values[1..values.len() - 1];
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// The request bodies the pipeline would send, one per job.
fn graph_bodies(campaign: &Campaign, audiences: &Audiences, fixture: &Fixture) -> Vec<Value> {
    let envelope = GraphEnvelope {
        messaging_type: campaign.messaging_type.expect("bench campaign is a graph campaign"),
        tag: campaign.tag,
        notification_type: campaign.notification_type,
    };
    fixture
        .jobs
        .iter()
        .map(|job| {
            let person = audiences.person(job.person);
            let message = campaign.message.render(person.vars.iter()).expect("bench message renders");
            wire::graph_body(envelope, &audiences.recipient_id(job.person).to_string(), &message)
        })
        .collect()
}

/// 64 tasks posting `bodies` with a plain reqwest client configured like
/// `send::client::Client` (pool, timeouts, user agent), reading each answer.
fn run_bare(rt: &Runtime, sandbox: &Sandbox, bodies: Arc<Vec<Value>>) -> Measured {
    rt.block_on(sandbox.reset());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("pagecast/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("build the bare reqwest client");
    let url: Arc<str> = format!("{}/{PAGE}/messages", sandbox.endpoints().graph).into();
    let next = Arc::new(AtomicUsize::new(0));
    let (started, cpu_before) = (Instant::now(), cpu_ticks());
    let sent: usize = rt.block_on(async {
        let tasks: Vec<_> = (0..CONCURRENCY)
            .map(|_| tokio::spawn(bare_worker(http.clone(), url.clone(), bodies.clone(), next.clone())))
            .collect();
        let mut sent = 0;
        for task in tasks {
            sent += task.await.expect("bare worker does not panic");
        }
        sent
    });
    let (elapsed, cpu_ticks) = (started.elapsed(), cpu_ticks() - cpu_before);
    assert_eq!(sent, bodies.len(), "the bare loop got an error answer");
    assert_eq!(rt.block_on(sandbox.request_count()), sent as u64, "the sandbox saw a different number of requests");
    Measured { sent, elapsed, cpu_ticks }
}

/// Posts bodies until none is left; returns how many got a 2xx answer.
async fn bare_worker(http: reqwest::Client, url: Arc<str>, bodies: Arc<Vec<Value>>, next: Arc<AtomicUsize>) -> usize {
    let mut ok = 0;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = bodies.get(i) else { return ok };
        let Ok(response) = http.post(&*url).bearer_auth(TOKEN).json(body).send().await else { continue };
        let success = response.status().is_success();
        if response.bytes().await.is_ok() && success {
            ok += 1;
        }
    }
}

/// What the sandbox saw of the rate-limited run.
struct RateWindows {
    in_window: usize,
    max_per_second: usize,
}

/// Sends the paced campaign and counts requests by their recorded arrival time.
fn rate_windows(rt: &Runtime, sandbox: &Sandbox, fixture: &Fixture, now: DateTime<Utc>) -> RateWindows {
    run_pipeline(rt, sandbox, fixture, now, NoJournal);
    let mut times: Vec<DateTime<Utc>> = rt
        .block_on(sandbox.requests())
        .iter()
        .filter(|r| r["kind"] == "graph")
        .map(|r| {
            let at = r["at"].as_str().expect("recorded request has `at`");
            DateTime::parse_from_rfc3339(at).expect("`at` is RFC 3339").to_utc()
        })
        .collect();
    times.sort();
    let first = *times.first().expect("the sandbox recorded requests");
    let (from, to) = (first + chrono::TimeDelta::seconds(1), first + chrono::TimeDelta::seconds(11));
    let in_window = times.iter().filter(|t| (from..to).contains(*t)).count();
    RateWindows { in_window, max_per_second: max_in_window(&times, chrono::TimeDelta::seconds(1)) }
}

/// The most sorted `times` within any half-open window `[t, t + width)`.
fn max_in_window(times: &[DateTime<Utc>], width: chrono::TimeDelta) -> usize {
    let mut start = 0;
    let mut best = 0;
    for (end, t) in times.iter().enumerate() {
        while *t - times[start] >= width {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// What a ratio should be.
#[derive(Debug, Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
    Within(f64, f64),
    None,
}

/// Prints one result line: figure, ideal, ratio, target and whether it is met.
fn report(name: &str, measured: f64, ideal: f64, unit: &str, ideal_is: &str, target: Target) {
    let ratio = measured / ideal;
    let (target_text, met) = match target {
        Target::AtLeast(min) => (format!("target >= {min:.2}"), ratio >= min),
        Target::AtMost(max) => (format!("target <= {max:.2}"), ratio <= max),
        Target::Within(lo, hi) => (format!("target {lo:.2}..{hi:.2}"), (lo..=hi).contains(&ratio)),
        Target::None => ("no target".to_string(), true),
    };
    let verdict = if met { "" } else { "  MISSED" };
    println!(
        "{name}: {measured:.0} {unit}  ideal {ideal:.0} {unit} ({ideal_is})  ratio {ratio:.2}  ({target_text}){verdict}"
    );
}

/// user + sys time of this process so far, in clock ticks (`/proc/self/stat`
/// fields 14 and 15, counted after the parenthesised command name).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state), so field N is at index N - 3.
    let field = |n: usize| fields[n - 3].parse::<u64>().expect("stat time fields are numbers");
    field(14) + field(15)
}

/// Peak resident set size of this process (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("status has VmHWM");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmHWM is a number of kB")
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `SEND_BENCH_ONLY=pipeline|bare` (`SEND_BENCH_PAGES`, default 1;
/// `SEND_BENCH_RUNS`, default 3): that side alone at zero latency, each run's
/// rate and CPU per message, so that `perf record` or callgrind sees one side.
fn only(side: &str) {
    let number = |var: &str, default: usize| std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let now: DateTime<Utc> = NOW.parse().expect("NOW is RFC 3339");
    let work = tempfile::tempdir().expect("create a temporary directory");
    let rt = runtime();
    let sandbox = Sandbox::start(work.path());
    let pages = number("SEND_BENCH_PAGES", 1);
    let fixture = Fixture::build(work.path(), "only", RECIPIENTS, pages, CONCURRENCY, NO_RATE_LIMIT, now);
    rt.block_on(sandbox.set_latency(0));
    let bodies = Arc::new(graph_bodies(&fixture.campaign, &fixture.audiences, &fixture));
    for _ in 0..number("SEND_BENCH_RUNS", 3) {
        let m = match side {
            "bare" => run_bare(&rt, &sandbox, bodies.clone()),
            _ => run_pipeline(&rt, &sandbox, &fixture, now, NoJournal),
        };
        println!("{side} ({pages} pages): {:.0} msg/s, {:.1} us/msg", m.rate(), m.cpu_per_msg() * 1e6);
    }
}
