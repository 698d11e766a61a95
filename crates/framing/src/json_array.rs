use crate::FrameError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Before the opening `[` (or a lone top-level object).
    #[default]
    Start,
    /// Inside the array, between elements.
    Between,
    /// Inside an element.
    Element,
    /// After the closing `]` or after a lone top-level object.
    Done,
}

/// An incremental framer for a JSON array streamed element by element.
///
/// It yields the text of each top-level element. A body that is a single JSON object
/// rather than an array (an error body, say) is yielded as one element. Elements are
/// not parsed, only delimited: strings and escapes are tracked so that brackets inside
/// strings do not count.
#[derive(Debug, Default)]
pub struct JsonArrayFramer {
    state: State,
    lone_object: bool,
    element: Vec<u8>,
    element_start: u64,
    depth: u32,
    in_string: bool,
    escaped: bool,
    consumed: u64,
}

impl JsonArrayFramer {
    /// A new framer.
    pub fn new() -> JsonArrayFramer {
        JsonArrayFramer::default()
    }

    /// Feeds bytes and returns the elements completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, FrameError> {
        let mut out = Vec::new();
        for &b in bytes {
            let offset = self.consumed;
            self.consumed += 1;
            match self.state {
                State::Start => match b {
                    b'[' => self.state = State::Between,
                    b'{' => {
                        self.lone_object = true;
                        self.begin_element(b, offset);
                    }
                    0xEF | 0xBB | 0xBF if offset < 3 => {}
                    b if b.is_ascii_whitespace() => {}
                    byte => return Err(FrameError::UnexpectedByte { byte, offset }),
                },
                State::Between => match b {
                    b']' => self.state = State::Done,
                    b',' => {}
                    b if b.is_ascii_whitespace() => {}
                    b => {
                        self.begin_element(b, offset);
                        // A scalar element such as `1` has no closing bracket; it ends
                        // at the next delimiter, handled in `Element`.
                    }
                },
                State::Element => self.element_byte(b, offset, &mut out)?,
                State::Done => {
                    if !b.is_ascii_whitespace() {
                        return Err(FrameError::UnexpectedByte { byte: b, offset });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Ends the stream. It is an error if an element or the array is still open.
    pub fn finish(&mut self) -> Result<Vec<String>, FrameError> {
        match self.state {
            State::Done => Ok(Vec::new()),
            State::Start => Ok(Vec::new()),
            State::Between => Err(FrameError::Truncated {
                context: "a JSON array (no closing bracket)",
            }),
            State::Element => {
                if self.depth == 0 && !self.in_string {
                    // A trailing scalar with no closing bracket: the array is still open.
                    Err(FrameError::Truncated {
                        context: "a JSON array (no closing bracket)",
                    })
                } else {
                    Err(FrameError::Truncated {
                        context: "a JSON array element",
                    })
                }
            }
        }
    }

    fn begin_element(&mut self, b: u8, offset: u64) {
        self.state = State::Element;
        self.element.clear();
        self.element_start = offset;
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
        self.track(b);
        self.element.push(b);
    }

    fn track(&mut self, b: u8) {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
    }

    fn element_byte(
        &mut self,
        b: u8,
        offset: u64,
        out: &mut Vec<String>,
    ) -> Result<(), FrameError> {
        let scalar = self.depth == 0 && !self.in_string;
        if scalar && (b == b',' || b == b']' || b.is_ascii_whitespace()) {
            // End of a scalar element.
            self.emit(out)?;
            self.state = if b == b']' {
                State::Done
            } else {
                State::Between
            };
            return Ok(());
        }
        if scalar && (b == b'}' || b == b'{' || b == b'[') {
            return Err(FrameError::UnexpectedByte { byte: b, offset });
        }
        self.track(b);
        self.element.push(b);
        if self.depth == 0 && !self.in_string && (b == b'}' || b == b']') {
            self.emit(out)?;
            self.state = if self.lone_object {
                State::Done
            } else {
                State::Between
            };
        }
        Ok(())
    }

    fn emit(&mut self, out: &mut Vec<String>) -> Result<(), FrameError> {
        let raw = std::mem::take(&mut self.element);
        let text = String::from_utf8(raw).map_err(|_| FrameError::InvalidUtf8 {
            offset: self.element_start,
        })?;
        out.push(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Result<Vec<String>, FrameError> {
        let mut f = JsonArrayFramer::new();
        let mut out = f.feed(input)?;
        out.extend(f.finish()?);
        Ok(out)
    }

    #[test]
    fn gemini_style_array() {
        let input = b"[{\"a\": \"]}\\\"\"}\n,\r\n{\"b\": [1, {\"c\": 2}]}\n]";
        assert_eq!(
            all(input).unwrap(),
            ["{\"a\": \"]}\\\"\"}", "{\"b\": [1, {\"c\": 2}]}"]
        );
        for cut in 0..input.len() {
            let mut f = JsonArrayFramer::new();
            let mut out = f.feed(&input[..cut]).unwrap();
            out.extend(f.feed(&input[cut..]).unwrap());
            out.extend(f.finish().unwrap());
            assert_eq!(out.len(), 2, "cut at {cut}");
        }
    }

    #[test]
    fn lone_object_is_one_element() {
        assert_eq!(all(b" {\"error\": {}} ").unwrap(), ["{\"error\": {}}"]);
    }

    #[test]
    fn truncated_array_is_an_error() {
        assert!(matches!(
            all(b"[{\"a\":1}"),
            Err(FrameError::Truncated { .. })
        ));
        assert!(matches!(
            all(b"[{\"a\":"),
            Err(FrameError::Truncated { .. })
        ));
        assert!(matches!(all(b"x"), Err(FrameError::UnexpectedByte { .. })));
    }

    #[test]
    fn scalars() {
        assert_eq!(all(b"[1, \"x\" ,true]").unwrap(), ["1", "\"x\"", "true"]);
    }
}
