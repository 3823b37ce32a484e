//! A record's version: the epoch milliseconds of its `version_field` (`SystemModstamp` by
//! default), else `LastModifiedDate`, else the time this system received it.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::work_item::WorkItem;

/// Where a version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// The mapping's `version_field`.
    Field,
    /// `LastModifiedDate`, the field being absent or unreadable.
    LastModifiedDate,
    /// Neither field was readable: the receive time stands in (ordering is then only as good
    /// as the order in which this system received the changes).
    ReceivedAt,
}

/// Parses a Salesforce date-time (`2026-11-28T10:15:02.000Z` or `...+0000`).
pub fn parse_salesforce_datetime(raw: &str) -> Option<OffsetDateTime> {
    let s = raw.trim();
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(dt);
    }
    let fmt = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(s, &fmt).ok()
}

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The version of `item` under `version_field`, in epoch milliseconds, and where it came from.
pub fn record_version(item: &WorkItem, version_field: &str) -> (i64, VersionSource) {
    let field = |name: &str| {
        item.fields
            .get(name)
            .or_else(|| {
                item.fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .and_then(|v| v.as_deref())
            .and_then(parse_salesforce_datetime)
    };
    if let Some(t) = field(version_field) {
        return (millis(t), VersionSource::Field);
    }
    if let Some(t) = field("LastModifiedDate") {
        return (millis(t), VersionSource::LastModifiedDate);
    }
    (millis(item.received_at), VersionSource::ReceivedAt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::Fields;
    use crate::work_item::{Op, Source, WORK_ITEM_VERSION};
    use time::macros::datetime;

    fn item(fields: &[(&str, &str)]) -> WorkItem {
        let mut f = Fields::new();
        for (k, v) in fields {
            f.insert((*k).into(), Some((*v).into()));
        }
        WorkItem {
            v: WORK_ITEM_VERSION,
            op: Op::Upsert,
            org_id: "00D".into(),
            sobject: "X__c".into(),
            record_id: "a01".into(),
            fields: f,
            source: Source::DeleteSweep,
            received_at: datetime!(2026-11-28 12:00:00 UTC),
        }
    }

    #[test]
    fn reads_the_field_then_last_modified_then_received_at() {
        let i = item(&[("SystemModstamp", "2026-11-28T10:00:00.001Z")]);
        assert_eq!(
            record_version(&i, "SystemModstamp"),
            (1_795_860_000_001, VersionSource::Field)
        );
        let i = item(&[("LastModifiedDate", "2026-11-28T10:00:00.000+0000")]);
        assert_eq!(
            record_version(&i, "SystemModstamp").1,
            VersionSource::LastModifiedDate
        );
        let i = item(&[("SystemModstamp", "yesterday")]);
        assert_eq!(
            record_version(&i, "SystemModstamp"),
            (1_795_867_200_000, VersionSource::ReceivedAt)
        );
    }
}
