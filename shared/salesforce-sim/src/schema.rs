//! The simulated org's objects and fields, their describe JSON, and the deterministic seed data.

use serde_json::{Map, Value, json};

/// A field type (describe's `type`), in the order of the SOAP API's "Field Types" reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Boolean,
    Currency,
    Date,
    Datetime,
    Double,
    Email,
    Id,
    Int,
    Multipicklist,
    Percent,
    Phone,
    Picklist,
    Reference,
    String,
    Textarea,
    Url,
}

impl FieldType {
    /// The value element a flow's entry condition on a field of this type is written with, as
    /// Flow Builder writes it (Salesforce checks a filter's value against its field).
    pub fn flow_value_element(self) -> &'static str {
        match self {
            FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Int => {
                "numberValue"
            }
            FieldType::Boolean => "booleanValue",
            FieldType::Date => "dateValue",
            FieldType::Datetime => "dateTimeValue",
            _ => "stringValue",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FieldType::Boolean => "boolean",
            FieldType::Currency => "currency",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Double => "double",
            FieldType::Email => "email",
            FieldType::Id => "id",
            FieldType::Int => "int",
            FieldType::Multipicklist => "multipicklist",
            FieldType::Percent => "percent",
            FieldType::Phone => "phone",
            FieldType::Picklist => "picklist",
            FieldType::Reference => "reference",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Url => "url",
        }
    }

    fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
            FieldType::Int => "xsd:int",
            FieldType::Date => "xsd:date",
            FieldType::Datetime => "xsd:dateTime",
            _ => "xsd:string",
        }
    }

    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::Id
                | FieldType::String
                | FieldType::Textarea
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Picklist
                | FieldType::Multipicklist
                | FieldType::Reference
        )
    }

    pub fn is_number(self) -> bool {
        matches!(
            self,
            FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Int
        )
    }
}

/// Where a lookup field points.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub target: String,
    pub relationship: String,
}

/// A field definition.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub field_type: FieldType,
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    pub nillable: bool,
    pub required: bool,
    pub custom: bool,
    pub calculated: bool,
    /// Set by the system (Id, dates, IsDeleted); not createable or updateable.
    pub system: bool,
    /// A lookup's target object and relationship name (`Account`, `Account__r`).
    pub lookup: Option<Lookup>,
    pub picklist: Vec<&'static str>,
    pub restricted_picklist: bool,
}

impl FieldDef {
    /// The lookup whose relationship name is `relationship` (case-insensitively).
    pub fn relationship(&self, relationship: &str) -> Option<&Lookup> {
        let lookup = self.lookup.as_ref()?;
        lookup.relationship.eq_ignore_ascii_case(relationship).then_some(lookup)
    }

    /// Whether this is a lookup to `object` (case-insensitively).
    pub fn points_to(&self, object: &str) -> bool {
        self.lookup.as_ref().is_some_and(|l| l.target.eq_ignore_ascii_case(object))
    }

    fn new(name: &str, label: &str, field_type: FieldType) -> FieldDef {
        let length = match field_type {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::String => 255,
            FieldType::Textarea => 32768,
            FieldType::Email | FieldType::Url => 255,
            FieldType::Phone => 40,
            FieldType::Picklist => 255,
            FieldType::Multipicklist => 4099,
            _ => 0,
        };
        let (precision, scale) = match field_type {
            FieldType::Double => (18, 2),
            FieldType::Currency => (16, 2),
            FieldType::Percent => (5, 2),
            _ => (0, 0),
        };
        FieldDef {
            name: name.to_owned(),
            label: label.to_owned(),
            field_type,
            length,
            precision,
            scale,
            nillable: field_type != FieldType::Boolean,
            required: false,
            custom: name.ends_with("__c"),
            calculated: false,
            system: false,
            lookup: None,
            picklist: Vec::new(),
            restricted_picklist: false,
        }
    }

    fn len(mut self, length: u32) -> Self {
        self.length = length;
        self
    }

    fn required(mut self) -> Self {
        self.required = true;
        self.nillable = false;
        self
    }

    fn system(mut self) -> Self {
        self.system = true;
        self.nillable = self.field_type != FieldType::Id
            && self.field_type != FieldType::Boolean
            && self.field_type != FieldType::Datetime;
        self
    }

    fn calculated(mut self) -> Self {
        self.calculated = true;
        self
    }

    fn lookup(mut self, target: &str, relationship: &str) -> Self {
        self.lookup =
            Some(Lookup { target: target.to_owned(), relationship: relationship.to_owned() });
        self
    }

    fn picklist(mut self, values: &[&'static str], restricted: bool) -> Self {
        self.picklist = values.to_vec();
        self.restricted_picklist = restricted;
        self
    }

    /// Whether clients may set it on create/update.
    pub fn writable(&self) -> bool {
        !self.system && !self.calculated
    }

    fn describe(&self) -> Value {
        let t = self.field_type;
        let byte_length = if t.is_text() { self.length * 3 } else { 0 };
        let byte_length = match t {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::Multipicklist => self.length,
            _ => byte_length,
        };
        let picklist: Vec<Value> = self
            .picklist
            .iter()
            .map(|v| json!({"active": true, "defaultValue": false, "label": v, "validFor": null, "value": v}))
            .collect();
        let writable = self.writable();
        json!({
            "aggregatable": t != FieldType::Textarea && t != FieldType::Multipicklist,
            "aiPredictionField": false,
            "autoNumber": false,
            "byteLength": byte_length,
            "calculated": self.calculated,
            "calculatedFormula": null,
            "cascadeDelete": false,
            "caseSensitive": false,
            "compoundFieldName": null,
            "controllerName": null,
            "createable": writable,
            "custom": self.custom,
            "defaultValue": if t == FieldType::Boolean { json!(false) } else { Value::Null },
            "defaultValueFormula": null,
            "defaultedOnCreate": self.system || t == FieldType::Boolean,
            "dependentPicklist": false,
            "deprecatedAndHidden": false,
            "digits": 0,
            "displayLocationInDecimal": false,
            "encrypted": false,
            "externalId": false,
            "extraTypeInfo": null,
            "filterable": t != FieldType::Textarea,
            "filteredLookupInfo": null,
            "formulaTreatNullNumberAsZero": false,
            "groupable": !matches!(t, FieldType::Textarea | FieldType::Multipicklist | FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Datetime),
            "highScaleNumber": false,
            "htmlFormatted": false,
            "idLookup": t == FieldType::Id || self.name == "Name",
            "inlineHelpText": null,
            "label": self.label,
            "length": self.length,
            "mask": null,
            "maskType": null,
            "name": self.name,
            "nameField": self.name == "Name",
            "namePointing": false,
            "nillable": self.nillable,
            "permissionable": self.custom && !self.required,
            "picklistValues": picklist,
            "polymorphicForeignKey": false,
            "precision": self.precision,
            "queryByDistance": false,
            "referenceTargetField": null,
            "referenceTo": self.lookup.iter().map(|l| &l.target).collect::<Vec<_>>(),
            "relationshipName": self.lookup.as_ref().map(|l| &l.relationship),
            "relationshipOrder": null,
            "restrictedDelete": false,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale,
            "searchPrefilterable": false,
            "soapType": t.soap_type(),
            "sortable": t != FieldType::Textarea && t != FieldType::Multipicklist,
            "type": t.name(),
            "unique": false,
            "updateable": writable,
            "writeRequiresMasterRead": false,
        })
    }
}

/// An object definition.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub custom: bool,
    pub fields: Vec<FieldDef>,
}

impl ObjectDef {
    /// An object with its labels (singular, plural) and key prefix; custom when its name ends
    /// with `__c`, as Salesforce names every custom object.
    pub fn new(
        name: &str,
        [label, plural]: [&str; 2],
        key_prefix: &str,
        fields: Vec<FieldDef>,
    ) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            label_plural: plural.into(),
            key_prefix: key_prefix.into(),
            custom: name.ends_with("__c"),
            fields,
        }
    }

    /// A field by name, case-insensitively.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    fn urls(&self, version: &str) -> Value {
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        json!({
            "compactLayouts": format!("{base}/describe/compactLayouts"),
            "rowTemplate": format!("{base}/{{ID}}"),
            "approvalLayouts": format!("{base}/describe/approvalLayouts"),
            "defaultValues": format!("{base}/defaultValues?recordTypeId&fields"),
            "describe": format!("{base}/describe"),
            "quickActions": format!("{base}/quickActions"),
            "layouts": format!("{base}/describe/layouts"),
            "sobject": base,
        })
    }

    fn common(&self, version: &str) -> Map<String, Value> {
        let v = json!({
            "activateable": false,
            "associateEntityType": null,
            "associateParentEntity": null,
            "createable": true,
            "custom": self.custom,
            "customSetting": false,
            "deepCloneable": false,
            "deletable": true,
            "deprecatedAndHidden": false,
            "feedEnabled": false,
            "hasSubtypes": false,
            "isInterface": false,
            "isSubtype": false,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": true,
            "mergeable": self.name == "Account",
            "mruEnabled": true,
            "name": self.name,
            "queryable": true,
            "replicateable": true,
            "retrieveable": true,
            "searchable": true,
            "triggerable": true,
            "undeletable": true,
            "updateable": true,
            "urls": self.urls(version),
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The describeGlobal entry.
    pub fn global_entry(&self, version: &str) -> Value {
        Value::Object(self.common(version))
    }

    /// `GET /sobjects/{Name}/describe`.
    pub fn describe(&self, version: &str, children: Vec<Value>) -> Value {
        let mut m = self.common(version);
        let extra = json!({
            "actionOverrides": [],
            "childRelationships": children,
            "compactLayoutable": true,
            "defaultImplementation": null,
            "extendedBy": null,
            "extendsInterfaces": null,
            "fields": self.fields.iter().map(FieldDef::describe).collect::<Vec<_>>(),
            "implementedBy": null,
            "implementsInterfaces": null,
            "listviewable": null,
            "lookupLayoutable": null,
            "namedLayoutInfos": [],
            "networkScopeFieldName": null,
            "recordTypeInfos": [],
            "searchLayoutable": true,
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [{"label": "All invoices", "name": "everything"}],
        });
        if let Value::Object(extra) = extra {
            m.extend(extra);
        }
        let mut sorted: Vec<(String, Value)> = m.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Object(sorted.into_iter().collect())
    }
}

fn system_fields(name_label: &str, name_len: u32) -> Vec<FieldDef> {
    vec![
        FieldDef::new("Id", "Record ID", FieldType::Id).system(),
        FieldDef::new("IsDeleted", "Deleted", FieldType::Boolean).system(),
        FieldDef::new("Name", name_label, FieldType::String).len(name_len).required(),
        FieldDef::new("CreatedDate", "Created Date", FieldType::Datetime).system(),
        FieldDef::new("LastModifiedDate", "Last Modified Date", FieldType::Datetime).system(),
        FieldDef::new("SystemModstamp", "System Modstamp", FieldType::Datetime).system(),
    ]
}

/// The seeded org's objects: Account, two custom objects with a lookup between them (invoices
/// and their lines), and a managed package's object (`acme__`) with lookups to both.
pub fn seeded_objects() -> Vec<ObjectDef> {
    vec![account(), invoice(), invoice_line(), shipment()]
}

/// Account, as Salesforce ships it (the fields the seed fills).
fn account() -> ObjectDef {
    let mut account = system_fields("Account Name", 255);
    account.extend([
        FieldDef::new("Type", "Account Type", FieldType::Picklist).picklist(
            &["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"],
            false,
        ),
        FieldDef::new("Industry", "Industry", FieldType::Picklist).picklist(
            &["Agriculture", "Banking", "Technology", "Retail", "Energy", "Media"],
            false,
        ),
        FieldDef::new("AnnualRevenue", "Annual Revenue", FieldType::Currency),
        FieldDef::new("NumberOfEmployees", "Employees", FieldType::Int),
        FieldDef::new("Phone", "Account Phone", FieldType::Phone),
        FieldDef::new("Website", "Website", FieldType::Url),
        FieldDef::new("BillingCity", "Billing City", FieldType::String).len(40),
        FieldDef::new("Description", "Account Description", FieldType::Textarea),
    ]);
    ObjectDef::new("Account", ["Account", "Accounts"], "001", account)
}

/// `Invoice__c`: every field type the sync converts, a lookup to Account, a formula.
fn invoice() -> ObjectDef {
    let mut invoice = system_fields("Invoice Number", 80);
    invoice.extend([
        FieldDef::new("Account__c", "Account", FieldType::Reference)
            .lookup("Account", "Account__r"),
        FieldDef::new("Status__c", "Status", FieldType::Picklist)
            .picklist(&["Draft", "Sent", "Paid", "Void"], true),
        FieldDef::new("Channels__c", "Channels", FieldType::Multipicklist)
            .picklist(&["Email", "Portal", "Post"], false),
        FieldDef::new("Amount__c", "Amount", FieldType::Currency),
        FieldDef::new("Tax_Rate__c", "Tax Rate", FieldType::Percent),
        FieldDef::new("Issue_Date__c", "Issue Date", FieldType::Date),
        FieldDef::new("Paid__c", "Paid", FieldType::Boolean),
        FieldDef::new("Paid_At__c", "Paid At", FieldType::Datetime),
        FieldDef::new("Contact_Email__c", "Contact Email", FieldType::Email).len(80),
        FieldDef::new("Portal_Url__c", "Portal URL", FieldType::Url),
        FieldDef::new("Notes__c", "Notes", FieldType::Textarea),
        FieldDef::new("Line_Count__c", "Line Count", FieldType::Double).calculated(),
    ]);
    ObjectDef::new("Invoice__c", ["Invoice", "Invoices"], "a01", invoice)
}

/// `Invoice_Line__c`: a lookup to its invoice.
fn invoice_line() -> ObjectDef {
    let mut line = system_fields("Line Name", 80);
    line.extend([
        FieldDef::new("Invoice__c", "Invoice", FieldType::Reference)
            .lookup("Invoice__c", "Invoice__r"),
        FieldDef::new("Product__c", "Product", FieldType::String).len(100),
        FieldDef::new("Quantity__c", "Quantity", FieldType::Double),
        FieldDef::new("Unit_Price__c", "Unit Price", FieldType::Currency),
        FieldDef::new("Discount__c", "Discount", FieldType::Percent),
        FieldDef::new("Line_Number__c", "Line Number", FieldType::Int),
    ]);
    ObjectDef::new("Invoice_Line__c", ["Invoice Line", "Invoice Lines"], "a02", line)
}

/// `acme__Shipment__c`: a managed package's object, with lookups to an invoice and an account.
fn shipment() -> ObjectDef {
    let mut shipment = system_fields("Shipment Name", 80);
    shipment.extend([
        FieldDef::new("acme__Invoice__c", "Invoice", FieldType::Reference)
            .lookup("Invoice__c", "acme__Invoice__r"),
        FieldDef::new("acme__Account__c", "Account", FieldType::Reference)
            .lookup("Account", "acme__Account__r"),
        FieldDef::new("acme__Carrier__c", "Carrier", FieldType::Picklist)
            .picklist(&["UPS", "DHL", "FedEx"], true),
        FieldDef::new("acme__Tracking_Url__c", "Tracking URL", FieldType::Url),
        FieldDef::new("acme__Shipped_On__c", "Shipped On", FieldType::Date),
        FieldDef::new("acme__Weight_Kg__c", "Weight (kg)", FieldType::Double),
        FieldDef::new("acme__Delivered__c", "Delivered", FieldType::Boolean),
        FieldDef::new("acme__Contact_Phone__c", "Contact Phone", FieldType::Phone),
    ]);
    ObjectDef::new("acme__Shipment__c", ["Shipment", "Shipments"], "a03", shipment)
}

/// Deterministic pseudo-random numbers (SplitMix64): the same seed gives the same org.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// How many records each seeded object gets.
#[derive(Debug, Clone, Copy)]
pub struct SeedSize {
    pub accounts: usize,
    pub invoices: usize,
    pub lines: usize,
    pub shipments: usize,
}

impl Default for SeedSize {
    /// 400 accounts, 1,200 invoices, 2,400 lines, 300 shipments: 4,300 records.
    fn default() -> Self {
        SeedSize { accounts: 400, invoices: 1200, lines: 2400, shipments: 300 }
    }
}

const WORDS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Gringotts",
    "Oceanic",
    "Pied Piper",
    "Massive Dynamic",
];
const CITIES: &[&str] = &["Berlin", "Paris", "Lyon", "Austin", "Osaka", "Leeds", "Porto", "Zürich"];
const PRODUCTS: &[&str] = &["Widget", "Gadget", "Sprocket", "Gizmo", "Doohickey", "Service hour"];

/// Field values for seeded records of `object` number `i`; `parents` are ids of earlier objects.
pub fn seed_values(
    object: &str,
    i: usize,
    rng: &mut Rng,
    accounts: &[String],
    invoices: &[String],
) -> Vec<(&'static str, Value)> {
    match object {
        "Account" => account_values(i, rng),
        "Invoice__c" => invoice_values(i, rng, accounts),
        "Invoice_Line__c" => line_values(i, rng, invoices),
        _ => shipment_values(i, rng, accounts, invoices),
    }
}

/// A day of 2025.
fn day(rng: &mut Rng) -> String {
    format!("2025-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))
}

fn account_values(i: usize, rng: &mut Rng) -> Vec<(&'static str, Value)> {
    let name =
        format!("{} {} #{}", rng.pick(WORDS), rng.pick(&["Inc", "Ltd", "GmbH", "& Co"]), i + 1);
    let mut v = vec![
        ("Name", json!(name)),
        (
            "Type",
            json!(rng.pick(&[
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Partner",
                "Other"
            ])),
        ),
        (
            "Industry",
            json!(rng.pick(&["Agriculture", "Banking", "Technology", "Retail", "Energy", "Media"])),
        ),
        ("AnnualRevenue", json!((rng.below(5_000_000) as f64) * 10.0)),
        ("NumberOfEmployees", json!(1 + rng.below(5000))),
        ("BillingCity", json!(rng.pick(CITIES))),
    ];
    if rng.chance(0.7) {
        v.push(("Phone", json!(format!("+1 555 {:04}", rng.below(10000)))));
    }
    if rng.chance(0.5) {
        v.push(("Website", json!(format!("https://example.com/a{}", i + 1))));
    }
    if rng.chance(0.3) {
        v.push(("Description", json!("Key account.\nNotes with <b>markup</b> & \"quotes\".")));
    }
    v
}

fn invoice_values(i: usize, rng: &mut Rng, accounts: &[String]) -> Vec<(&'static str, Value)> {
    let status = rng.pick(&["Draft", "Sent", "Paid", "Void"]);
    let mut v = vec![
        ("Name", json!(format!("INV-{:06}", i + 1))),
        ("Account__c", json!(accounts[rng.below(accounts.len() as u64) as usize])),
        ("Status__c", json!(status)),
        ("Amount__c", json!(rng.below(10_000_000) as f64 / 100.0)),
        ("Tax_Rate__c", json!(rng.pick(&["0", "7", "19", "20"]).parse::<f64>().unwrap_or(0.0))),
        ("Issue_Date__c", json!(day(rng))),
        ("Paid__c", json!(status == "Paid")),
        ("Line_Count__c", json!(2.0)),
    ];
    if status == "Paid" {
        v.push(("Paid_At__c", json!(format!("{}T10:{:02}:00.000+0000", day(rng), rng.below(60)))));
    }
    if rng.chance(0.6) {
        let channels = match rng.below(3) {
            0 => "Email",
            1 => "Email;Portal",
            _ => "Email;Portal;Post",
        };
        v.push(("Channels__c", json!(channels)));
    }
    if rng.chance(0.5) {
        v.push(("Contact_Email__c", json!(format!("billing{}@example.com", i + 1))));
    }
    if rng.chance(0.2) {
        v.push(("Notes__c", json!("Pay within 30 days & quote the invoice number.")));
    }
    v
}

fn line_values(i: usize, rng: &mut Rng, invoices: &[String]) -> Vec<(&'static str, Value)> {
    vec![
        ("Name", json!(format!("L-{:06}", i + 1))),
        ("Invoice__c", json!(invoices[(i / 2) % invoices.len().max(1)])),
        ("Product__c", json!(rng.pick(PRODUCTS))),
        ("Quantity__c", json!((1 + rng.below(20)) as f64)),
        ("Unit_Price__c", json!(rng.below(100_000) as f64 / 100.0)),
        ("Discount__c", json!(rng.pick(&["0", "5", "10"]).parse::<f64>().unwrap_or(0.0))),
        ("Line_Number__c", json!(1 + (i % 2))),
    ]
}

fn shipment_values(
    i: usize,
    rng: &mut Rng,
    accounts: &[String],
    invoices: &[String],
) -> Vec<(&'static str, Value)> {
    let mut v = vec![
        ("Name", json!(format!("SHP-{:05}", i + 1))),
        ("acme__Invoice__c", json!(invoices[rng.below(invoices.len() as u64) as usize])),
        ("acme__Account__c", json!(accounts[rng.below(accounts.len() as u64) as usize])),
        ("acme__Carrier__c", json!(rng.pick(&["UPS", "DHL", "FedEx"]))),
        ("acme__Shipped_On__c", json!(day(rng))),
        ("acme__Weight_Kg__c", json!(rng.below(50_000) as f64 / 100.0)),
        ("acme__Delivered__c", json!(rng.chance(0.5))),
    ];
    if rng.chance(0.5) {
        v.push(("acme__Tracking_Url__c", json!(format!("https://track.example.com/{}", i + 1))));
    }
    v
}
