//! How a flow's entry condition writes its value: the element Flow Builder writes for the field's
//! type (`numberValue` on a number field, `booleanValue` on a checkbox, ...). Salesforce checks a
//! filter's value against its field, so a number compared as a `stringValue` is refused.

use std::collections::HashMap;

use serde::Serialize;

use crate::mapping::model::{TriggerCondition, TriggerOperator};
use crate::mapping::schema::{SfObject, SfType};

/// The element of a `FlowElementReferenceOrValue` a condition's value is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FlowValue {
    String,
    Number,
    Boolean,
    Date,
    DateTime,
}

impl FlowValue {
    pub const ALL: [Self; 5] =
        [Self::String, Self::Number, Self::Boolean, Self::Date, Self::DateTime];

    /// The element's name in Flow metadata.
    pub fn element(self) -> &'static str {
        match self {
            Self::String => "stringValue",
            Self::Number => "numberValue",
            Self::Boolean => "booleanValue",
            Self::Date => "dateValue",
            Self::DateTime => "dateTimeValue",
        }
    }

    /// What Flow Builder writes for a field of type `t`: text, picklists, lookups, ids, e-mail,
    /// phone and URL fields compare as strings.
    pub fn of_field(t: &SfType) -> Self {
        match t {
            SfType::Int | SfType::Long | SfType::Double | SfType::Currency | SfType::Percent => {
                Self::Number
            }
            SfType::Boolean => Self::Boolean,
            SfType::Date => Self::Date,
            SfType::Datetime => Self::DateTime,
            _ => Self::String,
        }
    }

    /// Without the field's type (a package written with no org to describe): from the value's
    /// own shape.
    pub fn of_text(value: &str) -> Self {
        let v = value.trim();
        let is_date = |s: &str| {
            let b = s.as_bytes();
            b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        };
        if v.parse::<f64>().is_ok() {
            Self::Number
        } else if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
            Self::Boolean
        } else if is_date(v) {
            Self::Date
        } else if v.len() > 10 && is_date(&v[..10]) && v.as_bytes()[10] == b'T' {
            Self::DateTime
        } else {
            Self::String
        }
    }
}

/// The org's field types, by object and field (both case-insensitively): what the flows' entry
/// conditions are typed from. Empty when there is no org to describe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldTypes(HashMap<String, HashMap<String, SfType>>);

impl FieldTypes {
    /// From the objects' describes.
    pub fn of(objects: &[SfObject]) -> Self {
        Self(
            objects
                .iter()
                .map(|o| {
                    let fields = o
                        .fields
                        .iter()
                        .map(|f| (f.name.to_ascii_lowercase(), f.sf_type.clone()))
                        .collect();
                    (o.name.to_ascii_lowercase(), fields)
                })
                .collect(),
        )
    }

    /// The type of `object`'s `field`, when described.
    pub fn get(&self, object: &str, field: &str) -> Option<&SfType> {
        self.0.get(&object.to_ascii_lowercase())?.get(&field.to_ascii_lowercase())
    }

    /// How `object`'s condition `c` writes its value, and whether that is known from the field's
    /// type (`is_null` always compares a boolean); otherwise guessed from the value.
    pub fn value_of(&self, object: &str, c: &TriggerCondition) -> (FlowValue, bool) {
        if c.operator == TriggerOperator::IsNull {
            return (FlowValue::Boolean, true);
        }
        match self.get(object, &c.field) {
            Some(t) => (FlowValue::of_field(t), true),
            None => (FlowValue::of_text(&c.value), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::schema::SfField;

    fn field(name: &str, t: SfType) -> SfField {
        SfField {
            name: name.into(),
            sf_type: t,
            reference_to: vec![],
            picklist_values: vec![],
            length: None,
        }
    }

    fn cond(field: &str, operator: TriggerOperator, value: &str) -> TriggerCondition {
        TriggerCondition { field: field.into(), operator, value: value.into() }
    }

    #[test]
    fn the_value_is_typed_from_the_field_as_flow_builder_does() {
        let types = FieldTypes::of(&[SfObject {
            name: "acme__Shipment__c".into(),
            fields: vec![
                field("acme__Weight__c", SfType::Double),
                field("acme__Fragile__c", SfType::Boolean),
                field("acme__Shipped__c", SfType::Date),
                field("acme__Left_At__c", SfType::Datetime),
                field("acme__Status__c", SfType::Picklist),
                field("acme__Code__c", SfType::String),
            ],
        }]);
        let of = |f: &str, op, v: &str| types.value_of("ACME__SHIPMENT__C", &cond(f, op, v));
        use TriggerOperator::*;
        // A text field compares text, even when it looks like a number; a field not described
        // is typed from the value's shape.
        let cases = [
            ("acme__weight__c", GreaterThan, "0", FlowValue::Number, true),
            ("acme__Fragile__c", Equals, "true", FlowValue::Boolean, true),
            ("acme__Shipped__c", LessThan, "2026-12-01", FlowValue::Date, true),
            ("acme__Left_At__c", GreaterThan, "2026-12-01T00:00:00Z", FlowValue::DateTime, true),
            ("acme__Code__c", Equals, "42", FlowValue::String, true),
            ("acme__Status__c", NotEquals, "Draft", FlowValue::String, true),
            ("acme__Code__c", IsNull, "false", FlowValue::Boolean, true),
            ("Other__c", Equals, "12.5", FlowValue::Number, false),
        ];
        for (field, operator, value, typed, described) in cases {
            assert_eq!(of(field, operator, value), (typed, described), "{field} {value}");
        }
        assert_eq!(FlowValue::Number.element(), "numberValue");
        assert_eq!(FlowValue::DateTime.element(), "dateTimeValue");
    }

    #[test]
    fn without_a_describe_the_value_is_typed_from_its_shape() {
        assert_eq!(FlowValue::of_text(" 0 "), FlowValue::Number);
        assert_eq!(FlowValue::of_text("TRUE"), FlowValue::Boolean);
        assert_eq!(FlowValue::of_text("2026-12-01"), FlowValue::Date);
        assert_eq!(FlowValue::of_text("2026-12-01T10:00:00Z"), FlowValue::DateTime);
        assert_eq!(FlowValue::of_text("2026-12"), FlowValue::String);
        assert_eq!(FlowValue::of_text("Sent"), FlowValue::String);
    }
}
