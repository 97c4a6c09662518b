//! Image commands over the session's local store (`docs/local-images.md`): `images`, `tag`, `rmi`,
//! `image inspect`, `image history` and `system df`, with docker 28's columns, texts and JSON shapes.

use std::collections::BTreeMap;

use serde_json::Value;

use super::context::{CommandContext, Printer, Stream};
use super::format::{go_time, human_duration, human_size, tabwrite, Template, TemplateError};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::paths::IMAGES;
use crate::image::local_store::{familiar_of_local, LocalImage, ManifestParts, LOCAL_PREFIX};
use crate::image::{Reference, ReferenceError};
use crate::registry::{Client, ClientError, Transport, TransportError};

/// Why the session's local images could not be listed, or one found: docker's texts.
#[derive(Debug, thiserror::Error)]
pub enum LocalImageError {
    #[error("Cannot connect to the Slipway companion at {base}: {source}")]
    Unreachable {
        base: String,
        #[source]
        source: TransportError,
    },
    #[error("unreadable answer from {IMAGES}: {0}")]
    Unreadable(#[source] serde_json::Error),
    #[error("Error response from daemon: {IMAGES} answered HTTP {0}")]
    Status(u16),
    /// Reading the session's repositories through the registry API.
    #[error("Error response from daemon: {0}")]
    Registry(#[source] ClientError),
    /// docker's `No such image: NAME`, the name as docker shows it.
    #[error("No such image: {0}")]
    NoSuchImage(String),
    /// A listed image whose name is no reference (a bug in the store).
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

/// The session's local images, newest first: `GET /api/images`, or, from a companion without it, the
/// session's `slipway-local/KEY/` repositories read through the registry API.
pub async fn list_local<T: Transport>(
    ctx: &CommandContext<'_, T>,
) -> Result<Vec<LocalImage>, LocalImageError> {
    let request =
        crate::registry::HttpRequest::new(crate::registry::Method::Get, format!("{}{IMAGES}", ctx.base));
    let response = ctx
        .transport
        .send(request)
        .await
        .map_err(|source| LocalImageError::Unreachable {
            base: ctx.base.to_string(),
            source,
        })?;
    // A companion without the endpoint answers with its web app (or 404): read the store itself then.
    let json = response
        .header("content-type")
        .is_some_and(|t| t.contains("json"));
    if response.is_success() && json {
        let images = serde_json::from_slice(&response.body).map_err(LocalImageError::Unreadable)?;
        return Ok(newest_first(images));
    }
    if json && response.status != 404 {
        return Err(LocalImageError::Status(response.status));
    }
    let client = ctx.local_client();
    let prefix = format!("{LOCAL_PREFIX}/{}/", ctx.session_key());
    let mut images = Vec::new();
    let repositories = client.catalog().await.map_err(LocalImageError::Registry)?;
    for repository in repositories.iter().filter(|r| r.starts_with(&prefix)) {
        for tag in client.tags(repository).await.unwrap_or_default() {
            if let Ok(image) = read_local(&client, repository, &tag).await {
                images.push(LocalImage {
                    repository: familiar_of_local(&repository[prefix.len()..]),
                    ..image
                });
            }
        }
    }
    Ok(newest_first(images))
}

/// Newest first, as docker lists; images made at the same second by name, so the order never wobbles.
fn newest_first(mut images: Vec<LocalImage>) -> Vec<LocalImage> {
    images.sort_by(|a, b| {
        b.created_unix()
            .cmp(&a.created_unix())
            .then_with(|| a.name().cmp(&b.name()))
    });
    images
}

async fn read_local<T: Transport>(
    client: &Client<T>,
    repository: &str,
    tag: &str,
) -> Result<LocalImage, ClientError> {
    let manifest = client.pull_manifest(repository, tag).await?;
    let parts = ManifestParts::parse(&manifest.bytes).ok_or_else(|| ClientError::Registry {
        status: 200,
        code: "MANIFEST_INVALID".into(),
        message: format!("{repository}:{tag} is not an image manifest"),
    })?;
    let config: Value = serde_json::from_slice(&client.pull_blob(repository, &parts.config_digest).await?)
        .unwrap_or_default();
    Ok(LocalImage {
        repository: repository.to_string(),
        tag: tag.to_string(),
        digest: manifest.digest,
        id: parts.config_digest.clone(),
        created: config["created"].as_str().unwrap_or_default().to_string(),
        size: parts.size(),
    })
}

/// A local image found by name (`busybox`, `learner1/app:v1`) or by ID prefix (`6fd955f66c23`).
pub struct Found {
    pub image: LocalImage,
    pub repository: String,
    pub manifest: Vec<u8>,
    pub config: Value,
}

pub(super) fn looks_like_id(name: &str) -> bool {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    hex.len() >= 4
        && hex.len() <= 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Find a local image; not there is docker's `No such image: NAME`.
pub async fn find<T: Transport>(ctx: &CommandContext<'_, T>, name: &str) -> Result<Found, LocalImageError> {
    let no_such = || {
        let shown = match Reference::parse(name) {
            Ok(r) if !looks_like_id(name) => r.with_default_tag().familiar(),
            _ => name.to_string(),
        };
        LocalImageError::NoSuchImage(shown)
    };
    let client = ctx.local_client();
    let mut image = None;
    if let Ok(reference) = Reference::parse(name).map(Reference::with_default_tag) {
        let repository = ctx.local_repository(&reference);
        if let Ok(found) = read_local(&client, &repository, &reference.tag_or_digest()).await {
            image = Some((
                LocalImage {
                    repository: reference.familiar_name(),
                    ..found
                },
                repository,
            ));
        }
    }
    if image.is_none() && looks_like_id(name) {
        let hex = name.strip_prefix("sha256:").unwrap_or(name);
        let listed = list_local(ctx).await?;
        if let Some(hit) = listed
            .into_iter()
            .find(|i| i.id.strip_prefix("sha256:").is_some_and(|h| h.starts_with(hex)))
        {
            let reference = Reference::parse(&hit.name())?;
            image = Some((hit, ctx.local_repository(&reference)));
        }
    }
    let (image, repository) = image.ok_or_else(no_such)?;
    let manifest = client
        .pull_manifest(&repository, &image.tag)
        .await
        .map_err(|_| no_such())?;
    let config = client
        .pull_blob(&repository, &image.id)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    Ok(Found {
        image,
        repository,
        manifest: manifest.bytes,
        config,
    })
}

fn image_fields(image: &LocalImage, now: u64, no_trunc: bool) -> BTreeMap<&'static str, String> {
    let created = image.created_unix();
    BTreeMap::from([
        (
            "ID",
            if no_trunc {
                image.id.clone()
            } else {
                image.short_id().to_string()
            },
        ),
        ("Repository", image.repository.clone()),
        ("Tag", image.tag.clone()),
        ("Digest", image.digest.clone()),
        (
            "CreatedSince",
            format!(
                "{} ago",
                human_duration(now.saturating_sub(created.max(0) as u64))
            ),
        ),
        ("CreatedAt", go_time(created)),
        ("Size", human_size(image.size)),
    ])
}

const IMAGE_TITLES: [(&str, &str); 7] = [
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
];

/// Render rows through `--format` (plain lines, or a `table` with its header), docker-style.
pub fn render_template(
    format: &str,
    rows: &[BTreeMap<&'static str, String>],
    titles: &[(&'static str, &'static str)],
    kind: &'static str,
) -> Result<String, TemplateError> {
    let template = Template::parse(format);
    let mut lines = Vec::new();
    for row in rows {
        lines.push(template.render(row, kind)?);
    }
    if !template.table {
        return Ok(lines.iter().map(|l| format!("{l}\n")).collect());
    }
    let titles = BTreeMap::from_iter(titles.iter().copied());
    let table: Vec<Vec<String>> = std::iter::once(template.header(&titles))
        .chain(lines)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    Ok(tabwrite(&table))
}

/// The `docker images` output for `images` (already filtered), docker 28's columns and flags.
pub fn images_table(images: &[LocalImage], inv: &Invocation, now: u64) -> Result<String, TemplateError> {
    let no_trunc = inv.flags.is_set(Flag::NO_TRUNC);
    if inv.flags.is_set(Flag::QUIET) {
        return Ok(images
            .iter()
            .map(|i| format!("{}\n", image_fields(i, now, no_trunc)["ID"]))
            .collect());
    }
    let rows: Vec<_> = images.iter().map(|i| image_fields(i, now, no_trunc)).collect();
    if let Some(format) = inv.flags.value(Flag::FORMAT) {
        return render_template(format, &rows, &IMAGE_TITLES, "formatter.imageContext");
    }
    let mut columns = vec!["Repository", "Tag"];
    if inv.flags.is_set(Flag::DIGESTS) {
        columns.push("Digest");
    }
    columns.extend(["ID", "CreatedSince", "Size"]);
    let titles = BTreeMap::from(IMAGE_TITLES);
    let table: Vec<Vec<String>> = std::iter::once(columns.iter().map(|c| titles[c].to_string()).collect())
        .chain(
            rows.iter()
                .map(|row| columns.iter().map(|c| row[c].clone()).collect()),
        )
        .collect();
    Ok(tabwrite(&table))
}

/// `docker images [REPOSITORY[:TAG]]`.
pub async fn list<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    match list_local(ctx).await {
        Ok(images) => list_these(images, inv, ctx.now),
        Err(e) => Outcome::failure(e.to_string(), 1),
    }
}

/// `docker images` over a given list (the companion's local store, or the page's own when offline).
pub fn list_these(mut images: Vec<LocalImage>, inv: &Invocation, now: u64) -> Outcome {
    let mut patterns: Vec<String> = inv.args.clone();
    for filter in inv.flags.values(Flag::FILTER) {
        match filter.split_once('=') {
            Some(("reference", pattern)) => patterns.push(pattern.to_string()),
            // Nothing here is ever dangling: every local image has a tag.
            Some(("dangling", "true")) => images.clear(),
            Some(("dangling", "false")) => {}
            _ => {
                let key = filter.split('=').next().unwrap_or_default();
                return Outcome::failure(format!("Error response from daemon: invalid filter '{key}'"), 1);
            }
        }
    }
    images.retain(|image| patterns.iter().all(|p| reference_matches(p, image)));
    match images_table(&images, inv, now) {
        Ok(text) => Outcome::success(text),
        Err(e) => Outcome::failure(e.to_string(), 1),
    }
}

/// `path.Match`-style globbing as docker's reference filter uses: `*` and `?` never cross a `/`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text)
                || (text.first().is_some_and(|&c| c != b'/') && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(&c)) if c != b'/' => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(c)) if p == c => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// Whether `docker images PATTERN` (or `--filter reference=PATTERN`) shows an image: `busybox`,
/// `learner1/*`, `busybox:1.*`, `docker.io/library/busybox`.
pub fn reference_matches(pattern: &str, image: &LocalImage) -> bool {
    let (name, tag) = match pattern.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        Some((name, tag)) => (name.to_string(), Some(tag)),
        None => (pattern.to_string(), None),
    };
    let name = if name.contains(['*', '?']) {
        name
    } else {
        Reference::parse(&name).map(|r| r.familiar_name()).unwrap_or(name)
    };
    glob(name.as_bytes(), image.repository.as_bytes())
        && tag.is_none_or(|t| glob(t.as_bytes(), image.tag.as_bytes()))
}

/// `docker tag SOURCE TARGET`: the manifest PUT under the new name, its blobs mounted there first.
pub async fn tag<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let out = Printer::new(ctx);
    let target = match Reference::parse(&inv.args[1]) {
        Ok(r) => r.with_default_tag(),
        Err(e) => {
            return out.fail(
                &format!(
                    "Error parsing reference: {:?} is not a valid repository/tag: {e}",
                    inv.args[1]
                ),
                1,
            )
        }
    };
    let found = match find(ctx, &inv.args[0]).await {
        Ok(found) => found,
        Err(e) => return out.fail(&format!("Error response from daemon: {e}"), 1),
    };
    match copy_local(ctx, &found, &target).await {
        Ok(()) => {
            super::image_events::record_image(ctx, "tag", &found.image.id, &target.familiar()).await;
            out.done()
        }
        Err(e) => out.fail(&format!("Error response from daemon: {e}"), 1),
    }
}

/// Put a found local image under another local name (blobs mounted, manifest PUT by tag).
pub async fn copy_local<T: Transport>(
    ctx: &CommandContext<'_, T>,
    found: &Found,
    target: &Reference,
) -> Result<(), ClientError> {
    let client = ctx.local_client();
    let repository = ctx.local_repository(target);
    let parts = ManifestParts::parse(&found.manifest).ok_or_else(|| ClientError::Registry {
        status: 200,
        code: "MANIFEST_INVALID".into(),
        message: "not an image manifest".into(),
    })?;
    let blobs =
        std::iter::once(parts.config_digest.clone()).chain(parts.layers.iter().map(|(d, _)| d.clone()));
    for digest in blobs {
        if client.blob_exists(&repository, &digest).await?.is_none()
            && !client.mount_blob(&repository, &digest, &found.repository).await?
        {
            let data = client.pull_blob(&found.repository, &digest).await?;
            client
                .push_blob(&repository, &digest, &data, &Default::default(), &mut |_, _| {})
                .await?;
        }
    }
    let media_type = serde_json::from_slice::<Value>(&found.manifest)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_string))
        .unwrap_or_else(|| "application/vnd.oci.image.manifest.v1+json".into());
    client
        .push_manifest(&repository, &target.tag_or_digest(), &media_type, &found.manifest)
        .await?;
    Ok(())
}

/// `docker rmi NAME...`: `Untagged: NAME`, then `Deleted: sha256:ID` when no other tag keeps the image.
pub async fn remove<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let client = ctx.local_client();
    for name in &inv.args {
        let found = match find(ctx, name).await {
            Ok(found) => found,
            Err(e) => {
                out.line(Stream::Stderr, &format!("Error response from daemon: {e}"));
                out.outcome.exit_code = 1;
                continue;
            }
        };
        let others: Vec<LocalImage> = list_local(ctx)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i.id == found.image.id && i.name() != found.image.name())
            .collect();
        let by_id = looks_like_id(name)
            && Reference::parse(name)
                .map(|r| r.familiar_name() != found.image.repository)
                .unwrap_or(true);
        if by_id && !others.is_empty() && !inv.flags.is_set(Flag::FORCE) {
            out.line(
                Stream::Stderr,
                &format!(
                    "Error response from daemon: conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
                    found.image.short_id()
                ),
            );
            out.outcome.exit_code = 1;
            continue;
        }
        let mut doomed = vec![found.image.clone()];
        if by_id {
            doomed.extend(others.iter().cloned());
        }
        for image in &doomed {
            let repository = match Reference::parse(&image.name()) {
                Ok(r) => ctx.local_repository(&r),
                Err(_) => continue,
            };
            if let Err(e) = client.delete_manifest(&repository, &image.tag).await {
                out.line(Stream::Stderr, &format!("Error response from daemon: {e}"));
                out.outcome.exit_code = 1;
                continue;
            }
            out.line(Stream::Stdout, &format!("Untagged: {}", image.name()));
            super::image_events::record_image(ctx, "untag", &image.id, &image.id).await;
        }
        if by_id || others.is_empty() {
            out.line(Stream::Stdout, &format!("Deleted: {}", found.image.id));
            super::image_events::record_image(ctx, "delete", &found.image.id, &found.image.id).await;
        }
    }
    out.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_filter_like_docker() {
        let image = |repository: &str, tag: &str| LocalImage {
            repository: repository.into(),
            tag: tag.into(),
            digest: String::new(),
            id: String::new(),
            created: String::new(),
            size: 0,
        };
        let busybox = image("busybox", "1.36");
        assert!(reference_matches("busybox", &busybox));
        assert!(reference_matches("docker.io/library/busybox:1.36", &busybox));
        assert!(reference_matches("busy*", &busybox));
        assert!(reference_matches("busybox:1.*", &busybox));
        assert!(!reference_matches("busybox:latest", &busybox));
        let app = image("learner1/app", "v1");
        assert!(reference_matches("learner1/*", &app));
        assert!(!reference_matches("*", &app), "* stops at a slash");
        assert!(reference_matches("*/*:v?", &app));
    }
}
