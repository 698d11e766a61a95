//! Exact, fast token counting for OpenAI's byte-pair encodings, prompt overhead of
//! whole chat requests, and calibrated estimates for Anthropic and Gemini.
//!
//! # Getting started
//!
//! ```
//! use llmvcr_core::ChatRequest;
//! use llmvcr_tokens::{CountUntil, Encoding, count_chat, encoding_for_model};
//!
//! // Plain text, in the encoding of a model.
//! let enc = encoding_for_model("gpt-4o-2024-08-06");
//! assert_eq!(enc, Encoding::O200kBase);
//! assert_eq!(enc.count("Hello, world!"), 4);
//!
//! // Stop early when all you need is "does it fit?".
//! let long = "lorem ipsum ".repeat(100_000);
//! assert!(matches!(enc.count_until(&long, 4_096), CountUntil::Exceeded { .. }));
//!
//! // A whole chat request, as the API bills it.
//! let req = ChatRequest::new("gpt-4o")
//!     .system("You are a helpful assistant.")
//!     .user("What is the capital of France?");
//! assert_eq!(count_chat(&req).tokens, 24);
//! ```
//!
//! # Exactness
//!
//! [`Encoding::count`] and [`Encoding::encode`] give what tiktoken's
//! `encode_ordinary` gives, for `o200k_base` (GPT-4o, GPT-4.1, GPT-5, the o-series)
//! and `cl100k_base` (GPT-4, GPT-3.5). Text that looks like a special token
//! (`<|endoftext|>`) is ordinary text. Input is `&str`; for bytes that may not be
//! UTF-8, [`Encoding::count_bytes`] first replaces invalid sequences by U+FFFD, which
//! is also what tiktoken's Python `encode` does with lone surrogates.
//!
//! The implementation is this crate's own:
//! - a hand-written pre-tokenizer per encoding that ends every piece exactly where
//!   tiktoken's pattern (run by `fancy-regex`, with backtracking, possessive
//!   quantifiers and the `\s+(?!\S)` look-ahead) ends its match, with Unicode class
//!   tables generated from `regex-syntax`, the engine's own tables;
//! - byte-pair merging that starts from bytes and joins the lowest-ranked adjacent
//!   pair, leftmost first, as tiktoken does, on the stack for short pieces and with a
//!   linked list of parts and a queue of per-rank buckets for long ones.
//!
//! The tests compare token ranks and pre-tokenizer pieces with tiktoken-rs on a
//! corpus of tricky cases (scripts, marks, emoji, contractions in every case, the
//! long `s` that `(?i)` folds to `s`, digit runs, CRLF and whitespace runs, code,
//! JSON, special-token look-alikes) and on random strings biased toward the
//! patterns' edges, for both encodings.
//!
//! # Speed
//!
//! Splitting is linear in the input, and merging a piece of n bytes costs O(n log n)
//! whatever it holds (the log comes from ordering ranks), so inputs with no split
//! point do not go quadratic: a megabyte of one letter, of spaces, of punctuation or
//! of random letters counts in well under a second (see `worst_case/` in
//! `benches/REPORT.md`).
//! [`Encoding::count_until`] reads only as much of the text as the limit needs, and
//! rejects a piece too long to fit (no token exceeds 128 bytes) without merging it.
//! `benches/REPORT.md` has throughput against bpe-openai and tiktoken-rs measured in
//! one run.
//!
//! # Data and load time
//!
//! The rank tables ship inside the crate (`data/*.bin`, converted from tiktoken-rs's
//! MIT-licensed copies of OpenAI's published vocabularies; see `data/NOTICE`).
//! Nothing is downloaded. Each encoding loads on first use, once per process: it
//! builds a hash table over the embedded bytes without copying them, which takes
//! about 10 ms for `o200k_base` (3.1 MB of heap) and 5 ms for `cl100k_base`
//! (1.7 MB) on the bench machine (see `load/` in `benches/REPORT.md`).
//! [`Encoding::verify`] loads it ahead of time.
//!
//! # Models
//!
//! [`encoding_for_model`] understands provider prefixes (`openai/gpt-4o`), dated
//! snapshots (`gpt-4o-2024-08-06`), Azure names (`gpt-35-turbo`) and fine-tunes
//! (`ft:gpt-4o-mini:...`). Unknown models fall back to `o200k_base`;
//! [`known_encoding_for_model`] tells them apart.
//!
//! # Chat requests (OpenAI)
//!
//! [`count_chat`] (neutral [`llmvcr_core::ChatRequest`]) and
//! [`count_openai_request`] (Chat Completions or Responses JSON) apply the
//! per-message rule: 3 tokens per message plus its role and text, 1 more for a
//! `name`, 3 to prime the reply. Text parts of multi-part content are counted;
//! images, audio and files are not (their cost depends on data the request does not
//! carry, such as pixel size) and are reported in [`PromptCount::uncounted_parts`].
//!
//! Measured against the `prompt_tokens` / `input_tokens` reported in the real
//! cassettes, for every recorded OpenAI call without tools, media or output schema:
//! - gpt-4o and gpt-4.1 (Chat Completions and Responses): exact, 8 of 8 calls;
//! - reasoning models (o3-mini, gpt-5, gpt-5.4, gpt-5.5, gpt-5.6): the API reports
//!   exactly **one token fewer** than the rule on all 6 calls, so
//!   [`ModelFamily::prompt_adjustment`] subtracts one;
//! - gpt-oss (through Groq and OpenRouter) adds a hidden harmony preamble of 64
//!   tokens on all 3 calls, and search models add hidden search instructions; both
//!   are marked by [`ModelFamily::has_hidden_prompt`] and never counted as exact.
//!
//! `llmvcr tokens check-usage CASSETTE...` runs the same comparison on any cassettes.
//!
//! **Tools** follow the empirical rule of OpenAI's cookbook (see [`count_chat`]'s
//! source, `tools_tokens`). On the 8 recorded first-turn calls with tools to gpt-4o,
//! gpt-4o-mini and gpt-4.1-mini it is off by -2 to +5 tokens for the gpt-4o family
//! and under by 11 to 12 for gpt-4.1-mini; for reasoning models with tools, and for
//! conversations that carry tool calls and results, the error grows to tens of
//! tokens, so such counts are estimates ([`PromptCount::exact`] is false).
//!
//! # Anthropic and Gemini
//!
//! Neither publishes an offline tokenizer. [`estimate_chat`] and
//! [`estimate_request`] scale `o200k_base` counts with a [`Calibration`] fitted on the
//! real cassettes' reported usage:
//!
//! | provider | prompts | median error | 80th percentile |
//! |---|---:|---:|---:|
//! | Anthropic, no tools | 28 | 15% | 59% |
//! | Anthropic, tools | 32 | 13% | 22% |
//! | Gemini, no tools | 18 | 0% | 6% |
//! | Gemini, tools | 24 | 39% | 66% |
//!
//! Hidden prompt content (extended thinking, citations, server tools such as web
//! search) makes the tail long. For exact numbers use the providers' count-tokens
//! endpoints (`/v1/messages/count_tokens`, `:countTokens`) through the adapters in
//! `llmvcr-providers`; cassettes record those calls like any other.
#![warn(missing_docs, unreachable_pub)]
mod bpe;
mod chat;
mod encoding;
mod estimate;
mod model;
mod pretok;
mod unicode;
mod unicode_table;
mod vocab;

pub use chat::{
    PromptCount, REPLY_PRIMING, RequestError, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, count_chat,
    count_openai_request,
};
pub use encoding::{CountUntil, DataError, Encoding, Pieces};
pub use estimate::{Calibration, Estimate, estimate_chat, estimate_request};
pub use model::{ModelFamily, encoding_for_model, known_encoding_for_model};

/// The `o200k_base` token count of `text`: [`Encoding::count`] with the default
/// encoding.
///
/// ```
/// assert_eq!(llmvcr_tokens::count("Hello, world!"), 4);
/// ```
pub fn count(text: &str) -> usize {
    Encoding::O200kBase.count(text)
}

/// [`Encoding::count_until`] with the default encoding, `o200k_base`.
///
/// ```
/// use llmvcr_tokens::{CountUntil, count_until};
/// assert_eq!(count_until("Hello, world!", 10), CountUntil::Within(4));
/// assert!(count_until("Hello, world!", 3).exceeded());
/// ```
pub fn count_until(text: &str, limit: usize) -> CountUntil {
    Encoding::O200kBase.count_until(text, limit)
}
