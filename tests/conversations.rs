//! The conversations audience against the sandbox, through the real binary
//! (`pagecast plan`): paging links stay on PAGECAST_GRAPH_URL's origin and
//! lose any `access_token`, a transient error mid-listing is retried, and a
//! person behind a long run of page messages is found (SPEC §4).

mod common;

use common::*;
use serde_json::{Value, json};

const PAGE: &str = "500725830264749";

/// Graph's time format, `minutes` before 2026-11-21T23:00Z.
fn ago(minutes: i64) -> String {
    let t = chrono::DateTime::parse_from_rfc3339("2026-11-21T23:00:00Z").unwrap() - chrono::TimeDelta::minutes(minutes);
    t.format("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// `count` conversations a minute apart, each with one message of its person.
fn simple(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let (t, person) = (ago(i as i64), format!("77{i:04}"));
            json!({"id": format!("t_{i}"), "updated_time": t, "participants": [{"id": person}],
                   "messages": [{"id": format!("m_{i}"), "created_time": t, "from": {"id": person}}]})
        })
        .collect()
}

/// A conversation whose newest `page_messages` messages are the page's (a
/// flow), then one of the person at `person_at`.
fn long_flow(id: &str, person: &str, page_messages: usize, person_at: &str) -> Value {
    let mut messages: Vec<Value> = (0..page_messages)
        .map(|i| json!({"id": format!("{id}_p{i}"), "created_time": ago(i as i64), "from": {"id": PAGE}}))
        .collect();
    messages.push(json!({"id": format!("{id}_u"), "created_time": person_at, "from": {"id": person}}));
    json!({"id": id, "updated_time": ago(0), "participants": [{"id": person}], "messages": messages})
}

fn campaign() -> String {
    format!(
        "version: 1\nid: convo\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    conversations: {{ within: 7d }}\nmessage:\n  text: Hello\nmessaging_type: UPDATE\n"
    )
}

/// `pagecast plan --format json` of the campaign with token `token`.
fn plan(sb: &Sandbox, token: &str) -> std::process::Output {
    let ws = Workspace::new();
    ws.write("c.yaml", &campaign());
    ws.run(Some(sb), &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[("T", token)])
}

fn conversation_calls(sb: &Sandbox) -> Vec<Value> {
    sb.requests().into_iter().filter(|r| r["kind"] == "conversations").collect()
}

#[test]
fn a_next_link_to_another_origin_is_refused_and_names_the_host() {
    let sb = Sandbox::start(&json!({
        "conversations": { PAGE: simple(150) },
        "conversation_links": { "origin": "http://elsewhere.test:8081" },
    }));
    let out = plan(&sb, "tok");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(err.contains("elsewhere.test"), "the error names the host:\n{err}");
    assert!(err.contains("c.yaml: error:"), "{err}");
    assert!(!err.contains("check the page token"), "not a token problem:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(conversation_calls(&sb).len(), 1, "the link was not followed");
    assert!(out.stdout.is_empty(), "no plan is printed");
}

#[test]
fn the_token_is_stripped_from_next_links_and_travels_in_the_header() {
    let token = "EAAtok-in-links-42";
    let mut list = simple(120);
    list.push(long_flow("t_flow", "880001", 12, &ago(30)));
    let sb = Sandbox::start(&json!({
        "tokens": { PAGE: token },
        "conversations": { PAGE: list },
        "conversation_links": { "access_token": true },
    }));
    let out = plan(&sb, token);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["recipients"], 121);
    let calls = conversation_calls(&sb);
    // Listing pages 1 and 2, and the long flow's older messages.
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert!(calls.iter().any(|c| c["path"].as_str().unwrap().ends_with("/t_flow/messages")), "{calls:#?}");
    for call in &calls {
        assert!(!call["query"].as_str().unwrap().contains("access_token"), "{call}");
        assert_eq!(call["authorization"], format!("Bearer {token}"), "{call}");
        assert_eq!(call["fault"], "ok", "the sandbox accepted every call: {call}");
    }
    assert!(!text(&out).contains(token), "the token never appears in the output");
}

#[test]
fn a_transient_error_on_page_two_is_retried_and_the_plan_completes() {
    // Call 1 answers, call 2 gets Graph's transient code 2, call 3 answers.
    let sb = Sandbox::start(&json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "graph:2", "ok"] },
    }));
    let out = plan(&sb, "tok");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["recipients"], 150);
    let faults: Vec<Value> = conversation_calls(&sb).iter().map(|c| c["fault"].clone()).collect();
    assert_eq!(faults, ["ok", "graph:2", "ok"]);
}

#[test]
fn an_error_on_page_two_says_what_it_is_not_check_the_token() {
    let sb = Sandbox::start(&json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "graph:100/33"] },
    }));
    let out = plan(&sb, "tok");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("100/33") && err.contains("call 2"), "{err}");
    assert!(!err.contains("page token"), "{err}");

    let sb = Sandbox::start(&json!({
        "conversations": { PAGE: simple(150) },
        "faults": { PAGE: ["ok", "graph:190"] },
    }));
    let out = plan(&sb, "tok");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("190") && err.contains("check the page token"), "{err}");
}

#[test]
fn a_person_behind_many_page_messages_is_found() {
    let sb = Sandbox::start(&json!({ "conversations": { PAGE: [
        // Ten newer page messages, then the person at 22:00 on the 21st.
        long_flow("t_a", "990001", 10, &ago(60)),
        // Twenty, then the person two hours before.
        long_flow("t_b", "990002", 20, &ago(120)),
        // Ten recent page messages, then older ones past `within` (7 days
        // before NOW is 2026-11-15): the reading stops there.
        past_within("t_c", "990003"),
    ]}}));
    let out = plan(&sb, "tok");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row(&plan, "990001")["outcome"], "planned", "{plan:#}");
    // The window closes 24 h after the person's message, less the 10 m margin.
    assert_eq!(row(&plan, "990001")["window_closes_at"], "2026-11-22T21:50:00Z");
    assert_eq!(row(&plan, "990002")["window_closes_at"], "2026-11-22T20:50:00Z");
    assert_eq!(row(&plan, "990003")["reason"], "no_interaction");
    let paths: Vec<String> = conversation_calls(&sb).iter().map(|c| c["path"].as_str().unwrap().to_string()).collect();
    let calls = |id: &str| paths.iter().filter(|p| p.ends_with(&format!("/{id}/messages"))).count();
    assert_eq!((calls("t_a"), calls("t_b"), calls("t_c")), (1, 2, 1), "{paths:?}");
}

/// Ten recent page messages, five from before `within`, then the person.
fn past_within(id: &str, person: &str) -> Value {
    let mut flow = long_flow(id, person, 10, "2026-11-09T00:00:00+0000");
    let messages = flow["messages"].as_array_mut().unwrap();
    let person_message = messages.pop().unwrap();
    for i in 0..5 {
        let t = format!("2026-11-10T0{i}:00:00+0000");
        messages.push(json!({"id": format!("{id}_old{i}"), "created_time": t, "from": {"id": PAGE}}));
    }
    messages.push(person_message);
    flow
}
