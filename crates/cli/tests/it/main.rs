//! The `llmvcr` binary's tests, in one binary: run as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cassette;
mod cli;
mod scenario_report;
mod support;
