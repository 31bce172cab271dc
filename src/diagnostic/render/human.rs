//! Human output: miette's graphical report per diagnostic (`file:line:col`,
//! the source line, a label on the span, the code and help) on stderr.

use std::fmt;

use crate::diagnostic::{Diagnostic, FileDiagnostics, Severity, SourceFile};

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
}
