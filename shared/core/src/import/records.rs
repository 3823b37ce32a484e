//! Salesforce records -> work items, and the SOQL an import runs.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::mapping::Mapping;
use crate::outbound::Fields;
use crate::work_item::{Op, Source, WORK_ITEM_VERSION, WorkItem};

/// A record as the REST API returns it (a Bulk CSV row is turned into one by the reader: empty
/// cell = `null`, every other cell a string).
pub type RawRecord = Map<String, Value>;

/// Why a record cannot become a work item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("a {object} record has no Id (the query must select Id)")]
    MissingId { object: String },
}

/// The SOQL of an import: `Id`, the version field, every mapped field and every association
/// lookup, each once, in that order; the import's filter; in `Id` order, so that the last Id on
/// the queue is a checkpoint that never expires (see [`import_soql_after`]).
pub fn import_soql(mapping: &Mapping, filter: Option<&str>) -> String {
    import_soql_after(mapping, filter, None)
}

/// [`import_soql`] from the record after `after` on: `WHERE Id > 'after' AND (filter) ORDER BY
/// Id`. The filter is kept whole in parentheses, so that an `OR` in it cannot escape the key.
pub fn import_soql_after(mapping: &Mapping, filter: Option<&str>, after: Option<&str>) -> String {
    let mut fields: Vec<&str> = vec!["Id", mapping.version_field.as_str()];
    let mapped = mapping.fields.iter().map(|f| f.salesforce.as_str());
    let lookups = mapping.associations.iter().map(|a| a.lookup.as_str());
    for name in mapped.chain(lookups) {
        if !fields.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            fields.push(name);
        }
    }
    let mut soql = format!("SELECT {} FROM {}", fields.join(", "), mapping.salesforce_object);
    let filter = filter.map(str::trim).filter(|c| !c.is_empty());
    match (after, filter) {
        (Some(id), Some(cond)) => {
            soql.push_str(&format!(" WHERE Id > '{}' AND ({cond})", soql_string(id)));
        }
        (Some(id), None) => soql.push_str(&format!(" WHERE Id > '{}'", soql_string(id))),
        (None, Some(cond)) => {
            soql.push_str(" WHERE ");
            soql.push_str(cond);
        }
        (None, None) => {}
    }
    soql.push_str(" ORDER BY Id");
    soql
}

/// A value inside a SOQL string literal (`\` and `'` escaped).
pub(crate) fn soql_string(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The field values as an outbound message would carry them: strings as they are, numbers in
/// their JSON text, booleans `true`/`false`, `null` as null; `attributes`, nested relationship
/// objects and arrays are dropped; `Id` becomes the record id, not a field.
pub fn fields_of(record: &RawRecord) -> Fields {
    let mut fields = Fields::with_capacity(record.len());
    for (name, value) in record {
        if name == "attributes" || name.eq_ignore_ascii_case("Id") {
            continue;
        }
        let text = match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(_) | Value::Array(_) => continue,
        };
        fields.insert(name.clone(), text);
    }
    fields
}

/// One imported record as an upsert work item from `source` (an import, or a reconcile).
pub fn to_work_item(
    record: &RawRecord,
    org_id: &str,
    object: &str,
    source: Source,
    received_at: OffsetDateTime,
) -> Result<WorkItem, ConvertError> {
    let record_id = record
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Id"))
        .and_then(|(_, v)| v.as_str())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConvertError::MissingId { object: object.to_owned() })?;
    Ok(WorkItem {
        v: WORK_ITEM_VERSION,
        op: Op::Upsert,
        org_id: org_id.to_owned(),
        sobject: object.to_owned(),
        record_id: record_id.to_owned(),
        fields: fields_of(record),
        source,
        received_at,
    })
}

/// A delete work item from the sweep.
pub fn delete_item(
    org_id: &str,
    object: &str,
    record_id: &str,
    received_at: OffsetDateTime,
) -> WorkItem {
    WorkItem {
        v: WORK_ITEM_VERSION,
        op: Op::Delete,
        org_id: org_id.to_owned(),
        sobject: object.to_owned(),
        record_id: record_id.to_owned(),
        fields: Fields::new(),
        source: Source::DeleteSweep,
        received_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn converts_values_as_outbound_messages_carry_them() {
        let record = json!({
            "attributes": {"type": "Invoice__c", "url": "/x"},
            "Id": "a01xx000003DGb4AAG",
            "Name": "INV-1",
            "Amount__c": 120000.5,
            "Count__c": 3,
            "Paid__c": false,
            "Notes__c": null,
            "Account__r": {"attributes": {}, "Name": "Acme"},
            "Tags": ["a"]
        });
        let Value::Object(record) = record else { unreachable!() };
        let item = to_work_item(
            &record,
            "00D",
            "Invoice__c",
            Source::Import { import_id: "imp-1".into(), force: false },
            datetime!(2026-11-28 10:00 UTC),
        )
        .unwrap();
        assert_eq!(item.record_id, "a01xx000003DGb4AAG");
        assert_eq!(item.op, Op::Upsert);
        assert_eq!(item.source, Source::Import { import_id: "imp-1".into(), force: false });
        let got: Vec<(&str, Option<&str>)> =
            item.fields.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                ("Name", Some("INV-1")),
                ("Amount__c", Some("120000.5")),
                ("Count__c", Some("3")),
                ("Paid__c", Some("false")),
                ("Notes__c", None),
            ]
        );
        let mut no_id = record.clone();
        no_id.remove("Id");
        assert!(matches!(
            to_work_item(
                &no_id,
                "00D",
                "Invoice__c",
                Source::Reconcile,
                datetime!(2026-11-28 10:00 UTC)
            ),
            Err(ConvertError::MissingId { .. })
        ));
    }

    #[test]
    fn soql_selects_id_version_fields_and_lookups_once() {
        let mapping: Mapping = serde_norway::from_str(
            r#"
salesforce_object: Invoice__c
hubspot_object: p1_invoice
id_property: salesforce_id
fields:
  - {salesforce: Name, hubspot: name}
  - {salesforce: SystemModstamp, hubspot: modstamp}
associations:
  - lookup: Account__c
    to: companies
    find_parent_by: {property: salesforceaccountid}
"#,
        )
        .unwrap();
        assert_eq!(
            import_soql(&mapping, Some(" Status__c = 'Paid' ")),
            "SELECT Id, SystemModstamp, Name, Account__c FROM Invoice__c WHERE Status__c = 'Paid' ORDER BY Id"
        );
        assert_eq!(
            import_soql(&mapping, None),
            "SELECT Id, SystemModstamp, Name, Account__c FROM Invoice__c ORDER BY Id"
        );
        // Resumed after a key: the filter kept whole, AND-ed in parentheses.
        assert_eq!(
            import_soql_after(
                &mapping,
                Some("Status__c = 'Paid' OR Amount__c > 5"),
                Some("a015g0000000ABC")
            ),
            "SELECT Id, SystemModstamp, Name, Account__c FROM Invoice__c WHERE Id > 'a015g0000000ABC' AND (Status__c = 'Paid' OR Amount__c > 5) ORDER BY Id"
        );
        assert_eq!(
            import_soql_after(&mapping, None, Some("x'y")),
            "SELECT Id, SystemModstamp, Name, Account__c FROM Invoice__c WHERE Id > 'x\\'y' ORDER BY Id"
        );
    }
}
