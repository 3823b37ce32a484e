//! The `sfhs` binary's tests in one binary (each file a module): each runs the real command.

mod common;
mod demo;
mod dev_server;
mod errors_cli;
mod import_cli;
mod mappings_cli;
mod mappings_live;
mod outbound_parse;
mod salesforce_setup;
mod setup_cli;
mod setup_pty;
mod sim_cli;
mod status_cli;
