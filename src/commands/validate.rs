//! `pagecast validate PATH...`: every problem of every file, exit 0 or 2.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Exit, Failure, Outcome, output, print_diagnostics};
use crate::campaign::Diagnostic;
use crate::campaign::load::{Loaded, load_file};
use crate::campaign::model::UtilityTemplate;
use crate::campaign::validate::duplicate_id_errors;
use crate::cli::Format;
use crate::template_file::{self, TemplateFile};

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
    let mut templates = TemplateCheck::default();
    for file in &files {
        let diags = templates.validate_one(file, now, results.len());
        results.push((file, diags));
    }
    templates.cross_check(&mut results);
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
        }
    }
}

/// Template files (SPEC §7) among the paths, and the UTILITY campaigns to
/// hold against them once every file is read.
#[derive(Default)]
struct TemplateCheck {
    templates: Vec<TemplateFile>,
    /// (index in the results, the campaign as loaded, its template message).
    utility: Vec<(usize, Loaded, UtilityTemplate)>,
}

impl TemplateCheck {
    /// Validates one file of either kind: (valid, diagnostics).
    fn validate_one(&mut self, file: &Path, now: DateTime<Utc>, index: usize) -> (bool, Vec<Diagnostic>) {
        let loaded = match load_file(file) {
            Ok(l) => l,
            Err(d) => return (false, vec![d]),
        };
        if template_file::is_template_file(&loaded.value) {
            return match template_file::validate(&loaded) {
                Ok(t) => {
                    self.templates.push(t);
                    (true, Vec::new())
                }
                Err(d) => (false, d),
            };
        }
        match crate::campaign::validate(&loaded, now) {
            Ok(c) => {
                if let Some(t) = c.message.spec().template.clone() {
                    self.utility.push((index, loaded, t));
                }
                (true, c.warnings)
            }
            Err(d) => (false, d),
        }
    }

    /// Duplicate template files, and each UTILITY campaign against the
    /// template file of its name and language (when one is among the paths).
    fn cross_check(&self, results: &mut [(&PathBuf, (bool, Vec<Diagnostic>))]) {
        for d in super::templates::duplicates(&self.templates) {
            if let Some((_, (ok, diags))) = results.iter_mut().find(|(f, _)| **f == d.file) {
                *ok = false;
                diags.push(d);
            }
        }
        for (index, loaded, used) in &self.utility {
            let Some(t) = self.templates.iter().find(|t| t.name == used.name && t.language == used.language) else {
                continue;
            };
            let found = template_file::crosscheck::check(loaded, used, t);
            let (ok, diags) = &mut results[*index].1;
            *ok &= !found.iter().any(Diagnostic::is_error);
            diags.extend(found);
            diags.sort_by_key(|d| (d.line, d.col));
        }
    }
}
