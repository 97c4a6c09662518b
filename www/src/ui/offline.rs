//! The page with or without its companion (wasm only): whether `/api/info` answers as a Slipway companion,
//! the image list from the companion or from the page's own store, and `docker save` as a browser download
//! (from the page's store, else from the companion's local repository).

use super::session::PageSession;
use super::state::{CompanionAction, CompanionStatus};
use super::store::IMAGE_STORE;
use slipway::builder::{archive, LocalStore, StoreError};
use slipway::cli::images::{find, list_local};
use slipway::image::local_store::LocalImage;
use slipway::image::Reference;

/// Whether the companion answers `/api/info` as Slipway (asked each time: it may come and go).
pub async fn companion_online() -> bool {
    let action = match super::api::get_text(slipway::api::paths::INFO).await {
        Ok(body) => CompanionAction::InfoReceived(body),
        Err(why) => CompanionAction::RequestFailed(why),
    };
    CompanionStatus::default().reduce(action).is_connected()
}

/// The local images: the companion's session store when it is reachable (as before: listed once), else the
/// page's own store.
pub async fn list_images(online: bool) -> Result<Vec<LocalImage>, String> {
    if online {
        let session = PageSession::new();
        return list_local(&session.context(None)).await.map_err(|e| e.to_string());
    }
    LocalStore { kv: &IMAGE_STORE }
        .list()
        .await
        .map_err(|e| e.to_string())
}

/// A `docker load` tar of `name`: from the page's store, else (online) from the companion's local repository.
pub async fn save_image(name: &str, online: bool) -> Result<Vec<u8>, String> {
    match (LocalStore { kv: &IMAGE_STORE }).save(name).await {
        Ok(bytes) => return Ok(bytes),
        // Not built here, or its base layers live in the companion's registry: take it from there.
        Err(StoreError::NoSuchImage(_) | StoreError::MissingBlob(_)) if online => {}
        Err(e) => return Err(e.to_string()),
    }
    let session = PageSession::new();
    let ctx = session.context(None);
    let found = find(&ctx, name).await.map_err(|e| e.to_string())?;
    let client = ctx.local_client();
    let mut manifest = found.manifest;
    // A multi-platform image (pulled): the linux/amd64 manifest, as docker save on that platform takes.
    let value: serde_json::Value = serde_json::from_slice(&manifest).unwrap_or_default();
    if let Some(list) = value["manifests"].as_array() {
        let chosen = list
            .iter()
            .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
            .and_then(|m| m["digest"].as_str())
            .ok_or_else(|| format!("{name} has no linux/amd64 image"))?;
        manifest = client
            .pull_manifest(&found.repository, chosen)
            .await
            .map_err(|e| e.to_string())?
            .bytes;
    }
    let reference = Reference::parse(&found.image.name()).map_err(|e| e.to_string())?;
    let fetch = async |digest: &str| {
        client
            .pull_blob(&found.repository, digest)
            .await
            .map_err(|e| StoreError::Refused(e.to_string()))
    };
    archive(&reference, manifest, fetch)
        .await
        .map_err(|e| e.to_string())
}

/// `docker save` into a download named `file`.
pub async fn download_image(name: &str, file: &str) -> Result<(), String> {
    let online = companion_online().await;
    let bytes = save_image(name, online).await?;
    super::web::download(file, &bytes, "application/x-tar")
}
