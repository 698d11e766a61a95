//! The adapters' tests, in one binary: encoding snapshots and decoding real
//! recordings, per wire API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod gemini;
mod ollama;
mod openai_chat;
mod openai_responses;
#[allow(dead_code)]
mod support;
