//! `--format sarif`: one SARIF 2.1.0 log on stdout, as GitHub code scanning
//! uploads it (`github/codeql-action/upload-sarif`). The rules the results
//! use are listed (in code order) with their summary and documentation, so
//! a result's help is one click away; results carry their region and fixes.

use serde_json::{Value, json};

use super::Region;
use crate::diagnostic::{Diagnostic, FileDiagnostics, Severity, SourceFile, rules};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub fn render_sarif(reports: &[FileDiagnostics]) -> String {
    let used: Vec<&rules::Rule> = rules::RULES
        .iter()
        .copied()
        .filter(|r| {
            reports
                .iter()
                .any(|report| report.diagnostics.iter().any(|d| d.rule.code == r.code))
        })
        .collect();
    let rules: Vec<Value> = used.iter().map(|r| rule(r)).collect();
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|report| {
            let used = &used;
            report.diagnostics.iter().map(move |d| {
                let index = used
                    .iter()
                    .position(|r| r.code == d.rule.code)
                    .expect("the rule of every result is listed");
                result(&report.file, d, index)
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "bentoray",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            // Our columns count characters, not UTF-16 code units.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut out = serde_json::to_string_pretty(&log).expect("SARIF serializes");
    out.push('\n');
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn rule(r: &rules::Rule) -> Value {
    let markdown = format!("**{}** ({})\n\n{}", r.summary, r.code, r.doc);
    json!({
        "id": r.code,
        "name": r.name,
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": r.doc },
        "help": { "text": format!("{}\n\n{}", r.summary, r.doc), "markdown": markdown },
        "defaultConfiguration": { "level": level(r.severity) },
    })
}

fn result(file: &SourceFile, d: &Diagnostic, index: usize) -> Value {
    let mut text = d.message.clone();
    if let Some(label) = &d.label {
        text.push_str(&format!(": {label}"));
    }
    if let Some(help) = &d.help {
        text.push_str(&format!("\nhelp: {help}"));
    }
    let mut physical = json!({ "artifactLocation": { "uri": uri(&file.name) } });
    if let Some(span) = &d.span {
        physical["region"] = region(&Region::of(file, span));
    }
    let mut result = json!({
        "ruleId": d.rule.code,
        "ruleIndex": index,
        "level": level(d.severity()),
        "message": { "text": text },
        "locations": [{ "physicalLocation": physical }],
    });
    if !d.suggestions.is_empty() {
        let fixes: Vec<Value> = d
            .suggestions
            .iter()
            .map(|s| {
                let replacements: Vec<Value> = s
                    .edits
                    .iter()
                    .map(|e| {
                        json!({
                            "deletedRegion": region(&Region::of(file, &e.span)),
                            "insertedContent": { "text": e.replacement },
                        })
                    })
                    .collect();
                json!({
                    "description": { "text": s.message },
                    "artifactChanges": [{
                        "artifactLocation": { "uri": uri(&file.name) },
                        "replacements": replacements,
                    }],
                })
            })
            .collect();
        result["fixes"] = Value::Array(fixes);
    }
    result
}

fn region(r: &Region) -> Value {
    json!({
        "startLine": r.line,
        "startColumn": r.column,
        "endLine": r.end_line,
        "endColumn": r.end_column,
    })
}

/// The spec's path as a URI reference: relative paths stay relative (code
/// scanning resolves them against the repository root), absolute ones
/// become `file://` URIs; everything outside RFC 3986's unreserved
/// characters and `/` is percent-encoded.
pub fn uri(path: &str) -> String {
    let mut out = String::new();
    if path.starts_with('/') {
        out.push_str("file://");
    }
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(uri("specs/bentoray.toml"), "specs/bentoray.toml");
        assert_eq!(uri("my spec/ä.toml"), "my%20spec/%C3%A4.toml");
        assert_eq!(uri("/tmp/x:1/b.toml"), "file:///tmp/x%3A1/b.toml");
        assert_eq!(uri("a#b?c.toml"), "a%23b%3Fc.toml");
    }
}
