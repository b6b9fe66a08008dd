//! report.html in a real browser: headless Chromium (Debian's `chromium`)
//! loads the page of a real run with the network off and renders it. Skipped
//! where Chromium is not installed (`apt-get install chromium`).

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::process::Command;

use common::*;
use serde_json::json;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium on this machine");
        return;
    };
    // Recipient 3 is throttled once (code 613, a pause of about a second), so
    // the chart has a pause to shade.
    let sb = Sandbox::start(&json!({"faults": {"2": ["graph:551"], "3": ["graph:613", "ok"]}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("browser", "500725830264749", "T", &["1", "2", "3"], ""));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let dir = std::fs::read_dir(ws.reports().join("browser/default")).unwrap().next().unwrap().unwrap().path();
    let page = format!("file://{}", dir.join("report.html").display());
    let profile = tempfile::tempdir().unwrap();
    let base = |cmd: &mut Command| {
        cmd.args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
            .args(["--disable-component-update", "--disable-sync"])
            .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut dump = Command::new(browser);
    base(&mut dump);
    let dom = dump.args(["--dump-dom", &page]).output().unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("browser"), "the campaign id is on the page");
    assert!(dom.contains("551"), "the failure's code is in the failures table");
    assert!(dom.contains("<svg"), "the charts rendered");
    assert!(dom.contains("paused by throttling (1)") && dom.contains(r#"<rect class="pause""#), "the pause is drawn");
    assert!(dom.contains("Each point counts the messages sent by one page in"), "the caption states the interval");

    let png = ws.dir.join("report.png");
    let mut shot = Command::new(browser);
    base(&mut shot);
    shot.args(["--window-size=1100,1400", &format!("--screenshot={}", png.display()), &page]).output().unwrap();
    assert!(std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0) > 20_000, "a screenshot with content");
    // To look at it: PAGECAST_SCREENSHOT=/tmp/report.png cargo test --test report_browser
    if let Some(keep) = std::env::var_os("PAGECAST_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
