//! A record's version: the epoch milliseconds of its `version_field` (`SystemModstamp` by
//! default), else `LastModifiedDate`, else the time this system received it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::work_item::WorkItem;

/// A record's version: the epoch milliseconds of its change in Salesforce (see the module). The
/// ledger keeps the newest applied one per record; a newer one wins. As a type, it is not taken
/// for a lease time, a count or any other number where it crosses the [`super::Ledger`] port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub i64);

impl Version {
    /// The version of a change made at `t`.
    pub fn at(t: OffsetDateTime) -> Self {
        Self(millis(t))
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The version one millisecond after this one: what an undelete commits over the deletion's.
    #[must_use]
    pub const fn after(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

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
    // Salesforce REST writes offsets without a colon: 2013-05-07T22:07:19.000+0000.
    let fmt = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(s, &fmt).ok()
}

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The version of `item` under `version_field`, and where it came from.
pub fn record_version(item: &WorkItem, version_field: &str) -> (Version, VersionSource) {
    let field = |name: &str| {
        item.fields
            .get(name)
            .or_else(|| {
                item.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
            })
            .and_then(|v| v.as_deref())
            .and_then(parse_salesforce_datetime)
    };
    if let Some(t) = field(version_field) {
        return (Version::at(t), VersionSource::Field);
    }
    if let Some(t) = field("LastModifiedDate") {
        return (Version::at(t), VersionSource::LastModifiedDate);
    }
    (Version::at(item.received_at), VersionSource::ReceivedAt)
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
    fn a_version_is_stored_as_its_milliseconds_and_an_undelete_comes_one_after() {
        assert_eq!(serde_json::to_string(&Version(1_795_860_000_001)).unwrap(), "1795860000001");
        assert_eq!(serde_json::from_str::<Version>("5").unwrap(), Version(5));
        assert_eq!(Version(5).after(), Version(6));
        assert!(Version(5).after() > Version(5));
        assert_eq!(Version(i64::MAX).after(), Version(i64::MAX));
        assert_eq!(Version::at(datetime!(2026-11-28 10:00:00.001 UTC)), Version(1_795_860_000_001));
    }

    #[test]
    fn reads_the_field_then_last_modified_then_received_at() {
        let i = item(&[("SystemModstamp", "2026-11-28T10:00:00.001Z")]);
        assert_eq!(
            record_version(&i, "SystemModstamp"),
            (Version(1_795_860_000_001), VersionSource::Field)
        );
        let i = item(&[("LastModifiedDate", "2026-11-28T10:00:00.000+0000")]);
        assert_eq!(record_version(&i, "SystemModstamp").1, VersionSource::LastModifiedDate);
        let i = item(&[("SystemModstamp", "yesterday")]);
        assert_eq!(
            record_version(&i, "SystemModstamp"),
            (Version(1_795_867_200_000), VersionSource::ReceivedAt)
        );
    }
}
