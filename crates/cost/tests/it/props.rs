//! Properties: the ledger's total equals the sum of its parts; cost is exact and
//! monotonic.

use llmvcr_cost::{Catalog, Cost, Entry, Ledger, Money, Usage};
use proptest::prelude::*;
use std::sync::LazyLock;

fn usage() -> impl Strategy<Value = Usage> {
    (
        0u64..1 << 40,
        0u64..1 << 40,
        0u64..1 << 40,
        0u64..1 << 40,
        0u64..1 << 40,
    )
        .prop_map(
            |(
                input_tokens,
                output_tokens,
                cached_input_tokens,
                cache_write_tokens,
                reasoning_tokens,
            )| Usage {
                input_tokens,
                output_tokens,
                cached_input_tokens,
                cache_write_tokens,
                reasoning_tokens,
            },
        )
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(build_catalog);

fn model_names() -> Vec<String> {
    CATALOG.models().map(|m| m.id.clone()).collect()
}

fn catalog() -> &'static Catalog {
    &CATALOG
}

/// The embedded catalog plus a model with a distinct reasoning price.
fn build_catalog() -> Catalog {
    let extra = Catalog::from_yaml(
        "prices_as_of: x\ncurrency: USD\nmodels:\n  thinker: {provider: t, input: 1.5, cached_input: 0.1, cache_write: 2, output: 8, reasoning: 3}\n",
        "extra",
    )
    .unwrap();
    Catalog::embedded().unwrap().merged_with(&extra)
}

fn parts(c: &Cost) -> Money {
    c.input() + c.cached_input() + c.cache_write() + c.output() + c.reasoning()
}

fn sum<'a>(costs: impl Iterator<Item = &'a Cost>) -> Money {
    costs.map(Cost::total).sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ledger_total_equals_the_sum_of_every_breakdown(
        calls in prop::collection::vec(
            (prop::option::of(0usize..4), 0usize..3, any::<prop::sample::Index>(), usage()),
            0..40,
        )
    ) {
        let c = catalog();
        let names = model_names();
        let mut ledger = Ledger::new();
        for (scenario, target, model, usage) in calls {
            let model = model.get(&names).clone();
            let cost = c.cost(&model, &usage).unwrap();
            ledger.record(Entry {
                scenario: scenario.map(|s| format!("scenario-{s}")),
                target: format!("target-{target}"),
                model,
                usage,
                cost,
            });
        }
        let total = ledger.total();
        prop_assert_eq!(total.total(), parts(&total));
        prop_assert_eq!(total.total(), sum(ledger.entries().iter().map(|e| &e.cost)));
        prop_assert_eq!(total.total(), sum(ledger.by_target().values()));
        prop_assert_eq!(total.total(), sum(ledger.by_model().values()));
        prop_assert_eq!(total.total(), sum(ledger.by_scenario().values()));
        prop_assert_eq!(total, ledger.by_target().values().copied().sum::<Cost>());
        prop_assert_eq!(total, ledger.by_scenario().values().copied().sum::<Cost>());
    }

    #[test]
    fn cost_equals_the_sum_of_its_parts(u in usage(), model in any::<prop::sample::Index>()) {
        let c = catalog();
        let names = model_names();
        let cost = c.cost(model.get::<String>(&names), &u).unwrap();
        prop_assert_eq!(cost.total(), parts(&cost));
    }

    #[test]
    fn cost_never_falls_when_input_or_output_grows(
        u in usage(), model in any::<prop::sample::Index>(), more in 0u64..1 << 30,
    ) {
        let c = catalog();
        let names = model_names();
        let name: &String = model.get(&names);
        let base = c.cost(name, &u).unwrap().total();
        for bigger in [
            Usage { input_tokens: u.input_tokens + more, ..u },
            Usage { output_tokens: u.output_tokens + more, ..u },
            // A cache read or write arrives with its input token.
            Usage { input_tokens: u.input_tokens + more, cached_input_tokens: u.cached_input_tokens + more, ..u },
            Usage { input_tokens: u.input_tokens + more, cache_write_tokens: u.cache_write_tokens + more, ..u },
            // Reasoning arrives with its output token.
            Usage { output_tokens: u.output_tokens + more, reasoning_tokens: u.reasoning_tokens + more, ..u },
        ] {
            prop_assert!(c.cost(name, &bigger).unwrap().total() >= base, "{name}: {bigger:?}");
        }
    }

    #[test]
    fn a_cache_read_never_costs_more_than_uncached_input(
        u in usage(), model in any::<prop::sample::Index>(), more in 0u64..1 << 30,
    ) {
        let c = catalog();
        let names = model_names();
        let name: &String = model.get(&names);
        let m = c.get(name).unwrap();
        prop_assume!(m.cached_input.is_none_or(|p| p <= m.input));
        let u = Usage { input_tokens: u.input_tokens.max(u.cached_input_tokens + u.cache_write_tokens + more), ..u };
        let read = Usage { cached_input_tokens: u.cached_input_tokens + more, ..u };
        prop_assert!(c.cost(name, &read).unwrap().total() <= c.cost(name, &u).unwrap().total());
    }
}
