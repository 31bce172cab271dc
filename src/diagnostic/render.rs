//! One renderer per output format; all read the same `FileDiagnostics`.
//! `human` is for people (stderr); `json`, `sarif` and `github` are for
//! machines (stdout).

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::ops::Range;

use super::SourceFile;

/// A span as 1-based lines and columns (columns count characters), end
/// exclusive: what every machine format reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl Region {
    pub fn of(file: &SourceFile, span: &Range<usize>) -> Region {
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end);
        Region {
            line,
            column,
            end_line,
            end_column,
        }
    }
}
