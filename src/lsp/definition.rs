//! Go to definition: the `bento` value's bento.yaml; a runner's entry in
//! bento.yaml; a service's class and
//! an API's method in the bento's Python source; a model-backed method's
//! signature in its model's model.yaml.

use std::path::{Path, PathBuf};

use lsp_types::{GotoDefinitionParams, GotoDefinitionResponse, Location, Position, Range};
use serde_json::Value;

use super::context::{self, Target};
use super::{View, params, path_uri};
use crate::bento::{Bento, Unit, UnitKind};

/// Largest file searched for a definition's line.
const MAX_FILE: u64 = 4 << 20;

pub fn handle(view: &View, raw: &Value) -> Result<Value, String> {
    let p: GotoDefinitionParams = params(raw)?;
    let offset = view.doc.offset(p.text_document_position_params.position);
    let Some(bento) = view.bento else {
        return Ok(Value::Null);
    };
    if super::hover::on_bento_value(view, offset) {
        let found = location(&bento.path.join("bento.yaml"), 1);
        return serde_json::to_value(found.map(GotoDefinitionResponse::Scalar))
            .map_err(|e| e.to_string());
    }
    let path = match context::target(view.doc, offset) {
        Some(Target::Header { path, .. }) => path,
        _ => return Ok(Value::Null),
    };
    let store = view.analysis.request.as_ref().map(|r| r.store.as_path());
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let found = match p.as_slice() {
        [section, name] if *section == bento.kind.section() || *section == "batching" => {
            bento.unit(name).and_then(|u| unit_location(bento, u))
        }
        ["batching", unit, method] => bento
            .unit(unit)
            .and_then(|u| method_location(bento, u, method, store)),
        _ => None,
    };
    match found.and_then(|(file, line)| location(&file, line)) {
        Some(loc) => {
            serde_json::to_value(GotoDefinitionResponse::Scalar(loc)).map_err(|e| e.to_string())
        }
        None => Ok(Value::Null),
    }
}

fn location(file: &Path, line: usize) -> Option<Location> {
    let file = std::fs::canonicalize(file).ok()?;
    let at = Position::new(line.saturating_sub(1) as u32, 0);
    Some(Location::new(path_uri(&file)?, Range::new(at, at)))
}

fn read(path: &Path) -> Option<String> {
    crate::input::read_text(path, MAX_FILE).ok()
}

/// A runner: its `- name:` line under `runners:` in bento.yaml. A service:
/// its class (the `class` line above its first API, else the class of that
/// name in the sources), falling back to its `services:` entry.
fn unit_location(bento: &Bento, unit: &Unit) -> Option<(PathBuf, usize)> {
    if matches!(unit.kind, UnitKind::Service { .. })
        && let Some(found) = class_location(bento, unit)
    {
        return Some(found);
    }
    let section = match unit.kind {
        UnitKind::Service { .. } => "services:",
        _ => "runners:",
    };
    let yaml = bento.path.join("bento.yaml");
    let text = read(&yaml)?;
    let line = yaml_entry_line(&text, section, &unit.name)?;
    Some((yaml, line))
}

/// 1-based line of `- name: <name>` in the top-level list `section`.
fn yaml_entry_line(text: &str, section: &str, name: &str) -> Option<usize> {
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        if !line.starts_with([' ', '-']) && !line.is_empty() {
            inside = line.trim_end() == section;
            continue;
        }
        if inside {
            let item = line.trim_start().trim_start_matches('-').trim_start();
            if let Some(value) = item.strip_prefix("name:") {
                let value = value.trim().trim_matches(['"', '\'']);
                if value == name {
                    return Some(i + 1);
                }
            }
        }
    }
    None
}

/// `src/service.py:12` → the file and line.
fn source_origin(bento: &Bento, origin: &str) -> Option<(PathBuf, usize)> {
    let (file, line) = origin.rsplit_once(':')?;
    let line: usize = line.parse().ok()?;
    if !file.ends_with(".py") || file.contains("..") {
        return None;
    }
    Some((bento.path.join(file), line))
}

fn class_location(bento: &Bento, unit: &Unit) -> Option<(PathBuf, usize)> {
    // The class holding its first API read from source.
    let from_api = unit
        .methods
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .find_map(|m| source_origin(bento, &m.origin));
    if let Some((file, api_line)) = from_api {
        let text = read(&file)?;
        let lines: Vec<&str> = text.lines().collect();
        let class = (0..api_line.min(lines.len()))
            .rev()
            .find(|&i| lines[i].starts_with("class "))?;
        // Its decorator, if any, starts the definition.
        let mut start = class;
        while start > 0 && lines[start - 1].starts_with('@') {
            start -= 1;
        }
        return Some((file, start + 1));
    }
    // No API read from source: the class named like the service.
    let src = bento.path.join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&src)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    for file in files {
        let Some(text) = read(&file) else { continue };
        for (i, line) in text.lines().enumerate() {
            let rest = line.strip_prefix("class ").unwrap_or("");
            if rest.starts_with(unit.name.as_str())
                && rest[unit.name.len()..].starts_with([':', '('])
            {
                return Some((file, i + 1));
            }
        }
    }
    None
}

/// An API or custom method: its `def` in the source. A model signature:
/// its entry under `signatures:` in the model's model.yaml.
fn method_location(
    bento: &Bento,
    unit: &Unit,
    method: &str,
    store: Option<&Path>,
) -> Option<(PathBuf, usize)> {
    let m = unit.method(method)?;
    if let Some(found) = source_origin(bento, &m.origin) {
        return Some(found);
    }
    let store = store?;
    for tag in &unit.models {
        let (name, version) = tag.split_once(':')?;
        let dir = store.join("models").join(name);
        let version = if version == "latest" {
            read(&dir.join("latest"))?.trim().to_string()
        } else {
            version.to_string()
        };
        let yaml = dir.join(version).join("model.yaml");
        let Some(text) = read(&yaml) else { continue };
        let mut inside = false;
        for (i, line) in text.lines().enumerate() {
            if !line.starts_with(' ') && !line.is_empty() {
                inside = line.trim_end() == "signatures:";
                continue;
            }
            if inside && line.trim_end() == format!("  {method}:") {
                return Some((yaml, i + 1));
            }
        }
    }
    None
}
