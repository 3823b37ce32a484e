//! The HubSpot simulator's integration tests in one binary (each file a module); `common` is
//! their shared set-up.

mod common;
mod fidelity;
mod sdk_shapes;
