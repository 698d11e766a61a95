//! What LLM calls cost: a price catalog, the exact cost of a [`Usage`], and a
//! ledger.
//!
//! # Getting started
//!
//! ```
//! use llmvcr_core::Usage;
//! use llmvcr_cost::Catalog;
//!
//! let catalog = Catalog::embedded()?;
//! let usage = Usage { input_tokens: 1_000, output_tokens: 200, ..Usage::default() };
//! let cost = catalog.cost("gpt-4o-2024-08-06", &usage).expect("a known model");
//! // 1,000 x $2.50/M + 200 x $10/M
//! assert_eq!(cost.total().to_string(), "$0.004500");
//! # Ok::<(), llmvcr_cost::Error>(())
//! ```
//!
//! # The catalog
//!
//! `data/prices.yaml` lists, per model, the prices in USD per million tokens for
//! input, output, cache reads (`cached_input`), cache writes (`cache_write`, and
//! Anthropic's `cache_write_1h`), reasoning when it is billed apart, the context
//! window and the output limit. It states the date of its prices
//! (`prices_as_of`) and is embedded at build time: [`Catalog::embedded`].
//! Entries whose model has no published price carry `estimated: true` and a
//! note naming the sibling whose price they borrow.
//!
//! A user file in the same format overrides it, entry by entry:
//!
//! ```
//! use llmvcr_cost::Catalog;
//!
//! let mine = Catalog::from_yaml(
//!     r#"
//! prices_as_of: 2026-11-20
//! currency: USD
//! models:
//!   gpt-4o:                  # replaces the shipped entry
//!     provider: openai
//!     input: 2.00
//!     output: 8.00
//!   my-finetune:             # adds one
//!     provider: openai
//!     input: 3.00
//!     output: 12.00
//!     max_output: 4096
//! "#,
//!     "my-prices.yaml",
//! )?;
//! let catalog = Catalog::embedded()?.merged_with(&mine);
//! assert_eq!(catalog.get("gpt-4o").unwrap().input.as_usd_per_mtok(), 2.0);
//! assert!(catalog.get("my-finetune").is_some());
//! assert!(catalog.get("gpt-4o-mini").is_some()); // the rest is kept
//! # Ok::<(), llmvcr_cost::Error>(())
//! ```
//!
//! [`Catalog::load`] reads such a file from disk. Errors name the file and the
//! field (`my-prices.yaml: models.gpt-4o.input: -1 is not a price ...`).
//!
//! [`Catalog::get`] resolves the names providers use: exact ids and aliases,
//! then vendor prefixes (`openai/`, `anthropic/`, `google/`, `models/`), then
//! dated snapshots (`claude-sonnet-4-5-20250929`). An unknown model is `None`,
//! never a guess.
//!
//! # How a `Usage` is priced
//!
//! The providers report tokens differently on the wire. OpenAI's `prompt_tokens`
//! already include the cached tokens; Anthropic reports `input_tokens`,
//! `cache_read_input_tokens` and `cache_creation_input_tokens` as three separate
//! counts; Gemini reports thinking tokens apart from candidate tokens. The
//! provider adapters normalise all of this into one [`Usage`]: `input_tokens` is
//! all input, `output_tokens` all output, and the cache and reasoning counts are
//! parts of them. So one formula serves every provider and bills each token once
//! (see [`ModelPrice::cost`]):
//!
//! ```text
//! uncached input  (input - cached - cache_write)  x input
//! cache reads     cached_input_tokens             x cached_input (else input)
//! cache writes    cache_write_tokens              x cache_write  (else input)
//! output          output_tokens                   x output
//!   (reasoning_tokens x reasoning instead, when the model prices it apart)
//! ```
//!
//! Amounts are [`Money`]: integer femto-dollars, so sums are exact. Floats appear
//! only for display.
//!
//! ## OpenAI, with a cache hit
//!
//! `prompt_tokens: 1000` with `cached_tokens: 600`, `completion_tokens: 200`, on
//! a model at $2.50 / $1.25 cached / $10 per million:
//!
//! ```
//! # use llmvcr_core::Usage;
//! # use llmvcr_cost::{Catalog, Money};
//! let catalog = Catalog::from_yaml(r#"
//! prices_as_of: 2026-11-15
//! currency: USD
//! models:
//!   gpt-4o: { provider: openai, input: 2.50, cached_input: 1.25, output: 10.00 }
//! "#, "example")?;
//! let usage = Usage { input_tokens: 1_000, cached_input_tokens: 600, output_tokens: 200, ..Usage::default() };
//! let cost = catalog.cost("gpt-4o", &usage).unwrap();
//! assert_eq!(cost.input(), Money::from_nano_usd(1_000_000));       // 400 x $2.50/M
//! assert_eq!(cost.cached_input(), Money::from_nano_usd(750_000));  // 600 x $1.25/M
//! assert_eq!(cost.output(), Money::from_nano_usd(2_000_000));      // 200 x $10/M
//! assert_eq!(cost.total(), Money::from_nano_usd(3_750_000));
//! # Ok::<(), llmvcr_cost::Error>(())
//! ```
//!
//! ## Anthropic, with a cache read and a cache write
//!
//! The wire says `input_tokens: 100`, `cache_read_input_tokens: 2000`,
//! `cache_creation_input_tokens: 500`, `output_tokens: 300`. The adapter's
//! `Usage` has `input_tokens: 2600` (all three), of which 2,000 cached and 500
//! written. At $3 input, $0.30 cache read, $3.75 cache write, $15 output:
//!
//! ```
//! # use llmvcr_core::Usage;
//! # use llmvcr_cost::{Catalog, Money};
//! let catalog = Catalog::from_yaml(r#"
//! prices_as_of: 2026-11-15
//! currency: USD
//! models:
//!   claude-sonnet-4-5:
//!     { provider: anthropic, input: 3, cached_input: 0.30, cache_write: 3.75, output: 15 }
//! "#, "example")?;
//! let usage = Usage {
//!     input_tokens: 2_600,
//!     cached_input_tokens: 2_000,
//!     cache_write_tokens: 500,
//!     output_tokens: 300,
//!     reasoning_tokens: 0,
//! };
//! let cost = catalog.cost("claude-sonnet-4-5-20250929", &usage).unwrap();
//! assert_eq!(cost.input(), Money::from_nano_usd(300_000));         // 100 x $3/M
//! assert_eq!(cost.cached_input(), Money::from_nano_usd(600_000));  // 2,000 x $0.30/M
//! assert_eq!(cost.cache_write(), Money::from_nano_usd(1_875_000)); // 500 x $3.75/M
//! assert_eq!(cost.output(), Money::from_nano_usd(4_500_000));      // 300 x $15/M
//! assert_eq!(cost.total(), Money::from_nano_usd(7_275_000));
//! # Ok::<(), llmvcr_cost::Error>(())
//! ```
//!
//! # Budgets
//!
//! [`Catalog::worst_case`] bounds a call before it is made, from an input
//! estimate and the request's output limit (or the model's), for a router's
//! budget guard.
//!
//! # The ledger
//!
//! [`Ledger`] keeps every priced call and totals them by target, model and
//! scenario. It is a plain struct; wrap it in `Arc<Mutex<_>>` to record from
//! async code.
//!
//! A call that failed is billed too when the provider reported usage for it: an
//! Anthropic stream that broke after `message_start` processed its input, and
//! OpenRouter sends `usage` with a mid-stream error. Such an error carries the
//! report ([`llmvcr_core::Error::usage`]), and a router pricing usage with the
//! catalog (`llmvcr_router::Router::with_usage_cost`) calls its closure, and so
//! records a ledger entry, for every attempt that reported usage, failed or not.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod catalog;
mod cost;
mod error;
mod ledger;
mod money;

pub use catalog::{Catalog, EMBEDDED_YAML, Source};
pub use cost::{CacheTtl, Cost, ModelPrice};
pub use error::{Error, Result};
pub use ledger::{Entry, Ledger};
pub use llmvcr_core::Usage;
pub use money::{Money, Price};
