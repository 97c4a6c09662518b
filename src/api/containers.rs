//! Containers: `POST /api/containers` and what the container routes answer (`docs/runner-api.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The `docker run` flags the companion understands. Part of [`CreateContainer`]'s body, and shown back by
/// `inspect`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RunOptions {
    pub name: Option<String>,
    /// `--entrypoint`: replaces the image's Entrypoint (and drops its Cmd, as Docker does). `[""]` clears it.
    pub entrypoint: Option<Vec<String>>,
    /// Arguments after the image name: replace the image's Cmd.
    pub cmd: Vec<String>,
    /// `-e KEY=VALUE`; a bare `KEY` removes the variable.
    pub env: Vec<String>,
    /// `-w`
    pub workdir: Option<String>,
    /// `-u name|uid[:group|gid]`
    pub user: Option<String>,
    pub hostname: Option<String>,
    /// `-t`
    pub tty: bool,
    /// `-i`: keep stdin open (written through the attach WebSocket).
    pub interactive: bool,
    /// With `tty`, the client terminal's `[rows, cols]` (Docker's `HostConfig.ConsoleSize`, height then width):
    /// the TTY has that size before the process starts, so `docker run -it IMAGE stty size` is right at once.
    pub console_size: Option<[u16; 2]>,
    /// `-m`, bytes.
    pub memory: Option<i64>,
    /// `--cpus`
    pub cpus: Option<f64>,
    /// `--pids-limit`
    pub pids_limit: Option<i64>,
    /// `-p [HOST:]CONTAINER`: published TCP ports (host port 0 = any free port).
    pub publish: Vec<PortMapping>,
    /// `--rm`
    pub auto_remove: bool,
    /// `--network NAME`: a user network of the session, `bridge` (the default: its own loopback) or `none`.
    pub network: Option<String>,
    /// `--network-alias`: more names the container answers to on that (user) network.
    pub network_aliases: Vec<String>,
    /// `-v NAME:/path[:ro]`, `-v /path`, `--mount type=volume,...` (the server adds the image's `VOLUME`s).
    pub volumes: Vec<super::VolumeMount>,
    /// The `-v SOURCE:TARGET[:MODE]` values as typed (`docker inspect`'s `HostConfig.Binds`); an anonymous
    /// `-v /path` is not one, as docker's CLI sends it in `Config.Volumes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub binds: Vec<String>,
    /// The `--mount` values as typed (`docker inspect`'s `HostConfig.Mounts`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<String>,
    /// `--label KEY=VALUE` (`-l`): the container's own labels, over the image's (`docker inspect`'s
    /// `Config.Labels`); Compose sets `com.docker.compose.*` ones and finds a project's containers by them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `--health-*`, `--no-healthcheck`, compose's `healthcheck:`: over the image's `HEALTHCHECK`.
    pub healthcheck: Option<super::HealthConfig>,
    /// `--restart`, compose's `restart:`: applied by the server when the process exits.
    pub restart: super::RestartPolicy,
    /// The session that owns the container: the server takes it from the session header
    /// ([`super::SESSION_HEADER`]), never from the body.
    #[serde(skip)]
    pub session: String,
}

/// A published port: `host` 0 asks for any free port.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PortMapping {
    #[serde(default)]
    pub host: u16,
    pub container: u16,
}

/// The body of `POST /api/containers`: the image and the [`RunOptions`] beside it in one object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CreateContainer {
    pub image: String,
    #[serde(flatten)]
    pub options: RunOptions,
}

/// serde cannot deny unknown fields through `flatten`: the image is taken out first, and the rest must be
/// exactly [`RunOptions`] (so a misspelt flag is refused, not ignored).
impl<'de> Deserialize<'de> for CreateContainer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::deserialize(deserializer)?;
        let image = fields
            .remove("image")
            .ok_or_else(|| D::Error::missing_field("image"))?;
        let image = String::deserialize(image).map_err(D::Error::custom)?;
        let options = RunOptions::deserialize(serde_json::Value::Object(fields)).map_err(D::Error::custom)?;
        Ok(CreateContainer { image, options })
    }
}

/// The query of `POST /api/containers`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CreateQuery {
    /// `docker run`: create and start in one call.
    pub start: bool,
    /// With `start`: the client follows the container from its start (`docker run` without `-d`: the attach
    /// WebSocket of `-i`/`-t`, else its output), as docker's CLI attaches before it starts it. The container's
    /// `attach` event is recorded then, between its `create` and its `start`, as dockerd records them.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub attach: bool,
    /// `--platform OS/ARCH[/VARIANT]` (docker's `platform` query parameter): the image must be of it, else the
    /// answer is 404 with moby's `image with reference X was found but does not match the specified platform`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// The answer to `POST /api/containers`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// dockerd's `Warnings` (the CLI prints each as `WARNING: ...` on stderr): an image of another platform
    /// than the host's, created without `--platform`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Where a container's published ports are (`slipway serve --ports`, `docs/runner-api.md`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PortsMode {
    /// `-p HOST:CONTAINER` listens on the machine's loopback port HOST (one learner on their own machine).
    #[default]
    Host,
    /// `-p HOST:CONTAINER` is the session's own port HOST: nothing listens on the machine, two sessions never
    /// collide, and the app is reached through its preview (a shared server, a classroom).
    Shared,
}

impl PortsMode {
    /// The host address `docker ps`, `docker port` and `inspect` show a published port on: the loopback the
    /// listener is bound to, or (shared) docker's "every address" of the learner's own machine.
    pub fn host_ip(self) -> &'static str {
        match self {
            PortsMode::Host => "127.0.0.1",
            PortsMode::Shared => "0.0.0.0",
        }
    }

    pub fn is_host(&self) -> bool {
        *self == PortsMode::Host
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerStatus {
    Created,
    Running,
    Exited,
}

/// One row of `GET /api/containers` (`docker ps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub command: String,
    /// Unix seconds.
    pub created: u64,
    pub status: ContainerStatus,
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
    /// Whether [`Self::ports`] are listeners on the machine or the session's own (absent: host).
    #[serde(default, skip_serializing_if = "PortsMode::is_host")]
    pub ports_mode: PortsMode,
    /// The container's preview token (128 random bits, hex): its published port `P` is served at
    /// [`super::PreviewInfo::origin`] + [`super::paths::preview`]`(preview, P)`. Only the owner's answers carry it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub preview: String,
    /// Running, its processes frozen (`docker pause`): `docker ps` shows `Up 3 minutes (Paused)`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// The labels it was created with (`docker ps --filter label=K[=V]`, Compose's projects).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Its healthcheck's status while it runs with one (`Up 5 seconds (healthy)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<super::HealthStatus>,
    /// Exited, and its restart policy starts it again after the backoff: `Restarting (1) 2 seconds ago`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub restarting: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The query of `GET /api/containers`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    /// Stopped containers too (`docker ps -a`).
    pub all: bool,
}

/// A container's state: `inspect` shows it, `wait` and `stop` answer with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: ContainerStatus,
    pub pid: Option<i32>,
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub oom_killed: bool,
    /// Killed at the wall-clock limit.
    #[serde(default)]
    pub timed_out: bool,
    pub error: Option<String>,
    /// Unix seconds.
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
}

/// The answer to `GET /api/containers/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerInspect {
    #[serde(flatten)]
    pub summary: ContainerSummary,
    pub args: Vec<String>,
    pub options: RunOptions,
    pub state: ContainerState,
    /// How many readers follow its output right now (`logs -f`, attaches): one that went away must not stay.
    pub log_followers: usize,
    /// The image's configuration with the `docker run` flags over it, as `docker inspect` shows it; None when
    /// the image can no longer be resolved.
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    /// Its endpoints on user networks (`NetworkSettings.Networks`); empty on the default network.
    #[serde(default)]
    pub networks: Vec<super::ContainerEndpoint>,
    /// `State.Health`: with a healthcheck only.
    #[serde(default)]
    pub health_state: Option<super::HealthState>,
    /// How often its restart policy restarted it since it was last started by hand (`RestartCount`).
    #[serde(default)]
    pub restart_count: u32,
}

/// What `docker inspect` shows as a container's `Config` (and its `Image`): the image's config with the
/// `docker run` flags applied, as dockerd merges them at create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerConfig {
    /// The image's id (`sha256:` and its config digest).
    pub image_id: String,
    pub hostname: String,
    pub user: String,
    pub env: Vec<String>,
    /// None when neither the image nor the flags give one (docker's `null`).
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: String,
    /// `80/tcp`: the image's `EXPOSE`d ports and the published ones.
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// The limits the container runs with (`-m`, `--cpus`, `--pids-limit`, else the server's defaults, within
    /// its ceilings): bytes, billionths of a CPU, processes.
    #[serde(default)]
    pub memory: i64,
    #[serde(default)]
    pub nano_cpus: i64,
    #[serde(default)]
    pub pids_limit: i64,
}

/// The query of `POST /api/containers/{id}/rename`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RenameQuery {
    pub name: String,
}

/// The answer to `GET /api/containers/{id}/top`: docker's `ps -ef` columns and one row per process.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TopAnswer {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// The answer to `POST /api/containers/prune`: the full ids of the removed containers and the bytes freed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PruneAnswer {
    pub containers_deleted: Vec<String>,
    pub space_reclaimed: u64,
}

/// The query of `POST /api/containers/{id}/stop`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StopQuery {
    /// Seconds to wait after SIGTERM before SIGKILL.
    pub t: Option<u64>,
}

/// The query of `POST /api/containers/{id}/kill`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct KillQuery {
    /// `KILL` when absent.
    pub signal: Option<String>,
}

/// The query of `DELETE /api/containers/{id}`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RemoveQuery {
    /// Kill a running container first (`docker rm -f`).
    pub force: bool,
}

/// How `GET /api/containers/{id}/logs` writes the output.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// The bytes as written.
    #[default]
    Raw,
    /// One [`LogChunk`] per line (`application/x-ndjson`).
    Json,
}

/// The query of `GET /api/containers/{id}/logs`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct LogsQuery {
    /// Keep the answer open and send output as it comes, until the container exits.
    pub follow: bool,
    /// Only the last lines.
    pub tail: Option<usize>,
    /// Raw output only: each line starts with the time it was written.
    pub timestamps: bool,
    pub format: LogFormat,
}

/// Which output of the process a chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
    /// The TTY's combined output.
    Tty,
}

/// One piece of output: a line of the `json` logs format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    pub seq: u64,
    pub stream: LogStream,
    /// When the container wrote it, in nanoseconds since the Unix epoch.
    pub time_ns: u128,
    /// The bytes, invalid UTF-8 replaced.
    pub data: String,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    fn summary() -> ContainerSummary {
        ContainerSummary {
            id: "0123456789abcdef".into(),
            name: "web".into(),
            image: "user/app".into(),
            command: "python3 app.py".into(),
            created: 100,
            status: ContainerStatus::Running,
            exit_code: None,
            ports: vec![PortMapping {
                host: 8000,
                container: 80,
            }],
            ports_mode: PortsMode::Shared,
            preview: "00112233445566778899aabbccddeeff".into(),
            paused: false,
            labels: BTreeMap::from([("com.docker.compose.project".into(), "app".into())]),
            health: None,
            restarting: false,
        }
    }

    fn state() -> ContainerState {
        ContainerState {
            status: ContainerStatus::Exited,
            pid: None,
            exit_code: Some(137),
            oom_killed: true,
            timed_out: false,
            error: Some("killed".into()),
            started_at: Some(1),
            finished_at: Some(2),
        }
    }

    #[test]
    fn create_keeps_the_image_beside_the_options() {
        let create = CreateContainer {
            image: "busybox".into(),
            options: RunOptions {
                cmd: vec!["echo".into(), "hi".into()],
                memory: Some(64 << 20),
                cpus: Some(0.5),
                publish: vec![PortMapping {
                    host: 0,
                    container: 80,
                }],
                console_size: Some([24, 80]),
                ..RunOptions::default()
            },
        };
        let json = round_trip(&create);
        assert_eq!(json["image"], "busybox");
        assert_eq!(json["cmd"], serde_json::json!(["echo", "hi"]));
    }

    #[test]
    fn create_refuses_a_misspelt_flag_by_name() {
        let error = serde_json::from_str::<CreateContainer>(r#"{"image":"busybox","memroy":1}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `memroy`"), "{error}");
        let error = serde_json::from_str::<CreateContainer>(r#"{"cmd":[]}"#).unwrap_err();
        assert!(error.to_string().contains("missing field `image`"), "{error}");
        let error = serde_json::from_str::<CreateContainer>(r#"{"image":"a","session":"x"}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `session`"), "{error}");
        let minimal: CreateContainer = serde_json::from_str(r#"{"image":"a"}"#).unwrap();
        assert_eq!(minimal.options, RunOptions::default());
    }

    #[test]
    fn answers_round_trip() {
        round_trip(&summary());
        round_trip(&state());
        round_trip(&Created {
            id: "abc".into(),
            name: "web".into(),
            ports: summary().ports,
            warnings: vec!["The requested image's platform (linux/arm64) does not match".into()],
        });
        let inspect = ContainerInspect {
            summary: summary(),
            args: vec!["python3".into()],
            options: RunOptions::default(),
            state: state(),
            log_followers: 1,
            config: Some(ContainerConfig {
                image_id: "sha256:ab".into(),
                env: vec!["PATH=/bin".into()],
                cmd: Some(vec!["sh".into()]),
                exposed_ports: vec!["80/tcp".into()],
                labels: BTreeMap::from([("a".into(), "b".into())]),
                ..ContainerConfig::default()
            }),
            networks: Vec::new(),
            health_state: None,
            restart_count: 2,
        };
        let json = round_trip(&inspect);
        assert_eq!(
            json["status"], "running",
            "the summary's fields are the inspect's own"
        );
        round_trip(&LogChunk {
            seq: 3,
            stream: LogStream::Stderr,
            time_ns: 1_795_842_313_000_000_000,
            data: "oops\n".into(),
        });
    }

    #[test]
    fn paused_rows_top_and_prune_answers_round_trip() {
        let json = round_trip(&ContainerSummary {
            paused: true,
            ..summary()
        });
        assert_eq!(json["paused"], true);
        assert!(
            round_trip(&summary()).get("paused").is_none(),
            "left out when false"
        );
        round_trip(&TopAnswer {
            titles: vec!["UID".into(), "PID".into()],
            processes: vec![vec!["root".into(), "42".into()]],
        });
        round_trip(&PruneAnswer {
            containers_deleted: vec!["0123".into()],
            space_reclaimed: 0,
        });
    }

    #[test]
    fn queries_round_trip() {
        round_trip(&CreateQuery {
            start: true,
            attach: true,
            platform: Some("linux/arm64".into()),
        });
        round_trip(&ListQuery { all: true });
        round_trip(&StopQuery { t: Some(3) });
        round_trip(&KillQuery {
            signal: Some("INT".into()),
        });
        round_trip(&RemoveQuery { force: true });
        round_trip(&RenameQuery { name: "web2".into() });
        let refused = serde_json::from_str::<RenameQuery>(r#"{"name":"a","nmae":"b"}"#).unwrap_err();
        assert!(refused.to_string().contains("unknown field `nmae`"), "{refused}");
        let logs = LogsQuery {
            follow: true,
            tail: Some(5),
            timestamps: false,
            format: LogFormat::Json,
        };
        assert_eq!(round_trip(&logs)["format"], "json");
    }
}
