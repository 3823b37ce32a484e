//! The keys of the records table, as types: a record's ([`RecordKey`]) and a parent found by a
//! HubSpot property ([`ParentKey`]). Both are strings in the table; as types they cannot be
//! swapped for each other, nor for a Salesforce id, where they cross the [`super::Ledger`] port.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A record's key in the ledger: `{sobject lowercased}#{record id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordKey(String);

impl RecordKey {
    pub fn new(sobject: &str, record_id: &str) -> Self {
        Self(format!("{}#{record_id}", sobject.to_ascii_lowercase()))
    }

    /// The Salesforce object, lowercased.
    pub fn object(&self) -> &str {
        self.0.split_once('#').map_or("", |(object, _)| object)
    }

    /// The Salesforce record id.
    pub fn record_id(&self) -> &str {
        self.0.split_once('#').map_or("", |(_, id)| id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The records-table key under which a parent found by a HubSpot property is remembered for
/// every worker: `~parent#{object}#{property}#{value}` (`~` keeps these apart from record keys:
/// Salesforce names never start with it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ParentKey(String);

impl ParentKey {
    pub fn new(object: &str, property: &str, value: &str) -> Self {
        Self(format!(
            "~parent#{}#{}#{value}",
            object.to_ascii_lowercase(),
            property.to_ascii_lowercase()
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A string read back from the table that is not the key it was read as (another kind of item,
/// or a value written by something else).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` is not a {kind} key (written as {form})")]
pub struct NotAKey {
    pub key: String,
    pub kind: &'static str,
    pub form: &'static str,
}

/// A key as the table holds it (written by [`RecordKey::new`]): `{object}#{record id}`.
impl TryFrom<String> for RecordKey {
    type Error = NotAKey;

    fn try_from(key: String) -> Result<Self, NotAKey> {
        match key.split_once('#') {
            Some((object, id)) if !object.is_empty() && !id.is_empty() && !key.starts_with('~') => {
                Ok(Self(key))
            }
            _ => Err(NotAKey { key, kind: "record", form: "`{object}#{record id}`" }),
        }
    }
}

/// A key as the table holds it (written by [`ParentKey::new`]).
impl TryFrom<String> for ParentKey {
    type Error = NotAKey;

    fn try_from(key: String) -> Result<Self, NotAKey> {
        if key.starts_with("~parent#") {
            Ok(Self(key))
        } else {
            Err(NotAKey { key, kind: "parent", form: "`~parent#{object}#{property}#{value}`" })
        }
    }
}

macro_rules! key_as_str {
    ($t:ty) => {
        impl From<$t> for String {
            fn from(key: $t) -> String {
                key.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        /// Lets a map keyed by the type be read with a `&str` (the hash is the string's).
        impl Borrow<str> for $t {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}
key_as_str!(RecordKey);
key_as_str!(ParentKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_key_lowercases_the_object_and_keeps_the_id() {
        let key = RecordKey::new("Invoice__c", "a01XX000003DHPlYAO");
        assert_eq!(key.as_str(), "invoice__c#a01XX000003DHPlYAO");
        assert_eq!(key.object(), "invoice__c");
        assert_eq!(key.record_id(), "a01XX000003DHPlYAO");
        assert_eq!(RecordKey::try_from(key.to_string()), Ok(key));
    }

    #[test]
    fn stored_keys_of_the_other_kind_are_not_taken_for_a_record_or_a_parent() {
        let parent = ParentKey::new("Companies", "SalesforceAccountId", "001A");
        assert_eq!(parent.as_str(), "~parent#companies#salesforceaccountid#001A");
        assert!(RecordKey::try_from(parent.to_string()).is_err());
        let err = RecordKey::try_from("invoice__c".to_owned()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`invoice__c` is not a record key (written as `{object}#{record id}`)"
        );
        assert!(ParentKey::try_from("invoice__c#a01".to_owned()).is_err());
        assert_eq!(ParentKey::try_from(parent.to_string()), Ok(parent.clone()));
        // What a store reads back through serde is checked the same way.
        let read: Result<Vec<RecordKey>, _> =
            serde_json::from_str(r#"["account#001A", "~parent#x#y#z"]"#);
        assert!(read.is_err());
    }

    #[test]
    fn a_map_by_key_answers_a_str() {
        let key = RecordKey::new("Account", "001A");
        let map = std::collections::HashMap::from([(key, 1)]);
        assert_eq!(map.get("account#001A"), Some(&1));
    }
}
