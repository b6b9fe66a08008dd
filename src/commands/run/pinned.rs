//! Pinned plans (SPEC §6): `plan --out FILE` writes the plan document with
//! the SHA-256 of every input it read; `run --plan FILE` sends exactly that
//! plan, or refuses, naming what changed since a reviewer approved it.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Prepared;
use crate::campaign::{AudienceSource, Campaign};
use crate::commands::Failure;
use crate::report::Report;
use crate::report::rows::rfc3339;

/// The inputs of a plan: a name for each (a file as the campaign names it,
/// or `conversations of page P`) and its SHA-256.
pub type Inputs = BTreeMap<String, String>;

/// Hashes every input the plan read: the campaign file, its audience and
/// opt-out files, and the ids each conversations audience fetched.
pub fn inputs(prepared: &Prepared) -> Result<Inputs, Failure> {
    let campaign = &*prepared.campaign;
    let mut out = Inputs::new();
    let mut file = |path: &Path| -> Result<(), Failure> {
        let bytes =
            std::fs::read(path).map_err(|e| Failure::at(path, format!("cannot read it to pin the plan: {e}")))?;
        out.insert(display_name(campaign, path), hex(&Sha256::digest(&bytes)));
        Ok(())
    };
    file(&campaign.path)?;
    for audience in &campaign.audiences {
        if let AudienceSource::Csv(path) | AudienceSource::Jsonl(path) = &audience.source {
            file(path)?;
        }
    }
    for suppress in &campaign.suppress {
        file(&suppress.file)?;
    }
    for (page, ids) in &prepared.conversation_ids {
        let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        out.insert(format!("conversations of page {page}"), hex(&Sha256::digest(ids.join("\n").as_bytes())));
    }
    Ok(out)
}

/// A path as the operator knows it: relative to the campaign's folder when inside it.
fn display_name(campaign: &Campaign, path: &Path) -> String {
    let base = campaign.path.parent().unwrap_or(Path::new(""));
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pinned plan document: the dry-run report plus `inputs` and `planned_at`.
pub fn document(report: &Report, inputs: &Inputs, planned_at: DateTime<Utc>) -> Value {
    let mut doc = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut doc {
        map.insert("planned_at".into(), json!(rfc3339(planned_at)));
        map.insert("inputs".into(), json!(inputs));
    }
    doc
}

/// Writes the pinned plan (0600: it holds people's ids), atomically.
pub fn write(path: &Path, doc: &Value) -> Result<(), Failure> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = serde_json::to_string_pretty(doc).unwrap_or_default();
    let temp = path.with_extension("partial");
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.write_all(b"\n")).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    written.map_err(|e| Failure::at(path, format!("cannot write the pinned plan: {e}")))
}

/// A pinned plan read back, checked against the campaign and occurrence.
pub struct Pinned {
    /// (page id, recipient id) of every recipient the plan planned to send to.
    pub planned: HashSet<(String, String)>,
    /// The inputs it was made from.
    pub inputs: Inputs,
    /// When it was made.
    pub planned_at: DateTime<Utc>,
    /// Its file.
    pub path: PathBuf,
}

/// Reads `path` as the pinned plan of `campaign`'s `occurrence`.
pub fn read(path: &Path, campaign: &Campaign, occurrence: &str) -> Result<Pinned, Failure> {
    let bad = |why: String| {
        Failure::at(path, format!("{why}\n  help: make a new one with `pagecast plan CAMPAIGN --out FILE`"))
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read the pinned plan: {e}")))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not a pinned plan ({e})")))?;
    let field = |name: &str| doc.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
    if field("campaign") != campaign.id {
        return Err(bad(format!("this plan is for campaign `{}`, not `{}`", field("campaign"), campaign.id)));
    }
    if field("occurrence") != occurrence {
        return Err(bad(format!(
            "this plan is for occurrence `{}`; run it with `--occurrence {}`",
            field("occurrence"),
            field("occurrence")
        )));
    }
    let planned_at = DateTime::parse_from_rfc3339(&field("planned_at"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad("the pinned plan has no valid `planned_at`".into()))?;
    let inputs: Inputs = doc
        .get("inputs")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .ok_or_else(|| bad("the pinned plan has no `inputs`".into()))?;
    let rows =
        doc.get("outcomes").and_then(Value::as_array).ok_or_else(|| bad("the pinned plan has no `outcomes`".into()))?;
    let planned = rows
        .iter()
        .filter(|r| r.get("outcome").and_then(Value::as_str) == Some("planned"))
        .filter_map(|r| Some((r.get("page")?.as_str()?.to_string(), r.get("recipient")?.as_str()?.to_string())))
        .collect();
    Ok(Pinned { planned, inputs, planned_at, path: path.to_path_buf() })
}

/// Refuses a plan older than `max_age`, or whose inputs changed, naming each change.
pub fn check(pinned: &Pinned, now: DateTime<Utc>, max_age: TimeDelta, current: &Inputs) -> Result<(), Failure> {
    let age = now - pinned.planned_at;
    if age > max_age {
        return Err(Failure::at(
            &pinned.path,
            format!(
                "the pinned plan was made at {}, {}h ago, more than --max-plan-age ({}h)\n  help: plan again and have it reviewed",
                rfc3339(pinned.planned_at),
                age.num_hours(),
                max_age.num_hours()
            ),
        ));
    }
    let mut changes = Vec::new();
    for (name, hash) in &pinned.inputs {
        match current.get(name) {
            Some(now) if now == hash => {}
            Some(now) => {
                changes.push(format!("{name} changed (sha256 {} → {})", &hash[..12.min(hash.len())], &now[..12]))
            }
            None => changes.push(format!("{name} is no longer an input")),
        }
    }
    for name in current.keys().filter(|n| !pinned.inputs.contains_key(*n)) {
        changes.push(format!("{name} is a new input"));
    }
    if changes.is_empty() {
        return Ok(());
    }
    Err(Failure::at(
        &pinned.path,
        format!(
            "the inputs changed since the plan was made, so it is not what was reviewed:\n  - {}\n  help: plan again (`pagecast plan CAMPAIGN --out FILE`) and have the new plan reviewed",
            changes.join("\n  - ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(inputs: &[(&str, &str)], at: &str) -> Pinned {
        Pinned {
            planned: HashSet::new(),
            inputs: inputs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            planned_at: at.parse().expect("a time"),
            path: PathBuf::from("plan.json"),
        }
    }

    fn inputs(pairs: &[(&str, &str)]) -> Inputs {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const NOW: &str = "2026-11-22T12:00:00Z";

    #[test]
    fn an_unchanged_fresh_plan_passes() {
        let p = pinned(&[("c.yaml", "aaaaaaaaaaaaaaaa")], "2026-11-22T00:00:00Z");
        assert!(
            check(&p, NOW.parse().unwrap(), TimeDelta::hours(24), &inputs(&[("c.yaml", "aaaaaaaaaaaaaaaa")])).is_ok()
        );
    }

    #[test]
    fn every_change_is_named() {
        let p = pinned(&[("c.yaml", "aaaaaaaaaaaaaaaa"), ("a.csv", "bbbbbbbbbbbbbbbb")], "2026-11-22T00:00:00Z");
        let now =
            inputs(&[("c.yaml", "aaaaaaaaaaaaaaaa"), ("a.csv", "cccccccccccccccc"), ("b.csv", "dddddddddddddddd")]);
        let err = check(&p, NOW.parse().unwrap(), TimeDelta::hours(24), &now).unwrap_err();
        let text = err.text().unwrap();
        assert!(text.contains("a.csv changed"), "{text}");
        assert!(text.contains("b.csv is a new input"), "{text}");
        assert!(!text.contains("c.yaml changed"), "{text}");
    }

    #[test]
    fn a_stale_plan_is_refused() {
        let p = pinned(&[], "2026-11-20T00:00:00Z");
        let err = check(&p, NOW.parse().unwrap(), TimeDelta::hours(24), &Inputs::new()).unwrap_err();
        assert!(err.text().unwrap().contains("--max-plan-age"));
    }
}
