//! Test harness for sfhs's end-to-end tests: real components over real HTTP.
//!
//! - [`moto`]: one moto server per test binary (DynamoDB, SQS, Secrets Manager), started on a free
//!   port and stopped when the test process ends.
//! - [`aws`]: SDK clients pointed at it.
//! - [`events`]: Lambda events shaped like the real ones.

pub mod aws;
pub mod events;
pub mod moto;
