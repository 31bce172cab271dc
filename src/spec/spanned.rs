//! A TOML document as a tree that keeps the byte span of every key and value.
//!
//! Invariant: every later diagnostic about the spec is located through this
//! tree, so the tree and the JSON value built from it describe the same
//! document (same keys, same order).

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Number, Value};
use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Diagnostic, rules};

#[derive(Debug, Clone)]
pub struct Node {
    pub span: Range<usize>,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Table(Table),
    Array(Vec<Node>),
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
}

/// A table's entries in document order, with a key index once it is large
/// enough for linear lookups to matter (`[runners.*]` of a big bento).
#[derive(Debug, Clone, Default)]
pub struct Table {
    entries: Vec<Entry>,
    /// Boxed: most tables are small, and every node carries a `Table`'s size
    /// (one pointer instead of a whole map).
    #[allow(clippy::box_collection)]
    by_key: Option<Box<HashMap<String, usize>>>,
}

/// Tables up to this size are searched linearly (cheaper than hashing).
const INDEXED_TABLE: usize = 16;

impl Table {
    pub fn new(entries: Vec<Entry>) -> Self {
        let by_key = (entries.len() > INDEXED_TABLE).then(|| {
            Box::new(
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.key.clone(), i))
                    .collect(),
            )
        });
        Table { entries, by_key }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.by_key {
            Some(index) => index.get(key).map(|&i| &self.entries[i]),
            None => self.entries.iter().find(|e| e.key == key),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl Node {
    pub fn entries(&self) -> &[Entry] {
        match &self.kind {
            NodeKind::Table(table) => table.entries(),
            _ => &[],
        }
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            NodeKind::Table(table) => table.get(key),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// Follows a path; `None` when any step is missing.
    pub fn at_path(&self, path: &[Segment]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match (seg, &node.kind) {
                (Segment::Key(k), NodeKind::Table(_)) => node.get(k)?,
                (Segment::Index(i), NodeKind::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The entry (key + value) a path ends at; `None` for array items.
    pub fn entry_at_path(&self, path: &[Segment]) -> Option<&Entry> {
        let (last, parent) = path.split_last()?;
        match last {
            Segment::Key(k) => self.at_path(parent)?.entry(k),
            Segment::Index(_) => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to JSON for schema validation. Values JSON cannot carry
    /// become `null`: non-finite numbers with a diagnostic here, datetimes
    /// with one from the checks, which know what type was expected.
    pub fn to_json(&self, diags: &mut Vec<Diagnostic>) -> Value {
        match &self.kind {
            NodeKind::Table(table) => {
                let mut map = Map::new();
                for e in table.entries() {
                    map.insert(e.key.clone(), e.value.to_json(diags));
                }
                Value::Object(map)
            }
            NodeKind::Array(items) => {
                Value::Array(items.iter().map(|n| n.to_json(diags)).collect())
            }
            NodeKind::String(s) => Value::String(s.clone()),
            NodeKind::Integer(i) => Value::Number((*i).into()),
            NodeKind::Float(f) => match Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => {
                    diags.push(
                        Diagnostic::new(
                            &rules::INVALID_VALUE,
                            format!(
                                "`{f}` cannot be used: Ray Serve options must be finite numbers"
                            ),
                        )
                        .at(self.span.clone())
                        .label("not a finite number"),
                    );
                    Value::Null
                }
            },
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Datetime(_) => Value::Null,
        }
    }
}

/// Parses TOML text into a spanned tree, or returns a syntax diagnostic.
pub fn parse(text: &str) -> Result<Node, Vec<Diagnostic>> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| {
                let msg = e.message().trim().trim_end_matches('.');
                // The TOML reader's own nesting limits.
                let mut d = if msg.contains("recurs") {
                    too_deep("the TOML reader nests at most 80 arrays, inline tables or dotted key parts")
                } else {
                    // The label says what was expected, or marks the spot; it
                    // never repeats the message.
                    let (what, label) = match msg.split_once(", expected ") {
                        Some((what, expected)) if expected != "nothing" => {
                            (what, format!("expected {expected}"))
                        }
                        Some((what, _)) => (what, "here".to_string()),
                        None => (msg, "here".to_string()),
                    };
                    Diagnostic::new(&rules::TOML_SYNTAX, format!("invalid TOML: {what}")).label(label)
                };
                if let Some(span) = e.span() {
                    d = d.at(span);
                }
                d
            })
            .collect());
    }
    let span = root.span();
    let mut diags = Vec::new();
    let node = Node {
        span: 0..text.len().max(span.end),
        kind: NodeKind::Table(Table::new(convert_table(root.get_ref(), 1, &mut diags))),
    };
    if diags.is_empty() {
        Ok(node)
    } else {
        Err(diags)
    }
}

/// How deep a spec may nest tables and arrays (the root table is level 0).
/// The deepest Ray option is 4 levels down; user data in `args` or
/// `runtime_env` gets the rest.
pub const MAX_SPEC_DEPTH: usize = 64;

fn too_deep(why: &str) -> Diagnostic {
    Diagnostic::new(
        &rules::SPEC_TOO_DEEP,
        format!("the spec nests deeper than {MAX_SPEC_DEPTH} levels"),
    )
    .label("nested too deep")
    .help(format!(
        "no Ray Serve option nests this deep; flatten the value ({why})"
    ))
}

/// Converts the entries of a table at nesting `depth` (its entries' level).
fn convert_table(table: &DeTable<'_>, depth: usize, diags: &mut Vec<Diagnostic>) -> Vec<Entry> {
    table
        .iter()
        .map(|(k, v)| Entry {
            key: k.get_ref().to_string(),
            key_span: k.span(),
            value: Node {
                span: v.span(),
                kind: convert_value(v.get_ref(), v.span(), depth, diags),
            },
        })
        .collect()
}

fn convert_value(
    value: &DeValue<'_>,
    span: Range<usize>,
    depth: usize,
    diags: &mut Vec<Diagnostic>,
) -> NodeKind {
    let nested = matches!(value, DeValue::Array(_) | DeValue::Table(_));
    if nested && depth > MAX_SPEC_DEPTH {
        // Reported once, at the outermost value past the limit; nothing
        // below it is converted.
        if !diags
            .iter()
            .any(|d| d.rule.code == rules::SPEC_TOO_DEEP.code)
        {
            diags.push(too_deep("at most 64 levels of tables and arrays").at(span));
        }
        return NodeKind::Table(Table::default());
    }
    match value {
        DeValue::String(s) => NodeKind::String(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => NodeKind::Integer(n),
            Err(_) => {
                diags.push(
                    Diagnostic::new(&rules::TOML_SYNTAX, "integer does not fit in 64 bits")
                        .at(span)
                        .label("too large"),
                );
                NodeKind::Integer(0)
            }
        },
        DeValue::Float(f) => NodeKind::Float(parse_float(f.as_str())),
        DeValue::Boolean(b) => NodeKind::Bool(*b),
        DeValue::Datetime(d) => NodeKind::Datetime(d.to_string()),
        DeValue::Array(items) => NodeKind::Array(
            items
                .iter()
                .map(|v| Node {
                    span: v.span(),
                    kind: convert_value(v.get_ref(), v.span(), depth + 1, diags),
                })
                .collect(),
        ),
        DeValue::Table(t) => NodeKind::Table(Table::new(convert_table(t, depth + 1, diags))),
    }
}

fn parse_float(repr: &str) -> f64 {
    // The TOML parser already checked the syntax; only the special values
    // and digit separators differ from Rust's float syntax.
    let cleaned: String = repr.chars().filter(|c| *c != '_').collect();
    match cleaned.trim_start_matches(['+', '-']) {
        "inf" | "nan" => {
            let special = if cleaned.ends_with("inf") {
                f64::INFINITY
            } else {
                f64::NAN
            };
            if cleaned.starts_with('-') {
                -special
            } else {
                special
            }
        }
        _ => cleaned.parse().unwrap_or(f64::NAN),
    }
}

/// Human form of a path for messages: `runners.iris_clf.num_replicas`.
pub fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_text<'a>(text: &'a str, span: &Range<usize>) -> &'a str {
        &text[span.clone()]
    }

    #[test]
    fn header_keys_point_at_their_text() {
        let text = "bento = \"a\"\n\n[runners.iris_clff]\nnum_replicas = 2\n";
        let root = parse(text).unwrap();
        let runners = root.entry("runners").unwrap();
        let runner = runners.value.entry("iris_clff").unwrap();
        assert_eq!(span_text(text, &runner.key_span), "iris_clff");
        let opt = runner.value.entry("num_replicas").unwrap();
        assert_eq!(span_text(text, &opt.key_span), "num_replicas");
        assert_eq!(span_text(text, &opt.value.span), "2");
    }

    #[test]
    fn syntax_errors_do_not_repeat_the_message_in_the_label() {
        for text in ["[service\n", "a = 1__0\n", "bento = \n", "a = 1\na = 2\n"] {
            let diags = parse(text).unwrap_err();
            for d in diags {
                let label = d.label.clone().unwrap_or_default();
                assert!(
                    !label.is_empty() && label != "expected nothing",
                    "{text:?}: {label}"
                );
                assert!(
                    !d.message.contains(&label),
                    "{text:?}: {} / {label}",
                    d.message
                );
            }
        }
    }

    #[test]
    fn floats_keep_special_values() {
        assert_eq!(parse_float("1_000.5"), 1000.5);
        assert_eq!(parse_float("-inf"), f64::NEG_INFINITY);
        assert!(parse_float("nan").is_nan());
    }
}
