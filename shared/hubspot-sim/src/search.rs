//! `POST .../{type}/search`: filter groups, operators, one sort, paging and the 10,000 cap.

use std::cmp::Ordering;
use std::str::FromStr;
use std::time::Instant;

use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::crm::{Answer, Crm, Record};
use crate::error::HsError;
use crate::model::Schema;

pub const MAX_GROUPS: usize = 5;
pub const MAX_FILTERS_PER_GROUP: usize = 6;
pub const MAX_FILTERS: usize = 18;
pub const MAX_PAGE: usize = 200;
pub const MAX_RESULTS: usize = 10_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    property_name: String,
    operator: String,
    value: Option<Value>,
    high_value: Option<Value>,
    #[serde(default)]
    values: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Sort {
    Name(String),
    Full {
        #[serde(rename = "propertyName")]
        property_name: String,
        direction: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    #[serde(default)]
    filter_groups: Vec<Group>,
    #[serde(default)]
    sorts: Vec<Sort>,
    query: Option<String>,
    #[serde(default)]
    properties: Vec<String>,
    limit: Option<usize>,
    after: Option<Value>,
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A comparable number for number, date and datetime values (dates as epoch ms).
fn numeric(schema: &Schema, prop: &str, v: &str) -> Option<Decimal> {
    let t = schema.property(prop).map_or("string", |p| p.type_.as_str());
    match t {
        "number" => Decimal::from_str(v).ok(),
        "date" | "datetime" => {
            if let Ok(ms) = v.parse::<i64>() {
                return Some(Decimal::from(ms));
            }
            let iso = if v.len() == 10 { format!("{v}T00:00:00Z") } else { v.to_string() };
            let t = OffsetDateTime::parse(&iso, &Rfc3339).ok()?;
            Some(Decimal::from(i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?))
        }
        _ => None,
    }
}

fn compare(schema: &Schema, prop: &str, a: &str, b: &str) -> Ordering {
    match (numeric(schema, prop, a), numeric(schema, prop, b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn matches(schema: &Schema, rec: &Record, f: &Filter) -> Result<bool, HsError> {
    let have = rec.value(&f.property_name);
    let want = f.value.as_ref().map(scalar);
    let need = |w: &Option<String>| {
        w.clone()
            .ok_or_else(|| HsError::validation(format!("Operator {} needs a value", f.operator)))
    };
    let eq = |h: &str, w: &str| compare(schema, &f.property_name, h, w) == Ordering::Equal;
    Ok(match f.operator.as_str() {
        "EQ" => {
            let w = need(&want)?;
            have.is_some_and(|h| eq(&h, &w))
        }
        "NEQ" => {
            let w = need(&want)?;
            have.is_none_or(|h| !eq(&h, &w))
        }
        "LT" | "LTE" | "GT" | "GTE" => {
            let w = need(&want)?;
            match have {
                None => false,
                Some(h) => {
                    let o = compare(schema, &f.property_name, &h, &w);
                    match f.operator.as_str() {
                        "LT" => o == Ordering::Less,
                        "LTE" => o != Ordering::Greater,
                        "GT" => o == Ordering::Greater,
                        _ => o != Ordering::Less,
                    }
                }
            }
        }
        "BETWEEN" => {
            let lo = need(&want)?;
            let hi = need(&f.high_value.as_ref().map(scalar))?;
            have.is_some_and(|h| {
                compare(schema, &f.property_name, &h, &lo) != Ordering::Less
                    && compare(schema, &f.property_name, &h, &hi) != Ordering::Greater
            })
        }
        "IN" | "NOT_IN" => {
            if f.values.is_empty() {
                return Err(HsError::validation(format!("Operator {} needs values", f.operator)));
            }
            let inside = have.as_ref().is_some_and(|h| f.values.iter().any(|v| eq(h, &scalar(v))));
            if f.operator == "IN" { inside } else { !inside }
        }
        "HAS_PROPERTY" => have.is_some(),
        "NOT_HAS_PROPERTY" => have.is_none(),
        "CONTAINS_TOKEN" | "NOT_CONTAINS_TOKEN" => {
            let w = need(&want)?.to_lowercase();
            let found = have.as_ref().is_some_and(|h| {
                let h = h.to_lowercase();
                let pattern = w.trim_matches('*');
                if w.starts_with('*') || w.ends_with('*') {
                    h.contains(pattern)
                } else {
                    h.split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.')
                        .any(|tok| tok == pattern)
                }
            });
            if f.operator == "CONTAINS_TOKEN" { found } else { !found }
        }
        other => return Err(HsError::validation(format!("Unknown operator {other}"))),
    })
}

impl Crm {
    pub fn search(&self, t: &str, body: &[u8]) -> Answer {
        let tid = self
            .resolve(t)
            .ok_or_else(|| HsError::validation(format!("Unable to infer object type from: {t}")))?;
        let req: SearchRequest = serde_json::from_slice(body).map_err(|e| HsError::bad_json(&e))?;
        let schema = &self.schemas[&tid];
        if req.filter_groups.len() > MAX_GROUPS {
            return Err(HsError::validation(format!(
                "At most {MAX_GROUPS} filter groups are allowed"
            )));
        }
        let total_filters: usize = req.filter_groups.iter().map(|g| g.filters.len()).sum();
        if req.filter_groups.iter().any(|g| g.filters.len() > MAX_FILTERS_PER_GROUP)
            || total_filters > MAX_FILTERS
        {
            return Err(HsError::validation(format!(
                "At most {MAX_FILTERS_PER_GROUP} filters per group and {MAX_FILTERS} in all are allowed"
            )));
        }
        if req.sorts.len() > 1 {
            return Err(HsError::validation("Only one sort is allowed"));
        }
        let limit = req.limit.unwrap_or(10);
        if limit > MAX_PAGE {
            return Err(HsError::validation(format!("limit may not exceed {MAX_PAGE}")));
        }
        let after: usize = match &req.after {
            None => 0,
            Some(v) => {
                scalar(v).parse().map_err(|_| HsError::validation("after must be a number"))?
            }
        };
        if after >= MAX_RESULTS {
            return Err(HsError::validation(format!(
                "Search results are limited to {MAX_RESULTS}; page with other filters instead of after={after}"
            )));
        }
        for f in req.filter_groups.iter().flat_map(|g| &g.filters) {
            if !matches!(
                f.property_name.as_str(),
                "hs_object_id" | "hs_createdate" | "hs_lastmodifieddate"
            ) && schema.property(&f.property_name).is_none()
            {
                return Err(HsError::validation(format!(
                    "Property {} does not exist",
                    f.property_name
                )));
            }
        }
        let now = Instant::now();
        let mut hits: Vec<&Record> = Vec::new();
        if let Some(store) = self.stores.get(&tid) {
            for r in store.records.values() {
                if r.archived_at.is_some() || r.searchable_at > now {
                    continue;
                }
                if let Some(q) = &req.query {
                    let q = q.to_lowercase();
                    if !r.props.values().any(|v| v.to_lowercase().contains(&q)) {
                        continue;
                    }
                }
                let mut ok = req.filter_groups.is_empty();
                for g in &req.filter_groups {
                    let mut all = true;
                    for f in &g.filters {
                        if !matches(schema, r, f)? {
                            all = false;
                            break;
                        }
                    }
                    if all {
                        ok = true;
                        break;
                    }
                }
                if ok {
                    hits.push(r);
                }
            }
        }
        if let Some(sort) = req.sorts.first() {
            let (prop, desc) = match sort {
                Sort::Name(n) => (n.trim_start_matches('-').to_string(), n.starts_with('-')),
                Sort::Full { property_name, direction } => (
                    property_name.clone(),
                    direction.as_deref().is_some_and(|d| d.eq_ignore_ascii_case("DESCENDING")),
                ),
            };
            hits.sort_by(|a, b| {
                let o = match (a.value(&prop), b.value(&prop)) {
                    (Some(x), Some(y)) => compare(schema, &prop, &x, &y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                let o = if desc { o.reverse() } else { o };
                o.then(a.id.cmp(&b.id))
            });
        }
        let total = hits.len();
        let page: Vec<Value> = hits
            .iter()
            .skip(after)
            .take(limit)
            .map(|r| r.render(req.properties.iter().map(String::as_str)))
            .collect();
        let mut body = json!({"total": total, "results": page});
        let next = after + limit;
        if next < total
            && next < MAX_RESULTS
            && let Some(o) = body.as_object_mut()
        {
            o.insert("paging".into(), json!({"next": {"after": next.to_string()}}));
        }
        Ok((StatusCode::OK, body))
    }
}
