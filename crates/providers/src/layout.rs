//! The order of an assistant turn on the wire: its content, its reasoning items and
//! its tool calls, rebuilt from the items' anchors.
//!
//! Every adapter that sends reasoning state back lays an assistant [`Message`] out
//! with [`assistant_pieces`] and maps each [`Piece`] to its own blocks, parts or
//! items. Only the items of the adapter's provider and format take part; without
//! any, the layout is the content followed by the tool calls, as it always was.

use llmvcr_core::{
    ContentPart, Message, Provider, ReasoningAnchor, ReasoningFormat, ReasoningItem, ToolCall,
};
use serde_json::Value;

/// One element of an assistant turn, in wire order.
#[derive(Debug)]
pub(crate) enum Piece<'a> {
    /// A run of the message's content parts, text cut at the anchors. `attached`
    /// holds the items anchored to the text that starts the run; a run with
    /// attached items may have no parts at all (an empty text part carrying a
    /// signature).
    Content {
        parts: Vec<ContentPart>,
        attached: Vec<&'a ReasoningItem>,
    },
    /// A reasoning item standing on its own.
    Item(&'a ReasoningItem),
    /// A tool call, with the items attached to it.
    Call {
        call: &'a ToolCall,
        attached: Vec<&'a ReasoningItem>,
    },
}

/// A point in the text walk: an item that stands there, or one attached to the text
/// that starts there.
#[derive(Debug, Clone, Copy)]
enum Mark<'a> {
    Standalone(&'a ReasoningItem),
    Text(&'a ReasoningItem),
}

/// `message` as wire pieces, keeping only the reasoning items an adapter for
/// `provider` speaking `format` may send.
///
/// Text comes first, cut wherever an item stands or a text-attached item starts;
/// then the tool calls, each preceded by the items anchored before it. Offsets past
/// the end of the text, or inside a character, are moved back to the nearest
/// character boundary; items anchored to a tool call that the message lacks are
/// dropped.
pub(crate) fn assistant_pieces(
    message: &Message,
    provider: Provider,
    format: ReasoningFormat,
) -> Vec<Piece<'_>> {
    let calls = &message.tool_calls;
    let mut marks: Vec<(usize, Mark<'_>)> = Vec::new();
    // Items standing before tool call `i` (`i > 0`), or after all calls at
    // `calls.len()`; with no calls at all, after the content at 0.
    let mut before_call: Vec<Vec<&ReasoningItem>> = vec![Vec::new(); calls.len() + 1];
    let mut on_call: Vec<Vec<&ReasoningItem>> = vec![Vec::new(); calls.len()];
    for item in message
        .reasoning_items
        .iter()
        .filter(|i| i.is_for(provider, format))
    {
        match item.anchor {
            ReasoningAnchor::Standalone {
                text,
                tool_calls: 0,
            } => marks.push((text, Mark::Standalone(item))),
            ReasoningAnchor::Standalone { tool_calls, .. } => {
                if let Some(slot) = before_call.get_mut(tool_calls.min(calls.len())) {
                    slot.push(item);
                }
            }
            ReasoningAnchor::Text { text } => marks.push((text, Mark::Text(item))),
            ReasoningAnchor::ToolCall { index } => {
                if let Some(slot) = on_call.get_mut(index) {
                    slot.push(item);
                }
            }
        }
    }
    marks.sort_by_key(|(offset, _)| *offset);

    let mut pieces = Vec::new();
    let mut walk = TextWalk::new(&message.content);
    let mut attached: Vec<&ReasoningItem> = Vec::new();
    for (offset, mark) in marks {
        let run = walk.take_until(offset);
        // Also flushes a text-attached item whose run is empty (an empty text part
        // carrying a signature).
        flush(&mut pieces, run, &mut attached);
        match mark {
            Mark::Standalone(item) => pieces.push(Piece::Item(item)),
            Mark::Text(item) => attached.push(item),
        }
    }
    let rest = walk.take_until(usize::MAX);
    flush(&mut pieces, rest, &mut attached);
    let mut before_call = before_call.into_iter();
    for (call, attached) in calls.iter().zip(on_call) {
        pieces.extend(before_call.next().into_iter().flatten().map(Piece::Item));
        pieces.push(Piece::Call { call, attached });
    }
    pieces.extend(before_call.flatten().map(Piece::Item));
    pieces
}

/// Pushes `parts` as a content run, with the pending attached items, when there is
/// either.
fn flush<'a>(
    pieces: &mut Vec<Piece<'a>>,
    parts: Vec<ContentPart>,
    attached: &mut Vec<&'a ReasoningItem>,
) {
    if !parts.is_empty() || !attached.is_empty() {
        pieces.push(Piece::Content {
            parts,
            attached: std::mem::take(attached),
        });
    }
}

/// Walks a message's content parts by text offset.
#[derive(Debug)]
struct TextWalk<'a> {
    parts: &'a [ContentPart],
    /// The next part to take.
    next: usize,
    /// Bytes of `parts[next]`'s text already taken.
    within: usize,
    /// Text bytes taken so far.
    offset: usize,
}

impl<'a> TextWalk<'a> {
    fn new(parts: &'a [ContentPart]) -> TextWalk<'a> {
        TextWalk {
            parts,
            next: 0,
            within: 0,
            offset: 0,
        }
    }

    /// The parts up to text offset `to`: whole parts that start before it, and the
    /// head of a text part that crosses it, cut at a character boundary.
    fn take_until(&mut self, to: usize) -> Vec<ContentPart> {
        let mut out = Vec::new();
        while let Some(part) = self.parts.get(self.next) {
            if self.offset >= to {
                break;
            }
            match part {
                ContentPart::Text { text } => {
                    let rest = text.get(self.within..).unwrap_or_default();
                    let room = to - self.offset;
                    if rest.len() <= room {
                        if !rest.is_empty() || self.within == 0 {
                            out.push(ContentPart::text(rest));
                        }
                        self.offset += rest.len();
                        self.next += 1;
                        self.within = 0;
                    } else {
                        let cut = floor_char_boundary(rest, room);
                        if cut > 0 {
                            out.push(ContentPart::text(&rest[..cut]));
                        }
                        self.within += cut;
                        self.offset += cut;
                        // The offset falls inside a character: the mark goes before it.
                        break;
                    }
                }
                other => {
                    out.push(other.clone());
                    self.next += 1;
                    self.within = 0;
                }
            }
        }
        out
    }
}

/// The largest character boundary of `s` at or before `index`.
fn floor_char_boundary(s: &str, index: usize) -> usize {
    let mut i = index.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Copies the keys of each attached item's object `data` into `part`; later items
/// win. Data that is not an object is ignored.
pub(crate) fn merge_attached(part: &mut Value, attached: &[&ReasoningItem]) {
    let Some(target) = part.as_object_mut() else {
        return;
    };
    for item in attached {
        if let Some(fields) = item.data.as_object() {
            for (k, v) in fields {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(anchor: ReasoningAnchor, tag: &str) -> ReasoningItem {
        ReasoningItem::new(
            Provider::Gemini,
            ReasoningFormat::Gemini,
            anchor,
            json!(tag),
        )
    }

    /// The pieces as short strings: `"text"`, `[tag]`, `call(name)`, with attached
    /// tags after `+`.
    fn show(pieces: &[Piece<'_>]) -> Vec<String> {
        let tags = |items: &[&ReasoningItem]| -> String {
            items
                .iter()
                .map(|i| format!("+{}", i.data.as_str().unwrap_or("?")))
                .collect()
        };
        pieces
            .iter()
            .map(|p| match p {
                Piece::Content { parts, attached } => {
                    let texts: Vec<String> = parts
                        .iter()
                        .map(|p| match p {
                            ContentPart::Text { text } => format!("{text:?}"),
                            ContentPart::Image { .. } => "img".into(),
                        })
                        .collect();
                    format!("{}{}", texts.join(","), tags(attached))
                }
                Piece::Item(i) => format!("[{}]", i.data.as_str().unwrap_or("?")),
                Piece::Call { call, attached } => format!("call({}){}", call.name, tags(attached)),
            })
            .collect()
    }

    fn message(text: &str, calls: &[&str], items: Vec<ReasoningItem>) -> Message {
        Message {
            tool_calls: calls
                .iter()
                .map(|n| ToolCall::from_value(Some(format!("id_{n}")), *n, json!({})))
                .collect(),
            reasoning_items: items,
            ..Message::assistant(text)
        }
    }

    fn layout(m: &Message) -> Vec<String> {
        show(&assistant_pieces(
            m,
            Provider::Gemini,
            ReasoningFormat::Gemini,
        ))
    }

    #[test]
    fn without_items_content_then_calls() {
        let m = message("Hi", &["f", "g"], Vec::new());
        assert_eq!(layout(&m), ["\"Hi\"", "call(f)", "call(g)"]);
        let m = message("", &[], Vec::new());
        assert_eq!(layout(&m), ["\"\""]);
    }

    #[test]
    fn standalone_items_cut_the_text_and_precede_calls() {
        let m = message(
            "abcd",
            &["f", "g"],
            vec![
                item(
                    ReasoningAnchor::Standalone {
                        text: 0,
                        tool_calls: 0,
                    },
                    "r0",
                ),
                item(
                    ReasoningAnchor::Standalone {
                        text: 2,
                        tool_calls: 0,
                    },
                    "r2",
                ),
                item(
                    ReasoningAnchor::Standalone {
                        text: 4,
                        tool_calls: 1,
                    },
                    "before_g",
                ),
                item(
                    ReasoningAnchor::Standalone {
                        text: 4,
                        tool_calls: 9,
                    },
                    "last",
                ),
            ],
        );
        assert_eq!(
            layout(&m),
            [
                "[r0]",
                "\"ab\"",
                "[r2]",
                "\"cd\"",
                "call(f)",
                "[before_g]",
                "call(g)",
                "[last]"
            ]
        );
    }

    #[test]
    fn attached_items_go_on_their_text_or_call() {
        let m = message(
            "abc",
            &["f"],
            vec![
                item(ReasoningAnchor::ToolCall { index: 0 }, "sf"),
                item(ReasoningAnchor::Text { text: 3 }, "end"),
                item(ReasoningAnchor::Text { text: 1 }, "mid"),
                item(ReasoningAnchor::ToolCall { index: 5 }, "gone"),
            ],
        );
        assert_eq!(layout(&m), ["\"a\"", "\"bc\"+mid", "+end", "call(f)+sf"]);
    }

    #[test]
    fn offsets_inside_a_character_or_past_the_end_are_clamped() {
        let m = message(
            "é!",
            &[],
            vec![
                item(
                    ReasoningAnchor::Standalone {
                        text: 1,
                        tool_calls: 0,
                    },
                    "inside",
                ),
                item(
                    ReasoningAnchor::Standalone {
                        text: 99,
                        tool_calls: 0,
                    },
                    "past",
                ),
                item(
                    ReasoningAnchor::Standalone {
                        text: 0,
                        tool_calls: 3,
                    },
                    "no_calls",
                ),
            ],
        );
        assert_eq!(layout(&m), ["[inside]", "\"é!\"", "[past]", "[no_calls]"]);
    }

    #[test]
    fn items_of_other_providers_or_formats_are_left_out() {
        let mut foreign = item(ReasoningAnchor::default(), "anthropic");
        foreign.provider = Provider::Anthropic;
        let mut other_format = item(ReasoningAnchor::default(), "responses");
        other_format.format = ReasoningFormat::OpenAiResponses;
        let m = message("x", &[], vec![foreign, other_format]);
        assert_eq!(layout(&m), ["\"x\""]);
    }

    #[test]
    fn several_text_parts_and_images_keep_their_order() {
        let mut m = message("", &[], vec![item(ReasoningAnchor::Text { text: 2 }, "s")]);
        m.content = vec![
            ContentPart::text("ab"),
            ContentPart::image_url("https://x/y.png"),
            ContentPart::text("cd"),
        ];
        assert_eq!(layout(&m), ["\"ab\"", "img,\"cd\"+s"]);
    }
}
