//! `report.html`: the report for people, one self-contained file.
//!
//! Reports are opened from disk, mailed and archived, often on machines
//! without network access, so the page loads nothing: CSS is inline, charts
//! are inline SVG, there is no script and no URL of any kind. Every string
//! that comes from data (campaign ids, recipients, API messages) goes
//! through the `Esc` escape. The page is built in one `String` with `write!`, and
//! only the first [`MAX_FAILURE_ROWS`] failures are listed, so a run of
//! hundreds of thousands of recipients renders in linear time and stays a
//! readable size; the full rows are in `outcomes.csv`.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use chrono::{DateTime, Utc};

use super::{Outcome, OutcomeRow, Report, Summary};

/// Failures listed in the table; the rest are counted in one line.
pub const MAX_FAILURE_ROWS: usize = 1000;
/// Pages drawn in the per-page outcome chart (the largest first).
const MAX_PAGE_BARS: usize = 50;
/// At most this many time buckets in the sends-over-time chart.
const MAX_BUCKETS: usize = 120;
/// Lines in the sends-over-time chart; further pages are summed into one.
const MAX_SERIES: usize = 8;
/// Line colours of the sends-over-time chart; the last is for "other pages".
const PALETTE: [&str; MAX_SERIES + 1] =
    ["#1f6feb", "#d1495b", "#2a9d8f", "#8e44ad", "#e67e22", "#0b7285", "#7f5539", "#c2255c", "#868e96"];

/// Renders the report as a complete HTML document.
pub fn render(report: &Report) -> String {
    render_with_sends(report, &sends_of(report))
}

/// The page and time of each sent row.
fn sends_of(report: &Report) -> Vec<(&str, DateTime<Utc>)> {
    report
        .outcomes
        .iter()
        .filter(|row| row.outcome == Outcome::Sent)
        .filter_map(|row: &OutcomeRow| Some((row.page.as_str(), parse_time(row.at.as_deref()?)?)))
        .collect()
}

/// [`render`] for a report whose `outcomes` hold only the failed and
/// unknown rows, with the page and time of every send given apart (the
/// timeline): what a streamed report passes instead of every row.
pub fn render_with_sends(report: &Report, sends: &[(&str, DateTime<Utc>)]) -> String {
    let mut out = String::with_capacity(32 * 1024);
    document(&mut out, report, sends).expect("writing to a String cannot fail");
    out
}

fn document(out: &mut String, report: &Report, sends: &[(&str, DateTime<Utc>)]) -> fmt::Result {
    let shown = shown_outcomes(report);
    head(out, report)?;
    header(out, report)?;
    totals(out, &report.summary, &shown)?;
    out.push_str("<section><h2>Outcomes</h2>");
    outcome_chart(out, &report.summary, &shown)?;
    page_chart(out, report, &shown)?;
    out.push_str("</section>");
    timeline_section(out, report, sends)?;
    out.push_str(r#"<div class="two"><section><h2>Skipped by reason</h2>"#);
    count_table(out, "reason", &report.skipped_by_reason, "No recipient was skipped.")?;
    out.push_str("</section><section><h2>Failed by error code</h2>");
    count_table(out, "code", &report.failed_by_code, "No recipient failed.")?;
    unknown_note(out, report.summary.unknown)?;
    out.push_str("</section></div>");
    if !report.not_attempted_by_reason.is_empty() {
        out.push_str("<section><h2>Not attempted, by reason</h2>");
        out.push_str(r#"<p class="note">Nothing was sent to them and nothing was learned about them: the next run of this occurrence sends to them.</p>"#);
        count_table(out, "reason", &report.not_attempted_by_reason, "")?;
        out.push_str("</section>");
    }
    failures(out, report)?;
    footer(out)
}

// ---------------------------------------------------------------------------
// Text helpers

/// Displays a string with `& < > " '` escaped, for text and attribute values.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut done = 0;
        for (i, byte) in self.0.bytes().enumerate() {
            let entity = match byte {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&self.0[done..i])?;
            f.write_str(entity)?;
            done = i + 1;
        }
        f.write_str(&self.0[done..])
    }
}

/// `1234567` as `1,234,567`.
fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

/// `part` as a percentage of `whole`, one decimal.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".to_owned();
    }
    format!("{:.1} %", part as f64 * 100.0 / whole as f64)
}

/// A duration in milliseconds as `850 ms`, `12 s`, `4 min 10 s`, `2 h 5 min`.
fn duration(ms: i64) -> String {
    let s = ms / 1000;
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{s} s")
    } else if ms < 3_600_000 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{} h {} min", s / 3600, s % 3600 / 60)
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
}

/// Keeps long ids from pushing chart labels off the left edge.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

// ---------------------------------------------------------------------------
// Outcomes: names, colours, which ones a report shows

fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Sent => "Sent",
        Outcome::Planned => "Planned",
        Outcome::Skipped => "Skipped",
        Outcome::Failed => "Failed",
        Outcome::Unknown => "Unknown",
        Outcome::NotAttempted => "Not attempted",
    }
}

fn color(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Sent => "#2b8a3e",
        Outcome::Planned => "#1c7ed6",
        Outcome::Skipped => "#adb5bd",
        Outcome::Failed => "#e03131",
        Outcome::Unknown => "#f08c00",
        Outcome::NotAttempted => "#7048e8",
    }
}

/// The outcomes a run of this kind can have, plus any other that occurred:
/// a dry run plans and skips; a live run never plans.
fn shown_outcomes(report: &Report) -> Vec<Outcome> {
    let expected = |outcome: Outcome| match outcome {
        Outcome::Skipped => true,
        Outcome::Planned => report.dry_run,
        _ => !report.dry_run,
    };
    Outcome::ALL.into_iter().filter(|&o| expected(o) || report.summary.get(o) > 0).collect()
}

// ---------------------------------------------------------------------------
// Page sections

const STYLE: &str = r#"
:root{--fg:#1d2330;--muted:#5f6b7a;--line:#e3e7ee;--bg:#f4f6f9;--card:#fff}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
.kicker{color:var(--muted);font-size:13px;text-transform:uppercase;letter-spacing:.08em}
h1{margin:2px 0 0;font-size:28px;word-break:break-word}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:14px;margin:18px 0 6px;color:var(--muted);font-weight:600}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:600;vertical-align:4px;margin-left:8px}
.badge.dry{background:#e7f5ff;color:#1864ab;border:1px solid #a5d8ff}
.badge.live{background:#ebfbee;color:#2b8a3e;border:1px solid #b2f2bb}
.meta{display:flex;flex-wrap:wrap;gap:6px 28px;margin:12px 0 0;color:var(--muted)}
.meta b{color:var(--fg);font-weight:600}
.exit{padding:1px 8px;border-radius:6px}
.exit.ok{background:#ebfbee;color:#2b8a3e}.exit.warn{background:#fff4e6;color:#d9480f}.exit.bad{background:#fff5f5;color:#c92a2a}
.totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px;margin:22px 0 16px}
.card{background:var(--card);border:1px solid var(--line);border-top:4px solid var(--c);border-radius:10px;padding:12px 16px}
.card .n{font-size:34px;font-weight:700;line-height:1.15;font-variant-numeric:tabular-nums}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:16px 0;min-width:0}
svg{display:block;width:100%;height:auto}
svg text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:#1d2330}
svg text.muted{fill:#5f6b7a}
.mono,svg text.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;margin:2px 0 10px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:baseline}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.msg{word-break:break-word;min-width:220px}
td.at{white-space:nowrap}
.note{color:var(--muted);font-size:13px;margin:8px 0 0}
.scroll{overflow-x:auto}
.two{display:grid;grid-template-columns:1fr 1fr;gap:0 16px}
.two section{margin:0 0 16px}
@media (max-width:800px){.two{grid-template-columns:1fr}}
footer{color:var(--muted);font-size:13px;margin-top:24px}
"#;

fn head(out: &mut String, report: &Report) -> fmt::Result {
    let dry = if report.dry_run { " · dry run" } else { "" };
    write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · {}{dry} — pagecast report</title><style>{STYLE}</style></head><body><main>",
        Esc(&report.campaign),
        Esc(&report.occurrence),
    )
}

fn header(out: &mut String, report: &Report) -> fmt::Result {
    let badge = if report.dry_run {
        r#"<span class="badge dry">dry run: nothing sent</span>"#
    } else {
        r#"<span class="badge live">live run</span>"#
    };
    write!(
        out,
        r#"<header><div class="kicker">pagecast report</div><h1>{}{badge}</h1><div class="meta">"#,
        Esc(&report.campaign)
    )?;
    let item = |out: &mut String, name: &str, value: &str| write!(out, "<span>{name} <b>{}</b></span>", Esc(value));
    item(out, "Occurrence", &report.occurrence)?;
    item(out, "Started", &report.started_at)?;
    item(out, "Finished", &report.finished_at)?;
    if let (Some(a), Some(b)) = (parse_time(&report.started_at), parse_time(&report.finished_at)) {
        item(out, "Duration", &duration((b - a).num_milliseconds().max(0)))?;
    }
    let (class, meaning) = exit_meaning(report.exit_code);
    write!(out, r#"<span>Exit code <b class="exit {class}">{} · {meaning}</b></span></div></header>"#, report.exit_code)
}

/// The SPEC §1 meaning of an exit code, and how alarming it looks.
fn exit_meaning(code: i32) -> (&'static str, &'static str) {
    match code {
        0 => ("ok", "done"),
        1 => ("warn", "done, some recipients failed or are unknown"),
        2 => ("bad", "invalid input: nothing was sent"),
        3 => ("bad", "aborted: a fatal API error stopped a page"),
        4 => ("bad", "another pagecast was running this campaign"),
        130 => ("warn", "interrupted: run the same command again to continue"),
        _ => ("bad", "unexpected exit code"),
    }
}

fn totals(out: &mut String, summary: &Summary, shown: &[Outcome]) -> fmt::Result {
    out.push_str(r#"<div class="totals">"#);
    let card = |out: &mut String, name: &str, c: &str, n: u64| {
        write!(
            out,
            r#"<div class="card" style="--c:{c}"><div class="n">{}</div><div class="l">{name}</div></div>"#,
            num(n)
        )
    };
    card(out, "Recipients", "#343a40", summary.recipients)?;
    for &outcome in shown {
        card(out, label(outcome), color(outcome), summary.get(outcome))?;
    }
    out.push_str("</div>");
    Ok(())
}

fn legend(out: &mut String, items: &[(String, &str)]) -> fmt::Result {
    out.push_str(r#"<div class="legend">"#);
    for (text, c) in items {
        write!(out, r#"<span><i style="background:{c}"></i>{}</span>"#, Esc(text))?;
    }
    out.push_str("</div>");
    Ok(())
}

// ---------------------------------------------------------------------------
// Outcome charts

/// One horizontal bar per outcome, scaled to the largest.
fn outcome_chart(out: &mut String, summary: &Summary, shown: &[Outcome]) -> fmt::Result {
    const ROW: usize = 30;
    const WIDTH: f64 = 680.0;
    let max = shown.iter().map(|&o| summary.get(o)).max().unwrap_or(0).max(1);
    let height = shown.len() * ROW + 6;
    write!(out, r#"<svg viewBox="0 0 1000 {height}" role="img" aria-label="Recipients per outcome">"#)?;
    for (i, &outcome) in shown.iter().enumerate() {
        let n = summary.get(outcome);
        let y = 3 + i * ROW;
        let w = bar_width(n, max, WIDTH);
        write!(
            out,
            r#"<text x="150" y="{}" text-anchor="end">{}</text><rect x="160" y="{}" width="{w:.1}" height="20" rx="3" fill="{}"/><text x="{:.1}" y="{}">{} <tspan class="muted">({})</tspan></text>"#,
            y + 19,
            label(outcome),
            y + 4,
            color(outcome),
            168.0 + w,
            y + 19,
            num(n),
            percent(n, summary.recipients),
        )?;
    }
    out.push_str("</svg>");
    Ok(())
}

/// A bar's length, never so thin that a non-zero count disappears.
fn bar_width(n: u64, max: u64, full: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    (n as f64 / max as f64 * full).max(2.0)
}

/// One stacked bar per page, the largest pages first.
fn page_chart(out: &mut String, report: &Report, shown: &[Outcome]) -> fmt::Result {
    const ROW: usize = 28;
    const WIDTH: f64 = 640.0;
    let mut pages: Vec<(&String, &Summary)> = report.pages.iter().collect();
    pages.sort_by_key(|(_, summary)| std::cmp::Reverse(summary.recipients));
    pages.truncate(MAX_PAGE_BARS);
    let Some(max) = pages.first().map(|(_, s)| s.recipients.max(1)) else {
        return Ok(());
    };
    out.push_str("<h3>Per page</h3>");
    let items: Vec<_> = shown.iter().map(|&o| (label(o).to_owned(), color(o))).collect();
    legend(out, &items)?;
    let height = pages.len() * ROW + 4;
    write!(out, r#"<svg viewBox="0 0 1000 {height}" role="img" aria-label="Outcomes per page">"#)?;
    for (i, (page, summary)) in pages.iter().enumerate() {
        let y = 2 + i * ROW;
        write!(
            out,
            r#"<text class="mono" x="190" y="{}" text-anchor="end"><title>{}</title>{}</text>"#,
            y + 18,
            Esc(page),
            Esc(&truncate(page, 24))
        )?;
        let mut x = 200.0;
        for &outcome in shown {
            let n = summary.get(outcome);
            let w = bar_width(n, max, WIDTH);
            if w > 0.0 {
                write!(
                    out,
                    r#"<rect x="{x:.1}" y="{}" width="{w:.1}" height="20" fill="{}"><title>{} · {}: {}</title></rect>"#,
                    y + 3,
                    color(outcome),
                    Esc(page),
                    label(outcome),
                    num(n)
                )?;
            }
            x += w;
        }
        write!(out, r#"<text x="{:.1}" y="{}" class="muted">{}</text>"#, x + 8.0, y + 18, num(summary.recipients))?;
    }
    out.push_str("</svg>");
    if report.pages.len() > MAX_PAGE_BARS {
        let more = report.pages.len() - MAX_PAGE_BARS;
        write!(out, r#"<p class="note">{} more pages are in report.json.</p>"#, num(more as u64))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Sends over time

/// The `at` times of sent rows, counted per page in equal time buckets that
/// start at the run's start; the axis ends at the run's end, so the last
/// bucket may be shorter (the caption says so).
struct Timeline {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    bucket_ms: i64,
    /// (page or "N other pages", sends per bucket, total sends), most sends first.
    series: Vec<(String, Vec<u64>, u64)>,
    /// Throttling pauses inside the axis.
    pauses: Vec<Shade>,
}

/// A throttling pause clipped to the axis: (page, from, until, code).
type Shade = (String, DateTime<Utc>, DateTime<Utc>, Option<i64>);

/// Bucket widths a caption can state plainly, in milliseconds.
const NICE_BUCKETS_MS: [i64; 20] = [
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
];

/// The smallest plain bucket width that splits `span_ms` into at most
/// [`MAX_BUCKETS`] buckets (whole weeks beyond the table).
fn bucket_width(span_ms: i64) -> i64 {
    let fits = |b: i64| (span_ms + b - 1) / b <= MAX_BUCKETS as i64;
    NICE_BUCKETS_MS.into_iter().find(|&b| fits(b)).unwrap_or_else(|| {
        let week = 604_800_000;
        let weeks = (span_ms + week * MAX_BUCKETS as i64 - 1) / (week * MAX_BUCKETS as i64);
        weeks.max(1) * week
    })
}

impl Timeline {
    /// [`Timeline::build_from`] the sent rows of `report.outcomes`.
    #[cfg(test)]
    fn build(report: &Report) -> Option<Timeline> {
        Timeline::build_from(report, &sends_of(report))
    }

    /// `None` when no send has a readable time.
    fn build_from(report: &Report, sends: &[(&str, DateTime<Utc>)]) -> Option<Timeline> {
        let first = sends.iter().map(|s| s.1).min()?;
        let last = sends.iter().map(|s| s.1).max()?;
        // The run's span (widened only to a send recorded outside it).
        let start = parse_time(&report.started_at).map_or(first, |t| t.min(first));
        let mut end = parse_time(&report.finished_at).map_or(last, |t| t.max(last));
        if end - start < chrono::Duration::seconds(1) {
            end = start + chrono::Duration::seconds(1);
        }
        let bucket_ms = bucket_width((end - start).num_milliseconds());
        let n = ((end - start).num_milliseconds() + bucket_ms - 1) / bucket_ms;
        let n = n.max(1) as usize;
        let mut per_page: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for &(page, at) in sends {
            let bucket = ((at - start).num_milliseconds() / bucket_ms) as usize;
            per_page.entry(page).or_insert_with(|| vec![0; n])[bucket.min(n - 1)] += 1;
        }
        let series = top_series(per_page, n);
        let pauses = report
            .pauses
            .iter()
            .filter_map(|p| {
                let from = parse_time(&p.from)?.max(start);
                let until = parse_time(&p.until)?.min(end);
                (until > from).then(|| (p.page.clone(), from, until, p.code))
            })
            .collect();
        Some(Timeline { start, end, bucket_ms, series, pauses })
    }

    /// How many buckets.
    fn buckets(&self) -> usize {
        self.series.first().map_or(1, |s| s.1.len())
    }

    /// The interval bucket `i` covers (the last ends at the run's end).
    fn bucket(&self, i: usize) -> (DateTime<Utc>, DateTime<Utc>) {
        let from = self.start + chrono::Duration::milliseconds(self.bucket_ms * i as i64);
        let to = (from + chrono::Duration::milliseconds(self.bucket_ms)).min(self.end);
        (from, to)
    }

    /// The last bucket's width when it is shorter than the others.
    fn short_last(&self) -> Option<i64> {
        let (from, to) = self.bucket(self.buckets() - 1);
        let ms = (to - from).num_milliseconds();
        (ms < self.bucket_ms).then_some(ms)
    }

    /// The busiest point: (sends, its width in ms), by sends per second.
    fn busiest(&self) -> (u64, i64) {
        let mut best = (0, self.bucket_ms);
        for i in 0..self.buckets() {
            let (from, to) = self.bucket(i);
            let ms = (to - from).num_milliseconds().max(1);
            let n: u64 = self.series.iter().map(|s| s.1[i]).max().unwrap_or(0);
            if n as f64 / ms as f64 > best.0 as f64 / best.1 as f64 {
                best = (n, ms);
            }
        }
        best
    }

    fn max(&self) -> u64 {
        self.series.iter().flat_map(|s| s.1.iter().copied()).max().unwrap_or(0)
    }

    /// The x of an instant on the axis.
    fn x(&self, t: DateTime<Utc>) -> f64 {
        let span = (self.end - self.start).num_milliseconds().max(1) as f64;
        let at = (t - self.start).num_milliseconds().clamp(0, span as i64) as f64;
        PLOT_LEFT + at / span * (PLOT_RIGHT - PLOT_LEFT)
    }
}

/// Keeps the pages with the most sends as their own lines and sums the rest.
fn top_series(per_page: BTreeMap<&str, Vec<u64>>, buckets: usize) -> Vec<(String, Vec<u64>, u64)> {
    let mut series: Vec<_> = per_page
        .into_iter()
        .map(|(page, counts)| {
            let total: u64 = counts.iter().sum();
            (page.to_owned(), counts, total)
        })
        .collect();
    series.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    if series.len() > MAX_SERIES {
        let rest = series.split_off(MAX_SERIES - 1);
        let mut counts = vec![0; buckets];
        for (_, page_counts, _) in &rest {
            counts.iter_mut().zip(page_counts).for_each(|(sum, n)| *sum += n);
        }
        let total = rest.iter().map(|s| s.2).sum();
        series.push((format!("{} other pages", rest.len()), counts, total));
    }
    series
}

/// A round axis maximum at or above `n`: 1, 2, 4, 6, 8, 10, 20, 40…
fn axis_max(n: u64) -> u64 {
    let mut scale = 1;
    loop {
        for step in [1, 2, 4, 6, 8] {
            if step * scale >= n {
                return step * scale;
            }
        }
        scale *= 10;
    }
}

/// A rate per second: `298/s`, `2.5/s`, `0.03/s`.
pub fn rate_text(per_second: f64) -> String {
    if per_second >= 10.0 {
        format!("{per_second:.0}/s")
    } else if per_second >= 0.1 {
        format!("{:.1}/s", per_second).replace(".0/s", "/s")
    } else {
        format!("{per_second:.2}/s")
    }
}

fn timeline_section(out: &mut String, report: &Report, sends: &[(&str, DateTime<Utc>)]) -> fmt::Result {
    out.push_str("<section><h2>Sends over time</h2>");
    match Timeline::build_from(report, sends) {
        Some(timeline) => timeline_chart(out, &timeline)?,
        None if report.dry_run => out.push_str(r#"<p class="note">Dry run: nothing was sent.</p>"#),
        None => out.push_str(r#"<p class="note">No message was sent in this run.</p>"#),
    }
    out.push_str("</section>");
    Ok(())
}

/// A code as the report shows it.
fn code_text(code: Option<i64>) -> String {
    code.map_or_else(|| "none".to_owned(), |c| c.to_string())
}

fn timeline_chart(out: &mut String, timeline: &Timeline) -> fmt::Result {
    let mut items: Vec<_> = timeline
        .series
        .iter()
        .enumerate()
        .map(|(i, (name, _, total))| (format!("{name} — {} sent", num(*total)), PALETTE[i]))
        .collect();
    if !timeline.pauses.is_empty() {
        items.push((format!("paused by throttling ({})", num(timeline.pauses.len() as u64)), PAUSE_FILL));
    }
    legend(out, &items)?;
    let max = timeline.max();
    let y_max = axis_max(max);
    out.push_str(r#"<svg viewBox="0 0 1000 290" role="img" aria-label="Messages sent over time, per page">"#);
    for (page, from, until, code) in &timeline.pauses {
        let (x1, x2) = (timeline.x(*from), timeline.x(*until));
        write!(
            out,
            r#"<rect class="pause" x="{x1:.1}" y="{PLOT_TOP}" width="{:.1}" height="{}" fill="{PAUSE_FILL}" fill-opacity="0.55"><title>page {} paused (code {}) {} → {} UTC</title></rect>"#,
            (x2 - x1).max(1.0),
            PLOT_BOTTOM - PLOT_TOP,
            Esc(page),
            code_text(*code),
            from.format("%H:%M:%S"),
            until.format("%H:%M:%S")
        )?;
    }
    axes(out, timeline, y_max)?;
    for (i, (name, counts, _)) in timeline.series.iter().enumerate() {
        write!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round" points=""#,
            PALETTE[i]
        )?;
        for (bucket, &n) in counts.iter().enumerate() {
            let (from, to) = timeline.bucket(bucket);
            let mid = from + (to - from) / 2;
            write!(out, "{:.1},{:.1} ", timeline.x(mid), plot_y(n, y_max))?;
        }
        write!(out, r#""><title>{}</title></polyline>"#, Esc(name))?;
        // Few points: mark each, so that a one-point run still shows.
        if counts.len() <= 60 {
            for (bucket, &n) in counts.iter().enumerate() {
                let (from, to) = timeline.bucket(bucket);
                let (x, y) = (timeline.x(from + (to - from) / 2), plot_y(n, y_max));
                write!(out, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{}"/>"#, PALETTE[i])?;
            }
        }
    }
    out.push_str("</svg>");
    let per = duration(timeline.bucket_ms);
    let last = match timeline.short_last() {
        Some(ms) => format!(" (the last point, the run's final {})", duration(ms)),
        None => String::new(),
    };
    let (busiest, width) = timeline.busiest();
    write!(
        out,
        r#"<p class="note">Each point counts the messages sent by one page in {per}{last}, from the run's start to its end. Busiest point: {} sent in {} (≈ {}). Times are UTC."#,
        num(busiest),
        duration(width),
        rate_text(busiest as f64 * 1000.0 / width as f64)
    )?;
    if !timeline.pauses.is_empty() {
        out.push_str(" Shaded: a page paused by throttling.");
    }
    out.push_str("</p>");
    if !timeline.pauses.is_empty() {
        out.push_str(r#"<table class="pauses"><thead><tr><th>Page</th><th>Code</th><th>Paused from</th><th>Until</th></tr></thead><tbody>"#);
        for (page, from, until, code) in timeline.pauses.iter().take(MAX_PAUSE_ROWS) {
            write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                Esc(page),
                code_text(*code),
                from.format("%H:%M:%S"),
                until.format("%H:%M:%S")
            )?;
        }
        out.push_str("</tbody></table>");
        if timeline.pauses.len() > MAX_PAUSE_ROWS {
            write!(
                out,
                r#"<p class="note">{} more pauses are in report.json.</p>"#,
                num((timeline.pauses.len() - MAX_PAUSE_ROWS) as u64)
            )?;
        }
    }
    Ok(())
}

const PLOT_LEFT: f64 = 70.0;
const PLOT_RIGHT: f64 = 980.0;
const PLOT_TOP: f64 = 12.0;
const PLOT_BOTTOM: f64 = 250.0;
/// The shade of a throttling pause.
const PAUSE_FILL: &str = "#ffd8a8";
/// Pauses listed under the chart.
const MAX_PAUSE_ROWS: usize = 20;

fn plot_y(n: u64, y_max: u64) -> f64 {
    PLOT_BOTTOM - n as f64 / y_max as f64 * (PLOT_BOTTOM - PLOT_TOP)
}

/// Grid lines with counts on the left, times at start, middle and end below.
fn axes(out: &mut String, timeline: &Timeline, y_max: u64) -> fmt::Result {
    let ticks: &[u64] = if y_max == 1 { &[0, 1] } else { &[0, y_max / 2, y_max] };
    for &tick in ticks {
        let y = plot_y(tick, y_max);
        write!(
            out,
            r##"<line x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e7ee"/><text x="{}" y="{:.1}" text-anchor="end" class="muted">{}</text>"##,
            PLOT_LEFT - 8.0,
            y + 4.0,
            num(tick)
        )?;
    }
    let long = timeline.end - timeline.start >= chrono::Duration::days(1);
    let format = if long { "%b %d %H:%M" } else { "%H:%M:%S" };
    let middle = timeline.start + (timeline.end - timeline.start) / 2;
    for (t, anchor) in [(timeline.start, "start"), (middle, "middle"), (timeline.end, "end")] {
        write!(
            out,
            r#"<text x="{:.1}" y="272" text-anchor="{anchor}" class="muted">{}</text>"#,
            timeline.x(t),
            t.format(format)
        )?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Tables

/// A table of counts, largest first, with each count's share.
fn count_table(out: &mut String, key: &str, counts: &BTreeMap<String, u64>, empty: &str) -> fmt::Result {
    if counts.is_empty() {
        return write!(out, r#"<p class="note">{empty}</p>"#);
    }
    let total = counts.values().sum();
    let mut rows: Vec<_> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    write!(out, r#"<table><tr><th>{key}</th><th class="num">recipients</th><th class="num">share</th></tr>"#)?;
    for (name, &n) in rows {
        write!(
            out,
            r#"<tr><td class="mono">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            Esc(name),
            num(n),
            percent(n, total)
        )?;
    }
    out.push_str("</table>");
    Ok(())
}

/// Says, under the codes, why unknown outcomes are not among them.
fn unknown_note(out: &mut String, unknown: u64) -> fmt::Result {
    if unknown == 0 {
        return Ok(());
    }
    write!(
        out,
        r#"<p class="note">{} unknown outcomes (maybe delivered) are not counted by code; they are listed under Failures.</p>"#,
        num(unknown)
    )
}

/// Failed and unknown rows, the first [`MAX_FAILURE_ROWS`] of them.
fn failures(out: &mut String, report: &Report) -> fmt::Result {
    out.push_str("<section><h2>Failures</h2>");
    let is_failure = |row: &&OutcomeRow| matches!(row.outcome, Outcome::Failed | Outcome::Unknown);
    let total = report.outcomes.iter().filter(is_failure).count();
    if total == 0 {
        out.push_str(r#"<p class="note">No recipient failed or ended unknown.</p></section>"#);
        return Ok(());
    }
    out.push_str(
        r#"<div class="scroll"><table><tr><th>page</th><th>recipient</th><th>outcome</th><th class="num">code</th><th class="num">subcode</th><th>message or reason</th><th class="num">attempts</th><th>at</th></tr>"#,
    );
    for row in report.outcomes.iter().filter(is_failure).take(MAX_FAILURE_ROWS) {
        failure_row(out, row)?;
    }
    out.push_str("</table></div>");
    if total > MAX_FAILURE_ROWS {
        write!(
            out,
            r#"<p class="note">… and {} more failed or unknown recipients, not listed here: see outcomes.csv.</p>"#,
            num((total - MAX_FAILURE_ROWS) as u64)
        )?;
    }
    out.push_str("</section>");
    Ok(())
}

fn failure_row(out: &mut String, row: &OutcomeRow) -> fmt::Result {
    let code = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let message = row.error_message.as_deref().or(row.reason.as_deref()).unwrap_or("");
    write!(
        out,
        r#"<tr><td class="mono">{}</td><td class="mono">{}</td><td style="color:{}">{}</td><td class="num">{}</td><td class="num">{}</td><td class="msg">{}</td><td class="num">{}</td><td class="at">{}</td></tr>"#,
        Esc(&row.page),
        Esc(&row.recipient),
        color(row.outcome),
        row.outcome,
        code(row.error_code),
        code(row.error_subcode),
        Esc(message),
        row.attempts,
        Esc(row.at.as_deref().unwrap_or("")),
    )
}

fn footer(out: &mut String) -> fmt::Result {
    writeln!(
        out,
        "<footer>Written by pagecast {}. Every recipient's row is in outcomes.csv and \
         report.json beside this file.</footer></main></body></html>",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{row, sample};

    const XSS: &str = "<script>alert(1)</script>";

    fn failed(page: &str, recipient: &str, message: &str) -> OutcomeRow {
        OutcomeRow {
            error_code: Some(100),
            error_message: Some(message.to_owned()),
            attempts: 1,
            at: Some("2026-11-22T09:00:30Z".into()),
            ..row(page, recipient, Outcome::Failed)
        }
    }

    fn report_of(dry_run: bool, rows: Vec<OutcomeRow>) -> Report {
        Report::from_rows("c", "o", dry_run, "2026-11-22T09:00:00Z", "2026-11-22T09:10:00Z", 1, rows)
    }

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(Esc(r#"a&b<c>d"e'f"#).to_string(), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(Esc("plain ünïcode").to_string(), "plain ünïcode");
    }

    #[test]
    fn data_strings_are_escaped_everywhere() {
        let mut report = report_of(false, vec![failed(XSS, XSS, XSS)]);
        report.campaign = XSS.into();
        report.occurrence = XSS.into();
        let page = render(&report);
        assert!(!page.contains("<script"), "raw markup from data leaked");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let page = render(&sample());
        for needle in ["http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link"] {
            assert!(!page.contains(needle), "found {needle}");
        }
    }

    #[test]
    fn urls_only_appear_inside_escaped_data() {
        let message = "see https://developers.facebook.com/docs/x?a=1&b=2";
        let page = render(&report_of(false, vec![failed("1", "a", message)]));
        assert_eq!(page.matches("https://").count(), 1);
        assert!(page.contains("see https://developers.facebook.com/docs/x?a=1&amp;b=2</td>"));
    }

    #[test]
    fn shows_totals_tables_and_charts() {
        let page = render(&sample());
        assert!(page.starts_with("<!doctype html>") && page.ends_with("</html>\n"));
        assert!(page.contains("live run"));
        assert_eq!(page.matches("<svg").count(), 3, "outcomes, per page, over time");
        assert_eq!(page.matches("<polyline").count(), 2, "one line per page");
        assert!(page.contains(">outside_window</td>") && page.contains(">551</td>"));
        assert!(page.contains("This person isn&#39;t available right now."));
        assert!(page.contains(">timeout_after_write</td>"), "unknown rows show their reason");
    }

    #[test]
    fn a_dry_run_shows_planned_and_no_timeline() {
        let rows = vec![row("1", "a", Outcome::Planned), row("1", "b", Outcome::Skipped)];
        let page = render(&report_of(true, rows));
        assert!(page.contains("dry run: nothing sent") && page.contains(">Planned<"));
        assert!(!page.contains(">Failed<"), "a dry run cannot fail");
        assert!(page.contains("Dry run: nothing was sent."));
        assert_eq!(page.matches("<polyline").count(), 0);
    }

    #[test]
    fn one_send_or_unreadable_times_still_render() {
        let one = OutcomeRow { at: Some("2026-11-22T09:00:00Z".into()), ..row("1", "a", Outcome::Sent) };
        let mut report = report_of(false, vec![one]);
        report.started_at = "not a time".into();
        report.finished_at = report.started_at.clone();
        let page = render(&report);
        assert_eq!(page.matches("<polyline").count(), 1);
        assert!(!page.contains("NaN"));
        let empty = render(&report_of(false, Vec::new()));
        assert!(empty.contains("No message was sent in this run."));
    }

    #[test]
    fn many_pages_are_summed_into_other_pages() {
        let rows = (0..20)
            .map(|i| OutcomeRow {
                at: Some("2026-11-22T09:05:00Z".into()),
                ..row(&format!("page{i:02}"), "a", Outcome::Sent)
            })
            .collect();
        let page = render(&report_of(false, rows));
        assert_eq!(page.matches("<polyline").count(), MAX_SERIES);
        assert!(page.contains("13 other pages — 13 sent"));
    }

    #[test]
    fn the_failures_table_is_capped() {
        let rows = (0..MAX_FAILURE_ROWS + 5).map(|i| failed("1", &i.to_string(), "x")).collect();
        let page = render(&report_of(false, rows));
        assert_eq!(page.matches(r#"<td class="msg">"#).count(), MAX_FAILURE_ROWS);
        assert!(page.contains("and 5 more failed or unknown recipients"));
    }

    #[test]
    fn two_hundred_thousand_outcomes_render_to_a_bounded_page() {
        let rows: Vec<_> = (0..200_000)
            .map(|i| {
                let at = format!("2026-11-22T09:{:02}:{:02}Z", i / 60 % 60, i % 60);
                let outcome = if i % 10 == 0 { Outcome::Failed } else { Outcome::Sent };
                OutcomeRow { at: Some(at), ..row(&format!("{}", i % 3), &i.to_string(), outcome) }
            })
            .collect();
        let page = render(&report_of(false, rows));
        assert!(page.len() < 1_000_000, "{} bytes", page.len());
        assert!(page.contains("and 19,000 more failed or unknown recipients"));
    }

    #[test]
    fn helpers() {
        assert_eq!(num(0), "0");
        assert_eq!(num(1234567), "1,234,567");
        assert_eq!(duration(61_000), "1 min 1 s");
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(7), 8);
        assert_eq!(axis_max(11), 20);
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    /// `n` sends of page "1", one every `every_ms`, from 09:00:00.
    fn sends(n: usize, every_ms: i64) -> Vec<OutcomeRow> {
        let start = parse_time("2026-11-22T09:00:00Z").unwrap();
        (0..n)
            .map(|i| {
                let at = start + chrono::Duration::milliseconds(every_ms * i as i64);
                OutcomeRow { at: Some(at.to_rfc3339()), ..row("1", &i.to_string(), Outcome::Sent) }
            })
            .collect()
    }

    fn timed(rows: Vec<OutcomeRow>, started: &str, finished: &str) -> Report {
        Report::from_rows("c", "o", false, started, finished, 0, rows)
    }

    #[test]
    fn bucket_widths_are_plain_and_bounded() {
        assert_eq!(bucket_width(1_000), 1_000);
        assert_eq!(bucket_width(67_000), 1_000, "67 s: 67 one-second points");
        assert_eq!(bucket_width(120_000), 1_000);
        assert_eq!(bucket_width(121_000), 2_000);
        assert_eq!(bucket_width(3_600_000), 30_000);
        assert_eq!(bucket_width(86_400_000), 900_000);
        for span in [1_500, 59_999, 600_001, 7 * 86_400_000, 3_000 * 86_400_000_i64] {
            let b = bucket_width(span);
            assert!((span + b - 1) / b <= MAX_BUCKETS as i64, "{span}: {b}");
        }
    }

    #[test]
    fn each_point_covers_the_interval_its_caption_states() {
        // One send every 10 ms over 67 s: exactly 100 per one-second bucket.
        let report = timed(sends(6_700, 10), "2026-11-22T09:00:00Z", "2026-11-22T09:01:07Z");
        let t = Timeline::build(&report).unwrap();
        assert!(t.series[0].1.iter().all(|&n| n == 100), "{:?}", t.series[0].1);
        assert_eq!((t.bucket_ms, t.buckets()), (1_000, 67));
        assert_eq!(t.busiest(), (100, 1_000));
        let page = render(&report);
        assert!(page.contains("Each point counts the messages sent by one page in 1 s, from"), "{page}");
        assert!(page.contains("Busiest point: 100 sent in 1 s (≈ 100/s)"));
    }

    #[test]
    fn the_axis_spans_the_run_and_no_further() {
        // Interrupted after 15 s: the axis ends at 09:00:15, not a minute later.
        let report = timed(sends(10, 1_000), "2026-11-22T09:00:00Z", "2026-11-22T09:00:15Z");
        let t = Timeline::build(&report).unwrap();
        assert_eq!(t.end, parse_time("2026-11-22T09:00:15Z").unwrap());
        assert_eq!(t.buckets(), 15);
        let page = render(&report);
        assert!(page.contains(">09:00:15</text>") && !page.contains(">09:01:00</text>"));
        // A last bucket shorter than the others is named in the caption.
        let report = timed(sends(10, 1_000), "2026-11-22T09:00:00Z", "2026-11-22T09:04:01Z");
        let t = Timeline::build(&report).unwrap();
        assert_eq!((t.bucket_ms, t.buckets(), t.short_last()), (5_000, 49, Some(1_000)));
        assert!(render(&report).contains("(the last point, the run's final 1 s)"));
    }

    #[test]
    fn pauses_are_shaded_and_listed() {
        let mut report = timed(sends(10, 1_000), "2026-11-22T09:00:00Z", "2026-11-22T09:10:00Z");
        report.pauses = vec![crate::report::PauseRow {
            page: "1".into(),
            from: "2026-11-22T09:00:10Z".into(),
            until: "2026-11-22T09:15:10Z".into(),
            code: Some(613),
        }];
        let page = render(&report);
        assert_eq!(page.matches(r#"<rect class="pause""#).count(), 1);
        assert!(page.contains("page 1 paused (code 613) 09:00:10 → 09:10:00 UTC"), "clipped to the run's end");
        assert!(page.contains("paused by throttling (1)"));
        assert!(page.contains("<td>613</td><td>09:00:10</td>"));
    }

    #[test]
    fn interrupted_is_not_unexpected() {
        let mut report = timed(sends(1, 1_000), "2026-11-22T09:00:00Z", "2026-11-22T09:00:05Z");
        report.exit_code = 130;
        let page = render(&report);
        assert!(page.contains("130 · interrupted") && !page.contains("unexpected"));
        assert_eq!(rate_text(297.8049), "298/s");
        assert_eq!(rate_text(2.5), "2.5/s");
        assert_eq!(rate_text(3.0), "3/s");
    }
}
