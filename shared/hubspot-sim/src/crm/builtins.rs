//! The objects and association types every portal has.

pub(super) type PropSpec = (&'static str, &'static str, &'static str, &'static str);
pub(super) type BuiltinSpec =
    (&'static str, &'static str, &'static str, &'static str, &'static str, &'static [PropSpec]);

pub(super) const BUILTINS: &[BuiltinSpec] = &[
    (
        "0-1",
        "contacts",
        "contact",
        "Contact",
        "Contacts",
        &[
            ("email", "Email", "string", "text"),
            ("firstname", "First Name", "string", "text"),
            ("lastname", "Last Name", "string", "text"),
            ("salesforcecontactid", "Salesforce Contact ID", "string", "text"),
            ("salesforceleadid", "Salesforce Lead ID", "string", "text"),
        ],
    ),
    (
        "0-2",
        "companies",
        "company",
        "Company",
        "Companies",
        &[
            ("name", "Name", "string", "text"),
            ("domain", "Domain", "string", "text"),
            ("salesforceaccountid", "Salesforce Account ID", "string", "text"),
        ],
    ),
    (
        "0-3",
        "deals",
        "deal",
        "Deal",
        "Deals",
        &[
            ("dealname", "Deal Name", "string", "text"),
            ("amount", "Amount", "number", "number"),
            ("hs_salesforceopportunityid", "Salesforce Opportunity ID", "string", "text"),
        ],
    ),
    (
        "0-5",
        "tickets",
        "ticket",
        "Ticket",
        "Tickets",
        &[("subject", "Subject", "string", "text"), ("content", "Content", "string", "textarea")],
    ),
];

/// HubSpot-defined default association type ids between built-in objects.
pub(super) const BUILTIN_ASSOCS: &[(&str, &str, u32, u32)] = &[
    ("0-1", "0-2", 279, 280),
    ("0-3", "0-1", 3, 4),
    ("0-3", "0-2", 341, 342),
    ("0-5", "0-1", 16, 15),
    ("0-5", "0-2", 339, 340),
];
