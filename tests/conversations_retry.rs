//! The conversations reader's retries against the sandbox, in process, with
//! its waits recorded instead of slept: throttles mid-listing pause as Meta
//! asks (bounded by `send.max_pause`), transient errors back off (bounded by
//! `send.max_attempts`). No test here waits for a pause.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use pagecast::audience::Recipient;
use pagecast::audience::conversations::{FetchError, Limits, Wait, Waits, fetch_with};
use pagecast::send::client::{Client, Endpoints};
use serde_json::{Value, json};

const PAGE: &str = "500725830264749";

/// Records every wait and returns at once.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Wait, Duration)>>);

impl Waits for Recorder {
    fn wait(&self, why: Wait, duration: Duration) -> impl Future<Output = ()> + Send {
        self.0.lock().unwrap().push((why, duration));
        std::future::ready(())
    }
}

impl Recorder {
    fn of(&self, kind: Wait) -> Vec<Duration> {
        self.0.lock().unwrap().iter().filter(|(k, _)| *k == kind).map(|(_, d)| *d).collect()
    }
}

fn now() -> DateTime<Utc> {
    "2026-11-22T00:00:00Z".parse().unwrap()
}

/// `count` conversations a minute apart, each with one message of its person.
fn simple(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let t = (now() - TimeDelta::minutes(60 + i as i64)).format("%Y-%m-%dT%H:%M:%S+0000").to_string();
            let person = format!("77{i:04}");
            json!({"id": format!("t_{i}"), "updated_time": t, "participants": [{"id": person}],
                   "messages": [{"id": format!("m_{i}"), "created_time": t, "from": {"id": person}}]})
        })
        .collect()
}

const LIMITS: Limits = Limits { max_attempts: 4, max_pause: Duration::from_secs(15 * 60) };

/// Reads the page's conversations from `graph` with `limits`, recording waits.
fn read(graph: &str, limits: Limits) -> (Result<Vec<Recipient>, FetchError>, Recorder) {
    let endpoints = Endpoints { graph: graph.to_string(), harasocial: graph.to_string() };
    let client = Client::new(endpoints, 1).unwrap();
    let waits = Recorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let result = runtime.block_on(fetch_with(&client, PAGE, "tok", TimeDelta::days(7), now(), limits, &waits));
    (result, waits)
}

/// The faults the sandbox gave to conversations calls, in order.
fn faults(sb: &pagecast_sandbox::Running) -> Vec<String> {
    let text = raw_get(&sb.addr.to_string(), "/_sandbox/requests");
    let requests: Vec<Value> = serde_json::from_str(&text).unwrap();
    requests.iter().map(|r| r["fault"].as_str().unwrap().to_string()).collect()
}

fn raw_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let (start, end) = (body.find('[').unwrap(), body.rfind(']').unwrap());
    body[start..=end].to_string()
}

fn sandbox(config: Value) -> (pagecast_sandbox::Running, String) {
    let sb = pagecast_sandbox::spawn(&config);
    let graph = format!("{}/v25.0", sb.url);
    (sb, graph)
}

#[test]
fn throttles_mid_listing_pause_one_then_two_seconds_and_the_listing_completes() {
    let (sb, graph) = sandbox(json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "throttle:0", "graph:613", "ok"] },
    }));
    let (result, waits) = read(&graph, LIMITS);
    assert_eq!(result.unwrap().len(), 150);
    assert_eq!(waits.of(Wait::Throttle), [Duration::from_secs(1), Duration::from_secs(2)]);
    assert!(waits.of(Wait::Backoff).is_empty());
    assert_eq!(faults(&sb), ["ok", "throttle:0", "graph:613", "ok"]);
    // Every call after the first keeps the 2 calls a second.
    assert!(waits.of(Wait::Pace).iter().all(|d| *d <= Duration::from_millis(500)));
}

#[test]
fn a_throttle_honours_metas_estimate_in_minutes() {
    let (_sb, graph) = sandbox(json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "throttle:3", "ok"] },
    }));
    let (result, waits) = read(&graph, LIMITS);
    assert_eq!(result.unwrap().len(), 150);
    assert_eq!(waits.of(Wait::Throttle), [Duration::from_secs(180)]);
}

#[test]
fn a_throttle_past_max_pause_stops_the_audience_without_waiting() {
    let (sb, graph) = sandbox(json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "throttle:20"] },
    }));
    let (result, waits) = read(&graph, LIMITS);
    let err = result.unwrap_err();
    assert!(err.message.contains("send.max_pause (900s)") && err.message.contains("613"), "{err}");
    assert!(!err.to_string().contains("page token"), "{err}");
    assert!(waits.of(Wait::Throttle).is_empty(), "Meta's 20 minutes are not waited out");
    assert_eq!(faults(&sb).len(), 2);
}

#[test]
fn transient_errors_back_off_up_to_max_attempts() {
    let (sb, graph) = sandbox(json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "graph:2", "graph_transient:9999", "http:503", "ok"] },
    }));
    let (result, waits) = read(&graph, LIMITS);
    assert_eq!(result.unwrap().len(), 150, "a GET may be retried after a 5xx too");
    assert_eq!(waits.of(Wait::Backoff).len(), 3);
    assert_eq!(faults(&sb).len(), 5);

    let (sb, graph) = sandbox(json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "graph:2", "graph:2", "graph:2", "ok"] },
    }));
    let (result, waits) = read(&graph, Limits { max_attempts: 3, ..LIMITS });
    let err = result.unwrap_err();
    assert!(err.message.contains("gave up after 3 attempts") && err.message.contains("Graph error 2"), "{err}");
    assert!(!err.to_string().contains("page token"), "{err}");
    assert_eq!(waits.of(Wait::Backoff).len(), 2);
    assert_eq!(faults(&sb).len(), 4);
}

#[test]
fn an_unreachable_api_is_retried_then_reported() {
    // Nothing listens on port 9 of the loopback.
    let (result, waits) = read("http://127.0.0.1:9/v25.0", LIMITS);
    let err = result.unwrap_err();
    assert!(err.message.contains("gave up after 4 attempts"), "{err}");
    assert!(err.help.contains("127.0.0.1"), "{err}");
    assert_eq!(waits.of(Wait::Backoff).len(), 3);
}

#[test]
fn a_throttle_while_paging_a_long_flow_is_retried() {
    let t = |m: i64| (now() - TimeDelta::minutes(m)).format("%Y-%m-%dT%H:%M:%S+0000").to_string();
    let mut messages: Vec<Value> =
        (0..15).map(|i| json!({"id": format!("p{i}"), "created_time": t(10 + i), "from": {"id": PAGE}})).collect();
    messages.push(json!({"id": "u", "created_time": t(90), "from": {"id": "990001"}}));
    let (sb, graph) = sandbox(json!({
        "conversations": { PAGE: [{"id": "t_a", "updated_time": t(10), "participants": [{"id": "990001"}],
                                   "messages": messages}] },
        "faults": { "t_a": ["throttle:0", "ok"] },
    }));
    let (result, waits) = read(&graph, LIMITS);
    let rows = result.unwrap();
    assert_eq!(rows[0].id, "990001");
    assert_eq!(rows[0].last_interaction, Some(now() - TimeDelta::minutes(90)));
    assert_eq!(waits.of(Wait::Throttle), [Duration::from_secs(1)]);
    assert_eq!(faults(&sb), ["ok", "throttle:0", "ok"]);
}
