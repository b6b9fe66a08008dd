//! The `pagecast-sandbox` binary, end to end: start it, read its port from
//! the first stdout line, talk to it over loopback with a minimal HTTP/1.1
//! client, and check the contract pagecast's own tests rely on (answers,
//! scripted faults, the journal, conversation paging).

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const PAGE: &str = "500725830264749";
const TOKEN: &str = "tok-shop";

/// A running sandbox, killed when dropped.
struct Sandbox {
    child: Child,
    port: u16,
}

impl Sandbox {
    /// Starts the binary with `config` (written to `dir`) and any extra args.
    fn start(dir: &Path, config: &Value, extra: &[&str]) -> Self {
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, config.to_string()).expect("write config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_pagecast-sandbox"))
            .arg("--config")
            .arg(&config_path)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start pagecast-sandbox");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let port = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self { child, port }
    }

    /// Sends one request on a fresh connection (`Connection: close`) and
    /// reads the whole answer; `Err` when the connection fails.
    fn try_call(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> std::io::Result<Reply> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n{auth}\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        Ok(Reply::parse(&raw))
    }

    /// Like [`Sandbox::try_call`], for requests that must get an answer.
    fn call(&self, method: &str, path: &str, token: Option<&str>, body: &str) -> Reply {
        self.try_call(method, path, token, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A Graph send to `recipient` through the versioned base URL.
    fn send(&self, recipient: &str) -> Reply {
        self.call("POST", &format!("/v25.0/{PAGE}/messages"), Some(TOKEN), &graph_body(recipient))
    }

    /// The journal, `GET /_sandbox/requests`.
    fn requests(&self) -> Vec<Value> {
        let reply = self.call("GET", "/_sandbox/requests", None, "");
        serde_json::from_value(reply.json()).expect("a JSON array")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response, split into its parts.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// Header lines, names lower-cased.
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// Parses a whole response (the sandbox sends bodies with a length).
    fn parse(raw: &[u8]) -> Self {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        Self { status, headers, body: body.to_owned() }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn graph_body(recipient: &str) -> String {
    json!({
        "recipient": { "id": recipient },
        "messaging_type": "UPDATE",
        "message": { "text": "Hi Lan" },
    })
    .to_string()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn answers_and_records_graph_and_harasocial_sends() {
    let dir = temp_dir();
    let record = dir.path().join("requests.jsonl");
    let record_arg = record.to_str().expect("utf-8 path");
    let config = json!({ "tokens": { PAGE: TOKEN, "600": "tok-hara" } });
    let sandbox = Sandbox::start(dir.path(), &config, &["--record", record_arg]);

    let sent = sandbox.send("2560816460648749");
    assert_eq!(sent.status, 200);
    assert_eq!(sent.json()["recipient_id"], "2560816460648749");
    assert!(sent.json()["message_id"].as_str().is_some_and(|id| id.starts_with("m_")));

    let harasocial = json!({
        "messaging_type": "harasocial_facebook_payload_id",
        "recipient": { "id": "77" },
        "message": { "payload_id": "__hrf_f_1" },
        "page_id": "600",
    })
    .to_string();
    let reply = sandbox.call("POST", "/social/messages.json", Some("tok-hara"), &harasocial);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["success"], true);
    assert_eq!(reply.json()["has_error"], false);

    let wrong = sandbox.call("POST", "/social/messages.json", Some("nope"), &harasocial);
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["error_code"], "unauthorized");

    let path = format!("/{PAGE}/messages?access_token={TOKEN}");
    let in_url = sandbox.call("POST", &path, Some(TOKEN), &graph_body("1"));
    assert_eq!(in_url.status, 400);
    assert_eq!(in_url.json()["error"]["code"], 190);

    let requests = sandbox.requests();
    let summary: Vec<_> =
        requests.iter().map(|r| (r["kind"].as_str(), r["fault"].as_str(), r["page"].as_str())).collect();
    assert_eq!(
        summary,
        [
            (Some("graph"), Some("ok"), Some(PAGE)),
            (Some("harasocial"), Some("ok"), Some("600")),
            (Some("harasocial"), Some("auth_error"), Some("600")),
            (Some("graph"), Some("auth_error"), Some(PAGE)),
        ]
    );
    let first = &requests[0];
    assert_eq!(first["path"], format!("/v25.0/{PAGE}/messages"));
    assert_eq!(first["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(first["recipient"], "2560816460648749");
    assert_eq!(first["body"]["message"]["text"], "Hi Lan");
    assert_eq!(requests[3]["query"], format!("access_token={TOKEN}"));

    let lines = std::fs::read_to_string(&record).expect("record file");
    let recorded: Vec<Value> =
        lines.lines().map(|line| serde_json::from_str(line).expect("one JSON record per line")).collect();
    assert_eq!(recorded, requests, "the file holds what memory holds");
}

#[test]
fn scripted_faults_answer_in_order() {
    let dir = temp_dir();
    let config = json!({
        "faults": {
            "42": ["graph:613/2018338", "throttle:3", "ok"],
            "cut": ["reset"],
            "echo": ["echo_token"],
        }
    });
    let sandbox = Sandbox::start(dir.path(), &config, &[]);

    let first = sandbox.send("42");
    assert_eq!(first.status, 400);
    let error = &first.json()["error"];
    assert_eq!(error["code"], 613);
    assert_eq!(error["error_subcode"], 2018338);
    assert_eq!(error["type"], "OAuthException");
    assert!(error["fbtrace_id"].is_string());

    let throttled = sandbox.send("42");
    assert_eq!(throttled.status, 400);
    assert_eq!(throttled.json()["error"]["code"], 613);
    let usage = throttled.header("x-business-use-case-usage").expect("usage header");
    let usage: Value = serde_json::from_str(usage).expect("usage JSON");
    assert_eq!(usage[PAGE][0]["estimated_time_to_regain_access"], 3);

    assert_eq!(sandbox.send("42").status, 200);
    assert_eq!(sandbox.send("42").status, 200, "the last entry repeats");

    let echoed = sandbox.send("echo");
    assert!(echoed.json()["error"]["message"].as_str().is_some_and(|m| m.contains(TOKEN)));

    let path = format!("/{PAGE}/messages");
    let cut = sandbox.try_call("POST", &path, Some(TOKEN), &graph_body("cut"));
    assert!(cut.is_err() || cut.as_ref().is_ok_and(|r| r.body.is_empty()), "reset must not answer: {cut:?}");

    let faults: Vec<_> = sandbox.requests().iter().map(|r| r["fault"].clone()).collect();
    let expected = ["graph:613/2018338", "throttle:3", "ok", "ok", "echo_token", "reset"];
    assert_eq!(faults, expected);
}

#[test]
fn conversations_page_through_next_links() {
    let dir = temp_dir();
    let conversation = |i: u32| {
        json!({
            "id": format!("t_{i}"),
            "updated_time": format!("2026-11-2{i}T08:00:00+0000"),
            "participants": [{ "id": format!("psid{i}"), "name": "Lan" }],
            "messages": [{ "id": format!("m_{i}"), "from": { "id": format!("psid{i}") } }],
        })
    };
    let config = json!({
        "tokens": { PAGE: TOKEN },
        "conversations": { PAGE: [conversation(1), conversation(3), conversation(2)] },
    });
    let sandbox = Sandbox::start(dir.path(), &config, &[]);

    let first_path = format!("/v25.0/{PAGE}/conversations?fields=participants,updated_time&limit=2");
    let first = sandbox.call("GET", &first_path, Some(TOKEN), "").json();
    let ids: Vec<_> = first["data"].as_array().into_iter().flatten().map(|c| c["id"].clone()).collect();
    assert_eq!(ids, ["t_3", "t_2"], "newest updated_time first");
    assert_eq!(first["data"][0]["updated_time"], "2026-11-23T08:00:00+0000");
    assert_eq!(first["data"][0]["participants"]["data"][1]["id"], PAGE);

    let next = first["paging"]["next"].as_str().expect("a next link");
    let origin = format!("http://127.0.0.1:{}", sandbox.port);
    let next_path = next.strip_prefix(&origin).expect("next points back at the sandbox");
    assert!(
        next_path.starts_with(&format!("/v25.0/{PAGE}/conversations?fields=participants,updated_time&limit=2&after="))
    );

    let last = sandbox.call("GET", next_path, Some(TOKEN), "").json();
    assert_eq!(last["data"][0]["id"], "t_1");
    assert_eq!(last["data"].as_array().map(Vec::len), Some(1));
    assert!(last["paging"].get("next").is_none(), "no next on the last page");

    let wrong = sandbox.call("GET", &first_path, Some("other"), "");
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.json()["error"]["code"], 190);
}
