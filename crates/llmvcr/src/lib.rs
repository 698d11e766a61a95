//! The llmvcr façade.
