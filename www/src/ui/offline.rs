//! The page with or without its companion (wasm only): whether `/api/info` answers as a Slipway companion,
//! the image list from the companion or from the page's own store, and `docker save` as a browser download
//! (from the page's store, else from the companion's local repository).

use super::session::PageSession;
use super::state::{CompanionAction, CompanionStatus};
use super::store::IMAGE_STORE;
use slipway::builder::{LocalStore, StoreError};
use slipway::cli::images::list_local;
use slipway::image::local_store::LocalImage;

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
    slipway::cli::export_load::image_archive(&session.context(None), name).await
}

/// `docker save` into a download named `file`.
pub async fn download_image(name: &str, file: &str) -> Result<(), String> {
    let online = companion_online().await;
    let bytes = save_image(name, online).await?;
    super::web::download(file, &bytes, "application/x-tar")
}
