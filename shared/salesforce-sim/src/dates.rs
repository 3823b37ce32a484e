//! Date-time text as Salesforce writes it (`2013-05-07T22:07:19.000+0000`) and reads it.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// With an offset: `+0000` (REST, Bulk) or `+00:00` (ISO 8601).
const OFFSET: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][optional [:]][offset_minute]"
);
const NAIVE: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
const REST: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000");
const SOAP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Parses `...Z`, `...+0000`, `...+00:00` (with or without milliseconds).
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Some(naive) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        return time::PrimitiveDateTime::parse(naive, NAIVE).ok().map(|p| p.assume_utc());
    }
    OffsetDateTime::parse(s, OFFSET).ok().map(|d| d.to_offset(UtcOffset::UTC))
}

/// REST / Bulk form: `2013-05-07T22:07:19.000+0000`.
pub fn rest(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).format(REST).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Outbound-message (SOAP) form: `2013-05-07T22:07:19.000Z`.
pub fn soap(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).format(SOAP).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Truncates to whole milliseconds (what Salesforce stores).
pub fn millis(t: OffsetDateTime) -> OffsetDateTime {
    let ns = t.nanosecond();
    t.replace_nanosecond(ns - ns % 1_000_000).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_salesforce_writes_or_reads() {
        let a = parse("2013-05-07T22:07:19.000+0000");
        assert!(a.is_some());
        assert_eq!(parse("2013-05-07T22:07:19Z"), a);
        assert_eq!(parse("2013-05-07T23:07:19.000+01:00"), a);
        assert_eq!(parse("2013-05-07T17:07:19-0500"), a);
        assert_eq!(parse("2013-05-07"), None);
        assert_eq!(a.map(rest).as_deref(), Some("2013-05-07T22:07:19.000+0000"));
    }
}
