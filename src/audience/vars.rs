//! A recipient's template variables, packed for audiences of millions.
//!
//! The column names are shared by every row of an audience file (one
//! `Arc<[Arc<str>]>`), and a row's values are packed into one string
//! separated by U+001F (the ASCII unit separator), so a row costs one small
//! allocation instead of one per variable.

use std::sync::Arc;

const SEP: char = '\u{1f}';

/// Column names shared by the rows of one audience.
pub type Names = Arc<[Arc<str>]>;

/// Appends `values` to `out`, packed as [`Vars`] packs them.
pub fn pack_into<'a>(out: &mut String, values: impl IntoIterator<Item = &'a str>) {
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(SEP);
        }
        if v.contains(SEP) {
            out.push_str(&v.replace(SEP, " "));
        } else {
            out.push_str(v);
        }
    }
}

/// Template variables of one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vars {
    names: Option<Names>,
    values: Box<str>,
}

impl Vars {
    /// Variables from values in the order of `names`. A value holding
    /// U+001F (never seen in real text) has it replaced by a space.
    pub fn new<'a>(names: &Names, values: impl IntoIterator<Item = &'a str>) -> Self {
        if names.is_empty() {
            return Vars::default();
        }
        let mut packed = String::new();
        pack_into(&mut packed, values);
        Vars { names: Some(names.clone()), values: packed.into() }
    }

    /// Variables from (name, value) pairs (inline rows, JSONL lines).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let (names, values): (Vec<Arc<str>>, Vec<String>) =
            pairs.into_iter().map(|(k, v)| (Arc::from(k.as_ref()), v.as_ref().to_string())).unzip();
        Vars::new(&Arc::from(names), values.iter().map(String::as_str))
    }

    /// (name, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let names = self.names.as_deref().unwrap_or_default();
        names.iter().map(|n| &**n).zip(self.values.split(SEP))
    }

    /// How many variables.
    pub fn len(&self) -> usize {
        self.names.as_ref().map_or(0, |n| n.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The shared names and the packed values; None when there are none.
    pub fn parts(&self) -> Option<(&Names, &str)> {
        self.names.as_ref().filter(|n| !n.is_empty()).map(|n| (n, &*self.values))
    }

    /// Borrows these variables.
    pub fn as_ref(&self) -> VarsRef<'_> {
        self.parts().map_or_else(VarsRef::default, |(names, values)| VarsRef::new(names, values))
    }

    /// Merges `later` into these variables, key by key; `later` wins.
    pub fn merge(&mut self, later: Vars) {
        if later.is_empty() {
            return;
        }
        let same_names = match (&self.names, &later.names) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => self.is_empty(),
        };
        if same_names {
            *self = later;
            return;
        }
        let mut pairs: Vec<(String, String)> = self.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for (k, v) in later.iter() {
            match pairs.iter_mut().find(|(name, _)| name == k) {
                Some(slot) => slot.1 = v.to_string(),
                None => pairs.push((k.to_string(), v.to_string())),
            }
        }
        *self = Vars::from_pairs(pairs);
    }
}

/// Template variables borrowed from where they are kept (an audience of
/// millions keeps them packed, see `merge::People`).
#[derive(Debug, Clone, Copy, Default)]
pub struct VarsRef<'a> {
    names: Option<&'a Names>,
    values: &'a str,
}

impl<'a> VarsRef<'a> {
    /// `values` packed as [`Vars`] packs them, in the order of `names`.
    pub fn new(names: &'a Names, values: &'a str) -> Self {
        VarsRef { names: Some(names), values }
    }

    /// (name, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        let names: &'a [Arc<str>] = self.names.map_or(&[], |n| &n[..]);
        names.iter().map(|n| &**n).zip(self.values.split(SEP))
    }

    /// How many variables.
    pub fn len(&self) -> usize {
        self.names.map_or(0, |n| n.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The shared names and the packed values; None when there are none.
    pub fn parts(&self) -> Option<(&'a Names, &'a str)> {
        self.names.filter(|n| !n.is_empty()).map(|n| (n, self.values))
    }

    /// An owned copy (to merge into).
    pub fn to_vars(&self) -> Vars {
        match self.names {
            Some(names) if !names.is_empty() => Vars { names: Some(names.clone()), values: self.values.into() },
            _ => Vars::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_iterates() {
        let names: Names = Arc::from(vec![Arc::from("a"), Arc::from("b")]);
        let v = Vars::new(&names, ["1", ""]);
        assert_eq!(v.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "")]);
        assert_eq!(v.get("b"), Some(""));
        assert_eq!(v.get("c"), None);
    }

    #[test]
    fn merge_later_wins_key_by_key() {
        let mut v = Vars::from_pairs([("a", "1"), ("b", "2")]);
        v.merge(Vars::from_pairs([("b", "3"), ("c", "4")]));
        assert_eq!(v.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "3"), ("c", "4")]);
        v.merge(Vars::default());
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn the_separator_cannot_split_a_value() {
        let v = Vars::from_pairs([("a", "x\u{1f}y")]);
        assert_eq!(v.get("a"), Some("x y"));
    }
}
