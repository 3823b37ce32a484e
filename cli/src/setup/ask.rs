//! The screens in a terminal: arrow keys, type-to-filter lists, defaults (`inquire`). Each asks
//! what one screen of the seed's wizard asks; Ctrl-C (or Esc) at any of them ends the walk with
//! nothing written.

use inquire::{Confirm, InquireError, MultiSelect, Select};
use sfhs_core::mapping::generate::object_name;
use sfhs_core::mapping::{Mapping, OnDelete, State};
use sfhs_hubspot::ObjectSchema;

use super::answers::{Lookups, ObjectAnswers};

/// Why the walk ended early.
#[derive(Debug, thiserror::Error)]
pub enum Stop {
    #[error("setup cancelled: nothing was written")]
    Cancelled,
    #[error("the terminal cannot be asked: {0} (answer with --answers FILE or --object instead)")]
    Terminal(#[source] InquireError),
}

fn answered<T>(r: Result<T, InquireError>) -> Result<T, Stop> {
    r.map_err(|e| match e {
        InquireError::OperationCanceled | InquireError::OperationInterrupted => Stop::Cancelled,
        other => Stop::Terminal(other),
    })
}

/// Screen 1's question: go on with the ends found.
pub fn go_on() -> Result<bool, Stop> {
    answered(Confirm::new("Sync from this org to this portal?").with_default(true).prompt())
}

/// Screen 2: the Salesforce objects to sync, one after the other (custom objects first; type to
/// filter), until done.
pub fn objects(available: &[(String, String, bool)]) -> Result<Vec<String>, Stop> {
    const DONE: &str = "(done: no more objects)";
    let mut chosen: Vec<String> = Vec::new();
    loop {
        let mut options: Vec<String> = Vec::new();
        if !chosen.is_empty() {
            options.push(DONE.to_owned());
        }
        options.extend(available.iter().filter(|(name, _, _)| !chosen.contains(name)).map(
            |(name, label, custom)| {
                format!("{name}  {label}{}", if *custom { "" } else { " (standard)" })
            },
        ));
        let prompt = if chosen.is_empty() {
            "Salesforce object to sync:".to_owned()
        } else {
            format!("Another object to sync ({} so far)?", chosen.join(", "))
        };
        let pick = answered(Select::new(&prompt, options).with_page_size(12).prompt())?;
        if pick == DONE {
            return Ok(chosen);
        }
        chosen.push(pick.split_whitespace().next().unwrap_or_default().to_owned());
    }
}

/// Screen 2, per object: the HubSpot object (created from the describe, or one the portal has),
/// then screen 3: what a delete does.
pub fn object(sf: &str, portal: &[ObjectSchema], portal_id: u64) -> Result<ObjectAnswers, Stop> {
    let generated = object_name(sf);
    let new = match portal.iter().find(|s| s.name == generated) {
        Some(s) => format!(
            "new: p{portal_id}_{generated} (created from the describe before: {})",
            s.object_type_id
        ),
        None => format!("new: create p{portal_id}_{generated} from the describe"),
    };
    let mut options = vec![new];
    options.extend(
        portal
            .iter()
            .filter(|s| s.name != generated)
            .filter_map(|s| s.fully_qualified_name.clone()),
    );
    let target = answered(Select::new(&format!("HubSpot object for {sf}:"), options).prompt())?;
    let hubspot = if target.starts_with("new:") { "new".to_owned() } else { target };
    let archive = "archive it in HubSpot";
    let on_delete = answered(
        Select::new(
            &format!("When a record of {sf} is deleted in Salesforce:"),
            vec![archive, "keep it in HubSpot"],
        )
        .prompt(),
    )?;
    Ok(ObjectAnswers {
        salesforce: sf.to_owned(),
        hubspot,
        on_delete: if on_delete == archive { OnDelete::Archive } else { OnDelete::Keep },
        associations: Lookups::All,
        state: State::Paused,
        fields: None,
    })
}

/// Screens 4 and 5: the proposed associations and field pairs, each toggled (space), all on by
/// default.
pub fn refine(m: &mut Mapping) -> Result<(), Stop> {
    let sf = m.salesforce_object.clone();
    if !m.associations.is_empty() {
        let prompt = format!("{sf}: associations (space toggles):");
        toggle(&mut m.associations, &prompt, |a| format!("{} -> {}", a.lookup, a.to))?;
    }
    let prompt = format!("{sf}: fields to sync (space toggles):");
    toggle(&mut m.fields, &prompt, |f| format!("{} -> {}", f.salesforce, f.hubspot))
}

/// Keeps the items left ticked in a list shown with every item ticked.
fn toggle<T>(items: &mut Vec<T>, prompt: &str, shown: impl Fn(&T) -> String) -> Result<(), Stop> {
    let all: Vec<usize> = (0..items.len()).collect();
    let kept: Vec<usize> = answered(
        MultiSelect::new(prompt, items.iter().map(shown).collect())
            .with_default(&all)
            .with_page_size(12)
            .raw_prompt(),
    )?
    .into_iter()
    .map(|option| option.index)
    .collect();
    let mut index = 0;
    items.retain(|_| {
        index += 1;
        kept.contains(&(index - 1))
    });
    Ok(())
}

/// Screen 7's question.
pub fn preview() -> Result<bool, Stop> {
    answered(
        Confirm::new("Preview a sample record of each object as HubSpot will receive it?")
            .with_default(true)
            .prompt(),
    )
}

/// Screen 8: enable now, or save for later.
pub fn enable() -> Result<bool, Stop> {
    let now = "Enable now: sync from now on";
    let pick =
        answered(Select::new("The mappings:", vec![now, "Save for later (paused)"]).prompt())?;
    Ok(pick == now)
}

/// Screen 8, the Salesforce side: deploy what the plan shows.
pub fn deploy() -> Result<bool, Stop> {
    answered(Confirm::new("Deploy these to Salesforce now?").with_default(true).prompt())
}

/// The last screen: run the sync here now, importing the records counted, or later.
pub fn sync_here() -> Result<bool, Stop> {
    let here = "Here, now: sfhs dev with these mappings, importing these records";
    let pick = answered(
        Select::new(
            "Start syncing:",
            vec![here, "Later (sfhs dev --mappings DIR, or sfhs mappings apply DIR to the stack)"],
        )
        .prompt(),
    )?;
    Ok(pick == here)
}
