//! The mapping files `sfhs dev` runs: loaded (or the examples), checked against both live
//! schemas, applied and enabled; the simulated org set up from them.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sfhs_core::mapping::store::{MappingStore, next_version};
use sfhs_core::mapping::validate::has_errors;
use sfhs_core::mapping::{Mapping, parse_yaml};
use sfhs_local::LocalStore;
use time::OffsetDateTime;

use super::ends::Ends;
use super::{Args, step};
use crate::demo::EXAMPLE_MAPPINGS;
use crate::live::Sources;

/// The mapping files of `dir` (`*.yaml`, `*.yml`), or the built-in examples.
pub(super) fn load(dir: Option<&Path>) -> anyhow::Result<Vec<Mapping>> {
    let Some(dir) = dir else {
        return EXAMPLE_MAPPINGS
            .iter()
            .map(|(f, t)| parse_yaml(f, t).map_err(|p| anyhow::anyhow!("{p}")))
            .collect();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the mappings directory {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no mapping files (*.yaml) in {}", dir.display());
    }
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            parse_yaml(&p.display().to_string(), &text).map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

/// Checks the mappings against both live schemas (stops on an error), applies the changed ones
/// as new enabled versions, sets the simulated org up from them, and lists what is applied.
pub(super) async fn apply(
    args: &Args,
    ends: &Ends,
    mappings: Vec<Mapping>,
    store: &LocalStore,
    webhook_url: &str,
) -> anyhow::Result<()> {
    check(args, ends, &mappings).await?;
    let now = OffsetDateTime::now_utc();
    for m in mappings {
        let current = MappingStore::get(store, &m.salesforce_object).await?;
        if current.as_ref().map(|c| &c.mapping) != Some(&m) {
            let expected = current.as_ref().map(|c| c.version);
            MappingStore::put(store, &next_version(current.as_ref(), m, now), expected).await?;
        }
    }
    if ends.sf_sim.is_some() {
        // The simulated org is set up as a real one is: `sfhs salesforce apply`'s deploy.
        let mappings: Vec<Mapping> =
            MappingStore::list(store).await?.into_iter().map(|s| s.mapping).collect();
        let lines = crate::salesforce::set_up_org(
            &ends.sf_client,
            &mappings,
            webhook_url,
            args.secret.clone(),
            store,
        )
        .await?;
        for line in lines {
            step(&line);
        }
    }
    for m in MappingStore::list(store).await? {
        step(&format!(
            "mapping {} -> {} v{} ({})",
            m.mapping.salesforce_object,
            m.mapping.hubspot_object,
            m.version,
            m.mapping.state.as_str()
        ));
    }
    Ok(())
}

/// The mappings checked offline and against both live schemas; every problem said, an error
/// stops dev.
async fn check(args: &Args, ends: &Ends, mappings: &[Mapping]) -> anyhow::Result<()> {
    let files: Vec<(String, Mapping)> =
        mappings.iter().map(|m| (format!("{}.yaml", m.salesforce_object), m.clone())).collect();
    let problems = Sources::new(
        Some(ends.client.clone()),
        Some(ends.sf_client.clone()),
        args.live.native_synced.clone(),
    )
    .check(&files)
    .await?;
    for p in &problems {
        step(&p.to_string());
    }
    if has_errors(&problems) {
        bail!(
            "the mappings do not fit the live schemas (above); fix them (`sfhs mappings validate DIR`) or pass --mappings DIR"
        );
    }
    Ok(())
}
