//! Integration tests, built as one binary: every fault end to end through
//! `reqwest_middleware::ClientBuilder`, selection, and properties.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod it {
    pub mod clock;
    pub mod kinds;
    pub mod properties;
    pub mod selection;
    pub mod support;
}
