//! `docker inspect`'s mounts of a container as dockerd 28 fills them: `HostConfig.Binds` and `HostConfig.Mounts`
//! (what `-v` and `--mount` asked, moby's `api/types/container.HostConfig` and `api/types/mount.Mount` as docker's
//! CLI sends them) and the top-level `Mounts` (moby's `api/types/container.MountPoint`, filled by
//! `daemon/volumes.go` `registerMountPoints` and `volume/mounts/linux_parser.go`). Sources are the names the
//! learner gave: a volume's is docker's path for it (as `docker volume inspect` shows its `Mountpoint`), a bind's
//! the project path as typed (the companion keeps no host path of the learner's files).

use serde::Serialize;

use crate::api::{RunOptions, VolumeMount};

/// moby's `mount.Mount` as docker's CLI sends a `--mount` (its `omitempty` fields left out).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
}

/// moby's `container.MountPoint`: `Type`, `Name` and `Driver` are `omitempty`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    source: String,
    destination: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    driver: &'static str,
    mode: String,
    #[serde(rename = "RW")]
    rw: bool,
    propagation: &'static str,
}

fn kind_of(m: &VolumeMount) -> &'static str {
    if m.bind.is_some() {
        "bind"
    } else {
        "volume"
    }
}

/// `HostConfig.Binds`: the `-v SOURCE:TARGET[:MODE]` values as typed; `null` without any.
pub fn binds(options: &RunOptions) -> Option<&[String]> {
    (!options.binds.is_empty()).then_some(options.binds.as_slice())
}

/// `HostConfig.Mounts`: each `--mount` as docker's CLI parsed it (left out when empty).
pub fn host_mounts(options: &RunOptions) -> Vec<Mount> {
    options
        .mounts
        .iter()
        .filter_map(|text| super::mounts::mount_flag(text).ok())
        .map(|m| Mount {
            kind: kind_of(&m),
            source: m.source,
            target: m.target,
            read_only: m.read_only,
        })
        .collect()
}

/// `Mode` as dockerd sets it: a `-v`'s third part as typed; `z` for a named volume of the `local` driver given
/// without one (by `-v` or `--mount`: `setBindModeIfNull`); empty for a bind by `--mount` and for anonymous
/// volumes (`-v /path`, the image's `VOLUME`s: docker's `Config.Volumes`).
fn mode_of(options: &RunOptions, m: &VolumeMount) -> String {
    let by_flag = options.binds.iter().find_map(|text| {
        let mut parts = text.splitn(3, ':');
        let (source, target) = (parts.next()?, parts.next()?);
        (source == m.source && target == m.target).then(|| parts.next().unwrap_or_default().to_string())
    });
    let by_mount = || {
        options.mounts.iter().any(|text| {
            super::mounts::mount_flag(text)
                .is_ok_and(|asked| asked.source == m.source && asked.target == m.target)
        })
    };
    match by_flag {
        Some(mode) if !mode.is_empty() || m.bind.is_some() => mode,
        Some(_) => "z".into(),
        None if m.bind.is_none() && by_mount() => "z".into(),
        None => String::new(),
    }
}

/// The top-level `Mounts`: each volume and bind as mounted (`[]` without any).
pub fn mount_points(options: &RunOptions) -> Vec<MountPoint> {
    options
        .volumes
        .iter()
        .map(|m| {
            let volume = m.bind.is_none();
            MountPoint {
                kind: kind_of(m),
                name: if volume { m.source.clone() } else { String::new() },
                source: match volume {
                    true => format!("/var/lib/docker/volumes/{}/_data", m.source),
                    false => m.source.clone(),
                },
                destination: m.target.clone(),
                driver: if volume { "local" } else { "" },
                mode: mode_of(options, m),
                rw: !m.read_only,
                propagation: if volume { "" } else { "rprivate" },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ProjectBind;

    fn volume(source: &str, target: &str, read_only: bool, bind: bool) -> VolumeMount {
        VolumeMount {
            source: source.into(),
            target: target.into(),
            read_only,
            bind: bind.then(ProjectBind::default),
        }
    }

    fn json(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn mounts_binds_and_mount_points_have_dockers_shape() {
        // As the server answers for `-v data:/data -v logs:/logs:ro -v /cache -v ./src:/app:ro --mount
        // type=volume,src=db,dst=/db --mount type=bind,src=./conf,dst=/etc/conf,readonly` (binds always read-only,
        // an anonymous volume named by the server).
        let options = RunOptions {
            volumes: vec![
                volume("data", "/data", false, false),
                volume("logs", "/logs", true, false),
                volume("0a1b2c", "/cache", false, false),
                volume("./src", "/app", true, true),
                volume("db", "/db", false, false),
                volume("./conf", "/etc/conf", true, true),
            ],
            binds: vec![
                "data:/data".into(),
                "logs:/logs:ro".into(),
                "./src:/app:ro".into(),
            ],
            mounts: vec![
                "type=volume,src=db,dst=/db".into(),
                "type=bind,src=./conf,dst=/etc/conf,readonly".into(),
            ],
            ..RunOptions::default()
        };
        assert_eq!(
            json(&binds(&options)),
            r#"["data:/data","logs:/logs:ro","./src:/app:ro"]"#
        );
        assert_eq!(
            json(&host_mounts(&options)),
            r#"[{"Type":"volume","Source":"db","Target":"/db"},{"Type":"bind","Source":"./conf","Target":"/etc/conf","ReadOnly":true}]"#
        );
        let want = [
            r#"{"Type":"volume","Name":"data","Source":"/var/lib/docker/volumes/data/_data","Destination":"/data","Driver":"local","Mode":"z","RW":true,"Propagation":""}"#,
            r#"{"Type":"volume","Name":"logs","Source":"/var/lib/docker/volumes/logs/_data","Destination":"/logs","Driver":"local","Mode":"ro","RW":false,"Propagation":""}"#,
            r#"{"Type":"volume","Name":"0a1b2c","Source":"/var/lib/docker/volumes/0a1b2c/_data","Destination":"/cache","Driver":"local","Mode":"","RW":true,"Propagation":""}"#,
            r#"{"Type":"bind","Source":"./src","Destination":"/app","Mode":"ro","RW":false,"Propagation":"rprivate"}"#,
            r#"{"Type":"volume","Name":"db","Source":"/var/lib/docker/volumes/db/_data","Destination":"/db","Driver":"local","Mode":"z","RW":true,"Propagation":""}"#,
            r#"{"Type":"bind","Source":"./conf","Destination":"/etc/conf","Mode":"","RW":false,"Propagation":"rprivate"}"#,
        ];
        assert_eq!(json(&mount_points(&options)), format!("[{}]", want.join(",")));

        // None: `Binds` null, no `HostConfig.Mounts`, `Mounts` an empty list.
        let none = RunOptions::default();
        assert_eq!(json(&binds(&none)), "null");
        assert!(host_mounts(&none).is_empty());
        assert_eq!(json(&mount_points(&none)), "[]");
    }
}
