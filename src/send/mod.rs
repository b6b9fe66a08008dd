//! Sending: request bodies, the HTTP client, error classes, the pipeline.

pub mod classify;
pub mod client;
pub mod pipeline;
pub mod wire;
