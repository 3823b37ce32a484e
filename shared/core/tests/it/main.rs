//! sfhs-core's integration tests in one binary (each file a module).

mod mapping_validate;
mod mapping_value;
mod outbound_fixtures;
mod outbound_props;
mod outbound_rules;
