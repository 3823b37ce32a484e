//! sfhs-core's integration tests in one binary (each file a module).

mod mapping_convert;
mod mapping_validate;
mod outbound_fixtures;
mod outbound_props;
mod outbound_rules;
