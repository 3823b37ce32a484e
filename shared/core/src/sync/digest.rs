//! The content digest of a record as written to HubSpot: its HubSpot object, the properties as
//! sent (after conversion, so a mapping change that alters nothing HubSpot holds keeps the same
//! digest) and its associations (each lookup's target object, label and parent). The ledger keeps
//! it with the version; a newer version whose digest is the same is committed without a write.
//!
//! SHA-256 over a canonical JSON form (sorted maps), cut to 128 bits and written in hex: stable
//! across processes, releases and machines, unlike `std`'s hasher.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::mapping::AssociationMapping;

/// One association as it shapes what HubSpot holds.
#[derive(Debug, Serialize)]
struct Link<'a> {
    lookup: &'a str,
    to: &'a str,
    label: Option<&'a str>,
    /// The parent's Salesforce id (`None`: the lookup is empty, no association).
    parent: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Content<'a> {
    object: &'a str,
    properties: &'a BTreeMap<String, String>,
    links: Vec<Link<'a>>,
}

/// The digest of `properties` (as sent) and the associations of `associations` with each
/// lookup's value from `parent_of`.
pub fn content_digest<'a>(
    object: &str,
    properties: &BTreeMap<String, String>,
    associations: &'a [AssociationMapping],
    parent_of: impl Fn(&'a AssociationMapping) -> Option<String>,
) -> String {
    let parents: Vec<Option<String>> = associations.iter().map(&parent_of).collect();
    let mut links: Vec<Link<'_>> = associations
        .iter()
        .zip(&parents)
        .map(|(a, p)| Link {
            lookup: &a.lookup,
            to: &a.to,
            label: a.label.as_deref(),
            parent: p.as_deref(),
        })
        .collect();
    links.sort_by(|a, b| (a.lookup, a.to).cmp(&(b.lookup, b.to)));
    let content = Content { object, properties, links };
    // Serializing maps of strings cannot fail; an empty text would still hash consistently.
    let canonical = serde_json::to_vec(&content).unwrap_or_default();
    let hash = Sha256::digest(&canonical);
    hash.iter().take(16).fold(String::with_capacity(32), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::FindParentBy;

    fn assoc(lookup: &str, to: &str) -> AssociationMapping {
        AssociationMapping {
            lookup: lookup.into(),
            to: to.into(),
            find_parent_by: FindParentBy::Property("salesforceaccountid".into()),
            label: None,
        }
    }

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn same_content_same_digest_whatever_the_order() {
        let a = [assoc("Account__c", "companies"), assoc("Owner__c", "contacts")];
        let b = [assoc("Owner__c", "contacts"), assoc("Account__c", "companies")];
        let p = props(&[("name", "x"), ("amount", "1")]);
        let d1 = content_digest("p1_invoice", &p, &a, |m| Some(format!("{}-1", m.lookup)));
        let d2 = content_digest("p1_invoice", &p, &b, |m| Some(format!("{}-1", m.lookup)));
        assert_eq!(d1, d2);
        assert_eq!(d1.len(), 32);
    }

    #[test]
    fn any_change_of_what_hubspot_holds_changes_it() {
        let a = [assoc("Account__c", "companies")];
        let base = content_digest("o", &props(&[("name", "x")]), &a, |_| Some("001A".into()));
        for other in [
            content_digest("o", &props(&[("name", "y")]), &a, |_| Some("001A".into())),
            content_digest("o", &props(&[("name", "x"), ("n", "")]), &a, |_| Some("001A".into())),
            content_digest("o", &props(&[("name", "x")]), &a, |_| Some("001B".into())),
            content_digest("o", &props(&[("name", "x")]), &a, |_| None),
            content_digest("o2", &props(&[("name", "x")]), &a, |_| Some("001A".into())),
            content_digest("o", &props(&[("name", "x")]), &[], |_| None),
        ] {
            assert_ne!(base, other);
        }
    }
}
