use crate::FrameError;

/// An incremental newline-delimited JSON framer.
///
/// It yields each non-blank line as a string, without its line ending. It does not
/// parse the JSON: that is the caller's business.
#[derive(Debug, Default)]
pub struct NdjsonFramer {
    line: Vec<u8>,
    line_start: u64,
    consumed: u64,
}

impl NdjsonFramer {
    /// A new framer.
    pub fn new() -> NdjsonFramer {
        NdjsonFramer::default()
    }

    /// Feeds bytes and returns the lines completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, FrameError> {
        let mut out = Vec::new();
        for &b in bytes {
            self.consumed += 1;
            if b == b'\n' {
                self.end_line(&mut out)?;
                self.line_start = self.consumed;
            } else {
                self.line.push(b);
            }
        }
        Ok(out)
    }

    /// Ends the stream; a last line without a newline is returned.
    pub fn finish(&mut self) -> Result<Vec<String>, FrameError> {
        let mut out = Vec::new();
        self.end_line(&mut out)?;
        Ok(out)
    }

    fn end_line(&mut self, out: &mut Vec<String>) -> Result<(), FrameError> {
        let raw = std::mem::take(&mut self.line);
        let line = String::from_utf8(raw).map_err(|_| FrameError::InvalidUtf8 {
            offset: self.line_start,
        })?;
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            out.push(trimmed.to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_blank_lines_and_crlf() {
        let mut f = NdjsonFramer::new();
        let mut out = f.feed(b"{\"a\":1}\r\n\n{\"b\"").unwrap();
        out.extend(f.feed(b":2}").unwrap());
        out.extend(f.finish().unwrap());
        assert_eq!(out, ["{\"a\":1}", "{\"b\":2}"]);
    }
}
