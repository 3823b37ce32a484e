//! Conversion, table-driven: every Salesforce type to every HubSpot type it may feed, and the
//! failures.

use sfhs_core::mapping::schema::{HsProperty, HsType, SfType};
use sfhs_core::mapping::value::{ConversionError, MAX_STRING_CHARS, compatible, convert, number};
use sfhs_core::mapping::{FieldMapping, TooLong};

fn prop(hs_type: HsType, field_type: &str, options: &[&str]) -> HsProperty {
    HsProperty {
        name: "p".into(),
        hs_type,
        field_type: field_type.into(),
        options: options.iter().map(|s| (*s).to_owned()).collect(),
        has_unique_value: false,
        read_only: false,
    }
}

fn rule() -> FieldMapping {
    FieldMapping {
        salesforce: "F__c".into(),
        hubspot: "p".into(),
        value_map: Default::default(),
        default: None,
        on_too_long: TooLong::Error,
    }
}

/// Salesforce type, target property, value, expected output (`Err(())`: must fail).
type Case<'a> = (SfType, &'a HsProperty, Option<&'a str>, Result<&'a str, ()>);

#[test]
fn conversions_table() {
    let text = prop(HsType::String, "text", &[]);
    let num = prop(HsType::Number, "number", &[]);
    let boolean = prop(HsType::Bool, "booleancheckbox", &[]);
    let date = prop(HsType::Date, "date", &[]);
    let datetime = prop(HsType::Datetime, "date", &[]);
    let select = prop(HsType::Enumeration, "select", &["open", "paid", "Open"]);
    let checkbox = prop(HsType::Enumeration, "checkbox", &["north", "south", "priority"]);
    let phone = prop(HsType::PhoneNumber, "phonenumber", &[]);
    let cases: Vec<Case<'_>> = vec![
        (SfType::String, &text, Some("  INV-1 <b> "), Ok("  INV-1 <b> ")),
        (SfType::Textarea, &text, Some("a\nb"), Ok("a\nb")),
        (SfType::Email, &text, Some("a@b.c"), Ok("a@b.c")),
        (SfType::String, &text, None, Ok("")),
        (SfType::Double, &num, Some("120000.0"), Ok("120000")),
        (SfType::Currency, &num, Some("9.9213206E7"), Ok("99213206")),
        (SfType::Percent, &num, Some("12.50"), Ok("12.5")),
        (SfType::Double, &num, Some("1.5e-3"), Ok("0.0015")),
        (SfType::Int, &num, Some("-42"), Ok("-42")),
        (SfType::Double, &num, Some("0.1"), Ok("0.1")),
        (SfType::Double, &num, Some("12,000"), Err(())),
        (SfType::Double, &num, Some(""), Ok("")),
        (SfType::Boolean, &boolean, Some("true"), Ok("true")),
        (SfType::Boolean, &boolean, Some("0"), Ok("false")),
        (SfType::Boolean, &boolean, Some("1"), Ok("true")),
        (SfType::Boolean, &boolean, Some("yes"), Err(())),
        (SfType::Date, &date, Some("2020-07-11"), Ok("2020-07-11")),
        (SfType::Date, &date, Some("2020-13-11"), Err(())),
        (SfType::Datetime, &date, Some("2020-05-08T23:40:22.000Z"), Ok("2020-05-08")),
        (
            SfType::Datetime,
            &datetime,
            Some("2020-05-08T13:40:22.000Z"),
            Ok("2020-05-08T13:40:22.000Z"),
        ),
        (
            SfType::Datetime,
            &datetime,
            Some("2013-05-07T22:07:19.000+0200"),
            Ok("2013-05-07T20:07:19.000Z"),
        ),
        (SfType::Datetime, &datetime, Some("2020-05-08T13:40:22Z"), Ok("2020-05-08T13:40:22.000Z")),
        (SfType::Date, &datetime, Some("2020-07-11"), Ok("2020-07-11T00:00:00.000Z")),
        (SfType::Datetime, &datetime, Some("yesterday"), Err(())),
        (SfType::Picklist, &select, Some("Open"), Ok("Open")),
        (SfType::Picklist, &select, Some("Closed"), Err(())),
        (SfType::Multipicklist, &checkbox, Some("north;priority"), Ok("north;priority")),
        (SfType::Multipicklist, &checkbox, Some("north;east"), Err(())),
        (SfType::Multipicklist, &text, Some("north;east"), Ok("north;east")),
        (SfType::Phone, &phone, Some("+31 20 123 4567"), Ok("+31 20 123 4567")),
        (SfType::Double, &text, Some("1.0"), Ok("1.0")),
        (SfType::String, &num, Some("12"), Err(())),
        (SfType::Date, &boolean, Some("2020-01-01"), Err(())),
        (SfType::Base64, &text, Some("AAAA"), Err(())),
    ];
    for (sf, hs, value, expected) in cases {
        let got = convert(value, &sf, hs, &rule());
        match expected {
            Ok(v) => assert_eq!(
                got.as_deref(),
                Ok(v),
                "{sf:?} {value:?} -> {:?}/{}",
                hs.hs_type,
                hs.field_type
            ),
            Err(()) => assert!(
                got.is_err(),
                "{sf:?} {value:?} -> {:?}/{} should fail, got {got:?}",
                hs.hs_type,
                hs.field_type
            ),
        }
    }
}

#[test]
fn value_maps_defaults_and_long_text() {
    let select = prop(HsType::Enumeration, "select", &["open", "paid"]);
    let mut r = rule();
    r.value_map.insert("Open".into(), "open".into());
    r.value_map.insert("Paid in full".into(), "paid".into());
    assert_eq!(convert(Some("Paid in full"), &SfType::Picklist, &select, &r).unwrap(), "paid");
    let err = convert(Some("Void"), &SfType::Picklist, &select, &r).unwrap_err();
    assert!(err.to_string().contains("\"Void\" is not an option"), "{err}");

    r.default = Some("open".into());
    assert_eq!(convert(None, &SfType::Picklist, &select, &r).unwrap(), "open");

    let text = prop(HsType::String, "textarea", &[]);
    let long = "é".repeat(MAX_STRING_CHARS + 5);
    assert_eq!(
        convert(Some(&long), &SfType::Textarea, &text, &rule()),
        Err(ConversionError::TooLong { chars: MAX_STRING_CHARS + 5 })
    );
    let mut truncate = rule();
    truncate.on_too_long = TooLong::Truncate;
    let cut = convert(Some(&long), &SfType::Textarea, &text, &truncate).unwrap();
    assert_eq!(cut.chars().count(), MAX_STRING_CHARS);
}

#[test]
fn numbers_never_round_trip_through_floats() {
    assert_eq!(number("0.1").unwrap(), "0.1");
    assert_eq!(number("12345678901234567.89").unwrap(), "12345678901234567.89");
    assert_eq!(number("1E+2").unwrap(), "100");
}

#[test]
fn the_compatibility_table_refuses_mismatched_field_types() {
    assert!(compatible(&SfType::Picklist, &prop(HsType::Enumeration, "select", &[])));
    assert!(!compatible(&SfType::Multipicklist, &prop(HsType::Enumeration, "select", &[])));
    assert!(compatible(&SfType::Boolean, &prop(HsType::Enumeration, "booleancheckbox", &[])));
    assert!(!compatible(&SfType::String, &prop(HsType::String, "file", &[])));
    assert!(!compatible(&SfType::Reference, &prop(HsType::Number, "number", &[])));
}

#[test]
fn the_worker_infers_the_source_type_from_the_target() {
    use sfhs_core::mapping::value::infer_sf_type;
    let datetime = prop(HsType::Datetime, "date", &[]);
    assert_eq!(infer_sf_type(&datetime, Some("2020-07-11")), SfType::Date);
    assert_eq!(infer_sf_type(&datetime, Some("2020-07-11T10:00:00.000Z")), SfType::Datetime);
    let checkbox = prop(HsType::Enumeration, "checkbox", &["a", "b"]);
    let sf = infer_sf_type(&checkbox, Some("a;b"));
    assert_eq!(convert(Some("a;b"), &sf, &checkbox, &rule()).unwrap(), "a;b");
    let num = prop(HsType::Number, "number", &[]);
    let sf = infer_sf_type(&num, Some("9.9213206E7"));
    assert_eq!(convert(Some("9.9213206E7"), &sf, &num, &rule()).unwrap(), "99213206");
}
