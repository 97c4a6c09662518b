//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`: blobs streamed from disk, with `Range` support.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::names::{parse_digest, RepoName};
use super::upstream::Upstreams;
use super::{blocking, respond, RegistryError, Request, Store, DOCKER_CONTENT_DIGEST};

/// Parse `bytes=a-b`, `bytes=a-` or `bytes=-n` against a blob of `size` bytes into an inclusive range.
pub fn parse_range(value: &str, size: u64) -> Result<(u64, u64), RegistryError> {
    let unsatisfiable = || RegistryError::RangeNotSatisfiable { size };
    let spec = value.trim().strip_prefix("bytes=").ok_or_else(unsatisfiable)?;
    if spec.contains(',') {
        return Err(unsatisfiable());
    }
    let (first, last) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| unsatisfiable());
    let (start, end) = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => {
            let suffix = parse(last)?;
            if suffix == 0 {
                return Err(unsatisfiable());
            }
            (
                size.saturating_sub(suffix),
                size.checked_sub(1).ok_or_else(unsatisfiable)?,
            )
        }
        (false, true) => (parse(first)?, size.checked_sub(1).ok_or_else(unsatisfiable)?),
        (false, false) => (parse(first)?, parse(last)?.min(size.saturating_sub(1))),
        (true, true) => return Err(unsatisfiable()),
    };
    if start > end || start >= size {
        return Err(unsatisfiable());
    }
    Ok((start, end))
}

pub async fn get(
    store: &Arc<Store>,
    upstreams: Option<&Upstreams>,
    repo: &RepoName,
    digest: &str,
    request: &Request,
) -> Result<Response, RegistryError> {
    let digest = parse_digest(digest)?;
    let mut size = store.repo_blob_size(repo, &digest);
    if let (None, Some(upstreams)) = (size, upstreams) {
        if upstreams.fetch_blob(store, repo, &digest).await? {
            size = store.repo_blob_size(repo, &digest);
        }
    }
    let size = size.ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))?;
    let range = match request.header(header::RANGE) {
        Some(value) => Some(parse_range(value, size)?),
        None => None,
    };
    let (status, start, length) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, size),
    };
    let mut headers = vec![
        (DOCKER_CONTENT_DIGEST, digest.to_string()),
        (header::CONTENT_LENGTH, length.to_string()),
        (header::CONTENT_TYPE, "application/octet-stream".to_string()),
        (header::ACCEPT_RANGES, "bytes".to_string()),
        (header::ETAG, format!("\"{digest}\"")),
    ];
    if range.is_some() {
        let end = start + length - 1;
        headers.push((header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}")));
    }
    if request.method == Method::HEAD {
        return Ok(respond(status, headers, Body::empty()));
    }
    let mut file = tokio::fs::File::open(store.blob_path(&digest)).await?;
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let stream = ReaderStream::with_capacity(file.take(length), 256 * 1024);
    Ok(respond(status, headers, Body::from_stream(stream)))
}

pub async fn delete(store: &Arc<Store>, repo: &RepoName, digest: &str) -> Result<Response, RegistryError> {
    let digest = parse_digest(digest)?;
    let repo = repo.clone();
    blocking(store, move |store| store.unlink_blob(&repo, &digest)).await?;
    Ok(respond(
        StatusCode::ACCEPTED,
        vec![(header::CONTENT_LENGTH, "0".into())],
        Body::empty(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_against_the_blob_size() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), (0, 9));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), (90, 99));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), (90, 99));
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), (50, 99));
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-1", 100).is_err());
        assert!(parse_range("items=0-1", 100).is_err());
        assert!(parse_range("bytes=0-1,3-4", 100).is_err());
        assert!(parse_range("bytes=0-", 0).is_err());
    }
}
