//! Hand-computed costs, one per provider's accounting.

use llmvcr_cost::{CacheTtl, Catalog, Money, Usage};

use crate::catalog;

fn nano(n: u64) -> Money {
    Money::from_nano_usd(n)
}

#[test]
fn openai_cached_prompt_tokens_are_not_billed_twice() {
    // Wire: prompt_tokens 12,000 (cached_tokens 10,000), completion_tokens 500
    // (reasoning_tokens 320). gpt-5-mini: $0.25 in, $0.025 cached, $2 out.
    let c = Catalog::embedded().unwrap();
    let usage = Usage {
        input_tokens: 12_000,
        cached_input_tokens: 10_000,
        output_tokens: 500,
        reasoning_tokens: 320,
        ..Usage::default()
    };
    let cost = c.cost("gpt-5-mini-2025-08-07", &usage).unwrap();
    assert_eq!(cost.input(), nano(500_000)); // 2,000 x 0.25
    assert_eq!(cost.cached_input(), nano(250_000)); // 10,000 x 0.025
    assert_eq!(cost.cache_write(), Money::ZERO);
    assert_eq!(cost.output(), nano(1_000_000)); // 500 x 2, reasoning included
    assert_eq!(cost.reasoning(), Money::ZERO);
    assert_eq!(cost.total(), nano(1_750_000));
}

#[test]
fn anthropic_cache_read_and_write_are_priced_apart() {
    // Wire: input_tokens 50, cache_read 20,000, cache_creation 4,000, output 1,000.
    // claude-opus-4-1: $15 in, $1.50 read, $18.75 write (5m), $30 write (1h), $75 out.
    let c = Catalog::embedded().unwrap();
    let usage = Usage {
        input_tokens: 24_050,
        cached_input_tokens: 20_000,
        cache_write_tokens: 4_000,
        output_tokens: 1_000,
        reasoning_tokens: 0,
    };
    let m = c.get("claude-opus-4-1-20250805").unwrap();
    let cost = m.cost(&usage);
    assert_eq!(cost.input(), nano(750_000)); // 50 x 15
    assert_eq!(cost.cached_input(), nano(30_000_000)); // 20,000 x 1.50
    assert_eq!(cost.cache_write(), nano(75_000_000)); // 4,000 x 18.75
    assert_eq!(cost.output(), nano(75_000_000)); // 1,000 x 75
    assert_eq!(cost.total(), nano(180_750_000));
    let hour = m.cost_with_cache_ttl(&usage, CacheTtl::OneHour);
    assert_eq!(hour.cache_write(), nano(120_000_000)); // 4,000 x 30
}

#[test]
fn gemini_thoughts_are_billed_as_output() {
    // Wire: promptTokenCount 40, candidatesTokenCount 60, thoughtsTokenCount 900.
    // gemini-2.5-flash: $0.30 in, $2.50 out (thinking included).
    let c = Catalog::embedded().unwrap();
    let usage = Usage {
        input_tokens: 40,
        output_tokens: 960,
        reasoning_tokens: 900,
        ..Usage::default()
    };
    let cost = c.cost("models/gemini-2.5-flash", &usage).unwrap();
    assert_eq!(cost.input(), nano(12_000)); // 40 x 0.30
    assert_eq!(cost.output(), nano(2_400_000)); // 960 x 2.50
    assert_eq!(cost.total(), nano(2_412_000));
}

#[test]
fn a_distinct_reasoning_price_applies_to_the_reasoning_part_only() {
    let c = catalog(
        "  thinker:\n    provider: test\n    input: 1\n    output: 4\n    reasoning: 2\n    max_output: 1000\n",
    );
    let usage = Usage {
        input_tokens: 1_000,
        output_tokens: 1_000,
        reasoning_tokens: 600,
        ..Usage::default()
    };
    let cost = c.cost("thinker", &usage).unwrap();
    assert_eq!(cost.input(), nano(1_000_000)); // 1,000 x 1
    assert_eq!(cost.output(), nano(1_600_000)); // 400 x 4
    assert_eq!(cost.reasoning(), nano(1_200_000)); // 600 x 2
    assert_eq!(cost.total(), nano(3_800_000));
    // More reasoning than output (a broken report) bills no more than the output.
    let odd = Usage {
        reasoning_tokens: 5_000,
        ..usage
    };
    assert_eq!(
        c.cost("thinker", &odd).unwrap().reasoning(),
        nano(2_000_000)
    );
}

#[test]
fn missing_cache_prices_fall_back_to_input() {
    let c = catalog("  plain:\n    provider: test\n    input: 2\n    output: 3\n");
    let usage = Usage {
        input_tokens: 300,
        cached_input_tokens: 100,
        cache_write_tokens: 100,
        output_tokens: 0,
        reasoning_tokens: 0,
    };
    let cost = c.cost("plain", &usage).unwrap();
    assert_eq!(cost.input(), nano(200_000)); // 100 x 2
    assert_eq!(cost.cached_input(), nano(200_000));
    assert_eq!(cost.cache_write(), nano(200_000));
    assert_eq!(cost.total(), nano(600_000));
}

#[test]
fn worst_case_uses_the_request_limit_then_the_model_limit_then_the_window() {
    let c = Catalog::embedded().unwrap();
    // gpt-4o: 1,000 in x $2.50 + 500 out x $10.
    let w = c.worst_case("gpt-4o", 1_000, Some(500)).unwrap();
    assert_eq!(w.total(), nano(7_500_000));
    // Model limit: 16,384 x $10.
    let w = c.worst_case("gpt-4o", 1_000, None).unwrap();
    assert_eq!(w.output(), nano(163_840_000));
    // Anthropic: input at the dearest write price ($6 for 1h on Sonnet 4.5).
    let w = c.worst_case("claude-sonnet-4-5", 1_000, Some(0)).unwrap();
    assert_eq!(w.input(), nano(6_000_000));
    // Mistral publishes no output cap: the window minus the input.
    let w = c.worst_case("mistral-small-latest", 31_072, None).unwrap();
    assert_eq!(w.output(), nano(30_000_000)); // 100,000 x 0.30
    // Never less than the real cost of a call within the limits.
    let usage = Usage {
        input_tokens: 1_000,
        cached_input_tokens: 400,
        cache_write_tokens: 600,
        output_tokens: 64_000,
        reasoning_tokens: 0,
    };
    let real = c.cost("claude-sonnet-4-5", &usage).unwrap();
    assert!(
        real.total()
            <= c.worst_case("claude-sonnet-4-5", 1_000, None)
                .unwrap()
                .total()
    );
    assert!(c.worst_case("no-such-model", 1, None).is_none());
    let bare = catalog("  bare:\n    provider: test\n    input: 1\n    output: 1\n");
    assert!(bare.worst_case("bare", 1, None).is_none());
}

#[test]
fn zero_usage_costs_nothing() {
    let c = Catalog::embedded().unwrap();
    for m in c.models() {
        assert_eq!(m.cost(&Usage::default()).total(), Money::ZERO, "{}", m.id);
    }
}
