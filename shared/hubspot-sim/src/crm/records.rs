//! Single records: create, read, update, archive, list; and the whole portal for a dump.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::input::*;
use super::{Answer, Crm, TypeStore};
use crate::config::SimConfig;
use crate::error::HsError;

impl Crm {
    pub fn create_one(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let input: WriteInput = parse(body)?;
        let wrapped = json!({"inputs": [{"properties": input.properties}]});
        let (status, v) = self.batch_create(t, wrapped.to_string().as_bytes(), cfg)?;
        if status != StatusCode::CREATED {
            return Ok((status, v));
        }
        let rec = v.get("results").and_then(|r| r.get(0)).cloned().unwrap_or(Value::Null);
        Ok((StatusCode::CREATED, rec))
    }
    pub fn update_one(
        &mut self,
        t: &str,
        rid: &str,
        id_property: Option<&str>,
        body: &[u8],
        cfg: &SimConfig,
    ) -> Answer {
        let input: WriteInput = parse(body)?;
        let wrapped = json!({"inputs": [{"id": rid, "idProperty": id_property, "properties": input.properties}]});
        let (status, v) = self.batch_update(t, wrapped.to_string().as_bytes(), cfg)?;
        match v.get("results").and_then(|r| r.get(0)) {
            Some(r) if status == StatusCode::OK || v.get("numErrors").is_none() => {
                Ok((StatusCode::OK, r.clone()))
            }
            _ => Err(HsError::not_found(format!("Object with id {rid} not found"))),
        }
    }
    pub fn read_one(
        &self,
        t: &str,
        rid: &str,
        id_property: Option<&str>,
        properties: &[String],
        archived: bool,
    ) -> Answer {
        let tid = self.resolve_or_err(t)?;
        let empty = TypeStore::default();
        let store = self.stores.get(&tid).unwrap_or(&empty);
        let id_prop = id_property.unwrap_or("hs_object_id");
        let found = if archived {
            rid.parse::<u64>().ok().and_then(|n| store.records.get(&n))
        } else {
            store.find(id_prop, rid).and_then(|n| store.live(n))
        };
        let r = found.ok_or_else(|| {
            HsError::not_found("Object not found.  objectId are usually numeric.")
                .with("context", json!({"id": [rid]}))
        })?;
        Ok((StatusCode::OK, r.render(properties.iter().map(String::as_str))))
    }
    pub fn list(
        &self,
        t: &str,
        limit: usize,
        after: u64,
        properties: &[String],
        archived: bool,
    ) -> Answer {
        let tid = self.resolve_or_err(t)?;
        if limit > 100 {
            return Err(HsError::validation("limit may not exceed 100"));
        }
        let empty = TypeStore::default();
        let store = self.stores.get(&tid).unwrap_or(&empty);
        let mut it = store
            .records
            .range(after..)
            .map(|(_, r)| r)
            .filter(|r| r.archived_at.is_some() == archived);
        let results: Vec<Value> = it
            .by_ref()
            .take(limit)
            .map(|r| r.render(properties.iter().map(String::as_str)))
            .collect();
        let mut body = json!({"results": results});
        if let (Some(next), Some(o)) = (it.next(), body.as_object_mut()) {
            o.insert("paging".into(), json!({"next": {"after": next.id.to_string()}}));
        }
        Ok((StatusCode::OK, body))
    }
    pub fn archive_one(&mut self, t: &str, rid: &str, cfg: &SimConfig) -> Answer {
        let body = json!({"inputs": [{"id": rid}]}).to_string();
        self.batch_archive(t, body.as_bytes(), cfg)
    }
    /// What HubSpot's UI does from the recycle bin: the archived record `id` live again, with its
    /// properties and unique values (its associations stay gone).
    pub fn restore(&mut self, t: &str, id: u64) -> Result<(), String> {
        let tid = self.resolve(t).ok_or_else(|| format!("the portal has no object type {t}"))?;
        let unique = self.schemas.get(&tid).map(Self::unique_props).unwrap_or_default();
        let store = self.stores.entry(tid).or_default();
        match store.records.get(&id) {
            None => return Err(format!("{t} has no record {id}")),
            Some(r) if r.archived_at.is_none() => {
                return Err(format!("{t} record {id} is not archived"));
            }
            Some(_) => {}
        }
        store.restore(id, &unique).map_err(|(name, value, holder)| {
            format!("{t} record {holder} holds {name}={value}: record {id} cannot be restored while it does")
        })
    }
    pub fn dump(&self) -> Value {
        let types: Map<String, Value> = self
            .schemas
            .values()
            .map(|s| {
                let store = self.stores.get(&s.object_type_id);
                (
                    s.object_type_id.clone(),
                    json!({
                        "name": s.name,
                        "fullyQualifiedName": s.fqn,
                        "records": store.map_or(0, |x| x.records.len()),
                        "live": store.map_or(0, TypeStore::live_count),
                    }),
                )
            })
            .collect();
        json!({"portalId": self.portal_id, "objectTypes": types, "associations": self.edges.len() / 2})
    }
    pub fn all_records(&self, t: &str) -> Option<Vec<Value>> {
        let tid = self.resolve(t)?;
        let store = self.stores.get(&tid)?;
        Some(
            store
                .records
                .values()
                .map(|r| r.render(r.props.keys().map(String::as_str).collect::<Vec<_>>()))
                .collect(),
        )
    }
}
