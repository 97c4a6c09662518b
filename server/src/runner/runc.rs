//! Driving the OCI runtime CLI (runc; crun takes the same commands) with our own state root.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum RuncError {
    #[error("cannot start {runtime}: {source}")]
    Spawn {
        runtime: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{runtime} {command} failed: {message}")]
    Failed {
        runtime: String,
        command: String,
        message: String,
    },
}

/// One runtime binary and its state directory (`--root`), private to this server.
#[derive(Debug, Clone)]
pub struct Runc {
    pub path: PathBuf,
    pub root: PathBuf,
}

/// The last error a runtime wrote to its JSON log (`--log-format json`).
pub fn last_log_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v["level"] == "error" || v["level"] == "fatal")
            .then(|| v["msg"].as_str().unwrap_or(line).to_string())
    })
}

impl Runc {
    fn command(&self, log: Option<&Path>) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg("--root").arg(&self.root);
        if let Some(log) = log {
            cmd.arg("--log").arg(log).arg("--log-format").arg("json");
        }
        cmd.kill_on_drop(false);
        cmd
    }

    fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    async fn simple(&self, args: &[&str]) -> Result<String, RuncError> {
        let output = self
            .command(None)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| RuncError::Spawn {
                runtime: self.name(),
                source,
            })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(RuncError::Failed {
                runtime: self.name(),
                command: args.first().copied().unwrap_or_default().to_string(),
                message: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }

    /// `runc create`: the container's stdio are the given handles (inherited by its init process). Returns the
    /// init's pid once the container is created (it waits for `start`).
    pub async fn create(
        &self,
        id: &str,
        bundle: &Path,
        console_socket: Option<&Path>,
        stdio: (Stdio, Stdio, Stdio),
    ) -> Result<i32, RuncError> {
        let args = vec!["create".into(), "--bundle".into(), bundle.as_os_str().to_owned()];
        self.detached("create", args, id, bundle, "init", console_socket, stdio)
            .await
    }

    /// `runc exec -d`: start `process` (an OCI process JSON file in `dir`) in the running container; returns its pid.
    pub async fn exec(
        &self,
        id: &str,
        dir: &Path,
        name: &str,
        process: &Path,
        console_socket: Option<&Path>,
        stdio: (Stdio, Stdio, Stdio),
    ) -> Result<i32, RuncError> {
        let args = vec![
            "exec".into(),
            "-d".into(),
            "--process".into(),
            process.as_os_str().to_owned(),
        ];
        self.detached("exec", args, id, dir, name, console_socket, stdio)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn detached(
        &self,
        what: &str,
        mut args: Vec<std::ffi::OsString>,
        id: &str,
        dir: &Path,
        name: &str,
        console_socket: Option<&Path>,
        stdio: (Stdio, Stdio, Stdio),
    ) -> Result<i32, RuncError> {
        let log = dir.join(format!("{name}.log"));
        let pid_file = dir.join(format!("{name}.pid"));
        let _ = std::fs::remove_file(&pid_file);
        args.push("--pid-file".into());
        args.push(pid_file.as_os_str().to_owned());
        if let Some(sock) = console_socket {
            args.push("--console-socket".into());
            args.push(sock.as_os_str().to_owned());
        }
        args.push(id.into());
        let mut cmd = self.command(Some(&log));
        cmd.args(args).stdin(stdio.0).stdout(stdio.1).stderr(stdio.2);
        let mut child = cmd.spawn().map_err(|source| RuncError::Spawn {
            runtime: self.name(),
            source,
        })?;
        drop(cmd); // our copies of the pipe ends must close, or readers never see EOF
        let status = child.wait().await.map_err(|source| RuncError::Spawn {
            runtime: self.name(),
            source,
        })?;
        let failed = |message: String| RuncError::Failed {
            runtime: self.name(),
            command: what.into(),
            message,
        };
        if !status.success() {
            return Err(failed(
                last_log_error(&log).unwrap_or_else(|| format!("exit status {status}")),
            ));
        }
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| failed("no pid file".into()))
    }

    pub async fn start(&self, id: &str) -> Result<(), RuncError> {
        self.simple(&["start", id]).await.map(|_| ())
    }

    /// Signal the container's init (or every process with `all`).
    pub async fn kill(&self, id: &str, signal: &str, all: bool) -> Result<(), RuncError> {
        if !self.root.exists() {
            // runc would create its state root again (and leave it behind); without it there is no container.
            return Err(RuncError::Failed {
                runtime: self.name(),
                command: "kill".into(),
                message: format!("container {id} does not exist (no runtime state)"),
            });
        }
        if all {
            self.simple(&["kill", "--all", id, signal]).await.map(|_| ())
        } else {
            self.simple(&["kill", id, signal]).await.map(|_| ())
        }
    }

    pub async fn delete(&self, id: &str) -> Result<(), RuncError> {
        if !self.root.exists() {
            // Already swept with its whole state root: nothing to delete, and runc must not recreate the root.
            return Ok(());
        }
        self.simple(&["delete", "--force", id]).await.map(|_| ())
    }

    /// `runc pause`: freeze every process of the container (its cgroup's freezer).
    pub async fn pause(&self, id: &str) -> Result<(), RuncError> {
        self.simple(&["pause", id]).await.map(|_| ())
    }

    /// `runc resume`: thaw them.
    pub async fn resume(&self, id: &str) -> Result<(), RuncError> {
        self.simple(&["resume", id]).await.map(|_| ())
    }

    /// `runc events --stats`: one JSON event with the container's cgroup figures (runc's `types.Stats`).
    pub async fn stats(&self, id: &str) -> Result<String, RuncError> {
        self.simple(&["events", "--stats", id]).await
    }

    /// `runc update`: new limits for a running container's cgroup (`swap`: the memory+swap limit follows
    /// the memory limit, as the spec sets it where swap is accounted).
    pub async fn update(
        &self,
        id: &str,
        memory: i64,
        swap: bool,
        (period, quota): (u64, i64),
        pids: i64,
    ) -> Result<(), RuncError> {
        let (memory, period, quota, pids) = (
            memory.to_string(),
            period.to_string(),
            quota.to_string(),
            pids.to_string(),
        );
        let mut args = vec!["update", "--memory", &memory];
        if swap {
            args.extend(["--memory-swap", &memory]);
        }
        args.extend([
            "--cpu-period",
            &period,
            "--cpu-quota",
            &quota,
            "--pids-limit",
            &pids,
            id,
        ]);
        self.simple(&args).await.map(|_| ())
    }

    /// `runc ps --format json`: the host pids of the container's processes.
    pub async fn pids(&self, id: &str) -> Result<Vec<i32>, RuncError> {
        let out = self.simple(&["ps", "--format", "json", id]).await?;
        Ok(serde_json::from_str(out.trim()).unwrap_or_default())
    }

    /// Ids of the containers in our state root (for crash recovery).
    pub async fn list(&self) -> Result<Vec<String>, RuncError> {
        let out = self.simple(&["list", "--format", "json"]).await?;
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or(serde_json::Value::Null);
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}
