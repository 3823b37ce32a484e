//! Mappings as code: the file format, validation, and value conversion.

pub mod generate;
pub mod model;
pub mod properties;
pub mod propose;
pub mod schema;
pub mod sent;
pub mod store;
pub mod validate;
pub mod value;

pub use model::{
    AssociationMapping, FieldMapping, FindParentBy, Mapping, MatchMode, OnDelete,
    SalesforceTrigger, State, TooLong, TriggerCondition, TriggerOperator,
};
pub use validate::{Problem, Severity};

/// Reads one mapping file. A YAML or shape error becomes one problem naming the line and column.
pub fn parse_yaml(file: &str, text: &str) -> Result<Mapping, Problem> {
    serde_norway::from_str::<Mapping>(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("line {}, column {}", l.line(), l.column()))
            .unwrap_or_else(|| "the file".to_owned());
        Problem {
            severity: Severity::Error,
            file: file.to_owned(),
            path: at,
            message: e.to_string(),
            fix: "see docs/mappings.md for the format, or `sfhs mappings schema` for a JSON Schema"
                .to_owned(),
        }
    })
}

/// The JSON Schema of a mapping file, generated from the Rust types (for editor completion).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Mapping)).unwrap_or_default()
}
