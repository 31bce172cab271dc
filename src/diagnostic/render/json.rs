//! `--format json`: one JSON array of diagnostics on stdout. The object's
//! fields are documented in the README ("JSON output") and only ever grow.

use super::Region;
use crate::diagnostic::{FileDiagnostics, Severity, SourceFile, Suggestion};

#[derive(serde::Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    label: Option<&'a str>,
    help: Option<&'a str>,
    suggestions: Vec<JsonSuggestion<'a>>,
}

#[derive(serde::Serialize)]
struct JsonSuggestion<'a> {
    message: &'a str,
    edits: Vec<JsonEdit<'a>>,
}

/// Positions as in the diagnostic (1-based, columns in characters, end
/// exclusive) plus byte offsets, which need no notion of a column.
#[derive(serde::Serialize)]
struct JsonEdit<'a> {
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    byte_start: usize,
    byte_end: usize,
    replacement: &'a str,
}

fn suggestion<'a>(file: &SourceFile, s: &'a Suggestion) -> JsonSuggestion<'a> {
    JsonSuggestion {
        message: &s.message,
        edits: s
            .edits
            .iter()
            .map(|e| {
                let r = Region::of(file, &e.span);
                JsonEdit {
                    line: r.line,
                    column: r.column,
                    end_line: r.end_line,
                    end_column: r.end_column,
                    byte_start: e.span.start,
                    byte_end: e.span.end,
                    replacement: &e.replacement,
                }
            })
            .collect(),
    }
}

/// Renders diagnostics as a JSON array (one object per diagnostic), for
/// editors and scripts.
pub fn render_json(reports: &[FileDiagnostics]) -> String {
    let mut all = Vec::new();
    for report in reports {
        for d in &report.diagnostics {
            let region = d.span.as_ref().map(|s| Region::of(&report.file, s));
            all.push(JsonDiagnostic {
                file: &report.file.name,
                code: d.rule.code,
                name: d.rule.name,
                severity: d.severity(),
                message: &d.message,
                line: region.map(|r| r.line),
                column: region.map(|r| r.column),
                end_line: region.map(|r| r.end_line),
                end_column: region.map(|r| r.end_column),
                label: d.label.as_deref(),
                help: d.help.as_deref(),
                suggestions: d
                    .suggestions
                    .iter()
                    .map(|s| suggestion(&report.file, s))
                    .collect(),
            });
        }
    }
    let mut out = serde_json::to_string_pretty(&all).expect("diagnostics serialize");
    out.push('\n');
    out
}
