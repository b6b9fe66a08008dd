//! Shared bench harness: the sandbox process and a campaign built through the
//! library the way `pagecast run` builds it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use pagecast::audience::merge::{self, Audiences};
use pagecast::campaign::{Campaign, validate_file};
use pagecast::plan::{self, PlanOptions};
use pagecast::send::client::Endpoints;
use pagecast::vocab::Job;
use serde_json::Value;

/// The page every bench campaign sends from.
pub const PAGE: &str = "100000000000001";

/// Set in the environment of the bench binary re-run as the sandbox.
const SANDBOX_CHILD: &str = "PAGECAST_BENCH_SANDBOX_CHILD";

/// When this process was started as the sandbox by [`Sandbox::start`],
/// serves until killed and never returns; otherwise returns at once.
pub fn serve_sandbox_if_asked() {
    if std::env::var_os(SANDBOX_CHILD).is_none() {
        return;
    }
    pagecast_sandbox::serve_announced_forever();
}

/// A running sandbox process, killed on drop.
pub struct Sandbox {
    child: Child,
    url: String,
    control: reqwest::Client,
}

impl Sandbox {
    /// Starts the sandbox on a free loopback port with an empty config (no latency).
    pub fn start(dir: &Path) -> Sandbox {
        let _ = dir;
        // The sandbox runs in a process of its own (this bench binary again,
        // see `serve_sandbox_if_asked`) so that its CPU is not counted.
        let exe = std::env::current_exe().expect("the bench binary's path");
        let mut child = Command::new(exe)
            .env(SANDBOX_CHILD, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pagecast-sandbox");
        let stdout = child.stdout.take().expect("sandbox stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the sandbox's first line");
        let url = line.trim().strip_prefix("listening on ").expect("sandbox prints `listening on URL`").to_string();
        Sandbox { child, url, control: reqwest::Client::new() }
    }

    /// The base URLs pagecast uses to reach this sandbox.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints { graph: format!("{}/v25.0", self.url), harasocial: self.url.clone() }
    }

    /// Replaces the config with one that only sets the answer latency.
    pub async fn set_latency(&self, ms: u64) {
        let body = serde_json::json!({ "latency_ms": ms }).to_string();
        let request = self.control.put(format!("{}/_sandbox/config", self.url)).body(body);
        check(request.send().await, "PUT /_sandbox/config").await;
    }

    /// Forgets the recorded requests (keeps the sandbox's memory flat between runs).
    pub async fn reset(&self) {
        check(self.control.post(format!("{}/_sandbox/reset", self.url)).send().await, "POST /_sandbox/reset").await;
    }

    /// How many API requests the sandbox answered since the last reset.
    pub async fn request_count(&self) -> u64 {
        let response = self.control.get(format!("{}/_sandbox/stats", self.url)).send().await;
        let text = check(response, "GET /_sandbox/stats").await;
        let stats: Value = serde_json::from_str(&text).expect("GET /_sandbox/stats returns JSON");
        stats["requests"].as_u64().expect("stats have a `requests` count")
    }

    /// Every recorded request since the last reset, in arrival order.
    pub async fn requests(&self) -> Vec<Value> {
        let response = self.control.get(format!("{}/_sandbox/requests", self.url)).send().await;
        let text = check(response, "GET /_sandbox/requests").await;
        match serde_json::from_str(&text) {
            Ok(Value::Array(requests)) => requests,
            _ => panic!("GET /_sandbox/requests did not return a JSON array"),
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a successful control call; panics with the status otherwise.
async fn check(response: reqwest::Result<reqwest::Response>, what: &str) -> String {
    let response = response.unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
    assert!(status.is_success(), "{what}: HTTP {status}: {text}");
    text
}

/// A validated campaign, its merged audience and the jobs its plan sends.
pub struct Fixture {
    /// The campaign (with `send.rate` overridden).
    pub campaign: Arc<Campaign>,
    /// Its recipients.
    pub audiences: Arc<Audiences>,
    /// The plan's `Send` decisions, in plan order.
    pub jobs: Vec<Job>,
}

impl Fixture {
    /// Writes `NAME.yaml` and one CSV per page (`pages` pages, the first
    /// [`PAGE`], the others the ids after it; `recipients` rows spread evenly
    /// over them, each last interacting 1 h before `now`) into `dir`, then
    /// validates, merges and plans like the CLI. `rate` is set after
    /// validation, so it may exceed the 300/s the YAML allows. The sandbox
    /// accepts any token for a page its config does not name, so every page
    /// sends.
    pub fn build(
        dir: &Path,
        name: &str,
        recipients: usize,
        pages: usize,
        concurrency: usize,
        rate: u32,
        now: DateTime<Utc>,
    ) -> Fixture {
        let pages = pages.max(1);
        let last_interaction = now - TimeDelta::hours(1);
        let mut audiences = Vec::with_capacity(pages);
        for p in 0..pages {
            let (first, next) = (recipients * p / pages, recipients * (p + 1) / pages);
            let csv = dir.join(format!("{name}-{p}.csv"));
            std::fs::write(&csv, audience_csv(first, next - first, last_interaction)).expect("write an audience CSV");
            audiences.push((page_id(p), csv));
        }
        let yaml = dir.join(format!("{name}.yaml"));
        std::fs::write(&yaml, campaign_yaml(name, &audiences, concurrency, rate.min(300)))
            .expect("write the campaign YAML");

        let mut campaign = validate_file(&yaml, now).unwrap_or_else(|d| panic!("bench campaign is invalid: {d:?}"));
        campaign.send.rate = rate;
        let audiences = merge::load(&campaign, now, &HashMap::new());
        assert_eq!(audiences.row_error_count, 0, "bench audience has bad rows: {:?}", audiences.row_errors);
        let plan = plan::plan(&campaign, &audiences, |_| None, now, PlanOptions::default());
        let jobs = plan.jobs(&audiences);
        assert_eq!(jobs.len(), recipients, "every bench recipient should be planned as send");
        Fixture { campaign: Arc::new(campaign), audiences: Arc::new(audiences), jobs }
    }
}

/// The id of the bench's page number `p` (0 is [`PAGE`]).
fn page_id(p: usize) -> String {
    let first: u64 = PAGE.parse().expect("PAGE is digits");
    (first + p as u64).to_string()
}

/// A campaign sending one templated message from each `(page, CSV)`.
fn campaign_yaml(id: &str, audiences: &[(String, std::path::PathBuf)], concurrency: usize, rate: u32) -> String {
    let mut pages = String::new();
    let mut files = String::new();
    for (page, csv) in audiences {
        writeln!(pages, "  - {{ id: \"{page}\", provider: graph, token_env: PAGECAST_BENCH_TOKEN }}")
            .expect("write to a String");
        writeln!(files, "  - page: \"{page}\"\n    file: \"{}\"", csv.display()).expect("write to a String");
    }
    format!(
        "version: 1
id: {id}
pages:
{pages}audiences:
{files}message:
  text: \"Hi {{{{ first_name }}}}, order {{{{ order_id }}}} left our warehouse today.\"
  quick_replies:
    - {{ title: Track my order, payload: \"TRACK:{{{{ order_id }}}}\" }}
  metadata: bench
messaging_type: UPDATE
send:
  concurrency: {concurrency}
  rate: {rate}
"
    )
}

/// `rows` recipients numbered from `first` (ids unique across a campaign's files).
fn audience_csv(first: usize, rows: usize, last_interaction: DateTime<Utc>) -> String {
    let at = last_interaction.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut out = String::from("id,last_interaction,first_name,order_id\n");
    for i in first..first + rows {
        writeln!(out, "{},{at},Name{i},HN-{i:06}", 7_000_000_000_000_000u64 + i as u64).expect("write to a String");
    }
    out
}
