//! Blob uploads: `POST` (session, monolithic `?digest=`, or cross-repository `?mount=&from=`), `PATCH` chunks
//! with `Content-Range` in order, `PUT` to finish, `GET` status and `DELETE` to cancel.
//!
//! A mount without `from` (OCI distribution 1.1 allows it) links a blob only when a repository the caller may
//! pull already links it; otherwise it is a plain upload (202), as for a mount that fails. Knowing a digest is not
//! permission to read it: another session's local store or, without anonymous pull, any shared repository.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;

use oci_spec::image::Digest;

use super::names::{parse_digest, RepoName};
use super::{blocking, respond, RegistryError, Request, Store, DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID};

/// The repositories a mount without `from` may take a blob from: the ones the caller may pull.
#[derive(Debug, Clone)]
pub(crate) struct MountReach {
    /// The caller's own local store, `slipway-local/KEY/`.
    pub own_store: String,
    /// Whether the caller may pull the repositories outside `slipway-local/` (not an anonymous caller of a
    /// registry with `--no-anonymous-pull`).
    pub shared: bool,
}

impl Store {
    /// The size of `digest` when a repository within `reach` links it, else `None`.
    fn reachable_blob_size(&self, digest: &Digest, reach: &MountReach) -> std::io::Result<Option<u64>> {
        if self.blob_size(digest).is_none() {
            return Ok(None);
        }
        let mut candidates = self.catalog_under(&reach.own_store)?;
        if reach.shared {
            candidates.extend(self.shared_catalog()?);
        }
        Ok(candidates
            .iter()
            .filter_map(|name| RepoName::parse(name).ok())
            .find_map(|repo| self.repo_blob_size(&repo, digest)))
    }
}

fn session_location(repo: &RepoName, id: &str) -> String {
    format!("/v2/{repo}/blobs/uploads/{id}")
}

fn blob_created(repo: &RepoName, digest: &Digest) -> Response {
    respond(
        StatusCode::CREATED,
        vec![
            (header::LOCATION, format!("/v2/{repo}/blobs/{digest}")),
            (DOCKER_CONTENT_DIGEST, digest.to_string()),
            (header::CONTENT_LENGTH, "0".into()),
        ],
        Body::empty(),
    )
}

/// 202 or 204 with where the session stands: `Range: 0-<last byte>`.
fn session_state(status: StatusCode, repo: &RepoName, id: &str, size: u64) -> Response {
    respond(
        status,
        vec![
            (header::LOCATION, session_location(repo, id)),
            (header::RANGE, format!("0-{}", size.saturating_sub(1))),
            (DOCKER_UPLOAD_UUID, id.to_string()),
            (header::CONTENT_LENGTH, "0".into()),
        ],
        Body::empty(),
    )
}

/// `Content-Range: <start>-<end>` (a `bytes ` prefix and `/<total>` suffix are tolerated) → (start, length).
pub fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let value = value.trim();
    let value = value.strip_prefix("bytes ").unwrap_or(value);
    let value = value.split('/').next()?;
    let (start, end) = value.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    if end >= start {
        Some((start, end - start + 1))
    } else {
        None
    }
}

/// The request's `Content-Range`, if any; a malformed one is a 416 carrying the session's current range.
fn content_range(
    store: &Store,
    repo: &RepoName,
    id: &str,
    request: &Request,
) -> Result<Option<(u64, u64)>, RegistryError> {
    match request.header(header::CONTENT_RANGE) {
        None => Ok(None),
        Some(value) => match parse_content_range(value) {
            Some(range) => Ok(Some(range)),
            None => Err(RegistryError::RangeInvalid {
                current: store.upload_size(repo, id)?,
                start: u64::MAX,
            }),
        },
    }
}

pub async fn start(
    store: &Arc<Store>,
    repo: &RepoName,
    request: &Request,
    reach: &MountReach,
    body: Body,
) -> Result<Response, RegistryError> {
    if let Some(mount) = request.params.get("mount") {
        let digest = parse_digest(mount)?;
        let from = request.params.get("from").cloned();
        let (target, wanted, reach) = (repo.clone(), digest.clone(), reach.clone());
        let mounted = blocking(store, move |store| {
            let _linking = store.linking();
            let size = match from {
                Some(from) => RepoName::parse(&from)
                    .ok()
                    .and_then(|source| store.repo_blob_size(&source, &wanted)),
                None => store.reachable_blob_size(&wanted, &reach)?,
            };
            let Some(size) = size else { return Ok(false) };
            store.check_quota(&target, &wanted, size)?;
            store.link_blob(&target, &wanted)?;
            Ok(true)
        })
        .await?;
        if mounted {
            return Ok(blob_created(repo, &digest));
        }
    } else if let Some(digest) = request.params.get("digest") {
        let digest = parse_digest(digest)?;
        let stream = body.into_data_stream();
        store.put_blob(repo, &digest, stream).await?;
        return Ok(blob_created(repo, &digest));
    }
    let target = repo.clone();
    let id = blocking(store, move |store| Ok(store.start_upload(&target)?)).await?;
    Ok(session_state(StatusCode::ACCEPTED, repo, &id, 0))
}

pub async fn patch(
    store: &Arc<Store>,
    repo: &RepoName,
    id: &str,
    request: &Request,
    body: Body,
) -> Result<Response, RegistryError> {
    let range = content_range(store, repo, id, request)?;
    let (start, length) = match range {
        Some((start, length)) => (Some(start), Some(length)),
        None => (None, None),
    };
    let stream = body.into_data_stream();
    let size = store.append_upload(repo, id, start, length, stream).await?;
    Ok(session_state(StatusCode::ACCEPTED, repo, id, size))
}

pub async fn finish(
    store: &Arc<Store>,
    repo: &RepoName,
    id: &str,
    request: &Request,
    body: Body,
) -> Result<Response, RegistryError> {
    let digest = request
        .params
        .get("digest")
        .ok_or_else(|| RegistryError::DigestInvalid("PUT needs ?digest=".into()))?;
    let digest = parse_digest(digest)?;
    let start = content_range(store, repo, id, request)?.map(|(start, _)| start);
    let stream = body.into_data_stream();
    store.finish_upload(repo, id, &digest, start, stream).await?;
    Ok(blob_created(repo, &digest))
}

pub async fn status(store: &Arc<Store>, repo: &RepoName, id: &str) -> Result<Response, RegistryError> {
    let size = store.upload_size(repo, id)?;
    Ok(session_state(StatusCode::NO_CONTENT, repo, id, size))
}

pub async fn cancel(store: &Arc<Store>, repo: &RepoName, id: &str) -> Result<Response, RegistryError> {
    let (repo, id) = (repo.clone(), id.to_string());
    blocking(store, move |store| store.cancel_upload(&repo, &id)).await?;
    Ok(respond(
        StatusCode::NO_CONTENT,
        vec![(header::CONTENT_LENGTH, "0".into())],
        Body::empty(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::digest::{digest_of, Algorithm};

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("0-9"), Some((0, 10)));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10, 10)));
        assert_eq!(parse_content_range("9-0"), None);
        assert_eq!(parse_content_range("x"), None);
    }

    #[test]
    fn a_mount_without_from_reaches_only_readable_repositories() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Default::default()).unwrap();
        let link = |repo: &str, bytes: &[u8]| {
            let digest = digest_of(Algorithm::Sha256, bytes);
            store.put_small_blob(&digest, bytes).unwrap();
            store.link_blob(&RepoName::parse(repo).unwrap(), &digest).unwrap();
            digest
        };
        let public = link("learner1/app", b"public");
        let theirs = link("slipway-local/k2/learner1/app", b"theirs");
        let mine = link("slipway-local/k1/learner1/app", b"mine");
        let unlinked = digest_of(Algorithm::Sha256, b"unlinked");
        store.put_small_blob(&unlinked, b"unlinked").unwrap();
        let reach = |shared| MountReach {
            own_store: crate::registry::local::prefix("k1"),
            shared,
        };
        let size = |digest: &Digest, shared| store.reachable_blob_size(digest, &reach(shared)).unwrap();
        assert_eq!(size(&public, true), Some(6));
        assert_eq!(size(&mine, true), Some(4));
        assert_eq!(size(&theirs, true), None);
        assert_eq!(size(&unlinked, true), None);
        assert_eq!(size(&public, false), None);
        assert_eq!(size(&mine, false), Some(4));
    }
}
