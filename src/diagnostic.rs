//! The one diagnostic model shared by every stage, and its renderers
//! (human via miette, JSON). Stages only *create* diagnostics; the CLI
//! renders them.

pub mod rules;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

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
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
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
    source: &'a miette::NamedSource<Arc<str>>,
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
    let source = miette::NamedSource::new(report.file.name.clone(), report.file.text.clone());
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
