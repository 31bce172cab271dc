//! TOML's classic trap: a table runs until the next header, so a top-level
//! key written below `[ray]` is `ray.<key>`. The schema sees only an
//! unknown key in that table; this pass recognises the cause (a top-level
//! key, alone at the start of its line under a header) and replaces that
//! diagnostic with one that says what TOML did and how to fix it (BR350),
//! with the move as a machine-applicable fix. A `bento` caught this way
//! also explains the "missing `bento`" error.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::Value;

use crate::diagnostic::{Diagnostic, Edit, rules};
use crate::spec::spanned::{Entry, Node, NodeKind};

/// A top-level key that TOML put into the table above it.
struct Trapped<'a> {
    entry: &'a Entry,
    /// The header of the table it landed in, as written (`[ray]`).
    header: &'a str,
    header_start: usize,
    /// The key's whole line(s), up to and including the newline.
    lines: Range<usize>,
}

/// Rewrites the diagnostics of keys caught by the trap (see the module doc).
pub fn explain(root: &Node, text: &str, schema: &Value, diags: &mut [Diagnostic]) {
    let Some(root_keys) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let mut headers = Vec::new();
    header_tables(root, text, &mut headers);
    let Some(first_table) = headers.iter().min_by_key(|n| n.span.start) else {
        return;
    };
    let first = first_table.span.start;
    let first_line_start = line_start(text, first);
    let first_header = &text[first_table.span.clone()];
    let mut trapped = Vec::new();
    for table in &headers {
        for entry in table.entries() {
            // A key the top level already has is not one that went astray
            // (and moving it would define it twice).
            if !root_keys.contains_key(&entry.key) || root.get(&entry.key).is_some() {
                continue;
            }
            let start = line_start(text, entry.key_span.start);
            if text[start..entry.key_span.start].trim().is_empty() {
                trapped.push(Trapped {
                    entry,
                    header: &text[table.span.clone()],
                    header_start: table.span.start,
                    lines: start..line_end(text, entry.value.span.end),
                });
            }
        }
    }
    if trapped.is_empty() {
        return;
    }
    // Line numbers by binary search, so many trapped keys cost O(N log N).
    let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line_of = |offset: usize| newlines.partition_point(|&n| n < offset) + 1;

    // Only keys the schema rejected there: a runner may well be named
    // `service`, and then `[runners.service]` is no trap. Under `[runners]`
    // (whose values are tables) a key is rejected at its value instead.
    let rejections = [
        &rules::UNKNOWN_KEY,
        &rules::UNKNOWN_RUNNER,
        &rules::UNKNOWN_METHOD,
        &rules::UNKNOWN_SERVICE,
        &rules::UNKNOWN_API,
        &rules::WRONG_LEVEL,
        &rules::INVALID_TYPE,
    ];
    let rejected: HashMap<usize, usize> = diags
        .iter()
        .enumerate()
        .filter(|(_, d)| rejections.iter().any(|r| r.code == d.rule.code))
        .filter_map(|(i, d)| Some((d.span.as_ref()?.start, i)))
        .collect();
    let mut moved_bento = None;
    for t in &trapped {
        let at = |span: &Range<usize>, type_error: bool| {
            rejected.get(&span.start).copied().filter(|&i| {
                diags[i].span.as_ref() == Some(span)
                    && type_error == (diags[i].rule.code == rules::INVALID_TYPE.code)
            })
        };
        let Some(index) = at(&t.entry.key_span, false).or_else(|| at(&t.entry.value.span, true))
        else {
            continue;
        };
        let key = &t.entry.key;
        let mut moved = text[t.lines.clone()].to_string();
        if !moved.ends_with('\n') {
            moved.push('\n');
        }
        let table = t.header.trim_start_matches('[').trim_end_matches(']');
        diags[index] = Diagnostic::new(
            &rules::TOP_LEVEL_KEY_IN_TABLE,
            format!(
                "`{key}` is a top-level key, but it is written after the header {} (line {}), so TOML reads it as `{table}.{key}`",
                t.header,
                line_of(t.header_start)
            ),
        )
        .at(t.entry.key_span.clone())
        .label(format!("this is `{table}.{key}`"))
        .help(format!(
            "in TOML a table runs until the next header, and every key after a header belongs to that table; move this line above the first table header ({first_header} on line {}), where top-level keys go",
            line_of(first)
        ))
        .suggest_edits(
            format!("move `{key} = …` above {first_header}"),
            vec![
                Edit {
                    span: first_line_start..first_line_start,
                    replacement: moved,
                },
                Edit {
                    span: t.lines.clone(),
                    replacement: String::new(),
                },
            ],
        );
        if key == "bento" && root.get("bento").is_none() {
            moved_bento = Some((t.header, line_of(t.header_start), table));
        }
    }

    if let Some((header, header_line, table)) = moved_bento {
        for d in diags.iter_mut() {
            if d.rule.code == rules::MISSING_KEY.code && d.message.contains("`bento`") {
                d.label = Some("no top-level `bento`".to_string());
                d.help = Some(format!(
                    "`bento` is there, but after the header {header} (line {header_line}), so TOML reads it as `{table}.bento`: move it above the first table header"
                ));
            }
        }
    }
}

/// Every table defined by a `[header]` or `[[header]]` (its span is the
/// header), in document order.
fn header_tables<'a>(node: &'a Node, text: &str, out: &mut Vec<&'a Node>) {
    match &node.kind {
        NodeKind::Table(_) => {
            if text
                .get(node.span.clone())
                .is_some_and(|s| s.starts_with('['))
            {
                out.push(node);
            }
            for e in node.entries() {
                header_tables(&e.value, text, out);
            }
        }
        NodeKind::Array(items) => {
            for item in items {
                header_tables(item, text, out);
            }
        }
        _ => {}
    }
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Just after the newline that ends the line holding `offset - 1`.
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

#[cfg(test)]
mod tests {
    use crate::check::check_source;
    use crate::diagnostic::{Diagnostic, SourceFile};

    fn trapped(text: &str) -> Vec<Diagnostic> {
        let out = check_source(SourceFile::new("t.toml", text), std::path::Path::new("."));
        out.report
            .diagnostics
            .into_iter()
            .filter(|d| d.rule.code == "BR350")
            .collect()
    }

    fn apply(text: &str, d: &Diagnostic) -> String {
        let mut out = text.to_string();
        for e in d.suggestions[0].edits.iter().rev() {
            out.replace_range(e.span.clone(), &e.replacement);
        }
        out
    }

    #[test]
    fn quoted_keys_and_multi_line_values_move_whole() {
        let text = "bento = \"x\"\n\n[ray]\nversion = \"2.60\"\n\"bentoml_home\" = '''\nstore'''\n[service]\nnum_replicas = 1\n";
        let found = trapped(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            apply(text, &found[0]),
            "bento = \"x\"\n\n\"bentoml_home\" = '''\nstore'''\n[ray]\nversion = \"2.60\"\n[service]\nnum_replicas = 1\n"
        );
    }

    #[test]
    fn a_key_at_the_end_of_the_file_moves_with_a_newline() {
        let text = "[ray]\nentrypoint = \"native\"";
        let found = trapped(text);
        assert_eq!(apply(text, &found[0]), "entrypoint = \"native\"\n[ray]\n");
    }

    #[test]
    fn under_a_table_of_tables_the_value_was_rejected() {
        // `[runners]` holds tables: `bento = "x"` there is a type error at
        // the value, and still the trap (and the reason `bento` is missing).
        let text = "[runners]\nbento = \"x\"\n";
        let out = check_source(SourceFile::new("t.toml", text), std::path::Path::new("."));
        let codes: Vec<&str> = out.report.diagnostics.iter().map(|d| d.rule.code).collect();
        assert_eq!(codes, ["BR107", "BR350"], "{:?}", out.report.diagnostics);
        assert!(
            out.report.diagnostics[0]
                .help
                .as_ref()
                .unwrap()
                .contains("runners.bento")
        );
    }

    #[test]
    fn not_a_trap_inline_dotted_or_already_at_the_top() {
        // In an inline table, after a dotted key, or present at the top
        // level as well: no BR350 (other rules report them).
        for text in [
            "bento = \"x\"\n[service]\nray_actor_options = { entrypoint = \"native\" }\n",
            "bento = \"x\"\n[service]\nray_actor_options.entrypoint = \"native\"\n",
            "bento = \"x\"\n[ray]\nbento = \"y\"\n",
        ] {
            assert!(trapped(text).is_empty(), "{text}");
        }
    }
}
