//! `pagecast validate PATH...`: every problem of every file, exit 0 or 2.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Exit, Failure, Outcome, output, print_diagnostics};
use crate::campaign::validate::duplicate_id_errors;
use crate::campaign::{Diagnostic, validate_file};
use crate::cli::Format;

/// Campaign files under `paths` (directories walked recursively, sorted).
pub fn campaign_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).map_err(|e| format!("{}: cannot read the directory: {e}", p.display()))?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Runs the command.
pub fn run(paths: &[PathBuf], now: DateTime<Utc>, format: Format) -> Outcome {
    let files = campaign_files(paths).map_err(Failure::invalid)?;
    let mut results = Vec::with_capacity(files.len());
    for file in &files {
        let diags = match validate_file(file, now) {
            Ok(c) => (true, c.warnings),
            Err(d) => (false, d),
        };
        results.push((file, diags));
    }
    mark_duplicate_ids(&files, &mut results);
    let invalid = results.iter().filter(|(_, (ok, _))| !ok).count();
    match format {
        Format::Json => {
            let out: Vec<_> =
                results.iter().map(|(f, (ok, d))| json!({"file": f, "valid": ok, "diagnostics": d})).collect();
            output::println(&serde_json::to_string_pretty(&out).expect("serializes"));
        }
        _ => {
            let all: Vec<Diagnostic> = results.iter().flat_map(|(_, (_, d))| d.clone()).collect();
            print_diagnostics(&all);
            eprintln!(
                "checked {} file{}: {} valid, {invalid} invalid",
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                files.len() - invalid
            );
        }
    }
    if files.is_empty() {
        return Err(Failure::invalid("no campaign files (*.yaml, *.yml) found"));
    }
    if invalid > 0 { Err(Failure::printed()) } else { Ok(Exit::Done) }
}

/// Two files with one campaign id are both invalid (SPEC §2).
fn mark_duplicate_ids(files: &[PathBuf], results: &mut [(&PathBuf, (bool, Vec<Diagnostic>))]) {
    for d in duplicate_id_errors(files) {
        if let Some((_, (ok, diags))) = results.iter_mut().find(|(f, _)| **f == d.file) {
            *ok = false;
            diags.push(d);
            diags.sort_by_key(|d| (d.line, d.col));
        }
    }
}
