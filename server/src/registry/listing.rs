//! Lists: `GET /v2/<name>/tags/list` and `/v2/_catalog` with `n`/`last` pagination, and the referrers API.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderName, StatusCode};
use axum::response::Response;

use super::manifest::OCI_INDEX;
use super::names::{parse_digest, RepoName};
use super::{blocking, respond, RegistryError, Request, Store};

/// Apply `last` (exclusive start) and `n` (page size) to a sorted list; the bool says whether more remain.
pub fn paginate(items: Vec<String>, request: &Request) -> Result<(Vec<String>, bool), RegistryError> {
    let n = match request.params.get("n") {
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| RegistryError::BadParameter(format!("n={n} is not a number")))?,
        ),
        None => None,
    };
    let mut items: Vec<String> = match request.params.get("last") {
        Some(last) => items.into_iter().filter(|item| item > last).collect(),
        None => items,
    };
    let more = n.is_some_and(|n| items.len() > n);
    if let Some(n) = n {
        items.truncate(n);
    }
    Ok((items, more))
}

fn json_list(
    path: &str,
    key: &str,
    name: Option<&RepoName>,
    items: Vec<String>,
    more: bool,
    request: &Request,
) -> Response {
    let mut body = serde_json::json!({ key: items });
    if let Some(name) = name {
        body["name"] = name.to_string().into();
    }
    let mut headers = vec![(header::CONTENT_TYPE, "application/json".to_string())];
    if more {
        if let (Some(n), Some(last)) = (request.params.get("n"), items.last()) {
            headers.push((header::LINK, format!("<{path}?n={n}&last={last}>; rel=\"next\"")));
        }
    }
    respond(StatusCode::OK, headers, Body::from(body.to_string()))
}

pub async fn tags(store: &Arc<Store>, repo: &RepoName, request: &Request) -> Result<Response, RegistryError> {
    let target = repo.clone();
    let all = blocking(store, move |store| store.tags(&target)).await?;
    let (tags, more) = paginate(all, request)?;
    let path = format!("/v2/{repo}/tags/list");
    Ok(json_list(&path, "tags", Some(repo), tags, more, request))
}

pub async fn catalog(store: &Arc<Store>, request: &Request) -> Result<Response, RegistryError> {
    // Sessions' local stores are private: not even their names are listed.
    let all = blocking(store, |store| Ok(store.shared_catalog()?)).await?;
    let (names, more) = paginate(all, request)?;
    Ok(json_list(
        "/v2/_catalog",
        "repositories",
        None,
        names,
        more,
        request,
    ))
}

pub async fn referrers(
    store: &Arc<Store>,
    repo: &RepoName,
    digest: &str,
    request: &Request,
) -> Result<Response, RegistryError> {
    let subject = parse_digest(digest)?;
    let target = repo.clone();
    let mut descriptors = blocking(store, move |store| Ok(store.referrers(&target, &subject)?)).await?;
    let filter = request.params.get("artifactType");
    if let Some(wanted) = filter {
        descriptors.retain(|d| d.get("artifactType").and_then(|t| t.as_str()) == Some(wanted.as_str()));
    }
    descriptors.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    let body = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": descriptors,
    });
    let mut headers = vec![(header::CONTENT_TYPE, OCI_INDEX.to_string())];
    if filter.is_some() {
        headers.push((
            HeaderName::from_static("oci-filters-applied"),
            "artifactType".to_string(),
        ));
    }
    Ok(respond(StatusCode::OK, headers, Body::from(body.to_string())))
}
