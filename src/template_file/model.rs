//! The template file as written: serde + schemars types whose doc comments
//! become the descriptions of `schema/template.schema.json`.
//!
//! As with campaigns, these types say only what a schema can say; the rules
//! about placeholders, examples and buttons live in `check.rs`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Messenger utility template declared as code: `pagecast templates apply`
/// creates it on each page, `plan` and `run` send it only where it is APPROVED.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pagecast utility template")]
pub struct RawTemplateFile {
    /// Version of the template file format. Always 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u8,
    /// Meta's template name: lowercase letters, digits and `_`. An approved
    /// template cannot be edited; a change means a new name.
    #[schemars(regex(pattern = r"^[a-z0-9_]{1,512}$"))]
    pub template: String,
    /// Language code, e.g. `en_US` or `vi`. One file per language.
    #[schemars(regex(pattern = r"^[a-z]{2,3}(_[A-Z]{2})?$"))]
    pub language: String,
    /// What the template is for, for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The Pages where the template must exist, each with its token's variable.
    #[schemars(length(min = 1))]
    pub pages: Vec<TemplatePageSpec>,
    /// How placeholders are written: NAMED (`{{order_id}}`) or POSITIONAL
    /// (`{{1}}`, `{{2}}` …). Default POSITIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_format: Option<ParameterFormat>,
    /// Header text (optional, at most 60 characters, at most one placeholder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Body text, at most 1024 characters. Placeholders may not start or end it.
    #[schemars(length(min = 1))]
    pub body: String,
    /// Buttons: `POSTBACK` {text, payload} or `URL` {text, url, example}.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ButtonSpec>,
    /// An example value for every placeholder, which Meta's review requires.
    /// NAMED: keyed by name (`order_id: "A123"`). POSITIONAL: the body's
    /// `{{N}}` by `"N"`, the header's `{{1}}` by `header`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub examples: BTreeMap<String, String>,
}

/// A Page where the template must exist.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePageSpec {
    /// The Page id: digits, written as a quoted string.
    #[schemars(regex(pattern = r"^[0-9]{1,32}$"))]
    pub id: String,
    /// Name of the environment variable that holds the Page's access token.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: String,
}

/// How placeholders are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
// Variant texts live in plain comments, as in the campaign model (plain enums in the schema).
#[allow(missing_docs)]
pub enum ParameterFormat {
    // `{{1}}`, `{{2}}` … numbered in order (Meta's default).
    #[default]
    Positional,
    // `{{order_id}}`: lowercase letters, digits and `_`.
    Named,
}

impl ParameterFormat {
    /// The name Meta uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ParameterFormat::Positional => "POSITIONAL",
            ParameterFormat::Named => "NAMED",
        }
    }
}

/// A button of the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ButtonSpec {
    /// `POSTBACK` (sends `payload` back) or `URL` (opens `url`).
    #[serde(rename = "type")]
    pub kind: ButtonKind,
    /// The button's label, at most 20 characters.
    #[schemars(length(min = 1))]
    pub text: String,
    /// The payload sent back when tapped (POSTBACK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The https URL (URL); it may end in `{{1}}`, a suffix each message fills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An example suffix for a URL ending in `{{1}}` (required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

/// The kind of a button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
// Variant texts live in plain comments, as in the campaign model (plain enums in the schema).
#[allow(missing_docs)]
pub enum ButtonKind {
    // Sends `payload` back to the page's webhook.
    Postback,
    // Opens `url`.
    Url,
}
