//! The Images and Registry side panels as reducers: a list that loads, shows rows or says why it could not,
//! and reloads when the terminal changed the store. Also what the Registry panel lists, read with the core
//! registry client (so it is tested natively).

use slipway::cli::format::{human_duration, human_size};
use slipway::image::local_store::{LocalImage, ManifestParts, LOCAL_PREFIX};
use slipway::image::parse_rfc3339;
use slipway::registry::{Client, ClientError, Transport};

/// A panel's list: loading, loaded rows, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PanelList<T> {
    #[default]
    Loading,
    Loaded(Vec<T>),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PanelAction<T> {
    /// A (re)load started.
    Refresh,
    Loaded(Vec<T>),
    Failed(String),
}

impl<T> PanelList<T> {
    /// A reload keeps the rows on screen until the new ones arrive (no flicker after each push).
    pub fn reduce(self, action: PanelAction<T>) -> Self {
        match (self, action) {
            (PanelList::Loaded(rows), PanelAction::Refresh) => PanelList::Loaded(rows),
            (_, PanelAction::Refresh) => PanelList::Loading,
            (_, PanelAction::Loaded(rows)) => PanelList::Loaded(rows),
            (_, PanelAction::Failed(why)) => PanelList::Failed(why),
        }
    }
}

/// One tag in the embedded registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    pub repository: String,
    pub tag: String,
    pub digest: String,
    /// Config plus layers as stored (compressed); for an index, the index itself.
    pub size: u64,
}

/// Every repository (except the sessions' local stores), tag, digest and size the registry serves.
pub async fn load_registry<T: Transport>(client: &Client<T>) -> Result<Vec<RegistryEntry>, ClientError> {
    let mut entries = Vec::new();
    let local = format!("{LOCAL_PREFIX}/");
    for repository in client.catalog().await? {
        if repository.starts_with(&local) {
            continue;
        }
        let mut tags = client.tags(&repository).await?;
        tags.sort();
        for tag in tags {
            let manifest = client.pull_manifest(&repository, &tag).await?;
            let size = ManifestParts::parse(&manifest.bytes)
                .map(|parts| parts.size())
                .unwrap_or(manifest.bytes.len() as u64);
            entries.push(RegistryEntry {
                repository: repository.clone(),
                tag,
                digest: manifest.digest,
                size,
            });
        }
    }
    Ok(entries)
}

/// The cells a registry row shows: `learner1/app:v1`, a short digest, the size.
pub fn registry_cells(entry: &RegistryEntry) -> [String; 3] {
    let hex = entry.digest.strip_prefix("sha256:").unwrap_or(&entry.digest);
    [
        format!("{}:{}", entry.repository, entry.tag),
        format!("sha256:{}", &hex[..hex.len().min(12)]),
        human_size(entry.size),
    ]
}

/// The cells an image row shows, as `docker images` would: name, short ID, age, size.
pub fn image_cells(image: &LocalImage, now: u64) -> [String; 4] {
    let created = parse_rfc3339(&image.created).unwrap_or(0).max(0) as u64;
    [
        image.name(),
        image.short_id().to_string(),
        format!("{} ago", human_duration(now.saturating_sub(created))),
        human_size(image.size),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_fail_and_reload_without_flicker() {
        let list = PanelList::<u32>::default();
        assert_eq!(list, PanelList::Loading);
        let list = list.reduce(PanelAction::Loaded(vec![1, 2]));
        assert_eq!(
            list.clone().reduce(PanelAction::Refresh),
            PanelList::Loaded(vec![1, 2])
        );
        let failed = list.reduce(PanelAction::Failed("HTTP 502".into()));
        assert_eq!(failed.clone().reduce(PanelAction::Refresh), PanelList::Loading);
        assert_eq!(failed, PanelList::Failed("HTTP 502".into()));
    }

    #[test]
    fn rows_read_like_docker() {
        let image = LocalImage {
            repository: "busybox".into(),
            tag: "latest".into(),
            digest: "sha256:aa".into(),
            id: "sha256:0123456789abcdef".into(),
            created: "1970-01-01T00:00:00Z".into(),
            size: 4_261_234,
        };
        assert_eq!(
            image_cells(&image, 7200),
            ["busybox:latest", "0123456789ab", "2 hours ago", "4.26MB"]
        );
        let entry = RegistryEntry {
            repository: "learner1/app".into(),
            tag: "v1".into(),
            digest: "sha256:54bad796ac693c16376650550b".into(),
            size: 402,
        };
        assert_eq!(
            registry_cells(&entry),
            ["learner1/app:v1", "sha256:54bad796ac69", "402B"]
        );
    }
}
