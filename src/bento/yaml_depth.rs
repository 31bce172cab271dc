//! A linear pre-scan of BentoML's YAML for flow-collection nesting depth.
//!
//! libyaml (and so serde_norway) re-examines every open flow level for each
//! token, so a `bento.yaml` of 64,000 `[` takes seconds to minutes to
//! reject. This scan finds such nesting first, in one pass. It reads just
//! enough YAML to know which `[` and `{` open a collection: not those in
//! quoted scalars, comments, block scalars (`|`, `>`) or inside a plain
//! scalar in block context. When unsure it under-counts, so it never rejects
//! YAML that is nested within the limit.

/// Deepest flow nesting accepted in a bento's YAML.
pub const MAX_YAML_FLOW_DEPTH: usize = 64;

/// The 1-based line where flow nesting first exceeds `MAX_YAML_FLOW_DEPTH`.
pub fn too_deep_at(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut line = 1usize;
    // Whether the next character may start a node (so `[`, `{`, quotes and
    // block-scalar indicators mean what they say).
    let mut node_start = true;
    // Indentation of the current line, and of a line that opened a block
    // scalar whose more-indented lines are text.
    let mut indent = 0usize;
    let mut block_scalar_parent: Option<usize> = None;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            line += 1;
            i += 1;
            // Measure the next line's indentation.
            let start = i;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            indent = i - start;
            if let Some(parent) = block_scalar_parent {
                let blank = i >= bytes.len() || matches!(bytes[i], b'\n' | b'\r');
                if blank || indent > parent {
                    // Text of the block scalar: skip the line.
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                block_scalar_parent = None;
            }
            node_start = true;
            continue;
        }
        match b {
            b'#' if node_start || i == 0 || matches!(bytes[i - 1], b' ' | b'\t') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' if node_start || depth > 0 => {
                depth += 1;
                if depth > MAX_YAML_FLOW_DEPTH {
                    return Some(line);
                }
                node_start = true;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                node_start = false;
            }
            b',' if depth > 0 => node_start = true,
            b'"' if node_start => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'\n' => line += 1,
                        _ => {}
                    }
                    i += 1;
                }
                node_start = false;
            }
            b'\'' if node_start => {
                i += 1;
                // `''` inside is an escaped quote: two closes and reopens.
                while i < bytes.len() && bytes[i] != b'\'' {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                node_start = false;
            }
            b'|' | b'>' if node_start && depth == 0 => {
                block_scalar_parent = Some(indent);
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            // `- ` and `? ` where a node may start, and the `: ` after a
            // key, start a node.
            b'-' | b'?' | b':'
                if (node_start || b == b':')
                    && bytes
                        .get(i + 1)
                        .is_none_or(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) =>
            {
                node_start = true;
            }
            b':' if depth > 0 => node_start = true,
            b' ' | b'\t' | b'\r' => {
                // Inside flow collections, whitespace separates tokens.
                if depth > 0 {
                    node_start = true;
                }
            }
            _ => node_start = false,
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("runners: {}{}\n", "[".repeat(n), "]".repeat(n))
    }

    #[test]
    fn counts_flow_nesting() {
        assert_eq!(too_deep_at(&nested(MAX_YAML_FLOW_DEPTH)), None);
        assert_eq!(too_deep_at(&nested(MAX_YAML_FLOW_DEPTH + 1)), Some(1));
        let maps = format!("a:\n  b: {}1{}\n", "{x: ".repeat(70), "}".repeat(70));
        assert_eq!(too_deep_at(&maps), Some(2));
    }

    #[test]
    fn ignores_brackets_that_open_nothing() {
        let deep = "[".repeat(100);
        let texts = [
            format!("a: \"{deep}\"\n"),
            format!("a: '{deep} it''s'\n"),
            format!("a: x{deep}\n"),
            format!("a: 1 # {deep}\n"),
            format!("a: |\n  {deep}\n\n  more {deep}\nb: 1\n"),
            format!("- >-\n   {deep}\n- c\n"),
            format!("doc: don't {deep}\n"),
            format!("a: x - {deep}\n"),
        ];
        for text in texts {
            assert_eq!(too_deep_at(&text), None, "{text}");
        }
        // A block scalar ends where indentation returns.
        let after = format!("a: |\n  text\nb: {}\n", "[".repeat(100));
        assert_eq!(too_deep_at(&after), Some(3));
    }
}
