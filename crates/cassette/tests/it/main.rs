//! The cassette crate's tests, in one binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod convert;
mod dialects;
mod errors;
mod export;
mod formats;
mod hints;
mod load;
mod matcher_props;
mod no_panic;
mod record_replay;
mod roundtrip_replay;
mod secrets;
mod store;
#[allow(dead_code)]
mod support;
mod vcrpy_corpus;
