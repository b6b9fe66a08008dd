//! Campaign files: the model as written, loading with spans, validation.

pub mod model;
