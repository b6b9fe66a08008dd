//! pagecast: a declarative campaign runner for Facebook Messenger.
//!
//! The pipeline, one owner per stage:
//! YAML text → [`campaign::load`] → [`campaign::validate`] → [`campaign::Campaign`];
//! campaign + audiences + ledger + now → [`plan`] (pure) → `Plan`;
//! plan → [`send`] (bounded, rate-limited) → records → [`ledger`] → [`report`].
//!
//! Every stage speaks [`vocab`]: a recipient is a [`vocab::Job`], what happened
//! to it is a [`vocab::Record`].

pub mod audience;
pub mod campaign;
pub mod cli;
pub mod commands;
pub mod ledger;
pub mod plan;
pub mod policy;
pub mod records;
pub mod report;
pub mod schedule;
pub mod send;
pub mod template;
pub mod template_file;
pub mod vocab;
