//! Page message templates: `GET` and `POST [/prefix]/{page}/message_templates`,
//! with review states that tests drive through
//! `POST /_sandbox/templates/{page}/{name}/{language}/{approve|reject|pause|disable}`.
//!
//! Like Meta, a create needs `name`, `language`, `category: UTILITY`, a
//! BODY component and an example for a body with placeholders; it answers
//! `{id, status, category}` and the template waits in PENDING until a test
//! approves it (or at once, with `templates_approve_on_create`). A listing
//! pages with `paging.next` links back to this sandbox.

use std::collections::HashMap;

use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::Config;
use crate::fault::Fault;
use crate::journal::{Entry, Kind};
use crate::reply::{self, GraphError};
use crate::state::Sandbox;

/// Every page's templates, in creation order.
#[derive(Debug, Default)]
pub struct Store {
    by_page: HashMap<String, Vec<Value>>,
    next_id: u64,
}

impl Store {
    /// The templates a config starts with (each gets an `id` and defaults:
    /// status APPROVED, category UTILITY).
    pub fn from_config(config: &Config) -> Self {
        let mut store = Store { by_page: HashMap::new(), next_id: 1 };
        for (page, list) in &config.templates {
            for t in list {
                let mut t = t.clone();
                let id = store.id();
                let obj = t.as_object_mut().expect("config checks templates are objects");
                obj.entry("id").or_insert_with(|| id.into());
                obj.entry("status").or_insert_with(|| "APPROVED".into());
                obj.entry("category").or_insert_with(|| "UTILITY".into());
                obj.entry("components").or_insert_with(|| json!([]));
                store.by_page.entry(page.clone()).or_default().push(t);
            }
        }
        store
    }

    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("{}", 9_000_000 + self.next_id)
    }

    /// Everything, for `GET /_sandbox/templates`.
    pub fn all(&self) -> Value {
        json!(self.by_page)
    }

    /// Changes a template's review status; the template as it now is, or None.
    pub fn set_status(
        &mut self,
        page: &str,
        name: &str,
        language: &str,
        action: &str,
        reason: Option<&str>,
    ) -> Option<Value> {
        let status = match action {
            "approve" => "APPROVED",
            "reject" => "REJECTED",
            "pause" => "PAUSED",
            "disable" => "DISABLED",
            _ => return None,
        };
        let t = self.find_mut(page, name, language)?;
        t["status"] = status.into();
        t["rejected_reason"] = match (status, reason) {
            ("REJECTED", r) => r.unwrap_or("INVALID_FORMAT").into(),
            ("APPROVED", _) => "NONE".into(),
            (_, Some(r)) => r.into(),
            (_, None) => Value::Null,
        };
        Some(t.clone())
    }

    fn find_mut(&mut self, page: &str, name: &str, language: &str) -> Option<&mut Value> {
        self.by_page.get_mut(page)?.iter_mut().find(|t| t["name"] == name && t["language"] == language)
    }

    /// Creates a template from a request body; Meta's answer or its error.
    fn create(&mut self, page: &str, body: &Value, approve: bool) -> Result<Value, GraphError> {
        check_create(body).map_err(|m| GraphError::with_message(100, None, format!("(#100) {m}")))?;
        let (name, language) = (body["name"].as_str().unwrap_or(""), body["language"].as_str().unwrap_or(""));
        if self.find_mut(page, name, language).is_some() {
            let message = format!("(#100) A template named {name} already exists in {language}");
            return Err(GraphError::with_message(100, Some(2_388_024), message));
        }
        let id = self.id();
        let status = if approve { "APPROVED" } else { "PENDING" };
        let stored = json!({
            "id": id, "name": name, "language": language, "status": status, "category": "UTILITY",
            "parameter_format": body.get("parameter_format").cloned().unwrap_or_else(|| "POSITIONAL".into()),
            "components": body["components"],
        });
        self.by_page.entry(page.to_owned()).or_default().push(stored);
        Ok(json!({ "id": id, "status": status, "category": "UTILITY" }))
    }

    /// One page of the listing (`after` is an index), with the fields asked for.
    fn list(
        &self,
        page: &str,
        params: &HashMap<String, String>,
        page_size: usize,
    ) -> Result<(Vec<Value>, Option<usize>), String> {
        let all = self.by_page.get(page).map(Vec::as_slice).unwrap_or_default();
        let start = match params.get("after") {
            Some(a) => a.parse::<usize>().map_err(|_| format!("(#100) invalid cursor {a:?}"))?,
            None => 0,
        };
        let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(page_size).max(1);
        let fields: Option<Vec<&str>> = params.get("fields").map(|f| f.split(',').map(str::trim).collect());
        let rows = all
            .iter()
            .skip(start)
            .take(limit)
            .map(|t| match &fields {
                None => t.clone(),
                Some(f) => {
                    let obj = t.as_object().expect("stored templates are objects");
                    let kept = obj.iter().filter(|(k, _)| *k == "id" || f.contains(&k.as_str()));
                    Value::Object(kept.map(|(k, v)| (k.clone(), v.clone())).collect())
                }
            })
            .collect();
        let next = (start + limit < all.len()).then_some(start + limit);
        Ok((rows, next))
    }
}

/// Meta's required parameters of a create.
fn check_create(body: &Value) -> Result<(), String> {
    let name = body["name"].as_str().unwrap_or("");
    if name.is_empty()
        || name.len() > 512
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!("Param name must be lowercase letters, digits and underscores, got {name:?}"));
    }
    if body["language"].as_str().is_none_or(str::is_empty) {
        return Err("The parameter language is required".into());
    }
    if body["category"] != "UTILITY" {
        return Err("Param category must be UTILITY".into());
    }
    if let Some(f) = body.get("parameter_format")
        && f != "NAMED"
        && f != "POSITIONAL"
    {
        return Err("Param parameter_format must be one of {NAMED, POSITIONAL}".into());
    }
    let components = body["components"].as_array().ok_or("The parameter components is required")?;
    let bodies: Vec<&Value> = components.iter().filter(|c| c["type"] == "BODY").collect();
    let [text] = bodies.as_slice() else { return Err("components must hold exactly one BODY".into()) };
    let has_params = text["text"].as_str().is_some_and(|t| t.contains("{{"));
    let example = &text["example"];
    if has_params && example.get("body_text").is_none() && example.get("body_text_named_params").is_none() {
        return Err("Param example is required for a BODY with parameters".into());
    }
    Ok(())
}

/// `[/prefix]/{page}/message_templates`: the page, or None for other paths.
pub fn route(method: &Method, path: &str) -> Option<String> {
    let mut segments = path.rsplit('/').filter(|s| !s.is_empty());
    let (last, page) = (segments.next()?, segments.next()?);
    (last == "message_templates" && (method == Method::GET || method == Method::POST)).then(|| page.to_owned())
}

/// Answers a template request: token checks as everywhere (header only,
/// never the URL), the page's fault script under `templates:{page}`, the
/// journal, then the store.
pub fn handle(sandbox: &Sandbox, page: &str, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let config = sandbox.config();
    let params: HashMap<String, String> = match uri.query() {
        Some(_) => axum::extract::Query::try_from_uri(uri).map_or_else(|_| HashMap::new(), |q| q.0),
        None => HashMap::new(),
    };
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = auth.and_then(|a| a.strip_prefix("Bearer ")).map(str::trim).filter(|t| !t.is_empty());
    let token_ok = token.is_some()
        && !params.contains_key("access_token")
        && config.tokens.get(page).is_none_or(|expected| Some(expected.as_str()) == token);
    let json_body: Value =
        if method == Method::POST { serde_json::from_slice(body).unwrap_or(Value::Null) } else { Value::Null };
    let fault = if token_ok { sandbox.pick_fault(&config, &format!("templates:{page}"), false) } else { Fault::Ok };
    let label = if token_ok { fault.to_string() } else { "auth_error".to_owned() };
    let entry = Entry {
        method: if method == Method::GET { "GET" } else { "POST" },
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        authorization: auth,
        page: Some(page),
        recipient: None,
        kind: Kind::Templates,
        fault: &label,
        body: &json_body,
    };
    let seq = sandbox.journal.record(&entry);
    if !token_ok {
        return reply::graph_bad_token(seq);
    }
    match fault {
        Fault::Graph { code, subcode, transient } => {
            return GraphError::generic(code, subcode, transient).into_response(seq);
        }
        Fault::Throttle { minutes } => return reply::graph_throttle(page, minutes, seq),
        Fault::Http { status } => return reply::plain(status, format!("sandbox http {}", status.as_u16())),
        _ => {}
    }
    let mut store = sandbox.templates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if method == Method::POST {
        if !json_body.is_object() {
            return GraphError::with_message(100, None, "(#100) The request body must be a JSON object")
                .into_response(seq);
        }
        return match store.create(page, &json_body, config.templates_approve_on_create) {
            Ok(answer) => axum::Json(answer).into_response(),
            Err(e) => e.into_response(seq),
        };
    }
    match store.list(page, &params, config.templates_page_size) {
        Ok((rows, next)) => {
            let mut doc = json!({ "data": rows });
            if let Some(after) = next {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map_or_else(|| sandbox.local_addr.to_string(), str::to_owned);
                let mut query: Vec<String> = uri
                    .query()
                    .unwrap_or_default()
                    .split('&')
                    .filter(|kv| !kv.is_empty() && !kv.starts_with("after="))
                    .map(str::to_owned)
                    .collect();
                query.push(format!("after={after}"));
                doc["paging"] = json!({ "cursors": { "after": after.to_string() }, "next": format!("http://{host}{}?{}", uri.path(), query.join("&")) });
            }
            axum::Json(doc).into_response()
        }
        Err(message) => GraphError::with_message(100, None, message).into_response(seq),
    }
}

/// `POST /_sandbox/templates/{page}/{name}/{language}/{action}` with an
/// optional `{"reason": "…"}`: the template after the change, or 404.
pub fn control(sandbox: &Sandbox, page: &str, name: &str, language: &str, action: &str, body: &[u8]) -> Response {
    let reason: Option<String> =
        serde_json::from_slice::<Value>(body).ok().and_then(|b| b["reason"].as_str().map(str::to_owned));
    let mut store = sandbox.templates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match store.set_status(page, name, language, action, reason.as_deref()) {
        Some(t) => axum::Json(t).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error": format!("no template {name} ({language}) on page {page}, or unknown action {action} (approve, reject, pause, disable)")})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Config {
        Config::from_json(json.as_bytes(), None).expect("valid config")
    }

    #[test]
    fn routes_message_templates_only() {
        assert_eq!(route(&Method::GET, "/v25.0/500/message_templates"), Some("500".into()));
        assert_eq!(route(&Method::POST, "/500/message_templates"), Some("500".into()));
        assert_eq!(route(&Method::DELETE, "/500/message_templates"), None);
        assert_eq!(route(&Method::GET, "/500/conversations"), None);
    }

    #[test]
    fn create_then_review_then_list() {
        let mut store = Store::from_config(&config("{}"));
        let body = json!({"name": "order_update", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}.", "example": {"body_text": [["Lan"]]}}]});
        let answer = store.create("500", &body, false).unwrap();
        assert_eq!(answer["status"], "PENDING");
        assert_eq!(store.create("500", &body, false).unwrap_err().subcode, Some(2_388_024));
        let rejected =
            store.set_status("500", "order_update", "en_US", "reject", Some("TAG_CONTENT_MISMATCH")).unwrap();
        assert_eq!(
            (rejected["status"].as_str(), rejected["rejected_reason"].as_str()),
            (Some("REJECTED"), Some("TAG_CONTENT_MISMATCH"))
        );
        let (rows, next) = store.list("500", &HashMap::from([("fields".into(), "name,status".into())]), 25).unwrap();
        assert_eq!(rows, vec![json!({"id": answer["id"], "name": "order_update", "status": "REJECTED"})]);
        assert_eq!(next, None);
    }

    #[test]
    fn create_requires_metas_parameters() {
        let mut store = Store::default();
        let no_example = json!({"name": "a", "language": "en", "category": "UTILITY", "components": [{"type": "BODY", "text": "Hi {{1}}."}]});
        assert!(store.create("5", &no_example, false).unwrap_err().message.contains("example"));
        let marketing = json!({"name": "a", "language": "en", "category": "MARKETING", "components": [{"type": "BODY", "text": "Hi"}]});
        assert!(store.create("5", &marketing, false).unwrap_err().message.contains("UTILITY"));
    }

    #[test]
    fn config_templates_page() {
        let store = Store::from_config(&config(
            r#"{"templates": {"5": [{"name": "a", "language": "en"}, {"name": "b", "language": "en"}, {"name": "c", "language": "en"}]}}"#,
        ));
        let (rows, next) = store.list("5", &HashMap::from([("limit".into(), "2".into())]), 25).unwrap();
        assert_eq!((rows.len(), next), (2, Some(2)));
        assert_eq!(rows[0]["status"], "APPROVED");
        let (rows, next) = store.list("5", &HashMap::from([("after".into(), "2".into())]), 25).unwrap();
        assert_eq!((rows.len(), next), (1, None));
    }
}
