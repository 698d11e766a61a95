//! Streamed responses: [`StreamEvent`], what an adapter decodes from each frame,
//! and [`StreamAccumulator`], which folds the events into the [`ChatResponse`] a
//! non-streaming call would have returned, or, when the stream fails, into an
//! [`Error`] that keeps the usage and the partial output seen so far.

use crate::response::parse_arguments;
use crate::{ChatResponse, Error, FinishReason, ReasoningItem, ToolCall, Usage};

/// One decoded event of a streamed response.
///
/// Adapters turn provider frames into these; [`StreamAccumulator`] folds them into the
/// same [`ChatResponse`] that the non-streaming call returns.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Response metadata. May arrive more than once; later values win.
    Start {
        /// The provider's response id.
        id: Option<String>,
        /// The model that answers.
        model: Option<String>,
    },
    /// A piece of visible text.
    TextDelta(String),
    /// A piece of reasoning text.
    ReasoningDelta(String),
    /// A tool call begins. `index` identifies it for later deltas.
    ToolCallStart {
        /// Stream-local index of the call.
        index: usize,
        /// The provider's call id.
        id: Option<String>,
        /// The function name.
        name: String,
    },
    /// A fragment of a tool call's JSON arguments.
    ToolCallDelta {
        /// The index given by the matching `ToolCallStart`.
        index: usize,
        /// The fragment, appended as-is.
        arguments: String,
    },
    /// The usage so far. Each event replaces the previous one: adapters merge the
    /// provider's partial reports before emitting.
    Usage(Usage),
    /// Why the model stopped. Later values replace earlier ones.
    Finish(FinishReason),
    /// A complete piece of opaque reasoning state (see [`ReasoningItem`]), appended to
    /// [`ChatResponse::reasoning_items`]. Adapters send it once it is whole (an
    /// Anthropic thinking block at its end, signature included), with its anchor
    /// already counted in the answer's final text and tool-call positions, so
    /// the folded stream holds the same items as the non-streamed body.
    ReasoningItem(ReasoningItem),
}

impl StreamEvent {
    /// Whether this event carries answer content: text, reasoning (text or state), or
    /// a tool call.
    pub fn is_content(&self) -> bool {
        match self {
            StreamEvent::TextDelta(t) | StreamEvent::ReasoningDelta(t) => !t.is_empty(),
            StreamEvent::ToolCallStart { .. }
            | StreamEvent::ToolCallDelta { .. }
            | StreamEvent::ReasoningItem(_) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
struct PendingCall {
    index: usize,
    id: Option<String>,
    name: String,
    raw: String,
}

/// Folds [`StreamEvent`]s into a [`ChatResponse`].
///
/// ```
/// use llmvcr_core::{StreamAccumulator, StreamEvent};
///
/// let mut acc = StreamAccumulator::new();
/// acc.push(&StreamEvent::TextDelta("Hel".into()));
/// acc.push(&StreamEvent::TextDelta("lo".into()));
/// assert_eq!(acc.finish().text, "Hello");
/// ```
#[derive(Debug, Clone, Default)]
pub struct StreamAccumulator {
    response: ChatResponse,
    calls: Vec<PendingCall>,
    saw_content: bool,
}

impl StreamAccumulator {
    /// An empty accumulator.
    pub fn new() -> StreamAccumulator {
        StreamAccumulator::default()
    }

    /// Folds one event in.
    pub fn push(&mut self, event: &StreamEvent) {
        self.saw_content |= event.is_content();
        match event {
            StreamEvent::Start { id, model } => {
                if id.is_some() {
                    self.response.id.clone_from(id);
                }
                if model.is_some() {
                    self.response.model.clone_from(model);
                }
            }
            StreamEvent::TextDelta(t) => self.response.text.push_str(t),
            StreamEvent::ReasoningDelta(t) => self.response.reasoning.push_str(t),
            StreamEvent::ToolCallStart { index, id, name } => {
                match self.calls.iter_mut().find(|c| c.index == *index) {
                    Some(call) => {
                        if id.is_some() {
                            call.id.clone_from(id);
                        }
                        if !name.is_empty() {
                            call.name.clone_from(name);
                        }
                    }
                    None => self.calls.push(PendingCall {
                        index: *index,
                        id: id.clone(),
                        name: name.clone(),
                        raw: String::new(),
                    }),
                }
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                match self.calls.iter_mut().find(|c| c.index == *index) {
                    Some(call) => call.raw.push_str(arguments),
                    None => self.calls.push(PendingCall {
                        index: *index,
                        id: None,
                        name: String::new(),
                        raw: arguments.clone(),
                    }),
                }
            }
            StreamEvent::Usage(u) => self.response.usage = Some(*u),
            StreamEvent::Finish(f) => self.response.finish_reason = Some(f.clone()),
            StreamEvent::ReasoningItem(item) => self.response.reasoning_items.push(item.clone()),
        }
    }

    /// Whether any content (text, reasoning or a tool call) has arrived.
    pub fn has_content(&self) -> bool {
        self.saw_content
    }

    /// The response so far, without consuming the accumulator. Used to report the
    /// partial output of a stream that failed midway.
    pub fn snapshot(&self) -> ChatResponse {
        self.clone().finish()
    }

    /// The usage reported so far, if any.
    pub fn usage(&self) -> Option<Usage> {
        self.response.usage
    }

    /// `error`, which ended the stream, with what the stream had produced: the usage
    /// reported so far (unless the error carries a later report, which wins) and,
    /// when content had arrived, the partial response.
    ///
    /// ```
    /// use llmvcr_core::{Error, ErrorKind, StreamAccumulator, StreamEvent, Usage};
    ///
    /// let mut acc = StreamAccumulator::new();
    /// let usage = Usage { input_tokens: 25, output_tokens: 1, ..Usage::default() };
    /// acc.push(&StreamEvent::Usage(usage));
    /// acc.push(&StreamEvent::TextDelta("Hel".into()));
    /// let e = acc.fail(Error::new(ErrorKind::Overloaded, "Overloaded"));
    /// assert_eq!(e.usage(), Some(usage));
    /// assert_eq!(e.partial().unwrap().text, "Hel");
    /// ```
    pub fn fail(&self, error: Error) -> Error {
        let error = match error.usage() {
            Some(_) => error,
            None => error.with_usage(self.response.usage),
        };
        if self.saw_content && error.partial().is_none() {
            error.with_partial(self.snapshot())
        } else {
            error
        }
    }

    /// The aggregated response.
    pub fn finish(self) -> ChatResponse {
        let mut response = self.response;
        response.tool_calls = self
            .calls
            .into_iter()
            .map(|c| ToolCall {
                id: c.id,
                name: c.name,
                arguments: parse_arguments(&c.raw),
            })
            .collect();
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FinishKind;
    use serde_json::json;

    #[test]
    fn tool_call_fragments_join_by_index() {
        let mut acc = StreamAccumulator::new();
        for ev in [
            StreamEvent::ToolCallStart {
                index: 0,
                id: Some("a".into()),
                name: "f".into(),
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: Some("b".into()),
                name: "g".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{\"x\":".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 1,
                arguments: "{}".into(),
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "1}".into(),
            },
            StreamEvent::Finish(FinishReason::new(FinishKind::ToolCalls, "tool_calls")),
        ] {
            acc.push(&ev);
        }
        assert!(acc.has_content());
        let r = acc.finish();
        assert_eq!(r.tool_calls.len(), 2);
        assert_eq!(r.tool_calls[0].arguments, json!({"x": 1}));
        assert_eq!(r.tool_calls[1].name, "g");
        assert_eq!(r.finish_reason.unwrap().raw, "tool_calls");
    }

    #[test]
    fn reasoning_items_are_content_and_kept_in_order() {
        use crate::{Provider, ReasoningAnchor, ReasoningFormat};
        let item = |n: usize| {
            ReasoningItem::new(
                Provider::Anthropic,
                ReasoningFormat::AnthropicMessages,
                ReasoningAnchor::Standalone {
                    text: n,
                    tool_calls: 0,
                },
                json!({"type": "redacted_thinking", "data": n}),
            )
        };
        let mut acc = StreamAccumulator::new();
        acc.push(&StreamEvent::ReasoningItem(item(0)));
        assert!(acc.has_content());
        acc.push(&StreamEvent::TextDelta("ab".into()));
        acc.push(&StreamEvent::ReasoningItem(item(2)));
        assert_eq!(acc.snapshot().reasoning_items, vec![item(0), item(2)]);
        let message = acc.finish().into_message();
        assert_eq!(message.text_content(), "ab");
        assert_eq!(message.reasoning_items, vec![item(0), item(2)]);
    }

    #[test]
    fn a_failure_keeps_usage_and_partial_output() {
        use crate::ErrorKind;
        let reported = Usage {
            input_tokens: 12,
            ..Usage::default()
        };
        let mut acc = StreamAccumulator::new();
        acc.push(&StreamEvent::Usage(reported));
        // Usage without content: kept, but there is no partial response.
        let e = acc.fail(Error::new(ErrorKind::Overloaded, "x"));
        assert_eq!(e.usage(), Some(reported));
        assert!(e.partial().is_none());
        acc.push(&StreamEvent::TextDelta("Hi".into()));
        // The error's own, later report wins over the accumulated one.
        let later = Usage {
            input_tokens: 12,
            output_tokens: 4,
            ..Usage::default()
        };
        let e = acc.fail(Error::new(ErrorKind::Server, "x").with_usage(Some(later)));
        assert_eq!(e.usage(), Some(later));
        let partial = e.partial().unwrap();
        assert_eq!(partial.text, "Hi");
        assert_eq!(partial.usage, Some(later));
        // Nothing reported: nothing invented.
        let e = StreamAccumulator::new().fail(Error::new(ErrorKind::Network, "x"));
        assert_eq!((e.usage(), e.partial()), (None, None));
    }

    #[test]
    fn metadata_alone_is_not_content() {
        let mut acc = StreamAccumulator::new();
        acc.push(&StreamEvent::Start {
            id: Some("x".into()),
            model: None,
        });
        acc.push(&StreamEvent::TextDelta(String::new()));
        assert!(!acc.has_content());
    }
}
