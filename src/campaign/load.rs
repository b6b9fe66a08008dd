//! The one place that reads campaign files.
//!
//! A file is parsed once with saphyr, which keeps a span on every node; the
//! tree becomes a `serde_json::Value` (what the JSON Schema and the typed model
//! read) plus a [`Spans`] table from JSON pointer to line and column, so any
//! later error that names a pointer can point at the YAML node at fault.
//!
//! No file may crash the process. saphyr's own `load` recurses once per
//! nesting level, so a 34 KB file of `- - - … x` would overflow the stack.
//! Here the parser's events are pulled one at a time (the parser is a state
//! machine with its own heap stack) and handed to saphyr's loader, counting
//! the depth on the way: the 65th level is refused before anything recurses.
//! Alias expansion is capped by the loader's node budget, and the tree the
//! expansion builds is measured again while it becomes JSON.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use saphyr::{MarkedYaml, Scalar, YamlData, YamlLoader};
use saphyr_parser::{Event, Parser, ScanError, SpannedEventReceiver};
use serde_json::{Map, Number, Value};

use super::diagnostic::{Diagnostic, Pos};

/// Campaign files larger than this are refused: recipients in bulk belong in
/// audience files, which are streamed.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// Mappings and sequences may nest this deep (the top-level mapping is level
/// 1; a real campaign uses about 8).
pub const MAX_DEPTH: usize = 64;

/// Nodes that anchors (`&a`) may copy in through aliases (`*a`), in all.
pub const MAX_ALIAS_NODES: usize = 10_000;

/// Where each node of a loaded file sits.
#[derive(Debug, Default, Clone)]
pub struct Spans {
    nodes: HashMap<String, NodeSpan>,
}

/// The place of one node: its value, and its key when it sits in a mapping.
#[derive(Debug, Clone, Copy)]
struct NodeSpan {
    key: Option<Pos>,
    value: Pos,
}

impl Spans {
    /// Where the value at `pointer` starts; falls back to the nearest
    /// enclosing node that has a place (and to 1:1 for the whole file).
    pub fn value(&self, pointer: &str) -> Pos {
        self.find(pointer).map(|n| n.value).unwrap_or(Pos { line: 1, col: 1 })
    }

    /// Where the key of the entry at `pointer` starts (for unknown or
    /// misplaced fields); the value's place when it has no key.
    pub fn key(&self, pointer: &str) -> Pos {
        self.find(pointer).map(|n| n.key.unwrap_or(n.value)).unwrap_or(Pos { line: 1, col: 1 })
    }

    fn find(&self, pointer: &str) -> Option<NodeSpan> {
        let mut p = pointer;
        loop {
            if let Some(n) = self.nodes.get(p) {
                return Some(*n);
            }
            let cut = p.rfind('/')?;
            p = &p[..cut];
        }
    }
}

/// A campaign file read and parsed, not yet checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file it came from.
    pub path: PathBuf,
    /// Its contents as JSON.
    pub value: Value,
    /// Where each node sits.
    pub spans: Spans,
}

impl Loaded {
    /// An error pointing at the value at `pointer`.
    pub fn error_at(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let field = super::diagnostic::field_name(pointer);
        Diagnostic::error(&self.path, self.spans.value(pointer), &field, message)
    }

    /// An error pointing at the key of the entry at `pointer`.
    pub fn error_at_key(&self, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let field = super::diagnostic::field_name(pointer);
        Diagnostic::error(&self.path, self.spans.key(pointer), &field, message)
    }
}

/// Reads and parses one campaign file.
pub fn load_file(path: &Path) -> Result<Loaded, Diagnostic> {
    use std::io::Read;
    let at_start = Pos { line: 1, col: 1 };
    let cannot = |e: std::io::Error| {
        Diagnostic::error(path, at_start, "", format!("cannot read the file: {e}"))
            .with_hint("check the path and the file's permissions")
    };
    // Read at most one byte past the limit: a huge file is refused without
    // being loaded into memory.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_FILE_BYTES {
        let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(too_large(path, size));
    }
    load_bytes(path, &bytes)
}

fn too_large(path: &Path, size: u64) -> Diagnostic {
    Diagnostic::error(
        path,
        Pos { line: 1, col: 1 },
        "",
        format!("the file is {size} bytes; campaign files are limited to {MAX_FILE_BYTES} bytes (1 MiB)"),
    )
    .with_hint("move recipients into an audience file (`audiences: - file: people.csv`), which is streamed")
}

/// Parses campaign file contents (already read) as if from `path`.
pub fn load_bytes(path: &Path, bytes: &[u8]) -> Result<Loaded, Diagnostic> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let pos = pos_of_byte(bytes, e.valid_up_to());
        Diagnostic::error(path, pos, "", "the file is not valid UTF-8")
            .with_hint("save the file as UTF-8 (most editors offer this under 'Save with encoding')")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = parse(text).map_err(|e| match e {
        // The scanner keeps its own limit on `[`/`{` levels (it looks ahead
        // past ours); it is the same limit to the reader.
        ParseError::Scan(e) if e.info().contains("recursion limit") => {
            too_deep(path, Pos { line: e.marker().line(), col: e.marker().col() + 1 })
        }
        ParseError::Scan(e) => {
            let m = e.marker();
            let mut pos = Pos { line: m.line(), col: m.col() + 1 };
            let (message, hint) = explain_scan_error(e.info(), text, &mut pos);
            Diagnostic::error(path, pos, "", message).with_hint(hint)
        }
        ParseError::TooDeep(pos) => too_deep(path, pos),
    })?;
    let doc = match docs.as_slice() {
        [] => return Err(empty_file(path)),
        [doc] => doc,
        [_, second, ..] => {
            let second_line = pos_of(second).line;
            let marker = text.lines().take(second_line).enumerate().filter(|(_, l)| l.starts_with("---")).last();
            let pos = marker.map_or(pos_of(second), |(i, _)| Pos { line: i + 1, col: 1 });
            return Err(Diagnostic::error(path, pos, "", "the file holds more than one YAML document").with_hint(
                "keep one campaign per file; remove the `---` line and what follows, or move it to its own file",
            ));
        }
    };
    if matches!(doc.data, YamlData::Value(Scalar::Null)) {
        return Err(empty_file(path));
    }
    let mut spans = Spans::default();
    let value = to_json(doc, String::new(), None, 1, &mut spans)
        .map_err(|(pos, field, message, hint)| Diagnostic::error(path, pos, &field, message).with_hint(hint))?;
    if !value.is_object() {
        return Err(Diagnostic::error(path, pos_of(doc), "", "a campaign file must be a mapping of fields")
            .with_hint("start with `version: 1` and `id: my-campaign` on lines of their own"));
    }
    Ok(Loaded { path: path.to_path_buf(), value, spans })
}

/// Why the text did not become a YAML tree.
enum ParseError {
    /// The parser's own error (syntax, duplicate key, alias budget).
    Scan(ScanError),
    /// A mapping or sequence deeper than [`MAX_DEPTH`] starts here.
    TooDeep(Pos),
}

/// Parses every document of `text` without recursing more than
/// [`MAX_DEPTH`] levels: events are pulled from the parser one by one, the
/// depth is counted, and each event goes on to saphyr's loader.
fn parse(text: &str) -> Result<Vec<MarkedYaml<'_>>, ParseError> {
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    loader.alias_limit(MAX_ALIAS_NODES);
    let mut depth = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(ParseError::Scan)?;
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ParseError::TooDeep(Pos { line: span.start.line(), col: span.start.col() + 1 }));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        loader.on_event(event, span);
        if let Some(e) = loader.error() {
            return Err(ParseError::Scan(e.clone()));
        }
    }
    Ok(loader.into_documents())
}

fn too_deep(path: &Path, pos: Pos) -> Diagnostic {
    Diagnostic::error(
        path,
        pos,
        "",
        format!(
            "mappings and lists nest deeper than {MAX_DEPTH} levels here; campaign files are limited to {MAX_DEPTH}"
        ),
    )
    .with_hint("a campaign needs a few levels only: check for a run of `- - -` or unclosed `[`/`{`")
}

fn empty_file(path: &Path) -> Diagnostic {
    Diagnostic::error(path, Pos { line: 1, col: 1 }, "", "the file is empty")
        .with_hint("a campaign needs at least `version`, `id`, `pages`, `audiences` and `message`; see examples/")
}

fn pos_of(node: &MarkedYaml<'_>) -> Pos {
    Pos { line: node.span.start.line(), col: node.span.start.col() + 1 }
}

/// The line and column of byte `offset` in possibly invalid UTF-8.
fn pos_of_byte(bytes: &[u8], offset: usize) -> Pos {
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    Pos { line, col }
}

/// Rephrases the parser's message and says how to fix the usual causes.
fn explain_scan_error(info: &str, text: &str, pos: &mut Pos) -> (String, String) {
    let line = text.lines().nth(pos.line.saturating_sub(1)).unwrap_or("");
    let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
    if info.contains("tab") || indent.contains('\t') {
        if let Some(i) = indent.find('\t') {
            pos.col = indent[..i].chars().count() + 1;
        }
        return (
            "a tab is used for indentation".into(),
            "YAML indents with spaces only; replace the tab with spaces".into(),
        );
    }
    if info.contains("alias expansion") {
        return (
            format!("the aliases (`*name`) of this file expand to more than {MAX_ALIAS_NODES} nodes"),
            "write the repeated part out once, or use fewer aliases of aliases; campaign files need no large expansions".into(),
        );
    }
    if info.contains("duplicated key") {
        let key_at = |l: &str| -> String {
            let rest: String = l.chars().skip(pos.col - 1).collect();
            rest.split(':').next().unwrap_or("").trim().trim_matches(['"', '\'']).to_string()
        };
        let key = key_at(line);
        // The first entry: the last earlier line with the same key at the same column.
        let before: Vec<&str> = text.lines().take(pos.line - 1).collect();
        let first = before.iter().rposition(|l| key_at(l) == key);
        let first = first.map(|i| format!(" (first at line {})", i + 1)).unwrap_or_default();
        return (
            format!("`{key}` appears twice in the same mapping{first}"),
            "keep one of the two entries; YAML does not merge repeated keys".into(),
        );
    }
    (
        format!("YAML syntax: {info}"),
        "check the indentation and quoting on this line and the one before; quote text that holds `: ` or starts with `{`, `[`, `*`, `&`, `!` or `#`".into(),
    )
}

/// Where a node could not become JSON: its place, its field, why, and the fix.
type ConvertError = (Pos, String, String, &'static str);

/// Converts a saphyr node into JSON, recording the place of every node.
/// `depth` is the node's level (the top is 1): an alias can put a deep
/// anchor under a deep node, so the limit is checked again here.
fn to_json(
    node: &MarkedYaml<'_>,
    pointer: String,
    key: Option<Pos>,
    depth: usize,
    spans: &mut Spans,
) -> Result<Value, ConvertError> {
    spans.nodes.insert(pointer.clone(), NodeSpan { key, value: pos_of(node) });
    let nested = matches!(node.data, YamlData::Sequence(_) | YamlData::Mapping(_));
    if nested && depth > MAX_DEPTH {
        return Err((
            pos_of(node),
            String::new(),
            format!(
                "with its aliases (`*name`) expanded, this nests deeper than {MAX_DEPTH} levels; campaign files are limited to {MAX_DEPTH}"
            ),
            "write the part out instead of nesting aliases of aliases",
        ));
    }
    match &node.data {
        YamlData::Value(scalar) => Ok(scalar_to_json(scalar)),
        YamlData::Representation(text, _, _) => Ok(Value::String(text.to_string())),
        YamlData::Tagged(_, inner) => to_json(inner, pointer, key, depth, spans),
        YamlData::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(to_json(item, format!("{pointer}/{i}"), None, depth + 1, spans)?);
            }
            Ok(Value::Array(out))
        }
        YamlData::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let name = key_text(k).ok_or_else(|| {
                    let message = format!("a mapping key must be plain text (at line {})", pos_of(k).line);
                    (pos_of(node), super::diagnostic::field_name(&pointer), message, "write keys as plain words")
                })?;
                let child = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                let value = to_json(v, child, Some(pos_of(k)), depth + 1, spans)?;
                out.insert(name, value);
            }
            Ok(Value::Object(out))
        }
        YamlData::Alias(_) | YamlData::BadValue => {
            let hint = "an alias `*name` needs an anchor `&name` earlier in the file";
            Err((
                pos_of(node),
                super::diagnostic::field_name(&pointer),
                "this YAML node could not be read".into(),
                hint,
            ))
        }
    }
}

fn key_text(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::Null) => Some("null".into()),
        YamlData::Representation(text, _, _) => Some(text.to_string()),
        _ => None,
    }
}

fn scalar_to_json(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => {
            Number::from_f64(f.into_inner()).map_or_else(|| Value::String(f.to_string()), Value::Number)
        }
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Loaded, Diagnostic> {
        load_bytes(Path::new("c.yaml"), text.as_bytes())
    }

    #[test]
    fn pointers_map_to_lines_and_columns() {
        let l = load("version: 1\npages:\n  - id: \"5\"\n    provider: graph\n").unwrap();
        assert_eq!(l.spans.value("/pages/0/provider"), Pos { line: 4, col: 15 });
        assert_eq!(l.spans.key("/pages/0/provider"), Pos { line: 4, col: 5 });
        assert_eq!(l.spans.value("/pages/0/missing"), Pos { line: 3, col: 5 });
        assert_eq!(l.value["pages"][0]["id"], "5");
    }

    #[test]
    fn multibyte_text_keeps_columns_in_characters() {
        let l = load("description: \"Chào bạn\"\nid: x\n").unwrap();
        assert_eq!(l.spans.value("/id"), Pos { line: 2, col: 5 });
    }

    #[test]
    fn duplicate_keys_are_refused_at_the_second() {
        let e = load("id: a\nversion: 1\nid: b\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 1));
        assert!(e.message.contains("twice"), "{e}");
    }

    #[test]
    fn empty_and_comment_only_files_are_empty() {
        assert!(load("").unwrap_err().message.contains("empty"));
        assert!(load("# nothing\n").unwrap_err().message.contains("empty"));
    }

    #[test]
    fn invalid_utf8_points_at_the_byte() {
        let e = load_bytes(Path::new("c.yaml"), b"id: a\ndescription: \xff\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 14));
    }

    #[test]
    fn timestamps_and_quoted_digits_stay_text() {
        let l = load("a: 2026-11-20T08:00:00Z\nb: \"500\"\nc: 500\n").unwrap();
        assert_eq!(l.value["a"], "2026-11-20T08:00:00Z");
        assert_eq!(l.value["b"], "500");
        assert_eq!(l.value["c"], 500);
    }
}
