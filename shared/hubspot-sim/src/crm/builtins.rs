//! The objects and association types every portal has, read from `builtins.json` (written in
//! the shape of HubSpot's schema and association answers).

use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Builtins {
    pub objects: Vec<BuiltinObject>,
    pub association_types: Vec<BuiltinAssociation>,
}

/// A built-in object: its id (`0-1`), its name (`contacts`) and singular name (`contact`),
/// both of which resolve to it, its labels and the properties it has besides HubSpot's own.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BuiltinObject {
    pub object_type_id: String,
    pub name: String,
    pub singular_name: String,
    pub labels: Labels,
    pub properties: Vec<BuiltinProperty>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Labels {
    pub singular: String,
    pub plural: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BuiltinProperty {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub field_type: String,
}

/// A HubSpot-defined default association type between built-in objects, and its inverse.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BuiltinAssociation {
    pub from: String,
    pub to: String,
    pub type_id: u32,
    pub inverse_type_id: u32,
}

/// The built-ins, read once. The file is part of the simulator's source: a test reads it.
pub(super) static BUILTINS: LazyLock<Builtins> = LazyLock::new(|| {
    serde_json::from_str(include_str!("builtins.json"))
        .unwrap_or_else(|e| panic!("builtins.json does not read: {e}"))
});

#[cfg(test)]
mod tests {
    use super::BUILTINS;

    #[test]
    fn the_builtins_read_and_their_associations_join_builtins() {
        let ids: Vec<&str> = BUILTINS.objects.iter().map(|o| o.object_type_id.as_str()).collect();
        assert_eq!(ids, ["0-1", "0-2", "0-3", "0-5"]);
        for a in &BUILTINS.association_types {
            assert!(ids.contains(&a.from.as_str()) && ids.contains(&a.to.as_str()), "{a:?}");
        }
    }
}
