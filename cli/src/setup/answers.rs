//! What `sfhs setup` is told to do when it does not ask: an answers file (YAML) or flags. Each
//! answer is one of the wizard's screens, with the seed's defaults.

use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use sfhs_core::mapping::{OnDelete, State};

/// The whole walk: the objects to map, then the Salesforce side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub objects: Vec<ObjectAnswers>,
    /// After the mappings: `apply` deploys the outbound messages and flows, `plan` only shows
    /// them, `skip` (default) leaves Salesforce alone.
    #[serde(default)]
    pub salesforce: SalesforceStep,
    /// Then: `here` runs the sync in this process (`sfhs dev` with the files written, importing
    /// the existing records) until Ctrl-C; `later` (default) stops once the files are written.
    #[serde(default)]
    pub sync: SyncStep,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStep {
    Here,
    #[default]
    Later,
}

/// The screens of one object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectAnswers {
    /// The Salesforce object (API name).
    pub salesforce: String,
    /// `new` (default): a HubSpot custom object created from the describe (or found, created
    /// before); else an existing HubSpot object (name, fully qualified name or id).
    #[serde(default = "new_object")]
    pub hubspot: String,
    /// What a Salesforce delete does in HubSpot (default: `archive`).
    #[serde(default = "archive")]
    pub on_delete: OnDelete,
    /// The lookups to sync as associations: `all` (default), `none`, or a list of lookup fields.
    #[serde(default)]
    pub associations: Lookups,
    /// `enabled`: sync from now on; `paused` (default): saved for later.
    #[serde(default = "paused")]
    pub state: State,
    /// The Salesforce fields to sync (each with its proposed property); default: every one
    /// proposed.
    pub fields: Option<Vec<String>>,
}

/// The lookups kept as associations: `all`, `none`, or the lookup fields named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "LookupsText")]
pub enum Lookups {
    #[default]
    All,
    None,
    Named(Vec<String>),
}

/// `associations:` as written: a word or a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum LookupsText {
    Word(String),
    Named(Vec<String>),
}

impl TryFrom<LookupsText> for Lookups {
    type Error = String;

    fn try_from(text: LookupsText) -> Result<Self, String> {
        match text {
            LookupsText::Named(fields) => Ok(Self::Named(fields)),
            LookupsText::Word(w) if w.eq_ignore_ascii_case("all") => Ok(Self::All),
            LookupsText::Word(w) if w.eq_ignore_ascii_case("none") => Ok(Self::None),
            LookupsText::Word(w) => {
                Err(format!("associations: {w:?} is neither all, none nor a list of lookup fields"))
            }
        }
    }
}

impl Lookups {
    /// Whether the lookup `field` is kept.
    pub fn keeps(&self, field: &str) -> bool {
        match self {
            Self::All => true,
            Self::None => false,
            Self::Named(fields) => fields.iter().any(|f| f.eq_ignore_ascii_case(field)),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SalesforceStep {
    Apply,
    Plan,
    #[default]
    Skip,
}

fn new_object() -> String {
    "new".to_owned()
}

fn archive() -> OnDelete {
    OnDelete::Archive
}

fn paused() -> State {
    State::Paused
}

impl Answers {
    /// Reads an answers file; every key is checked (a typo is an error naming it).
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the answers file {}", path.display()))?;
        let answers: Self = serde_norway::from_str(&text).with_context(|| {
            format!("{} is not a valid answers file (docs/setup.md)", path.display())
        })?;
        answers.check()?;
        Ok(answers)
    }

    /// The answers of flags: each object with the defaults, enabled or not.
    pub fn of_flags(objects: &[String], enable: bool, salesforce: SalesforceStep) -> Self {
        Self {
            objects: objects
                .iter()
                .map(|o| ObjectAnswers {
                    salesforce: o.clone(),
                    hubspot: new_object(),
                    on_delete: OnDelete::Archive,
                    associations: Lookups::All,
                    state: if enable { State::Enabled } else { State::Paused },
                    fields: None,
                })
                .collect(),
            salesforce,
            sync: SyncStep::Later,
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.objects.is_empty() {
            anyhow::bail!("the answers name no object (objects: [{{salesforce: Invoice__c}}])");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answers_file_reads_with_the_seeds_defaults_and_refuses_a_typo() {
        let a: Answers = serde_norway::from_str(
            "objects:\n  - salesforce: Invoice__c\n    state: enabled\n  - {salesforce: Invoice_Line__c, associations: [Invoice__c], on_delete: keep}\nsalesforce: apply\n",
        )
        .unwrap();
        a.check().unwrap();
        assert_eq!(a.salesforce, SalesforceStep::Apply);
        let (invoice, line) = (&a.objects[0], &a.objects[1]);
        assert_eq!(
            (invoice.hubspot.as_str(), invoice.on_delete, invoice.state),
            ("new", OnDelete::Archive, State::Enabled)
        );
        assert!(invoice.associations.keeps("Account__c"));
        assert_eq!((line.on_delete, line.state), (OnDelete::Keep, State::Paused));
        assert!(line.associations.keeps("invoice__c") && !line.associations.keeps("Account__c"));
        let none: Answers =
            serde_norway::from_str("objects: [{salesforce: X__c, associations: none}]").unwrap();
        assert!(!none.objects[0].associations.keeps("Account__c"));
        let bad =
            serde_norway::from_str::<Answers>("objects: [{salesforce: X__c, associations: some}]");
        assert!(bad.is_err_and(|e| e.to_string().contains("neither all, none nor a list")));
        assert!(
            serde_norway::from_str::<Answers>("objects: [{salesforce: X__c, stat: enabled}]")
                .is_err()
        );
    }
}
