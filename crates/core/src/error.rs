//! [`Error`] and [`ErrorKind`]: the one error type of the LLM layer.
//!
//! Every adapter classifies what a provider said into an [`ErrorKind`], which is all
//! the router needs to decide between retrying, falling back and stopping. The
//! [`Error`] also keeps what the provider reported before or together with the
//! failure: the token [`Usage`] it billed, and the partial [`ChatResponse`] of a
//! stream that broke after its first content, so the cost of a failed call is not
//! lost.

use std::fmt;
use std::time::Duration;

use crate::{ChatResponse, Provider, Usage};

/// What went wrong, in terms that are the same for every provider.
///
/// The router decides what to do from the kind alone: see [`ErrorKind::retryable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Too many requests or tokens for now (HTTP 429 and friends). Retryable.
    RateLimited,
    /// The account is out of credit or quota (OpenAI `insufficient_quota`). Never retried.
    QuotaExceeded,
    /// The provider is overloaded (Anthropic 529, Gemini 503 `UNAVAILABLE`). Retryable.
    Overloaded,
    /// A 5xx from the provider. Retryable.
    Server,
    /// A connect, first-token, idle or total timeout. Retryable.
    Timeout,
    /// The connection failed or was reset. Retryable.
    Network,
    /// The credentials were missing or rejected.
    Auth,
    /// The credentials are valid but may not do this.
    Permission,
    /// Unknown model, deployment or route.
    NotFound,
    /// The request was malformed or used an unsupported option.
    BadRequest,
    /// The prompt does not fit the model's context window.
    ContextLength,
    /// The provider's safety system refused the request or the answer.
    ContentPolicy,
    /// A body or stream frame could not be decoded.
    Decode,
    /// A call was refused because it would pass the budget.
    Budget,
    /// A cassette had no recording for the request.
    NoMatch,
    /// The operation is not supported by this adapter.
    Unsupported,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether retrying the same request may succeed.
    ///
    /// `RateLimited`, `Overloaded`, `Server`, `Timeout` and `Network` are retryable.
    /// Everything else, `QuotaExceeded` included, is not.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited
                | ErrorKind::Overloaded
                | ErrorKind::Server
                | ErrorKind::Timeout
                | ErrorKind::Network
        )
    }

    /// The snake_case name, e.g. `rate_limited`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Auth => "auth",
            ErrorKind::Permission => "permission",
            ErrorKind::NotFound => "not_found",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::ContextLength => "context_length",
            ErrorKind::ContentPolicy => "content_policy",
            ErrorKind::Decode => "decode",
            ErrorKind::Budget => "budget",
            ErrorKind::NoMatch => "no_match",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Other => "other",
        }
    }

    /// Parses a snake_case name as returned by [`ErrorKind::as_str`].
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 17] = [
        ErrorKind::RateLimited,
        ErrorKind::QuotaExceeded,
        ErrorKind::Overloaded,
        ErrorKind::Server,
        ErrorKind::Timeout,
        ErrorKind::Network,
        ErrorKind::Auth,
        ErrorKind::Permission,
        ErrorKind::NotFound,
        ErrorKind::BadRequest,
        ErrorKind::ContextLength,
        ErrorKind::ContentPolicy,
        ErrorKind::Decode,
        ErrorKind::Budget,
        ErrorKind::NoMatch,
        ErrorKind::Unsupported,
        ErrorKind::Other,
    ];
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one error type of llmvcr's LLM layer.
///
/// It carries the classified [`ErrorKind`] and whatever the provider said: the HTTP
/// status, the provider's error code and message, how long it asked us to wait, and
/// the token usage it reported before or together with the error.
///
/// A failed call can still be billed: an Anthropic stream reports its input tokens
/// in `message_start` before an `overloaded_error` event, and OpenRouter sends
/// `usage` in the same chunk as a mid-stream error. Decoders keep that report
/// ([`Error::usage`]), and whoever folds the stream
/// ([`StreamAccumulator::fail`](crate::StreamAccumulator::fail)) adds the
/// [partial response](Error::partial) when content had arrived.
///
/// Constructing an error allocates only its message; the usage and the partial
/// response share one box, allocated when the provider reported either, so the
/// error stays small inside every `Result`. `Debug` shows the partial response as a
/// summary (its size, not its text), and `Display` shows neither.
#[derive(Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct Error {
    /// The classified kind.
    pub kind: ErrorKind,
    /// The provider that produced the error, if known.
    pub provider: Option<Provider>,
    /// The HTTP status, if the error came from an HTTP response.
    pub status: Option<u16>,
    /// How long the provider asked the caller to wait before retrying.
    pub retry_after: Option<Duration>,
    /// The provider's machine-readable code or type (`insufficient_quota`,
    /// `overloaded_error`, `RESOURCE_EXHAUSTED`, ...).
    pub code: Option<String>,
    /// A human-readable message. Never contains credentials.
    pub message: String,
    /// What the provider reported before or together with the error: see
    /// [`Error::usage`] and [`Error::partial`].
    reported: Option<Box<Reported>>,
}

/// The usage and the partial output of a failed call.
#[derive(Clone, Default, PartialEq)]
struct Reported {
    /// The latest usage report.
    usage: Option<Usage>,
    /// The output received before the error; its `usage` is kept equal to `usage`.
    partial: Option<ChatResponse>,
}

/// `{:?}` is for people: the message as `Display` writes it, its lines kept
/// (a test that returns `llmvcr::Result` prints a miss explanation as it
/// reads), then the usage the provider reported and the size of the partial
/// response, if any. `{:#?}` is the structure, field by field.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            f.write_str(&self.render())?;
            if let Some(usage) = self.usage() {
                write!(
                    f,
                    "\n  usage reported: {} input, {} output tokens",
                    usage.input_tokens, usage.output_tokens
                )?;
            }
            if let Some(partial) = self.partial() {
                write!(
                    f,
                    "\n  partial response: {} characters of text, {} tool calls",
                    partial.text.chars().count(),
                    partial.tool_calls.len()
                )?;
            }
            return Ok(());
        }
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("provider", &self.provider)
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("usage", &self.usage())
            .field("partial", &self.partial().map(PartialSize))
            .finish()
    }
}

/// How `Debug` shows a partial response: its size, never its content.
struct PartialSize<'a>(&'a ChatResponse);

impl fmt::Debug for PartialSize<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatResponse")
            .field("text_chars", &self.0.text.chars().count())
            .field("reasoning_chars", &self.0.reasoning.chars().count())
            .field("tool_calls", &self.0.tool_calls.len())
            .field("usage", &self.0.usage)
            .finish_non_exhaustive()
    }
}

/// `Result` with llmvcr's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            provider: None,
            status: None,
            retry_after: None,
            code: None,
            message: message.into(),
            reported: None,
        }
    }

    /// A [`ErrorKind::Decode`] error.
    pub fn decode(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Decode, message)
    }

    /// Sets the provider.
    pub fn with_provider(mut self, provider: Provider) -> Error {
        self.provider = Some(provider);
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Error {
        self.status = Some(status);
        self
    }

    /// Sets the wait the provider asked for.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Error {
        self.retry_after = retry_after;
        self
    }

    /// Sets the provider's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Error {
        self.code = Some(code.into());
        self
    }

    /// The token usage the provider reported before or together with the error (the
    /// latest report), in the neutral accounting of [`Usage`]. `None` when it
    /// reported none. A call that failed with usage is billed for it.
    pub fn usage(&self) -> Option<Usage> {
        self.reported.as_ref().and_then(|r| r.usage)
    }

    /// The output of a stream that failed after its first content event (text,
    /// reasoning or a tool call), as far as it got. Its `usage` equals
    /// [`Error::usage`]. `None` when no content had arrived.
    pub fn partial(&self) -> Option<&ChatResponse> {
        self.reported.as_ref().and_then(|r| r.partial.as_ref())
    }

    /// Takes the partial response out of the error, leaving the usage.
    pub fn take_partial(&mut self) -> Option<ChatResponse> {
        self.reported.as_mut().and_then(|r| r.partial.take())
    }

    /// Sets the usage reported before or with the error. `None` leaves the current
    /// value, so a decoder can pass whatever the failing frame carried. A partial
    /// response already attached gets the same usage.
    pub fn with_usage(mut self, usage: Option<Usage>) -> Error {
        if let Some(usage) = usage {
            let reported = self.reported.get_or_insert_default();
            reported.usage = Some(usage);
            if let Some(partial) = &mut reported.partial {
                partial.usage = Some(usage);
            }
        }
        self
    }

    /// Attaches the output received before the error. The error's usage, when it
    /// has one, is the later report and replaces the partial's; otherwise the
    /// partial's usage becomes the error's.
    pub fn with_partial(mut self, mut partial: ChatResponse) -> Error {
        let reported = self.reported.get_or_insert_default();
        match reported.usage {
            Some(usage) => partial.usage = Some(usage),
            None => reported.usage = partial.usage,
        }
        reported.partial = Some(partial);
        self
    }

    /// Whether retrying may succeed; see [`ErrorKind::retryable`].
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }

    fn render(&self) -> String {
        let mut out = String::from(self.kind.as_str());
        if let Some(p) = self.provider {
            out.push_str(" from ");
            out.push_str(p.as_str());
        }
        if let Some(s) = self.status {
            out.push_str(&format!(" (HTTP {s})"));
        }
        if let Some(code) = &self.code {
            out.push_str(&format!(" [{code}]"));
        }
        if !self.message.is_empty() {
            out.push_str(": ");
            out.push_str(&self.message);
        }
        if let Some(d) = self.retry_after {
            out.push_str(&format!("; retry after {:.3}s", d.as_secs_f64()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(k.as_str()), Some(k));
        }
    }

    #[test]
    fn quota_is_never_retryable() {
        assert!(!ErrorKind::QuotaExceeded.retryable());
        assert!(ErrorKind::RateLimited.retryable());
        assert!(ErrorKind::Overloaded.retryable());
    }

    #[test]
    fn display_is_informative() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_provider(Provider::OpenAi)
            .with_status(429)
            .with_code("rate_limit_exceeded")
            .with_retry_after(Some(Duration::from_millis(1500)));
        assert_eq!(
            e.to_string(),
            "rate_limited from openai (HTTP 429) [rate_limit_exceeded]: slow down; retry after 1.500s"
        );
    }

    fn usage(input_tokens: u64, output_tokens: u64) -> Usage {
        Usage {
            input_tokens,
            output_tokens,
            ..Usage::default()
        }
    }

    #[test]
    fn usage_and_partial_agree() {
        let partial = ChatResponse {
            text: "Hel".into(),
            usage: Some(usage(10, 1)),
            ..ChatResponse::default()
        };
        // The error's own report is the later one.
        let e = Error::new(ErrorKind::Overloaded, "x")
            .with_usage(Some(usage(10, 2)))
            .with_partial(partial.clone());
        assert_eq!(e.usage(), Some(usage(10, 2)));
        assert_eq!(e.partial().and_then(|p| p.usage), Some(usage(10, 2)));
        // Without one, the partial's usage is the error's.
        let e = Error::new(ErrorKind::Overloaded, "x").with_partial(partial);
        assert_eq!(e.usage(), Some(usage(10, 1)));
        // A later report updates both; `None` keeps what is there.
        let mut e = e.with_usage(Some(usage(10, 5))).with_usage(None);
        assert_eq!(e.usage(), Some(usage(10, 5)));
        assert_eq!(e.partial().and_then(|p| p.usage), Some(usage(10, 5)));
        // Taking the partial out leaves the usage.
        assert_eq!(e.take_partial().map(|p| p.text), Some("Hel".into()));
        assert_eq!((e.usage(), e.partial()), (Some(usage(10, 5)), None));
        // Nothing reported: nothing allocated, nothing shown.
        let e = Error::new(ErrorKind::Network, "x").with_usage(None);
        assert_eq!((e.usage(), e.partial()), (None, None));
    }

    #[test]
    fn debug_and_display_show_no_partial_text() {
        let e = Error::new(ErrorKind::Server, "boom")
            .with_usage(Some(usage(7, 3)))
            .with_partial(ChatResponse {
                text: "private answer".into(),
                ..ChatResponse::default()
            });
        let debug = format!("{e:#?}");
        assert!(!debug.contains("private answer"), "{debug}");
        assert!(debug.contains("text_chars: 14"), "{debug}");
        assert!(debug.contains("input_tokens: 7"), "{debug}");
        let plain = format!("{e:?}");
        assert!(!plain.contains("private answer"), "{plain}");
        assert_eq!(
            plain,
            "server: boom\n  usage reported: 7 input, 3 output tokens\n  \
             partial response: 14 characters of text, 0 tool calls"
        );
        assert_eq!(e.to_string(), "server: boom");
    }

    #[test]
    fn debug_keeps_the_lines_of_a_message() {
        let e = Error::new(
            ErrorKind::NoMatch,
            "no recorded interaction matches GET /x\n  cassette: c.yaml",
        );
        // As a test returning `Result` prints it: real line breaks, not `\n`.
        assert_eq!(
            format!("{e:?}"),
            "no_match: no recorded interaction matches GET /x\n  cassette: c.yaml"
        );
        assert!(format!("{e:#?}").contains("kind: NoMatch"));
    }

    #[test]
    fn error_stays_small() {
        // `Result<T, Error>` is everywhere (clippy's `result_large_err` starts at 128
        // bytes); the usage and the partial response live on the heap.
        assert!(std::mem::size_of::<Error>() <= 96);
    }
}
