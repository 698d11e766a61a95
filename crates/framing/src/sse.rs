use crate::FrameError;

/// One dispatched Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, if any.
    pub id: Option<String>,
    /// The `retry:` field in milliseconds, if any.
    pub retry: Option<u64>,
}

impl SseEvent {
    /// Serialises the event back to wire form, ending with a blank line.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.event {
            out.push_str("event: ");
            out.push_str(e);
            out.push('\n');
        }
        if let Some(id) = &self.id {
            out.push_str("id: ");
            out.push_str(id);
            out.push('\n');
        }
        if let Some(r) = self.retry {
            out.push_str(&format!("retry: {r}\n"));
        }
        if !self.data.is_empty() || (self.event.is_none() && self.id.is_none()) {
            for line in self.data.split('\n') {
                out.push_str("data: ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
        out
    }
}

/// What an [`SseFramer`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// An event, dispatched at a blank line (or at the end of the stream).
    Event(SseEvent),
    /// A comment line (`: text`), without the leading colon.
    Comment(String),
}

/// An incremental Server-Sent Events parser.
///
/// It follows the WHATWG event-stream rules with two differences that keep recordings
/// lossless: comment lines are reported rather than dropped, and a block with an
/// `event` or `id` field but no `data` is still reported.
#[derive(Debug, Default)]
pub struct SseFramer {
    line: Vec<u8>,
    line_start: u64,
    consumed: u64,
    pending_cr: bool,
    current: SseEvent,
    has_fields: bool,
    has_data: bool,
    seen_first_line: bool,
}

impl SseFramer {
    /// A new framer.
    pub fn new() -> SseFramer {
        SseFramer::default()
    }

    /// Feeds bytes and returns the items completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseItem>, FrameError> {
        let mut out = Vec::new();
        for &b in bytes {
            let offset = self.consumed;
            self.consumed += 1;
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    self.line_start = self.consumed;
                    continue;
                }
            }
            match b {
                b'\n' => {
                    self.end_line(&mut out)?;
                    self.line_start = self.consumed;
                }
                b'\r' => {
                    self.end_line(&mut out)?;
                    self.pending_cr = true;
                    self.line_start = self.consumed;
                }
                _ => {
                    if self.line.is_empty() {
                        self.line_start = offset;
                    }
                    self.line.push(b)
                }
            }
        }
        Ok(out)
    }

    /// Ends the stream: a final line without a line ending is processed, and a pending
    /// event is dispatched.
    pub fn finish(&mut self) -> Result<Vec<SseItem>, FrameError> {
        let mut out = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut out)?;
        }
        self.dispatch(&mut out);
        Ok(out)
    }

    fn end_line(&mut self, out: &mut Vec<SseItem>) -> Result<(), FrameError> {
        let raw = std::mem::take(&mut self.line);
        let mut line = String::from_utf8(raw).map_err(|_| FrameError::InvalidUtf8 {
            offset: self.line_start,
        })?;
        if !self.seen_first_line {
            self.seen_first_line = true;
            if let Some(stripped) = line.strip_prefix('\u{feff}') {
                line = stripped.to_string();
            }
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if let Some(comment) = line.strip_prefix(':') {
            out.push(SseItem::Comment(comment.to_string()));
            return Ok(());
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line.as_str(), ""),
        };
        match field {
            "event" => {
                self.current.event = Some(value.to_string());
                self.has_fields = true;
            }
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
                self.has_fields = true;
            }
            "id" if !value.contains('\0') => {
                self.current.id = Some(value.to_string());
                self.has_fields = true;
            }
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.current.retry = Some(ms);
                    self.has_fields = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, out: &mut Vec<SseItem>) {
        if self.has_fields {
            out.push(SseItem::Event(std::mem::take(&mut self.current)));
        }
        self.current = SseEvent::default();
        self.has_fields = false;
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<SseItem> {
        let mut f = SseFramer::new();
        let mut items = f.feed(input).unwrap();
        items.extend(f.finish().unwrap());
        items
    }

    fn data(items: &[SseItem]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                SseItem::Event(e) => Some(e.data.clone()),
                SseItem::Comment(_) => None,
            })
            .collect()
    }

    #[test]
    fn crlf_lf_and_cr_line_endings() {
        assert_eq!(
            data(&all(b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d")),
            ["a", "b", "c", "d"]
        );
    }

    #[test]
    fn multi_line_data_joins_with_newline() {
        assert_eq!(data(&all(b"data: a\ndata:b\n\n")), ["a\nb"]);
    }

    #[test]
    fn split_anywhere_gives_the_same_items() {
        let input = b"event: message_start\r\ndata: {\"x\": 1}\r\n\r\n: OPENROUTER PROCESSING\n\ndata: [DONE]\n\n";
        let whole = all(input);
        for cut in 0..input.len() {
            let mut f = SseFramer::new();
            let mut items = f.feed(&input[..cut]).unwrap();
            items.extend(f.feed(&input[cut..]).unwrap());
            items.extend(f.finish().unwrap());
            assert_eq!(items, whole, "cut at {cut}");
        }
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[1], SseItem::Comment(" OPENROUTER PROCESSING".into()));
    }

    #[test]
    fn invalid_utf8_is_an_error_with_offset() {
        let mut f = SseFramer::new();
        let err = f.feed(b"data: ok\n\ndata: \xff\n").unwrap_err();
        assert_eq!(err, FrameError::InvalidUtf8 { offset: 10 });
    }

    #[test]
    fn wire_form_round_trips() {
        let e = SseEvent {
            event: Some("delta".into()),
            data: "line1\nline2".into(),
            id: Some("7".into()),
            retry: None,
        };
        assert_eq!(all(e.to_wire().as_bytes()), vec![SseItem::Event(e)]);
    }
}
