//! Completion in context: table headers (the bento's runners, services and
//! batchable methods), the keys of the table at the cursor (only options
//! that exist in the target Ray release), enum values, and the bento tags
//! of the store for `bento = "`.

use std::path::Path;

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, Documentation,
    MarkupContent, MarkupKind, TextEdit,
};
use serde_json::Value;

use super::context::{self, Context};
use super::{View, params};
use crate::bento::{self, Bento, BentoKind, UnitKind};
use crate::check::{RayVersion, describe, resolve, schema_at};
use crate::spec::ray::{NEWEST_RAY, OptionTable, VALUE_FEATURES};
use crate::spec::spanned::Segment;
use crate::spec::types::{committed_schema, find_option};

/// The committed schema, read once per server.
pub fn schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(committed_schema)
}

/// Most tags offered for `bento = "`: a store may hold thousands.
const MAX_TAGS: usize = 500;

pub fn handle(view: &View, raw: &Value) -> Result<Value, String> {
    let p: CompletionParams = params(raw)?;
    let offset = view.doc.offset(p.text_document_position.position);
    let items = match context::at(view.doc, offset) {
        Some(ctx) => items(view, &ctx),
        None => Vec::new(),
    };
    serde_json::to_value(CompletionResponse::Array(items)).map_err(|e| e.to_string())
}

/// The Ray release the spec targets, as far as the text says.
pub fn target(view: &View) -> RayVersion {
    let text = &view.doc.text;
    let mut in_ray = false;
    for line in text.lines() {
        if let Some(segments) = context::header(line, 0) {
            in_ray = segments.len() == 1 && segments[0].name == "ray";
            continue;
        }
        let line = line.trim();
        if in_ray && let Some(rest) = line.strip_prefix("version") {
            let value = rest.trim_start().strip_prefix('=').unwrap_or("").trim();
            if let Some(v) = RayVersion::parse(value.trim_matches(['"', '\''])) {
                return v;
            }
        }
    }
    NEWEST_RAY
}

fn items(view: &View, ctx: &Context) -> Vec<CompletionItem> {
    match ctx {
        Context::Header { path, partial } => {
            let edit = |name: &str| TextEdit {
                range: view.doc.range(partial),
                new_text: crate::spec::toml_key(name),
            };
            header_items(view, path)
                .into_iter()
                .map(|(name, kind, detail, doc)| item(&name, kind, detail, doc, edit(&name)))
                .collect()
        }
        Context::Key { table, partial } => {
            let present = present_keys(view, table);
            key_items(view, table)
                .into_iter()
                .filter(|(name, ..)| !present.contains(name))
                .map(|(name, detail, doc)| {
                    let edit = TextEdit {
                        range: view.doc.range(partial),
                        new_text: crate::spec::toml_key(&name),
                    };
                    item(&name, CompletionItemKind::PROPERTY, detail, doc, edit)
                })
                .collect()
        }
        Context::Value {
            table,
            key,
            partial,
            quoted,
        } => value_items(view, table, key)
            .into_iter()
            .map(|(value, detail)| {
                let new_text = match (&value, quoted) {
                    (Value::String(s), true) => s.clone(),
                    (Value::String(s), false) => crate::spec::toml_string(s),
                    (other, _) => other.to_string(),
                };
                let label = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let edit = TextEdit {
                    range: view.doc.range(partial),
                    new_text,
                };
                item(&label, CompletionItemKind::VALUE, detail, None, edit)
            })
            .collect(),
    }
}

fn item(
    label: &str,
    kind: CompletionItemKind,
    detail: Option<String>,
    doc: Option<String>,
    edit: TextEdit,
) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        documentation: doc.map(|value| {
            Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            })
        }),
        filter_text: Some(label.to_string()),
        text_edit: Some(lsp_types::CompletionTextEdit::Edit(edit)),
        ..CompletionItem::default()
    }
}

type Named = (String, CompletionItemKind, Option<String>, Option<String>);

/// A unit's one-line description: `runner (SklearnRunnable)`.
pub fn unit_detail(bento: &Bento, unit: &bento::Unit) -> String {
    match &unit.kind {
        UnitKind::Runner { runnable_type, .. } => format!("runner ({runnable_type})"),
        UnitKind::Service { entry: true } => format!("entry service of {}", bento.tag()),
        UnitKind::Service { entry: false } => format!("service of {}", bento.tag()),
        UnitKind::ApiServer => "API server".to_string(),
    }
}

fn header_items(view: &View, path: &[String]) -> Vec<Named> {
    let bento = view.bento;
    let unit = |u: &bento::Unit, b: &Bento| {
        (
            u.name.clone(),
            CompletionItemKind::MODULE,
            Some(unit_detail(b, u)),
            Some(super::hover::unit_markdown(b, u)),
        )
    };
    match (path, bento) {
        ([section], Some(b)) if section == b.kind.section() => {
            b.keyed_units().map(|u| unit(u, b)).collect()
        }
        ([section], Some(b)) if section == "batching" => b
            .keyed_units()
            .filter(|u| batchable(u).next().is_some())
            .map(|u| unit(u, b))
            .collect(),
        ([section, name], Some(b)) if section == "batching" => b
            .unit(name)
            .map(|u| {
                batchable(u)
                    .map(|m| {
                        (
                            m.name.clone(),
                            CompletionItemKind::METHOD,
                            Some(super::hover::method_line(m)),
                            None,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ([section], _)
            if section == "runners" || section == "services" || section == "batching" =>
        {
            Vec::new()
        }
        _ => {
            // Tables the schema has at this path (sub-tables of a table).
            let target = target(view);
            properties(path, target)
                .into_iter()
                .filter(|(_, sub, _)| is_table(sub))
                .filter(|(name, _, _)| {
                    // Only the unit table of the bento's kind.
                    !(path.is_empty()
                        && bento.is_some_and(|b| match b.kind {
                            BentoKind::Runners => name == "services",
                            BentoKind::Services => name == "runners" || name == "service",
                        }))
                })
                .map(|(name, sub, doc)| {
                    (
                        name,
                        CompletionItemKind::MODULE,
                        Some(type_detail(&sub, None)),
                        doc,
                    )
                })
                .collect()
        }
    }
}

fn batchable(u: &bento::Unit) -> impl Iterator<Item = &bento::Method> {
    u.methods
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|m| m.batchable == Some(true))
}

/// The schema's properties of the table at `path`, with their subschemas
/// and documentation, less the options the target release does not have.
fn properties(path: &[String], target: RayVersion) -> Vec<(String, Value, Option<String>)> {
    let schema = schema();
    let segments: Vec<Segment> = path.iter().map(|k| Segment::Key(k.clone())).collect();
    let Some(at) = schema_at(schema, schema, &segments) else {
        return Vec::new();
    };
    let table = option_table(path);
    let Some(props) = resolve(schema, at)
        .get("properties")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    props
        .iter()
        .filter(|(key, _)| {
            table
                .and_then(|t| find_option(t, key))
                .is_none_or(|o| o.availability.exists_in(target))
        })
        .map(|(key, sub)| {
            let doc = option_markdown(schema, path, key, sub, target);
            // Resolved, so callers see types and enums.
            let mut resolved = resolve(schema, sub).clone();
            if let (Value::Object(map), Some(default)) = (&mut resolved, sub.get("default")) {
                map.insert("default".into(), default.clone());
            }
            (key.clone(), resolved, Some(doc))
        })
        .collect()
}

fn is_table(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

fn type_detail(sub: &Value, default: Option<String>) -> String {
    let schema = schema();
    let what = describe(schema, sub);
    match default.or_else(|| sub.get("default").map(|d| d.to_string())) {
        Some(d) => format!("{what} (default {d})"),
        None => what,
    }
}

fn key_items(view: &View, table: &[String]) -> Vec<(String, Option<String>, Option<String>)> {
    let target = target(view);
    let kind = option_table(table);
    properties(table, target)
        .into_iter()
        .filter(|(name, _, _)| {
            // Top-level keys are not tables; tables go in headers.
            !(table.is_empty() && is_table_key(name))
        })
        .map(|(name, sub, doc)| {
            let default = kind
                .and_then(|t| find_option(t, &name))
                .and_then(|o| o.availability.default_in(target))
                .map(str::to_string);
            (name, Some(type_detail(&sub, default)), doc)
        })
        .collect()
}

fn is_table_key(name: &str) -> bool {
    matches!(
        name,
        "ray" | "application" | "service" | "runners" | "services" | "batching"
    )
}

/// Keys already written in the table at `path`, so they are not offered
/// again: from the parsed spec, else (while it does not parse) from the
/// lines of the table's header.
fn present_keys(view: &View, path: &[String]) -> Vec<String> {
    let Ok(root) = crate::spec::spanned::parse(&view.doc.text) else {
        return context::keys_in(view.doc, path);
    };
    let segments: Vec<Segment> = path.iter().map(|k| Segment::Key(k.clone())).collect();
    root.at_path(&segments)
        .map(|n| n.entries().iter().map(|e| e.key.clone()).collect())
        .unwrap_or_default()
}

fn value_items(view: &View, table: &[String], key: &str) -> Vec<(Value, Option<String>)> {
    if table.is_empty() && key == "bento" {
        return bento_tags(view)
            .into_iter()
            .map(|(tag, detail)| (Value::String(tag), Some(detail)))
            .collect();
    }
    let schema = schema();
    let mut path: Vec<Segment> = table.iter().map(|k| Segment::Key(k.clone())).collect();
    path.push(Segment::Key(key.to_string()));
    let Some(at) = schema_at(schema, schema, &path) else {
        return Vec::new();
    };
    let target = target(view);
    let option = option_table(table);
    let mut values = Vec::new();
    collect_values(schema, at, &mut values);
    values
        .into_iter()
        .filter(|(v, _)| {
            // Values newer than the target (`proxy_location = "Disabled"`).
            VALUE_FEATURES.iter().all(|f| {
                Some(f.table) != option
                    || f.key != key
                    || v.as_str() != Some(f.value)
                    || f.availability.exists_in(target)
            })
        })
        .collect()
}

/// Closed values a schema accepts: enums, consts, booleans.
fn collect_values(root: &Value, schema: &Value, out: &mut Vec<(Value, Option<String>)>) {
    let s = resolve(root, schema);
    let description = s
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        out.extend(values.iter().map(|v| (v.clone(), None)));
    }
    if let Some(c) = s.get("const") {
        out.push((c.clone(), description));
    }
    if s.get("type").and_then(Value::as_str) == Some("boolean") {
        out.push((Value::Bool(true), None));
        out.push((Value::Bool(false), None));
    }
    for key in ["anyOf", "oneOf"] {
        for branch in s.get(key).and_then(Value::as_array).into_iter().flatten() {
            collect_values(root, branch, out);
        }
    }
}

/// `name:latest` and `name:<version>` of every bento in the store the spec
/// looks tags up in.
fn bento_tags(view: &View) -> Vec<(String, String)> {
    let home = bentoml_home(&view.doc.text);
    let store = bento::store_root(&view.analysis.spec_dir, home.as_deref());
    let mut tags = Vec::new();
    let Ok(names) = std::fs::read_dir(store.path.join("bentos")) else {
        return tags;
    };
    let mut names: Vec<_> = names.flatten().map(|e| e.path()).collect();
    names.sort();
    for dir in names.iter().filter(|d| d.is_dir()) {
        let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let latest = read_latest(dir);
        if let Some(version) = &latest {
            tags.push((format!("{name}:latest"), format!("{name}:{version}")));
        }
        let mut versions: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("bento.yaml").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        versions.sort();
        for version in versions {
            let detail = if latest.as_deref() == Some(version.as_str()) {
                "the latest version".to_string()
            } else {
                format!("in {}", store.path.display())
            };
            tags.push((format!("{name}:{version}"), detail));
        }
        if tags.len() >= MAX_TAGS {
            tags.truncate(MAX_TAGS);
            break;
        }
    }
    tags
}

fn read_latest(dir: &Path) -> Option<String> {
    let text = crate::input::read_text(&dir.join("latest"), crate::input::METADATA_CAP).ok()?;
    Some(text.trim().to_string()).filter(|v| !v.is_empty())
}

/// The top-level `bentoml_home = "..."`, read from the text (which may not
/// parse while it is typed).
fn bentoml_home(text: &str) -> Option<String> {
    for line in text.lines() {
        if context::header(line, 0).is_some() {
            return None;
        }
        if let Some(rest) = line.trim().strip_prefix("bentoml_home") {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            let value = value.split('#').next().unwrap_or("").trim();
            return Some(value.trim_matches(['"', '\'']).to_string());
        }
    }
    None
}

/// The option table of the spec table at `path`.
pub fn option_table(path: &[String]) -> Option<OptionTable> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    Some(match p.as_slice() {
        ["ray"] => OptionTable::Ray,
        ["ray", "http_options"] => OptionTable::HttpOptions,
        ["ray" | "application", "logging_config"] => OptionTable::Logging,
        ["application"] => OptionTable::Application,
        ["service"] | ["runners" | "services", _] => OptionTable::Deployment,
        ["service", "ray_actor_options"] | ["runners" | "services", _, "ray_actor_options"] => {
            OptionTable::ActorOptions
        }
        ["service", "autoscaling_config"] | ["runners" | "services", _, "autoscaling_config"] => {
            OptionTable::Autoscaling
        }
        ["batching", _, _] => OptionTable::Batching,
        [.., "runtime_env"] => OptionTable::RuntimeEnv,
        [.., "runtime_env", "pip"] => OptionTable::RuntimeEnvPip,
        [.., "runtime_env", "uv"] => OptionTable::RuntimeEnvUv,
        [.., "runtime_env", "config"] => OptionTable::RuntimeEnvConfig,
        _ => return None,
    })
}

/// An option's documentation: its description, what it accepts, and when
/// Ray Serve has it.
pub fn option_markdown(
    schema: &Value,
    table: &[String],
    key: &str,
    sub: &Value,
    target: RayVersion,
) -> String {
    let mut out = format!("**`{key}`**: {}\n", describe(schema, sub));
    if let Some(text) = sub
        .get("description")
        .or_else(|| resolve(schema, sub).get("description"))
        .and_then(Value::as_str)
    {
        out.push_str(&format!("\n{text}\n"));
    }
    if let Some(option) = option_table(table).and_then(|t| find_option(t, key)) {
        let a = option.availability;
        let releases = match (a.bentoray_only, a.until) {
            (true, _) => "bentoray's own option".to_string(),
            (false, None) if a.since <= crate::spec::ray::OLDEST_RAY => {
                "every Ray release bentoray targets".to_string()
            }
            (false, None) => format!("Ray {}+", a.since),
            (false, Some(last)) => {
                format!("Ray {}–{last}", a.since.max(crate::spec::ray::OLDEST_RAY))
            }
        };
        out.push_str(&format!("\nAvailable in: {releases}"));
        if let Some(r) = a.replaced_by {
            out.push_str(&format!("; replaced by `{r}`"));
        }
        out.push_str(&format!(
            "\n\nIn the target Ray {target}: {}",
            if a.exists_in(target) {
                match a.default_in(target) {
                    Some(d) => format!("available, default `{d}`"),
                    None => "available".to_string(),
                }
            } else {
                "**not available**".to_string()
            }
        ));
        out.push('\n');
    }
    out
}
