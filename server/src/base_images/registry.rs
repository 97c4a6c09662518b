//! Base images into the embedded registry: each layout under `<data>/base-images/` is imported as its reference
//! (`library/busybox:latest`, ...), so `FROM python:3.11-slim`, `docker pull busybox` and `docker run busybox`
//! resolve offline. Idempotent and cheap: a tag already naming the layout's manifest is left alone. Either way
//! the repository is the operator's: read-only over HTTP (`registry/read_only.rs`).

use std::path::Path;

use slipway::image::local_store::registry_path;
use slipway::image::Reference;

use super::{layout_dir, BaseImage};
use crate::registry::import::{import, ImportError};
use crate::registry::names::RepoName;
use crate::registry::Store;

/// What happened to one base image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryImport {
    pub image: BaseImage,
    /// `library/busybox:latest`.
    pub stored_as: String,
    pub digest: String,
    /// False when the registry already had it.
    pub imported: bool,
}

/// The manifest digest the layout's `index.json` names `reference` with (its ref-name annotation).
fn layout_manifest(dir: &Path, reference: &str) -> Option<String> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).ok()?).ok()?;
    index["manifests"]
        .as_array()?
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == reference)
        .and_then(|d| d["digest"].as_str())
        .map(str::to_string)
}

/// Import `image`'s layout into `store` unless the tag already names its manifest; `None` when `data` has no
/// layout for it.
pub fn import_base_image(
    store: &Store,
    data: &Path,
    image: BaseImage,
) -> Option<Result<RegistryImport, ImportError>> {
    let dir = layout_dir(data, image);
    let wanted = layout_manifest(&dir, image.reference())?;
    let reference = Reference::parse(image.reference()).expect("valid built-in reference");
    let tag = reference.tag().unwrap_or("latest").to_string();
    let stored_as = format!("{}:{tag}", registry_path(&reference));
    let repo = match RepoName::parse(&registry_path(&reference)) {
        Ok(repo) => repo,
        Err(e) => return Some(Err(e.into())),
    };
    let present = store
        .resolve_tag(&repo, &tag)
        .is_some_and(|digest| digest.to_string() == wanted);
    let result = if present {
        // Imported by a version that did not mark base images read-only: mark it now.
        store
            .mark_read_only(&repo)
            .map_err(|e| crate::registry::RegistryError::from(e).into())
            .map(|()| RegistryImport {
                image,
                stored_as,
                digest: wanted.clone(),
                imported: false,
            })
    } else {
        import(store, &dir, image.reference()).map(|done| RegistryImport {
            image,
            stored_as,
            digest: done.digest,
            imported: true,
        })
    };
    Some(result.and_then(|done| import_aliases(store, &dir, image, &wanted).map(|()| done)))
}

/// The image's other tags (`redis:7`, `redis:latest`) naming the same manifest, unless they already do.
fn import_aliases(store: &Store, dir: &Path, image: BaseImage, wanted: &str) -> Result<(), ImportError> {
    for alias in image.aliases() {
        let reference = Reference::parse(alias).expect("valid built-in reference");
        let repo = RepoName::parse(&registry_path(&reference))?;
        let tag = reference.tag().unwrap_or("latest");
        let present = store
            .resolve_tag(&repo, tag)
            .is_some_and(|digest| digest.to_string() == wanted);
        if !present {
            import(store, dir, alias)?;
        }
    }
    Ok(())
}

/// [`import_base_image`] for every base image with a layout under `data`.
pub fn import_base_images(
    store: &Store,
    data: &Path,
) -> Vec<(BaseImage, Result<RegistryImport, ImportError>)> {
    BaseImage::ALL
        .into_iter()
        .filter_map(|image| import_base_image(store, data, image).map(|result| (image, result)))
        .collect()
}
