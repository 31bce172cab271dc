//! The one diagnostic model shared by every stage, and its renderers
//! (`render::{human, json, sarif, github}`). Stages only *create*
//! diagnostics; the CLI renders them.

pub mod render;
pub mod rules;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

pub use render::human::{render_human, summary_line};
pub use render::json::render_json;
pub use rules::Rule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// A source file diagnostics point into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown to the user.
    pub name: String,
    pub text: Arc<str>,
    /// Built on first use, once per file: every position lookup after that
    /// is a binary search, so N diagnostics cost O(N log lines), not O(N × file).
    lines: OnceLock<LineIndex>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
            lines: OnceLock::new(),
        }
    }

    fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let index = self.lines();
        let line = index.newline_line_of(offset);
        let line_start = index.newline_starts[line];
        let col = if index.ascii_lines[line] {
            offset - line_start
        } else {
            self.text[line_start..offset].chars().count()
        };
        (line + 1, col + 1)
    }
}

/// Line starts of a file, for the two notions of a line in use: `\n` (the
/// JSON output's line numbers) and miette's (`\n`, `\r\n` or a lone `\r`).
#[derive(Debug, Clone)]
struct LineIndex {
    /// Byte offset of each `\n`-terminated line's start.
    newline_starts: Vec<usize>,
    /// Whether each of those lines is pure ASCII (column = byte distance).
    ascii_lines: Vec<bool>,
    /// Byte offset of each line's start as miette counts lines.
    miette_starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut newline_starts = vec![0];
        let mut ascii_lines = vec![true];
        let mut miette_starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'\n' => {
                    newline_starts.push(i + 1);
                    ascii_lines.push(true);
                    miette_starts.push(i + 1);
                }
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => miette_starts.push(i + 1),
                b if !b.is_ascii() => *ascii_lines.last_mut().expect("one line at least") = false,
                _ => {}
            }
        }
        LineIndex {
            newline_starts,
            ascii_lines,
            miette_starts,
        }
    }

    /// 0-based index of the `\n`-line holding `offset`.
    fn newline_line_of(&self, offset: usize) -> usize {
        self.newline_starts.partition_point(|&s| s <= offset) - 1
    }

    /// 0-based index of the miette line holding `offset`.
    fn miette_line_of(&self, offset: usize) -> usize {
        self.miette_starts.partition_point(|&s| s <= offset) - 1
    }
}

/// One problem found in a spec.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub rule: &'static Rule,
    pub message: String,
    /// Byte range in the spec that the problem is about; `None` for
    /// problems with no place in the file (e.g. an unreadable spec).
    pub span: Option<Range<usize>>,
    /// Text shown under the span.
    pub label: Option<String>,
    pub help: Option<String>,
    /// Machine-applicable fixes (the did-you-mean name, a key moved to
    /// where it belongs), each complete on its own.
    pub suggestions: Vec<Suggestion>,
}

/// One fix: applying all of its edits to the spec makes the change it
/// describes. Most have one edit; moving a key has two (delete, insert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// What the fix does, e.g. "replace with `iris_clf`".
    pub message: String,
    /// Non-overlapping edits, in file order.
    pub edits: Vec<Edit>,
}

/// Replace the bytes of `span` with `replacement` (an empty span inserts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub span: Range<usize>,
    pub replacement: String,
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            message: message.into(),
            span: None,
            label: None,
            help: None,
            suggestions: Vec::new(),
        }
    }

    /// Adds the fix "replace `span` with `replacement`".
    pub fn suggest(self, span: Range<usize>, replacement: impl Into<String>) -> Self {
        let replacement = replacement.into();
        let message = format!("replace with `{replacement}`");
        self.suggest_edits(message, vec![Edit { span, replacement }])
    }

    /// Adds a fix made of several edits (sorted into file order here).
    pub fn suggest_edits(mut self, message: impl Into<String>, mut edits: Vec<Edit>) -> Self {
        edits.sort_by_key(|e| (e.span.start, e.span.end));
        self.suggestions.push(Suggestion {
            message: message.into(),
            edits,
        });
        self
    }

    pub fn at(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

/// Diagnostics for one spec file, sorted by position.
#[derive(Debug, Clone)]
pub struct FileDiagnostics {
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileDiagnostics {
    pub fn new(file: SourceFile, mut diagnostics: Vec<Diagnostic>) -> Self {
        // Stable order: by position, then by code, so output is deterministic.
        diagnostics.sort_by(|a, b| {
            let pos = |d: &Diagnostic| d.span.as_ref().map_or((0, 0), |s| (s.start, s.end));
            pos(a)
                .cmp(&pos(b))
                .then_with(|| a.rule.code.cmp(b.rule.code))
                .then_with(|| a.message.cmp(&b.message))
        });
        FileDiagnostics { file, diagnostics }
    }

    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity() == severity)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_on_the_line() {
        let file = SourceFile::new("f", "ab\né = 1\n\nx");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(2), (1, 3));
        assert_eq!(file.line_col(3), (2, 1));
        // after the two-byte `é`
        assert_eq!(file.line_col(5), (2, 2));
        // inside `é`: the character's own column
        assert_eq!(file.line_col(4), (2, 1));
        assert_eq!(file.line_col(10), (3, 1));
        assert_eq!(file.line_col(11), (4, 1));
        assert_eq!(file.line_col(99), (4, 2));
    }
}
