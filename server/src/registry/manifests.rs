//! `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<tag or digest>`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderName, Method, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;
use oci_spec::image::Digest;

use super::digest::{digest_of, Algorithm};
use super::manifest;
use super::names::{Reference, RepoName};
use super::repository::ManifestEntry;
use super::upstream::Upstreams;
use super::{blocking, respond, RegistryError, Request, Store, DOCKER_CONTENT_DIGEST};

/// The manifest a reference names in `repo`.
fn resolve(store: &Store, repo: &RepoName, reference: &Reference) -> Result<ManifestEntry, RegistryError> {
    if !store.repo_exists(repo) {
        return Err(RegistryError::NameUnknown(repo.to_string()));
    }
    let digest = match reference {
        Reference::Digest(digest) => digest.clone(),
        Reference::Tag(tag) => store
            .resolve_tag(repo, tag)
            .ok_or_else(|| RegistryError::ManifestUnknown(format!("{repo}:{tag}")))?,
    };
    store
        .manifest(repo, &digest)
        .ok_or_else(|| RegistryError::ManifestUnknown(format!("{repo}@{digest}")))
}

pub async fn get(
    store: &Arc<Store>,
    upstreams: Option<&Upstreams>,
    repo: &RepoName,
    reference: &str,
    request: &Request,
) -> Result<Response, RegistryError> {
    let reference = Reference::parse(reference)?;
    let entry = match (resolve(store, repo, &reference), upstreams) {
        (Ok(entry), _) => entry,
        (Err(local), Some(upstreams)) => upstreams
            .fetch_manifest(store, repo, &reference)
            .await?
            .ok_or(local)?,
        (Err(local), None) => return Err(local),
    };
    let headers = vec![
        (header::CONTENT_TYPE, entry.media_type.clone()),
        (DOCKER_CONTENT_DIGEST, entry.digest.to_string()),
        (header::CONTENT_LENGTH, entry.size.to_string()),
        (header::ETAG, format!("\"{}\"", entry.digest)),
    ];
    if request.method == Method::HEAD {
        return Ok(respond(StatusCode::OK, headers, Body::empty()));
    }
    let bytes = tokio::fs::read(store.blob_path(&entry.digest)).await?;
    Ok(respond(StatusCode::OK, headers, Body::from(bytes)))
}

/// Read a request body of at most `limit` bytes.
async fn read_limited(body: Body, limit: u64) -> Result<Vec<u8>, RegistryError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| RegistryError::Body(e.to_string()))?;
        bytes.extend_from_slice(&chunk);
        if bytes.len() as u64 > limit {
            return Err(RegistryError::TooLarge {
                what: "manifest",
                size: bytes.len() as u64,
                limit,
            });
        }
    }
    Ok(bytes)
}

pub async fn put(
    store: &Arc<Store>,
    repo: &RepoName,
    reference: &str,
    request: &Request,
    body: Body,
) -> Result<Response, RegistryError> {
    let reference = Reference::parse(reference)?;
    if let Some(length) = request
        .header(header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok())
    {
        let limit = store.limits.max_manifest_size;
        if length > limit {
            return Err(RegistryError::TooLarge {
                what: "manifest",
                size: length,
                limit,
            });
        }
    }
    let content_type = request.header(header::CONTENT_TYPE).map(str::to_string);
    let bytes = read_limited(body, store.limits.max_manifest_size).await?;
    let checked = manifest::check(content_type.as_deref(), &bytes)?;
    let extra_tags = request
        .tags
        .iter()
        .map(|tag| match Reference::parse(tag)? {
            Reference::Tag(tag) => Ok(tag),
            Reference::Digest(_) => Err(RegistryError::TagInvalid(tag.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (digest, tag) = match &reference {
        Reference::Digest(expected) => {
            let actual = digest_of(Algorithm::of(expected)?, &bytes);
            if &actual != expected {
                return Err(RegistryError::DigestInvalid(format!(
                    "the manifest's digest is {actual}, not {expected}"
                )));
            }
            (actual, None)
        }
        Reference::Tag(tag) => (digest_by_tag(store, repo, &bytes), Some(tag.clone())),
    };
    let entry = ManifestEntry {
        digest: digest.clone(),
        media_type: checked.media_type.clone(),
        size: bytes.len() as u64,
    };
    let target = repo.clone();
    let subject = checked.subject.clone();
    let tags: Vec<String> = tag.into_iter().chain(extra_tags.iter().cloned()).collect();
    blocking(store, move |store| {
        for blob in &checked.blobs {
            if store.repo_blob_size(&target, blob).is_none() {
                return Err(RegistryError::ManifestBlobUnknown(blob.to_string()));
            }
        }
        for child in &checked.manifests {
            if store.manifest(&target, child).is_none() {
                return Err(RegistryError::ManifestBlobUnknown(format!("manifest {child}")));
            }
        }
        let descriptor = checked.referrer_descriptor(&entry.digest, entry.size);
        let referrer = checked.subject.as_ref().map(|s| (s, &descriptor));
        store.put_manifest(
            &target,
            &entry,
            &bytes,
            tags.first().map(String::as_str),
            referrer,
        )?;
        for tag in tags.iter().skip(1) {
            store.put_manifest(&target, &entry, &bytes, Some(tag), None)?;
        }
        Ok(())
    })
    .await?;
    let mut headers = vec![
        (header::LOCATION, format!("/v2/{repo}/manifests/{digest}")),
        (DOCKER_CONTENT_DIGEST, digest.to_string()),
        (header::CONTENT_LENGTH, "0".into()),
    ];
    if let Some(subject) = subject {
        headers.push((HeaderName::from_static("oci-subject"), subject.to_string()));
    }
    let mut response = respond(StatusCode::CREATED, headers, Body::empty());
    // Distribution Spec 1.1: one `OCI-Tag` per tag of the query applied (tags are header-safe by their syntax).
    for tag in extra_tags {
        if let Ok(value) = axum::http::HeaderValue::from_str(&tag) {
            response
                .headers_mut()
                .append(HeaderName::from_static("oci-tag"), value);
        }
    }
    Ok(response)
}

/// The digest a manifest pushed by tag is named by: sha256, unless the repository already holds these bytes
/// under their sha512 digest (pushed by that digest first), which it keeps.
fn digest_by_tag(store: &Store, repo: &RepoName, bytes: &[u8]) -> Digest {
    let sha256 = digest_of(Algorithm::Sha256, bytes);
    if store.manifest(repo, &sha256).is_some() {
        return sha256;
    }
    let sha512 = digest_of(Algorithm::Sha512, bytes);
    match store.manifest(repo, &sha512) {
        Some(_) => sha512,
        None => sha256,
    }
}

/// Every `tag=` value of a raw query string, in order (Distribution Spec 1.1's `PUT
/// /v2/<name>/manifests/<digest>?tag=a&tag=b`).
pub(crate) fn query_tags(query: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("tag="))
        .map(str::to_string)
        .collect()
}

pub async fn delete(store: &Arc<Store>, repo: &RepoName, reference: &str) -> Result<Response, RegistryError> {
    let reference = Reference::parse(reference)?;
    let repo = repo.clone();
    blocking(store, move |store| {
        let entry = resolve(store, &repo, &reference)?;
        match reference {
            Reference::Tag(tag) => store.delete_tag(&repo, &tag),
            Reference::Digest(digest) => {
                let subject = subject_of(store, &entry);
                store.delete_manifest(&repo, &digest, subject.as_ref())
            }
        }
    })
    .await?;
    Ok(respond(
        StatusCode::ACCEPTED,
        vec![(header::CONTENT_LENGTH, "0".into())],
        Body::empty(),
    ))
}

fn subject_of(store: &Store, entry: &ManifestEntry) -> Option<Digest> {
    let bytes = std::fs::read(store.blob_path(&entry.digest)).ok()?;
    manifest::check(Some(&entry.media_type), &bytes).ok()?.subject
}
