//! Work items as the webhook makes them from an outbound message, for tests and harnesses.

use sfhs_core::outbound::Fields;
use sfhs_core::work_item::{Op, Source, WORK_ITEM_VERSION, WorkItem};
use time::OffsetDateTime;

/// The org id of the seeded Salesforce simulator.
pub const ORG: &str = "00D5g000001SIMu";

/// An upsert of `sobject` `id` from an outbound message, versioned `second` seconds into a fixed
/// day (`SystemModstamp`), carrying `fields` (`None`: sent as nil).
pub fn outbound_item(
    sobject: &str,
    id: &str,
    second: i64,
    fields: &[(&str, Option<&str>)],
) -> WorkItem {
    let stamp = (OffsetDateTime::UNIX_EPOCH
        + time::Duration::days(20_000)
        + time::Duration::seconds(second))
    .format(&time::format_description::well_known::Rfc3339)
    .unwrap_or_default();
    let mut f = Fields::new();
    f.insert("SystemModstamp".into(), Some(stamp));
    for (k, v) in fields {
        f.insert((*k).into(), v.map(str::to_owned));
    }
    WorkItem {
        v: WORK_ITEM_VERSION,
        op: Op::Upsert,
        org_id: ORG.into(),
        sobject: sobject.into(),
        record_id: id.into(),
        fields: f,
        source: Source::OutboundMessage {
            notification_id: format!("04l{id}{second}"),
            action_id: None,
        },
        received_at: OffsetDateTime::now_utc(),
    }
}
