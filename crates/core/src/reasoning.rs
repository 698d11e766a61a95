//! Opaque reasoning state: [`ReasoningItem`], tagged with the provider and the
//! [`ReasoningFormat`] that produced it and anchored ([`ReasoningAnchor`]) where it
//! stood among the answer's text and tool calls.
//!
//! Thinking blocks, thought signatures and encrypted reasoning must be sent back
//! unchanged in a tool loop; this crate only carries them, and only the adapter of
//! the producing provider and format reads them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Provider;

/// The wire format a [`ReasoningItem`] was read from: the only format it can be sent
/// back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasoningFormat {
    /// An Anthropic Messages content block: `thinking` (text and `signature`) or
    /// `redacted_thinking` (`data`).
    AnthropicMessages,
    /// Gemini: what a part carrying a `thoughtSignature` holds besides its text or
    /// its `functionCall` (so, the signature), or a whole part the neutral answer
    /// cannot rebuild (a thought part with a signature).
    Gemini,
    /// An OpenAI Responses `reasoning` output item: `id`, `summary`, and
    /// `encrypted_content` when the request asked for it with
    /// `include: ["reasoning.encrypted_content"]`.
    OpenAiResponses,
    /// One entry of a Chat Completions message's `reasoning_details` (OpenRouter).
    OpenAiChat,
}

/// Where a [`ReasoningItem`] sits in an answer, counted in the answer's visible text
/// (bytes of [`ChatResponse::text`](crate::ChatResponse::text), or of
/// [`Message::text_content`](crate::Message::text_content)) and its tool calls.
///
/// Adapters rebuild the provider's order from it: text is cut where items stand, and
/// an item attached to a text run or a tool call goes on that part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum ReasoningAnchor {
    /// An element of its own (a block, an item, a part), after the first `text` bytes
    /// of text and the first `tool_calls` tool calls. Text always precedes tool calls
    /// when an answer is encoded, so with `tool_calls > 0` it stands before tool call
    /// `tool_calls`, after all the text.
    Standalone {
        /// Bytes of text before the item.
        text: usize,
        /// Tool calls before the item.
        tool_calls: usize,
    },
    /// Attached to the text that starts `text` bytes into the answer's text and runs
    /// to the next anchor (a Gemini signature on a text part, which may be empty).
    Text {
        /// Byte offset of the text the item belongs to.
        text: usize,
    },
    /// Attached to the tool call at `index` in the answer's tool calls (a Gemini
    /// signature on a `functionCall` part).
    ToolCall {
        /// Position of the call among the answer's tool calls.
        index: usize,
    },
}

impl Default for ReasoningAnchor {
    fn default() -> ReasoningAnchor {
        ReasoningAnchor::Standalone {
            text: 0,
            tool_calls: 0,
        }
    }
}

/// Reasoning state a provider returned with an answer and expects back, unchanged,
/// when that answer is sent again as history: without it, multi-turn tool loops with
/// reasoning models fail or lose their reasoning.
///
/// | provider | what an item holds |
/// |---|---|
/// | Anthropic | a `thinking` block (text and `signature`) or a `redacted_thinking` block (`data`) |
/// | Gemini | a part's `thoughtSignature`, attached to its text or `functionCall` part; or a whole thought part that carried one |
/// | OpenAI Responses | a `reasoning` output item (`id`, `summary`, `encrypted_content`) |
/// | OpenRouter Chat Completions | one `reasoning_details` entry |
///
/// Items are opaque: [`data`](ReasoningItem::data) is the provider's JSON as it came.
/// Each is tagged with the provider and the wire format that produced it, and an
/// adapter sends only the items of its own provider and format. **Items from any
/// other provider or format are dropped when a request is encoded**, so a
/// conversation can move to another provider: it loses the reasoning state, and
/// never sends input the provider would reject.
///
/// Decoding fills [`ChatResponse::reasoning_items`](crate::ChatResponse::reasoning_items);
/// [`ChatResponse::to_message`](crate::ChatResponse::to_message) carries them into the
/// assistant [`Message`](crate::Message) that goes back into the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningItem {
    /// The provider that produced the item.
    pub provider: Provider,
    /// The wire format it was read from.
    pub format: ReasoningFormat,
    /// Where it sits in the answer.
    #[serde(default)]
    pub anchor: ReasoningAnchor,
    /// The provider's JSON, unchanged.
    pub data: Value,
}

impl ReasoningItem {
    /// An item.
    pub fn new(
        provider: Provider,
        format: ReasoningFormat,
        anchor: ReasoningAnchor,
        data: Value,
    ) -> ReasoningItem {
        ReasoningItem {
            provider,
            format,
            anchor,
            data,
        }
    }

    /// Whether an adapter for `provider` speaking `format` may send this item back.
    pub fn is_for(&self, provider: Provider, format: ReasoningFormat) -> bool {
        self.provider == provider && self.format == format
    }
}

impl Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Provider, D::Error> {
        let name = String::deserialize(deserializer)?;
        Provider::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown provider `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_round_trip_through_json() {
        let item = ReasoningItem::new(
            Provider::Gemini,
            ReasoningFormat::Gemini,
            ReasoningAnchor::ToolCall { index: 1 },
            json!({"thoughtSignature": "c2ln"}),
        );
        let value = serde_json::to_value(&item).unwrap();
        assert_eq!(
            value,
            json!({
                "provider": "gemini",
                "format": "gemini",
                "anchor": {"at": "tool_call", "index": 1},
                "data": {"thoughtSignature": "c2ln"}
            })
        );
        let back: ReasoningItem = serde_json::from_value(value).unwrap();
        assert_eq!(back, item);
        let bad = json!({"provider": "nope", "format": "gemini", "data": null});
        assert!(serde_json::from_value::<ReasoningItem>(bad).is_err());
    }

    #[test]
    fn items_are_for_their_own_provider_and_format_only() {
        let item = ReasoningItem::new(
            Provider::Anthropic,
            ReasoningFormat::AnthropicMessages,
            ReasoningAnchor::default(),
            json!({"type": "redacted_thinking", "data": "x"}),
        );
        assert!(item.is_for(Provider::Anthropic, ReasoningFormat::AnthropicMessages));
        assert!(!item.is_for(Provider::Gemini, ReasoningFormat::AnthropicMessages));
        assert!(!item.is_for(Provider::Anthropic, ReasoningFormat::OpenAiChat));
    }
}
