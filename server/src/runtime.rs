//! Finding the OCI runtime (runc or crun) this host can use, and saying why when there is none.

use std::path::{Path, PathBuf};
use std::process::Command;

use slipway::api::info::RuntimeInfo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeChoice {
    Auto,
    Runc,
    Crun,
}

impl RuntimeChoice {
    pub fn name(self) -> &'static str {
        match self {
            RuntimeChoice::Auto => "auto",
            RuntimeChoice::Runc => "runc",
            RuntimeChoice::Crun => "crun",
        }
    }
}

/// The host's cgroup layout, which decides whether crun can run here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    V1,
    /// v1 controllers with a v2 hierarchy at /sys/fs/cgroup/unified: crun 1.8 refuses this.
    Hybrid,
    V2,
}

impl CgroupMode {
    pub fn detect() -> Self {
        if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            CgroupMode::V2
        } else if Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
            CgroupMode::Hybrid
        } else {
            CgroupMode::V1
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CgroupMode::V1 => "v1",
            CgroupMode::Hybrid => "hybrid",
            CgroupMode::V2 => "v2",
        }
    }
}

/// Look for `name` on PATH and in the sbin folders root's PATH has but a service's may not.
pub fn find_executable(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `runc version 1.1.5+ds1` / `crun version 1.8.1` → `1.1.5` / `1.8.1`: the upstream version, without a
/// distribution's repack suffix (Debian's `+ds1`).
pub fn parse_version(name: &str, output: &str) -> Option<String> {
    let prefix = format!("{name} version ");
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .and_then(|v| v.split_whitespace().next())
        .map(|v| v.split('+').next().unwrap_or(v).to_string())
}

fn probe(name: &str, cgroup: CgroupMode) -> Result<RuntimeInfo, String> {
    let path = find_executable(name).ok_or_else(|| format!("{name} is not installed"))?;
    let output = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| format!("{} --version failed: {e}", path.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let version = parse_version(name, &stdout)
        .ok_or_else(|| format!("{} --version printed no version: {stdout:?}", path.display()))?;
    Ok(RuntimeInfo::Available {
        name: name.to_string(),
        version,
        path: path.display().to_string(),
        cgroup: cgroup.as_str().to_string(),
    })
}

/// Pick the runtime: an explicit choice must be usable; `auto` prefers crun on cgroup v2 and runc elsewhere.
pub fn detect(choice: RuntimeChoice) -> RuntimeInfo {
    let cgroup = CgroupMode::detect();
    let crun_usable = |info: RuntimeInfo| match cgroup {
        CgroupMode::V2 => Ok(info),
        CgroupMode::Hybrid => Err(hybrid_refusal(
            &std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers").unwrap_or_default(),
        )),
        CgroupMode::V1 => {
            Err("crun does not support this host's cgroup v1 layout (it needs cgroup v2)".into())
        }
    };
    let result = match choice {
        RuntimeChoice::Runc => probe("runc", cgroup),
        RuntimeChoice::Crun => probe("crun", cgroup).and_then(crun_usable),
        RuntimeChoice::Auto => {
            let order: [&str; 2] = if cgroup == CgroupMode::V2 {
                ["crun", "runc"]
            } else {
                ["runc", "crun"]
            };
            let mut reasons = Vec::new();
            let mut found = None;
            for name in order {
                let attempt = probe(name, cgroup).and_then(|info| {
                    if name == "crun" {
                        crun_usable(info)
                    } else {
                        Ok(info)
                    }
                });
                match attempt {
                    Ok(info) => {
                        found = Some(info);
                        break;
                    }
                    Err(why) => reasons.push(why),
                }
            }
            found.ok_or_else(|| reasons.join("; "))
        }
    };
    result.unwrap_or_else(|reason| RuntimeInfo::Unavailable { reason })
}

/// Why crun refuses a hybrid host, given the controllers of its v2 hierarchy: crun 1.8 stops with "cgroups in
/// hybrid mode not supported, drop all controllers from cgroupv2" (measured on Debian 12, where `hugetlb` sits
/// on `/sys/fs/cgroup/unified`).
fn hybrid_refusal(v2_controllers: &str) -> String {
    let controllers = v2_controllers.split_whitespace().collect::<Vec<_>>().join(", ");
    format!(
        "crun does not support this host's cgroup hybrid layout: the v2 hierarchy at /sys/fs/cgroup/unified has \
         controllers ({}), and crun refuses hybrid mode with controllers on cgroup v2; use --runtime runc, or boot \
         the host with cgroup v2 only (systemd.unified_cgroup_hierarchy=1)",
        if controllers.is_empty() { "none listed" } else { &controllers }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crun_on_a_hybrid_host_names_the_controllers_in_its_way() {
        let why = hybrid_refusal("hugetlb\n");
        assert!(why.contains("(hugetlb)"), "{why}");
        assert!(why.contains("--runtime runc"), "{why}");
    }

    #[test]
    fn versions_parse_from_runc_and_crun_output() {
        let runc = "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\n";
        assert_eq!(parse_version("runc", runc).as_deref(), Some("1.1.5"));
        let crun =
            "crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\n";
        assert_eq!(parse_version("crun", crun).as_deref(), Some("1.8.1"));
        assert_eq!(parse_version("runc", "something else"), None);
    }

    #[test]
    fn detection_always_answers_with_a_runtime_or_a_reason() {
        match detect(RuntimeChoice::Auto) {
            RuntimeInfo::Available { name, version, .. } => {
                assert!(name == "runc" || name == "crun");
                assert!(!version.is_empty());
            }
            RuntimeInfo::Unavailable { reason } => assert!(!reason.is_empty()),
        }
    }
}
