//! The mapping files `sfhs setup` writes: ordinary mapping files, one per object, commented, so
//! that the next change is a git diff; run again, it starts from them.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sfhs_core::mapping::{Mapping, parse_yaml};

/// The file of `object`'s mapping in `dir` (`invoice__c.yaml`).
pub fn path_of(dir: &Path, object: &str) -> PathBuf {
    dir.join(format!("{}.yaml", object.to_ascii_lowercase()))
}

/// The mapping a file written before holds, if any (a file that no longer parses is an error
/// naming it: nothing is overwritten).
pub fn existing(dir: &Path, object: &str) -> anyhow::Result<Option<Mapping>> {
    let path = path_of(dir, object);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    parse_yaml(&path.display().to_string(), &text)
        .map(Some)
        .map_err(|p| anyhow::anyhow!("{p}: fix it or move it away, then run setup again"))
}

/// The file's text: a header saying what it is and how to change it, then the mapping.
pub fn text(m: &Mapping) -> anyhow::Result<String> {
    let yaml = serde_norway::to_string(m).context("the mapping does not serialize")?;
    Ok(format!(
        "# {} -> {}: written by `sfhs setup`; edit it freely (run setup again to change it on\n\
         # its screens). Check: `sfhs mappings validate DIR`; fields: docs/mappings.md.\n{yaml}",
        m.salesforce_object, m.hubspot_object
    ))
}

/// Writes every file, each whole or not at all (through a temporary file renamed over it).
pub fn write_all(dir: &Path, mappings: &[Mapping]) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for m in mappings {
        let path = path_of(dir, &m.salesforce_object);
        let tmp = path.with_extension("yaml.tmp");
        std::fs::write(&tmp, text(m)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
