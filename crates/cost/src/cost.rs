//! The priced breakdown of one call, and the pricing rules of one model.

use std::iter::Sum;
use std::ops::{Add, AddAssign};

use llmvcr_core::Usage;
use serde::Serialize;

use crate::money::{Money, Price};

/// What one call cost, split by kind of token. The total is always the exact sum
/// of the parts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Cost {
    input: Money,
    cached_input: Money,
    cache_write: Money,
    output: Money,
    reasoning: Money,
    total: Money,
}

impl Cost {
    /// Nothing.
    pub const ZERO: Cost = Cost {
        input: Money::ZERO,
        cached_input: Money::ZERO,
        cache_write: Money::ZERO,
        output: Money::ZERO,
        reasoning: Money::ZERO,
        total: Money::ZERO,
    };

    /// A cost from its parts; the total is their sum.
    pub fn from_parts(
        input: Money,
        cached_input: Money,
        cache_write: Money,
        output: Money,
        reasoning: Money,
    ) -> Cost {
        Cost {
            input,
            cached_input,
            cache_write,
            output,
            reasoning,
            total: input + cached_input + cache_write + output + reasoning,
        }
    }

    /// Uncached input tokens.
    pub fn input(&self) -> Money {
        self.input
    }

    /// Input tokens read from a prompt cache.
    pub fn cached_input(&self) -> Money {
        self.cached_input
    }

    /// Input tokens written to a prompt cache.
    pub fn cache_write(&self) -> Money {
        self.cache_write
    }

    /// Output tokens, less any reasoning tokens billed under [`Cost::reasoning`].
    pub fn output(&self) -> Money {
        self.output
    }

    /// Reasoning tokens, when the model prices them apart from output; zero
    /// otherwise (they are then part of [`Cost::output`]).
    pub fn reasoning(&self) -> Money {
        self.reasoning
    }

    /// The sum of the parts.
    pub fn total(&self) -> Money {
        self.total
    }
}

impl Add for Cost {
    type Output = Cost;
    /// Part by part.
    fn add(self, o: Cost) -> Cost {
        Cost::from_parts(
            self.input + o.input,
            self.cached_input + o.cached_input,
            self.cache_write + o.cache_write,
            self.output + o.output,
            self.reasoning + o.reasoning,
        )
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        *self = *self + o;
    }
}

impl Sum for Cost {
    fn sum<I: Iterator<Item = Cost>>(iter: I) -> Cost {
        iter.fold(Cost::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Cost> for Cost {
    fn sum<I: Iterator<Item = &'a Cost>>(iter: I) -> Cost {
        iter.copied().sum()
    }
}

/// How long an Anthropic cache write lives; the two are priced differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CacheTtl {
    /// The default five-minute cache (`cache_write`).
    #[default]
    FiveMinutes,
    /// The one-hour cache (`cache_write_1h`, or `cache_write` when absent).
    OneHour,
}

/// One model's prices and limits, as the catalog holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelPrice {
    /// The catalog id.
    pub id: String,
    /// Who bills the call (`openai`, `anthropic`, `google`, ...).
    pub provider: String,
    /// Uncached input.
    pub input: Price,
    /// Output, reasoning included unless [`ModelPrice::reasoning`] is set.
    pub output: Price,
    /// Input read from a prompt cache; `None` bills it as input.
    pub cached_input: Option<Price>,
    /// Input written to a prompt cache (Anthropic: the 5-minute write); `None`
    /// bills it as input.
    pub cache_write: Option<Price>,
    /// Anthropic's 1-hour cache write.
    pub cache_write_1h: Option<Price>,
    /// Reasoning output, when billed apart from other output.
    pub reasoning: Option<Price>,
    /// Tokens the model accepts, input and output together.
    pub context_window: Option<u64>,
    /// Most output tokens one call may produce.
    pub max_output: Option<u64>,
    /// Other names for this model; they also match dated snapshots.
    pub aliases: Vec<String>,
    /// The price is borrowed from the nearest published sibling.
    pub estimated: bool,
    /// Free text from the catalog: what is estimated, which tiers are not applied.
    pub note: Option<String>,
}

impl ModelPrice {
    /// The cost of `usage`, with cache writes at the 5-minute price.
    ///
    /// `usage` is llmvcr's normalised [`Usage`], the same for every provider:
    /// `input_tokens` counts all input, `output_tokens` all output, and the cache
    /// and reasoning counts are parts of those. So the bill is
    ///
    /// - `input_tokens - cached_input_tokens - cache_write_tokens` (saturating) at
    ///   `input`;
    /// - `cached_input_tokens` at `cached_input`, or at `input` when the model has
    ///   no cache price;
    /// - `cache_write_tokens` at `cache_write`, or at `input`;
    /// - `output_tokens` at `output`; when the model has a `reasoning` price, the
    ///   reasoning part (at most `output_tokens`) is billed at it instead.
    ///
    /// Each token is billed once. Cache counts larger than `input_tokens` are
    /// billed as reported.
    pub fn cost(&self, usage: &Usage) -> Cost {
        self.cost_with_cache_ttl(usage, CacheTtl::FiveMinutes)
    }

    /// The cost of `usage`, with cache writes at the price for `ttl`.
    pub fn cost_with_cache_ttl(&self, usage: &Usage, ttl: CacheTtl) -> Cost {
        let cached_price = self.cached_input.unwrap_or(self.input);
        let write_price = match ttl {
            CacheTtl::FiveMinutes => self.cache_write,
            CacheTtl::OneHour => self.cache_write_1h.or(self.cache_write),
        }
        .unwrap_or(self.input);
        let (output, reasoning) = match self.reasoning {
            Some(reasoning_price) => {
                let r = usage.reasoning_tokens.min(usage.output_tokens);
                (
                    self.output.cost_of(usage.output_tokens - r),
                    reasoning_price.cost_of(r),
                )
            }
            None => (self.output.cost_of(usage.output_tokens), Money::ZERO),
        };
        Cost::from_parts(
            self.input.cost_of(usage.uncached_input_tokens()),
            cached_price.cost_of(usage.cached_input_tokens),
            write_price.cost_of(usage.cache_write_tokens),
            output,
            reasoning,
        )
    }

    /// The most a call could cost, for budget guards.
    ///
    /// Every input token is priced at the highest input-side price (input, or a
    /// cache write when that is dearer) and booked under `input`. Output is
    /// `max_output_tokens`, else the model's `max_output`, else what the context
    /// window leaves after the input, priced at the higher of the output and
    /// reasoning prices. `None` when no output bound is known.
    pub fn worst_case(
        &self,
        estimated_input_tokens: u64,
        max_output_tokens: Option<u32>,
    ) -> Option<Cost> {
        let output_tokens = match max_output_tokens {
            Some(n) => u64::from(n),
            None => self.max_output.or_else(|| {
                self.context_window
                    .map(|w| w.saturating_sub(estimated_input_tokens))
            })?,
        };
        let input_price = [self.cache_write, self.cache_write_1h]
            .into_iter()
            .flatten()
            .fold(self.input, Price::max);
        let output_price = self.reasoning.map_or(self.output, |r| r.max(self.output));
        Some(Cost::from_parts(
            input_price.cost_of(estimated_input_tokens),
            Money::ZERO,
            Money::ZERO,
            output_price.cost_of(output_tokens),
            Money::ZERO,
        ))
    }
}
