#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests of llmvcr-router, all in paused tokio time. One test binary;
//! `fake` holds the scripted transport shared by the others.

mod fake;
mod policy_files;
mod properties;
mod routing;
