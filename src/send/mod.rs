//! Sending: request bodies, the HTTP client, error classes, and the pipeline
//! (rate gates, queues, workers) that carries out the retry steps.

pub mod classify;
pub mod client;
pub mod gate;
pub mod pipeline;
pub mod queue;
pub mod step;
pub mod wire;
pub mod worker;
