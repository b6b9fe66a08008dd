//! Shared harness for integration tests: a sandbox on 127.0.0.1, a temporary
//! workspace with a campaign, and the real `pagecast` binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The instant every test freezes the clock at.
pub const NOW: &str = "2026-11-22T00:00:00Z";
/// A last interaction inside every window at NOW.
pub const RECENT: &str = "2026-11-21T23:00:00Z";

/// A running sandbox (in this process, on its own thread), stopped on drop.
pub struct Sandbox {
    _running: pagecast_sandbox::Running,
    pub url: String,
    pub addr: String,
}

impl Sandbox {
    /// Starts the sandbox with this JSON config.
    pub fn start(config: &Value) -> Sandbox {
        let running = pagecast_sandbox::spawn(config);
        let url = running.url.clone();
        let addr = running.addr.to_string();
        Sandbox { _running: running, url, addr }
    }

    fn get(&self, path: &str) -> Value {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(body).unwrap_or_else(|_| {
            // chunked transfer: take the JSON between the first line and the trailer
            let start = body.find(['[', '{']).unwrap();
            let end = body.rfind([']', '}']).unwrap();
            serde_json::from_str(&body[start..=end]).unwrap()
        })
    }

    /// Every request the sandbox received, in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.get("/_sandbox/requests").as_array().unwrap().clone()
    }

    /// Message requests (graph and harasocial) for this recipient.
    pub fn requests_for(&self, recipient: &str) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r["recipient"] == recipient && r["kind"] != "conversations").collect()
    }

    /// `GET /_sandbox/stats`.
    pub fn stats(&self) -> Value {
        self.get("/_sandbox/stats")
    }
}

/// A temporary directory holding a campaign, its state and reports.
pub struct Workspace {
    pub dir: PathBuf,
    _guard: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let guard = tempfile::tempdir().unwrap();
        Workspace { dir: guard.path().to_path_buf(), _guard: guard }
    }

    /// Writes a file relative to the workspace.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    pub fn reports(&self) -> PathBuf {
        self.dir.join("reports")
    }

    /// `pagecast ARGS` with the workspace's state and report dirs and the sandbox URLs.
    pub fn pagecast(&self, sandbox: Option<&Sandbox>, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pagecast"));
        cmd.args(args)
            .env("PAGECAST_STATE", self.state())
            .env("PAGECAST_REPORT_DIR", self.reports())
            .env("PAGECAST_REQUEST_TIMEOUT", "2")
            .env_remove("XDG_STATE_HOME")
            .current_dir(&self.dir);
        match sandbox {
            Some(s) => cmd.env("PAGECAST_GRAPH_URL", format!("{}/v25.0", s.url)).env("PAGECAST_HARASOCIAL_URL", &s.url),
            None => {
                cmd.env("PAGECAST_GRAPH_URL", "http://127.0.0.1:9").env("PAGECAST_HARASOCIAL_URL", "http://127.0.0.1:9")
            }
        };
        cmd
    }

    /// Runs `pagecast ARGS` to completion.
    pub fn run(&self, sandbox: Option<&Sandbox>, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.pagecast(sandbox, args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// The newest report.json under reports/<campaign>/<occurrence>/.
    pub fn report(&self, campaign: &str, occurrence: &str) -> Value {
        let dir = self.reports().join(campaign).join(occurrence);
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        runs.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
        let text = std::fs::read_to_string(runs.last().unwrap().join("report.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Every report file's text (json, csv, html) of every run of a campaign.
    pub fn all_report_text(&self) -> String {
        let mut out = String::new();
        visit(&self.reports(), &mut out);
        out
    }
}

fn visit(dir: &Path, out: &mut String) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            visit(&p, out);
        } else {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
}

/// The outcome row of a recipient in a report.
pub fn row<'a>(report: &'a Value, recipient: &str) -> &'a Value {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recipient"] == recipient)
        .unwrap_or_else(|| panic!("no row for {recipient}"))
}

/// A graph campaign for one page with inline recipients, all inside the window.
pub fn graph_campaign(id: &str, page: &str, token_env: &str, recipients: &[&str], extra: &str) -> String {
    let rows: String = recipients
        .iter()
        .map(|r| format!("      - {{ id: \"{r}\", last_interaction: {RECENT}, vars: {{ first_name: P{r} }} }}\n"))
        .collect();
    format!(
        "version: 1\nid: {id}\npages:\n  - {{ id: \"{page}\", provider: graph, token_env: {token_env} }}\naudiences:\n  - page: \"{page}\"\n    recipients:\n{rows}message:\n  text: \"Hi {{{{ first_name }}}}\"\nmessaging_type: UPDATE\n{extra}"
    )
}

/// stdout + stderr as text.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

// ---- Additions for the reliability tests (issue 8). ----

impl Sandbox {
    /// Starts an API outage: the listening socket closes and every new
    /// connection is refused (a connect failure, before the request is written).
    pub fn down(&self) {
        self._running.set_down(true);
        self._running.wait_reachable(false);
    }

    /// Ends the outage and waits until the port accepts connections again.
    pub fn up(&self) {
        self._running.set_down(false);
        self._running.wait_reachable(true);
    }

    /// Message requests (graph and harasocial) that reached the API at all.
    pub fn message_requests(&self) -> Vec<Value> {
        self.requests().into_iter().filter(|r| r["kind"] == "graph" || r["kind"] == "harasocial").collect()
    }

    /// Requests answered with success (`fault` "ok") per recipient.
    pub fn delivered(&self) -> std::collections::BTreeMap<String, usize> {
        let mut out = std::collections::BTreeMap::new();
        for r in self.message_requests() {
            if r["fault"] == "ok" {
                *out.entry(r["recipient"].as_str().unwrap_or_default().to_string()).or_insert(0) += 1;
            }
        }
        out
    }
}

/// `n` recipient ids "1", "2", … as owned strings.
pub fn ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

/// Borrowed views of `ids`.
pub fn refs(ids: &[String]) -> Vec<&str> {
    ids.iter().map(String::as_str).collect()
}

/// (outcome, reason) of a recipient's row.
pub fn outcome(report: &Value, recipient: &str) -> (String, String) {
    let r = row(report, recipient);
    (r["outcome"].as_str().unwrap_or("?").to_string(), r["reason"].as_str().unwrap_or("").to_string())
}

/// Fails unless every recipient of `ids` got exactly one successful request:
/// the invariant "at most one message per key", and nobody lost.
pub fn assert_each_delivered_once(sb: &Sandbox, ids: &[&str]) {
    let delivered = sb.delivered();
    for id in ids {
        assert_eq!(delivered.get(*id).copied().unwrap_or(0), 1, "recipient {id}: {delivered:?}");
    }
    assert!(delivered.values().all(|n| *n == 1), "someone got two messages: {delivered:?}");
}

/// Every report.json of a campaign's occurrence, oldest first.
pub fn reports_of(ws: &Workspace, campaign: &str, occurrence: &str) -> Vec<Value> {
    let dir = ws.reports().join(campaign).join(occurrence);
    let mut runs: Vec<PathBuf> =
        std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    runs.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    runs.iter()
        .filter_map(|p| std::fs::read_to_string(p.join("report.json")).ok())
        .map(|t| serde_json::from_str(&t).unwrap())
        .collect()
}
