//! Hover: an option's documentation and Ray availability; on a runner or
//! service name, what the bento says of it; on a diagnostic code (or a
//! place with diagnostics), `bentoray explain`.

use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};
use serde_json::Value;

use super::complete::{option_markdown, target, unit_detail};
use super::context::{self, Target};
use super::{View, params};
use crate::bento::{Bento, Method, Sourced, Unit, UnitKind};
use crate::check::schema_at;
use crate::diagnostic::rules::{self, Rule};
use crate::spec::spanned::Segment;

pub fn handle(view: &View, raw: &Value) -> Result<Value, String> {
    let p: HoverParams = params(raw)?;
    let offset = view.doc.offset(p.text_document_position_params.position);
    let mut sections = Vec::new();
    let mut range = None;
    if let Some((rule, span)) = code_at(&view.doc.text, offset) {
        sections.push(explain(rule));
        range = Some(span);
    } else {
        if let Some((text, span)) = target_markdown(view, offset) {
            sections.push(text);
            range = Some(span);
        }
        // What `bentoray explain` says of the diagnostics here.
        let mut seen = Vec::new();
        for d in &view.analysis.report.diagnostics {
            if let Some(span) = &d.span
                && span.start <= offset
                && offset <= span.end
                && !seen.contains(&d.rule.code)
            {
                seen.push(d.rule.code);
                sections.push(explain(d.rule));
            }
        }
    }
    if sections.is_empty() {
        return Ok(Value::Null);
    }
    let hover = Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: sections.join("\n\n---\n\n"),
        }),
        range: range.map(|r| view.doc.range(&r)),
    };
    serde_json::to_value(hover).map_err(|e| e.to_string())
}

/// `bentoray explain CODE`'s text, as Markdown.
pub fn explain(rule: &Rule) -> String {
    format!(
        "**{}** ({}, {})\n\n{}\n\n{}",
        rule.code,
        rule.name,
        rule.severity.as_str(),
        rule.summary,
        rule.doc
    )
}

/// A `BR` code under the cursor (in a comment, say).
fn code_at(text: &str, offset: usize) -> Option<(&'static Rule, std::ops::Range<usize>)> {
    let bytes = text.as_bytes();
    let offset = offset.min(bytes.len());
    let mut start = offset;
    while start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
        end += 1;
    }
    let word = &text[start..end];
    let digits = word.strip_prefix("BR")?;
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((rules::find(word)?, start..end))
}

/// Whether `offset` is in the top-level `bento = "..."` value.
pub fn on_bento_value(view: &View, offset: usize) -> bool {
    matches!(
        context::at(view.doc, offset),
        Some(context::Context::Value { table, key, .. }) if table.is_empty() && key == "bento"
    )
}

/// What the `bento` value resolved to.
fn bento_markdown(bento: &Bento) -> String {
    let units: Vec<String> = bento
        .keyed_units()
        .map(|u| format!("`{}`", u.name))
        .collect();
    format!(
        "**bento `{}`** ({} bento, BentoML {})\n\n{}: {}\n\nRead from `{}`\n",
        bento.tag(),
        match bento.kind {
            crate::bento::BentoKind::Runners => "runner-based",
            crate::bento::BentoKind::Services => "`@bentoml.service`",
        },
        bento.bentoml_version,
        capitalize(bento.kind.section()),
        units.join(", "),
        bento.path.display()
    )
}

fn target_markdown(view: &View, offset: usize) -> Option<(String, std::ops::Range<usize>)> {
    if let Some(bento) = view.bento
        && on_bento_value(view, offset)
    {
        let line = view.doc.line_at(offset);
        return Some((bento_markdown(bento), line));
    }
    let (path, span) = match context::target(view.doc, offset)? {
        Target::Header { path, span } | Target::Key { path, span } => (path, span),
    };
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    if let Some(bento) = view.bento {
        match p.as_slice() {
            [section, name] if *section == bento.kind.section() || *section == "batching" => {
                if let Some(unit) = bento.unit(name) {
                    return Some((unit_markdown(bento, unit), span));
                }
            }
            ["batching", unit, method] => {
                if let Some(m) = bento.unit(unit).and_then(|u| u.method(method)) {
                    return Some((method_markdown(m), span));
                }
            }
            _ => {}
        }
    }
    let schema = super::complete::schema();
    let segments: Vec<Segment> = path.iter().map(|k| Segment::Key(k.clone())).collect();
    let sub = schema_at(schema, schema, &segments)?;
    let (key, table) = path.split_last()?;
    Some((option_markdown(schema, table, key, sub, target(view)), span))
}

/// What the bento says of a unit: kind, methods or APIs, models, settings.
pub fn unit_markdown(bento: &Bento, unit: &Unit) -> String {
    let noun = bento.kind.unit_noun();
    let mut out = format!("**{noun} `{}`**: {}\n", unit.name, unit_detail(bento, unit));
    if let UnitKind::Runner { runnable_type, .. } = &unit.kind {
        out.push_str(&format!("\nRunnable: `{runnable_type}`\n"));
    }
    match unit.methods.as_deref() {
        Some(methods) if !methods.is_empty() => {
            out.push_str(&format!(
                "\n{}s ({}):\n",
                capitalize(bento.kind.method_noun()),
                unit.methods_from
            ));
            for m in methods {
                out.push_str(&format!("- {}\n", method_line(m)));
            }
        }
        Some(_) => out.push_str(&format!("\nNo {}s.\n", bento.kind.method_noun())),
        None => out.push_str(&format!(
            "\n{}s unknown: {}\n",
            capitalize(bento.kind.method_noun()),
            unit.methods_from
        )),
    }
    if !unit.models.is_empty() {
        out.push_str(&format!(
            "\nModels: {}\n",
            unit.models
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (key, setting) in &unit.config {
        let value = setting
            .value
            .as_ref()
            .map_or("(not a literal)".to_string(), |v| format!("`{v}`"));
        out.push_str(&format!("\n`{key}` = {value} (from {})\n", setting.from));
    }
    for dep in &unit.dependencies {
        let to = dep
            .service
            .as_deref()
            .or(dep.url.as_deref())
            .or(dep.deployment.as_deref())
            .unwrap_or("?");
        out.push_str(&format!("\nDepends on `{to}`\n"));
    }
    out
}

/// `predict`: batchable, batch_dim (0, 0) (origin).
pub fn method_line(m: &Method) -> String {
    let batchable = match m.batchable {
        Some(true) => "batchable",
        Some(false) => "not batchable",
        None => "batchable unknown",
    };
    let mut line = format!("`{}`: {batchable}", m.name);
    if let Some((i, o)) = m.batch_dim {
        line.push_str(&format!(", batch_dim ({i}, {o})"));
    }
    if m.streaming {
        line.push_str(", streaming");
    }
    line.push_str(&format!(" — {}", m.origin));
    line
}

fn method_markdown(m: &Method) -> String {
    let mut out = format!("**{}**\n", method_line(m));
    if let Some(route) = &m.route {
        out.push_str(&format!("\nRoute: `{route}`\n"));
    }
    sourced_line(&mut out, "max_batch_size", m.max_batch_size.as_ref());
    sourced_line(&mut out, "max_latency_ms", m.max_latency_ms.as_ref());
    for (arg, expr) in &m.unknown {
        out.push_str(&format!("\n`{arg}` is not a literal: `{expr}`\n"));
    }
    out
}

/// `name: value (from where)`, for a setting with a literal value.
fn sourced_line<T: std::fmt::Display>(out: &mut String, name: &str, setting: Option<&Sourced<T>>) {
    if let Some((value, from)) = setting.and_then(|s| s.value.as_ref().map(|v| (v, &s.from))) {
        out.push_str(&format!("\n{name}: {value} (from {from})\n"));
    }
}

/// The text with its first letter upper-case.
pub fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
