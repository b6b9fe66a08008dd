//! The faults issue 8 needs, over real loopback HTTP against an in-process
//! sandbox: redirects and where they lead, an endless body, a huge error, the
//! outage (listener closed, connects refused) and Meta's messages.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{Value, json};

const PAGE: &str = "500725830264749";

/// The head and (up to `limit` bytes of) the body of one answer.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// One request on a fresh connection; reads at most `limit` body bytes.
fn call(addr: SocketAddr, method: &str, path: &str, body: &str, limit: usize) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer tok\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > limit + 4096 {
            break;
        }
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok(Reply { status, head, body })
}

/// Joins the chunks of a chunked body (as much as was read).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..end]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        let stop = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..stop]);
        raw = raw.get(stop + 2..).unwrap_or_default();
    }
    out
}

fn send_body(recipient: &str) -> String {
    json!({"recipient": {"id": recipient}, "messaging_type": "UPDATE", "message": {"text": "hi"}}).to_string()
}

fn send(addr: SocketAddr, recipient: &str) -> std::io::Result<Reply> {
    call(addr, "POST", &format!("/v25.0/{PAGE}/messages"), &send_body(recipient), 1 << 20)
}

fn requests(addr: SocketAddr) -> Vec<Value> {
    call(addr, "GET", "/_sandbox/requests", "", 1 << 20)
        .expect("journal")
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn redirects_point_at_the_landing_page_which_answers_html_200() {
    let sandbox = pagecast_sandbox::spawn(&json!({"faults": {
        "1": ["redirect:301"], "2": ["redirect:302"], "3": ["redirect:307"], "4": ["redirect:308"]
    }}));
    for (recipient, status) in [("1", 301), ("2", 302), ("3", 307), ("4", 308)] {
        let reply = send(sandbox.addr, recipient).expect("answer");
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("location").as_deref(), Some("/_sandbox/landing"));
    }
    let landing = call(sandbox.addr, "POST", "/_sandbox/landing", &send_body("3"), 1 << 20).expect("landing");
    assert_eq!(landing.status, 200);
    assert!(landing.header("content-type").unwrap_or_default().starts_with("text/html"));
    assert!(!String::from_utf8_lossy(&landing.body).contains("message_id"));
    let get = call(sandbox.addr, "GET", "/_sandbox/landing", "", 1 << 20).expect("landing");
    assert_eq!(get.status, 200);
    let journal = requests(sandbox.addr);
    let landed: Vec<&Value> = journal.iter().filter(|r| r["kind"] == "landing").collect();
    assert_eq!(landed.len(), 2, "{journal:?}");
    assert_eq!(landed[0]["recipient"], "3", "a re-sent body names its recipient");
    assert_eq!(landed[1]["method"], "GET");
}

#[test]
fn redirect_away_points_at_another_origin_with_the_same_path() {
    let sandbox = pagecast_sandbox::spawn(&json!({"faults": {"1": ["redirect_away:307/4100"]}}));
    let reply = send(sandbox.addr, "1").expect("answer");
    assert_eq!(reply.status, 307);
    assert_eq!(reply.header("location").as_deref(), Some(&*format!("http://127.0.0.1:4100/v25.0/{PAGE}/messages")));
}

#[test]
fn an_endless_body_keeps_coming_and_the_sandbox_survives_the_hang_up() {
    let sandbox = pagecast_sandbox::spawn(&json!({"faults": {"1": ["endless"]}}));
    let eight_mib = 8 << 20;
    let reply =
        call(sandbox.addr, "POST", &format!("/v25.0/{PAGE}/messages"), &send_body("1"), eight_mib).expect("answer");
    assert_eq!(reply.status, 200);
    assert!(reply.body.len() >= eight_mib, "only {} bytes", reply.body.len());
    assert!(reply.body.starts_with(b"{\"recipient_id\":\"1\",\"message_id\":\"m_"));
    // The client went away mid-body; the next request is answered as usual.
    assert_eq!(send(sandbox.addr, "2").expect("answer").status, 200);
}

#[test]
fn a_huge_error_message_is_that_many_bytes() {
    let sandbox = pagecast_sandbox::spawn(&json!({"faults": {"1": ["huge_error:3000000"]}}));
    let path = format!("/v25.0/{PAGE}/messages");
    let reply = call(sandbox.addr, "POST", &path, &send_body("1"), 4 << 20).expect("answer");
    assert_eq!(reply.status, 400);
    let error = &reply.json()["error"];
    assert_eq!(error["message"].as_str().map(str::len), Some(3_000_000));
    assert_eq!(error["code"], 100);
}

#[test]
fn graph_answers_carry_metas_messages_and_varied_ones_differ() {
    let sandbox = pagecast_sandbox::spawn(&json!({"faults": {
        "1": ["graph:551/1545041"], "2": ["graph:100"], "3": ["graph_transient:2"],
        "4": ["graph_varied:10900"], "5": ["graph_varied:10900"], "6": ["graph:2018321"]
    }}));
    let error = |r: &str| send(sandbox.addr, r).expect("answer").json()["error"].clone();
    assert_eq!(error("1")["message"], "(#551) This person isn't available right now.");
    assert_eq!(error("1")["error_subcode"], 1545041);
    assert_eq!(error("2")["message"], "(#100) No matching user found");
    assert!(error("2").get("error_subcode").is_none());
    assert_eq!(error("3")["is_transient"], true);
    let (four, five) = (error("4"), error("5"));
    assert_eq!((four["code"].clone(), five["code"].clone()), (json!(10900), json!(10900)));
    assert_ne!(four["message"], five["message"]);
    assert_eq!(error("6")["code"], 2018321);
}

#[test]
fn down_after_n_refuses_the_next_connect_until_ended() {
    let sandbox = pagecast_sandbox::spawn(&json!({"down": {"after": 2}}));
    let first = send(sandbox.addr, "1").expect("first");
    assert_eq!(first.status, 200);
    assert_eq!(first.header("connection").as_deref(), Some("close"));
    assert_eq!(send(sandbox.addr, "2").expect("second").status, 200);
    sandbox.wait_reachable(false);
    let refused = send(sandbox.addr, "3").err().expect("refused");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    sandbox.set_down(false);
    sandbox.wait_reachable(true);
    assert_eq!(send(sandbox.addr, "3").expect("after the outage").status, 200);
    let recipients: Vec<Value> = requests(sandbox.addr).iter().map(|r| r["recipient"].clone()).collect();
    assert_eq!(recipients, [json!("1"), json!("2"), json!("3")], "the refused attempt never arrived");
}

#[test]
fn down_route_and_running_switch_close_and_reopen_the_port() {
    let sandbox = pagecast_sandbox::spawn(&json!({}));
    let reply = call(sandbox.addr, "POST", "/_sandbox/down?ms=150", "", 1 << 20).expect("down");
    assert_eq!(reply.status, 200);
    sandbox.wait_reachable(false);
    sandbox.wait_reachable(true);
    assert_eq!(call(sandbox.addr, "POST", "/_sandbox/down", "", 1 << 20).expect("answer").status, 400);

    sandbox.set_down(true);
    sandbox.wait_reachable(false);
    sandbox.set_down(false);
    sandbox.wait_reachable(true);
    assert_eq!(send(sandbox.addr, "1").expect("up again").status, 200);
}

#[test]
fn configured_messages_replace_the_sandboxs_own() {
    let sandbox = pagecast_sandbox::spawn(&json!({
        "faults": {"1": ["graph:10900"], "2": ["graph:100/33"]},
        "messages": {"10900": "<b>html</b>", "100/33": "with subcode"}
    }));
    let error = |r: &str| send(sandbox.addr, r).expect("answer").json()["error"].clone();
    assert_eq!(error("1")["message"], "<b>html</b>");
    assert_eq!(error("2")["message"], "with subcode");
}
