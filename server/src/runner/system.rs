//! `docker info`'s figures (`GET /api/system`): the session's containers by state, and the host as docker
//! describes it (kernel, operating system, CPUs, memory, the runtime and its version, the cgroup version).
//! Nothing names a host path or the host's name.

use std::sync::OnceLock;

use slipway::api::SystemInfo;

use super::lifecycle::BUILD_STEP_IMAGE;
use super::{Runner, Status};

impl Runner {
    /// `docker info` for `session`: its containers (RUN steps' not counted) and the host's figures.
    pub async fn system_info(&self, session: &str) -> SystemInfo {
        let (mut running, mut paused, mut stopped) = (0, 0, 0);
        for c in self
            .table()
            .values()
            .filter(|c| c.session == session && c.image != BUILD_STEP_IMAGE)
        {
            match c.state().status {
                Status::Running if self.is_paused(c) => paused += 1,
                Status::Running => running += 1,
                Status::Created | Status::Exited => stopped += 1,
            }
        }
        let runtime = self
            .config
            .runtime
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let runtime_version = self.runtime_version(&runtime).await;
        let mut security_options = vec!["name=seccomp,profile=builtin".to_string()];
        if self.config.userns.is_some() {
            security_options.push("name=userns".into());
        }
        security_options.push("name=no-new-privileges".into());
        SystemInfo {
            containers: running + paused + stopped,
            containers_running: running,
            containers_paused: paused,
            containers_stopped: stopped,
            images: 0,
            server_version: slipway::VERSION.to_string(),
            driver: "overlayfs".into(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: match crate::runtime::CgroupMode::detect() {
                crate::runtime::CgroupMode::V2 => "2",
                _ => "1",
            }
            .into(),
            default_runtime: runtime,
            runtime_version,
            kernel_version: read_trimmed("/proc/sys/kernel/osrelease"),
            operating_system: operating_system(
                &std::fs::read_to_string("/etc/os-release").unwrap_or_default(),
            ),
            os_type: "linux".into(),
            architecture: std::env::consts::ARCH.into(),
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            mem_total: mem_total(&std::fs::read_to_string("/proc/meminfo").unwrap_or_default()),
            name: "slipway".into(),
            security_options,
        }
    }

    /// `runc --version`'s version, asked once.
    async fn runtime_version(&self, name: &str) -> String {
        static VERSION: OnceLock<String> = OnceLock::new();
        if let Some(version) = VERSION.get() {
            return version.clone();
        }
        let (binary, name) = (self.config.runtime.clone(), name.to_string());
        let asked = tokio::process::Command::new(&binary)
            .arg("--version")
            .output()
            .await;
        let version = asked
            .ok()
            .and_then(|out| crate::runtime::parse_version(&name, &String::from_utf8_lossy(&out.stdout)))
            .unwrap_or_default();
        VERSION.get_or_init(|| version).clone()
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|text| text.trim().to_string())
        .unwrap_or_default()
}

/// `PRETTY_NAME` of os-release, unquoted (docker's `Operating System`).
fn operating_system(os_release: &str) -> String {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn mem_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_files_read_as_docker_reports_them() {
        assert_eq!(
            operating_system("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            "Debian GNU/Linux 12 (bookworm)"
        );
        assert_eq!(operating_system(""), "Linux");
        assert_eq!(
            mem_total("MemTotal:        8048576 kB\nMemFree: 1 kB\n"),
            8_048_576 * 1024
        );
    }
}
