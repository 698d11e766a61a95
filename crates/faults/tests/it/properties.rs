//! Properties: a run is determined by its seed and plan, and what a fault leaves
//! alone is byte-identical.

use llmvcr_faults::{
    Fault, FaultContext, FaultMiddleware, FaultPlan, FaultRule, FiredFault, MalformedTarget,
    Selector,
};
use proptest::prelude::*;

use super::support::{Canned, URL, chunks, client, joined};

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        (400u16..600).prop_map(|s| Fault::status(s, vec![], "{}")),
        (0u64..5_000).prop_map(|ms| Fault::Latency {
            before_first_byte_ms: ms
        }),
        (0u32..6, 0u64..5_000).prop_map(|(after_frames, stall_ms)| Fault::Stall {
            after_frames,
            stall_ms
        }),
        (0u32..6).prop_map(|after_frames| Fault::Cut { after_frames }),
        (0u32..6).prop_map(|after_frames| Fault::ErrorEvent {
            after_frames,
            frame: "event: error\ndata: {}\n\n".into()
        }),
        (1u32..6).prop_map(|n| Fault::Malformed {
            target: MalformedTarget::Frame(n)
        }),
        Just(Fault::Malformed {
            target: MalformedTarget::Body
        }),
        Just(Fault::Reset),
    ]
}

fn selector() -> impl Strategy<Value = Selector> {
    (
        proptest::option::of(prop_oneof![Just("a"), Just("b")]),
        proptest::option::of(1u32..4),
        proptest::option::of(1u64..10),
        proptest::option::of(0.0f64..=1.0),
    )
        .prop_map(|(target, attempt, request, probability)| Selector {
            target: target.map(str::to_owned),
            attempt,
            request,
            probability,
        })
}

fn plan() -> impl Strategy<Value = FaultPlan> {
    (
        any::<u64>(),
        proptest::collection::vec((selector(), fault(), proptest::option::of(0u32..3)), 0..4),
    )
        .prop_map(|(seed, rules)| FaultPlan {
            seed,
            rules: rules
                .into_iter()
                .map(|(when, fault, times)| FaultRule { when, fault, times })
                .collect(),
        })
}

/// What one request produced: the status and body bytes, or an error marker.
#[derive(Debug, PartialEq)]
enum Outcome {
    Response(u16, Vec<u8>, bool),
    Failed,
}

/// Runs `contexts` through a fresh middleware for `plan` with the clock paused.
fn run(plan: &FaultPlan, contexts: &[(String, u32)]) -> (Vec<FiredFault>, Vec<Outcome>, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let canned = Canned::sse();
        let f = FaultMiddleware::new(plan.clone()).unwrap();
        let client = client(&f, &canned);
        let mut outcomes = Vec::new();
        for (target, attempt) in contexts {
            let sent = client
                .get(URL)
                .with_extension(FaultContext::new(target.clone(), *attempt))
                .send()
                .await;
            outcomes.push(match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let (chunks, err) = chunks(response).await;
                    Outcome::Response(status, joined(&chunks), err.is_some())
                }
                Err(_) => Outcome::Failed,
            });
        }
        (f.log(), outcomes, canned.body().to_vec())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn runs_are_deterministic_and_unfaulted_requests_are_untouched(
        plan in plan(),
        contexts in proptest::collection::vec(
            (prop_oneof![Just("a".to_owned()), Just("b".to_owned())], 1u32..4),
            1..8,
        ),
    ) {
        let (log_a, outcomes_a, original) = run(&plan, &contexts);
        let (log_b, outcomes_b, _) = run(&plan, &contexts);
        prop_assert_eq!(&log_a, &log_b);
        prop_assert_eq!(&outcomes_a, &outcomes_b);
        for (i, outcome) in outcomes_a.iter().enumerate() {
            let request = i as u64 + 1;
            let fired = log_a.iter().find(|l| l.request == request);
            let untouched = match fired {
                None => true,
                Some(l) => matches!(
                    plan.rules[l.rule].fault,
                    Fault::Latency { .. } | Fault::Stall { .. }
                ),
            };
            if untouched {
                prop_assert_eq!(outcome, &Outcome::Response(200, original.clone(), false));
            }
        }
    }
}
