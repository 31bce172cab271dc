//! What the cursor is on, read from the text around it: a spec being typed
//! is rarely valid TOML, so this never needs the document to parse.

use std::ops::Range;

use super::text::Document;

/// Where the cursor is, for completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// Inside a table header: `[runners.ir|`. `path` holds the segments
    /// before the one being typed, whose span is `partial`.
    Header {
        path: Vec<String>,
        partial: Range<usize>,
    },
    /// Where a key goes in the table at `table`.
    Key {
        table: Vec<String>,
        partial: Range<usize>,
    },
    /// After `key =` in the table at `table`; `quoted`: inside a string.
    Value {
        table: Vec<String>,
        key: String,
        partial: Range<usize>,
        quoted: bool,
    },
}

/// A key segment of a header or a key path, with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub name: String,
    pub span: Range<usize>,
}

/// What a position is on, for hover and go to definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A segment of a table header: `path` is the header up to and
    /// including the segment under the cursor.
    Header {
        path: Vec<String>,
        span: Range<usize>,
    },
    /// A key (`path` includes the tables it is in).
    Key {
        path: Vec<String>,
        span: Range<usize>,
    },
}

fn is_bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Splits a key path (`a."b.c".d`) starting at `offset` of `text`; stops at
/// the first character that cannot be part of one (returned as the end).
/// An unterminated quoted segment runs to the end of `text`.
fn key_path(text: &str, base: usize) -> (Vec<Segment>, usize) {
    let mut segments = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut expect_segment = true;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c == ' ' || c == '\t' {
            i += 1;
        } else if c == '.' && !expect_segment {
            expect_segment = true;
            i += 1;
        } else if expect_segment && (c == '"' || c == '\'') {
            let close = text[i + 1..].find(c).map(|j| i + 1 + j);
            let end = close.unwrap_or(text.len());
            let name = text[i + 1..end].to_string();
            // A basic string's escapes are rare in keys; kept as written.
            segments.push(Segment {
                name,
                span: base + i..base + close.map_or(end, |e| e + 1),
            });
            i = close.map_or(end, |e| e + 1);
            expect_segment = false;
        } else if expect_segment && is_bare(c) {
            let start = i;
            while i < bytes.len() && is_bare(bytes[i] as char) {
                i += 1;
            }
            segments.push(Segment {
                name: text[start..i].to_string(),
                span: base + start..base + i,
            });
            expect_segment = false;
        } else {
            break;
        }
    }
    (segments, base + i)
}

/// The header a line opens, if it is one: its segments and whether it is an
/// array of tables.
pub fn header(line: &str, line_start: usize) -> Option<Vec<Segment>> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let rest = trimmed.strip_prefix('[')?;
    let (skip, rest) = match rest.strip_prefix('[') {
        Some(r) => (2, r),
        None => (1, rest),
    };
    let (segments, _) = key_path(rest, line_start + indent + skip);
    Some(segments)
}

/// The table a position is in: the last header above its line.
fn enclosing_table(doc: &Document, offset: usize) -> Vec<String> {
    let line = doc.line_at(offset);
    let mut end = line.start;
    while end > 0 {
        let above = doc.line_at(end - 1);
        if let Some(segments) = header(&doc.text[above.clone()], above.start) {
            return segments.into_iter().map(|s| s.name).collect();
        }
        end = above.start;
    }
    Vec::new()
}

/// The completion context at `offset`; `None` in a comment or where
/// nothing can be completed.
pub fn at(doc: &Document, offset: usize) -> Option<Context> {
    let offset = floor_char(&doc.text, offset);
    let line = doc.line_at(offset);
    let before = &doc.text[line.start..offset];
    if before.trim_start().starts_with('[') {
        let segments = header(before, line.start)?;
        let typed_to = before.trim_end().len() + line.start;
        // `[runners.` or `[` (expecting a segment) vs `[runners.ir` (typing one).
        let typing = segments
            .last()
            .is_some_and(|s| s.span.end == typed_to && !before.trim_end().ends_with('.'));
        let mut path: Vec<String> = segments.iter().map(|s| s.name.clone()).collect();
        if before.contains(']') {
            return None;
        }
        let partial = if typing {
            path.pop();
            segments
                .last()
                .map(|s| s.span.clone())
                .unwrap_or(offset..offset)
        } else {
            offset..offset
        };
        return Some(Context::Header { path, partial });
    }
    let mut table = enclosing_table(doc, offset);
    line_context(before, line.start, offset, &mut table)
}

fn floor_char(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Scans a line up to the cursor: keys, `=`, inline tables and arrays,
/// strings and comments.
fn line_context(
    before: &str,
    base: usize,
    offset: usize,
    table: &mut Vec<String>,
) -> Option<Context> {
    // Each inline table entered adds its key path to the table.
    let mut inline: Vec<usize> = Vec::new();
    let mut key: Vec<String> = Vec::new();
    let mut expect_key = true;
    let mut array_depth = 0usize;
    let mut value_start = None;
    let bytes = before.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match c {
            ' ' | '\t' => i += 1,
            '#' => return None,
            _ if expect_key && array_depth == 0 => {
                let (segments, end) = key_path(&before[i..], base + i);
                if segments.is_empty() {
                    if c == '}' {
                        close_inline(table, &mut inline);
                        expect_key = false;
                        i += 1;
                        continue;
                    }
                    return None;
                }
                let local_end = end - base;
                if local_end >= bytes.len() {
                    // Still typing the key.
                    let last = segments.last().expect("not empty");
                    let typing = last.span.end == offset && !before.ends_with([' ', '.']);
                    let mut names: Vec<String> = segments.iter().map(|s| s.name.clone()).collect();
                    let partial = if typing {
                        names.pop();
                        last.span.clone()
                    } else {
                        offset..offset
                    };
                    table.extend(names);
                    return Some(Context::Key {
                        table: table.clone(),
                        partial,
                    });
                }
                key = segments.into_iter().map(|s| s.name).collect();
                i = local_end;
                if bytes[i] == b'=' {
                    expect_key = false;
                    value_start = None;
                    i += 1;
                } else {
                    return None;
                }
            }
            '{' => {
                let (last, parents) = key.split_last()?;
                inline.push(key.len());
                table.extend(parents.iter().cloned());
                table.push(last.clone());
                key.clear();
                expect_key = true;
                i += 1;
            }
            '}' if array_depth == 0 => {
                close_inline(table, &mut inline);
                i += 1;
            }
            ',' if array_depth == 0 && !inline.is_empty() => {
                expect_key = true;
                i += 1;
            }
            '[' => {
                array_depth += 1;
                value_start = None;
                i += 1;
            }
            ']' => {
                array_depth = array_depth.saturating_sub(1);
                i += 1;
            }
            ',' => {
                value_start = None;
                i += 1;
            }
            '"' | '\'' => {
                let triple = before[i..].starts_with(if c == '"' { "\"\"\"" } else { "'''" });
                if triple {
                    return None;
                }
                match before[i + 1..].find(c) {
                    Some(j) => {
                        i += j + 2;
                        value_start = None;
                    }
                    None => {
                        return Some(Context::Value {
                            table: table.clone(),
                            key: key.last()?.clone(),
                            partial: base + i + 1..offset,
                            quoted: true,
                        });
                    }
                }
            }
            _ => {
                value_start.get_or_insert(i);
                i += c.len_utf8();
                while i < bytes.len() && !before.is_char_boundary(i) {
                    i += 1;
                }
            }
        }
    }
    if expect_key && array_depth == 0 {
        return Some(Context::Key {
            table: table.clone(),
            partial: offset..offset,
        });
    }
    let (last, parents) = key.split_last()?;
    table.extend(parents.iter().cloned());
    Some(Context::Value {
        table: table.clone(),
        key: last.clone(),
        partial: value_start.map_or(offset, |s| base + s)..offset,
        quoted: false,
    })
}

fn close_inline(table: &mut Vec<String>, inline: &mut Vec<usize>) {
    if let Some(len) = inline.pop() {
        let keep = table.len().saturating_sub(len);
        table.truncate(keep);
    }
}

/// The keys written directly in the table a header (or the top level, for
/// an empty `table`) opens, read line by line: the document need not parse.
pub fn keys_in(doc: &Document, table: &[String]) -> Vec<String> {
    let mut keys = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut start = 0;
    for line in doc.text.split_inclusive('\n') {
        let line_start = start;
        start += line.len();
        if let Some(segments) = header(line, line_start) {
            current = segments.into_iter().map(|s| s.name).collect();
            continue;
        }
        if current != table {
            continue;
        }
        let trimmed = line.trim_start();
        let (segments, end) = key_path(trimmed, 0);
        if trimmed[end..].trim_start().starts_with('=')
            && let Some(first) = segments.into_iter().next()
        {
            keys.push(first.name);
        }
    }
    keys
}

/// The header segment or key under `offset`.
pub fn target(doc: &Document, offset: usize) -> Option<Target> {
    let offset = floor_char(&doc.text, offset);
    let line = doc.line_at(offset);
    let text = &doc.text[line.clone()];
    if let Some(segments) = header(text, line.start) {
        let index = segments
            .iter()
            .position(|s| s.span.start <= offset && offset <= s.span.end)?;
        return Some(Target::Header {
            path: segments[..=index].iter().map(|s| s.name.clone()).collect(),
            span: segments[index].span.clone(),
        });
    }
    // The bare key under the cursor, followed by `=` or `.`: a key at the
    // start of the line, in a dotted key or in an inline table.
    let bytes = doc.text.as_bytes();
    let is_key_byte = |b: u8| is_bare(b as char);
    let mut start = offset;
    while start > line.start && is_key_byte(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < line.end && is_key_byte(bytes[end]) {
        end += 1;
    }
    if start == end {
        return None;
    }
    let after = doc.text[end..line.end].trim_start();
    if !(after.starts_with('=') || after.starts_with('.')) {
        return None;
    }
    let mut table = enclosing_table(doc, offset);
    let before = &doc.text[line.start..start];
    match line_context(before, line.start, start, &mut table)? {
        Context::Key { table, .. } => {
            let mut path = table;
            path.push(doc.text[start..end].to_string());
            Some(Target::Key {
                path,
                span: start..end,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(text_with_cursor: &str) -> Option<Context> {
        let offset = text_with_cursor.find('|').expect("cursor");
        let text = text_with_cursor.replacen('|', "", 1);
        at(&Document::new(text, 0), offset)
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers() {
        assert_eq!(
            ctx("x = 1\n[runners.|"),
            Some(Context::Header {
                path: strings(&["runners"]),
                partial: 15..15
            })
        );
        assert_eq!(
            ctx("é = 1\n[batching.iris_clf.pr|"),
            Some(Context::Header {
                path: strings(&["batching", "iris_clf"]),
                partial: 26..28
            })
        );
        assert_eq!(
            ctx("[|"),
            Some(Context::Header {
                path: vec![],
                partial: 1..1
            })
        );
        assert_eq!(ctx("[ray]|"), None);
    }

    #[test]
    fn keys_and_values() {
        assert_eq!(
            ctx("[runners.a]\nnum_|"),
            Some(Context::Key {
                table: strings(&["runners", "a"]),
                partial: 12..16
            })
        );
        assert_eq!(
            ctx("[runners.a]\nray_actor_options = { num_cpus = 1, |"),
            Some(Context::Key {
                table: strings(&["runners", "a", "ray_actor_options"]),
                partial: 48..48
            })
        );
        assert_eq!(
            ctx("entrypoint = \"na|"),
            Some(Context::Value {
                table: vec![],
                key: "entrypoint".into(),
                partial: 14..16,
                quoted: true
            })
        );
        assert_eq!(
            ctx("[ray]\nlogging_config.log_level = |"),
            Some(Context::Value {
                table: strings(&["ray", "logging_config"]),
                key: "log_level".into(),
                partial: 33..33,
                quoted: false
            })
        );
        assert_eq!(ctx("a = 1 # |"), None);
    }

    #[test]
    fn targets() {
        let doc = Document::new("[runners.iris_clf]\n[ray]\nversion = \"2.9\"\n".into(), 0);
        assert_eq!(
            target(&doc, 12),
            Some(Target::Header {
                path: strings(&["runners", "iris_clf"]),
                span: 9..17
            })
        );
        assert_eq!(
            target(&doc, 26),
            Some(Target::Key {
                path: strings(&["ray", "version"]),
                span: 25..32
            })
        );
        let inline = Document::new(
            "[service]\nray_actor_options = { \"é\" = 1, num_cpus = 1 }\n".into(),
            0,
        );
        let at = inline.text.find("num_cpus").unwrap();
        assert_eq!(
            target(&inline, at + 2),
            Some(Target::Key {
                path: strings(&["service", "ray_actor_options", "num_cpus"]),
                span: at..at + 8
            })
        );
        // A value is not a key.
        assert_eq!(target(&doc, 37), None);
    }
}
