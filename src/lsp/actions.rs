//! Code actions: every fix the check attaches to a diagnostic (did-you-mean
//! names, a top-level key moved above the first table, a removed Ray option
//! renamed to its replacement), and `enable_batching = true` where batching
//! tables have no effect without it.

use std::collections::HashMap;

use lsp_types::{CodeAction, CodeActionKind, CodeActionParams, TextEdit, WorkspaceEdit};
use serde_json::Value;

use super::{View, params, to_lsp_diagnostics};
use crate::diagnostic::{Diagnostic, Edit, Suggestion, rules};
use crate::spec::spanned;

pub fn handle(view: &View, raw: &Value) -> Result<Value, String> {
    let p: CodeActionParams = params(raw)?;
    let start = view.doc.offset(p.range.start);
    let end = view.doc.offset(p.range.end).max(start);
    let report = &view.analysis.report;
    let lsp_diags = to_lsp_diagnostics(view.uri, view.doc, report);
    let mut actions = Vec::new();
    for (d, lsp_diag) in report.diagnostics.iter().zip(lsp_diags) {
        let Some(span) = &d.span else { continue };
        // Touching counts: a cursor at either end of the span is on it.
        if span.start > end || span.end < start {
            continue;
        }
        let mut fixes: Vec<Suggestion> = d.suggestions.clone();
        if let Some(fix) = enable_batching(view, d) {
            fixes.push(fix);
        }
        for (i, fix) in fixes.into_iter().enumerate() {
            let edits: Vec<TextEdit> = fix
                .edits
                .into_iter()
                .map(|e| TextEdit {
                    range: view.doc.range(&e.span),
                    new_text: e.replacement,
                })
                .collect();
            actions.push(CodeAction {
                title: format!(
                    "{} ({})",
                    super::hover::capitalize(&fix.message),
                    d.rule.code
                ),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diag.clone()]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(view.uri.clone(), edits)])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(i == 0),
                ..CodeAction::default()
            });
        }
    }
    serde_json::to_value(actions).map_err(|e| e.to_string())
}

/// For "batching options have no effect": set `enable_batching = false` to
/// true, or write `enable_batching = true` above the first table header.
fn enable_batching(view: &View, d: &Diagnostic) -> Option<Suggestion> {
    if d.rule.code != rules::BATCHING_DISABLED.code {
        return None;
    }
    let text = &view.doc.text;
    let root = spanned::parse(text).ok()?;
    if let Some(value) = root.get("enable_batching") {
        return Some(Suggestion {
            message: "set `enable_batching = true`".into(),
            edits: vec![Edit {
                span: value.span.clone(),
                replacement: "true".into(),
            }],
        });
    }
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if super::context::header(line, line_start).is_some() {
            break;
        }
        line_start += line.len();
    }
    let mut insert = String::from("enable_batching = true\n");
    if line_start == text.len() && !text.is_empty() && !text.ends_with('\n') {
        insert.insert(0, '\n');
    }
    Some(Suggestion {
        message: "add `enable_batching = true` at the top".into(),
        edits: vec![Edit {
            span: line_start..line_start,
            replacement: insert,
        }],
    })
}
