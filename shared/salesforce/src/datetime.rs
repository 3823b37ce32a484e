//! Salesforce date-time text: `2013-05-07T22:07:19.000+0000` (offset without a colon) in REST and
//! Bulk responses, `...Z` in outbound messages and SOQL; ISO 8601 with `+00:00` accepted too.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::Error;

/// With an offset: `+0000` (REST, Bulk) or `+00:00` (ISO 8601).
const OFFSET: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][optional [:]][offset_minute]"
);
const ZULU: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
const REQUEST: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
);
const OUTPUT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000");

/// Parses any of Salesforce's date-time forms (`+0000`, `+00:00`, `Z`, with or without millis).
pub fn parse(value: &str) -> Result<OffsetDateTime, Error> {
    let v = value.trim();
    let result = if v.ends_with('Z') || v.ends_with('z') {
        time::PrimitiveDateTime::parse(&v[..v.len() - 1], ZULU).map(|p| p.assume_utc())
    } else {
        OffsetDateTime::parse(v, OFFSET)
    };
    result
        .map(|d| d.to_offset(UtcOffset::UTC))
        .map_err(|source| Error::DateTime { value: value.to_owned(), source })
}

/// Formats for request parameters (`start`/`end` of the deleted-records call): `2013-05-05T00:00:00+00:00`.
pub fn format_request(value: OffsetDateTime) -> String {
    value
        .to_offset(UtcOffset::UTC)
        .format(REQUEST)
        .unwrap_or_else(|_| value.unix_timestamp().to_string())
}

/// Formats like Salesforce's REST responses: `2013-05-07T22:07:19.000+0000`.
pub fn format_response(value: OffsetDateTime) -> String {
    value
        .to_offset(UtcOffset::UTC)
        .format(OUTPUT)
        .unwrap_or_else(|_| value.unix_timestamp().to_string())
}

pub(crate) mod serde_opt {
    use serde::{Deserialize, Deserializer};
    use time::OffsetDateTime;

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| super::parse(&t).map_err(serde::de::Error::custom)).transpose()
    }
}

pub(crate) mod serde_req {
    use serde::{Deserialize, Deserializer};
    use time::OffsetDateTime;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        let a = parse("2013-05-07T22:07:19.000+0000").unwrap();
        let b = parse("2013-05-07T22:07:19Z").unwrap();
        let c = parse("2013-05-07T23:07:19.000+01:00").unwrap();
        let d = parse("2013-05-07T17:07:19-0500").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a, d);
        assert!(parse("2013-05-07").is_err());
        assert_eq!(format_response(a), "2013-05-07T22:07:19.000+0000");
        assert_eq!(format_request(a), "2013-05-07T22:07:19+00:00");
    }
}
