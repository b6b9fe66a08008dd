//! Campaign ids are unique within the tree given to `validate` or `tick`
//! (SPEC §2): the id is the ledger key and the lock name, so two files with
//! one id would share one history and lock each other out. Both files are
//! invalid, each message naming the other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::campaign::diagnostic::{Diagnostic, Pos};
use crate::campaign::load::{Loaded, load_file};

/// Where a campaign file states its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdSite {
    /// The campaign file.
    pub file: PathBuf,
    /// The id as written.
    pub id: String,
    /// Where its value is.
    pub pos: Pos,
}

/// The id of a loaded file, when it has a text `id`.
pub fn id_site(loaded: &Loaded) -> Option<IdSite> {
    let id = loaded.value.get("id")?.as_str()?.to_string();
    Some(IdSite { file: loaded.path.clone(), id, pos: loaded.spans.value("/id") })
}

/// One error for every file whose id another file uses too.
pub fn duplicate_ids(sites: &[IdSite]) -> Vec<Diagnostic> {
    let mut by_id: BTreeMap<&str, Vec<&IdSite>> = BTreeMap::new();
    for site in sites {
        by_id.entry(site.id.as_str()).or_default().push(site);
    }
    let mut out = Vec::new();
    for (id, group) in by_id.into_iter().filter(|(_, g)| g.len() > 1) {
        for site in &group {
            let others: Vec<String> =
                group.iter().filter(|o| o.file != site.file).map(|o| o.file.display().to_string()).collect();
            if others.is_empty() {
                continue;
            }
            out.push(
                Diagnostic::error(
                    &site.file,
                    site.pos,
                    "id",
                    format!("campaign id \"{id}\" is also the id of {}", others.join(", ")),
                )
                .with_hint(
                    "give each campaign its own id: the id is the ledger key, so two files with one id would share one history and lock each other out",
                ),
            );
        }
    }
    out
}

/// Loads `files` and returns the duplicate-id errors among them (files that
/// do not load are left to their own errors). `tick` runs none of the files
/// named in the result.
pub fn duplicate_id_errors(files: &[PathBuf]) -> Vec<Diagnostic> {
    let sites: Vec<IdSite> = files.iter().filter_map(|f| load_file(f).ok()).filter_map(|l| id_site(&l)).collect();
    duplicate_ids(&sites)
}

/// The files named by `diags` (for `tick`: the campaigns to pass over).
pub fn files_of(diags: &[Diagnostic]) -> Vec<&Path> {
    let mut out: Vec<&Path> = diags.iter().map(|d| d.file.as_path()).collect();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(file: &str, id: &str, line: usize) -> IdSite {
        IdSite { file: file.into(), id: id.into(), pos: Pos { line, col: 5 } }
    }

    #[test]
    fn each_file_of_a_shared_id_names_the_others() {
        let d = duplicate_ids(&[site("a.yaml", "x", 2), site("b.yaml", "y", 2), site("c/d.yaml", "x", 3)]);
        let lines: Vec<String> = d.iter().map(|d| d.to_string().lines().next().unwrap().to_string()).collect();
        assert_eq!(
            lines,
            [
                "a.yaml:2:5: error: id: campaign id \"x\" is also the id of c/d.yaml",
                "c/d.yaml:3:5: error: id: campaign id \"x\" is also the id of a.yaml",
            ]
        );
        assert!(duplicate_ids(&[site("a.yaml", "x", 2), site("b.yaml", "y", 2)]).is_empty());
    }

    #[test]
    fn the_same_file_given_twice_is_not_a_duplicate() {
        assert!(duplicate_ids(&[site("a.yaml", "x", 2), site("a.yaml", "x", 2)]).is_empty());
    }
}
