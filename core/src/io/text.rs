//! Small helpers for the text formats: a whitespace tokenizer that tracks line numbers, and
//! safe previews of unknown bytes for error messages.

/// Skips leading ASCII whitespace.
pub(crate) fn skip_ws(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// True when the bytes are plausible text (no control bytes other than whitespace).
pub(crate) fn looks_textual(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b >= 0x20 || b == b'\n' || b == b'\r' || b == b'\t')
}

/// The first bytes of a file, escaped, for an error message.
pub(crate) fn preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(16)];
    format!("\"{}\"", head.escape_ascii())
}

/// Yields whitespace-separated tokens with their 1-based line numbers.
pub(crate) struct Tokens<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// Skips what is left of the current line (e.g. a solid's name after `endsolid`).
    pub(crate) fn skip_line(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            self.pos += 1;
        }
    }

    /// The line of the last token returned (or the current line at end of input).
    pub(crate) fn line(&self) -> usize {
        self.line
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = (&'a [u8], usize);

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            if self.bytes[self.pos] == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        if self.pos >= self.bytes.len() {
            return None;
        }
        let start = self.pos;
        while self.pos < self.bytes.len() && !self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        Some((&self.bytes[start..self.pos], self.line))
    }
}

/// Parses a float token; `None` when it is not a number.
pub(crate) fn parse_f32(token: &[u8]) -> Option<f32> {
    std::str::from_utf8(token).ok()?.parse::<f32>().ok()
}
