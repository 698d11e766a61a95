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
#[cfg(test)]
fn parse(text: &str) -> Option<Value> {
    let mut reader = Reader::new(text, Values, false);
    reader.document().ok()
}

/// Reads a format v1 cassette of the subset, leaving its JSON payloads
/// (`request.body.json`, `response.body.json`, `response.stream.frames[].data`)
/// unread: they are skipped by their indentation alone and come back as
/// `null`, with a [`Deferred`] each that [`read_deferred`] (or, for the match
/// key of a request body, [`deferred_canonical`]) reads later. `None` when the rest of the text is
/// outside the subset.
pub(crate) fn parse_deferring(text: &str) -> Option<(Node<'_>, Vec<Deferred>)> {
    let mut reader = Reader::new(text, Nodes, true);
    let value = reader.document().ok()?;
    Some((value, reader.deferred))
}

/// [`parse_deferring`] for the interactions of a cassette from `from` to the
/// end of `text`, where `from` starts a line `- ` at the first column that is
/// item `first` of the top-level `interactions` list, which runs to the end.
/// `None` unless exactly such a list follows.
pub(crate) fn parse_deferring_items(
    text: &str,
    from: usize,
    first: usize,
) -> Option<(Vec<Node<'_>>, Vec<Deferred>)> {
    let mut reader = Reader::new(text, Nodes, true);
    reader.pos = from;
    reader.first_interaction = first;
    let line = reader.peek().ok()??;
    if line.indent != 0 || line.content != from || !reader.is_dash(line.content, line.end) {
        return None;
    }
    reader.pos = line.next;
    let items = reader.seq(line, Ctx::Interactions).ok()?;
    if reader.peek().ok()?.is_some() {
        return None;
    }
    match items {
        Node::Seq(items) => Some((items, reader.deferred)),
        _ => None,
    }
}

/// A JSON payload left unread by [`parse_deferring`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deferred {
    /// The interaction it belongs to.
    pub(crate) interaction: usize,
    /// Where in the interaction it goes.
    pub(crate) slot: Slot,
    resume: Resume,
}

/// Where a deferred payload goes in its interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `request.body.json`.
    RequestBody,
    /// `response.body.json`.
    ResponseBody,
    /// `response.stream.frames[n].data`.
    Frame(usize),
    /// `request.headers`: not needed to match a request.
    RequestHeaders,
    /// `response.headers`: needed when the response is first replayed.
    ResponseHeaders,
}

/// The reader's state at the start of a mapping value, to read it again, and
/// where skipping it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Resume {
    pos: usize,
    indent: usize,
    after: usize,
    end: usize,
    skipped_to: usize,
}

/// Reads a payload that [`parse_deferring`] left unread, from the same text.
/// `None` when it is outside the subset, or does not end where skipping it
/// ended.
pub(crate) fn read_deferred(text: &str, deferred: &Deferred) -> Option<Value> {
    read_with(text, deferred, Values)
}

/// Reads headers that [`parse_deferring`] left unread ([`Slot::RequestHeaders`]
/// and [`Slot::ResponseHeaders`]). `None` where [`read_deferred`] gives
/// `None`, when they are not as the schema wants them, and for an empty
/// header name (the general parser's reading then reports it).
pub(crate) fn read_deferred_headers(text: &str, deferred: &Deferred) -> Option<HeaderList> {
    let list = headers(Some(read_with(text, deferred, Nodes)?))?;
    list.0
        .iter()
        .all(|(name, _)| !name.is_empty())
        .then_some(list)
}

/// Writes a payload that [`parse_deferring`] left unread as JSON text,
/// exactly as `serde_json::to_vec` writes the value [`read_deferred`] reads,
/// without building that value. `None` where [`read_deferred`] gives `None`,
/// and when an object repeats a key or a key needed unescaping.
pub(crate) fn deferred_json(text: &str, deferred: &Deferred, out: &mut Vec<u8>) -> Option<()> {
    // Compact JSON is shorter than the YAML it comes from.
    out.reserve(
        deferred
            .resume
            .skipped_to
            .saturating_sub(deferred.resume.pos),
    );
    let start = out.len();
    let mut sink = JsonText {
        out: std::mem::take(out),
        keys: Vec::new(),
    };
    let read = if block_unit(text, deferred, &mut sink).is_some() {
        Some(())
    } else {
        // The general way, from the start.
        sink.out.truncate(start);
        sink.keys.clear();
        read_with(text, deferred, &mut sink)
    };
    *out = sink.out;
    read
}

/// Reads a deferred block payload into a sink of text ([`JsonText`],
/// [`Canonical`]) line by line, for the common forms; `None` for anything
/// else (the general reader then reads it, from the start). What it writes is
/// what the general reader writes: the tests hold the two equal on every
/// payload in the repository and on generated ones.
fn block_unit<'a, S: Sink<'a, Node = ()>>(
    text: &'a str,
    deferred: &Deferred,
    sink: S,
) -> Option<()> {
    let Resume {
        indent,
        after,
        end,
        skipped_to,
        ..
    } = deferred.resume;
    let mut reader = Reader::at_deferred(text, deferred, sink);
    if reader.skip_spaces(after, end) != end {
        return None;
    }
    reader.unit_block(indent, skipped_to).ok()?;
    (reader.pos == skipped_to).then_some(())
}

/// A collection [`Reader::unit_block`] is inside: the column of its keys or
/// dashes, what the sink keeps for it, and whether an entry or item is
/// waiting for the end of its value.
enum Level<M, Q> {
    Map(usize, M, bool),
    Seq(usize, Q, bool),
}

/// Writes compact JSON text, as `serde_json::to_vec` writes the same value.
struct JsonText<'a> {
    out: Vec<u8>,
    /// The keys of the objects being written, innermost last.
    keys: Vec<&'a str>,
}

impl<'a> JsonText<'a> {
    /// Takes `key` as the next key of `map`: a comma after the first, and
    /// `Err` for a repeated key.
    fn new_key(&mut self, map: &mut JsonObject, key: &'a str) -> Fast<()> {
        let siblings = &self.keys[map.first_key..];
        if let Some(&last) = siblings.last() {
            if !(map.sorted && key > last) {
                map.sorted = false;
                if siblings.contains(&key) {
                    return Err(Unsupported);
                }
            }
            self.out.push(b',');
        }
        self.keys.push(key);
        Ok(())
    }
}

/// An object being written: where its keys start in [`JsonText::keys`].
struct JsonObject {
    first_key: usize,
    /// Whether its keys came in strictly increasing order so far (then a
    /// new key greater than the last repeats none).
    sorted: bool,
}

impl<'a> Sink<'a> for &mut JsonText<'a> {
    type Node = ();
    type Map = JsonObject;
    type Seq = bool;

    fn scalar(&mut self, scalar: Scalar<'a>) {
        match scalar {
            Scalar::Null => self.out.extend_from_slice(b"null"),
            Scalar::Bool(true) => self.out.extend_from_slice(b"true"),
            Scalar::Bool(false) => self.out.extend_from_slice(b"false"),
            Scalar::Number(n) => {
                // Writing to a `Vec` cannot fail.
                let _ = serde_json::to_writer(&mut self.out, &n);
            }
            Scalar::Float(f) => self.out.extend_from_slice(f.text.as_bytes()),
            Scalar::Str(s) => crate::matcher::exact::write_escaped(s, &mut self.out),
        }
    }

    fn string(&mut self, text: Cow<'a, str>) {
        crate::matcher::exact::write_escaped(&text, &mut self.out);
    }

    fn open_map(&mut self) -> JsonObject {
        self.out.push(b'{');
        JsonObject {
            first_key: self.keys.len(),
            sorted: true,
        }
    }

    fn key(&mut self, map: &mut JsonObject, key: &Cow<'a, str>) -> Fast<()> {
        // A repeated key keeps its first place and its last value in the
        // value; text written as it is read cannot, so it is left to the value.
        let Cow::Borrowed(key) = *key else {
            return Err(Unsupported);
        };
        self.new_key(map, key)?;
        crate::matcher::exact::write_escaped(key, &mut self.out);
        self.out.push(b':');
        Ok(())
    }

    fn word_key(&mut self, map: &mut JsonObject, key: &'a str) -> Fast<()> {
        self.new_key(map, key)?;
        write_quoted(key, &mut self.out);
        self.out.push(b':');
        Ok(())
    }
    fn plain_string(&mut self, text: &'a str) {
        write_quoted(text, &mut self.out);
    }

    fn entry(&mut self, _: &mut JsonObject, _: Cow<'a, str>, (): (), _: bool) -> Fast<()> {
        Ok(())
    }

    fn close_map(&mut self, map: JsonObject) {
        self.keys.truncate(map.first_key);
        self.out.push(b'}');
    }

    fn open_seq(&mut self) -> bool {
        self.out.push(b'[');
        false
    }

    fn item(&mut self, any: &mut bool) {
        if *any {
            self.out.push(b',');
        }
        *any = true;
    }

    fn push(&mut self, _: &mut bool, (): ()) {}

    fn close_seq(&mut self, _: bool) {
        self.out.push(b']');
    }
}

fn read_with<'a, S: Sink<'a>>(text: &'a str, deferred: &Deferred, sink: S) -> Option<S::Node> {
    let mut reader = Reader::at_deferred(text, deferred, sink);
    let Resume {
        indent,
        after,
        end,
        skipped_to,
        ..
    } = deferred.resume;
    let value = reader
        .value_after_colon(indent, after, end, Ctx::Payload)
        .ok()?;
    match reader.peek().ok()? {
        Some(line) if line.content < skipped_to => None,
        _ => Some(value),
    }
}

/// What the reader builds from what it reads.
trait Sink<'a> {
    type Node;
    type Map;
    type Seq;
    fn scalar(&mut self, scalar: Scalar<'a>) -> Self::Node;
    fn string(&mut self, text: Cow<'a, str>) -> Self::Node;
    fn open_map(&mut self) -> Self::Map;
    /// Before the value of `key` is read. A `Cow` so a sink can keep a key
    /// borrowed from the text.
    #[allow(clippy::ptr_arg)]
    fn key(&mut self, map: &mut Self::Map, key: &Cow<'a, str>) -> Fast<()>;
    /// After it is read. `strict`: a repeated key is outside the subset.
    fn entry(
        &mut self,
        map: &mut Self::Map,
        key: Cow<'a, str>,
        value: Self::Node,
        strict: bool,
    ) -> Fast<()>;
    fn close_map(&mut self, map: Self::Map) -> Self::Node;
    fn open_seq(&mut self) -> Self::Seq;
    /// Before an item is read.
    fn item(&mut self, seq: &mut Self::Seq);
    fn push(&mut self, seq: &mut Self::Seq, value: Self::Node);
    fn close_seq(&mut self, seq: Self::Seq) -> Self::Node;
    /// A string of printable ASCII with no `"` or `\`: JSON writes it as it
    /// is, in quotes.
    fn plain_string(&mut self, text: &'a str) -> Self::Node {
        self.scalar(Scalar::Str(text))
    }
    /// [`Sink::key`] for a key of [`WORD`] bytes, which needs no escape.
    fn word_key(&mut self, map: &mut Self::Map, key: &'a str) -> Fast<()> {
        self.key(map, &Cow::Borrowed(key))
    }
}

/// Writes `text`, which needs no escape, as a JSON string.
fn write_quoted(text: &str, out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// Builds JSON values.
struct Values;

impl<'a> Sink<'a> for Values {
    type Node = Value;
    type Map = Map<String, Value>;
    type Seq = Vec<Value>;

    fn scalar(&mut self, scalar: Scalar<'a>) -> Value {
        match scalar {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Number(n) => Value::Number(n),
            Scalar::Float(f) => Value::Number(f.number()),
            Scalar::Str(s) => Value::String(s.to_owned()),
        }
    }

    fn string(&mut self, text: Cow<'a, str>) -> Value {
        Value::String(text.into_owned())
    }

    fn open_map(&mut self) -> Map<String, Value> {
        Map::new()
    }

    fn key(&mut self, _: &mut Map<String, Value>, _: &Cow<'a, str>) -> Fast<()> {
        Ok(())
    }

    fn entry(
        &mut self,
        map: &mut Map<String, Value>,
        key: Cow<'a, str>,
        value: Value,
        strict: bool,
    ) -> Fast<()> {
        // Outside the cassette's own mappings the last of repeated keys wins,
        // at the place of the first, as in the general parser.
        if map.insert(key.into_owned(), value).is_some() && strict {
            return Err(Unsupported);
        }
        Ok(())
    }

    fn close_map(&mut self, map: Map<String, Value>) -> Value {
        Value::Object(map)
    }

    fn open_seq(&mut self) -> Vec<Value> {
        Vec::new()
    }

    fn item(&mut self, _: &mut Vec<Value>) {}

    fn push(&mut self, seq: &mut Vec<Value>, value: Value) {
        seq.push(value);
    }

    fn close_seq(&mut self, seq: Vec<Value>) -> Value {
        Value::Array(seq)
    }
}

/// Writes the canonical JSON of a deferred request body: keys sorted, the
/// fields `pointers` select left out, numbers and strings as the matcher
/// writes them, for a repeated key the last value, as in the JSON value the
/// body reads to. `None` where [`read_deferred`] gives `None`, and for a key
/// that needed unescaping (the value then decides). `buffers` are reused
/// from one body to the next.
pub(crate) fn deferred_canonical<'a>(
    text: &'a str,
    deferred: &Deferred,
    pointers: &[Vec<String>],
    out: &mut Vec<u8>,
    buffers: &mut CanonicalBuffers<'a>,
) -> Option<()> {
    // The canonical text is about as long as the YAML it comes from.
    out.reserve(
        deferred
            .resume
            .skipped_to
            .saturating_sub(deferred.resume.pos),
    );
    let mut sink = Canonical {
        out: std::mem::take(out),
        pointers,
        stack: std::mem::take(&mut buffers.stack),
        levels: std::mem::take(&mut buffers.levels),
        muted: 0,
        scratch: std::mem::take(&mut buffers.scratch),
        entries: std::mem::take(&mut buffers.entries),
    };
    let start = sink.out.len();
    let reset = |sink: &mut Canonical<'a, '_>| {
        sink.out.truncate(start);
        sink.muted = 0;
        sink.stack.clear();
        sink.levels.clear();
        sink.entries.clear();
        sink.stack.extend((0..pointers.len()).map(|p| (p, 0)));
        sink.levels.push(0);
    };
    reset(&mut sink);
    let read = if block_unit(text, deferred, &mut sink).is_some() {
        Some(())
    } else {
        // The general way, from the start.
        reset(&mut sink);
        read_with(text, deferred, &mut sink)
    };
    *out = sink.out;
    buffers.stack = sink.stack;
    buffers.levels = sink.levels;
    buffers.scratch = sink.scratch;
    buffers.entries = sink.entries;
    read
}

/// The buffers of [`deferred_canonical`], kept between bodies.
pub(crate) struct CanonicalBuffers<'a> {
    stack: Vec<(usize, usize)>,
    levels: Vec<usize>,
    scratch: Vec<u8>,
    entries: Vec<(&'a str, usize, usize)>,
}

impl Default for CanonicalBuffers<'_> {
    fn default() -> Self {
        // Enough for the depth and width of most request bodies.
        CanonicalBuffers {
            stack: Vec::new(),
            levels: Vec::with_capacity(32),
            scratch: Vec::new(),
            entries: Vec::with_capacity(64),
        }
    }
}

/// Writes canonical JSON; see [`deferred_canonical`].
struct Canonical<'a, 'p> {
    out: Vec<u8>,
    /// The ignored pointers, as segments.
    pointers: &'p [Vec<String>],
    /// The pointers still to match below each open container, as (pointer,
    /// segments matched so far); [`Canonical::levels`] says where each
    /// container's start.
    stack: Vec<(usize, usize)>,
    levels: Vec<usize>,
    /// How many ignored entries or items the reader is inside: nothing is
    /// written while above zero.
    muted: usize,
    scratch: Vec<u8>,
    /// The entries written in the objects being written, innermost last:
    /// each key, and where the entry starts and ends in the output.
    entries: Vec<(&'a str, usize, usize)>,
}

/// An object being written canonically.
struct CanonObject {
    /// Whether the whole object is inside an ignored field.
    muted: bool,
    /// Whether its keys came in strictly increasing order so far.
    sorted: bool,
    /// Where its entries start in the output.
    start: usize,
    /// Where its entries start in [`Canonical::entries`].
    first_entry: usize,
    /// Whether the entry being read is ignored.
    ignored: bool,
}

/// An array being written canonically.
struct CanonArray {
    muted: bool,
    index: usize,
    written: bool,
    ignored: bool,
}

impl<'a> Canonical<'a, '_> {
    /// Opens the level below `segment`, unless a pointer ends there (the
    /// field is ignored): then `false`.
    fn descend(&mut self, segment: &str) -> bool {
        if self.pointers.is_empty() {
            return true;
        }
        let start = self.levels.last().copied().unwrap_or(0);
        let below = self.stack.len();
        for at in start..below {
            let (pointer, matched) = self.stack[at];
            let Some(segments) = self.pointers.get(pointer) else {
                continue;
            };
            if segments
                .get(matched)
                .is_some_and(|s| crate::matcher::segment_matches(s, segment))
            {
                if matched + 1 == segments.len() {
                    self.stack.truncate(below);
                    return false;
                }
                self.stack.push((pointer, matched + 1));
            }
        }
        self.levels.push(below);
        true
    }

    /// Closes the level [`Canonical::descend`] opened.
    fn ascend(&mut self) {
        if self.pointers.is_empty() {
            return;
        }
        if let Some(start) = self.levels.pop() {
            self.stack.truncate(start);
        }
    }

    /// Takes `key` as the next key of `map`, to be written unless an
    /// ignored pointer ends there (then `false`, and the entry is muted).
    fn new_key(&mut self, map: &mut CanonObject, key: &'a str) -> bool {
        if !self.descend(key) {
            map.ignored = true;
            self.muted += 1;
            return false;
        }
        if self.entries.len() > map.first_entry {
            if map.sorted && self.entries.last().is_some_and(|last| last.0 >= key) {
                map.sorted = false;
            }
            self.out.push(b',');
        }
        self.entries.push((key, self.out.len(), 0));
        true
    }

    /// Whether no pointer is left to match here.
    fn no_pointers(&self) -> bool {
        self.levels.last().copied().unwrap_or(0) == self.stack.len()
    }
}

impl<'a> Sink<'a> for &mut Canonical<'a, '_> {
    type Node = ();
    type Map = CanonObject;
    type Seq = CanonArray;

    fn scalar(&mut self, scalar: Scalar<'a>) {
        if self.muted > 0 {
            return;
        }
        match scalar {
            Scalar::Null => self.out.extend_from_slice(b"null"),
            Scalar::Bool(true) => self.out.extend_from_slice(b"true"),
            Scalar::Bool(false) => self.out.extend_from_slice(b"false"),
            Scalar::Number(n) => crate::matcher::write_number(&n, &mut self.out),
            Scalar::Float(f) => f.write_canonical(&mut self.out),
            Scalar::Str(s) => crate::matcher::write_string(s, &mut self.out),
        }
    }

    fn string(&mut self, text: Cow<'a, str>) {
        if self.muted == 0 {
            crate::matcher::write_string(&text, &mut self.out);
        }
    }

    fn plain_string(&mut self, text: &'a str) {
        if self.muted == 0 {
            write_quoted(text, &mut self.out);
        }
    }

    fn open_map(&mut self) -> CanonObject {
        let muted = self.muted > 0;
        if !muted {
            self.out.push(b'{');
        }
        CanonObject {
            muted,
            sorted: true,
            start: self.out.len(),
            first_entry: self.entries.len(),
            ignored: false,
        }
    }

    fn key(&mut self, map: &mut CanonObject, key: &Cow<'a, str>) -> Fast<()> {
        if map.muted {
            return Ok(());
        }
        let Cow::Borrowed(key) = *key else {
            return Err(Unsupported);
        };
        if self.new_key(map, key) {
            crate::matcher::write_string(key, &mut self.out);
            self.out.push(b':');
        }
        Ok(())
    }

    fn word_key(&mut self, map: &mut CanonObject, key: &'a str) -> Fast<()> {
        if !map.muted && self.new_key(map, key) {
            write_quoted(key, &mut self.out);
            self.out.push(b':');
        }
        Ok(())
    }

    fn entry(&mut self, map: &mut CanonObject, _: Cow<'a, str>, (): (), _: bool) -> Fast<()> {
        if map.muted {
            return Ok(());
        }
        if map.ignored {
            map.ignored = false;
            self.muted -= 1;
        } else {
            self.ascend();
            let end = self.out.len();
            if let Some(entry) = self.entries.last_mut() {
                entry.2 = end;
            }
        }
        Ok(())
    }

    fn close_map(&mut self, map: CanonObject) {
        if map.muted {
            return;
        }
        let entries = &mut self.entries[map.first_entry..];
        // Written in key order already (the common case): nothing to move.
        if !map.sorted {
            // Sorted by key; of repeated keys the last, as a JSON value keeps.
            entries.sort_by(|a, b| a.0.cmp(b.0));
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.out[map.start..]);
            self.out.truncate(map.start);
            let mut first = true;
            for (i, (key, start, end)) in entries.iter().enumerate() {
                if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                    continue;
                }
                if !first {
                    self.out.push(b',');
                }
                first = false;
                self.out
                    .extend_from_slice(&self.scratch[start - map.start..end - map.start]);
            }
        }
        self.entries.truncate(map.first_entry);
        self.out.push(b'}');
    }

    fn open_seq(&mut self) -> CanonArray {
        let muted = self.muted > 0;
        if !muted {
            self.out.push(b'[');
        }
        CanonArray {
            muted,
            index: 0,
            written: false,
            ignored: false,
        }
    }

    fn item(&mut self, seq: &mut CanonArray) {
        if seq.muted {
            return;
        }
        let kept = if self.pointers.is_empty() {
            true
        } else if self.no_pointers() {
            self.levels.push(self.stack.len());
            true
        } else {
            self.descend(&seq.index.to_string())
        };
        if kept {
            if seq.written {
                self.out.push(b',');
            }
            seq.written = true;
        } else {
            seq.ignored = true;
            self.muted += 1;
        }
    }

    fn push(&mut self, seq: &mut CanonArray, (): ()) {
        if seq.muted {
            return;
        }
        if seq.ignored {
            seq.ignored = false;
            self.muted -= 1;
        } else {
            self.ascend();
        }
        seq.index += 1;
    }

    fn close_seq(&mut self, seq: CanonArray) {
        if !seq.muted {
            self.out.push(b']');
        }
    }
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

/// Where a node sits in a cassette: what decides how repeated keys are
/// treated (outside the subset in the cassette's own mappings, the last one
/// wins in JSON payloads, as in the general parser) and which payloads are
/// deferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    Interactions,
    Interaction(usize),
    Request(usize),
    RequestBody(usize),
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
            (Ctx::Interaction(i), "request") => Ctx::Request(i),
            (Ctx::Interaction(i), "response") => Ctx::Response(i),
            (Ctx::Request(i), "body") => Ctx::RequestBody(i),
            (Ctx::Response(i), "body") => Ctx::ResponseBody(i),
            (Ctx::Response(i), "stream") => Ctx::Stream(i),
            (Ctx::Stream(i), "frames") => Ctx::Frames(i),
            (Ctx::RequestBody(_) | Ctx::ResponseBody(_) | Ctx::Frame(..), "json" | "data") => {
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

    /// The interaction and slot of the payload that `key` opens here, if any.
    fn deferrable(self, key: &str) -> Option<(usize, Slot)> {
        match (self, key) {
            (Ctx::RequestBody(i), "json") => Some((i, Slot::RequestBody)),
            (Ctx::ResponseBody(i), "json") => Some((i, Slot::ResponseBody)),
            (Ctx::Frame(i, n), "data") => Some((i, Slot::Frame(n))),
            (Ctx::Request(i), "headers") => Some((i, Slot::RequestHeaders)),
            (Ctx::Response(i), "headers") => Some((i, Slot::ResponseHeaders)),
            _ => None,
        }
    }
}

struct Reader<'a, S> {
    text: &'a str,
    bytes: &'a [u8],
    sink: S,
    /// The start of the first line not read yet.
    pos: usize,
    /// The last line [`Reader::peek`] found, and where it looked from.
    peeked: Option<(usize, Line)>,
    /// Whether payloads are deferred.
    defer: bool,
    deferred: Vec<Deferred>,
    /// The index of the first interaction read (when reading from the middle).
    first_interaction: usize,
}

/// How a literal block scalar treats its final line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// A plain scalar's value.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Number(Number),
    /// A float written as JSON writes it; see [`short_float`].
    Float(ShortFloat<'a>),
    Str(&'a str),
}

/// A decimal float whose text is exactly what `serde_json` writes for the
/// `f64` it reads to, found without reading it: see [`short_float`].
#[derive(Clone, Copy)]
struct ShortFloat<'a> {
    text: &'a str,
    /// Where the `.` is.
    dot: usize,
    /// Whether the fraction is `0` (an integral float, `2.0`).
    integral: bool,
}

impl ShortFloat<'_> {
    fn number(self) -> Number {
        // The text is a finite decimal: it parses, to a finite `f64`.
        self.text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .unwrap_or_else(|| Number::from(0))
    }

    /// Writes the number as the matcher writes it: an integral float as
    /// the integer, anything else as JSON does.
    fn write_canonical(self, out: &mut Vec<u8>) {
        if self.integral {
            let int = &self.text[..self.dot];
            match int {
                "-0" => out.push(b'0'),
                _ => out.extend_from_slice(int.as_bytes()),
            }
        } else {
            out.extend_from_slice(self.text.as_bytes());
        }
    }
}

/// `text` as a [`ShortFloat`] when it is `-?(0|[1-9][0-9]*)\.[0-9]+` with at
/// most 15 significant digits, no trailing zero in the fraction (unless the
/// fraction is `0`), and in the range JSON writes without an exponent.
///
/// Such a text is what `serde_json` writes for its `f64`: two decimals of at
/// most 15 significant digits never read to the same `f64`, so the shortest
/// digits that read back to it are the text's own, and the layout (plain
/// decimal from 1e-5 up to below 1e16, `.0` for integers) is JSON's. The
/// tests hold this against `serde_json` on random texts and values.
fn short_float(text: &str) -> Option<ShortFloat<'_>> {
    let bytes = text.as_bytes();
    let negative = bytes.first() == Some(&b'-');
    let digits = &bytes[usize::from(negative)..];
    let mut dot = None;
    for (at, &b) in digits.iter().enumerate() {
        if b == b'.' && dot.is_none() {
            dot = Some(at);
        } else if !b.is_ascii_digit() {
            return None;
        }
    }
    let dot = dot?;
    short_float_parts(
        text,
        usize::from(negative) + dot,
        &digits[..dot],
        &digits[dot + 1..],
    )
}

/// [`short_float`] for a `text` known to be `-?[0-9]*\.[0-9]*` whose `.` is
/// at `dot`, between the digits `int` and `fraction`.
fn short_float_parts<'a>(
    text: &'a str,
    dot: usize,
    int: &[u8],
    fraction: &[u8],
) -> Option<ShortFloat<'a>> {
    if int.is_empty() || fraction.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return None;
    }
    let integral = fraction == b"0";
    if !integral && fraction.last() == Some(&b'0') {
        return None;
    }
    let significant = if int == b"0" {
        let zeros = fraction.iter().take_while(|&&b| b == b'0').count();
        // Below 1e-5 JSON writes an exponent.
        if !integral && zeros > 4 {
            return None;
        }
        fraction.len() - zeros
    } else if integral {
        int.len() - int.iter().rev().take_while(|&&b| b == b'0').count()
    } else {
        int.len() + fraction.len()
    };
    if significant > 15 || int.len() > 15 {
        return None;
    }
    Some(ShortFloat {
        text,
        dot,
        integral,
    })
}

impl<'a, S: Sink<'a, Node = ()>> Reader<'a, S> {
    /// Writes the block value of a mapping entry whose key is at column
    /// `indent`, from [`Reader::pos`] to `stop`, line by line without
    /// recursion: mappings with word keys, sequences, and scalars (plain ones
    /// of printable ASCII at once, the others through [`Reader::inline`]).
    /// Blank and comment lines, other keys, and whatever the general reader
    /// would refuse are `Err`.
    fn unit_block(&mut self, indent: usize, stop: usize) -> Fast<()> {
        let b = self.bytes;
        let mut stack: Vec<Level<S::Map, S::Seq>> = Vec::with_capacity(16);
        // A key (`true`) or dash at a column whose value is on the next lines.
        let mut pending = Some((indent, true));
        while self.pos < stop {
            let pos = self.pos;
            let c = pos + count_spaces(&b[pos..]);
            if c >= b.len() || matches!(b[c], b'\n' | b'#' | b'\t') {
                return Err(Unsupported);
            }
            let e = c + find_newline(&b[c..]);
            if b[e - 1] == b'\r' {
                return Err(Unsupported);
            }
            let col = c - pos;
            let dash = self.is_dash(c, e);
            if let Some((at, key)) = pending.take() {
                if col > at || (col == at && dash && key) {
                    stack.push(if dash {
                        Level::Seq(col, self.sink.open_seq(), false)
                    } else {
                        Level::Map(col, self.sink.open_map(), false)
                    });
                } else {
                    self.sink.scalar(Scalar::Null);
                    self.complete(&mut stack)?;
                }
            }
            // Close what this line's column ends.
            while let Some(top) = stack.last() {
                let ends = match top {
                    Level::Map(at, ..) => *at > col,
                    Level::Seq(at, ..) => *at > col || (*at == col && !dash),
                };
                if !ends {
                    break;
                }
                self.close(&mut stack)?;
            }
            self.pos = (e + 1).min(b.len());
            pending = self.unit_line(&mut stack, (col, c, e), dash, stop)?;
        }
        if pending.is_some() {
            self.sink.scalar(Scalar::Null);
            self.complete(&mut stack)?;
        }
        while !stack.is_empty() {
            self.close(&mut stack)?;
        }
        Ok(())
    }

    /// Closes the innermost collection, which ends the entry or item holding
    /// it.
    fn close(&mut self, stack: &mut Vec<Level<S::Map, S::Seq>>) -> Fast<()> {
        match stack.pop() {
            Some(Level::Map(_, map, _)) => self.sink.close_map(map),
            Some(Level::Seq(_, seq, _)) => self.sink.close_seq(seq),
            None => return Ok(()),
        }
        self.complete(stack)
    }

    /// The value of the innermost collection's open entry or item is
    /// written: ends the entry or item.
    fn complete(&mut self, stack: &mut [Level<S::Map, S::Seq>]) -> Fast<()> {
        match stack.last_mut() {
            Some(Level::Map(_, map, open)) if *open => {
                *open = false;
                self.sink.entry(map, Cow::Borrowed(""), (), false)
            }
            Some(Level::Seq(_, seq, open)) if *open => {
                *open = false;
                self.sink.push(seq, ());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes the line from `at` (column `col`) to `end`, which starts with a
    /// dash or not, into the innermost open collection; returns the column of
    /// a key (`true`) or dash whose value follows on the next lines, if any.
    /// `stop` is where the payload ends.
    fn unit_line(
        &mut self,
        stack: &mut Vec<Level<S::Map, S::Seq>>,
        (mut col, mut at, end): (usize, usize, usize),
        mut dash: bool,
        stop: usize,
    ) -> Fast<Option<(usize, bool)>> {
        let b = self.bytes;
        loop {
            match stack.last_mut() {
                Some(Level::Seq(seq_col, seq, open)) => {
                    if *seq_col != col || !dash {
                        return Err(Unsupported);
                    }
                    self.sink.item(seq);
                    *open = true;
                    let start = self.skip_spaces(at + 1, end);
                    if start == end {
                        return Ok(Some((col, false)));
                    }
                    if (b[start].is_ascii_digit() || b[start] == b'-')
                        && let Some(number) = self.number(start, end)
                    {
                        self.sink.scalar(number?);
                        self.sink.push(seq, ());
                        *open = false;
                        // A list of numbers (an embedding): the next items
                        // while each line is a dash and a number here.
                        while let Some((start, end, next)) = self.number_item(col) {
                            let Some(number) = self.number(start, end).filter(|_| next <= stop)
                            else {
                                break;
                            };
                            self.sink.item(seq);
                            self.sink.scalar(number?);
                            self.sink.push(seq, ());
                            self.pos = next;
                        }
                        return Ok(None);
                    }
                    let item_col = col;
                    col += start - at;
                    at = start;
                    dash = self.is_dash(at, end);
                    if dash {
                        let seq = self.sink.open_seq();
                        stack.push(Level::Seq(col, seq, false));
                    } else if self.word_key(at, end)?.is_some() {
                        let map = self.sink.open_map();
                        stack.push(Level::Map(col, map, false));
                    } else {
                        self.unit_scalar(item_col, at, end)?;
                        self.complete(stack)?;
                        return Ok(None);
                    }
                }
                Some(Level::Map(map_col, map, open)) => {
                    if *map_col != col || dash {
                        return Err(Unsupported);
                    }
                    let colon = self.word_key(at, end)?.ok_or(Unsupported)?;
                    self.sink.word_key(map, &self.text[at..colon])?;
                    *open = true;
                    let value = self.skip_spaces(colon + 1, end);
                    if value == end {
                        return Ok(Some((col, true)));
                    }
                    self.unit_scalar(col, value, end)?;
                    self.complete(stack)?;
                    return Ok(None);
                }
                None => return Err(Unsupported),
            }
        }
    }

    /// Where the colon of a word key at `at` is (a letter or `_`, then
    /// [`WORD`] bytes, then `:` before a space or the end of the line);
    /// `None` when there is no such key, `Err` for a word that is not a
    /// string (`null: 1`).
    fn word_key(&self, at: usize, end: usize) -> Fast<Option<usize>> {
        let b = self.bytes;
        if !(b[at].is_ascii_alphabetic() || b[at] == b'_') {
            return Ok(None);
        }
        let colon = word_end(&b[..end], at + 1);
        if colon == end || b[colon] != b':' || (colon + 1 < end && b[colon + 1] != b' ') {
            return Ok(None);
        }
        match resolve(&self.text[at..colon])? {
            Scalar::Str(_) => Ok(Some(colon)),
            _ => Err(Unsupported),
        }
    }

    /// Writes the scalar from `start` to `end` of a collection at column
    /// `indent`: a number, or a plain one of printable ASCII with no `"` or
    /// `\` (and `:` or `#` only where they are text) at once, anything else
    /// through [`Reader::inline`].
    fn unit_scalar(&mut self, indent: usize, start: usize, end: usize) -> Fast<()> {
        let b = self.bytes;
        if (b[start].is_ascii_digit() || b[start] == b'-')
            && let Some(number) = self.number(start, end)
        {
            self.sink.scalar(number?);
            return Ok(());
        }
        // `:` and `#` are text where no space follows or comes before them.
        let mut run = start;
        loop {
            run = plain_ascii_end(&b[..end], run);
            match b.get(run) {
                Some(b':') if run + 1 < end && b[run + 1] != b' ' => run += 1,
                Some(b'#') if run > start && b[run - 1] != b' ' => run += 1,
                _ => break,
            }
        }
        let simple = !matches!(
            b[start],
            b'|' | b'\''
                | b'"'
                | b'{'
                | b'['
                | b'>'
                | b'&'
                | b'*'
                | b'!'
                | b'%'
                | b'@'
                | b'`'
                | b','
                | b']'
                | b'}'
                | b'-'
                | b'?'
        ) && b[end - 1] != b' '
            && run == end;
        if simple {
            match resolve(&self.text[start..end])? {
                Scalar::Str(text) => self.sink.plain_string(text),
                scalar => self.sink.scalar(scalar),
            }
        } else {
            self.inline(indent, start, end)?;
        }
        Ok(())
    }
}

impl<'a, S: Sink<'a>> Reader<'a, S> {
    /// A reader at the start of `deferred`'s value in `text`.
    fn at_deferred(text: &'a str, deferred: &Deferred, sink: S) -> Reader<'a, S> {
        let mut reader = Reader::new(text, sink, false);
        reader.pos = deferred.resume.pos;
        reader
    }

    fn new(text: &'a str, sink: S, defer: bool) -> Reader<'a, S> {
        Reader {
            text,
            bytes: text.as_bytes(),
            sink,
            pos: 0,
            peeked: None,
            defer,
            deferred: Vec::new(),
            first_interaction: 0,
        }
    }

    fn document(&mut self) -> Fast<S::Node> {
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

    /// The next line with content, without consuming it. Blank and comment
    /// lines are skipped; tabs in the indentation, CR line ends and document
    /// markers are outside the subset.
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
            let content = pos + count_spaces(&b[pos..]);
            if content < b.len() && b[content] == b'\n' {
                pos = content + 1;
                continue;
            }
            let end = content + find_newline(&b[content..]);
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
    fn node(&mut self, line: Line, ctx: Ctx) -> Fast<S::Node> {
        if self.is_dash(line.content, line.end) {
            return self.seq(line, ctx);
        }
        match self.key_at(line.content, line.end)? {
            Some(key) => self.map(line, key, ctx),
            None => Err(Unsupported),
        }
    }

    /// A block mapping at `first.indent` whose first key is `key`.
    fn map(&mut self, first: Line, mut key: (Cow<'a, str>, usize), ctx: Ctx) -> Fast<S::Node> {
        let indent = first.indent;
        let mut map = self.sink.open_map();
        let mut line = first;
        loop {
            let (name, after) = key;
            self.sink.key(&mut map, &name)?;
            let deferred = if self.defer {
                ctx.deferrable(&name)
            } else {
                None
            };
            let value = match deferred {
                Some((interaction, slot)) => {
                    let pos = self.pos;
                    let inline = self.skip_spaces(after, line.end) < line.end;
                    self.skip_block(indent, !inline);
                    self.deferred.push(Deferred {
                        interaction: self.first_interaction + interaction,
                        slot,
                        resume: Resume {
                            pos,
                            indent,
                            after,
                            end: line.end,
                            skipped_to: self.pos,
                        },
                    });
                    self.sink.scalar(Scalar::Null)
                }
                None => self.value_after_colon(indent, after, line.end, ctx.entry(&name))?,
            };
            self.sink
                .entry(&mut map, name, value, ctx != Ctx::Payload)?;
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
                _ => return Ok(self.sink.close_map(map)),
            }
        }
    }

    /// Skips the lines of a mapping value at `indent` by their indentation
    /// alone: blank lines, deeper lines, and with `dashes` the items of a
    /// sequence at `indent` itself.
    fn skip_block(&mut self, indent: usize, dashes: bool) {
        let b = self.bytes;
        let mut pos = self.pos;
        while pos < b.len() {
            let content = pos + count_spaces(&b[pos..]);
            let depth = content - pos;
            let blank = content == b.len() || b[content] == b'\n';
            let dash = dashes
                && depth == indent
                && b[content] == b'-'
                && matches!(b.get(content + 1), None | Some(b' ' | b'\n'));
            if !(blank || depth > indent || dash) {
                break;
            }
            pos = (content + find_newline(&b[content..]) + 1).min(b.len());
        }
        self.pos = pos;
    }

    /// A block sequence whose dashes are at `first.indent`; `first.content`
    /// is at the first dash.
    fn seq(&mut self, first: Line, ctx: Ctx) -> Fast<S::Node> {
        let indent = first.indent;
        let mut items = self.sink.open_seq();
        let mut line = first;
        let mut index = 0;
        loop {
            self.sink.item(&mut items);
            let item_ctx = ctx.item(index);
            let start = self.skip_spaces(line.content + 1, line.end);
            let item = if start == line.end {
                match self.peek()? {
                    Some(next) if next.indent > indent => {
                        self.pos = next.next;
                        self.node(next, item_ctx)?
                    }
                    _ => self.sink.scalar(Scalar::Null),
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
                } else if let Some(number) = self.number(start, line.end) {
                    // A list of numbers (an embedding) need not look for keys.
                    let item = self.sink.scalar(number?);
                    self.sink.push(&mut items, item);
                    index += 1;
                    // The next items are read while each line is exactly a
                    // dash and a number at this indent.
                    while let Some((start, end, next)) = self.number_item(indent) {
                        let Some(number) = self.number(start, end) else {
                            break;
                        };
                        self.sink.item(&mut items);
                        let item = self.sink.scalar(number?);
                        self.sink.push(&mut items, item);
                        index += 1;
                        self.pos = next;
                    }
                    match self.peek()? {
                        Some(next)
                            if next.indent == indent && self.is_dash(next.content, next.end) =>
                        {
                            self.pos = next.next;
                            line = next;
                            continue;
                        }
                        Some(next) if next.indent > indent => return Err(Unsupported),
                        _ => return Ok(self.sink.close_seq(items)),
                    }
                } else if let Some(key) = self.key_at(start, line.end)? {
                    self.map(rest, key, item_ctx)?
                } else {
                    self.inline(indent, start, line.end)?
                }
            };
            self.sink.push(&mut items, item);
            index += 1;
            match self.peek()? {
                Some(next) if next.indent == indent && self.is_dash(next.content, next.end) => {
                    self.pos = next.next;
                    line = next;
                }
                Some(next) if next.indent > indent => return Err(Unsupported),
                _ => return Ok(self.sink.close_seq(items)),
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
    ) -> Fast<S::Node> {
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
            _ => Ok(self.sink.scalar(Scalar::Null)),
        }
    }

    /// A scalar (or empty flow collection) from `start` to the end of the
    /// line; `indent` is the column of the mapping or sequence holding it.
    fn inline(&mut self, indent: usize, start: usize, end: usize) -> Fast<S::Node> {
        let b = self.bytes;
        match b[start] {
            b'|' => {
                let text = self.literal(indent, start + 1, end)?;
                Ok(self.sink.string(Cow::Owned(text)))
            }
            b'\'' | b'"' => {
                let (text, close) = self.quoted(start, end)?;
                if self.skip_spaces(close, end) != end {
                    return Err(Unsupported);
                }
                Ok(self.sink.string(text))
            }
            b'{' | b'[' => match trim_end(&b[start..end]) {
                b"{}" => {
                    let map = self.sink.open_map();
                    Ok(self.sink.close_map(map))
                }
                b"[]" => {
                    let seq = self.sink.open_seq();
                    Ok(self.sink.close_seq(seq))
                }
                _ => Err(Unsupported),
            },
            _ => {
                let scalar = match self.number(start, end) {
                    Some(number) => number?,
                    None => resolve(self.plain(start, end)?)?,
                };
                Ok(self.sink.scalar(scalar))
            }
        }
    }

    /// Where the number of the line at [`Reader::pos`] starts and ends, and
    /// where the next line starts, when the line is `indent` spaces, `- ` and
    /// something that starts like a number.
    fn number_item(&self, indent: usize) -> Option<(usize, usize, usize)> {
        let b = self.bytes;
        let at = self.pos;
        let start = at + indent + 2;
        if start >= b.len()
            || !b[at..at + indent].iter().all(|&c| c == b' ')
            || b[at + indent] != b'-'
            || b[at + indent + 1] != b' '
            || !(b[start].is_ascii_digit() || b[start] == b'-')
        {
            return None;
        }
        let end = start + find_newline(&b[start..]);
        Some((start, end, (end + 1).min(b.len())))
    }

    /// A number filling the rest of the line from `start`: digits, `.` and
    /// `-` only, then spaces. Such a plain scalar has nothing a plain scalar
    /// must be checked for, so it is resolved at once; `None` for anything
    /// else.
    fn number(&self, start: usize, end: usize) -> Option<Fast<Scalar<'a>>> {
        let b = self.bytes;
        let negative = b[start] == b'-';
        let int = start + usize::from(negative);
        let mut at = digits_end(&b[..end], int);
        if at == int {
            return None;
        }
        let dot = at;
        if at < end && b[at] == b'.' {
            at = digits_end(&b[..end], at + 1);
        }
        if !b[at..end].iter().all(|&c| c == b' ') {
            return None;
        }
        let text = &self.text[start..at];
        if dot < at
            && let Some(float) = short_float_parts(text, dot - start, &b[int..dot], &b[dot + 1..at])
        {
            return Some(Ok(Scalar::Float(float)));
        }
        Some(resolve(text))
    }

    /// A plain scalar from `start` to the end of the line: no indicator at
    /// its start, no `: ` or ` #` inside, no tab or disallowed character.
    fn plain(&self, start: usize, end: usize) -> Fast<&'a str> {
        let b = self.bytes;
        let first = b[start];
        if matches!(
            first,
            b'>' | b'&'
                | b'*'
                | b'!'
                | b'%'
                | b'@'
                | b'`'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'|'
                | b'\''
                | b'"'
                | b'#'
        ) || (matches!(first, b'-' | b'?' | b':') && (start + 1 == end || b[start + 1] == b' '))
        {
            return Err(Unsupported);
        }
        let end = start + trim_end(&b[start..end]).len();
        let slice = &b[start..end];
        let mut i = 0;
        loop {
            i += find_special(&slice[i..], b':', b'#', true);
            let Some(&byte) = slice.get(i) else {
                break;
            };
            match byte {
                b':' if i + 1 == slice.len() || slice[i + 1] == b' ' => return Err(Unsupported),
                b'#' if i > 0 && slice[i - 1] == b' ' => return Err(Unsupported),
                b':' | b'#' => i += 1,
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
        // Most keys are words: a letter or `_`, then letters, digits, `_`
        // and `-`, then `: ` or the end of the line.
        if b[start].is_ascii_alphabetic() || b[start] == b'_' {
            let at = word_end(&b[..end], start + 1);
            if at < end && b[at] == b':' && (at + 1 == end || b[at + 1] == b' ') {
                let key = &self.text[start..at];
                return match resolve(key)? {
                    Scalar::Str(key) => Ok(Some((Cow::Borrowed(key), at + 1))),
                    _ => Err(Unsupported),
                };
            }
        }
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
    /// Its content starts on the line at `self.pos`.
    fn literal(&mut self, indent: usize, header: usize, end: usize) -> Fast<String> {
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
            for _ in 0..pending_breaks {
                text.push('\n');
            }
            text.push_str(&self.text[pos + content_indent..line_end]);
            pending_breaks = 0;
            any_content = true;
            pos = line_end + 1;
        }
        if !any_content && explicit.is_none() {
            return Err(Unsupported);
        }
        self.pos = pos;
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
        Ok(text)
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

/// The bytes of a word key after its first: letters, digits, `_` and `-`.
const WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        byte += 1;
    }
    table
};

/// The index of the first byte of `bytes` from `at` on that is not in
/// [`WORD`], or the length; eight bytes at a time.
#[inline]
fn word_end(bytes: &[u8], at: usize) -> usize {
    run_end(
        bytes,
        at,
        |w| {
            // Every test is exact per byte: 7-bit bytes plus constants below
            // 0x81 never carry into the next byte.
            let low = w & !HIGHS;
            let at_least = |v: u64, lo: u8| (v + ONES * u64::from(0x80 - lo)) & HIGHS;
            let above = |v: u64, hi: u8| (v + ONES * u64::from(0x7f - hi)) & HIGHS;
            let folded = low | (ONES * 0x20);
            let letter = at_least(folded, b'a') & !above(folded, b'z');
            let digit = at_least(low, b'0') & !above(low, b'9');
            let word = (letter | digit | exactly(w, b'_') | exactly(w, b'-')) & !(w & HIGHS);
            !word & HIGHS
        },
        |b| !WORD[usize::from(b)],
    )
}

/// The index of the first byte of `bytes` from `at` on that ends a run: the
/// first whose high bit `stops` sets in the little-endian word of eight bytes
/// it is in, or, in the last few bytes, for which `stops_byte` holds; the
/// length if none.
#[inline(always)]
fn run_end(
    bytes: &[u8],
    mut at: usize,
    stops: impl Fn(u64) -> u64,
    stops_byte: impl Fn(u8) -> bool,
) -> usize {
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let hits = stops(u64::from_le_bytes(word));
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && !stops_byte(bytes[at]) {
        at += 1;
    }
    at
}

/// The high bit of each byte of `w` whose low seven bits are `c`, exact for
/// every byte (bytes with the high bit set may match: callers rule them out).
#[inline(always)]
fn exactly(w: u64, c: u8) -> u64 {
    let x = (w & !HIGHS) ^ (ONES * u64::from(c));
    !((x + ONES * 0x7f) | x) & HIGHS
}

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
    loop {
        i += find_special(&bytes[i..], 0x7f, 0x7f, true);
        if i >= bytes.len() {
            return Ok(());
        }
        i += allowed(bytes, i, true)?;
    }
}

/// How many spaces `bytes` starts with. Eight bytes at a time.
#[inline]
fn count_spaces(bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let other = u64::from_le_bytes(word) ^ (ONES * u64::from(b' '));
        if other != 0 {
            return at + (other.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + chunks
        .remainder()
        .iter()
        .take_while(|&&b| b == b' ')
        .count()
}

/// The index of the first byte of `bytes` from `at` on that is not
/// printable ASCII, or is `"`, `\`, `:` or `#`; the length if none. Such a
/// run is a plain scalar's text that JSON writes as it is.
#[inline]
fn plain_ascii_end(bytes: &[u8], at: usize) -> usize {
    run_end(
        bytes,
        at,
        |w| {
            // Below 0x20, DEL, not ASCII, or one of the four.
            let control = !((w & !HIGHS) + ONES * 0x60) & HIGHS;
            control
                | exactly(w, 0x7f)
                | (w & HIGHS)
                | exactly(w, b'"')
                | exactly(w, b'\\')
                | exactly(w, b':')
                | exactly(w, b'#')
        },
        |b| !matches!(b, 0x20..=0x7e) || matches!(b, b'"' | b'\\' | b':' | b'#'),
    )
}

/// The index of the first byte of `bytes` from `at` on that is not an ASCII
/// digit, or the length; eight bytes at a time.
#[inline]
fn digits_end(bytes: &[u8], at: usize) -> usize {
    run_end(
        bytes,
        at,
        |w| {
            // Digits become 0..=9; a byte is not a digit when that is 10 or
            // more (or its high bit is set).
            let t = w ^ (ONES * u64::from(b'0'));
            (((t & !HIGHS) + ONES * 0x76) | t) & HIGHS
        },
        |b| !b.is_ascii_digit(),
    )
}

/// The index of the first line feed in `bytes`, or its length. Lines are
/// short, so a word at a time beats a vectorised search's set-up.
#[inline]
fn find_newline(bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let hits = bytes_equal(u64::from_le_bytes(word), b'\n');
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(chunks.remainder().len())
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` below `n` (at most 0x80), exact for
/// the lowest such byte.
#[inline]
fn bytes_below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS
}

/// The high bit of each byte of `word` equal to `byte`, exact for the lowest.
#[inline]
fn bytes_equal(word: u64, byte: u8) -> u64 {
    bytes_below(word ^ (ONES * u64::from(byte)), 1)
}

/// The index of the first byte of `bytes` that is `a`, `b`, a control
/// character or DEL, or (with `wide`) not ASCII; `bytes.len()` if none.
/// Eight bytes at a time.
#[inline]
fn find_special(bytes: &[u8], a: u8, b: u8, wide: bool) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let mut hits = bytes_below(word, 0x20)
            | bytes_equal(word, 0x7f)
            | bytes_equal(word, a)
            | bytes_equal(word, b);
        if wide {
            hits |= word & HIGHS;
        }
        if hits != 0 {
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    for &byte in chunks.remainder() {
        if byte < 0x20 || byte == 0x7f || byte == a || byte == b || (wide && byte >= 0x80) {
            return at;
        }
        at += 1;
    }
    at
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
        // Only words of one, four or five letters mean something else.
        if !matches!(bytes.len(), 1 | 4 | 5) {
            return Ok(Scalar::Str(text));
        }
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
    // The common float, taken as written.
    if let Some(float) = short_float(text) {
        return Ok(Scalar::Float(float));
    }
    if let Some(rest) = text.strip_prefix('+') {
        // `+1` and `+.5` are the numbers `1` and `.5`; `+`, `+x`, `+true` and
        // `+-1` are strings.
        if rest.starts_with(['+', '-']) {
            return Ok(Scalar::Str(text));
        }
        return match resolve(rest)? {
            Scalar::Number(n) => Ok(Scalar::Number(n)),
            Scalar::Float(f) => Ok(Scalar::Float(f)),
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

/// A node of a cassette's own structure, as [`parse_deferring`] reads it:
/// strings borrowed from the text where they can be, mappings as lists.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Map(Vec<(Cow<'a, str>, Node<'a>)>),
    Seq(Vec<Node<'a>>),
}

/// Builds [`Node`]s.
struct Nodes;

impl<'a> Sink<'a> for Nodes {
    type Node = Node<'a>;
    type Map = Vec<(Cow<'a, str>, Node<'a>)>;
    type Seq = Vec<Node<'a>>;

    fn scalar(&mut self, scalar: Scalar<'a>) -> Node<'a> {
        match scalar {
            Scalar::Null => Node::Null,
            Scalar::Bool(b) => Node::Bool(b),
            Scalar::Number(n) => Node::Number(n),
            Scalar::Float(f) => Node::Number(f.number()),
            Scalar::Str(s) => Node::Str(Cow::Borrowed(s)),
        }
    }

    fn string(&mut self, text: Cow<'a, str>) -> Node<'a> {
        Node::Str(text)
    }

    fn open_map(&mut self) -> Self::Map {
        Vec::new()
    }

    fn key(&mut self, _: &mut Self::Map, _: &Cow<'a, str>) -> Fast<()> {
        Ok(())
    }

    fn entry(
        &mut self,
        map: &mut Self::Map,
        key: Cow<'a, str>,
        value: Node<'a>,
        _: bool,
    ) -> Fast<()> {
        // Repeated keys are kept: reading the cassette's types refuses them
        // (a field left over, a header named twice).
        map.push((key, value));
        Ok(())
    }

    fn close_map(&mut self, map: Self::Map) -> Node<'a> {
        Node::Map(map)
    }

    fn open_seq(&mut self) -> Self::Seq {
        Vec::new()
    }

    fn item(&mut self, _: &mut Self::Seq) {}

    fn push(&mut self, seq: &mut Self::Seq, value: Node<'a>) {
        seq.push(value);
    }

    fn close_seq(&mut self, seq: Self::Seq) -> Node<'a> {
        Node::Seq(seq)
    }
}

impl Node<'_> {
    /// The JSON value of the node (of repeated keys, the last value at the
    /// first place).
    fn into_value(self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Number(n) => Value::Number(n),
            Node::Str(s) => Value::String(s.into_owned()),
            Node::Map(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_value()))
                    .collect(),
            ),
            Node::Seq(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
        }
    }
}

/// The fields of a mapping, taken one by one.
struct Fields<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Fields<'a> {
    fn of(node: Node<'a>) -> Option<Fields<'a>> {
        match node {
            Node::Map(entries) => Some(Fields(entries)),
            _ => None,
        }
    }

    fn take(&mut self, name: &str) -> Option<Node<'a>> {
        let at = self.0.iter().position(|(key, _)| key == name)?;
        Some(self.0.swap_remove(at).1)
    }

    /// `then` if no field is left (unknown fields are errors).
    fn end<T>(self, then: T) -> Option<T> {
        self.0.is_empty().then_some(then)
    }
}

fn string(node: Node<'_>) -> Option<String> {
    match node {
        Node::Str(text) => Some(text.into_owned()),
        _ => None,
    }
}

fn unsigned(node: Node<'_>) -> Option<u64> {
    match node {
        Node::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// An optional field: absent or `null` is `None`, anything else must parse.
fn optional<'a, T>(
    node: Option<Node<'a>>,
    parse: impl FnOnce(Node<'a>) -> Option<T>,
) -> Option<Option<T>> {
    match node {
        None | Some(Node::Null) => Some(None),
        Some(node) => parse(node).map(Some),
    }
}

/// The cassette a node read by [`parse_deferring`] describes; its deferred
/// payloads are `null`. `None` when anything is not exactly as the schema
/// wants it: the caller then deserialises with serde, which explains what is
/// wrong.
pub(crate) fn cassette(node: Node<'_>) -> Option<Cassette> {
    let mut fields = Fields::of(node)?;
    let llmvcr = u32::try_from(unsigned(fields.take("llmvcr")?)?).ok()?;
    let interactions = match fields.take("interactions") {
        None => Vec::new(),
        Some(Node::Seq(items)) => items
            .into_iter()
            .map(interaction)
            .collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    fields.end(Cassette {
        llmvcr,
        interactions,
    })
}

/// An interaction read by [`parse_deferring_items`]; see [`cassette`].
pub(crate) fn interaction(node: Node<'_>) -> Option<Interaction> {
    let mut fields = Fields::of(node)?;
    let recorded_at = optional(fields.take("recorded_at"), string)?;
    let request = request(fields.take("request")?)?;
    let response = response(fields.take("response")?)?;
    fields.end(Interaction {
        recorded_at,
        request,
        response,
    })
}

/// Headers as [`HeaderList`]'s deserialiser reads them: a mapping of names
/// (each once, in any case) to a scalar or a list of scalars; `null` is none.
fn headers(node: Option<Node<'_>>) -> Option<HeaderList> {
    fn scalar(node: Node<'_>) -> Option<String> {
        match node {
            Node::Str(text) => Some(text.into_owned()),
            Node::Number(n) => Some(n.to_string()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Null | Node::Seq(_) | Node::Map(_) => None,
        }
    }
    let entries = match node {
        None | Some(Node::Null) => return Some(HeaderList::default()),
        Some(node) => Fields::of(node)?.0,
    };
    let mut list: Vec<(String, Vec<String>)> = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        if list.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return None;
        }
        let values = match value {
            Node::Seq(items) => items.into_iter().map(scalar).collect::<Option<Vec<_>>>()?,
            other => vec![scalar(other)?],
        };
        list.push((name.into_owned(), values));
    }
    Some(HeaderList(list))
}

fn request(node: Node<'_>) -> Option<Request> {
    let mut fields = Fields::of(node)?;
    let method = string(fields.take("method")?)?;
    let url = string(fields.take("url")?)?;
    let headers = headers(fields.take("headers"))?;
    let body = optional(fields.take("body"), body)?;
    fields.end(Request {
        method,
        url,
        headers,
        body,
    })
}

fn response(node: Node<'_>) -> Option<Response> {
    let mut fields = Fields::of(node)?;
    let status = u16::try_from(unsigned(fields.take("status")?)?).ok()?;
    let headers = headers(fields.take("headers"))?;
    let body = optional(fields.take("body"), body)?;
    let stream = optional(fields.take("stream"), stream)?;
    fields.end(Response {
        status,
        headers,
        body,
        stream,
    })
}

fn body(node: Node<'_>) -> Option<Body> {
    let mut fields = Fields::of(node)?;
    let json = fields.take("json");
    let text = optional(fields.take("text"), string)?;
    let base64 = optional(fields.take("base64"), string)?;
    let body = match (json, text, base64) {
        (Some(json), None, None) => Body::Json(json.into_value()),
        (None, Some(text), None) => Body::Text(text),
        (None, None, Some(base64)) => Body::Base64(base64),
        _ => return None,
    };
    fields.end(body)
}

fn stream(node: Node<'_>) -> Option<Stream> {
    let mut fields = Fields::of(node)?;
    let format = match string(fields.take("format")?)?.as_str() {
        "sse" => StreamFormat::Sse,
        "ndjson" => StreamFormat::Ndjson,
        "json_array" => StreamFormat::JsonArray,
        "chunks" => StreamFormat::Chunks,
        _ => return None,
    };
    let frames = match fields.take("frames") {
        None => Vec::new(),
        Some(Node::Seq(items)) => items.into_iter().map(frame).collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    fields.end(Stream { format, frames })
}

fn frame(node: Node<'_>) -> Option<Frame> {
    let mut fields = Fields::of(node)?;
    let frame = Frame {
        at_ms: unsigned(fields.take("at_ms")?)?,
        event: optional(fields.take("event"), string)?,
        id: optional(fields.take("id"), string)?,
        retry: optional(fields.take("retry"), unsigned)?,
        comment: optional(fields.take("comment"), string)?,
        data: fields.take("data").map(Node::into_value),
        text: optional(fields.take("text"), string)?,
        base64: optional(fields.take("base64"), string)?,
    };
    fields.end(frame)
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

    use crate::testdata::v1_files;

    /// Every cassette in the repository is read by the fast reader, to the
    /// value the general parser reads, and deferring its response payloads
    /// then reading them gives the same cassette.
    #[test]
    fn reads_every_cassette_in_the_repository() {
        let files = v1_files();
        assert!(files.len() > 100, "{}", files.len());
        let (mut payloads, mut by_lines) = (0, 0);
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            let fast = parse(&text).unwrap_or_else(|| panic!("fell back on {}", path.display()));
            assert!(same(&fast, &general(&text).unwrap()), "{}", path.display());

            let (skeleton, deferred) = parse_deferring(&text).unwrap();
            let mut skeleton = skeleton.into_value();
            let mut json = Vec::new();
            for d in &deferred {
                let value = read_deferred(&text, d).unwrap();
                json.clear();
                if deferred_json(&text, d, &mut json).is_some() {
                    assert_eq!(json, serde_json::to_vec(&value).unwrap());
                }
                let interaction = &mut skeleton["interactions"][d.interaction];
                let slot = match d.slot {
                    Slot::RequestBody => &mut interaction["request"]["body"]["json"],
                    Slot::ResponseBody => &mut interaction["response"]["body"]["json"],
                    Slot::Frame(n) => &mut interaction["response"]["stream"]["frames"][n]["data"],
                    Slot::RequestHeaders => &mut interaction["request"]["headers"],
                    Slot::ResponseHeaders => &mut interaction["response"]["headers"],
                };
                assert_eq!(*slot, Value::Null);
                *slot = value;
            }
            assert!(same(&skeleton, &fast), "{}", path.display());
            for d in &deferred {
                if matches!(d.slot, Slot::RequestHeaders | Slot::ResponseHeaders) {
                    continue;
                }
                payloads += 1;
                let mut general = JsonText {
                    out: Vec::new(),
                    keys: Vec::new(),
                };
                let general_read = read_with(&text, d, &mut general);
                let mut block = JsonText {
                    out: Vec::new(),
                    keys: Vec::new(),
                };
                for pointers in pointer_sets() {
                    let (general, block) = canonical_both(&text, d, &pointers);
                    if let Some(block) = block {
                        assert_eq!(Some(block), general, "{}", path.display());
                    }
                }
                if block_unit(&text, d, &mut block).is_some() {
                    by_lines += 1;
                    assert!(general_read.is_some(), "{}", path.display());
                    assert_eq!(
                        String::from_utf8_lossy(&block.out),
                        String::from_utf8_lossy(&general.out),
                        "{}",
                        path.display()
                    );
                }
            }
            let typed = crate::lazy::read_fast(&text).unwrap();
            let slow: Cassette = yaml_serde::from_str(&text).unwrap();
            assert_eq!(typed, slow, "{}", path.display());
        }
        // The line-by-line writer takes most payloads.
        assert!(by_lines * 10 > payloads * 9, "{by_lines} of {payloads}");
        eprintln!("line by line: {by_lines} of {payloads} payloads");
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

    /// Checks a text [`short_float`] accepts against what `serde_json` and
    /// the matcher write for its value.
    fn check_short_float(text: &str) -> Result<bool, TestCaseError> {
        let Some(float) = short_float(text) else {
            return Ok(false);
        };
        let value: f64 = text.parse().unwrap();
        prop_assert_eq!(serde_json::to_string(&value).unwrap(), text);
        let number = Number::from_f64(value).unwrap();
        let mut canonical = Vec::new();
        crate::matcher::write_number(&number, &mut canonical);
        let mut short = Vec::new();
        float.write_canonical(&mut short);
        prop_assert_eq!(
            String::from_utf8(short).unwrap(),
            String::from_utf8(canonical).unwrap()
        );
        prop_assert_eq!(float.number(), number);
        Ok(true)
    }

    /// For every JSON payload of `text`: where the line-by-line writer
    /// writes something, the general reader writes the same.
    fn block_json_agrees(text: &str) -> Result<(), TestCaseError> {
        let Some((_, deferred)) = parse_deferring(text) else {
            return Ok(());
        };
        for d in &deferred {
            if matches!(d.slot, Slot::RequestHeaders | Slot::ResponseHeaders) {
                continue;
            }
            let mut general = JsonText {
                out: Vec::new(),
                keys: Vec::new(),
            };
            let general_read = read_with(text, d, &mut general);
            let mut block = JsonText {
                out: Vec::new(),
                keys: Vec::new(),
            };
            if block_unit(text, d, &mut block).is_some() {
                prop_assert!(general_read.is_some(), "{text}");
                prop_assert_eq!(
                    String::from_utf8_lossy(&block.out),
                    String::from_utf8_lossy(&general.out),
                    "{}",
                    text
                );
            }
            for pointers in pointer_sets() {
                let (general, block) = canonical_both(text, d, &pointers);
                if let Some(block) = block {
                    let general = general.unwrap_or_else(|| b"(none)".to_vec());
                    prop_assert_eq!(
                        String::from_utf8_lossy(&block),
                        String::from_utf8_lossy(&general),
                        "{} {:?}",
                        text,
                        pointers
                    );
                }
            }
        }
        Ok(())
    }

    /// Ignored pointers to try canonical text with.
    fn pointer_sets() -> Vec<Vec<Vec<String>>> {
        let set = |pointers: &[&[&str]]| {
            pointers
                .iter()
                .map(|p| p.iter().map(|s| (*s).to_owned()).collect())
                .collect()
        };
        vec![
            Vec::new(),
            set(&[&["a"]]),
            set(&[&["a", "0"], &["b"]]),
            set(&[&["messages", "1", "content"], &["user"], &["metadata"]]),
        ]
    }

    /// The canonical text of a deferred payload, the general way and line by
    /// line (`None` where either gives up).
    fn canonical_both(
        text: &str,
        d: &Deferred,
        pointers: &[Vec<String>],
    ) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let sink = || Canonical {
            out: Vec::new(),
            pointers,
            stack: (0..pointers.len()).map(|p| (p, 0)).collect(),
            levels: vec![0],
            muted: 0,
            scratch: Vec::new(),
            entries: Vec::new(),
        };
        let mut general = sink();
        let general = read_with(text, d, &mut general).map(|()| general.out);
        let mut block = sink();
        let block = block_unit(text, d, &mut block).map(|()| block.out);
        (general, block)
    }

    /// A cassette whose request body is `lines`, each indented by its number
    /// of spaces below `json:`.
    fn payload_of(lines: &[(usize, &str)]) -> String {
        let mut text = String::from(
            "llmvcr: 1\ninteractions:\n- request:\n    method: POST\n    url: https://h/v1\n    body:\n      json:\n",
        );
        for (indent, line) in lines {
            text.push_str(&" ".repeat(8 + indent));
            text.push_str(line);
            text.push('\n');
        }
        text.push_str("  response:\n    status: 200\n");
        text
    }

    fn cassette_with(request: Value, response: Value) -> String {
        let cassette = Cassette {
            llmvcr: crate::format::FORMAT_VERSION,
            interactions: vec![Interaction {
                recorded_at: None,
                request: Request {
                    method: "POST".to_owned(),
                    url: "https://h/v1".to_owned(),
                    headers: HeaderList::default(),
                    body: Some(Body::Json(request)),
                },
                response: Response {
                    status: 200,
                    headers: HeaderList::default(),
                    body: Some(Body::Json(response)),
                    stream: None,
                },
            }],
        };
        crate::store::to_yaml(&cassette).unwrap()
    }

    proptest! {
        /// Payloads the writer writes: the line-by-line writer agrees with
        /// the general reader (how often it takes them is checked on the
        /// repository's cassettes).
        #[test]
        fn block_json_agrees_on_what_the_writer_writes(
            request in value(),
            response in value_of("[ -~]{0,12}"),
        ) {
            let request = serde_json::json!({ "a": request });
            let response = serde_json::json!({ "b": response, "a": [1, "x"] });
            let text = cassette_with(request, response);
            block_json_agrees(&text)?;
        }

        /// The same on nesting alone: few kinds of lines, often repeated.
        #[test]
        fn block_json_nests_as_the_general_reader_does(lines in prop::collection::vec(
            (
                prop::sample::select(vec![0usize, 2, 4]),
                prop::sample::select(vec!["-", "- 1", "a:", "b: 2", "- a: 1", "- - 2", "c:", "a: 3"]),
            ),
            1..10,
        )) {
            block_json_agrees(&payload_of(&lines))?;
        }

        /// On payload lines put together from YAML's pieces, the line-by-line
        /// writer never writes what the general reader does not.
        #[test]
        fn block_json_never_disagrees(lines in prop::collection::vec(
            (
                prop::sample::select(vec![0usize, 2, 4, 6]),
                prop::sample::select(vec![
                    "a: 1", "b: x", "a:", "- 1", "-", "- a: 1", "- - 2", "c: 'q'", "c: \"q\\n\"",
                    "d: |", "  lit", "e: {}", "f: []", "g: a:b", "h: a: b", "i: x #c", "j: x#c",
                    "null: 1", "k: null", "l: -0.5", "m: 1.50", "n: ~", "o: é", "p: a\"b",
                    "q: 2024-01-01T00:00:00Z", "r: ", "s: - x", "t: -x", "u: ? x", "v: |-",
                    "w: >", "x: &a 1", "y: true", "Z_-9: 3", "'k': 1", "\"k\": 1", "- 'a: b'",
                ]),
            ),
            1..12,
        )) {
            block_json_agrees(&payload_of(&lines))?;
        }

        #[test]
        fn word_end_finds_the_first_non_word_byte(
            bytes in prop::collection::vec(
                prop_oneof![
                    8 => prop::sample::select(b"azAZ09_-mM5".to_vec()),
                    2 => any::<u8>(),
                ],
                0..40,
            ),
            at in 0usize..40,
        ) {
            let at = at.min(bytes.len());
            let want = at + bytes[at..].iter().take_while(|&&b| WORD[usize::from(b)]).count();
            prop_assert_eq!(word_end(&bytes, at), want);
        }

        #[test]
        fn digits_end_finds_the_first_non_digit(
            bytes in prop::collection::vec(prop_oneof![9 => b'0'..=b'9', 1 => any::<u8>()], 0..40),
            at in 0usize..40,
        ) {
            let at = at.min(bytes.len());
            let want = at + bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
            prop_assert_eq!(digits_end(&bytes, at), want);
        }
    }

    #[test]
    fn short_floats_at_the_edges() {
        for (text, short) in [
            ("0.5", true),
            ("-0.0", true),
            ("0.0", true),
            ("2.0", true),
            ("-17.25", true),
            ("0.00001", true),
            ("0.000012345", true),
            ("0.000001", false),
            ("123456789012345.0", true),
            ("123456789012345.6", false),
            ("1234567890123456.0", false),
            ("100000000000000.0", true),
            ("0.123456789012345", true),
            ("0.1234567890123456", false),
            ("1.50", false),
            ("01.5", false),
            ("1.", false),
            (".5", false),
            ("1e5", false),
            ("1.5e5", false),
            ("-", false),
        ] {
            assert_eq!(check_short_float(text).unwrap(), short, "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// A decimal text taken as written is exactly what JSON writes.
        #[test]
        fn short_floats_are_what_json_writes(
            text in "-?(0|[1-9][0-9]{0,16})\\.[0-9]{1,18}",
        ) {
            check_short_float(&text)?;
        }

        /// What JSON writes for a float is mostly taken as written.
        #[test]
        fn json_floats_are_short_floats(
            mantissa in -1.0e6f64..1.0e6,
            scale in -8i32..12,
        ) {
            let value = mantissa * 10f64.powi(scale);
            let text = serde_json::to_string(&value).unwrap();
            check_short_float(&text)?;
            let rounded = format!("{value:.6}");
            check_short_float(rounded.trim_end_matches('0'))?;
        }

        /// Embedding-like values: the common case is taken.
        #[test]
        fn small_json_floats_are_short_floats(value in -0.2f32..0.2) {
            let text = serde_json::to_string(&f64::from(value)).unwrap();
            let f32_text = serde_json::to_string(&value).unwrap();
            check_short_float(&text)?;
            if f64::from(value).abs() >= 1e-5 {
                prop_assert!(check_short_float(&f32_text)?, "{}", f32_text);
            }
        }
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
            ".", "0", "00", "-0.0", "1.50", "2.0", "0.00001", "1e5", "123456789012345678",
            "99999999999999999999", "0.1234567890123456",
        ]), 0..24)) {
            let text: String = parts.concat();
            prop_assert!(agrees(&text), "{text:?}: {:?} vs {:?}", parse(&text), general(&text));
        }
    }
}
