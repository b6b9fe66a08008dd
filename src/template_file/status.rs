//! Reading and creating a page's message templates over the Graph API, with
//! throttling and transient errors handled like sends (SPEC §4): the pure
//! classification of `send::classify` decides, this loop only waits.
//!
//! `GET /{page-id}/message_templates` follows `paging.next` only to the
//! origin of `PAGECAST_GRAPH_URL`, with any `access_token` removed: the
//! token travels in the `Authorization` header alone.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::audience::merge::Audiences;
use crate::campaign::Campaign;
use crate::campaign::model::Provider;
use crate::plan::{Plan, Verdict};
use crate::policy::SkipReason;
use crate::send::classify::{self, Class, Transport};
use crate::send::client::Client;

/// The fields `templates plan` and the status check read.
pub const FIELDS: &str = "name,language,status,components,rejected_reason";

/// A runaway paging loop stops here.
const MAX_PAGES: usize = 1000;

/// Why a call gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Stop everything for this page (bad token, missing permission, throttled past `max_pause`, unreachable)?
    pub fatal: bool,
    /// Graph code, when there was one.
    pub code: Option<i64>,
    /// Graph subcode.
    pub subcode: Option<i64>,
    /// What happened (never holds the token: Graph's message, or ours).
    pub message: String,
}

impl ApiError {
    fn new(fatal: bool, message: impl Into<String>) -> Self {
        ApiError { fatal, code: None, subcode: None, message: message.into() }
    }

    fn from_answer(fatal: bool, a: &classify::Answer) -> Self {
        let message = a.message.clone().unwrap_or_else(|| "no message".into());
        ApiError { fatal, code: a.code, subcode: a.subcode, message }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.code, self.subcode) {
            (Some(c), Some(s)) => write!(f, "Graph error {c}/{s}: {}", self.message),
            (Some(c), None) => write!(f, "Graph error {c}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// How long to keep trying.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts for transient errors.
    pub max_attempts: u32,
    /// Longest total throttling pause before giving up (fatal).
    pub max_pause: Duration,
    /// Multiplies every wait (1.0 in production; tests use 0).
    pub scale: f64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { max_attempts: 4, max_pause: Duration::from_secs(15 * 60), scale: 1.0 }
    }
}

/// One template as a page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// Its name.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …
    pub status: String,
    /// Why Meta rejected it.
    pub rejected_reason: Option<String>,
    /// Its components in Meta's shape.
    pub components: Vec<Value>,
}

/// A created template: Meta answers `{id, status, category}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its id.
    pub id: String,
    /// Usually PENDING; APPROVED when the review was immediate.
    pub status: String,
}

/// The Graph calls of `templates` and of the status check.
#[derive(Debug, Clone)]
pub struct Api<'a> {
    client: &'a Client,
    retry: Retry,
}

impl<'a> Api<'a> {
    /// Calls through `client`.
    pub fn new(client: &'a Client, retry: Retry) -> Self {
        Api { client, retry }
    }

    /// Every template of `page` (all pages of the listing).
    pub async fn list(&self, page: &str, token: &str) -> Result<Vec<Listed>, ApiError> {
        let base = &self.client.endpoints().graph;
        let mut url = Some(format!("{base}/{page}/message_templates?fields={FIELDS}"));
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(u) = url.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ApiError::new(true, format!("more than {MAX_PAGES} pages of templates")));
            }
            let doc = self.call(reqwest::Method::GET, &u, token, None).await?;
            out.extend(doc.get("data").and_then(Value::as_array).into_iter().flatten().filter_map(listed));
            if let Some(next) = doc.pointer("/paging/next").and_then(Value::as_str) {
                url = Some(same_origin(base, next).map_err(|e| ApiError::new(true, e))?);
            }
        }
        Ok(out)
    }

    /// Creates a template (`body` from [`super::meta::create_body`]).
    pub async fn create(&self, page: &str, token: &str, body: &Value) -> Result<Created, ApiError> {
        let url = format!("{}/{page}/message_templates", self.client.endpoints().graph);
        let bytes = serde_json::to_vec(body).expect("JSON serializes");
        let doc = self.call(reqwest::Method::POST, &url, token, Some(bytes)).await?;
        let text = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(Created { id: text("id"), status: text("status").to_ascii_uppercase() })
    }

    /// One call with its retries: throttles pause (up to `max_pause`),
    /// transient errors back off (up to `max_attempts`), a GET that may have
    /// reached the server is simply asked again, a POST is not.
    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Value, ApiError> {
        let is_get = method == reqwest::Method::GET;
        let (mut attempts, mut throttles, mut paused) = (0u32, 0u32, Duration::ZERO);
        loop {
            attempts += 1;
            let answer = self.client.graph_call(method.clone(), url, token, body.clone()).await;
            let wait = match answer {
                Ok((status, _, bytes)) if (200..300).contains(&status) => {
                    // A listing that cannot be read fails for the page; a create
                    // whose answer cannot be read may still have created it.
                    return serde_json::from_slice(&bytes)
                        .map_err(|_| ApiError::new(is_get, format!("HTTP {status} with a body that is not JSON")));
                }
                Ok((status, usage, bytes)) => {
                    let a = classify::graph(status, &bytes, usage.as_deref());
                    match step(&a, is_get) {
                        Step::Throttle => {
                            throttles += 1;
                            let pause = classify::throttle_pause(throttles, a.regain);
                            paused += pause;
                            if paused > self.retry.max_pause {
                                let what = format!("throttled for longer than {}s", self.retry.max_pause.as_secs());
                                return Err(ApiError { message: what, ..ApiError::from_answer(true, &a) });
                            }
                            // Codes only: a server's message is not logged unredacted.
                            let code = a.code.map_or_else(|| "HTTP 429".to_string(), |c| format!("code {c}"));
                            tracing::warn!("template API throttled ({code}); pausing {}s", pause.as_secs());
                            attempts -= 1;
                            pause
                        }
                        Step::Retry if attempts < self.retry.max_attempts => {
                            classify::backoff(attempts, fastrand::f64())
                        }
                        Step::Retry | Step::Fail => return Err(ApiError::from_answer(false, &a)),
                        Step::Fatal => return Err(ApiError::from_answer(true, &a)),
                    }
                }
                Err(t) => {
                    let safe = is_get || t == Transport::Connect;
                    if !safe {
                        return Err(ApiError::new(
                            false,
                            format!(
                                "{:?} after the request was sent: it may have been created; run `pagecast templates plan`",
                                t
                            ),
                        ));
                    }
                    if attempts >= self.retry.max_attempts {
                        return Err(ApiError::new(
                            true,
                            format!("the Graph API is unreachable ({t:?}) after {attempts} attempts"),
                        ));
                    }
                    classify::backoff(attempts, fastrand::f64())
                }
            };
            tokio::time::sleep(wait.mul_f64(self.retry.scale)).await;
        }
    }
}

/// What one error answer means for a template call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Throttle,
    Retry,
    /// This template's call failed (e.g. Meta refused its content).
    Fail,
    /// The page's calls cannot succeed (token, permission, policy).
    Fatal,
}

fn step(a: &classify::Answer, is_get: bool) -> Step {
    match a.class {
        Class::Throttle => Step::Throttle,
        Class::Retry | Class::ConnectFailed => Step::Retry,
        // A GET changes nothing, so asking again is safe.
        Class::Ambiguous if is_get => Step::Retry,
        Class::Ambiguous => Step::Fail,
        // A create Meta refuses for its content (100, invalid parameter) is
        // about this template; token and permission errors are about the page.
        Class::Fatal if !is_get && a.code == Some(100) => Step::Fail,
        Class::Fatal => Step::Fatal,
        // A listing that Meta refuses cannot be read for any template.
        Class::RecipientFailed | Class::OtherFailure | Class::TryLater if is_get => Step::Fatal,
        Class::Sent | Class::RecipientFailed | Class::OtherFailure | Class::TryLater => Step::Fail,
    }
}

fn listed(v: &Value) -> Option<Listed> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Some(Listed {
        name: text("name")?,
        language: text("language")?,
        status: text("status").unwrap_or_default().to_ascii_uppercase(),
        rejected_reason: text("rejected_reason").filter(|r| !r.is_empty() && r != "NONE"),
        components: v.get("components").and_then(Value::as_array).cloned().unwrap_or_default(),
    })
}

/// A `paging.next` link, allowed only to the API's own origin and without
/// any `access_token` in its query.
pub fn same_origin(base: &str, next: &str) -> Result<String, String> {
    let base = reqwest::Url::parse(base).map_err(|e| format!("bad PAGECAST_GRAPH_URL: {e}"))?;
    let mut url = reqwest::Url::parse(next).map_err(|_| "the API sent a paging link that is not a URL".to_string())?;
    if url.origin() != base.origin() {
        return Err(format!(
            "the API sent a paging link to another host ({}); pagecast follows links only to {}",
            url.host_str().unwrap_or("?"),
            base.host_str().unwrap_or("?")
        ));
    }
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "access_token").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    Ok(url.to_string())
}

/// A page's template as the status check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateStatus {
    /// Present and APPROVED: send.
    Approved,
    /// Not on the page.
    Missing,
    /// Present with another status (PENDING, REJECTED, PAUSED …) and Meta's reason if any.
    NotApproved {
        /// The status.
        status: String,
        /// Meta's rejection reason.
        reason: Option<String>,
    },
}

impl TemplateStatus {
    /// The status as listed by [`status_of`].
    pub fn from_listed(found: Option<&Listed>) -> Self {
        match found {
            None => TemplateStatus::Missing,
            Some(l) if l.status == "APPROVED" => TemplateStatus::Approved,
            Some(l) => TemplateStatus::NotApproved { status: l.status.clone(), reason: l.rejected_reason.clone() },
        }
    }

    /// For the skip message of a page's recipients.
    pub fn describe(&self, name: &str, language: &str) -> String {
        match self {
            TemplateStatus::Approved => format!("template {name} ({language}) is APPROVED"),
            TemplateStatus::Missing => {
                format!(
                    "template {name} ({language}) does not exist on this page; create it with `pagecast templates apply`"
                )
            }
            TemplateStatus::NotApproved { status, reason: Some(r) } => {
                format!("template {name} ({language}) is {status}: {r}")
            }
            TemplateStatus::NotApproved { status, reason: None } => format!("template {name} ({language}) is {status}"),
        }
    }
}

/// The template with exactly this name and language (Meta's filters are
/// hints; the comparison is ours).
pub fn status_of<'l>(listed: &'l [Listed], name: &str, language: &str) -> Option<&'l Listed> {
    listed.iter().find(|l| l.name == name && l.language == language)
}

/// Page id → why its recipients are skipped, for every page whose
/// template is not APPROVED.
pub fn blocked(campaign: &Campaign, statuses: &HashMap<String, TemplateStatus>) -> HashMap<String, String> {
    let Some(t) = campaign.message.spec().template.as_ref() else { return HashMap::new() };
    statuses
        .iter()
        .filter(|(_, s)| **s != TemplateStatus::Approved)
        .map(|(page, s)| (page.clone(), s.describe(&t.name, &t.language)))
        .collect()
}

/// Skips the recipients of `blocked` pages as `template_not_approved`, with
/// the page's message as detail: those the plan would send to, or whose
/// message would not render. Reasons about the person or the ledger
/// (suppressed, already sent, no interaction …) stay as they are.
pub fn block_pages(plan: &mut Plan, campaign: &Campaign, audiences: &Audiences, blocked: &HashMap<String, String>) {
    if blocked.is_empty() {
        return;
    }
    for (person, verdict) in plan.verdicts.iter_mut().enumerate() {
        let page = audiences.page_of(person as u32);
        let Some(message) = blocked.get(&campaign.pages[page as usize].id) else { continue };
        if matches!(verdict, Verdict::Send | Verdict::Hold(_) | Verdict::Skip(SkipReason::TemplateError)) {
            *verdict = Verdict::Skip(SkipReason::TemplateNotApproved);
            plan.details.insert(person as u32, message.clone());
        }
    }
}

/// The status of a UTILITY campaign's template on each of its graph pages,
/// keyed by page id. `tokens` are in `campaign.pages` order; a page whose
/// token is empty is left out (its status cannot be read). Err is the first
/// error that stopped a page, with its id.
pub async fn fetch_statuses(
    client: &Client,
    campaign: &Campaign,
    tokens: &[String],
    retry: Retry,
) -> Result<HashMap<String, TemplateStatus>, (String, ApiError)> {
    let mut out = HashMap::new();
    let Some(t) = campaign.message.spec().template.as_ref() else { return Ok(out) };
    let api = Api::new(client, retry);
    for (page, token) in campaign.pages.iter().zip(tokens) {
        if page.provider != Provider::Graph || token.is_empty() {
            continue;
        }
        let listed = api.list(&page.id, token).await.map_err(|e| (page.id.clone(), e))?;
        out.insert(page.id.clone(), TemplateStatus::from_listed(status_of(&listed, &t.name, &t.language)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_stay_home_and_lose_the_token() {
        let base = "http://127.0.0.1:8080/v25.0";
        let ok =
            same_origin(base, "http://127.0.0.1:8080/v25.0/5/message_templates?after=X&access_token=SECRET&limit=2");
        assert_eq!(ok.unwrap(), "http://127.0.0.1:8080/v25.0/5/message_templates?after=X&limit=2");
        let other = same_origin(base, "http://evil.example/v25.0/5/message_templates?after=X").unwrap_err();
        assert!(other.contains("evil.example"), "{other}");
        assert!(same_origin(base, "http://127.0.0.1:9/x").is_err(), "another port is another origin");
    }

    fn answer(code: i64, sub: Option<i64>) -> classify::Answer {
        let mut e = serde_json::json!({"error": {"message": "m", "code": code}});
        if let Some(s) = sub {
            e["error"]["error_subcode"] = s.into();
        }
        classify::graph(400, e.to_string().as_bytes(), None)
    }

    #[test]
    fn errors_mean_what_they_mean_for_sends() {
        assert_eq!(step(&answer(190, None), true), Step::Fatal);
        assert_eq!(step(&answer(10, None), false), Step::Fatal);
        assert_eq!(step(&answer(200, None), true), Step::Fatal);
        assert_eq!(step(&answer(613, None), true), Step::Throttle);
        assert_eq!(step(&answer(2, None), true), Step::Retry);
        assert_eq!(step(&answer(100, None), false), Step::Fail, "Meta refused this template's content");
        assert_eq!(step(&answer(100, None), true), Step::Fatal, "a GET that Meta refuses will not work for any");
        let ambiguous = classify::graph(502, b"", None);
        assert_eq!(step(&ambiguous, true), Step::Retry);
        assert_eq!(step(&ambiguous, false), Step::Fail, "a create is never repeated blindly");
    }

    #[test]
    fn blocked_pages_skip_only_who_would_be_sent() {
        use crate::campaign::load::load_bytes;
        let text = "version: 1\nid: c\npages:\n  - { id: \"5\", provider: graph, token_env: T }\n  - { id: \"6\", provider: graph, token_env: T }\naudiences: [{ page: \"5\", recipients: [{ id: \"1\" }] }]\nmessage:\n  template: { name: order_update, language: en_US }\nmessaging_type: UTILITY\n";
        let loaded = load_bytes(std::path::Path::new("c.yaml"), text.as_bytes()).unwrap();
        let now = chrono::Utc::now();
        let campaign = crate::campaign::validate(&loaded, now).unwrap();
        let person = |id: &str| crate::audience::Recipient {
            id: id.into(),
            last_interaction: None,
            vars: crate::audience::Vars::default(),
        };
        let audiences = Audiences::from_rows([(0, person("1")), (0, person("2")), (0, person("3")), (1, person("4"))]);
        let mut plan = Plan {
            verdicts: vec![
                Verdict::Send,
                Verdict::Skip(SkipReason::AlreadySent),
                Verdict::Skip(SkipReason::TemplateError),
                Verdict::Send,
            ],
            details: HashMap::new(),
        };
        let statuses = HashMap::from([
            ("5".to_string(), TemplateStatus::NotApproved { status: "REJECTED".into(), reason: Some("SCAM".into()) }),
            ("6".to_string(), TemplateStatus::Approved),
        ]);
        block_pages(&mut plan, &campaign, &audiences, &blocked(&campaign, &statuses));
        let verdicts: Vec<&Verdict> = plan.verdicts.iter().collect();
        let not_approved = Verdict::Skip(SkipReason::TemplateNotApproved);
        assert_eq!(verdicts, [&not_approved, &Verdict::Skip(SkipReason::AlreadySent), &not_approved, &Verdict::Send]);
        assert_eq!(plan.details[&0], "template order_update (en_US) is REJECTED: SCAM");
        assert!(!plan.details.contains_key(&1));
    }

    #[test]
    fn status_compares_name_and_language_exactly() {
        let l = |name: &str, lang: &str, status: &str| Listed {
            name: name.into(),
            language: lang.into(),
            status: status.into(),
            rejected_reason: None,
            components: vec![],
        };
        let listed = vec![
            l("order_update_v2", "en_US", "APPROVED"),
            l("order_update", "en", "APPROVED"),
            l("order_update", "en_US", "PAUSED"),
        ];
        let found = status_of(&listed, "order_update", "en_US");
        assert_eq!(
            TemplateStatus::from_listed(found),
            TemplateStatus::NotApproved { status: "PAUSED".into(), reason: None }
        );
        assert_eq!(TemplateStatus::from_listed(status_of(&listed, "x", "en_US")), TemplateStatus::Missing);
    }
}
