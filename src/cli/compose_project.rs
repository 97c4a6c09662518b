//! How Compose marks and finds a project's containers: the `com.docker.compose.*` labels `up` and `run` set on
//! each container, the lookup of a project's containers by them (not by name), and `docker compose ls`, which
//! lists the session's projects from them alone (no compose file needed). See docs/compose.md.

use std::collections::{BTreeMap, BTreeSet};

use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, CompanionError, ContainerStatus, ContainerSummary};
use crate::compose::model::{Project, Service};
use crate::registry::Transport;

pub const PROJECT: &str = "com.docker.compose.project";
pub const SERVICE: &str = "com.docker.compose.service";
pub const NUMBER: &str = "com.docker.compose.container-number";
pub const ONEOFF: &str = "com.docker.compose.oneoff";
pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";

/// The compose files of a loaded project as Compose writes them in its label: absolute, comma-separated.
pub fn config_files(project: &Project, files: &[String]) -> String {
    files
        .iter()
        .filter(|f| f.ends_with(".yaml") || f.ends_with(".yml"))
        .map(|f| format!("{}/{f}", project.working_dir.trim_end_matches('/')))
        .collect::<Vec<_>>()
        .join(",")
}

/// The labels of container `n` of `service` (`oneoff`: a `compose run` container): the service's own `labels`,
/// then Compose's (which win, as in Compose).
pub fn container_labels(
    project: &Project,
    service: &Service,
    n: u64,
    oneoff: bool,
    config_files: &str,
) -> BTreeMap<String, String> {
    let mut labels = service.labels.clone();
    let compose = [
        (PROJECT, project.name.clone()),
        (SERVICE, service.name.clone()),
        (NUMBER, n.to_string()),
        (ONEOFF, if oneoff { "True" } else { "False" }.to_string()),
        (WORKING_DIR, project.working_dir.clone()),
        (CONFIG_FILES, config_files.to_string()),
    ];
    labels.extend(compose.map(|(k, v)| (k.to_string(), v)));
    labels
}

/// One container of a project: its service, its number (`-N`), and its `docker ps` row.
#[derive(Debug, Clone)]
pub struct Member {
    pub service: String,
    pub number: u64,
    pub oneoff: bool,
    pub row: ContainerSummary,
}

/// The session's containers labelled as `project`'s (one-off `run` containers too), sorted by name.
pub async fn members<T: Transport>(
    companion: &Companion<'_, T>,
    project: &str,
) -> Result<Vec<Member>, CompanionError> {
    let ours = super::ps_filters::PsFilter::label(PROJECT, project);
    let mut found: Vec<Member> = companion
        .containers(true)
        .await?
        .into_iter()
        .filter(|r| ours.keeps(r))
        .map(|row| Member {
            service: row.labels.get(SERVICE).cloned().unwrap_or_default(),
            number: row.labels.get(NUMBER).and_then(|n| n.parse().ok()).unwrap_or(0),
            oneoff: row.labels.get(ONEOFF).is_some_and(|o| o == "True"),
            row,
        })
        .collect();
    found.sort_by(|a, b| a.row.name.cmp(&b.row.name));
    Ok(found)
}

/// One row of `docker compose ls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub name: String,
    /// `running(2)`, or every state counted (`exited(1), running(2)`).
    pub status: String,
    pub config_files: String,
}

/// The projects `rows` belong to, as `docker compose ls` lists them: by name, each with its containers counted
/// by state (only running containers without `all`, as Compose asks the daemon) and its compose files.
pub fn stacks(rows: &[ContainerSummary], all: bool) -> Vec<Stack> {
    let mut by_project: BTreeMap<&str, (BTreeMap<&str, usize>, BTreeSet<&str>)> = BTreeMap::new();
    for row in rows {
        let Some(project) = row.labels.get(PROJECT) else {
            continue;
        };
        if !all && row.status != ContainerStatus::Running {
            continue;
        }
        let state = match row.status {
            ContainerStatus::Running if row.paused => "paused",
            ContainerStatus::Running => "running",
            ContainerStatus::Created => "created",
            ContainerStatus::Exited => "exited",
        };
        let entry = by_project.entry(project).or_default();
        *entry.0.entry(state).or_default() += 1;
        if let Some(files) = row.labels.get(CONFIG_FILES).filter(|f| !f.is_empty()) {
            entry.1.insert(files);
        }
    }
    by_project
        .into_iter()
        .map(|(name, (states, files))| Stack {
            name: name.to_string(),
            status: states
                .iter()
                .map(|(s, n)| format!("{s}({n})"))
                .collect::<Vec<_>>()
                .join(", "),
            config_files: files.into_iter().collect::<Vec<_>>().join(","),
        })
        .collect()
}

/// Compose's table writer (`tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)`): columns at least 20 wide, 3 spaces
/// apart.
pub fn compose_table(rows: &[Vec<String>]) -> String {
    super::format::tabwrite_min(rows, 20)
}

/// `docker compose ls [-a] [-q]`.
pub async fn ls<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    let rows = match companion.containers(true).await {
        Ok(rows) => rows,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    let stacks = stacks(&rows, inv.flags.is_set(Flag::ALL));
    if inv.flags.is_set(Flag::QUIET) {
        return Outcome::success(stacks.iter().map(|s| format!("{}\n", s.name)).collect());
    }
    let mut table = vec![["NAME", "STATUS", "CONFIG FILES"].map(String::from).to_vec()];
    table.extend(stacks.into_iter().map(|s| vec![s.name, s.status, s.config_files]));
    Outcome::success(compose_table(&table))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::api::PortsMode;

    /// A `docker ps` row of `project`'s (the other compose modules' tests build theirs with it).
    pub(crate) fn row(name: &str, project: &str, status: ContainerStatus) -> ContainerSummary {
        ContainerSummary {
            id: format!("{name}-id"),
            name: name.into(),
            image: "busybox".into(),
            command: "sh".into(),
            created: 1,
            status,
            exit_code: None,
            ports: Vec::new(),
            ports_mode: PortsMode::Host,
            preview: String::new(),
            paused: false,
            health: None,
            restarting: false,
            labels: BTreeMap::from([
                (PROJECT.to_string(), project.to_string()),
                (CONFIG_FILES.to_string(), format!("/project/{project}.yaml")),
            ]),
        }
    }

    #[test]
    fn ls_counts_each_projects_containers_by_state_as_compose_does() {
        let rows = vec![
            row("app-web-1", "app", ContainerStatus::Running),
            row("app-web-2", "app", ContainerStatus::Running),
            row("app-db-1", "app", ContainerStatus::Exited),
            row("old-web-1", "old", ContainerStatus::Exited),
            ContainerSummary {
                labels: BTreeMap::new(),
                ..row("loose", "none", ContainerStatus::Running)
            },
        ];
        let running = stacks(&rows, false);
        assert_eq!(
            running,
            vec![Stack {
                name: "app".into(),
                status: "running(2)".into(),
                config_files: "/project/app.yaml".into()
            }]
        );
        let all: Vec<String> = stacks(&rows, true).into_iter().map(|s| s.status).collect();
        assert_eq!(all, ["exited(1), running(2)", "exited(1)"]);
        let table = compose_table(&[
            vec!["NAME".into(), "STATUS".into(), "CONFIG FILES".into()],
            vec!["app".into(), "running(2)".into(), "/project/compose.yaml".into()],
        ]);
        assert_eq!(
            table,
            "NAME                STATUS              CONFIG FILES\n\
             app                 running(2)          /project/compose.yaml\n"
        );
    }
}
