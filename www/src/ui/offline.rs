//! The page with or without its companion (wasm only): whether `/api/info` answers as a Slipway companion,
//! the image list from the companion or from the page's own store, and `docker save` (from the page's store,
//! else from the companion's local repository) into the project's files or, from the Images panel, a download.

use super::session::PageSession;
use slipway::cli::outcome::Outcome;
use super::state::{CompanionAction, CompanionStatus};
use super::store::IMAGE_STORE;
use slipway::builder::{LocalStore, StoreError};
use slipway::cli::images::list_local;
use slipway::cli::project_files::ProjectFiles;
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

/// The terminal's `docker save -o FILE IMAGE` (or `> FILE`): the archive into the project's file FILE, as
/// `docker load -i FILE` reads it back; a page without a project (an embed's runner) downloads it instead.
pub async fn save_into(name: &str, path: &str, files: Option<&dyn ProjectFiles>) -> Outcome {
    let online = companion_online().await;
    let tar = match save_image(name, online).await {
        Ok(tar) => tar,
        Err(e) => return Outcome::failure(format!("Error response from daemon: {e}\n"), 1),
    };
    let written = match files {
        Some(files) => slipway::cli::export_load::save_into_project(files, path, tar),
        None => super::web::download(path.rsplit('/').next().unwrap_or(path), &tar, "application/x-tar"),
    };
    match written {
        Ok(()) => Outcome::default(),
        Err(e) => Outcome::failure(format!("{e}\n"), 1),
    }
}

/// `docker save` into a download named `file` (the Images panel's button).
pub async fn download_image(name: &str, file: &str) -> Result<(), String> {
    let online = companion_online().await;
    let bytes = save_image(name, online).await?;
    super::web::download(file, &bytes, "application/x-tar")
}
