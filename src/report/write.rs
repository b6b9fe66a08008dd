//! The one place where reports touch the file system.
//!
//! Each run gets a fresh directory `DIR/<campaign>/<occurrence>/<start>/`,
//! claimed with `create_dir` (which fails if the directory exists), so two
//! processes finishing in the same second never share one: the second takes
//! a `-2` suffix, the next `-3`, and so on. Each file is written to a
//! temporary name, synced and renamed, so a reader never sees half a file;
//! `report.json` is written last, so its presence means the set is complete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Report, csv, html, json};

/// How many same-second runs of one occurrence get a directory before we
/// give up (a loop guard, not a limit anyone should meet).
const MAX_SUFFIX: u32 = 10_000;

const FIX_DIR: &str = "pass --report-dir or set PAGECAST_REPORT_DIR to a writable directory";

/// Why the report could not be written. Each message names the path and
/// says what to do; the I/O cause is part of the message.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A directory on the way to the run directory could not be created.
    #[error("cannot create report directory {}: {}; {FIX_DIR}", path.display(), describe(cause))]
    CreateDir {
        /// The directory that could not be created.
        path: PathBuf,
        /// What the operating system said.
        cause: io::Error,
    },
    /// A report file could not be written, synced or renamed into place.
    #[error("cannot write report file {}: {}; free some space or {FIX_DIR}", path.display(), describe(cause))]
    WriteFile {
        /// The file that could not be written.
        path: PathBuf,
        /// What the operating system said.
        cause: io::Error,
    },
    /// The campaign id or occurrence cannot name a directory.
    #[error("cannot use {value:?} as the {what} part of a report directory name; use another {what}")]
    BadName {
        /// `campaign` or `occurrence`.
        what: &'static str,
        /// The rejected value.
        value: String,
    },
}

/// Creates `DIR/<campaign>/<occurrence>/<UTC start as YYYYMMDDTHHMMSSZ>/`
/// (with a `-2`, `-3`… suffix when a run of the same second already has it),
/// writes `outcomes.csv`, `report.html` and `report.json` into it atomically,
/// and returns the directory.
///
/// In the campaign and occurrence parts, `/`, `\` and NUL become `_`; `:` is
/// kept (occurrences are often fire times). `.`, `..` and empty names are
/// refused.
pub fn write_report(base: &Path, report: &Report, started: DateTime<Utc>) -> Result<PathBuf, ReportError> {
    let parent = base.join(component("campaign", &report.campaign)?).join(component("occurrence", &report.occurrence)?);
    create_all(&parent)?;
    let dir = claim_run_dir(&parent, &started.format("%Y%m%dT%H%M%SZ").to_string())?;
    write_atomic(&dir, "outcomes.csv", &csv::render(report))?;
    write_atomic(&dir, "report.html", html::render(report).as_bytes())?;
    write_atomic(&dir, "report.json", json::render(report).as_bytes())?;
    sync_dir(&dir);
    Ok(dir)
}

/// Makes one path component of `value`, or refuses it.
fn component(what: &'static str, value: &str) -> Result<String, ReportError> {
    let name: String = value.chars().map(|c| if matches!(c, '/' | '\\' | '\0') { '_' } else { c }).collect();
    if matches!(name.as_str(), "" | "." | "..") {
        return Err(ReportError::BadName { what, value: value.to_owned() });
    }
    Ok(name)
}

fn create_all(path: &Path) -> Result<(), ReportError> {
    // Reports hold people's ids: directories pagecast creates are 0700.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|cause| ReportError::CreateDir { path: path.to_owned(), cause })
}

/// Creates `parent/stamp`, or the first free `parent/stamp-N`.
fn claim_run_dir(parent: &Path, stamp: &str) -> Result<PathBuf, ReportError> {
    for n in 1..=MAX_SUFFIX {
        let name = if n == 1 { stamp.to_owned() } else { format!("{stamp}-{n}") };
        let dir = parent.join(name);
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                sync_dir(parent);
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(cause) => return Err(ReportError::CreateDir { path: dir, cause }),
        }
    }
    Err(ReportError::CreateDir {
        path: parent.join(format!("{stamp}-{MAX_SUFFIX}")),
        cause: io::Error::new(io::ErrorKind::AlreadyExists, "every suffix is taken"),
    })
}

/// Writes `dir/name` through a temporary file in the same directory: write,
/// fsync, rename. The temporary file is removed if any step fails.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ReportError> {
    let temp = dir.join(format!(".{name}.tmp"));
    let target = dir.join(name);
    let result = write_synced(&temp, bytes).and_then(|()| fs::rename(&temp, &target));
    result.map_err(|cause| {
        let _ = fs::remove_file(&temp);
        ReportError::WriteFile { path: target, cause }
    })
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes new directory entries durable. Best effort: some file systems
/// refuse to fsync a directory, and the files themselves are already synced.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// The OS error in words, lower case where the kind says it all
/// ("permission denied"), else the full OS message.
fn describe(cause: &io::Error) -> String {
    use io::ErrorKind::*;
    match cause.kind() {
        PermissionDenied | NotFound | AlreadyExists | ReadOnlyFilesystem | StorageFull | NotADirectory => {
            cause.kind().to_string()
        }
        _ => cause.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::report::tests::sample;

    fn started() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap()
    }

    #[test]
    fn writes_the_three_files_under_campaign_occurrence_and_start() {
        let base = tempfile::tempdir().unwrap();
        let report = sample();
        let dir = write_report(base.path(), &report, started()).unwrap();
        let expected = base.path().join("order-shipped/default/20261122T090000Z");
        assert_eq!(dir, expected);
        let json = fs::read_to_string(dir.join("report.json")).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
        assert_eq!(fs::read(dir.join("outcomes.csv")).unwrap(), csv::render(&report));
        assert!(fs::read_to_string(dir.join("report.html")).unwrap().starts_with("<!doctype html>"));
        let mut names: Vec<_> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["outcomes.csv", "report.html", "report.json"], "no temp files left");
    }

    #[test]
    fn runs_in_the_same_second_get_numbered_suffixes() {
        let base = tempfile::tempdir().unwrap();
        let report = sample();
        let first = write_report(base.path(), &report, started()).unwrap();
        let second = write_report(base.path(), &report, started()).unwrap();
        let third = write_report(base.path(), &report, started()).unwrap();
        assert!(first.ends_with("20261122T090000Z"));
        assert!(second.ends_with("20261122T090000Z-2"));
        assert!(third.ends_with("20261122T090000Z-3"));
        assert!(second.join("report.json").is_file());
    }

    #[test]
    fn occurrence_keeps_colons_and_loses_slashes() {
        let base = tempfile::tempdir().unwrap();
        let mut report = sample();
        report.occurrence = "2026-11-23T02:00:00Z".into();
        let dir = write_report(base.path(), &report, started()).unwrap();
        assert!(dir.ends_with("order-shipped/2026-11-23T02:00:00Z/20261122T090000Z"));
        report.occurrence = "../a\\b\0c".into();
        let dir = write_report(base.path(), &report, started()).unwrap();
        assert!(dir.ends_with("order-shipped/.._a_b_c/20261122T090000Z"));
    }

    #[test]
    fn dot_names_are_refused() {
        let base = tempfile::tempdir().unwrap();
        let mut report = sample();
        for bad in [".", "..", ""] {
            report.occurrence = bad.into();
            let err = write_report(base.path(), &report, started()).unwrap_err();
            assert!(matches!(err, ReportError::BadName { what: "occurrence", .. }), "{err}");
        }
        assert!(!base.path().join("order-shipped").exists());
    }

    #[test]
    fn an_unwritable_base_names_the_path_and_the_fix() {
        // A regular file where a directory should be: fails even for root.
        let base = tempfile::tempdir().unwrap();
        let blocker = base.path().join("reports");
        fs::write(&blocker, "not a directory").unwrap();
        let err = write_report(&blocker, &sample(), started()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ReportError::CreateDir { .. }), "{text}");
        let path = blocker.join("order-shipped/default");
        assert!(text.starts_with(&format!("cannot create report directory {}: ", path.display())), "{text}");
        assert!(text.ends_with(FIX_DIR), "{text}");
    }

    #[test]
    fn permission_denied_reads_as_words() {
        let cause = io::Error::from(io::ErrorKind::PermissionDenied);
        let err = ReportError::CreateDir { path: "/x".into(), cause };
        assert_eq!(
            err.to_string(),
            "cannot create report directory /x: permission denied; \
             pass --report-dir or set PAGECAST_REPORT_DIR to a writable directory"
        );
    }
}
