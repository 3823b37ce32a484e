//! Salesforce value + Salesforce type -> HubSpot value for the target property. Pure functions;
//! the table of allowed type pairs is [`compatible`], documented in `docs/mappings.md`.

use std::str::FromStr;

use rust_decimal::Decimal;
use time::macros::format_description;
use time::{Date, UtcOffset};

use super::model::{FieldMapping, TooLong};
use super::schema::{HsProperty, HsType, SfType};
use crate::sync::parse_salesforce_datetime;

/// HubSpot's longest string value, in characters.
pub const MAX_STRING_CHARS: usize = 65_536;

/// Why a value cannot be written. Every variant names the value; the caller adds the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConversionError {
    #[error("{value:?} is not a number")]
    NotANumber { value: String },
    #[error("{value:?} is not a date (YYYY-MM-DD)")]
    NotADate { value: String },
    #[error("{value:?} is not a date-time (ISO 8601, like 2020-05-08T13:40:22.000Z)")]
    NotADateTime { value: String },
    #[error("{value:?} is not a boolean (true, false, 1 or 0)")]
    NotABoolean { value: String },
    #[error(
        "{value:?} is not an option of the HubSpot property (options: {options}); add it to the property or to the field's value_map"
    )]
    NotAnOption { value: String, options: String },
    #[error(
        "the value has {chars} characters, over HubSpot's {MAX_STRING_CHARS}; set on_too_long: truncate to cut it"
    )]
    TooLong { chars: usize },
    #[error("Salesforce type {sf_type} cannot be written to a HubSpot {hs_type} property")]
    Incompatible { sf_type: String, hs_type: String },
}

/// Whether a Salesforce field type may feed a HubSpot property type/fieldType.
pub fn compatible(sf: &SfType, hs: &HsProperty) -> bool {
    use SfType as S;
    let text_target = matches!(hs.hs_type, HsType::String)
        && matches!(hs.field_type.as_str(), "text" | "textarea" | "html" | "phonenumber");
    match (&hs.hs_type, sf) {
        (_, S::Base64 | S::Address | S::Location) => false,
        (HsType::String, _) => text_target,
        (HsType::PhoneNumber, S::Phone | S::String) => true,
        (HsType::Number, S::Double | S::Currency | S::Percent | S::Int | S::Long) => true,
        (HsType::Bool, S::Boolean) => true,
        (HsType::Enumeration, S::Boolean) => hs.field_type == "booleancheckbox",
        (HsType::Enumeration, S::Picklist | S::Combobox | S::String) => {
            matches!(hs.field_type.as_str(), "select" | "radio" | "checkbox")
        }
        (HsType::Enumeration, S::Multipicklist) => hs.field_type == "checkbox",
        (HsType::Date, S::Date | S::Datetime) => true,
        (HsType::Datetime, S::Datetime | S::Date) => true,
        _ => false,
    }
}

/// Converts one value. `None` is Salesforce's null (or a field the message left out): it becomes
/// the field's default, else `""`, which clears the property in HubSpot.
pub fn convert(
    value: Option<&str>,
    sf: &SfType,
    hs: &HsProperty,
    rule: &FieldMapping,
) -> Result<String, ConversionError> {
    let Some(raw) = value else {
        return Ok(rule.default.clone().unwrap_or_default());
    };
    if raw.is_empty() && !matches!(hs.hs_type, HsType::String | HsType::PhoneNumber) {
        return Ok(rule.default.clone().unwrap_or_default());
    }
    if !compatible(sf, hs) {
        return Err(ConversionError::Incompatible {
            sf_type: sf.name().to_owned(),
            hs_type: format!("{:?}/{}", hs.hs_type, hs.field_type).to_lowercase(),
        });
    }
    match &hs.hs_type {
        HsType::Number => number(raw),
        HsType::Bool => boolean(raw).map(str::to_owned),
        HsType::Date => date(raw, sf),
        HsType::Datetime => datetime(raw, sf),
        HsType::Enumeration if *sf == SfType::Boolean => boolean(raw).map(str::to_owned),
        HsType::Enumeration => enumeration(raw, hs, rule),
        HsType::String | HsType::PhoneNumber | HsType::Other(_) => {
            let mapped = match sf {
                SfType::Picklist | SfType::Combobox => map_value(raw, rule).to_owned(),
                SfType::Multipicklist => {
                    raw.split(';').map(|v| map_value(v, rule)).collect::<Vec<_>>().join(";")
                }
                _ => raw.to_owned(),
            };
            text(mapped, rule)
        }
    }
}

/// Exact decimals, exponent forms accepted (`9.9213206E7`), no float round trip; written without
/// exponent or trailing zeros.
pub fn number(raw: &str) -> Result<String, ConversionError> {
    let s = raw.trim();
    let parsed =
        if s.contains(['e', 'E']) { Decimal::from_scientific(s) } else { Decimal::from_str(s) };
    parsed
        .map(|d| d.normalize().to_string())
        .map_err(|_| ConversionError::NotANumber { value: raw.to_owned() })
}

pub fn boolean(raw: &str) -> Result<&'static str, ConversionError> {
    match raw.trim() {
        "true" | "1" | "TRUE" | "True" => Ok("true"),
        "false" | "0" | "FALSE" | "False" => Ok("false"),
        _ => Err(ConversionError::NotABoolean { value: raw.to_owned() }),
    }
}

fn parse_date(raw: &str) -> Option<Date> {
    Date::parse(raw.trim(), format_description!("[year]-[month]-[day]")).ok()
}

const ISO_MS: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

fn date(raw: &str, sf: &SfType) -> Result<String, ConversionError> {
    let day = if *sf == SfType::Datetime {
        parse_salesforce_datetime(raw).map(|dt| dt.to_offset(UtcOffset::UTC).date())
    } else {
        parse_date(raw)
    };
    day.and_then(|d| d.format(format_description!("[year]-[month]-[day]")).ok())
        .ok_or_else(|| ConversionError::NotADate { value: raw.to_owned() })
}

fn datetime(raw: &str, sf: &SfType) -> Result<String, ConversionError> {
    let dt = if *sf == SfType::Date {
        parse_date(raw).map(|d| d.midnight().assume_utc())
    } else {
        parse_salesforce_datetime(raw)
    };
    dt.and_then(|dt| dt.to_offset(UtcOffset::UTC).format(ISO_MS).ok())
        .ok_or_else(|| ConversionError::NotADateTime { value: raw.to_owned() })
}

fn map_value<'a>(value: &'a str, rule: &'a FieldMapping) -> &'a str {
    rule.value_map.get(value).map_or(value, String::as_str)
}

fn enumeration(raw: &str, hs: &HsProperty, rule: &FieldMapping) -> Result<String, ConversionError> {
    let values: Vec<&str> = if hs.field_type == "checkbox" {
        raw.split(';').filter(|v| !v.is_empty()).map(|v| map_value(v, rule)).collect()
    } else {
        vec![map_value(raw, rule)]
    };
    if !hs.options.is_empty()
        && let Some(bad) = values.iter().find(|v| !hs.options.iter().any(|o| o == *v))
    {
        return Err(ConversionError::NotAnOption {
            value: (*bad).to_owned(),
            options: hs.options.join(", "),
        });
    }
    Ok(values.join(";"))
}

fn text(raw: String, rule: &FieldMapping) -> Result<String, ConversionError> {
    let chars = raw.chars().count();
    if chars <= MAX_STRING_CHARS {
        return Ok(raw);
    }
    match rule.on_too_long {
        TooLong::Error => Err(ConversionError::TooLong { chars }),
        TooLong::Truncate => Ok(raw.chars().take(MAX_STRING_CHARS).collect()),
    }
}

/// The Salesforce type to convert a value as, when only the target property is known (the worker
/// does not call describe on its hot path). The HubSpot type decides; the value's shape tells a
/// date from a date-time.
pub fn infer_sf_type(hs: &HsProperty, raw: Option<&str>) -> SfType {
    let has_time = raw.is_some_and(|v| v.contains('T'));
    match (&hs.hs_type, hs.field_type.as_str()) {
        (HsType::Number, _) => SfType::Double,
        (HsType::Bool, _) | (HsType::Enumeration, "booleancheckbox") => SfType::Boolean,
        (HsType::Date | HsType::Datetime, _) if has_time => SfType::Datetime,
        (HsType::Date | HsType::Datetime, _) => SfType::Date,
        (HsType::Enumeration, "checkbox") => SfType::Multipicklist,
        (HsType::Enumeration, _) => SfType::Picklist,
        (HsType::PhoneNumber, _) => SfType::Phone,
        (HsType::String | HsType::Other(_), _) => SfType::String,
    }
}
