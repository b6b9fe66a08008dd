//! `pagecast templates plan|apply PATH... [--page ID]` (SPEC §7): template
//! files held against each page's templates, and the missing ones created.
//!
//! Exit 0 when every (page, template, language) is `ok`; 1 when some are
//! missing, not APPROVED yet, or differ; 2 on invalid files or usage; 3 when
//! a fatal API error (bad token, missing permission, throttled past the
//! pause budget, unreachable) stopped a page. Nothing is ever deleted.

use std::collections::HashMap;
use std::time::Duration;

use super::{Exit, Failure, Outcome, output, print_diagnostics, runtime};
use crate::campaign::load::load_file;
use crate::campaign::{Campaign, Diagnostic};
use crate::cli::{TemplatesArgs, TemplatesCommand};
use crate::send::client::{Client, Endpoints, Redactor};
use crate::template_file::status::{self, Api, ApiError, Listed, Retry, status_of};
use crate::template_file::{self, TemplateFile, meta};

/// What one (page, template, language) needs, or what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Missing on the page.
    Create,
    /// Present, same components, APPROVED.
    Ok,
    /// Present with other components.
    Differs(Vec<String>),
    /// Present, same components, not APPROVED (with Meta's reason).
    Status(String, Option<String>),
    /// Created just now, with the status Meta answered.
    Created(String),
    /// A call about this template failed (the page goes on).
    Failed(String),
    /// The page's calls stopped (fatal).
    Stopped(String),
}

impl Verdict {
    fn exit(&self) -> Exit {
        match self {
            Verdict::Ok => Exit::Done,
            Verdict::Created(s) if s == "APPROVED" => Exit::Done,
            Verdict::Stopped(_) => Exit::Aborted,
            _ => Exit::SomeFailed,
        }
    }

    fn describe(&self, t: &TemplateFile) -> String {
        match self {
            Verdict::Create => "create".into(),
            Verdict::Ok => "ok".into(),
            Verdict::Differs(d) => format!(
                "differs: Meta does not edit an approved template; use a new name (e.g. {}_v2) and update the campaigns\n{}",
                t.name,
                d.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
            ),
            Verdict::Status(s, Some(r)) => format!("{s}: {r}"),
            Verdict::Status(s, None) => s.clone(),
            Verdict::Created(s) if s == "APPROVED" => "created: APPROVED (ok)".into(),
            Verdict::Created(s) => format!("created: {s} (Meta is reviewing it; run `pagecast templates plan` later)"),
            Verdict::Failed(e) => format!("error: {e}"),
            Verdict::Stopped(e) => format!("stopped: {e}"),
        }
    }
}

/// The verdict for a file against what its page lists.
pub fn judge(t: &TemplateFile, listed: &[Listed]) -> Verdict {
    let Some(found) = status_of(listed, &t.name, &t.language) else { return Verdict::Create };
    let diffs = meta::differences(&meta::shape_of_file(t), &meta::shape_of_components(&found.components));
    if !diffs.is_empty() {
        return Verdict::Differs(diffs);
    }
    if found.status == "APPROVED" {
        Verdict::Ok
    } else {
        Verdict::Status(found.status.clone(), found.rejected_reason.clone())
    }
}

/// Runs `templates plan` or `templates apply`.
pub fn run(command: TemplatesCommand) -> Outcome {
    let (apply, args) = match command {
        TemplatesCommand::Plan(a) => (false, a),
        TemplatesCommand::Apply(a) => (true, a),
    };
    let files = template_files(&args)?;
    let work = work_items(&files, args.page.as_deref())?;
    let client = Client::new(Endpoints::from_env(), 1).map_err(Failure::invalid)?;
    let redactor = Redactor::new(work.iter().map(|w| w.token.clone()));
    let api = Api::new(&client, retry_settings());
    let rt = runtime()?;
    let mut exit = Exit::Done;
    let mut not_ok = 0;
    let mut listings: HashMap<String, Result<Vec<Listed>, ApiError>> = HashMap::new();
    for w in &work {
        let listed = listings.entry(w.page.clone()).or_insert_with(|| rt.block_on(api.list(&w.page, &w.token))).clone();
        let verdict = match listed {
            Err(e) if e.fatal => Verdict::Stopped(redactor.redact(&e.to_string())),
            Err(e) => Verdict::Failed(redactor.redact(&e.to_string())),
            Ok(listed) => {
                let v = judge(w.file, &listed);
                if apply && v == Verdict::Create { create(&rt, &api, w, &redactor, &mut listings) } else { v }
            }
        };
        output::println(&format!("{:<18} {} ({})  {}", w.page, w.file.name, w.file.language, verdict.describe(w.file)));
        if let Verdict::Stopped(_) = verdict {
            eprintln!(
                "{}: error: page {}: the Graph API refused the call\n  help: check {} (a page access token with pages_utility_messaging) and PAGECAST_GRAPH_URL",
                w.file.path.display(),
                w.page,
                w.token_env
            );
        }
        exit = exit.max(verdict.exit());
        not_ok += usize::from(verdict.exit() != Exit::Done);
    }
    eprintln!("{} template(s) on {} page(s): {} ok, {not_ok} not ok", work.len(), listings.len(), work.len() - not_ok);
    Ok(exit)
}

fn create(
    rt: &tokio::runtime::Runtime,
    api: &Api<'_>,
    w: &Work<'_>,
    redactor: &Redactor,
    listings: &mut HashMap<String, Result<Vec<Listed>, ApiError>>,
) -> Verdict {
    match rt.block_on(api.create(&w.page, &w.token, &meta::create_body(w.file))) {
        Ok(created) => {
            // Later files of the same page see it as present.
            if let Some(Ok(listed)) = listings.get_mut(&w.page) {
                listed.push(Listed {
                    name: w.file.name.clone(),
                    language: w.file.language.clone(),
                    status: created.status.clone(),
                    rejected_reason: None,
                    components: meta::components(w.file),
                });
            }
            Verdict::Created(created.status)
        }
        Err(e) if e.fatal => Verdict::Stopped(redactor.redact(&e.to_string())),
        Err(e) => Verdict::Failed(redactor.redact(&e.to_string())),
    }
}

/// The status check of `plan` and `run` (SPEC §7): for a UTILITY campaign,
/// page id → why its recipients are skipped, for each graph page whose
/// template is missing or not APPROVED. A page whose token is not set (a dry
/// run may go without) cannot be read: a warning says so and the page is
/// planned as if approved; the real run, which needs the token, checks it.
/// A fatal API error (bad token, missing permission, unreachable) is
/// printed and gives `None`: the run stops before any send (exit 3).
pub fn blocked_pages(
    campaign: &Campaign,
    tokens: &[String],
    client: &Client,
) -> Result<Option<HashMap<String, String>>, Failure> {
    let Some(t) = campaign.message.spec().template.as_ref() else { return Ok(Some(HashMap::new())) };
    for (page, token) in campaign.pages.iter().zip(tokens) {
        if token.is_empty() && page.provider == crate::campaign::model::Provider::Graph {
            eprintln!(
                "{}: warning: {} is not set, so the status of template {} ({}) on page {} was not checked; `run` checks it",
                campaign.path.display(),
                page.token_env,
                t.name,
                t.language,
                page.id
            );
        }
    }
    let retry = Retry {
        max_attempts: campaign.send.max_attempts,
        max_pause: campaign.send.max_pause.to_std().unwrap_or(Duration::from_secs(900)),
        ..retry_settings()
    };
    let statuses = runtime()?.block_on(status::fetch_statuses(client, campaign, tokens, retry));
    match statuses {
        Ok(statuses) => {
            let blocked = status::blocked(campaign, &statuses);
            let mut pages: Vec<_> = blocked.iter().collect();
            pages.sort();
            for (page, why) in pages {
                eprintln!("page {page}: {why}; its recipients are skipped as template_not_approved");
            }
            Ok(Some(blocked))
        }
        Err((page, e)) => {
            let redactor = Redactor::new(tokens.iter().cloned());
            eprintln!(
                "{}: error: page {page}: cannot read the status of template {} ({}): {}\n  help: check the page token (it needs pages_utility_messaging) and PAGECAST_GRAPH_URL; nothing was sent",
                campaign.path.display(),
                t.name,
                t.language,
                redactor.redact(&e.to_string())
            );
            Ok(None)
        }
    }
}

/// Waits are scaled by `PAGECAST_PAUSE_SCALE` (default 1): rehearsals and
/// tests against the sandbox set 0 so that a throttle does not cost seconds.
fn retry_settings() -> Retry {
    let scale = std::env::var("PAGECAST_PAUSE_SCALE").ok().and_then(|v| v.parse::<f64>().ok());
    Retry { scale: scale.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(1.0), ..Retry::default() }
}

/// The template files among `paths` (campaign files are passed over), all
/// valid; Err is exit 2 after printing every problem.
fn template_files(args: &TemplatesArgs) -> Result<Vec<TemplateFile>, Failure> {
    let paths = super::validate::campaign_files(&args.paths).map_err(Failure::invalid)?;
    let mut files = Vec::new();
    let mut problems: Vec<Diagnostic> = Vec::new();
    for path in paths {
        let loaded = match load_file(&path) {
            Ok(l) => l,
            Err(d) => {
                problems.push(d);
                continue;
            }
        };
        if !template_file::is_template_file(&loaded.value) {
            continue;
        }
        match template_file::validate(&loaded) {
            Ok(t) => files.push(t),
            Err(d) => problems.extend(d),
        }
    }
    problems.extend(duplicates(&files));
    if !problems.is_empty() {
        print_diagnostics(&problems);
        return Err(Failure::invalid("invalid template files: nothing was created"));
    }
    if files.is_empty() {
        return Err(Failure::invalid("no template files (YAML with a top-level `template:` key) found"));
    }
    Ok(files)
}

/// Two files declaring one (name, language): each names the other.
pub fn duplicates(files: &[TemplateFile]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, a) in files.iter().enumerate() {
        for (j, b) in files.iter().enumerate() {
            if i != j && a.name == b.name && a.language == b.language {
                out.push(
                    a.loaded
                        .error_at(
                            "/template",
                            format!("{} ({}) is also declared in {}", a.name, a.language, b.place("/template")),
                        )
                        .with_hint("keep one file per template and language"),
                );
            }
        }
    }
    out
}

/// One (page, template file) to handle, with the page's token.
struct Work<'a> {
    page: String,
    token_env: String,
    token: String,
    file: &'a TemplateFile,
}

fn work_items<'a>(files: &'a [TemplateFile], only: Option<&str>) -> Result<Vec<Work<'a>>, Failure> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for file in files {
        for p in file.pages.iter().filter(|p| only.is_none_or(|o| o == p.id)) {
            match std::env::var(&p.token_env) {
                Ok(t) if !t.trim().is_empty() => out.push(Work {
                    page: p.id.clone(),
                    token_env: p.token_env.clone(),
                    token: t.trim().to_string(),
                    file,
                }),
                _ => missing.push(format!(
                    "{}: error: the environment variable {} (token of page {}) is not set\n  help: export {}=<page access token>",
                    file.path.display(),
                    p.token_env,
                    p.id,
                    p.token_env
                )),
            }
        }
    }
    missing.dedup();
    if !missing.is_empty() {
        missing.iter().for_each(|m| eprintln!("{m}"));
        return Err(Failure::printed());
    }
    if let Some(page) = only.filter(|_| out.is_empty()) {
        return Err(Failure::invalid(format!(
            "no template file lists page {page}\n  help: check --page, or add the page to `pages:` of a template file"
        )));
    }
    Ok(out)
}
