//! The end-to-end tests of sfhs-tests in one binary (each file a module): the Lambdas' use cases
//! and adapters against moto's server and the simulators. Apart, in their own binaries: the
//! functions' binaries under a Lambda runtime API (lambda_runtime), the many-seed invariant
//! (worker_invariant) and the rate-limit timings (worker_limits), which run alone.

mod association_moves;
mod iam_policies;
mod import_continuation;
mod import_e2e;
mod import_store;
mod infra_template;
mod mapping_store;
mod webhook_sqs;
mod worker_adapters;
mod worker_e2e;
mod worker_sqs_delays;
mod worker_unchanged;
