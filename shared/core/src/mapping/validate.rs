//! Validation of mapping files: every problem at once, each with file, field and fix. Errors block
//! `apply` and `enable`; warnings do not.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use super::model::{FieldMapping, FindParentBy, Mapping, State};
use super::schema::{HsObject, SfObject, SfType, builtin_type_id};
use super::value::compatible;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    /// The mapping file (or the object, for stored mappings).
    pub file: String,
    /// Where in the mapping: `fields[2].hubspot`, `associations[0].lookup`, `id_property`.
    pub path: String,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.severity == Severity::Error { "error" } else { "warning" };
        let Self { file, path, message, fix, .. } = self;
        write!(f, "{level}: {file}: {path}: {message} (fix: {fix})")
    }
}

/// A mapping with the file it came from.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub file: &'a str,
    pub mapping: &'a Mapping,
}

struct Report<'a> {
    file: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl Report<'_> {
    fn error(&mut self, at: impl Into<String>, msg: impl Into<String>, fix: impl Into<String>) {
        self.push(Severity::Error, at.into(), msg.into(), fix.into());
    }

    fn warning(&mut self, at: impl Into<String>, msg: impl Into<String>, fix: impl Into<String>) {
        self.push(Severity::Warning, at.into(), msg.into(), fix.into());
    }

    /// An error at `at` when `name` is not a Salesforce field API name (`example` is one).
    fn field_api_name(&mut self, at: String, name: &str, example: &str) {
        if !is_api_name(name) {
            let fix = format!("use the field's API name, like {example}");
            self.error(at, format!("{name:?} is not a Salesforce field API name"), fix);
        }
    }

    fn push(&mut self, severity: Severity, path: String, message: String, fix: String) {
        self.problems.push(Problem { severity, file: self.file.to_owned(), path, message, fix });
    }
}

fn is_api_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `2-123`, `0-2`, `p123_name`, or a built-in name (`companies`).
pub fn is_hubspot_object_ref(s: &str) -> bool {
    let type_id = s.split_once('-').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
    });
    let fqn = s.strip_prefix('p').and_then(|r| r.split_once('_')).is_some_and(|(portal, name)| {
        !portal.is_empty() && portal.bytes().all(|c| c.is_ascii_digit()) && is_api_name(name)
    });
    type_id || fqn || builtin_type_id(s).is_some()
}

/// Checks that need no network: shape, uniqueness, references between the given mappings.
pub fn validate_offline(sources: &[Source<'_>]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut by_object: HashMap<String, &str> = HashMap::new();
    for s in sources {
        let mut r = Report { file: s.file, problems: &mut problems };
        let m = s.mapping;
        let key = m.salesforce_object.to_ascii_lowercase();
        if let Some(other) = by_object.insert(key, s.file) {
            r.error(
                "salesforce_object",
                format!("{} is also mapped in {other}", m.salesforce_object),
                "keep one mapping file per Salesforce object",
            );
        }
        check_one(m, &mut r);
    }
    // References between mappings.
    let synced: HashMap<String, &Mapping> = sources
        .iter()
        .map(|s| (s.mapping.salesforce_object.to_ascii_lowercase(), s.mapping))
        .collect();
    for s in sources {
        let mut r = Report { file: s.file, problems: &mut problems };
        for (i, a) in s.mapping.associations.iter().enumerate() {
            if let FindParentBy::Mapping(target) = &a.find_parent_by {
                match synced.get(&target.to_ascii_lowercase()) {
                    None => r.error(
                        format!("associations[{i}].find_parent_by.mapping"),
                        format!("no mapping syncs {target}; associations go only between objects that sync"),
                        format!("add a mapping for {target}, or find the parent by a HubSpot property instead"),
                    ),
                    Some(parent) if parent.state == State::Paused && s.mapping.state == State::Enabled => r.warning(
                        format!("associations[{i}].find_parent_by.mapping"),
                        format!("the mapping of {target} is paused: children will wait for parents that do not come"),
                        format!("enable the mapping of {target}"),
                    ),
                    Some(parent) if !parent.hubspot_object.eq_ignore_ascii_case(&a.to) => r.error(
                        format!("associations[{i}].to"),
                        format!("{target} syncs to {}, not {}", parent.hubspot_object, a.to),
                        format!("set to: {}", parent.hubspot_object),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
    problems
}

fn check_one(m: &Mapping, r: &mut Report<'_>) {
    if !is_api_name(&m.salesforce_object) {
        r.error(
            "salesforce_object",
            format!("{:?} is not a Salesforce API name", m.salesforce_object),
            "use the object's API name, like Invoice__c",
        );
    }
    if !is_hubspot_object_ref(&m.hubspot_object) {
        r.error(
            "hubspot_object",
            format!("{:?} names no HubSpot object", m.hubspot_object),
            "use the object type id (2-1234567) or the fully qualified name (p12345_invoice)",
        );
    }
    if m.id_property.trim().is_empty() {
        r.error(
            "id_property",
            "empty",
            "name the unique HubSpot property that holds the Salesforce id",
        );
    }
    if m.version_field.trim().is_empty() {
        r.error("version_field", "empty", "use SystemModstamp (the default) or LastModifiedDate");
    }
    if m.fields.is_empty() {
        r.warning(
            "fields",
            "no field is mapped: only the id property will be written",
            "map at least the fields HubSpot requires",
        );
    }
    let lookups: HashSet<String> =
        m.associations.iter().map(|a| a.lookup.to_ascii_lowercase()).collect();
    let mut sf_seen: HashMap<String, usize> = HashMap::new();
    let mut hs_seen: HashMap<&str, usize> = HashMap::new();
    for (i, f) in m.fields.iter().enumerate() {
        r.field_api_name(format!("fields[{i}].salesforce"), &f.salesforce, "Amount__c");
        if f.hubspot.trim().is_empty() {
            r.error(
                format!("fields[{i}].hubspot"),
                "empty",
                "name the HubSpot property's internal name",
            );
        }
        if f.salesforce.eq_ignore_ascii_case("Id") {
            r.error(
                format!("fields[{i}].salesforce"),
                "the record Id is written to id_property by the sync itself",
                "remove this field",
            );
        }
        if f.hubspot == m.id_property {
            r.error(
                format!("fields[{i}].hubspot"),
                format!(
                    "{} is the id property; the sync writes the Salesforce id there",
                    f.hubspot
                ),
                "map this field to another property",
            );
        }
        if let Some(first) = sf_seen.insert(f.salesforce.to_ascii_lowercase(), i) {
            r.error(
                format!("fields[{i}].salesforce"),
                format!("{} is already mapped in fields[{first}]", f.salesforce),
                "map each Salesforce field once",
            );
        }
        if let Some(first) = hs_seen.insert(&f.hubspot, i) {
            r.error(
                format!("fields[{i}].hubspot"),
                format!("property {} is already written by fields[{first}]", f.hubspot),
                "write each HubSpot property from one field",
            );
        }
        if lookups.contains(&f.salesforce.to_ascii_lowercase()) {
            r.error(
                format!("fields[{i}].salesforce"),
                format!("{} is a lookup used by an association", f.salesforce),
                "lookups become associations; remove the field mapping",
            );
        }
    }
    let mut lookup_seen: HashMap<String, usize> = HashMap::new();
    for (i, a) in m.associations.iter().enumerate() {
        if let Some(first) = lookup_seen.insert(a.lookup.to_ascii_lowercase(), i) {
            r.error(
                format!("associations[{i}].lookup"),
                format!("{} is already used by associations[{first}]", a.lookup),
                "one association per lookup field",
            );
        }
        if !is_hubspot_object_ref(&a.to) {
            r.error(
                format!("associations[{i}].to"),
                format!("{:?} names no HubSpot object", a.to),
                "use companies, 0-2, 2-1234567 or p12345_name",
            );
        }
        if let FindParentBy::Property(p) = &a.find_parent_by
            && p.trim().is_empty()
        {
            r.error(
                format!("associations[{i}].find_parent_by.property"),
                "empty",
                "name the parent's property that stores its Salesforce id, like salesforceaccountid",
            );
        }
    }
    if let Some(t) = &m.salesforce_trigger {
        check_trigger(t, r);
    }
}

fn check_trigger(t: &super::model::SalesforceTrigger, r: &mut Report<'_>) {
    use super::model::TriggerOperator;
    if t.conditions.is_empty() {
        r.error(
            "salesforce_trigger.conditions",
            "no condition",
            "list at least one condition, or remove salesforce_trigger to send every change",
        );
    }
    for (i, c) in t.conditions.iter().enumerate() {
        r.field_api_name(
            format!("salesforce_trigger.conditions[{i}].field"),
            &c.field,
            "Status__c",
        );
        if c.operator == TriggerOperator::IsNull && !matches!(c.value.as_str(), "true" | "false") {
            r.error(
                format!("salesforce_trigger.conditions[{i}].value"),
                format!("is_null takes true or false, not {:?}", c.value),
                "write value: \"true\" (the field is empty) or \"false\"",
            );
        }
    }
}

/// What a live look-up found.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<T> {
    /// That side is not configured: its checks are skipped.
    Skipped,
    /// Looked up, and it does not exist.
    Missing,
    Found(T),
}

impl<T: Copy> Lookup<T> {
    pub fn from_option(checked: bool, found: Option<T>) -> Self {
        match (checked, found) {
            (false, _) => Self::Skipped,
            (true, None) => Self::Missing,
            (true, Some(t)) => Self::Found(t),
        }
    }

    fn found(self) -> Option<T> {
        match self {
            Self::Found(t) => Some(t),
            Self::Skipped | Self::Missing => None,
        }
    }
}

/// The live facts online validation needs for one mapping.
#[derive(Debug, Clone, Copy)]
pub struct Live<'a> {
    /// The HubSpot object.
    pub hubspot: Lookup<&'a HsObject>,
    /// The Salesforce describe.
    pub salesforce: Lookup<&'a SfObject>,
    /// HubSpot objects the associations point at, when they exist.
    pub association_targets: &'a [HsObject],
    /// Standard objects HubSpot's own integration syncs (so associations to them are allowed).
    pub natively_synced: &'a [String],
    /// The outbound message's selected fields, when they can be read.
    pub outbound_fields: Option<&'a [String]>,
}

/// Checks one mapping against the live HubSpot schema and Salesforce describe; a side that was
/// skipped is not checked.
pub fn validate_live(source: &Source<'_>, live: &Live<'_>, all: &[Source<'_>]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut r = Report { file: source.file, problems: &mut problems };
    let m = source.mapping;
    if let Lookup::Missing = live.hubspot {
        r.error(
            "hubspot_object",
            format!("HubSpot has no object {}", m.hubspot_object),
            "create the custom object first (`sfhs mappings schema-generate --create`), or fix the name",
        );
    }
    if let Lookup::Missing = live.salesforce {
        r.error(
            "salesforce_object",
            format!("Salesforce has no object {}", m.salesforce_object),
            "fix the object's API name (describeGlobal lists them)",
        );
    }
    if matches!(live.hubspot, Lookup::Missing) || matches!(live.salesforce, Lookup::Missing) {
        return problems;
    }
    let hs = live.hubspot.found();
    let sfo = live.salesforce.found();
    if let Some(hs) = hs {
        check_hubspot_object(m, hs, &mut r);
    }
    for (i, f) in m.fields.iter().enumerate() {
        check_field(&mut r, m, (i, f), hs, sfo);
    }
    if let Some(sfo) = sfo {
        check_salesforce_lookups(m, sfo, live, all, &mut r);
    }
    if let Some(hs) = hs {
        check_association_targets(m, hs, live, &mut r);
    }
    if let (Some(sfo), Some(t)) = (sfo, &m.salesforce_trigger) {
        for (i, c) in t.conditions.iter().enumerate() {
            if sfo.field(&c.field).is_none() {
                r.error(
                    format!("salesforce_trigger.conditions[{i}].field"),
                    format!("{} has no field {}", m.salesforce_object, c.field),
                    "fix the API name (describe lists them)",
                );
            }
        }
    }
    if let Some(selected) = live.outbound_fields {
        check_outbound_fields(m, selected, &mut r);
    }
    problems
}

/// Field `i` of the mapping against the live HubSpot property and Salesforce field (a side not
/// read is not checked): both exist, the property is writable, the types fit and every active
/// picklist value has an option.
fn check_field(
    r: &mut Report<'_>,
    m: &Mapping,
    (i, f): (usize, &FieldMapping),
    hs: Option<&HsObject>,
    sfo: Option<&SfObject>,
) {
    let p = hs.map(|h| h.property(&f.hubspot));
    if p == Some(None) {
        r.error(
            format!("fields[{i}].hubspot"),
            format!("{} has no property {}", m.hubspot_object, f.hubspot),
            "create the property in HubSpot or fix the name",
        );
        return;
    }
    let p = p.flatten();
    if let Some(p) = p.filter(|p| p.read_only) {
        r.error(
            format!("fields[{i}].hubspot"),
            format!("property {} is read-only (calculated)", p.name),
            "map to a writable property",
        );
    }
    // Without the describe, nothing below can be checked.
    let Some(sf) = sfo.map(|o| o.field(&f.salesforce)) else { return };
    let Some(sf) = sf else {
        r.error(
            format!("fields[{i}].salesforce"),
            format!("{} has no field {}", m.salesforce_object, f.salesforce),
            "fix the API name (describe lists them)",
        );
        return;
    };
    if sf.sf_type == SfType::Reference {
        r.error(
            format!("fields[{i}].salesforce"),
            format!("{} is a lookup", f.salesforce),
            "lookups become associations: move it to associations",
        );
        return;
    }
    let Some(p) = p else { return };
    if !compatible(&sf.sf_type, p) {
        r.error(
            format!("fields[{i}]"),
            format!(
                "Salesforce {} ({}) cannot be written to HubSpot {} ({:?}/{})",
                f.salesforce,
                sf.sf_type.name(),
                f.hubspot,
                p.hs_type,
                p.field_type
            ),
            "pick a property of a compatible type (docs/mappings.md has the table)",
        );
        return;
    }
    if !p.options.is_empty()
        && matches!(sf.sf_type, SfType::Picklist | SfType::Multipicklist | SfType::Combobox)
    {
        for v in &sf.picklist_values {
            let target = f.value_map.get(v).unwrap_or(v);
            if !p.options.iter().any(|o| o == target) {
                r.error(
                    format!("fields[{i}].value_map"),
                    format!(
                        "active picklist value {v:?} has no option in {} (options: {})",
                        f.hubspot,
                        p.options.join(", ")
                    ),
                    format!("add {v:?} to value_map, or the option to the HubSpot property"),
                );
            }
        }
    }
}

fn check_hubspot_object(m: &Mapping, hs: &HsObject, r: &mut Report<'_>) {
    match hs.property(&m.id_property) {
        None => r.error(
            "id_property",
            format!("{} has no property {}", m.hubspot_object, m.id_property),
            "create a string property with hasUniqueValue: true",
        ),
        Some(p) if !p.has_unique_value => r.error(
            "id_property",
            format!("property {} is not unique (hasUniqueValue is false)", m.id_property),
            "use a property created with hasUniqueValue: true; uniqueness cannot be added later",
        ),
        Some(_) => {}
    }
    let written: HashSet<&str> =
        m.fields.iter().map(|f| f.hubspot.as_str()).chain([m.id_property.as_str()]).collect();
    for required in &hs.required_properties {
        if !written.contains(required.as_str()) {
            r.error(
                "fields",
                format!(
                    "HubSpot requires property {required} on {}, and no field is mapped to it",
                    m.hubspot_object
                ),
                format!("map a Salesforce field to {required}"),
            );
        }
    }
}

fn check_salesforce_lookups(
    m: &Mapping,
    sfo: &SfObject,
    live: &Live<'_>,
    all: &[Source<'_>],
    r: &mut Report<'_>,
) {
    if sfo.field(&m.version_field).is_none() {
        r.error(
            "version_field",
            format!("{} has no field {}", m.salesforce_object, m.version_field),
            "use SystemModstamp or LastModifiedDate",
        );
    }
    for (i, a) in m.associations.iter().enumerate() {
        match sfo.field(&a.lookup) {
            None => r.error(
                format!("associations[{i}].lookup"),
                format!("{} has no field {}", m.salesforce_object, a.lookup),
                "fix the lookup's API name",
            ),
            Some(f) if f.sf_type != SfType::Reference => r.error(
                format!("associations[{i}].lookup"),
                format!("{} is a {}, not a lookup", a.lookup, f.sf_type.name()),
                "associations need a reference field",
            ),
            Some(f) => {
                if let FindParentBy::Mapping(target) = &a.find_parent_by {
                    if !f.reference_to.iter().any(|t| t.eq_ignore_ascii_case(target)) {
                        r.error(
                            format!("associations[{i}].find_parent_by.mapping"),
                            format!(
                                "{} points to {}, not {target}",
                                a.lookup,
                                f.reference_to.join(", ")
                            ),
                            "name the object the lookup points to",
                        );
                    }
                } else {
                    let targets_synced = f.reference_to.iter().any(|t| {
                        live.natively_synced.iter().any(|n| n.eq_ignore_ascii_case(t))
                            || all
                                .iter()
                                .any(|s| s.mapping.salesforce_object.eq_ignore_ascii_case(t))
                    });
                    if !targets_synced {
                        r.error(
                            format!("associations[{i}].lookup"),
                            format!("{} points to {}, which does not sync", a.lookup, f.reference_to.join(", ")),
                            "sync the parent object (a mapping here, or HubSpot's own integration for standard objects)",
                        );
                    }
                }
            }
        }
    }
}

fn check_association_targets(m: &Mapping, hs: &HsObject, live: &Live<'_>, r: &mut Report<'_>) {
    for (i, a) in m.associations.iter().enumerate() {
        let Some(t) = live.association_targets.iter().find(|t| t.is(&a.to)) else {
            r.error(
                format!("associations[{i}].to"),
                format!("HubSpot has no object {}", a.to),
                "fix the object name or create it",
            );
            continue;
        };
        if !hs.associated_objects.iter().any(|o| o == &t.object_type_id)
            && !t.associated_objects.iter().any(|o| o == &hs.object_type_id)
        {
            r.warning(
                format!("associations[{i}].to"),
                format!("{} and {} have no association type yet", m.hubspot_object, a.to),
                "add it to the schema's associatedObjects",
            );
        }
        if let FindParentBy::Property(p) = &a.find_parent_by
            && t.property(p).is_none()
        {
            r.error(
                format!("associations[{i}].find_parent_by.property"),
                format!("{} has no property {p}", a.to),
                "name the property that stores the parent's Salesforce id",
            );
        }
    }
}

fn check_outbound_fields(m: &Mapping, selected: &[String], r: &mut Report<'_>) {
    let has = |name: &str| selected.iter().any(|s| s.eq_ignore_ascii_case(name));
    for (i, f) in m.fields.iter().enumerate() {
        if !has(&f.salesforce) {
            r.error(
                format!("fields[{i}].salesforce"),
                format!(
                    "the outbound message does not send {}: HubSpot's {} is never updated by a change in Salesforce, nor cleared when the field is emptied (kept as it is)",
                    f.salesforce, f.hubspot
                ),
                format!("run `sfhs salesforce apply` (it deploys an outbound message that sends {})", f.salesforce),
            );
        }
    }
    if !has(&m.version_field) {
        r.error(
            "version_field",
            format!("the outbound message does not send {}", m.version_field),
            format!(
                "run `sfhs salesforce apply` (it deploys an outbound message that sends {})",
                m.version_field
            ),
        );
    }
    for (i, a) in m.associations.iter().enumerate() {
        if !has(&a.lookup) {
            r.error(
                format!("associations[{i}].lookup"),
                format!("the outbound message does not send {}", a.lookup),
                format!(
                    "run `sfhs salesforce apply` (it deploys an outbound message that sends {})",
                    a.lookup
                ),
            );
        }
    }
}

/// Whether any problem blocks `apply` and `enable`.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(|p| p.severity == Severity::Error)
}
