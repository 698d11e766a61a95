//! The ledger bills every attempt that reported usage, failed ones included, when a
//! router prices usage with the catalog (as the scenario runner does).

use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, FutureExt};
use llmvcr_core::{ChatRequest, Error, ErrorKind, StreamEvent};
use llmvcr_cost::{Catalog, Entry, Ledger, Money, Usage};
use llmvcr_router::{BudgetPolicy, EventStream, Router, RouterPolicy, Target};

/// `claude` reports its input tokens (Anthropic's `message_start`), then fails with
/// `overloaded_error` before any text; `openai` answers.
fn transport(
    target: &Target,
    _attempt: u32,
    _request: &ChatRequest,
) -> BoxFuture<'static, llmvcr_core::Result<EventStream>> {
    let claude = target.name == "claude";
    async move {
        let events = if claude {
            vec![
                Ok(StreamEvent::Usage(Usage {
                    input_tokens: 2_000,
                    output_tokens: 1,
                    ..Usage::default()
                })),
                Err(Error::new(ErrorKind::Overloaded, "Overloaded")),
            ]
        } else {
            vec![
                Ok(StreamEvent::TextDelta("Mexico City".into())),
                Ok(StreamEvent::Usage(Usage {
                    input_tokens: 1_000,
                    output_tokens: 100,
                    ..Usage::default()
                })),
            ]
        };
        Ok(Box::pin(futures::stream::iter(events)) as EventStream)
    }
    .boxed()
}

fn micro_usd(money: Money) -> u64 {
    u64::try_from(money.femto_usd().div_ceil(1_000_000_000)).unwrap()
}

/// A router over `claude` then `openai` whose usage-cost closure prices with the
/// embedded catalog and records into the returned ledger.
fn priced_router(policy: RouterPolicy) -> (Router, Arc<Mutex<Ledger>>) {
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let ledger = Arc::new(Mutex::new(Ledger::new()));
    let sink = Arc::clone(&ledger);
    let router = Router::new(
        transport,
        vec![
            Target::new("claude", "anthropic", "claude-haiku-4-5"),
            Target::new("openai", "openai", "gpt-4o-mini"),
        ],
        policy,
    )
    .unwrap()
    .with_usage_cost(move |target: &Target, usage: &Usage| {
        let cost = catalog.cost(&target.model, usage)?;
        sink.lock().unwrap().record(Entry {
            scenario: Some("overloaded after message_start".into()),
            target: target.name.clone(),
            model: target.model.clone(),
            usage: *usage,
            cost,
        });
        Some(micro_usd(cost.total()))
    });
    (router, ledger)
}

#[tokio::test]
async fn a_failed_attempt_with_usage_is_a_ledger_entry() {
    let (router, ledger) = priced_router(RouterPolicy::default());
    let outcome = router.chat(&ChatRequest::new("any").user("hi")).await;
    assert_eq!(outcome.served_by.as_deref(), Some("openai"));

    let ledger = ledger.lock().unwrap().clone();
    assert_eq!(ledger.len(), 2);
    let failed = &ledger.entries()[0];
    assert_eq!(failed.target, "claude");
    assert_eq!(failed.usage.input_tokens, 2_000);
    // 2,000 x $1/M + 1 x $5/M on claude-haiku-4-5.
    assert_eq!(failed.cost.total(), Money::from_nano_usd(2_005_000));
    // 1,000 x $0.15/M + 100 x $0.60/M on gpt-4o-mini.
    assert_eq!(
        ledger.by_target()["openai"].total(),
        Money::from_nano_usd(210_000)
    );
    assert_eq!(ledger.total().total(), Money::from_nano_usd(2_215_000));
    // The router's budget accounting and its attempt log agree with the ledger.
    assert_eq!(router.spent_micro_usd(), 2_005 + 210);
    assert_eq!(outcome.cost_micro_usd(), 2_005 + 210);
    assert_eq!(outcome.log[0].cost_micro_usd, Some(2_005));
}

#[tokio::test]
async fn the_budget_stops_a_fallback_after_a_costly_failure() {
    // $0.002 of budget, a worst case of $0.0005 per attempt: the failed attempt's
    // $0.002005 leaves nothing for the fallback.
    let policy = RouterPolicy {
        budget: Some(BudgetPolicy { max_usd: 0.002 }),
        ..RouterPolicy::default()
    };
    let (router, ledger) = priced_router(policy);
    let router = router.with_worst_case_cost(|_, _| Some(500));
    let outcome = router.chat(&ChatRequest::new("any").user("hi")).await;
    assert_eq!(outcome.result.unwrap_err().kind(), ErrorKind::Budget);
    let ledger = ledger.lock().unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger.entries()[0].target, "claude");
    assert_eq!(router.remaining_budget_micro_usd(), Some(0));
}
