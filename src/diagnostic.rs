//! The one diagnostic model shared by every stage, and its renderers
//! (human via miette, JSON). Stages only *create* diagnostics; the CLI
//! renders them.

pub mod rules;

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

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
}

impl Diagnostic {
    pub fn new(rule: &'static Rule, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            message: message.into(),
            span: None,
            label: None,
            help: None,
        }
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

// ---------------------------------------------------------------- human

/// Adapter that lets miette render our diagnostic.
struct MietteView<'a> {
    diag: &'a Diagnostic,
    source: &'a IndexedSource<'a>,
}

/// The spec as miette reads it. miette's own `SourceCode` for strings scans
/// from the start of the file on every lookup, which makes N reports cost
/// O(N × file size); this one cuts a window of whole lines around the span
/// with the line index and lets miette scan only that window, then shifts
/// the result back, so reports are byte-identical.
struct IndexedSource<'a> {
    file: &'a SourceFile,
}

impl miette::SourceCode for IndexedSource<'_> {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let text = self.file.text.as_bytes();
        let (start, len) = (span.offset(), span.len());
        let (window_line, window) = if start + len <= text.len() {
            let index = self.file.lines();
            let first = index.miette_line_of(start);
            let last = index.miette_line_of((start + len).saturating_sub(1).max(start));
            // One spare line on each side: miette needs to see the line
            // break before its first context line and after its last.
            let window_line = first.saturating_sub(context_lines_before + 1);
            let window_start = index.miette_starts[window_line];
            let window_end = index
                .miette_starts
                .get(last + context_lines_after + 2)
                .copied()
                .unwrap_or(text.len());
            (window_line, window_start..window_end)
        } else {
            // Out of bounds: let miette report it on the whole text.
            (0, 0..text.len())
        };
        let inner = text[window.clone()].read_span(
            &miette::SourceSpan::new((start - window.start.min(start)).into(), len),
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.file.name.clone(),
            inner.data(),
            miette::SourceSpan::new(
                (inner.span().offset() + window.start).into(),
                inner.span().len(),
            ),
            inner.line() + window_line,
            inner.column(),
            inner.line_count() + window_line,
        )))
    }
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!(
            "{}({})",
            self.diag.rule.code, self.diag.rule.name
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.diag.span.as_ref().map(|_| self.source as _)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.diag.span.clone()?;
        let label = miette::LabeledSpan::new_primary_with_span(
            self.diag.label.clone(),
            (span.start, span.end.saturating_sub(span.start)),
        );
        Some(Box::new(std::iter::once(label)))
    }
}

/// Renders diagnostics for people: miette's graphical report with
/// `file:line:col`, the source line, a label on the span, the code and help.
pub fn render_human(report: &FileDiagnostics, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let source = IndexedSource { file: &report.file };
    let mut out = String::new();
    for diag in &report.diagnostics {
        let view = MietteView {
            diag,
            source: &source,
        };
        if diag.span.is_none() {
            out.push_str(&format!("{}: ", report.file.name));
        }
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, &view);
    }
    out
}

/// One-line summary such as `bentoray.toml: 2 errors, 1 warning`.
pub fn summary_line(report: &FileDiagnostics) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let notes = report.count(Severity::Note);
    let mut parts = vec![plural(errors, "error"), plural(warnings, "warning")];
    if notes > 0 {
        parts.push(plural(notes, "note"));
    }
    format!("{}: {}", report.file.name, parts.join(", "))
}

// ---------------------------------------------------------------- json

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
}

/// Renders diagnostics as a JSON array (one object per diagnostic), for
/// editors and CI annotations.
pub fn render_json(reports: &[FileDiagnostics]) -> String {
    let mut all = Vec::new();
    for report in reports {
        for d in &report.diagnostics {
            let start = d.span.as_ref().map(|s| report.file.line_col(s.start));
            let end = d.span.as_ref().map(|s| report.file.line_col(s.end));
            all.push(JsonDiagnostic {
                file: &report.file.name,
                code: d.rule.code,
                name: d.rule.name,
                severity: d.severity(),
                message: &d.message,
                line: start.map(|p| p.0),
                column: start.map(|p| p.1),
                end_line: end.map(|p| p.0),
                end_column: end.map(|p| p.1),
                label: d.label.as_deref(),
                help: d.help.as_deref(),
            });
        }
    }
    let mut out = serde_json::to_string_pretty(&all).expect("diagnostics serialize");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::SourceCode;

    /// The windowed source must give miette exactly what miette's own
    /// string source gives, for every span and context size, including
    /// CRLF, lone CR, multi-byte characters and spans at the end of file.
    #[test]
    fn indexed_source_reads_spans_as_miette_does() {
        let texts = [
            "a = 1\nb = 2\n\n[runners.x]\nnum = 3\n",
            "a = 1\r\nb = \"é\"\r\n\r\nc = 3",
            "x\ry\r\nz\n\nw = \"∑∑\"\n",
            "",
            "\n\n\n",
            "only = \"one line\"",
        ];
        for text in texts {
            let file = SourceFile::new("f.toml", text);
            let indexed = IndexedSource { file: &file };
            let plain = miette::NamedSource::new("f.toml", text.to_string());
            for start in 0..=text.len() {
                for len in 0..=(text.len() - start).min(12) {
                    for context in 0..3 {
                        let span = miette::SourceSpan::new(start.into(), len);
                        let ours = indexed.read_span(&span, context, context);
                        let theirs = plain.read_span(&span, context, context);
                        match (ours, theirs) {
                            (Ok(a), Ok(b)) => {
                                let case = format!("{text:?} {start}+{len} context {context}");
                                assert_eq!(a.data(), b.data(), "{case}");
                                assert_eq!(a.span(), b.span(), "{case}");
                                assert_eq!(a.line(), b.line(), "{case}");
                                assert_eq!(a.column(), b.column(), "{case}");
                                assert_eq!(a.line_count(), b.line_count(), "{case}");
                                assert_eq!(a.name(), b.name(), "{case}");
                            }
                            (Err(_), Err(_)) => {}
                            (a, b) => panic!(
                                "{text:?} {start}+{len}: ours ok={} theirs ok={}",
                                a.is_ok(),
                                b.is_ok()
                            ),
                        }
                    }
                }
            }
        }
    }

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
