//! Cassettes.
