//! The `-v`/`--mount` flags of `docker run`/`create` (docker/cli `opts/mount.go`, `cli/command/container/opts.go`)
//! and `docker rm -v`'s removal of anonymous volumes.

use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, CompanionError, RemoveQuery, VolumeMount};
use crate::registry::Transport;

/// A `-v` or `--mount` value docker refuses, in its words (plus why host paths are refused here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountFlagError {
    #[error(
        "invalid argument \"{0}\" for \"-v, --volume\" flag: bind mounts of host paths are refused here: the \
         server's files are not a learner's to mount; use a named volume (-v NAME:/path)"
    )]
    HostBind(String),
    #[error("invalid argument \"{0}\" for \"-v, --volume\" flag: invalid spec: {0}")]
    Volume(String),
    #[error("invalid argument \"{text}\" for \"--mount\" flag: {why}")]
    Mount { text: String, why: String },
}

/// `-v NAME:/path[:ro|rw]`, `-v /path` (anonymous). A source that is a path is a host bind: refused.
pub fn volume_flag(text: &str) -> Result<VolumeMount, MountFlagError> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, None),
        [source, target] => (*source, *target, None),
        [source, target, mode] => (*source, *target, Some(*mode)),
        _ => return Err(MountFlagError::Volume(text.to_string())),
    };
    if source.starts_with('/') || source.starts_with('.') || source.starts_with('~') {
        return Err(MountFlagError::HostBind(text.to_string()));
    }
    let read_only = match mode {
        None | Some("rw") => false,
        Some("ro") => true,
        Some(_) => return Err(MountFlagError::Volume(text.to_string())),
    };
    if !target.starts_with('/') {
        return Err(MountFlagError::Volume(text.to_string()));
    }
    let (source, target) = (source.to_string(), target.to_string());
    Ok(VolumeMount {
        source,
        target,
        read_only,
    })
}

/// `--mount type=volume,src=NAME,dst=/path[,readonly]`; `type=bind` and `type=tmpfs` are refused.
pub fn mount_flag(text: &str) -> Result<VolumeMount, MountFlagError> {
    let refuse = |why: &str| MountFlagError::Mount {
        text: text.to_string(),
        why: why.to_string(),
    };
    let mut mount = VolumeMount::default();
    let mut kind = "volume";
    for field in text.split(',') {
        let (key, value) = field.split_once('=').unwrap_or((field, "true"));
        match key {
            "type" => kind = value,
            "source" | "src" => mount.source = value.to_string(),
            "target" | "destination" | "dst" => mount.target = value.to_string(),
            "readonly" | "ro" => mount.read_only = matches!(value, "true" | "1"),
            _ => return Err(refuse(&format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    match kind {
        "volume" => {}
        "bind" => {
            return Err(refuse(
                "bind mounts of host paths are refused here: use a named volume",
            ))
        }
        other => {
            return Err(refuse(&format!(
                "mount type {other:?} is not offered here: use type=volume"
            )))
        }
    }
    if mount.target.is_empty() {
        return Err(refuse("target is required"));
    }
    Ok(mount)
}

/// The mounts a `docker run`/`create` invocation asks for.
pub fn mounts_of(inv: &Invocation) -> Result<Vec<VolumeMount>, MountFlagError> {
    let volumes = inv.flags.values(Flag::VOLUME).iter().map(|v| volume_flag(v));
    let mounts = inv.flags.values(Flag::MOUNT).iter().map(|m| mount_flag(m));
    volumes.chain(mounts).collect()
}

/// `docker rm [-f] [-v]`, and `docker run --rm` once the container exited: remove the container, then (with
/// `anonymous_too`) the anonymous volumes its inspect named, as docker's daemon removes them with it.
pub async fn remove_container<T: Transport>(
    companion: &Companion<'_, T>,
    id: &str,
    force: bool,
    anonymous_too: bool,
) -> Result<(), CompanionError> {
    let mounts = match anonymous_too {
        true => companion
            .inspect(id)
            .await
            .map(|c| c.options.volumes)
            .unwrap_or_default(),
        false => Vec::new(),
    };
    companion.remove(id, &RemoveQuery { force }).await?;
    for m in mounts {
        if companion
            .volume(&m.source)
            .await
            .is_ok_and(|v| v.anonymous && v.used_by.is_empty())
        {
            let _ = companion.remove_volume(&m.source).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags_parse_as_docker_and_host_paths_are_refused() {
        let named = volume_flag("data:/var/lib/data:ro").unwrap();
        assert_eq!(
            (named.source.as_str(), named.target.as_str(), named.read_only),
            ("data", "/var/lib/data", true)
        );
        assert_eq!(volume_flag("/cache").unwrap().source, "");
        for host in ["/etc:/x", "./src:/app", "~/x:/y"] {
            assert!(
                matches!(volume_flag(host), Err(MountFlagError::HostBind(_))),
                "{host}"
            );
        }
        assert!(volume_flag("data:relative").is_err() && volume_flag("a:/b:rx").is_err());
        let mount = mount_flag("type=volume,src=data,dst=/d,readonly").unwrap();
        assert_eq!(
            (mount.source.as_str(), mount.target.as_str(), mount.read_only),
            ("data", "/d", true)
        );
        assert!(mount_flag("type=bind,src=/etc,dst=/e")
            .unwrap_err()
            .to_string()
            .contains("refused here"));
        assert!(mount_flag("src=data").is_err() && mount_flag("type=volume,bogus=1,dst=/d").is_err());
    }
}
