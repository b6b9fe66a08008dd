//! `pagecast validate` against the invalid-input corpus in `tests/invalid/`:
//! one campaign file per problem, each named for it. Every file must be
//! refused with exit 2, and the first line it prints must be exactly the one
//! in [`EXPECTED`], the table where a reviewer reads every message at once.
//!
//! Cases that would need a binary or a huge file in git (bytes that are not
//! UTF-8, a 10 MB file) are written into a temporary directory at run time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2026-11-22T00:00:00Z";
const CORPUS: &str = "tests/invalid";

/// Corpus file → the first line `validate` prints for it, after
/// `tests/invalid/FILE:`. `None` would mark a known bug, asserting exit 2 only
/// until fixed (there are none now).
#[rustfmt::skip]
const EXPECTED: &[(&str, Option<&str>)] = &[
    ("attachment-missing-type.yaml", Some("13:5: error: message.attachment: missing required field `type`")),
    ("attachment-url-and-id.yaml", Some("15:5: error: message.attachment.attachment_id: give `url` or `attachment_id`, not both")),
    ("audience-csv-without-id.yaml", Some("10:11: error: audiences[0].file: tests/invalid/audiences/no-id-column.csv has no `id` column (its header is: psid,last_interaction,first_name)")),
    ("audience-file-missing.yaml", Some("10:11: error: audiences[0].file: cannot open tests/invalid/audiences/no-such-file.csv: No such file or directory (os error 2)")),
    ("audience-no-source.yaml", Some("9:5: error: audiences[0]: an audience has exactly one of `file`, `recipients`, `conversations`")),
    ("audience-two-sources.yaml", Some("9:5: error: audiences[0]: an audience has exactly one of `file`, `recipients`, `conversations`")),
    ("audience-unknown-page.yaml", Some("9:11: error: audiences[0].page: page \"500725830264740\" is not one of this campaign's pages")),
    ("audience-wrong-extension.yaml", Some("10:11: error: audiences[0].file: \"audiences/people.txt\" is neither .csv nor .jsonl")),
    ("bad-campaign-id.yaml", Some("3:5: error: id: \"Order Shipped\" is not a valid campaign id")),
    ("bad-cron.yaml", Some("15:9: error: schedule.cron: the day-of-week field \"MONDAY-FRIDAY\": \"MONDAY\" is not a day-of-week")),
    ("bad-duration.yaml", Some("16:13: error: schedule.catch_up: \"30 minutes\" is not a duration")),
    ("bad-language-code.yaml", Some("14:15: error: message.template.language: \"Vietnamese\" is not a language code")),
    ("bad-timezone.yaml", Some("16:13: error: schedule.timezone: unknown time zone \"Asia/Hanoi\"")),
    ("canary-rate-over-1.yaml", Some("15:47: error: send.canary.max_failure_rate: 5 is above the maximum 1.0")),
    ("canary-without-failure-rate.yaml", Some("16:5: error: send.canary: missing required field `max_failure_rate`")),
    ("comments-only.yaml", Some("1:1: error: the file is empty")),
    ("concurrency-over-256.yaml", Some("15:16: error: send.concurrency: 1000 is above the maximum 256")),
    ("conversations-on-harasocial.yaml", Some("10:5: error: audiences[0].conversations: conversations are read from the Graph API: only for graph pages")),
    ("cron-minute-61.yaml", Some("15:9: error: schedule.cron: the minute field \"61\": 61 is out of range")),
    ("customer-feedback-without-template.yaml", Some("14:6: error: tag: CUSTOMER_FEEDBACK may only carry Meta's customer feedback template")),
    ("daily-limit-zero.yaml", Some("8:18: error: pages[0].daily_limit: 0 is below the minimum 1")),
    ("duplicate-key.yaml", Some("14:1: error: `message` appears twice in the same mapping (first at line 11)")),
    ("duplicate-page.yaml", Some("8:9: error: pages[1].id: page 500725830264749 is listed twice")),
    ("empty-audiences.yaml", Some("8:12: error: audiences: needs at least 1 entry")),
    ("empty-text.yaml", Some("12:9: error: message.text: the text is empty")),
    ("empty.yaml", Some("1:1: error: the file is empty")),
    ("enum-case.yaml", Some("6:15: error: pages[0].provider: \"Graph\" is not a valid value")),
    ("fourteen-quick-replies.yaml", Some("14:5: error: message.quick_replies: 14 quick replies; Meta takes at most 13")),
    ("generic-eleven-elements.yaml", Some("17:9: error: message.attachment.payload.elements: a generic template has 1 to 10 elements; this one has 11")),
    ("graph-metadata-1000.yaml", Some("13:13: error: message.metadata: metadata is 1000 characters; Meta takes fewer than 1000")),
    ("harasocial-metadata-over-500.yaml", Some("13:13: error: message.metadata: metadata is 501 characters; Harasocial takes at most 500")),
    ("http-image-url.yaml", Some("14:10: error: message.attachment.url: the media URL must start with https://")),
    ("human-agent.yaml", Some("14:6: error: tag: HUMAN_AGENT is for replies typed by a person; Meta forbids it for automated messages")),
    ("inline-recipient-bad-time.yaml", Some("12:27: error: audiences[0].recipients[0].last_interaction: \"yesterday\" is not a time")),
    ("inline-recipient-future-time.yaml", Some("15:27: error: audiences[0].recipients[1].last_interaction: 2026-11-23T08:00:00Z is in the future")),
    ("inline-recipient-unquoted-id.yaml", Some("11:13: error: audiences[0].recipients[0].id: expected text (a string), found the number 2560816460648749")),
    ("margin-a-day.yaml", Some("15:11: error: policy.margin: the margin is a day or more, so no window would ever be open")),
    ("message-empty-mapping.yaml", Some("11:10: error: message: the message has no content")),
    ("message-tag-without-tag.yaml", Some("22:17: error: messaging_type: MESSAGE_TAG needs a `tag`")),
    ("messaging-type-lowercase.yaml", Some("13:17: error: messaging_type: \"update\" is not a valid value")),
    ("messaging-type-on-harasocial.yaml", Some("13:1: error: messaging_type: harasocial pages take no messaging_type")),
    ("missing-messaging-type.yaml", Some("2:1: error: missing required field `messaging_type` (the campaign has graph pages)")),
    ("missing-page-provider.yaml", Some("5:5: error: pages[0]: missing required field `provider`")),
    ("multi-document.yaml", Some("14:1: error: the file holds more than one YAML document")),
    ("no-audiences.yaml", Some("2:1: error: missing required field `audiences`")),
    ("no-message-form.yaml", Some("12:3: error: message: the message has no content")),
    ("not-a-mapping.yaml", Some("2:1: error: a campaign file must be a mapping of fields")),
    ("notification-type-on-harasocial.yaml", Some("13:1: error: notification_type: harasocial pages take no notification_type")),
    ("payload-id-on-graph-page.yaml", Some("12:3: error: message.payload_id: this `payload_id` message does not fit page 500725830264749 (pages[0]): graph pages send `text`, `attachment` or `template`, not `payload_id`")),
    ("payload-id-with-space.yaml", Some("12:15: error: message.payload_id: \"__hrf_f_6307 2efd\" is not a payload id")),
    ("quick-replies-with-template.yaml", Some("19:3: error: message.quick_replies: quick replies go only with `text` or `attachment`")),
    ("quick-reply-title-30.yaml", Some("14:16: error: message.quick_replies[0].title: the title is 30 characters; Meta takes at most 20")),
    ("quick-reply-title-multibyte.yaml", Some("14:16: error: message.quick_replies[0].title: the title is 23 characters; Meta takes at most 20")),
    ("quick-reply-title-too-long.yaml", Some("15:16: error: message.quick_replies[1].title: the title is 21 characters; Meta takes at most 20")),
    ("quick-reply-without-payload.yaml", Some("14:7: error: message.quick_replies[0]: a text quick reply needs `title` and `payload`")),
    ("rate-zero.yaml", Some("15:9: error: send.rate: 0 is below the minimum 1")),
    ("retired-account-update.yaml", Some("14:6: error: tag: Meta retired the ACCOUNT_UPDATE tag on 2026-04-27; requests with it now fail with error 100")),
    ("retired-post-purchase-update.yaml", Some("14:6: error: tag: Meta retired the POST_PURCHASE_UPDATE tag on 2026-04-27; requests with it now fail with error 100")),
    ("six-field-cron.yaml", Some("15:9: error: schedule.cron: the cron line \"0 0 9 * * MON-FRI\" has 6 fields; pagecast takes the standard 5 fields: minute hour day-of-month month day-of-week; drop the seconds field")),
    ("suppress-file-missing.yaml", Some("15:38: error: suppress[0].file: cannot read tests/invalid/audiences/opted-out.csv: No such file or directory (os error 2)")),
    ("tab-indent.yaml", Some("9:1: error: a tab is used for indentation")),
    ("tag-lowercase.yaml", Some("23:6: error: tag: \"customer_feedback\" is not a valid value")),
    ("tag-without-message-tag.yaml", Some("23:6: error: tag: `tag` only goes with `messaging_type: MESSAGE_TAG`, not UPDATE")),
    ("template-parameter-without-text.yaml", Some("18:13: error: message.template.components[0].parameters[0]: a text parameter needs `text`")),
    ("template-syntax-error-in-parameter.yaml", Some("18:33: error: message.template.components[0].parameters[0].text: the template does not parse: syntax error: unexpected end of input, expected end of variable block (template line 1)")),
    ("template-syntax-error.yaml", Some("12:9: error: message.text: the template does not parse: syntax error: unexpected `}`, expected end of variable block (template line 1)")),
    ("template-without-utility.yaml", Some("19:17: error: messaging_type: a utility `template` is sent with `messaging_type: UTILITY`, not UPDATE")),
    ("text-on-harasocial-page.yaml", Some("12:3: error: message.text: this `text` message does not fit page 500725830264749 (pages[0]): harasocial pages send only `payload_id` (a Harasocial flow)")),
    ("text-too-long.yaml", Some("12:9: error: message.text: the text is 2000 characters; Meta takes fewer than 2000")),
    ("three-problems.yaml", Some("5:9: error: pages[0].id: expected text (a string), found the number 500725830264749")),
    ("three-rule-problems.yaml", Some("9:11: error: audiences[0].page: page \"500725830264740\" is not one of this campaign's pages")),
    ("token-env-bad-name.yaml", Some("7:16: error: pages[0].token_env: \"shop-token\" is not an environment variable name")),
    ("token-in-token-env.yaml", Some("7:16: error: pages[0].token_env: this looks like an access token, not the name of an environment variable")),
    ("two-message-forms.yaml", Some("13:3: error: message.attachment: a message has exactly one of payload_id, text, attachment, template; this one has text and attachment")),
    ("unknown-field-in-attachment.yaml", Some("14:5: error: message.attachment.link: unknown field `link`")),
    ("unknown-field-in-send.yaml", Some("15:3: error: send.concurency: unknown field `concurency`")),
    ("unknown-field.yaml", Some("13:3: error: message.quick_reply: unknown field `quick_reply`")),
    ("unknown-template-type.yaml", Some("15:22: error: message.attachment.payload.template_type: template_type \"receipt\" is not one pagecast sends")),
    ("unknown-top-level-field.yaml", Some("14:1: error: schedul: unknown field `schedul`")),
    ("unquoted-audience-page.yaml", Some("9:11: error: audiences[0].page: expected text (a string), found the number 500725830264749")),
    ("unquoted-page-id.yaml", Some("5:9: error: pages[0].id: expected text (a string), found the number 500725830264749")),
    ("utility-without-template.yaml", Some("13:17: error: messaging_type: UTILITY sends only an approved utility `template`")),
    ("video-rate-over-10.yaml", Some("17:9: error: send.rate: video attachments may be sent at most 10 per second per page (Meta's limit); the rate is 20")),
    ("wrong-type-concurrency.yaml", Some("15:16: error: send.concurrency: expected a whole number, found \"sixteen\"")),
    ("wrong-version.yaml", Some("2:10: error: version: 2 is above the maximum 1")),
    ("yaml-syntax-error.yaml", Some("12:9: error: YAML syntax: invalid indentation in quoted scalar")),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real binary from the crate root.
fn pagecast<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pagecast")).args(args).current_dir(root()).output().expect("run pagecast")
}

/// `pagecast validate PATHS... --now NOW [extra...]`.
fn validate<S: AsRef<std::ffi::OsStr>>(paths: &[S], extra: &[&str]) -> Output {
    let mut args: Vec<std::ffi::OsString> = vec!["validate".into()];
    args.extend(paths.iter().map(|p| p.as_ref().to_os_string()));
    args.extend(["--now", NOW].iter().chain(extra).map(Into::into));
    pagecast(&args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn first_line(out: &Output) -> String {
    stderr(out).lines().next().unwrap_or_default().to_string()
}

fn error_lines(out: &Output) -> Vec<String> {
    stderr(out).lines().filter(|l| l.contains(": error: ")).map(str::to_string).collect()
}

/// Names of the campaign files in the corpus directory.
fn corpus_files() -> BTreeSet<String> {
    std::fs::read_dir(root().join(CORPUS))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect()
}

#[test]
fn the_table_names_every_corpus_file_once() {
    let table: Vec<&str> = EXPECTED.iter().map(|(f, _)| *f).collect();
    let listed: BTreeSet<String> = table.iter().map(|f| f.to_string()).collect();
    assert_eq!(listed.len(), table.len(), "a file is listed twice in EXPECTED");
    assert_eq!(listed, corpus_files(), "EXPECTED and the files in {CORPUS}/ differ");
    assert!(listed.len() >= 30);
}

/// What is wrong with one corpus file's output, if anything.
fn check_corpus_file(file: &str, expected: Option<&str>) -> Option<String> {
    let out = validate(&[format!("{CORPUS}/{file}")], &[]);
    if out.status.code() != Some(2) {
        return Some(format!("{file}: exit {:?}, expected 2\n{}", out.status.code(), stderr(&out)));
    }
    let expected = format!("{CORPUS}/{file}:{}", expected?);
    let got = first_line(&out);
    (got != expected).then(|| format!("{file}:\n  expected: {expected}\n  printed:  {got}"))
}

#[test]
fn every_corpus_file_is_refused_with_its_expected_first_line() {
    // One process per file, a few at a time.
    let wrong: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = EXPECTED
            .chunks(EXPECTED.len().div_ceil(4))
            .map(|chunk| {
                s.spawn(move || chunk.iter().filter_map(|(f, e)| check_corpus_file(f, *e)).collect::<Vec<_>>())
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(wrong.is_empty(), "{} of {} corpus files:\n{}", wrong.len(), EXPECTED.len(), wrong.join("\n"));
}

#[test]
fn every_error_is_followed_by_a_help_line_and_nothing_goes_to_stdout() {
    let out = validate(&[CORPUS], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "text output belongs on stderr");
    let text = stderr(&out);
    let lines: Vec<&str> = text.lines().collect();
    let mut errors = 0;
    for (i, line) in lines.iter().enumerate().filter(|(_, l)| l.contains(": error: ")) {
        errors += 1;
        let help = lines.get(i + 1).copied().unwrap_or_default();
        assert!(help.starts_with("  help: ") && help.len() > 8, "no help after `{line}`");
    }
    assert!(errors >= EXPECTED.len(), "{errors} errors for {} files:\n{text}", EXPECTED.len());
}

#[test]
fn all_schema_problems_of_a_file_are_reported() {
    let out = validate(&[format!("{CORPUS}/three-problems.yaml")], &[]);
    assert_eq!(out.status.code(), Some(2));
    let prefix = format!("{CORPUS}/three-problems.yaml:");
    assert_eq!(
        error_lines(&out),
        [
            "5:9: error: pages[0].id: expected text (a string), found the number 500725830264749",
            "6:15: error: pages[0].provider: \"Graph\" is not a valid value",
            "14:1: error: notify: unknown field `notify`",
        ]
        .map(|l| format!("{prefix}{l}"))
    );
}

#[test]
fn all_rule_problems_of_a_file_are_reported() {
    let out = validate(&[format!("{CORPUS}/three-rule-problems.yaml")], &[]);
    assert_eq!(out.status.code(), Some(2));
    let prefix = format!("{CORPUS}/three-rule-problems.yaml:");
    // A set: the order is a known bug (see EXPECTED).
    let got: BTreeSet<String> = error_lines(&out).into_iter().collect();
    let expected: BTreeSet<String> = [
        "9:11: error: audiences[0].page: page \"500725830264740\" is not one of this campaign's pages",
        "23:6: error: tag: `tag` only goes with `messaging_type: MESSAGE_TAG`, not UPDATE",
        "26:13: error: schedule.timezone: unknown time zone \"Asia/Hanoi\"",
    ]
    .map(|l| format!("{prefix}{l}"))
    .into();
    assert_eq!(got, expected);
}

#[test]
fn json_output_parses_and_carries_every_field() {
    let bad = format!("{CORPUS}/three-problems.yaml");
    let good = "examples/order-shipped.yaml";
    let out = validate(&[bad.as_str(), good], &["--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let files: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", String::from_utf8_lossy(&out.stdout)));
    let files = files.as_array().expect("a list, one entry per file");
    assert_eq!(files.len(), 2);

    assert_eq!(files[0]["file"], bad.as_str());
    assert_eq!(files[0]["valid"], false);
    let diags = files[0]["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 3);
    for d in diags {
        for key in ["file", "line", "col", "severity", "field", "message", "hint"] {
            assert!(d.get(key).is_some(), "a diagnostic has no `{key}`: {d}");
        }
        assert_eq!(d["file"], bad.as_str());
        assert_eq!(d["severity"], "error");
    }
    assert_eq!(
        diags[1],
        serde_json::json!({
            "file": bad, "line": 6, "col": 15, "severity": "error", "field": "pages[0].provider",
            "message": "\"Graph\" is not a valid value",
            "hint": "write it as `graph` (values are case-sensitive)"
        })
    );

    assert_eq!(files[1]["file"], good);
    assert_eq!(files[1]["valid"], true);
    assert_eq!(files[1]["diagnostics"], serde_json::json!([]));
}

#[test]
fn directories_are_walked() {
    let out = validate(&[CORPUS], &["--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let files: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let seen: BTreeSet<String> = files
        .iter()
        .map(|f| {
            assert_eq!(f["valid"], false, "{f}");
            let path = f["file"].as_str().unwrap();
            path.strip_prefix(&format!("{CORPUS}/")).unwrap_or(path).to_string()
        })
        .collect();
    assert_eq!(seen, corpus_files(), "audience files are not campaigns; every campaign is checked");
}

const VALID: &str = "\
version: 1
id: inline-ok
pages:
  - id: \"500725830264749\"
    provider: graph
    token_env: SHOP_TOKEN
audiences:
  - page: \"500725830264749\"
    recipients:
      - id: \"2560816460648749\"
        last_interaction: 2026-11-21T08:00:00Z
        vars: { first_name: Lan }
message:
  text: \"Hi {{ first_name }}\"
messaging_type: UPDATE
";

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

#[test]
fn a_valid_file_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write(&tmp.path().join("ok.yaml"), VALID.as_bytes());
    let out = validate(&[&file], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("error:"), "{}", stderr(&out));
}

#[test]
fn directories_are_walked_recursively_for_yaml_and_yml_only() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("ok.yaml"), VALID.as_bytes());
    write(&tmp.path().join("notes.txt"), b"not: [a campaign");
    write(&tmp.path().join("people.csv"), b"id\n1\n");
    let nested = write(&tmp.path().join("a/b/bad.yml"), VALID.replace("provider: graph", "provider: Graph").as_bytes());

    let out = validate(&[tmp.path()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(errors[0].starts_with(&format!("{}:5:15: error: pages[0].provider:", nested.display())), "{errors:?}");

    std::fs::remove_file(&nested).unwrap();
    let out = validate(&[tmp.path()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let out = validate(&[format!("{CORPUS}/no-such-campaign.yaml")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no-such-campaign.yaml"), "{}", stderr(&out));
}

#[test]
fn bytes_that_are_not_utf8_are_pointed_at() {
    let tmp = tempfile::tempdir().unwrap();
    // "é" in Latin-1: the 17th character of line 2.
    let file = write(&tmp.path().join("latin1.yaml"), b"version: 1\ndescription: caf\xe9 sale\n");
    let out = validate(&[&file], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(first_line(&out), format!("{}:2:17: error: the file is not valid UTF-8", file.display()));
}

#[test]
fn a_10_mb_file_is_refused_before_it_is_parsed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = VALID.to_string();
    while text.len() < 10_000_000 {
        text.push_str("# padding padding padding padding padding padding padding padding padding padding\n");
    }
    let file = write(&tmp.path().join("huge.yaml"), text.as_bytes());
    let out = validate(&[&file], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        first_line(&out),
        format!(
            "{}:1:1: error: the file is {} bytes; campaign files are limited to 1048576 bytes (1 MiB)",
            file.display(),
            text.len()
        )
    );
}

/// The limit is 1 MiB: a file of exactly that size is read, one byte more is not.
#[test]
fn the_size_limit_is_exactly_one_mebibyte() {
    const LIMIT: usize = 1024 * 1024;
    let tmp = tempfile::tempdir().unwrap();
    let padded = |len: usize| {
        let mut text = VALID.to_string();
        text.push('#');
        text.push_str(&" ".repeat(len - text.len() - 1));
        text.push('\n');
        assert_eq!(text.len(), len);
        text
    };
    let at = write(&tmp.path().join("at-limit.yaml"), padded(LIMIT).as_bytes());
    let out = validate(&[&at], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let over = write(&tmp.path().join("over-limit.yaml"), padded(LIMIT + 1).as_bytes());
    let out = validate(&[&over], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        first_line(&out),
        format!(
            "{}:1:1: error: the file is 1048577 bytes; campaign files are limited to 1048576 bytes (1 MiB)",
            over.display()
        )
    );
}

/// `--now` moves every dated rule: the retired tags were fine before
/// 2026-04-27, and a "future" interaction is fine once that time has come.
#[test]
fn now_freezes_the_clock_of_dated_rules() {
    let retired = format!("{CORPUS}/retired-post-purchase-update.yaml");
    let out = pagecast(&["validate", retired.as_str(), "--now", "2026-04-26T23:59:59Z"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = pagecast(&["validate", retired.as_str(), "--now", "2026-04-27T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let future = format!("{CORPUS}/inline-recipient-future-time.yaml");
    let out = pagecast(&["validate", future.as_str(), "--now", "2026-11-23T07:55:00Z"]);
    assert_eq!(out.status.code(), Some(0), "within 5 minutes of now is clock skew: {}", stderr(&out));
    let out = pagecast(&["validate", future.as_str(), "--now", "2026-11-23T07:54:59Z"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
