//! Issue 8, what comes back on the wire: redirects are never followed and
//! never read as "sent", a 2xx without a message id is `unknown`, an endless
//! body keeps the process bounded, and a huge error message is stored as at
//! most 1,000 characters.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

/// Runs `cmd` with stdout/stderr in files, watching its peak memory; kills it
/// and fails when the peak passes `limit_mib` (an unbounded reader would take
/// the machine down before any assertion could run).
fn run_bounded(mut cmd: Command, dir: &Path, limit_mib: u64) -> (Option<i32>, String) {
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    cmd.stdout(std::fs::File::create(&out_path).unwrap()).stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let mut peak_kib = 0u64;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            for line in status.lines().filter(|l| l.starts_with("VmHWM:") || l.starts_with("VmRSS:")) {
                let kib = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
                peak_kib = peak_kib.max(kib);
            }
        }
        if peak_kib > limit_mib * 1024 || started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pagecast unbounded: peak {} MiB after {:?}", peak_kib / 1024, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let text = format!(
        "{}{}",
        std::fs::read_to_string(out_path).unwrap_or_default(),
        std::fs::read_to_string(err_path).unwrap_or_default()
    );
    (code, text)
}

#[test]
fn redirects_are_never_followed_and_never_sent() {
    let away = Sandbox::start(&json!({}));
    let port: u16 = away.addr.rsplit(':').next().unwrap().parse().unwrap();
    let sb = Sandbox::start(&json!({"faults": {
        "1": ["redirect:301"], "2": ["redirect:302"], "3": ["redirect:307"], "4": ["redirect:308"],
        "5": [format!("redirect_away:307/{port}")], "6": [format!("redirect_away:308/{port}")],
        "7": [format!("redirect_away:301/{port}")], "8": [format!("redirect_away:302/{port}")],
        "9": ["http:200"], "10": ["http:204"], "11": ["ok"],
    }}));
    let ws = Workspace::new();
    let people = ids(11);
    ws.write("c.yaml", &graph_campaign("redirect", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok-redirect-secret")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    assert!(away.requests().is_empty(), "another origin got a request: {:?}", away.requests());
    let landed: Vec<_> = sb.requests().into_iter().filter(|r| r["kind"] == "landing").collect();
    assert!(landed.is_empty(), "a redirect was followed: {landed:?}");

    let report = ws.report("redirect", "default");
    // SPEC §4: a 3xx is ambiguous (something between us and Graph answered;
    // the POST may have reached Meta), so `unknown`, not retried; a 2xx
    // without a message id is `unknown` too. Neither is `sent`.
    for id in refs(&ids(10)) {
        assert_eq!(outcome(&report, id).0, "unknown", "{id}: {}", row(&report, id));
        assert!(row(&report, id)["message_id"].is_null(), "{id}");
        assert_eq!(sb.requests_for(id).len(), 1, "{id}: ambiguous answers are not retried");
    }
    assert_eq!(outcome(&report, "11").0, "sent");
    assert!(!text(&out).contains("tok-redirect-secret"));

    // The re-run does not send to them again without --resend-unknown.
    let before = sb.message_requests().len();
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok-redirect-secret")]);
    assert!(matches!(again.status.code(), Some(0 | 1)), "{}", text(&again));
    assert_eq!(sb.message_requests().len(), before, "an unknown is never resent silently");
    assert!(away.requests().is_empty());
}

#[test]
fn an_endless_body_is_read_up_to_one_mib_and_the_recipient_is_unknown() {
    let sb = Sandbox::start(&json!({"faults": {"1": ["endless"], "2": ["ok"]}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("endless", PAGE, "T", &["1", "2"], "send: { concurrency: 1 }\n"));
    let mut cmd = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]);
    // A long request timeout: only the 1 MiB cap can end this answer early.
    cmd.env("T", "tok").env("PAGECAST_REQUEST_TIMEOUT", "20");
    let (code, output) = run_bounded(cmd, &ws.dir, 256);
    assert_eq!(code, Some(1), "{output}");
    let report = ws.report("endless", "default");
    assert_eq!(outcome(&report, "1").0, "unknown", "{}", row(&report, "1"));
    assert!(row(&report, "1")["message_id"].is_null(), "a cut body is not a success");
    assert_eq!(sb.requests_for("1").len(), 1);
    assert_eq!(outcome(&report, "2").0, "sent");
}

/// Occurrences of one unit of `huge_error`'s message in `text`.
fn units(text: &str) -> usize {
    text.matches("không tồn tại").count()
}

#[test]
fn a_huge_error_message_is_stored_as_at_most_a_thousand_characters() {
    let sb = Sandbox::start(&json!({"faults": {
        "1": ["huge_error:52428800"], "2": ["huge_error:200000"], "3": ["ok"]
    }}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("huge", PAGE, "T", &["1", "2", "3"], "send: { concurrency: 1 }\n"));
    let mut cmd = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]);
    cmd.env("T", "tok").env("PAGECAST_REQUEST_TIMEOUT", "20");
    let (code, output) = run_bounded(cmd, &ws.dir, 512);
    assert_eq!(code, Some(1), "{}", &output[..output.len().min(2000)]);
    let report = ws.report("huge", "default");

    // Under 1 MiB the error parses: 100/2018001, about the person.
    let two = row(&report, "2");
    assert_eq!(two["outcome"], "failed", "{}", &two.to_string()[..300.min(two.to_string().len())]);
    assert_eq!(two["error_code"], 100);
    assert_eq!(two["error_subcode"], 2018001);
    let message = two["error_message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("(#100) Người dùng"),
        "cut on a character boundary: {:?}",
        &message[..40.min(message.len())]
    );
    assert!(message.chars().count() <= 1000, "{} characters", message.chars().count());
    assert!(message.chars().count() >= 500, "the start of the message is kept");

    // Over 1 MiB the answer is cut: whatever it becomes, it is not `sent`
    // and its stored message is bounded.
    let one = row(&report, "1");
    assert_ne!(one["outcome"], "sent");
    assert!(one["error_message"].as_str().unwrap_or_default().chars().count() <= 1000);
    assert_eq!(outcome(&report, "3").0, "sent");

    // Each stored copy is at most 1,000 characters (≈ 30 units of 34).
    let mut ledger = String::new();
    for entry in std::fs::read_dir(ws.state()).unwrap().flatten() {
        if entry.path().is_file() {
            ledger.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()));
        }
    }
    assert!(units(&ledger) < 300, "the ledger holds {} units of the message", units(&ledger));
    let reports = ws.all_report_text();
    assert!(units(&reports) < 400, "the reports hold {} units of the message", units(&reports));
    assert!(units(&output) < 200, "the log holds {} units of the message", units(&output));
}
