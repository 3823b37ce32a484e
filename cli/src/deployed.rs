//! The deployed stack as the operator commands reach it: the process's AWS configuration (region,
//! credentials, `AWS_ENDPOINT_URL`), loaded once on first use, from which each command builds the
//! stores and queues it names (`sfhs_aws::world::Aws`). Commands that touch no AWS service never
//! load it.

use sfhs_aws::world::Aws;
use tokio::sync::OnceCell;

static AWS: OnceCell<Aws> = OnceCell::const_new();

/// This process's AWS clients.
pub async fn aws() -> &'static Aws {
    AWS.get_or_init(Aws::load).await
}
