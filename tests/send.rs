//! `pagecast run` against the sandbox: request bodies, error classes, page
//! stops, token secrecy, Ctrl-C.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

#[test]
fn graph_request_matches_metas_shape_and_token_only_in_header() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let extra = "notification_type: SILENT_PUSH\n";
    let mut campaign = graph_campaign("shape", PAGE, "SHOP_TOKEN", &["111"], extra);
    campaign = campaign.replace(
        "  text: \"Hi {{ first_name }}\"\n",
        "  text: \"Hi {{ first_name }}\"\n  quick_replies:\n    - { title: Track, payload: TRACK }\n    - { content_type: user_email }\n  metadata: shape-test\n",
    );
    ws.write("c.yaml", &campaign);
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("SHOP_TOKEN", "tok-shape-1")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let reqs = sb.requests_for("111");
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r["path"], format!("/v25.0/{PAGE}/messages"));
    assert_eq!(r["authorization"], "Bearer tok-shape-1");
    assert!(!r["query"].as_str().unwrap_or("").contains("tok-shape-1"));
    assert_eq!(
        r["body"],
        json!({"recipient": {"id": "111"}, "messaging_type": "UPDATE", "notification_type": "SILENT_PUSH",
               "message": {"text": "Hi P111", "metadata": "shape-test",
                           "quick_replies": [{"content_type": "text", "title": "Track", "payload": "TRACK"},
                                             {"content_type": "user_email"}]}})
    );
    let report = ws.report("shape", "default");
    assert_eq!(row(&report, "111")["outcome"], "sent");
    assert!(row(&report, "111")["message_id"].as_str().unwrap().starts_with("m_"));
}

#[test]
fn harasocial_request_matches_the_seed_and_has_error_fails() {
    let sb = Sandbox::start(&json!({"faults": {"222": ["harasocial_error"]}}));
    let ws = Workspace::new();
    ws.write(
        "h.yaml",
        &format!(
            "version: 1\nid: flow\npages:\n  - {{ id: \"{PAGE}\", provider: harasocial, token_env: HARA }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients:\n      - {{ id: \"111\", last_interaction: {RECENT} }}\n      - {{ id: \"222\", last_interaction: {RECENT} }}\nmessage:\n  payload_id: __hrf_f_abc\n  metadata: from-pagecast\n"
        ),
    );
    let out = ws.run(Some(&sb), &["run", "h.yaml", "--now", NOW], &[("HARA", "hara-token-9")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = &sb.requests_for("111")[0];
    assert_eq!(r["path"], "/social/messages.json");
    assert_eq!(r["authorization"], "Bearer hara-token-9");
    assert_eq!(
        r["body"],
        json!({"messaging_type": "harasocial_facebook_payload_id", "recipient": {"id": "111"},
               "message": {"payload_id": "__hrf_f_abc"}, "page_id": PAGE, "metadata": "from-pagecast"})
    );
    let report = ws.report("flow", "default");
    assert_eq!(row(&report, "111")["outcome"], "sent");
    assert_eq!(row(&report, "222")["outcome"], "failed");
}

#[test]
fn each_error_class_does_what_the_spec_says() {
    let sb = Sandbox::start(&json!({"faults": {
        "1": ["ok"],
        "2": ["graph:551"],
        "3": ["graph:2", "ok"],
        "4": ["http:500"],
        "5": ["graph:613", "ok"],
        "6": ["graph:1/1357046"],
        "7": ["graph:10/2018278"],
        "8": ["graph:2"],
    }}));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &graph_campaign("classes", PAGE, "T", &["1", "2", "3", "4", "5", "6", "7", "8"], "send: { max_attempts: 2 }\n"),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok-classes")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = ws.report("classes", "default");
    let get = |r: &str| {
        (row(&report, r)["outcome"].as_str().unwrap().to_string(), row(&report, r)["attempts"].as_u64().unwrap())
    };
    assert_eq!(get("1"), ("sent".into(), 1));
    assert_eq!(get("2"), ("failed".into(), 1));
    assert_eq!(row(&report, "2")["error_code"], 551);
    assert_eq!(get("3"), ("sent".into(), 2), "retried once after code 2");
    assert_eq!(get("4"), ("unknown".into(), 1), "5xx without a Graph body may have been delivered");
    assert_eq!(get("5"), ("sent".into(), 1), "a throttle is not an attempt");
    assert_eq!(get("6"), ("unknown".into(), 1));
    assert_eq!(get("7"), ("failed".into(), 1));
    assert_eq!(row(&report, "7")["error_subcode"], 2018278);
    assert_eq!(get("8"), ("not_attempted".into(), 2), "retries stop at max_attempts, and nothing was delivered");
    assert_eq!(row(&report, "8")["reason"], "retries_exhausted");
    assert_eq!(sb.requests_for("4").len(), 1, "ambiguous answers are not retried");
    assert_eq!(sb.requests_for("5").len(), 2);
    assert_eq!(report["failed_by_code"]["551"], 1);
    assert_eq!(report["summary"]["unknown"], 2);
}

#[test]
fn a_fatal_token_error_stops_only_its_page() {
    let other = "600000000000001";
    let sb = Sandbox::start(&json!({"tokens": {PAGE: "right-token", other: "other-token"}}));
    let ws = Workspace::new();
    let ids: Vec<String> = (1..=20).map(|i| format!("{i}")).collect();
    let rows = |ids: &[String]| {
        ids.iter().map(|r| format!("      - {{ id: \"{r}\", last_interaction: {RECENT} }}\n")).collect::<String>()
    };
    ws.write(
        "c.yaml",
        &format!(
            "version: 1\nid: two-pages\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: BAD }}\n  - {{ id: \"{other}\", provider: graph, token_env: GOOD }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients:\n{}  - page: \"{other}\"\n    recipients:\n{}message:\n  text: Hello\nmessaging_type: UPDATE\nsend: {{ concurrency: 1 }}\n",
            rows(&ids),
            rows(&ids)
        ),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("BAD", "wrong-token"), ("GOOD", "other-token")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("two-pages", "default");
    assert_eq!(report["pages"][other]["sent"], 20);
    assert_eq!(report["pages"][PAGE]["failed"], 0, "a bad token is the page's error, not the person's");
    assert_eq!(report["pages"][PAGE]["not_attempted"], 20);
    let first = row(&report, "1");
    assert_eq!((first["reason"].as_str(), first["error_code"].as_i64()), (Some("page_stopped"), Some(190)));
    assert!(text(&out).contains("190"), "{}", text(&out));
}

#[test]
fn three_identical_failures_in_a_row_stop_the_page_and_charge_nobody() {
    let faults: serde_json::Map<String, serde_json::Value> =
        (1..=15).map(|i| (i.to_string(), json!(["graph:10900"]))).collect();
    let sb = Sandbox::start(&json!({ "faults": faults }));
    let ws = Workspace::new();
    let ids: Vec<String> = (1..=15).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    ws.write("c.yaml", &graph_campaign("ten", PAGE, "T", &refs, "send: { concurrency: 1 }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("ten", "default");
    assert_eq!(report["summary"]["failed"], 0, "the streak is re-labelled: a later run sends to them");
    assert_eq!(report["summary"]["not_attempted"], 15);
    assert_eq!(sb.requests().len(), 3, "the page stops at the third identical failure");
}

#[test]
fn throttling_past_max_pause_stops_the_page() {
    let sb = Sandbox::start(&json!({"faults": {"1": ["throttle:20"]}}));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &graph_campaign("pause", PAGE, "T", &["1", "2", "3"], "send: { concurrency: 1, max_pause: 1m }\n"),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("pause", "default");
    assert_eq!(row(&report, "1")["outcome"], "not_attempted");
    assert_eq!(report["summary"]["not_attempted"], 3);
    assert_eq!(sb.requests().len(), 1, "nothing is sent while the page waits out Meta's 20 minutes");
}

#[test]
fn the_token_never_appears_in_output_or_reports_even_when_echoed() {
    let sb = Sandbox::start(&json!({"faults": {"1": ["echo_token"], "2": ["reset"], "3": ["hang"]}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("secret", PAGE, "T", &["1", "2", "3"], ""));
    let token = "EAAsecret-token-value-42";
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--format", "json"], &[("T", token)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = ws.report("secret", "default");
    assert_eq!(row(&report, "1")["outcome"], "failed");
    assert!(row(&report, "1")["error_message"].as_str().unwrap().contains("[redacted]"));
    assert_eq!(row(&report, "2")["outcome"], "unknown", "a reset after the request was written");
    assert_eq!(row(&report, "3")["outcome"], "unknown", "a timeout after the request was written");
    assert!(!text(&out).contains(token), "token in output");
    assert!(!ws.all_report_text().contains(token), "token in a report file");
    let ledger = std::fs::read(ws.state().join("ledger.sqlite3")).unwrap();
    assert!(!String::from_utf8_lossy(&ledger).contains(token), "token in the ledger");
}

#[test]
fn a_missing_token_variable_sends_nothing() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("notoken", PAGE, "NOT_SET_ANYWHERE", &["1"], ""));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("NOT_SET_ANYWHERE"));
    assert!(sb.requests().is_empty());
}

#[test]
fn sigint_finishes_requests_in_flight_and_exits_cleanly() {
    let faults: serde_json::Map<String, serde_json::Value> =
        (1..=30).map(|i| (i.to_string(), json!(["slow:800"]))).collect();
    let sb = Sandbox::start(&json!({ "faults": faults }));
    let ws = Workspace::new();
    let ids: Vec<String> = (1..=30).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    ws.write("c.yaml", &graph_campaign("sigint", PAGE, "T", &refs, "send: { concurrency: 2 }\n"));
    let mut child = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]).env("T", "tok").spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sb.requests().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let report = ws.report("sigint", "default");
    let sent = report["summary"]["sent"].as_u64().unwrap();
    let received = sb.requests().len() as u64;
    assert_eq!(sent, received, "every request that left was answered and recorded as sent");
    assert_eq!(report["summary"]["not_attempted"].as_u64().unwrap(), 30 - sent);
    assert!(sent < 30);
}

#[test]
fn a_second_sigint_abandons_requests_in_flight_as_unknown() {
    // Two requests that are never answered (the client's timeout is a
    // minute), then two signals: the run ends at once, not at the timeout.
    let sb = Sandbox::start(&json!({ "faults": { "1": ["hang"], "2": ["hang"], "3": ["hang"], "4": ["hang"] } }));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("abandon", PAGE, "T", &["1", "2", "3", "4"], "send: { concurrency: 2 }\n"));
    let mut run = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]);
    let mut child = run.env("T", "tok").env("PAGECAST_REQUEST_TIMEOUT", "60").spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sb.requests().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let started = std::time::Instant::now();
    for _ in 0..2 {
        std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let status = child.wait().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "the requests in flight were waited for");
    assert_eq!(status.code(), Some(130));
    let report = ws.report("abandon", "default");
    let in_flight: Vec<String> =
        sb.requests().iter().map(|r| r["recipient"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(in_flight.len(), 2, "{in_flight:?}");
    for id in ["1", "2", "3", "4"] {
        let (outcome, reason) =
            if in_flight.iter().any(|r| r == id) { ("unknown", "abandoned") } else { ("not_attempted", "interrupted") };
        assert_eq!(row(&report, id)["outcome"], outcome, "{id}");
        assert_eq!(row(&report, id)["reason"], reason, "{id}");
    }
}
