//! The sfhs domain: Salesforce outbound messages, work items, the webhook use case, and the queue
//! port it needs. No AWS SDK type and no HTTP framework appears here; adapters live in other
//! crates.

/// The methods shared by the stores' error enums (each with `Conflict`, `NotFound`, `Corrupt`
/// and `Unavailable { message, retryable, source }`): made from a cause, and whether a retry can
/// help (a conflict is read again and retried; a store that failed, when it says so).
macro_rules! store_error_methods {
    ($error:ty) => {
        impl $error {
            /// The store failed because of `source`, whose text is the message.
            pub fn unavailable(
                retryable: bool,
                source: impl std::error::Error + Send + Sync + 'static,
            ) -> Self {
                Self::Unavailable {
                    message: source.to_string(),
                    retryable,
                    source: Some(Box::new(source)),
                }
            }

            pub fn is_retryable(&self) -> bool {
                match self {
                    Self::Unavailable { retryable, .. } => *retryable,
                    Self::Conflict { .. } => true,
                    Self::NotFound { .. } | Self::Corrupt { .. } => false,
                }
            }
        }
    };
}

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
