//! Canonical JSON straight from the bytes of a request body, without building a
//! `serde_json::Value`.
//!
//! Replay keys every incoming request. Parsing its body into a `Value` (an
//! `IndexMap` per object, a `String` per key) costs more than the rest of the
//! lookup, so this module parses JSON into borrowed nodes and writes the same
//! canonical form as [`super::write_json`] does for the parsed value.
//!
//! The parser accepts a subset of what `serde_json` accepts: anything it is not
//! sure about (invalid JSON, lone surrogates, nesting deeper than
//! [`MAX_DEPTH`]) makes it give up with `None`, and the caller falls back to
//! `serde_json`. When it succeeds, its output equals the `Value` path's byte for
//! byte; the tests and proptests check that.

use std::borrow::Cow;

use super::{IndexText, descend, plain_run, write_number, write_string};

/// Nesting beyond this is left to `serde_json`.
const MAX_DEPTH: usize = 64;

#[derive(Clone)]
enum Node<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(Cow<'a, str>),
    /// `len` entries of the arena from `start`, keys `None`.
    Array {
        start: usize,
        len: usize,
    },
    /// `len` entries of the arena from `start`, sorted by key.
    Object {
        start: usize,
        len: usize,
    },
}

/// A member of a container: the key (objects only) and the value.
type Entry<'a> = (Option<Cow<'a, str>>, Node<'a>);

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Finished containers' members, each container's contiguous.
    arena: Vec<Entry<'a>>,
    /// Members of the containers still open, innermost last.
    open: Vec<Entry<'a>>,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(b) = self.bytes.get(self.at) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.at += 1;
            } else {
                break;
            }
        }
    }

    fn eat(&mut self, literal: &[u8]) -> Option<()> {
        let end = self.at.checked_add(literal.len())?;
        (self.bytes.get(self.at..end)? == literal).then(|| self.at = end)
    }

    /// Moves the members opened since `mark` to the arena.
    fn close(&mut self, mark: usize, object: bool) -> Node<'a> {
        let members = self.open.get_mut(mark..).unwrap_or_default();
        if object {
            // A stable sort keeps repeated keys in document order; the writer
            // keeps the last, as `serde_json` does.
            members.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let start = self.arena.len();
        let len = self.open.len().saturating_sub(mark);
        self.arena.extend(self.open.drain(mark..));
        if object {
            Node::Object { start, len }
        } else {
            Node::Array { start, len }
        }
    }

    fn value(&mut self, depth: usize) -> Option<Node<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.bytes.get(self.at)? {
            b'n' => self.eat(b"null").map(|()| Node::Null),
            b't' => self.eat(b"true").map(|()| Node::Bool(true)),
            b'f' => self.eat(b"false").map(|()| Node::Bool(false)),
            b'"' => self.string().map(Node::String),
            b'[' => {
                self.at += 1;
                let mark = self.open.len();
                self.skip_ws();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Some(self.close(mark, false));
                }
                loop {
                    let item = self.value(depth + 1)?;
                    self.open.push((None, item));
                    self.skip_ws();
                    match self.bytes.get(self.at)? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(self.close(mark, false));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mark = self.open.len();
                self.skip_ws();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Some(self.close(mark, true));
                }
                loop {
                    self.skip_ws();
                    if self.bytes.get(self.at) != Some(&b'"') {
                        return None;
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    self.eat(b":")?;
                    let value = self.value(depth + 1)?;
                    self.open.push((Some(key), value));
                    self.skip_ws();
                    match self.bytes.get(self.at)? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(self.close(mark, true));
                        }
                        _ => return None,
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number().map(Node::Number),
            _ => None,
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Option<&'a str> {
        let start = self.at;
        let digits = |p: &mut Parser<'a>| {
            let from = p.at;
            while p.bytes.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at > from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        if self.bytes.get(self.at) == Some(&b'0') {
            self.at += 1;
        } else if !digits(self) {
            return None;
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        self.text.get(start..self.at)
    }

    /// A string token, unescaped. The opening quote is at `self.at`.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.at += 1;
        let start = self.at;
        self.at += plain_run(self.bytes.get(self.at..)?);
        match self.bytes.get(self.at)? {
            b'"' => {
                let s = self.text.get(start..self.at)?;
                self.at += 1;
                return Some(Cow::Borrowed(s));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut out = String::from(self.text.get(start..self.at)?);
        loop {
            let run_start = self.at;
            self.at += plain_run(self.bytes.get(self.at..)?);
            out.push_str(self.text.get(run_start..self.at)?);
            match self.bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    self.at += 1;
                    let escaped = *self.bytes.get(self.at)?;
                    self.at += 1;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let first = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&first) {
                                self.eat(b"\\u")?;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return None;
                                }
                                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                                char::from_u32(code)?
                            } else {
                                char::from_u32(first)?
                            };
                            out.push(c);
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let end = self.at.checked_add(4)?;
        let digits = self.text.get(self.at..end)?;
        let value = u32::from_str_radix(digits, 16).ok()?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at = end;
        Some(value)
    }
}

/// Parses `text` as one JSON document and writes its canonical form, leaving
/// out the fields `pointers` select. `None` when the parser gives up; `out` may
/// then hold a partial write, and the caller discards it.
pub(super) fn write_canonical_json(
    text: &str,
    pointers: &[&[String]],
    out: &mut Vec<u8>,
) -> Option<()> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        at: 0,
        arena: Vec::with_capacity(text.len() / 16),
        open: Vec::with_capacity(32),
    };
    let node = parser.value(0)?;
    parser.skip_ws();
    if parser.at != text.len() {
        return None;
    }
    write_node(&node, &parser.arena, pointers, out)
}

fn write_node(
    node: &Node<'_>,
    arena: &[Entry<'_>],
    pointers: &[&[String]],
    out: &mut Vec<u8>,
) -> Option<()> {
    match node {
        Node::Null => out.extend_from_slice(b"null"),
        Node::Bool(true) => out.extend_from_slice(b"true"),
        Node::Bool(false) => out.extend_from_slice(b"false"),
        Node::Number(token) => write_number_token(token, out)?,
        Node::String(s) => write_string(s, out),
        Node::Array { start, len } => {
            let items = arena.get(*start..start.checked_add(*len)?)?;
            out.push(b'[');
            let mut first = true;
            for (i, (_, item)) in items.iter().enumerate() {
                let below = if pointers.is_empty() {
                    Vec::new()
                } else {
                    match descend(pointers, IndexText::new(i).as_str()) {
                        Some(below) => below,
                        None => continue,
                    }
                };
                if !first {
                    out.push(b',');
                }
                first = false;
                write_node(item, arena, &below, out)?;
            }
            out.push(b']');
        }
        Node::Object { start, len } => {
            let members = arena.get(*start..start.checked_add(*len)?)?;
            out.push(b'{');
            let mut first = true;
            for (index, (key, value)) in members.iter().enumerate() {
                let key = key.as_deref()?;
                // Members are sorted by key; a repeated key keeps its last value.
                if members
                    .get(index + 1)
                    .is_some_and(|next| next.0.as_deref() == Some(key))
                {
                    continue;
                }
                let below = if pointers.is_empty() {
                    Vec::new()
                } else {
                    match descend(pointers, key) {
                        Some(below) => below,
                        None => continue,
                    }
                };
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(key, out);
                out.push(b':');
                write_node(value, arena, &below, out)?;
            }
            out.push(b'}');
        }
    }
    Some(())
}

/// Writes a number token as [`write_number`] writes the `serde_json::Number` it
/// parses to. Plain integers that fit are already in that form.
fn write_number_token(token: &str, out: &mut Vec<u8>) -> Option<()> {
    let digits = token.strip_prefix('-').unwrap_or(token);
    let plain = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && token != "-0";
    if plain {
        out.extend_from_slice(token.as_bytes());
        return Some(());
    }
    let number: serde_json::Number = serde_json::from_str(token).ok()?;
    write_number(&number, out);
    Some(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn both(text: &str, pointers: &[&str]) -> (Option<String>, String) {
        let pointers: Vec<Vec<String>> = pointers
            .iter()
            .filter_map(|p| super::super::parse_pointer(p))
            .collect();
        let active: Vec<&[String]> = pointers.iter().map(Vec::as_slice).collect();
        let mut raw = Vec::new();
        let raw =
            write_canonical_json(text, &active, &mut raw).map(|()| String::from_utf8(raw).unwrap());
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let mut parsed = Vec::new();
        super::super::write_json(&value, &pointers, &mut parsed);
        (raw, String::from_utf8(parsed).unwrap())
    }

    #[test]
    fn raw_equals_parsed() {
        for text in [
            r#"{"b": 1, "a": [true, false, null, "x\"y\\z\u00e9\ud83d\ude00\n\t/"], "c": {"z": -0, "y": 1.0, "x": 1e3, "w": 12345678901234567890123, "v": -12, "u": 0.1}}"#,
            r#"[{"k": 1, "k": 2}, "\/", 1.5e-7, -0.0, 18446744073709551615, -9223372036854775808]"#,
            " { } ",
            "[]",
            r#"{"a\u0000b": "\u001f", "é": "€"}"#,
        ] {
            let (raw, parsed) = both(text, &[]);
            assert_eq!(raw.as_deref(), Some(parsed.as_str()), "{text}");
        }
        let (raw, parsed) = both(
            r#"{"user": "u", "metadata": {"user_id": 1, "k": 2}, "m": [{"id": 1, "t": 2}]}"#,
            &["/user", "/metadata/user_id", "/m/*/id"],
        );
        assert_eq!(raw.as_deref(), Some(parsed.as_str()));
    }

    #[test]
    fn gives_up_on_what_it_does_not_know() {
        let mut out = Vec::new();
        for text in [
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"\\ud800\"",
            "\"\\x\"",
            "{} x",
            "\"a\nb\"",
            "nul",
            "[1e]",
        ] {
            out.clear();
            assert!(
                write_canonical_json(text, &[], &mut out).is_none(),
                "{text}"
            );
        }
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(write_canonical_json(&deep, &[], &mut out).is_none());
    }
}
