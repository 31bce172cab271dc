//! An open document and LSP positions, which count UTF-16 code units within
//! a line (the protocol's default and only mandatory encoding).

use std::ops::Range;

use lsp_types::{Position, TextDocumentContentChangeEvent};

/// The text of an open document with its line starts.
#[derive(Debug, Clone)]
pub struct Document {
    pub text: String,
    pub version: i32,
    line_starts: Vec<usize>,
}

impl Document {
    pub fn new(text: String, version: i32) -> Self {
        let line_starts = line_starts(&text);
        Document {
            text,
            version,
            line_starts,
        }
    }

    /// Applies the client's changes in order: a change with a range
    /// replaces that range, one without replaces the whole text.
    pub fn apply(&mut self, changes: Vec<TextDocumentContentChangeEvent>, version: i32) {
        for change in changes {
            match change.range {
                Some(range) => {
                    let start = self.offset(range.start);
                    let end = self.offset(range.end).max(start);
                    self.text.replace_range(start..end, &change.text);
                }
                None => self.text = change.text,
            }
            self.line_starts = line_starts(&self.text);
        }
        self.version = version;
    }

    /// The byte offset of an LSP position, clamped into the text: a line
    /// past the end is the end, a character past the line's end is the
    /// line's end, and a position inside a surrogate pair rounds down.
    pub fn offset(&self, position: Position) -> usize {
        let Some(&line_start) = self.line_starts.get(position.line as usize) else {
            return self.text.len();
        };
        let line_end = self
            .line_starts
            .get(position.line as usize + 1)
            .map_or(self.text.len(), |&next| next - 1);
        let line = &self.text[line_start..line_end];
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            let width = c.len_utf16() as u32;
            if units + width > position.character {
                return line_start + i;
            }
            units += width;
        }
        line_end
    }

    /// The LSP position of a byte offset (clamped, rounded down to a
    /// character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let character = self.text[start..offset]
            .chars()
            .map(|c| c.len_utf16() as u32)
            .sum();
        Position::new(line as u32, character)
    }

    pub fn range(&self, span: &Range<usize>) -> lsp_types::Range {
        lsp_types::Range::new(self.position(span.start), self.position(span.end))
    }

    /// Byte range of the `\n`-terminated line holding `offset` (without the
    /// newline).
    pub fn line_at(&self, offset: usize) -> Range<usize> {
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&next| next - 1);
        start..end
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        // `é` is one unit (two bytes), `𝄞` two units (four bytes).
        let doc = Document::new("é𝄞x = 1\nab".into(), 0);
        assert_eq!(doc.offset(Position::new(0, 0)), 0);
        assert_eq!(doc.offset(Position::new(0, 1)), 2);
        assert_eq!(doc.offset(Position::new(0, 3)), 6);
        assert_eq!(doc.position(6), Position::new(0, 3));
        // Inside the surrogate pair: rounds down to the character.
        assert_eq!(doc.offset(Position::new(0, 2)), 2);
        // Past the line's end, past the last line.
        assert_eq!(doc.offset(Position::new(0, 99)), 11);
        assert_eq!(doc.offset(Position::new(1, 1)), 13);
        assert_eq!(doc.offset(Position::new(7, 0)), 14);
        assert_eq!(doc.position(13), Position::new(1, 1));
    }

    #[test]
    fn incremental_changes_apply_in_order() {
        let mut doc = Document::new("a = 1\nb = 2\n".into(), 1);
        let change = |l1, c1, l2, c2, text: &str| TextDocumentContentChangeEvent {
            range: Some(lsp_types::Range::new(
                Position::new(l1, c1),
                Position::new(l2, c2),
            )),
            range_length: None,
            text: text.into(),
        };
        doc.apply(vec![change(1, 0, 1, 1, "ü"), change(1, 1, 1, 1, "x")], 2);
        assert_eq!(doc.text, "a = 1\nüx = 2\n");
        assert_eq!(doc.position(doc.text.len()), Position::new(2, 0));
    }
}
