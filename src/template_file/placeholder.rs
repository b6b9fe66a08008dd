//! Meta's placeholders in template text: `{{1}}` (positional) or
//! `{{order_id}}` (named), written without spaces as Meta stores them.

/// One placeholder found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// What is between the braces: `1` or `order_id`.
    pub name: String,
    /// Byte offset of its `{{`.
    pub start: usize,
    /// Byte offset just past its `}}`.
    pub end: usize,
}

impl Placeholder {
    /// True for `{{1}}`-style placeholders.
    pub fn is_positional(&self) -> bool {
        self.name.bytes().all(|b| b.is_ascii_digit())
    }
}

/// True for a name Meta accepts in a NAMED template.
pub fn is_named(name: &str) -> bool {
    name.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Every placeholder of `text`, in order; Err names the first malformed one.
pub fn scan(text: &str) -> Result<Vec<Placeholder>, String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            return Err(format!("`{{{{` at character {} is never closed with `}}}}`", char_index(text, open) + 1));
        };
        let name = &text[open + 2..close];
        let digits = !name.is_empty() && name.len() <= 3 && name.bytes().all(|b| b.is_ascii_digit());
        if !digits && !is_named(name) {
            return Err(format!(
                "`{{{{{name}}}}}` is not a placeholder: write `{{{{1}}}}` or `{{{{order_id}}}}` (lowercase, no spaces)"
            ));
        }
        out.push(Placeholder { name: name.to_string(), start: open, end: close + 2 });
        from = close + 2;
    }
    Ok(out)
}

/// Distinct names in order of first appearance.
pub fn distinct(found: &[Placeholder]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in found {
        if !out.contains(&p.name) {
            out.push(p.name.clone());
        }
    }
    out
}

/// `text` with every placeholder replaced by `value(name)`.
pub fn fill(text: &str, found: &[Placeholder], value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for p in found {
        out.push_str(&text[at..p.start]);
        out.push_str(&value(&p.name));
        at = p.end;
    }
    out.push_str(&text[at..]);
    out
}

fn char_index(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_positional_and_named() {
        let found = scan("Hi {{first_name}}, order {{2}} and {{first_name}}").unwrap();
        let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["first_name", "2", "first_name"]);
        assert_eq!(distinct(&found), ["first_name", "2"]);
        assert!(found[1].is_positional() && !found[0].is_positional());
    }

    #[test]
    fn refuses_spaces_capitals_and_open_braces() {
        assert!(scan("Hi {{ name }}").unwrap_err().contains("not a placeholder"));
        assert!(scan("Hi {{Name}}").is_err());
        assert!(scan("Hi {{1").unwrap_err().contains("never closed"));
        assert_eq!(scan("no placeholders {x}").unwrap(), vec![]);
    }

    #[test]
    fn fills_in_order() {
        let text = "Hi {{1}}, order {{2}}.";
        let found = scan(text).unwrap();
        assert_eq!(fill(text, &found, |n| format!("<{n}>")), "Hi <1>, order <2>.");
    }
}
