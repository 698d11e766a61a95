//! A fast reader for the YAML that llmvcr writes.
//!
//! Format v1 files are YAML, and a general YAML parser reads them at about
//! 10 MB/s. Nearly every cassette is written by llmvcr itself, in a small
//! subset of YAML: block mappings and sequences indented by spaces; plain,
//! single-quoted and double-quoted scalars on one line; literal block
//! scalars; and the empty flow collections `{}` and `[]`. This module reads
//! exactly that subset, many times faster, into the value the general parser
//! produces for the same text.
//!
//! Anything outside the subset (comments, anchors, aliases, tags, flow
//! collections with content, folded or multi-line flow scalars, tabs in the
//! indentation, CR line ends, characters YAML does not allow in a stream,
//! duplicate keys) makes it return [`Unsupported`], and the caller falls
//! back to the general parser, which also reports every error with its
//! line. So this reader never decides what an error is, and never returns
//! a value the general parser would not: the differential tests in this
//! module and in `tests/` hold it to that on generated and real cassettes.

use std::borrow::Cow;

use serde::Deserialize as _;
use serde_json::{Map, Number, Value};

use crate::format::{
    Body, Cassette, Frame, HeaderList, Interaction, Request, Response, Stream, StreamFormat,
};

/// The text is outside the subset this reader handles; read it with the
/// general parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

type Fast<T> = Result<T, Unsupported>;

/// Reads a YAML document of the subset into a JSON value, or `None` when the
/// text is outside the subset (or not valid YAML at all).
pub(crate) fn parse(text: &str) -> Option<Value> {
    let mut reader = Reader::new(text, false);
    reader.document().ok()
}

/// Reads a format v1 cassette of the subset, leaving the JSON payloads of
/// responses (`response.body.json`, `response.stream.frames[].data`) unread:
/// they are checked to be in the subset and come back as `null`, with a
/// [`Deferred`] each that [`read_deferred`] reads later. Requests are read
/// whole. `None` when the text is outside the subset.
#[allow(dead_code)] // Used by lazy loading.
pub(crate) fn parse_deferring(text: &str) -> Option<(Value, Vec<Deferred>)> {
    let mut reader = Reader::new(text, true);
    let value = reader.document().ok()?;
    Some((value, reader.deferred))
}

/// A response payload left unread by [`parse_deferring`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deferred {
    /// The interaction it belongs to.
    pub(crate) interaction: usize,
    /// Where in the response it goes.
    pub(crate) slot: Slot,
    resume: Resume,
}

/// Where a deferred payload goes in its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `body.json`.
    Body,
    /// `stream.frames[n].data`.
    Frame(usize),
}

/// The reader's state at the start of a mapping value, to read it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resume {
    pos: usize,
    indent: usize,
    after: usize,
    end: usize,
}

/// Reads a payload that [`parse_deferring`] left unread, from the same text.
#[allow(dead_code)] // Used by lazy loading.
pub(crate) fn read_deferred(text: &str, deferred: &Deferred) -> Option<Value> {
    let mut reader = Reader::new(text, false);
    let Resume {
        pos,
        indent,
        after,
        end,
    } = deferred.resume;
    reader.pos = pos;
    reader
        .value_after_colon(indent, after, end, Ctx::Payload)
        .ok()
}

/// One line of the document, or the rest of one: where its content starts,
/// at which column, where it ends (before the line feed) and where the next
/// line starts.
#[derive(Debug, Clone, Copy)]
struct Line {
    indent: usize,
    content: usize,
    end: usize,
    next: usize,
}

/// Where a node sits in a cassette: what decides how duplicate keys are
/// treated (an error in the cassette's own mappings, the last one wins in
/// JSON payloads, as the general parser does) and which payloads are
/// deferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Interactions,
    Interaction(usize),
    Request,
    RequestBody,
    Response(usize),
    ResponseBody(usize),
    Stream(usize),
    Frames(usize),
    Frame(usize, usize),
    /// Inside a JSON payload.
    Payload,
    /// Anywhere else in the cassette's own structure.
    Other,
}

impl Ctx {
    fn entry(self, key: &str) -> Ctx {
        match (self, key) {
            (Ctx::Payload, _) => Ctx::Payload,
            (Ctx::Root, "interactions") => Ctx::Interactions,
            (Ctx::Interaction(_), "request") => Ctx::Request,
            (Ctx::Interaction(i), "response") => Ctx::Response(i),
            (Ctx::Request, "body") => Ctx::RequestBody,
            (Ctx::Response(i), "body") => Ctx::ResponseBody(i),
            (Ctx::Response(i), "stream") => Ctx::Stream(i),
            (Ctx::Stream(i), "frames") => Ctx::Frames(i),
            (Ctx::RequestBody | Ctx::ResponseBody(_) | Ctx::Frame(..), "json" | "data") => {
                Ctx::Payload
            }
            _ => Ctx::Other,
        }
    }

    fn item(self, index: usize) -> Ctx {
        match self {
            Ctx::Payload => Ctx::Payload,
            Ctx::Interactions => Ctx::Interaction(index),
            Ctx::Frames(i) => Ctx::Frame(i, index),
            _ => Ctx::Other,
        }
    }

    /// The slot of the response payload that `key` opens here, if any.
    fn deferrable(self, key: &str) -> Option<(usize, Slot)> {
        match (self, key) {
            (Ctx::ResponseBody(i), "json") => Some((i, Slot::Body)),
            (Ctx::Frame(i, n), "data") => Some((i, Slot::Frame(n))),
            _ => None,
        }
    }
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// The start of the first line not read yet.
    pos: usize,
    /// The last line [`Reader::peek`] found, and where it looked from.
    peeked: Option<(usize, Line)>,
    /// Whether response payloads are deferred.
    defer: bool,
    /// Whether values are only checked, not built (inside a deferred payload).
    skipping: bool,
    deferred: Vec<Deferred>,
}

/// How a literal block scalar treats its final line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// A scalar's value, before it is built.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(&'a str),
}

impl<'a> Reader<'a> {
    fn new(text: &'a str, defer: bool) -> Reader<'a> {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            peeked: None,
            defer,
            skipping: false,
            deferred: Vec::new(),
        }
    }

    fn document(&mut self) -> Fast<Value> {
        let line = self.peek()?.ok_or(Unsupported)?;
        if line.indent != 0 {
            return Err(Unsupported);
        }
        self.pos = line.next;
        let value = self.node(line, Ctx::Root)?;
        if self.peek()?.is_some() {
            return Err(Unsupported);
        }
        Ok(value)
    }

    /// The next line with content, without consuming it. Blank lines are
    /// skipped; comment lines, tabs in the indentation, CR line ends and
    /// document markers are outside the subset.
    fn peek(&mut self) -> Fast<Option<Line>> {
        if let Some((from, line)) = self.peeked
            && from == self.pos
        {
            return Ok(Some(line));
        }
        let b = self.bytes;
        let mut pos = self.pos;
        loop {
            if pos >= b.len() {
                return Ok(None);
            }
            let mut content = pos;
            while content < b.len() && b[content] == b' ' {
                content += 1;
            }
            if content < b.len() && b[content] == b'\n' {
                pos = content + 1;
                continue;
            }
            let end = memchr::memchr(b'\n', &b[content..]).map_or(b.len(), |i| content + i);
            if content == end {
                return Ok(None);
            }
            let next = if end < b.len() { end + 1 } else { end };
            if b[content] == b'#' {
                check(&b[content..end])?;
                pos = next;
                continue;
            }
            if b[content] == b'\t' || b[end - 1] == b'\r' {
                return Err(Unsupported);
            }
            let indent = content - pos;
            if indent == 0 && (b[pos..end].starts_with(b"---") || b[pos..end].starts_with(b"...")) {
                return Err(Unsupported);
            }
            let line = Line {
                indent,
                content,
                end,
                next,
            };
            self.peeked = Some((self.pos, line));
            return Ok(Some(line));
        }
    }

    fn is_dash(&self, at: usize, end: usize) -> bool {
        self.bytes[at] == b'-' && (at + 1 == end || self.bytes[at + 1] == b' ')
    }

    /// A block node whose first line is `line` (already consumed), at the
    /// line's column: a sequence or a mapping. A scalar on a line of its own
    /// is outside the subset.
    fn node(&mut self, line: Line, ctx: Ctx) -> Fast<Value> {
        if self.is_dash(line.content, line.end) {
            return self.seq(line, ctx);
        }
        match self.key_at(line.content, line.end)? {
            Some(key) => self.map(line, key, ctx),
            None => Err(Unsupported),
        }
    }

    /// A block mapping at `first.indent` whose first key is `key`.
    fn map(&mut self, first: Line, mut key: (Cow<'a, str>, usize), ctx: Ctx) -> Fast<Value> {
        let indent = first.indent;
        let mut map = Map::new();
        let mut line = first;
        loop {
            let (name, after) = key;
            let value = match ctx.deferrable(&name).filter(|_| self.defer) {
                Some((interaction, slot)) => {
                    self.deferred.push(Deferred {
                        interaction,
                        slot,
                        resume: Resume {
                            pos: self.pos,
                            indent,
                            after,
                            end: line.end,
                        },
                    });
                    self.skipping = true;
                    let checked = self.value_after_colon(indent, after, line.end, Ctx::Payload);
                    self.skipping = false;
                    checked?;
                    Value::Null
                }
                None => self.value_after_colon(indent, after, line.end, ctx.entry(&name))?,
            };
            if !self.skipping
                && map.insert(name.into_owned(), value).is_some()
                && ctx != Ctx::Payload
            {
                return Err(Unsupported);
            }
            match self.peek()? {
                Some(next) if next.indent == indent => {
                    if self.is_dash(next.content, next.end) {
                        return Err(Unsupported);
                    }
                    self.pos = next.next;
                    key = self.key_at(next.content, next.end)?.ok_or(Unsupported)?;
                    line = next;
                }
                Some(next) if next.indent > indent => return Err(Unsupported),
                _ => return Ok(Value::Object(map)),
            }
        }
    }

    /// A block sequence whose dashes are at `first.indent`; `first.content`
    /// is at the first dash.
    fn seq(&mut self, first: Line, ctx: Ctx) -> Fast<Value> {
        let indent = first.indent;
        let mut items = Vec::new();
        let mut line = first;
        let mut index = 0;
        loop {
            let item_ctx = ctx.item(index);
            let start = self.skip_spaces(line.content + 1, line.end);
            let item = if start == line.end {
                match self.peek()? {
                    Some(next) if next.indent > indent => {
                        self.pos = next.next;
                        self.node(next, item_ctx)?
                    }
                    _ => Value::Null,
                }
            } else {
                let rest = Line {
                    indent: indent + (start - line.content),
                    content: start,
                    end: line.end,
                    next: line.next,
                };
                if self.is_dash(start, line.end) {
                    self.seq(rest, item_ctx)?
                } else if let Some(key) = self.key_at(start, line.end)? {
                    self.map(rest, key, item_ctx)?
                } else {
                    self.inline(indent, start, line.end)?
                }
            };
            if !self.skipping {
                items.push(item);
            }
            index += 1;
            match self.peek()? {
                Some(next) if next.indent == indent && self.is_dash(next.content, next.end) => {
                    self.pos = next.next;
                    line = next;
                }
                Some(next) if next.indent > indent => return Err(Unsupported),
                _ => return Ok(Value::Array(items)),
            }
        }
    }

    /// The value of a mapping entry whose colon ends at `after`: on the same
    /// line, or the block node on the next lines, or null.
    fn value_after_colon(
        &mut self,
        indent: usize,
        after: usize,
        end: usize,
        ctx: Ctx,
    ) -> Fast<Value> {
        let start = self.skip_spaces(after, end);
        if start < end {
            return self.inline(indent, start, end);
        }
        match self.peek()? {
            Some(next) if next.indent > indent => {
                self.pos = next.next;
                self.node(next, ctx)
            }
            Some(next) if next.indent == indent && self.is_dash(next.content, next.end) => {
                self.pos = next.next;
                self.seq(next, ctx)
            }
            _ => Ok(Value::Null),
        }
    }

    /// A scalar (or empty flow collection) from `start` to the end of the
    /// line; `indent` is the column of the mapping or sequence holding it.
    fn inline(&mut self, indent: usize, start: usize, end: usize) -> Fast<Value> {
        let b = self.bytes;
        match b[start] {
            b'|' => {
                let text = self.literal(indent, start + 1, end)?;
                Ok(text.map_or(Value::Null, Value::String))
            }
            b'\'' | b'"' => {
                let (text, close) = self.quoted(start, end)?;
                if self.skip_spaces(close, end) != end {
                    return Err(Unsupported);
                }
                Ok(if self.skipping {
                    Value::Null
                } else {
                    Value::String(text.into_owned())
                })
            }
            b'{' | b'[' => match trim_end(&b[start..end]) {
                b"{}" => Ok(Value::Object(Map::new())),
                b"[]" => Ok(Value::Array(Vec::new())),
                _ => Err(Unsupported),
            },
            _ => {
                let scalar = resolve(self.plain(start, end)?)?;
                Ok(if self.skipping {
                    Value::Null
                } else {
                    match scalar {
                        Scalar::Null => Value::Null,
                        Scalar::Bool(b) => Value::Bool(b),
                        Scalar::Number(n) => Value::Number(n),
                        Scalar::Str(s) => Value::String(s.to_owned()),
                    }
                })
            }
        }
    }

    /// A plain scalar from `start` to the end of the line: no indicator at
    /// its start, no `: ` or ` #` inside, no tab or disallowed character.
    fn plain(&self, start: usize, end: usize) -> Fast<&'a str> {
        let b = self.bytes;
        let first = b[start];
        if matches!(CLASS[usize::from(first)], INDICATOR | HASH)
            || (matches!(first, b'-' | b'?' | b':') && (start + 1 == end || b[start + 1] == b' '))
        {
            return Err(Unsupported);
        }
        let end = start + trim_end(&b[start..end]).len();
        let slice = &b[start..end];
        let mut i = 0;
        while i < slice.len() {
            let byte = slice[i];
            match CLASS[usize::from(byte)] {
                PLAIN | INDICATOR => i += 1,
                COLON if i + 1 == slice.len() || slice[i + 1] == b' ' => return Err(Unsupported),
                COLON => i += 1,
                HASH if i > 0 && slice[i - 1] == b' ' => return Err(Unsupported),
                HASH => i += 1,
                _ => i += allowed(slice, i, false)?,
            }
        }
        Ok(&self.text[start..end])
    }

    /// A mapping key at `start`, plain or quoted, followed by `:` and a space
    /// or the end of the line: the key and where its colon ends. `None` when
    /// the text at `start` is not a key (a scalar, say).
    fn key_at(&self, start: usize, end: usize) -> Fast<Option<(Cow<'a, str>, usize)>> {
        let b = self.bytes;
        if matches!(b[start], b'\'' | b'"') {
            let (text, close) = self.quoted(start, end)?;
            let colon = self.skip_spaces(close, end);
            if colon < end && b[colon] == b':' && (colon + 1 == end || b[colon + 1] == b' ') {
                return Ok(Some((text, colon + 1)));
            }
            return Ok(None);
        }
        let Some(offset) = find_colon(&b[start..end]) else {
            return Ok(None);
        };
        let colon = start + offset;
        if colon == start {
            return Err(Unsupported);
        }
        match resolve(self.plain(start, colon)?)? {
            Scalar::Str(key) => Ok(Some((Cow::Borrowed(key), colon + 1))),
            _ => Err(Unsupported),
        }
    }

    /// A quoted scalar that closes on its line: the text and where the
    /// closing quote ends.
    fn quoted(&self, start: usize, end: usize) -> Fast<(Cow<'a, str>, usize)> {
        if self.bytes[start] == b'\'' {
            self.single_quoted(start, end)
        } else {
            self.double_quoted(start, end)
        }
    }

    fn single_quoted(&self, start: usize, end: usize) -> Fast<(Cow<'a, str>, usize)> {
        let b = self.bytes;
        let mut out: Option<String> = None;
        let mut i = start + 1;
        loop {
            let quote = memchr::memchr(b'\'', &b[i..end]).ok_or(Unsupported)? + i;
            check(&b[i..quote])?;
            if quote + 1 < end && b[quote + 1] == b'\'' {
                out.get_or_insert_with(String::new)
                    .push_str(&self.text[i..=quote]);
                i = quote + 2;
                continue;
            }
            let text = match out {
                Some(mut text) => {
                    text.push_str(&self.text[i..quote]);
                    Cow::Owned(text)
                }
                None => Cow::Borrowed(&self.text[i..quote]),
            };
            return Ok((text, quote + 1));
        }
    }

    fn double_quoted(&self, start: usize, end: usize) -> Fast<(Cow<'a, str>, usize)> {
        let b = self.bytes;
        let mut out: Option<String> = None;
        let mut i = start + 1;
        loop {
            let stop = memchr::memchr2(b'"', b'\\', &b[i..end]).ok_or(Unsupported)? + i;
            check(&b[i..stop])?;
            if b[stop] == b'"' {
                let text = match out {
                    Some(mut text) => {
                        text.push_str(&self.text[i..stop]);
                        Cow::Owned(text)
                    }
                    None => Cow::Borrowed(&self.text[i..stop]),
                };
                return Ok((text, stop + 1));
            }
            let text = out.get_or_insert_with(String::new);
            text.push_str(&self.text[i..stop]);
            if stop + 1 >= end {
                return Err(Unsupported);
            }
            let (ch, width) = match b[stop + 1] {
                b'0' => ('\0', 2),
                b'a' => ('\u{7}', 2),
                b'b' => ('\u{8}', 2),
                b't' | b'\t' => ('\t', 2),
                b'n' => ('\n', 2),
                b'v' => ('\u{b}', 2),
                b'f' => ('\u{c}', 2),
                b'r' => ('\r', 2),
                b'e' => ('\u{1b}', 2),
                b' ' => (' ', 2),
                b'"' => ('"', 2),
                b'/' => ('/', 2),
                b'\\' => ('\\', 2),
                b'N' => ('\u{85}', 2),
                b'_' => ('\u{a0}', 2),
                b'L' => ('\u{2028}', 2),
                b'P' => ('\u{2029}', 2),
                b'x' => (self.hex_char(stop + 2, 2, end)?, 4),
                b'u' => (self.hex_char(stop + 2, 4, end)?, 6),
                b'U' => (self.hex_char(stop + 2, 8, end)?, 10),
                _ => return Err(Unsupported),
            };
            text.push(ch);
            i = stop + width;
        }
    }

    fn hex_char(&self, at: usize, digits: usize, end: usize) -> Fast<char> {
        if at + digits > end {
            return Err(Unsupported);
        }
        let hex = &self.text[at..at + digits];
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Unsupported);
        }
        u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or(Unsupported)
    }

    /// A literal block scalar whose header (after `|`) runs from `header` to
    /// `end`; `indent` is the column of the mapping or sequence holding it.
    /// Its content starts on the line at `self.pos`. `None` when skipping.
    fn literal(&mut self, indent: usize, header: usize, end: usize) -> Fast<Option<String>> {
        let b = self.bytes;
        let mut chomp = Chomp::Clip;
        let mut explicit = None;
        let mut i = header;
        while i < end && b[i] != b' ' {
            match b[i] {
                b'-' if chomp == Chomp::Clip => chomp = Chomp::Strip,
                b'+' if chomp == Chomp::Clip => chomp = Chomp::Keep,
                digit @ b'1'..=b'9' if explicit.is_none() => {
                    explicit = Some(usize::from(digit - b'0'));
                }
                _ => return Err(Unsupported),
            }
            i += 1;
        }
        if self.skip_spaces(i, end) != end {
            return Err(Unsupported);
        }
        let content_indent = match explicit {
            Some(digits) => indent + digits,
            None => self.detect_indent(indent)?,
        };

        let mut text = String::new();
        let mut pending_breaks = 0usize;
        let mut any_content = false;
        let mut pos = self.pos;
        while pos < b.len() {
            let line_end = memchr::memchr(b'\n', &b[pos..]).ok_or(Unsupported)? + pos;
            let line = &b[pos..line_end];
            let spaces = line.iter().take_while(|&&c| c == b' ').count();
            if spaces == line.len() && spaces <= content_indent {
                pending_breaks += 1;
                pos = line_end + 1;
                continue;
            }
            if spaces < content_indent {
                break;
            }
            check(&line[content_indent..])?;
            if any_content {
                pending_breaks += 1;
            }
            if !self.skipping {
                for _ in 0..pending_breaks {
                    text.push('\n');
                }
                text.push_str(&self.text[pos + content_indent..line_end]);
            }
            pending_breaks = 0;
            any_content = true;
            pos = line_end + 1;
        }
        if !any_content && explicit.is_none() {
            return Err(Unsupported);
        }
        self.pos = pos;
        if self.skipping {
            return Ok(None);
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip if any_content => text.push('\n'),
            Chomp::Clip => {}
            Chomp::Keep if !any_content => {
                for _ in 0..pending_breaks {
                    text.push('\n');
                }
            }
            Chomp::Keep => {
                for _ in 0..=pending_breaks {
                    text.push('\n');
                }
            }
        }
        Ok(Some(text))
    }

    /// The indentation of a literal's content: that of its first line with
    /// content, which must be deeper than `indent`, with no blank line before
    /// it deeper still.
    fn detect_indent(&self, indent: usize) -> Fast<usize> {
        let b = self.bytes;
        let mut pos = self.pos;
        let mut deepest_blank = 0;
        while pos < b.len() {
            let line_end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |i| pos + i);
            let line = &b[pos..line_end];
            let spaces = line.iter().take_while(|&&c| c == b' ').count();
            if spaces < line.len() {
                if spaces <= indent || spaces < deepest_blank {
                    return Err(Unsupported);
                }
                return Ok(spaces);
            }
            deepest_blank = deepest_blank.max(spaces);
            pos = line_end + 1;
        }
        Err(Unsupported)
    }

    fn skip_spaces(&self, mut at: usize, end: usize) -> usize {
        while at < end && self.bytes[at] == b' ' {
            at += 1;
        }
        at
    }
}

/// Byte classes for scanning scalars.
const PLAIN: u8 = 0;
const COLON: u8 = 1;
const HASH: u8 = 2;
/// A character that cannot start a plain scalar.
const INDICATOR: u8 = 3;
/// A control character, DEL, or the first byte of a multi-byte character.
const OTHER: u8 = 4;

const CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut byte = 0x20;
    while byte < 0x7f {
        table[byte] = PLAIN;
        byte += 1;
    }
    table[b':' as usize] = COLON;
    table[b'#' as usize] = HASH;
    let indicators = b">&*!%@`,[]{}|'\"";
    let mut i = 0;
    while i < indicators.len() {
        table[indicators[i] as usize] = INDICATOR;
        i += 1;
    }
    table
};

/// Where the `:` that ends a plain key is: the first one followed by a space
/// or the end of the line.
fn find_colon(line: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(offset) = memchr::memchr(b':', &line[from..]) {
        let colon = from + offset;
        if colon + 1 == line.len() || line[colon + 1] == b' ' {
            return Some(colon);
        }
        from = colon + 1;
    }
    None
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let mut end = bytes.len();
    while end > 0 && bytes[end - 1] == b' ' {
        end -= 1;
    }
    &bytes[..end]
}

/// Checks that `bytes` hold only characters the subset allows inside a
/// quoted or literal scalar (tabs included).
fn check(bytes: &[u8]) -> Fast<()> {
    let mut i = 0;
    while i < bytes.len() {
        if CLASS[usize::from(bytes[i])] != OTHER {
            i += 1;
        } else {
            i += allowed(bytes, i, true)?;
        }
    }
    Ok(())
}

/// The length of the character at `bytes[i]` if the subset allows it in a
/// scalar. Control characters (tab aside, where `tabs`), DEL, C1 controls
/// (NEL among them), the line and paragraph separators (line breaks to
/// YAML), byte order marks and non-characters are outside it.
fn allowed(bytes: &[u8], i: usize, tabs: bool) -> Fast<usize> {
    match bytes[i] {
        0x20..=0x7e => Ok(1),
        b'\t' if tabs => Ok(1),
        0x00..=0x1f | 0x7f => Err(Unsupported),
        0xc2 => match bytes.get(i + 1) {
            Some(0x80..=0x9f) => Err(Unsupported),
            _ => Ok(2),
        },
        0xc3..=0xdf => Ok(2),
        0xe2 => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(0x80), Some(0xa8 | 0xa9)) => Err(Unsupported),
            _ => Ok(3),
        },
        0xef => match (bytes.get(i + 1), bytes.get(i + 2)) {
            (Some(0xbb), Some(0xbf)) | (Some(0xbf), Some(0xbe | 0xbf)) => Err(Unsupported),
            _ => Ok(3),
        },
        0xe0..=0xef => Ok(3),
        _ => Ok(4),
    }
}

/// The value of a plain scalar under the YAML 1.2 core schema as the general
/// parser applies it: null, booleans, decimal integers and floats; anything
/// else is a string. Forms the subset leaves to the general parser (hex,
/// octal and binary integers, a leading `+`, `.inf`, `.nan`, integers wider
/// than 64 bits) are [`Unsupported`].
fn resolve(text: &str) -> Fast<Scalar<'_>> {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return Ok(Scalar::Null);
    };
    if first.is_ascii_alphabetic() || first == b'~' {
        return Ok(match text {
            "~" | "null" | "Null" | "NULL" => Scalar::Null,
            "true" | "True" | "TRUE" => Scalar::Bool(true),
            "false" | "False" | "FALSE" => Scalar::Bool(false),
            _ => Scalar::Str(text),
        });
    }
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Ok(Scalar::Str(text));
    }
    if let Some(rest) = text.strip_prefix('+') {
        // `+1` and `+.5` are the numbers `1` and `.5`; `+`, `+x`, `+true` and
        // `+-1` are strings.
        if rest.starts_with(['+', '-']) {
            return Ok(Scalar::Str(text));
        }
        return match resolve(rest)? {
            Scalar::Number(n) => Ok(Scalar::Number(n)),
            _ => Ok(Scalar::Str(text)),
        };
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.starts_with(['+', '-']) {
        return Ok(Scalar::Str(text));
    }
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if digits.len() > 1 && digits.starts_with('0') {
            return Ok(Scalar::Str(text));
        }
        let number = if first == b'-' {
            text.parse::<i64>().map(Number::from)
        } else {
            text.parse::<u64>().map(Number::from)
        };
        return number.map(Scalar::Number).map_err(|_| Unsupported);
    }
    // `0x1f`, `0o17`, `0b101`: integers the general parser reads in other
    // radixes. With other characters after the prefix they are strings.
    let d = digits.as_bytes();
    let radix = match d {
        [b'0', b'x', rest @ ..] => Some((16, rest)),
        [b'0', b'o', rest @ ..] => Some((8, rest)),
        [b'0', b'b', rest @ ..] => Some((2, rest)),
        _ => None,
    };
    let in_radix = radix.is_some_and(|(radix, rest)| {
        !rest.is_empty() && rest.iter().all(|&b| char::from(b).is_digit(radix))
    });
    if in_radix || digits.eq_ignore_ascii_case(".inf") || digits.eq_ignore_ascii_case(".nan") {
        return Err(Unsupported);
    }
    match text.parse::<f64>() {
        Ok(float) if float.is_finite() => Number::from_f64(float)
            .map(Scalar::Number)
            .ok_or(Unsupported),
        _ => Ok(Scalar::Str(text)),
    }
}

/// The cassette a value read by [`parse`] describes, built by moving its
/// parts (the JSON payloads are not copied). `None` when anything is not
/// exactly as the schema wants it: the caller then deserialises with serde,
/// which explains what is wrong.
pub(crate) fn cassette(value: Value) -> Option<Cassette> {
    let mut map = object(value)?;
    let llmvcr = u32::try_from(map.remove("llmvcr")?.as_u64()?).ok()?;
    let interactions = match map.remove("interactions") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(interaction)
            .collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    map.is_empty().then_some(Cassette {
        llmvcr,
        interactions,
    })
}

fn object(value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn string(value: Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// An optional field: absent or `null` is `None`, anything else must parse.
fn optional<T>(value: Option<Value>, parse: impl FnOnce(Value) -> Option<T>) -> Option<Option<T>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(value) => parse(value).map(Some),
    }
}

fn interaction(value: Value) -> Option<Interaction> {
    let mut map = object(value)?;
    let recorded_at = optional(map.remove("recorded_at"), string)?;
    let request = request(map.remove("request")?)?;
    let response = response(map.remove("response")?)?;
    map.is_empty().then_some(Interaction {
        recorded_at,
        request,
        response,
    })
}

fn headers(value: Option<Value>) -> Option<HeaderList> {
    match value {
        None => Some(HeaderList::default()),
        Some(value) => HeaderList::deserialize(value).ok(),
    }
}

fn request(value: Value) -> Option<Request> {
    let mut map = object(value)?;
    let method = string(map.remove("method")?)?;
    let url = string(map.remove("url")?)?;
    let headers = headers(map.remove("headers"))?;
    let body = optional(map.remove("body"), body)?;
    map.is_empty().then_some(Request {
        method,
        url,
        headers,
        body,
    })
}

fn response(value: Value) -> Option<Response> {
    let mut map = object(value)?;
    let status = u16::try_from(map.remove("status")?.as_u64()?).ok()?;
    let headers = headers(map.remove("headers"))?;
    let body = optional(map.remove("body"), body)?;
    let stream = optional(map.remove("stream"), stream)?;
    map.is_empty().then_some(Response {
        status,
        headers,
        body,
        stream,
    })
}

fn body(value: Value) -> Option<Body> {
    let mut map = object(value)?;
    let json = map.remove("json");
    let text = optional(map.remove("text"), string)?;
    let base64 = optional(map.remove("base64"), string)?;
    if !map.is_empty() {
        return None;
    }
    match (json, text, base64) {
        (Some(json), None, None) => Some(Body::Json(json)),
        (None, Some(text), None) => Some(Body::Text(text)),
        (None, None, Some(base64)) => Some(Body::Base64(base64)),
        _ => None,
    }
}

fn stream(value: Value) -> Option<Stream> {
    let mut map = object(value)?;
    let format = match map.remove("format")?.as_str()? {
        "sse" => StreamFormat::Sse,
        "ndjson" => StreamFormat::Ndjson,
        "json_array" => StreamFormat::JsonArray,
        "chunks" => StreamFormat::Chunks,
        _ => return None,
    };
    let frames = match map.remove("frames") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.into_iter().map(frame).collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    map.is_empty().then_some(Stream { format, frames })
}

fn frame(value: Value) -> Option<Frame> {
    let mut map = object(value)?;
    let frame = Frame {
        at_ms: map.remove("at_ms")?.as_u64()?,
        event: optional(map.remove("event"), string)?,
        id: optional(map.remove("id"), string)?,
        retry: optional(map.remove("retry"), |v| v.as_u64())?,
        comment: optional(map.remove("comment"), string)?,
        data: map.remove("data"),
        text: optional(map.remove("text"), string)?,
        base64: optional(map.remove("base64"), string)?,
    };
    map.is_empty().then_some(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn general(text: &str) -> Option<Value> {
        yaml_serde::from_str(text).ok()
    }

    /// The fast reader either gives up or agrees with the general parser.
    fn agrees(text: &str) -> bool {
        match parse(text) {
            None => true,
            Some(fast) => general(text).is_some_and(|slow| same(&fast, &slow)),
        }
    }

    /// Equal, with floats compared by bits and object keys in order.
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
            }
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (Value::Number(x), Value::Number(y)) => {
                x.as_u64() == y.as_u64()
                    && x.as_i64() == y.as_i64()
                    && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
                    && x.is_f64() == y.is_f64()
            }
            _ => a == b,
        }
    }

    #[test]
    fn reads_what_the_writer_writes() {
        let value = serde_json::json!({
            "llmvcr": 1,
            "interactions": [{
                "request": {"method": "POST", "url": "https://x/v1?a=b:c", "body": {"json": {
                    "messages": [{"role": "user", "content": "multi\nline\n\n text  \n"}],
                    "n": -3, "t": 0.5, "e": 1e-7, "big": 18446744073709551615u64,
                    "s": "123", "d": "2020-10-01", "z": "0755", "empty": "", "nul": null,
                    "flags": [true, false, null, [], {}], "nested": [[1, [2]], {"a": {"b": []}}],
                    "quote": "it's \"so\"", "colon": "a: b", "hash": "a #b", "dash": "- x",
                    "ctl": "bell\u{7}", "nel": "a\u{85}b", "lead": " space", "uni": "日本 ✓ 😀",
                    "k: ey": 1, "'": 2, "true": 3, "1": 4, "": 5
                }}},
                "response": {"status": 200}
            }]
        });
        let yaml = yaml_serde::to_string(&value).unwrap();
        let fast = parse(&yaml).unwrap_or_else(|| panic!("fell back on:\n{yaml}"));
        assert!(same(&fast, &value), "{fast:#}\n---\n{yaml}");
    }

    #[test]
    fn gives_up_outside_the_subset() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: [1, 2]\n",
            "a: {b: 1}\n",
            "a: >\n  folded\n",
            "a: 1 # comment\n",
            "a: 'multi\n  line'\n",
            "a: plain\n  continued\n",
            "a:\r\n  b: 1\r\n",
            "---\na: 1\n",
            "a: 0x1f\n",
            "a: -0b101\n",
            "a: +0x1\n",
            "a: .inf\n",
            "a: 1\na: 2\n",
            "? a\n: 1\n",
            "a:\n\tb: 1\n",
            "a: 99999999999999999999999\n",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
            assert!(agrees(text));
        }
    }

    #[test]
    fn literal_blocks() {
        for text in [
            "a: |\n  x\n  y\n",
            "a: |-\n  x\n\n  y\nb: 1\n",
            "a: |+\n  x\n\n\nb: 1\n",
            "a: |2-\n    lead\n  x\n",
            "- |-\n  x\n- |\n   deeper\n  \n",
            "a:\n- |2\n   lead\n",
            "a: |2+\n\n\nb: 1\n",
            "a: |2-\n\n\nb: 1\n",
            "a:\n  b: |2\n\n      x\n",
            "a: |\n  x\n   \n  y\n",
            "# comment\na: |\n  # not a comment\n# a comment\nb: 1\n",
        ] {
            let fast = parse(text);
            assert!(fast.is_some(), "fell back on {text:?}");
            assert!(agrees(text), "{text:?}: {fast:?} vs {:?}", general(text));
        }
    }

    fn v1_files() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut dirs = vec![
            root.join("cassettes"),
            root.join("scenarios/cassettes"),
            root.join("crates/llmvcr/cassettes"),
        ];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.lines().any(|line| line.starts_with("llmvcr:")) {
                        files.push(path);
                    }
                }
            }
        }
        files.sort();
        files
    }

    /// Every cassette in the repository is read by the fast reader, to the
    /// value the general parser reads, and deferring its response payloads
    /// then reading them gives the same cassette.
    #[test]
    fn reads_every_cassette_in_the_repository() {
        let files = v1_files();
        assert!(files.len() > 100, "{}", files.len());
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let fast = parse(&text).unwrap_or_else(|| panic!("fell back on {}", path.display()));
            assert!(same(&fast, &general(&text).unwrap()), "{}", path.display());

            let (mut skeleton, deferred) = parse_deferring(&text).unwrap();
            for d in &deferred {
                let value = read_deferred(&text, d).unwrap();
                let response = &mut skeleton["interactions"][d.interaction]["response"];
                let slot = match d.slot {
                    Slot::Body => &mut response["body"]["json"],
                    Slot::Frame(n) => &mut response["stream"]["frames"][n]["data"],
                };
                assert_eq!(*slot, Value::Null);
                *slot = value;
            }
            assert!(same(&skeleton, &fast), "{}", path.display());
            let typed = cassette(fast).unwrap();
            let slow: Cassette = yaml_serde::from_str(&text).unwrap();
            assert_eq!(typed, slow, "{}", path.display());
        }
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC*".prop_map(Value::String),
            "[ -~\n\t\r]{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "",
                " ",
                "-",
                "- a",
                "?",
                ":",
                "a:",
                "a: b",
                "#",
                "a #b",
                "'",
                "\"",
                "|",
                ">",
                "~",
                "null",
                "NULL",
                "true",
                "False",
                "yes",
                "0",
                "-0",
                "01",
                "0x1",
                "+1",
                "1e3",
                ".5",
                ".inf",
                "-.inf",
                "nan",
                "1_000",
                "+",
                "+a",
                "+-1",
                "+inf",
                "+e5",
                "+.",
                "+1",
                "+05",
                "+.5",
                "+.inf",
                "-+1",
                "--1",
                "+null",
                "0bPnr",
                "0x+5",
                "0xg",
                "0o8",
                "-0x1f",
                "0X1F",
                "2020-10-01",
                "\n",
                "\n\n",
                " \n",
                "a\n",
                "a\n\n",
                "\na",
                " a\nb",
                "a \nb",
                "\t",
                "\u{85}",
                "\u{2028}",
                "\u{feff}",
                "\r\n",
                "é",
                "@x",
                "`x",
                "%x",
                "!x",
                "&x",
                "*x",
                "{}",
                "[]",
            ])
            .prop_map(|s| Value::String(s.to_owned())),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        nested(scalar(), "\\PC{0,8}|[a-z_]{1,8}")
    }

    fn value_of(strings: &'static str) -> impl Strategy<Value = Value> {
        nested(
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Value::from),
                strings.prop_map(Value::String),
            ],
            "[ -~é✓]{0,8}",
        )
    }

    fn nested(
        leaf: impl Strategy<Value = Value> + 'static,
        keys: &'static str,
    ) -> impl Strategy<Value = Value> {
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((keys, inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the writer emits, the fast reader reads back equal or
        /// gives up; it never disagrees with the general parser.
        #[test]
        fn round_trips_the_writer(value in value()) {
            let yaml = yaml_serde::to_string(&value).unwrap();
            prop_assert!(agrees(&yaml), "{yaml}");
            if let Some(fast) = parse(&yaml) {
                prop_assert!(same(&fast, &general(&yaml).unwrap()), "{yaml}");
            }
        }

        /// The writer's output for printable text, numbers and nesting is
        /// always inside the subset: cassettes llmvcr writes take the fast
        /// path.
        #[test]
        fn accepts_what_the_writer_writes(value in value_of("[ -~\n]{0,16}|[a-zé✓ ]{0,8}")) {
            let value = serde_json::json!({ "v": value });
            let yaml = yaml_serde::to_string(&value).unwrap();
            let fast = parse(&yaml);
            prop_assert!(fast.is_some(), "fell back on:\n{yaml}");
            prop_assert!(same(&fast.unwrap(), &value), "{yaml}");
        }

        /// On arbitrary text built from YAML's building blocks, the fast
        /// reader never disagrees with the general parser.
        #[test]
        fn never_disagrees(parts in prop::collection::vec(prop::sample::select(vec![
            "a", "b", ":", ": ", " ", "  ", "\n", "- ", "-", "'", "''", "\"", "\\", "\\n", "|",
            "|-", "|+", "|2", "#", "1", "-1", "0.5", "{}", "[]", "~", "null", "true", "\t", "\r",
            "é", "# c\n", "x: y\n", "  - ", "\n  ", "\n    ", "k:\n", "- k: v\n",
        ]), 0..24)) {
            let text: String = parts.concat();
            prop_assert!(agrees(&text), "{text:?}: {:?} vs {:?}", parse(&text), general(&text));
        }
    }
}
