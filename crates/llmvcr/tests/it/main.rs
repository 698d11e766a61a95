//! The façade's tests, in one binary: the client over real cassettes, the
//! cassette layer, reasoning round trips and routing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cassette_facade;
mod contract;
mod real_cassettes;
mod reasoning_round_trip;
mod routing;
