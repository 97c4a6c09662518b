//! Base images are read-only over HTTP. A repository the operator imported (`slipway serve` at start,
//! `slipway base-images`, `slipway import`) carries a marker file in its storage, and every write to it through
//! `/v2/` (upload, mount, manifest PUT, tag or manifest DELETE, blob DELETE) is refused with `DENIED`, whoever
//! asks and whether or not users are configured: every learner pulls `library/python`, so no learner may replace
//! it. The operator's import writes to the storage directly and keeps updating it.

use axum::http::Method;

use super::names::{RepoName, Route};
use super::{blocking, RegistryError, Store};

/// The marker's file name, beside `layers/`, `manifests/` and `tags/` in `repos/<name>/_repo/`.
const MARKER: &str = "read-only";

impl Store {
    /// Make `repo` read-only over HTTP, from now on (idempotent). Import calls this before it writes anything,
    /// so no push can slip in while an image is being imported.
    pub fn mark_read_only(&self, repo: &RepoName) -> std::io::Result<()> {
        let marker = self.repo_dir(repo).join(MARKER);
        if marker.is_file() {
            return Ok(());
        }
        self.write_atomic(
            &marker,
            b"imported by the operator: read-only over HTTP; `slipway import` updates it\n",
        )
    }

    /// Whether the operator imported `repo` (so HTTP may only read it).
    pub fn is_read_only(&self, repo: &RepoName) -> bool {
        self.repo_dir(repo).join(MARKER).is_file()
    }
}

/// Let a request through unless it would change a read-only repository (`POST`, `PATCH`, `PUT`, `DELETE`).
/// Reads always pass; so do the catalog and writes to other repositories.
pub(super) async fn check(
    store: &std::sync::Arc<Store>,
    route: &Route,
    method: &Method,
) -> Result<(), RegistryError> {
    if !matches!(
        *method,
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    ) {
        return Ok(());
    }
    let Some(repo) = route.repository().and_then(|name| RepoName::parse(name).ok()) else {
        return Ok(());
    };
    blocking(store, move |store| {
        if store.is_read_only(&repo) {
            Err(RegistryError::Denied(format!(
                "{repo} is a base image the operator imported and is read-only: \
                 push your image under a name of your own (for example yourname/{})",
                repo.as_str().rsplit('/').next().unwrap_or("app")
            )))
        } else {
            Ok(())
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_reads_reach_a_marked_repository() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path(), Default::default()).unwrap());
        let python = RepoName::parse("library/python").unwrap();
        store.mark_read_only(&python).unwrap();
        store.mark_read_only(&python).unwrap();
        assert!(store.is_read_only(&python));
        let manifest = Route::parse("library/python/manifests/3.11-slim").unwrap();
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(check(&store, &manifest, &method).await.is_ok());
        }
        for method in [Method::PUT, Method::DELETE, Method::POST, Method::PATCH] {
            let refused = check(&store, &manifest, &method).await.unwrap_err();
            assert!(matches!(refused, RegistryError::Denied(_)), "{refused}");
        }
        let other = Route::parse("library/hello/blobs/uploads/").unwrap();
        assert!(check(&store, &other, &Method::POST).await.is_ok());
        assert!(check(&store, &Route::Catalog, &Method::DELETE).await.is_ok());
    }
}
