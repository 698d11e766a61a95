//! The token counter's tests, in one binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod counting;
mod differential;
mod usage;
