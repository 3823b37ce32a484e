//! Schemas, properties and value validation, as HubSpot documents them.

use std::str::FromStr;

use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// Longest string value HubSpot stores.
pub const MAX_STRING_CHARS: usize = 65_536;
/// At most this many `hasUniqueValue` properties per object.
pub const MAX_UNIQUE_PROPERTIES: usize = 10;

pub fn iso(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let f =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&f).unwrap_or_default()
}

#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropOption {
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub display_order: i64,
    #[serde(default)]
    pub hidden: bool,
}

#[derive(Clone, Debug)]
pub struct PropertyDef {
    pub name: String,
    pub label: String,
    pub type_: String,
    pub field_type: String,
    pub options: Vec<PropOption>,
    pub has_unique_value: bool,
    pub group_name: String,
    pub description: String,
    pub read_only: bool,
    pub created_at: OffsetDateTime,
}

impl PropertyDef {
    pub fn builtin(
        name: &str,
        label: &str,
        type_: &str,
        field_type: &str,
        read_only: bool,
    ) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            type_: type_.into(),
            field_type: field_type.into(),
            options: vec![],
            has_unique_value: false,
            group_name: "default".into(),
            description: String::new(),
            read_only,
            created_at: OffsetDateTime::now_utc(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "label": self.label,
            "type": self.type_,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": false,
            "formField": false,
            "calculated": false,
            "externalOptions": false,
            "modificationMetadata": {"archivable": !self.read_only, "readOnlyDefinition": self.read_only, "readOnlyValue": self.read_only},
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.created_at),
            "archived": false,
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyInput {
    pub name: Option<String>,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub field_type: Option<String>,
    #[serde(default)]
    pub options: Vec<PropOption>,
    #[serde(default)]
    pub has_unique_value: bool,
    pub group_name: Option<String>,
    pub description: Option<String>,
}

fn valid_pair(type_: &str, field_type: &str) -> bool {
    if field_type == "calculation_equation" {
        return true;
    }
    match type_ {
        "bool" => field_type == "booleancheckbox",
        "enumeration" => matches!(field_type, "booleancheckbox" | "checkbox" | "radio" | "select"),
        "date" | "datetime" => field_type == "date",
        "string" => matches!(field_type, "text" | "textarea" | "html" | "phonenumber" | "file"),
        "number" => field_type == "number",
        "phone_number" => field_type == "phonenumber",
        _ => false,
    }
}

fn default_field_type(type_: &str) -> &'static str {
    match type_ {
        "bool" => "booleancheckbox",
        "enumeration" => "select",
        "date" | "datetime" => "date",
        "number" => "number",
        "phone_number" => "phonenumber",
        _ => "text",
    }
}

pub fn valid_name(name: &str, allow_upper: bool) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() || (allow_upper && c.is_ascii_uppercase()) => {}
        _ => return false,
    }
    chars.all(|c| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '_'
            || (allow_upper && c.is_ascii_uppercase())
    })
}

/// Validates a property definition; `Err` holds HubSpot-style messages.
pub fn property_from_input(input: PropertyInput) -> Result<PropertyDef, String> {
    let name = input.name.ok_or("Property name is required")?;
    if !valid_name(&name, false) {
        return Err(format!(
            "Property name '{name}' is invalid: use lowercase letters, digits and underscores, starting with a letter"
        ));
    }
    let label = input.label.ok_or_else(|| format!("Property '{name}' needs a label"))?;
    let type_ = input.type_.unwrap_or_else(|| "string".into());
    if !["bool", "date", "datetime", "enumeration", "number", "phone_number", "string"]
        .contains(&type_.as_str())
    {
        return Err(format!("Property '{name}' has an invalid type '{type_}'"));
    }
    let field_type = input.field_type.unwrap_or_else(|| default_field_type(&type_).into());
    if !valid_pair(&type_, &field_type) {
        return Err(format!(
            "Property '{name}': fieldType '{field_type}' is not valid for type '{type_}'"
        ));
    }
    let mut options = input.options;
    if type_ == "bool" && options.is_empty() {
        options = vec![
            PropOption {
                label: "Yes".into(),
                value: "true".into(),
                display_order: 0,
                hidden: false,
            },
            PropOption {
                label: "No".into(),
                value: "false".into(),
                display_order: 1,
                hidden: false,
            },
        ];
    }
    if type_ != "enumeration" && type_ != "bool" && !options.is_empty() {
        return Err(format!(
            "Property '{name}': options are only allowed on enumeration properties"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for o in &options {
        if !seen.insert(o.value.clone()) {
            return Err(format!("Property '{name}': duplicate option value '{}'", o.value));
        }
    }
    Ok(PropertyDef {
        name,
        label,
        type_,
        field_type,
        options,
        has_unique_value: input.has_unique_value,
        group_name: input.group_name.unwrap_or_else(|| "default".into()),
        description: input.description.unwrap_or_default(),
        read_only: false,
        created_at: OffsetDateTime::now_utc(),
    })
}

/// One rejected property value.
#[derive(Clone, Debug)]
pub struct PropError {
    pub name: String,
    pub value: String,
    pub code: &'static str,
    pub message: String,
}

impl PropError {
    pub fn to_json(&self) -> Value {
        json!({
            "message": self.message,
            "code": self.code,
            "context": {"propertyName": [self.name], "value": [self.value]},
        })
    }

    /// The element HubSpot embeds in "Property values were not valid: [...]".
    pub fn legacy_json(&self) -> Value {
        json!({"isValid": false, "message": self.message, "error": self.code, "name": self.name})
    }
}

fn parse_epoch_ms(raw: &str) -> Option<OffsetDateTime> {
    let ms: i128 = raw.parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(ms.checked_mul(1_000_000)?).ok()
}

/// Validates and normalises one value. `Ok(None)` clears the property.
pub fn validate_value(def: &PropertyDef, raw: &str) -> Result<Option<String>, PropError> {
    let fail = |code: &'static str, message: String| PropError {
        name: def.name.clone(),
        value: raw.to_string(),
        code,
        message,
    };
    if def.read_only {
        return Err(fail(
            "READ_ONLY_VALUE",
            format!("{} is a read only property; its value cannot be set.", def.name),
        ));
    }
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.chars().count() > MAX_STRING_CHARS {
        return Err(fail(
            "INVALID_STRING_LENGTH",
            format!("{} exceeds the maximum length of {MAX_STRING_CHARS} characters", def.name),
        ));
    }
    match def.type_.as_str() {
        "bool" => match raw {
            "true" | "false" => Ok(Some(raw.into())),
            _ => Err(fail(
                "INVALID_BOOLEAN",
                format!("{raw} is not a valid boolean for {}; use true or false", def.name),
            )),
        },
        "number" => {
            let ok = !raw.contains(',') && rust_decimal::Decimal::from_str(raw.trim()).is_ok();
            if ok {
                Ok(Some(raw.trim().into()))
            } else {
                Err(fail("INVALID_NUMBER", format!("{raw} was not a valid number.")))
            }
        }
        "date" => {
            let f = format_description!("[year]-[month]-[day]");
            if let Ok(d) = Date::parse(raw, &f) {
                return Ok(Some(d.format(&f).unwrap_or_default()));
            }
            match parse_epoch_ms(raw) {
                Some(t) if t.time() == time::Time::MIDNIGHT => {
                    Ok(Some(t.date().format(&f).unwrap_or_default()))
                }
                Some(_) => Err(fail(
                    "INVALID_DATE",
                    format!(
                        "{raw} is not a valid date: a date as epoch milliseconds must be at midnight UTC"
                    ),
                )),
                None => {
                    Err(fail("INVALID_DATE", format!("{raw} is not a valid date (YYYY-MM-DD)")))
                }
            }
        }
        "datetime" => {
            if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
                return Ok(Some(iso(t)));
            }
            match parse_epoch_ms(raw) {
                Some(t) => Ok(Some(iso(t))),
                None => Err(fail(
                    "INVALID_DATETIME",
                    format!("{raw} is not a valid datetime (ISO-8601 or epoch ms)"),
                )),
            }
        }
        "enumeration" => {
            let is_option = |v: &str| def.options.iter().any(|o| o.value == v);
            let values: Vec<&str> =
                if def.field_type == "checkbox" { raw.split(';').collect() } else { vec![raw] };
            for v in values {
                if !is_option(v) {
                    let allowed: Vec<&str> = def.options.iter().map(|o| o.value.as_str()).collect();
                    return Err(fail(
                        "INVALID_OPTION",
                        format!("{v} was not one of the allowed options: [{}]", allowed.join(", ")),
                    ));
                }
            }
            Ok(Some(raw.into()))
        }
        _ => Ok(Some(raw.into())),
    }
}

#[derive(Clone, Debug)]
pub struct AssocDef {
    pub type_id: u32,
    pub from: String,
    pub to: String,
    pub category: &'static str,
    pub label: Option<String>,
    pub name: String,
    /// The type id of the reverse direction.
    pub inverse: u32,
}

#[derive(Clone, Debug)]
pub struct Schema {
    pub numeric_id: u64,
    pub object_type_id: String,
    pub name: String,
    pub fqn: String,
    pub singular: String,
    pub plural: String,
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Vec<String>,
    pub searchable_properties: Vec<String>,
    pub required_properties: Vec<String>,
    pub properties: Vec<PropertyDef>,
    pub builtin: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Schema {
    pub fn property(&self, name: &str) -> Option<&PropertyDef> {
        self.properties.iter().find(|p| p.name == name)
    }

    pub fn to_json(&self, assocs: &[&AssocDef]) -> Value {
        json!({
            "id": self.numeric_id.to_string(),
            "objectTypeId": self.object_type_id,
            "fullyQualifiedName": self.fqn,
            "name": self.name,
            "labels": {"singular": self.singular, "plural": self.plural},
            "primaryDisplayProperty": self.primary_display_property,
            "secondaryDisplayProperties": self.secondary_display_properties,
            "searchableProperties": self.searchable_properties,
            "requiredProperties": self.required_properties,
            "properties": self.properties.iter().map(PropertyDef::to_json).collect::<Vec<_>>(),
            "associations": assocs.iter().map(|a| json!({
                "id": a.type_id.to_string(),
                "fromObjectTypeId": a.from,
                "toObjectTypeId": a.to,
                "name": a.name,
            })).collect::<Vec<_>>(),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": false,
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Labels {
    pub singular: Option<String>,
    pub plural: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaInput {
    pub name: Option<String>,
    pub labels: Option<Labels>,
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Option<Vec<String>>,
    pub searchable_properties: Option<Vec<String>>,
    pub required_properties: Option<Vec<String>>,
    #[serde(default)]
    pub properties: Vec<PropertyInput>,
    #[serde(default)]
    pub associated_objects: Vec<String>,
}

/// HubSpot's own properties, which every object has, then `extra`.
pub fn builtin_properties(extra: impl IntoIterator<Item = PropertyDef>) -> Vec<PropertyDef> {
    let mut v = vec![
        PropertyDef::builtin("hs_object_id", "Record ID", "number", "number", true),
        PropertyDef::builtin("hs_createdate", "Create Date", "datetime", "date", true),
        PropertyDef::builtin("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", true),
    ];
    v.extend(extra);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(t: &str, f: &str, opts: &[&str]) -> PropertyDef {
        let mut p = PropertyDef::builtin("p", "P", t, f, false);
        p.options = opts
            .iter()
            .map(|v| PropOption {
                label: v.to_string(),
                value: v.to_string(),
                display_order: 0,
                hidden: false,
            })
            .collect();
        p
    }

    #[test]
    fn values_follow_the_documented_rules() {
        let stored = |p: &PropertyDef, v: &str| validate_value(p, v).unwrap();
        let refused = |p: &PropertyDef, v: &str| validate_value(p, v).unwrap_err().code;
        let date = prop("date", "date", &[]);
        assert_eq!(stored(&date, "2026-01-31").as_deref(), Some("2026-01-31"));
        assert_eq!(stored(&date, "1769817600000").as_deref(), Some("2026-01-31"));
        assert_eq!(refused(&date, "1769817600001"), "INVALID_DATE");
        assert_eq!(refused(&date, "31/01/2026"), "INVALID_DATE");
        let dt = prop("datetime", "date", &[]);
        assert_eq!(
            stored(&dt, "2026-01-31T10:00:00+01:00").as_deref(),
            Some("2026-01-31T09:00:00.000Z")
        );
        assert_eq!(stored(&dt, "0").as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(refused(&dt, "yesterday"), "INVALID_DATETIME");
        let n = prop("number", "number", &[]);
        assert!(validate_value(&n, "-12.50").is_ok());
        assert_eq!(refused(&n, "1,000"), "INVALID_NUMBER");
        let b = prop("bool", "booleancheckbox", &[]);
        assert!(validate_value(&b, "true").is_ok());
        assert_eq!(refused(&b, "TRUE"), "INVALID_BOOLEAN");
        let sel = prop("enumeration", "select", &["a", "b"]);
        assert!(validate_value(&sel, "a").is_ok());
        assert_eq!(refused(&sel, "A"), "INVALID_OPTION");
        assert_eq!(refused(&sel, "a;b"), "INVALID_OPTION");
        let multi = prop("enumeration", "checkbox", &["a", "b"]);
        assert!(validate_value(&multi, "a;b").is_ok());
        assert_eq!(refused(&multi, "a;c"), "INVALID_OPTION");
        let s = prop("string", "text", &[]);
        assert!(validate_value(&s, &"x".repeat(MAX_STRING_CHARS)).is_ok());
        assert_eq!(refused(&s, &"x".repeat(MAX_STRING_CHARS + 1)), "INVALID_STRING_LENGTH");
        assert_eq!(validate_value(&s, "").unwrap(), None);
        let ro = PropertyDef::builtin("hs_object_id", "id", "number", "number", true);
        assert_eq!(refused(&ro, "1"), "READ_ONLY_VALUE");
    }

    #[test]
    fn property_definitions_are_validated() {
        let input = |t: Option<&str>, f: Option<&str>| PropertyInput {
            name: Some("x".into()),
            label: Some("X".into()),
            type_: t.map(Into::into),
            field_type: f.map(Into::into),
            options: vec![],
            has_unique_value: false,
            group_name: None,
            description: None,
        };
        let p = property_from_input(input(None, None)).unwrap();
        assert_eq!((p.type_.as_str(), p.field_type.as_str()), ("string", "text"));
        assert!(property_from_input(input(Some("bool"), Some("text"))).is_err());
        assert!(property_from_input(input(Some("number"), Some("number"))).is_ok());
        assert!(property_from_input(input(Some("datetime"), Some("date"))).is_ok());
        assert!(property_from_input(input(Some("enumeration"), Some("radio"))).is_ok());
        assert!(property_from_input(input(Some("string"), Some("select"))).is_err());
        assert!(property_from_input(input(Some("number"), Some("calculation_equation"))).is_ok());
        assert!(property_from_input(input(Some("float"), None)).is_err());
    }
}
