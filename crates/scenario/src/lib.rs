//! Scenario files: a request, a chain of targets replayed from cassettes, a router
//! policy, injected faults, and the expectations the outcome must meet, run in tokio
//! virtual time.
//!
//! ```no_run
//! use std::path::{Path, PathBuf};
//!
//! let report = llmvcr_scenario::run_file(Path::new("scenarios/openai_429_retry_after.yaml"))?;
//! assert!(report.passed, "{:?}", report.failures);
//!
//! for result in llmvcr_scenario::run_paths(&[PathBuf::from("scenarios")]) {
//!     match result {
//!         Ok(report) if report.passed => println!("PASS {}", report.name),
//!         Ok(report) => println!("FAIL {}: {}", report.name, report.failures.join("; ")),
//!         Err(error) => println!("ERROR {error}"),
//!     }
//! }
//! # Ok::<(), llmvcr_scenario::ScenarioError>(())
//! ```
//!
//! # How a scenario runs
//!
//! Every run starts a [`VirtualClock`](llmvcr_faults::VirtualClock) at the
//! scenario's `epoch`. For each target, a [`llmvcr::Client`] for the target's provider is built over
//! the HTTP stack below, and the router reaches the clients through
//! [`llmvcr::routing::ClientTransport`], which sends each attempt with the target's
//! model and a [`FaultContext`](llmvcr_faults::FaultContext) (the target's `name`
//! and the router's attempt number). The stack, outermost first:
//!
//! 1. one [`FaultMiddleware`](llmvcr_faults::FaultMiddleware) shared by every target,
//!    running the scenario's `faults` and dating every response that has no `Date`
//!    header from the virtual clock;
//! 2. the cassette middleware, in replay mode over the target's cassette, with the
//!    provider matching rules (volatile fields ignored) and repeats allowed, so a
//!    retried request is answered again by its recording. A request that matches no
//!    recording fails with `no_match`; nothing ever reaches the network.
//!
//! The request's `model` is replaced by each target's `model`, and the request is
//! always sent streaming. An [`llmvcr_router::Router`] routes it over the chain
//! with the scenario's `policy`, pricing worst cases (for the budget) and reported
//! usage from the embedded [cost catalog](llmvcr_cost::Catalog::embedded). Every
//! priced attempt is recorded in an [`llmvcr_cost::Ledger`] (target, model, usage,
//! cost, and the scenario's name), whose totals by target and by model are the
//! report's [`LedgerSummary`]; the report's `cost_usd`, which `cost_min_usd` and
//! `cost_max_usd` check, is the ledger's exact total. The call
//! runs on a current-thread tokio runtime with the clock paused: backoffs, retry
//! afters, latencies and stalls take virtual time only. Then every expectation is
//! checked, and the [`ScenarioReport`] lists each one missed, with what happened
//! instead.
//!
//! # The format
//!
//! A complete example, with every field (run as a test, from `scenarios/`):
//!
//! ```yaml
//! name: openai 429 with retry-after, then success   # required
//! description: free text                             # optional
//!
//! request:                  # required: an llmvcr ChatRequest
//!   model: any              # replaced by each target's model
//!   messages:
//!     - role: user          # system | user | assistant | tool
//!       content: What is the capital of Mexico?
//!   # optional: max_tokens, temperature, top_p, stop, tools, ... (they change the
//!   # request body, which must match the cassette's recording)
//!
//! targets:                  # required, at least one, in chain order
//!   - name: primary         # unique; used by `faults` and `expect`
//!     provider: openai      # openai | anthropic | gemini | openrouter | groq | mistral | azure | ollama | lmstudio
//!     model: gpt-4o
//!     cassette: cassettes/openai_capital_of_mexico.yaml   # see "Cassette paths" below
//!     # base_url: https://...   # optional; required for azure (the resource URL)
//!     context_window: 128000                 # optional, tokens
//!     rate_limit:                            # optional
//!       requests_per_minute: 60
//!       tokens_per_minute: 100000
//!       burst: 1
//!   - name: backup
//!     provider: anthropic
//!     model: claude-haiku-4-5-20251001
//!     cassette: cassettes/anthropic_say_hello.yaml
//!
//! policy:                   # optional: an llmvcr_router::RouterPolicy
//!   retry: { max_attempts: 3, base: 500ms, cap: 30s, jitter: none, max_retry_after: 60s, seed: 1 }
//!   max_total_attempts: 10
//!   timeouts: { connect: 10s, first_token: 30s, idle: 15s, total: 5m }
//!   breaker: { failure_threshold: 5, cooldown: 30s, half_open_probes: 1 }
//!   budget: { max_usd: 1.0 }  # refuses an attempt whose worst-case cost does not fit
//!
//! calls: 1                  # optional: how many times the request is sent, one
//!                           # after the other, through the same router (default 1)
//! gap: 0s                   # optional: virtual time waited between two calls
//! epoch: Thu, 01 Jan 2026 00:00:00 GMT   # optional: the virtual wall clock's start
//!
//! faults:                   # optional: an llmvcr_faults::FaultPlan
//!   seed: 7
//!   rules:
//!     - when: { target: primary, attempt: 1 }   # target: the target's name
//!       fault:
//!         kind: status      # status | latency | stall | cut | error_event | malformed | reset
//!         status: 429
//!         headers: [[retry-after, "20"]]
//!         body: '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}'
//!       times: 1            # optional limit
//!     - when: { target: backup, attempt: 1 }
//!       # or name a provider error template (see scenarios/README.md for the list):
//!       fault: { template: anthropic_rate_limited, retry_after: 5s }
//!
//! expect:                   # required
//!   outcome: success        # or an error kind: rate_limited, quota_exceeded, overloaded,
//!                           # server, timeout, network, budget, decode, no_match, ...
//!   served_by: primary      # optional
//!   attempts: { primary: 2, backup: 0 }     # optional, per target, over all calls
//!   attempts_per_call:      # optional: one map per call
//!     - { primary: 2, backup: 0 }
//!   elapsed_min: 20s        # optional, virtual time ("250ms", "1m30s", or ms)
//!   elapsed_max: 21s
//!   cost_min_usd: 0.00001   # optional, priced from the reported usage
//!   cost_max_usd: 0.001
//!   cost_by_target:         # optional, per target, USD
//!     primary: { min_usd: 0.00001, max_usd: 0.001 }
//!     backup: { max_usd: 0 }
//!   deterministic: true     # optional: run twice, the reports must be equal
//!   text_contains: Mexico City   # optional; the partial text when the call failed
//!   breaker: { primary: closed } # optional: closed | open | half_open
//! ```
//!
//! With `calls: N` the request is sent N times in sequence through one router, so
//! breaker states, rate-limit buckets, the fault plan's counters (`times`, request
//! numbers) and the budget carry over from one call to the next, with `gap` of
//! virtual time between calls. Then `outcome`, `served_by` and `text_contains` are
//! checked against the last call; `attempts` and the cost count over all calls;
//! `elapsed_min` and `elapsed_max` bound the whole run, from the start of the
//! first call to the end of the last, gaps included; `breaker` is the state after
//! the last call. The `attempt` of a fault selector is the router's attempt number
//! for the target within one call (it starts again from 1 at each call), while
//! `request` counts every request of the run.
//!
//! # Retry-after as an HTTP date
//!
//! A `retry-after` written as an HTTP date (`Thu, 01 Jan 2026 00:01:00 GMT`) asks
//! for a wait of that date minus the response's `Date` header (RFC 9110; zero once
//! the date is past). Responses are dated by a virtual wall clock that reads `epoch`
//! (default `Thu, 01 Jan 2026 00:00:00 GMT`) when the scenario starts and advances
//! with tokio's paused clock, so the same file waits the same time on every run. A
//! fault fired after 10s of virtual time is dated `Thu, 01 Jan 2026 00:00:10 GMT`,
//! so the retry-after above waits 50s (HTTP dates have whole seconds). A `date`
//! header written in a `status` fault, or recorded in a cassette, is kept.
//! `scenarios/openai_429_retry_after_http_date.yaml` shows it.
//!
//! # Rate limits and `burst`
//!
//! `requests_per_minute: rpm` is a bucket of `burst` requests (default 1) that
//! starts full and refills one request every `60s / rpm`. A call takes one
//! request, waiting for the next refill when the bucket is empty. With
//! `requests_per_minute: 6, burst: 3` and five calls back to back, calls 1 to 3
//! start at 0s, call 4 at 10s and call 5 at 20s (with `burst: 1`: 0s, 10s, 20s,
//! 30s, 40s). `tokens_per_minute` is a second bucket holding one minute's worth
//! of tokens.
//!
//! # Cassette paths
//!
//! An absolute `cassette` is used as it is. A relative one is looked up, first
//! match wins: relative to the scenario file's folder, then in each
//! [`RunOptions::cassette_dirs`] folder (`llmvcr scenario run --cassettes DIR`),
//! then relative to the project root ([`RunOptions::project_root`], by default the
//! nearest folder above the scenario file holding `.git`). See
//! [`resolve_cassette`].
//!
//! # Repeated runs and the report
//!
//! `expect.deterministic: true` or [`RunOptions::repeat`] (`--repeat N`) runs the
//! scenario more than once, each time from scratch, and fails it if a report
//! differs from the first. The [`ScenarioReport`] serialises to the JSON described
//! by `scenarios/report.schema.json`: durations are numbers of milliseconds in
//! fields ending in `_ms` (`elapsed_ms`, `virtual_ms`, `wait_ms`, `retry_after_ms`,
//! ...), `calls` has one [`CallReport`] per call, and each [`LogEntry`] carries its
//! call number and the virtual time since the scenario started.
//!
//! Unknown fields are errors. A bad file gives a [`ScenarioError`] naming the file
//! and the field, such as `scenarios/x.yaml: targets[0]: unknown field `modle`,
//! expected one of ...`.
//!
//! The cassettes under `scenarios/cassettes/`, one per provider the adapters speak
//! (OpenAI, Anthropic, Gemini, OpenRouter, Groq, Mistral, Azure, Ollama), pair a
//! response with the exact request the llmvcr adapter sends for the scenarios'
//! request, so they replay without a miss. The OpenAI, Anthropic, Gemini and
//! OpenRouter responses are real streams copied from `cassettes/<provider>/`; the
//! Groq, Mistral and Azure streams are rebuilt from real non-streaming answers, and
//! the Ollama one from Ollama's documented `/api/chat` NDJSON format
//! (`scenarios/cassettes/README.md` has the table).
#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod error;
mod format;
mod run;

pub use error::ScenarioError;
pub use format::{CostRange, Expect, Scenario, TargetSpec};
pub use run::{
    CallReport, LedgerSummary, LogEntry, RunOptions, ScenarioReport, resolve_cassette, run_file,
    run_file_with, run_paths, run_paths_with, run_scenario, run_scenario_with, scenario_files,
};
