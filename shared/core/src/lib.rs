//! The sfhs domain: Salesforce outbound messages, work items, the webhook use case, and the queue
//! port it needs. No AWS SDK type and no HTTP framework appears here; adapters live in other
//! crates.

pub mod app;
pub mod drive;
pub mod emf;
pub mod import;
pub mod mapping;
pub mod memory;
pub mod outbound;
pub mod queue;
pub mod salesforce_setup;
pub mod sync;
pub mod webhook;
pub mod work_item;
