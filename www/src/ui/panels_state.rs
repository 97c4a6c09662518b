//! The Images and Registry side panels as reducers: a list that loads, shows rows or says why it could not,
//! and reloads when the terminal changed the store. Also what the Registry panel lists, read with the core
//! registry client (so it is tested natively).

use std::collections::BTreeMap;

use slipway::api::ContainerSummary;
use slipway::cli::format::{human_duration, human_size};
use slipway::cli::{compose_project, containers};
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

/// One block of the Containers panel: the containers of one compose project (by their
/// `com.docker.compose.project` label), or (`project` None) those of no project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerGroup {
    pub project: Option<String>,
    pub containers: Vec<ContainerSummary>,
}

/// The session's containers grouped for the panel: those of no project first (as listed), then each compose
/// project by name, its containers by service and number (`web-1`, `web-2`, `db-1` sorted by name).
pub fn group_containers(rows: Vec<ContainerSummary>) -> Vec<ContainerGroup> {
    let mut loose = Vec::new();
    let mut projects: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for row in rows {
        match row.labels.get(compose_project::PROJECT).cloned() {
            Some(project) => projects.entry(project).or_default().push(row),
            None => loose.push(row),
        }
    }
    let mut groups = Vec::new();
    if !loose.is_empty() {
        groups.push(ContainerGroup {
            project: None,
            containers: loose,
        });
    }
    groups.extend(projects.into_iter().map(|(project, mut containers)| {
        containers.sort_by(|a, b| a.name.cmp(&b.name));
        ContainerGroup {
            project: Some(project),
            containers,
        }
    }));
    groups
}

/// A container's row: its name (in a project, the service and number, `web-1`), its image, and its state with
/// its published ports as `docker ps` words them.
pub fn container_cells(c: &ContainerSummary, now: u64) -> [String; 3] {
    let mut status = containers::status_text(c, now);
    let ports = containers::ports_text(c);
    if !ports.is_empty() {
        status = format!("{status} · {ports}");
    }
    let name = match (
        c.labels.get(compose_project::SERVICE),
        c.labels.get(compose_project::NUMBER),
    ) {
        (Some(service), Some(n)) if c.labels.get(compose_project::ONEOFF).is_none_or(|o| o != "True") => {
            format!("{service}-{n}")
        }
        _ => c.name.clone(),
    };
    [name, c.image.clone(), status]
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
    fn containers_are_grouped_by_compose_project_with_their_services_and_health() {
        use slipway::api::HealthStatus;
        let row = |name: &str, labels: &[(&str, &str)]| -> ContainerSummary {
            let mut row: ContainerSummary = serde_json::from_value(serde_json::json!({
                "id": format!("{name}-id"), "name": name, "image": "busybox", "command": "sh", "created": 0,
                "status": "running", "exit_code": null, "ports": [{"host": 8080, "container": 80}],
            }))
            .unwrap();
            row.labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            row
        };
        let web = |n: &str| {
            row(
                &format!("app-web-{n}"),
                &[
                    (compose_project::PROJECT, "app"),
                    (compose_project::SERVICE, "web"),
                    (compose_project::NUMBER, n),
                ],
            )
        };
        let groups = group_containers(vec![web("2"), row("loose", &[]), web("1")]);
        let projects: Vec<Option<&str>> = groups.iter().map(|g| g.project.as_deref()).collect();
        assert_eq!(projects, [None, Some("app")]);
        let names: Vec<String> = groups[1]
            .containers
            .iter()
            .map(|c| container_cells(c, 10)[0].clone())
            .collect();
        assert_eq!(names, ["web-1", "web-2"]);
        assert_eq!(
            container_cells(&groups[1].containers[0], 10)[2],
            "Up 10 seconds · 127.0.0.1:8080->80/tcp"
        );
        assert_eq!(container_cells(&groups[0].containers[0], 10)[0], "loose");
        // Health beside the state, as `docker compose ps` shows it.
        let mut db = web("1");
        for (health, shown) in [
            (HealthStatus::Healthy, "Up 10 seconds (healthy)"),
            (HealthStatus::Unhealthy, "Up 10 seconds (unhealthy)"),
            (HealthStatus::Starting, "Up 10 seconds (health: starting)"),
        ] {
            db.health = Some(health);
            let status = container_cells(&db, 10)[2].clone();
            assert_eq!(status, format!("{shown} · 127.0.0.1:8080->80/tcp"));
        }
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
