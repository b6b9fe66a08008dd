//! Property tests over hostile input (issue 9): the campaign loader and
//! validator, the CSV and JSONL audience readers and the opt-out reader must
//! return an answer for any bytes — never panic, never overflow the stack.
//!
//! A hand-rolled generator (seeded, so every run tries the same cases and a
//! failure reproduces): YAML built from the tokens that stress a parser
//! (`- `, `[`, `{`, `? `, anchors, aliases, tags, quotes, block scalars, tabs,
//! bytes that are not UTF-8), mutations of the real examples, and CSV/JSONL
//! built from quotes, separators and line breaks. The budget is small so CI
//! stays fast; `PAGECAST_FUZZ_CASES=100000 cargo test --release --test
//! fuzz_inputs` runs longer. The libFuzzer targets in `fuzz/` cover the same
//! entry points (see README, "Fuzzing"); what they found is in
//! `fuzz/corpus/`, which this test replays too.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pagecast::audience::csv::{CsvRows, read_opt_outs};
use pagecast::audience::jsonl::JsonlRows;
use pagecast::campaign::load::load_bytes;
use pagecast::campaign::validate;

fn cases(default: usize) -> usize {
    std::env::var("PAGECAST_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().with_timezone(&Utc)
}

#[rustfmt::skip]
const YAML_TOKENS: &[&str] = &[
    "- ", "-", "[", "]", "{", "}", ", ", ",", ": ", ":", "? ", "\n", "\n  ", "\n    ", "  ", "\t", "&a ", "&b ", "*a",
    "*b", "!t ", "!!str ", "\"", "'", "|\n  ", ">-\n  ", "# c\n", "---\n", "...\n", "%YAML 1.2\n", "x", "id", "version",
    "1", "0x1F", "~", "null", "true", "2026-11-20T08:00:00Z", "é", "😀", "\u{feff}", "\\", "{{ name }}", "{%", "<<: *a",
    "{{ ", " }}", "{% if x %}", "{% endif %}", "|upper", "(", ")", "-", "not ", "+x", "{#", "#}",
    "version: 1\n", "id: c\n", "pages:\n", "audiences:\n", "message:\n  text: ", "messaging_type: UPDATE\n",
];

/// Random YAML-ish text: runs of one token (deep nesting) and mixtures.
fn random_yaml(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.usize(1..40) {
        let token = YAML_TOKENS[rng.usize(..YAML_TOKENS.len())];
        let repeat = if rng.u8(..10) == 0 { rng.usize(1..3000) } else { 1 };
        for _ in 0..repeat {
            out.extend_from_slice(token.as_bytes());
        }
        if rng.u8(..30) == 0 {
            out.push(rng.u8(0x80..=0xff));
        }
    }
    out
}

/// A real example with a few bytes changed, inserted, cut or repeated.
fn mutate(rng: &mut fastrand::Rng, base: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..rng.usize(1..6) {
        let at = rng.usize(..=out.len());
        match rng.u8(..5) {
            0 if at < out.len() => out[at] = rng.u8(..),
            1 => {
                let token = YAML_TOKENS[rng.usize(..YAML_TOKENS.len())];
                out.splice(at..at, token.bytes().cycle().take(token.len() * rng.usize(1..200)));
            }
            2 => out.truncate(at),
            3 if at < out.len() => {
                let end = (at + rng.usize(1..64)).min(out.len());
                out.drain(at..end);
            }
            _ => {
                let end = (at + rng.usize(1..200)).min(out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
        }
    }
    out
}

fn examples() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

/// The loader and the validator answer; nothing panics.
fn check_campaign(path: &Path, bytes: &[u8]) {
    if let Ok(loaded) = load_bytes(path, bytes) {
        let _ = validate(&loaded, now());
    }
}

/// Corpus files kept from the libFuzzer runs (and the hostile inputs of
/// issue 9), replayed here.
fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn the_campaign_loader_answers_any_bytes() {
    let mut rng = fastrand::Rng::with_seed(9);
    let examples = examples();
    assert!(!examples.is_empty());
    for (path, bytes) in &examples {
        let loaded = load_bytes(path, bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(validate(&loaded, now()).is_ok(), "{} is valid", path.display());
    }
    for _ in 0..cases(1000) {
        let bytes = if rng.bool() {
            random_yaml(&mut rng)
        } else {
            let (_, base) = &examples[rng.usize(..examples.len())];
            mutate(&mut rng, base)
        };
        let path = &examples[0].0;
        check_campaign(path, &bytes);
    }
    for bytes in corpus("campaign") {
        check_campaign(Path::new("corpus.yaml"), &bytes);
    }
}

#[test]
fn deep_and_wide_yaml_never_overflows_the_stack() {
    // Each of these runs on a thread with the 2 MiB stack that `tick`'s
    // campaign threads have.
    let inputs: Vec<Vec<u8>> = vec![
        "- ".repeat(500_000).into_bytes(),
        "[".repeat(1_000_000).into_bytes(),
        "{".repeat(1_000_000).into_bytes(),
        "{a: ".repeat(200_000).into_bytes(),
        "? ".repeat(500_000).into_bytes(),
        (0..1400).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>().into_bytes(),
        (0..60)
            .map(|i| {
                format!("k{i}: &a{i} [{}]\n", if i == 0 { "x".into() } else { format!("*a{}, *a{}", i - 1, i - 1) })
            })
            .collect::<String>()
            .into_bytes(),
    ];
    for bytes in inputs {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let r = load_bytes(Path::new("deep.yaml"), &bytes);
                assert!(r.is_err(), "refused: {}", String::from_utf8_lossy(&bytes[..40.min(bytes.len())]));
            })
            .unwrap()
            .join()
            .unwrap();
    }
}

#[rustfmt::skip]
const CSV_TOKENS: &[&str] = &[
    "\"", "\"\"", ",", "\n", "\r\n", "\r", " ", "id", "last_interaction", "first_name", "1", "123456", "2026-11-21T08:00:00Z",
    "2026-11-21 08:00", "1795161600", "abc", "é", "\u{feff}", "{{", "\t", ";",
];

fn random_csv(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.bool() {
        out.extend_from_slice(b"id,last_interaction,first_name\n");
    }
    for _ in 0..rng.usize(0..80) {
        let token = CSV_TOKENS[rng.usize(..CSV_TOKENS.len())];
        out.extend_from_slice(token.as_bytes());
        if rng.u8(..25) == 0 {
            out.push(rng.u8(0x80..=0xff));
        }
    }
    out
}

#[rustfmt::skip]
const JSONL_TOKENS: &[&str] = &[
    "{", "}", "[", "]", "\"id\"", "\"last_interaction\"", "\"vars\"", ":", ",", "\"1\"", "1", "1795161600", "\"2026-11-21T08:00:00Z\"",
    "\"2026-11-21 08:00\"", "null", "true", "\n", "\"", "\\", "é", "{\"id\": \"1\"}\n", "{\"a\":",
];

fn random_jsonl(rng: &mut fastrand::Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.usize(0..60) {
        let token = JSONL_TOKENS[rng.usize(..JSONL_TOKENS.len())];
        let repeat = if rng.u8(..20) == 0 { rng.usize(1..5000) } else { 1 };
        for _ in 0..repeat {
            out.extend_from_slice(token.as_bytes());
        }
        if rng.u8(..25) == 0 {
            out.push(rng.u8(0x80..=0xff));
        }
    }
    out
}

/// The readers answer, a fatal problem is the last item, and the opt-out
/// reader either reads every row or refuses the list.
fn check_audience(file: &mut tempfile::NamedTempFile, bytes: &[u8], jsonl: bool) {
    file.as_file().set_len(0).unwrap();
    use std::io::Seek;
    file.as_file_mut().rewind().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    let zone = Some(chrono_tz::Asia::Ho_Chi_Minh);
    let rows: Vec<_> = if jsonl {
        match JsonlRows::open(file.path(), now(), zone) {
            Ok(rows) => rows.collect(),
            Err(e) => vec![Err(e)],
        }
    } else {
        match CsvRows::open(file.path(), now(), zone) {
            Ok(rows) => rows.collect(),
            Err(e) => vec![Err(e)],
        }
    };
    let fatal = rows.iter().position(|r| r.as_ref().is_err_and(|e| e.fatal));
    if let Some(i) = fatal {
        assert_eq!(i, rows.len() - 1, "a fatal problem ends the stream");
    }
    for e in rows.iter().filter_map(|r| r.as_ref().err()) {
        assert!(e.to_string().len() < 2000, "a short message: {e}");
    }
    if !jsonl {
        let _ = read_opt_outs(file.path());
    }
}

#[test]
fn the_audience_readers_answer_any_bytes() {
    let mut rng = fastrand::Rng::with_seed(8);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for _ in 0..cases(600) {
        let jsonl = rng.bool();
        let bytes = if jsonl { random_jsonl(&mut rng) } else { random_csv(&mut rng) };
        check_audience(&mut file, &bytes, jsonl);
    }
    for bytes in corpus("csv") {
        check_audience(&mut file, &bytes, false);
    }
    for bytes in corpus("jsonl") {
        check_audience(&mut file, &bytes, true);
    }
}
