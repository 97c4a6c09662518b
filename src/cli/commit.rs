//! `docker commit [-a] [-c] [-m] CONTAINER REPOSITORY[:TAG]`: a new image in the session's local store from the
//! container's writable layer, as docker's (docker/cli's `cli/command/container/commit.go`, dockerd's
//! `daemon/commit.go`): the image the container was created from, its configuration as the container runs it
//! (`docker run`'s flags over the image's), `-c` Dockerfile instructions over that, the changes as one more layer
//! with a history entry (`-m` its comment), `-a` the author. A running container is paused meanwhile, as docker
//! does by default. The companion captures the layer into the local repository; the image is assembled here.

use std::collections::HashMap;
use std::str::FromStr;

use oci_spec::image::{Config, Descriptor, Digest, ImageConfiguration, ImageManifest};

use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{CommitQuery, Companion, ContainerConfig, ContainerInspect, ContainerStatus};
use crate::image::config::{history, push_layer, rfc3339};
use crate::image::manifest::{config_blob, manifest_blob, Format};
use crate::image::Reference;
use crate::registry::{PushOptions, Transport};

/// `docker commit`: prints the new image's id (`sha256:…`).
pub async fn commit<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    match commit_image(ctx, inv).await {
        Ok((id, container, target)) => {
            // dockerd's `CreateImageFromContainer`: the tag's image event, then the container's `commit`.
            let image_ref = target.familiar();
            super::image_events::record_image(ctx, "tag", &id, &image_ref).await;
            let message = inv.flags.value(Flag::MESSAGE).unwrap_or_default();
            super::image_events::record_commit(ctx, &container, [message, &id, &image_ref]).await;
            Outcome::success(format!("{id}\n"))
        }
        Err(e) => Outcome::failure(format!("{e}\n"), 1),
    }
}

/// The new image's id, the container's full id and the image's name.
async fn commit_image<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
) -> Result<(String, String, Reference), String> {
    let Some(name) = inv.args.get(1) else {
        return Err(
            "docker commit here needs a REPOSITORY[:TAG]: the session's images all have a name (an untagged \
             image would be lost at once)"
                .into(),
        );
    };
    let target = Reference::parse(name)
        .map_err(|e| format!("invalid reference format: {e}"))?
        .with_default_tag();
    let changes = inv.flags.values(Flag::CHANGE);
    // Checked before anything is captured: a bad instruction commits nothing.
    apply_changes(&mut Config::default(), changes)?;
    let companion = Companion::new(ctx.transport, ctx.base);
    let container = &inv.args[0];
    let inspected = companion.inspect(container).await.map_err(|e| e.to_string())?;
    let repository = ctx.local_repository(&target);
    let layer = capture_layer(&companion, inv, &inspected, &repository).await?;

    let base = Reference::parse(&inspected.summary.image)
        .map_err(|e| format!("the image of container {container}: {e}"))?
        .with_default_tag();
    let base_repository = ctx.local_repository(&base);
    let client = ctx.local_client();
    let daemon = |e: crate::registry::ClientError| format!("Error response from daemon: {e}");
    let pulled = client
        .pull_manifest(&base_repository, &base.tag_or_digest())
        .await
        .map_err(|_| {
            format!(
                "Error response from daemon: the image {} that container {container} was created from is no longer \
                 in the session's images",
                base.familiar()
            )
        })?;
    let manifest: ImageManifest = serde_json::from_slice(&pulled.bytes).map_err(|e| e.to_string())?;
    let format = Format::of_media_type(&pulled.media_type).unwrap_or(Format::Oci);
    let config_bytes = client
        .pull_blob(&base_repository, manifest.config().digest().as_ref())
        .await
        .map_err(daemon)?;
    let mut config: ImageConfiguration = serde_json::from_slice(&config_bytes).map_err(|e| e.to_string())?;

    let created = rfc3339(ctx.now);
    let mut run_config = config.config().clone().unwrap_or_default();
    if let Some(running) = &inspected.config {
        as_running(&mut run_config, running);
    }
    apply_changes(&mut run_config, changes)?;
    config.set_config(Some(run_config));
    config.set_created(Some(created.clone()));
    if let Some(author) = inv.flags.value(Flag::AUTHOR) {
        config.set_author(Some(author.to_string()));
    }
    let digest = |text: &str| Digest::from_str(text).map_err(|e| e.to_string());
    let entry = history(
        Some(&created),
        &created_by(&inspected),
        inv.flags.value(Flag::MESSAGE).filter(|m| !m.is_empty()),
        false,
    );
    push_layer(&mut config, &digest(&layer.diff_id)?, entry).map_err(|e| e.to_string())?;
    let config_blob = config_blob(&config, format).map_err(|e| e.to_string())?;
    let mut layers = manifest.layers().clone();
    layers.push(Descriptor::new(
        format.layer_gzip(),
        layer.size,
        digest(&layer.digest)?,
    ));
    let manifest_blob =
        manifest_blob(config_blob.descriptor.clone(), layers, format).map_err(|e| e.to_string())?;

    if repository != base_repository {
        for base_layer in manifest.layers() {
            client
                .link_blob(&repository, base_layer.digest().as_ref(), &base_repository)
                .await
                .map_err(daemon)?;
        }
    }
    let config_digest = config_blob.descriptor.digest().to_string();
    client
        .push_blob(
            &repository,
            &config_digest,
            &config_blob.bytes,
            &PushOptions::default(),
            &mut |_, _| {},
        )
        .await
        .map_err(daemon)?;
    client
        .push_manifest(
            &repository,
            &target.tag_or_digest(),
            manifest_blob.descriptor.media_type().as_ref(),
            &manifest_blob.bytes,
        )
        .await
        .map_err(daemon)?;
    Ok((config_digest, inspected.summary.id, target))
}

/// The container's changes as a layer in `repository`, paused while they are read unless `--pause=false`.
async fn capture_layer<T: Transport>(
    companion: &Companion<'_, T>,
    inv: &Invocation,
    inspected: &ContainerInspect,
    repository: &str,
) -> Result<crate::api::StepLayer, String> {
    let container = &inv.args[0];
    // docker's default `--pause`: the container's files hold still while they are read; `--pause=false` reads
    // them as the container goes on writing.
    let wanted = inv.flags.value(Flag::PAUSE) != Some("false");
    let pause = wanted && inspected.state.status == ContainerStatus::Running && !inspected.summary.paused;
    if pause {
        companion.pause(container).await.map_err(|e| e.to_string())?;
    }
    let layer = companion
        .commit(
            container,
            &CommitQuery {
                repository: repository.to_string(),
            },
        )
        .await;
    if pause {
        let _ = companion.unpause(container).await;
    }
    layer.map_err(|e| e.to_string())
}

/// dockerd's history entry for a commit: the container's command.
fn created_by(inspected: &ContainerInspect) -> String {
    inspected.args.join(" ")
}

/// The image's config as the container runs it: `docker run`'s flags over the image's.
fn as_running(config: &mut Config, running: &ContainerConfig) {
    config.set_env(Some(running.env.clone()).filter(|e| !e.is_empty()));
    config.set_cmd(running.cmd.clone());
    config.set_entrypoint(running.entrypoint.clone());
    config.set_working_dir(Some(running.working_dir.clone()).filter(|w| !w.is_empty()));
    config.set_user(Some(running.user.clone()).filter(|u| !u.is_empty()));
    config.set_exposed_ports(Some(running.exposed_ports.clone()).filter(|p| !p.is_empty()));
    if !running.labels.is_empty() {
        config.set_labels(Some(
            running.labels.clone().into_iter().collect::<HashMap<_, _>>(),
        ));
    }
}

/// A command of `CMD`/`ENTRYPOINT`: a JSON array as it is, anything else through `/bin/sh -c`.
fn command_of(text: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(text.trim()) {
        Ok(argv) => argv,
        Err(_) => vec!["/bin/sh".into(), "-c".into(), text.trim().to_string()],
    }
}

/// `KEY=VALUE KEY2=VALUE2`, or the old `KEY VALUE` form.
fn pairs(text: &str) -> Vec<(String, String)> {
    let text = text.trim();
    if !text.contains('=') {
        let (key, value) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        return vec![(key.to_string(), value.trim().to_string())];
    }
    crate::cli::words::split_words(text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|w| w.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// `-c` instructions, in order, over `config` (dockerd's `commit --change`: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
/// USER, WORKDIR; ONBUILD, VOLUME and STOPSIGNAL are not kept here).
fn apply_changes(config: &mut Config, changes: &[String]) -> Result<(), String> {
    for change in changes {
        let (instruction, rest) = change
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or((change.trim(), ""));
        match instruction.to_ascii_uppercase().as_str() {
            "CMD" => {
                config.set_cmd(Some(command_of(rest)));
            }
            "ENTRYPOINT" => {
                config.set_entrypoint(Some(command_of(rest)));
            }
            "ENV" => {
                let mut env = config.env().clone().unwrap_or_default();
                for (key, value) in pairs(rest) {
                    env.retain(|e| e.split('=').next() != Some(key.as_str()));
                    env.push(format!("{key}={value}"));
                }
                config.set_env(Some(env));
            }
            "EXPOSE" => {
                let mut ports = config.exposed_ports().clone().unwrap_or_default();
                for port in rest.split_whitespace() {
                    let port = if port.contains('/') {
                        port.to_string()
                    } else {
                        format!("{port}/tcp")
                    };
                    if !ports.contains(&port) {
                        ports.push(port);
                    }
                }
                config.set_exposed_ports(Some(ports));
            }
            "LABEL" => {
                let mut labels = config.labels().clone().unwrap_or_default();
                labels.extend(pairs(rest));
                config.set_labels(Some(labels));
            }
            "USER" => {
                config.set_user(Some(rest.trim().to_string()));
            }
            "WORKDIR" => {
                config.set_working_dir(Some(rest.trim().to_string()));
            }
            _ => {
                return Err(format!(
                    "Error response from daemon: {} is not a valid change command",
                    instruction.to_ascii_lowercase()
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_as_dockerfile_instructions() {
        let mut config = Config::default();
        let changes: Vec<String> = [
            "CMD [\"python3\", \"app.py\"]",
            "ENTRYPOINT tini --",
            "ENV A=1 B=\"two words\"",
            "ENV C 3",
            "EXPOSE 8000 53/udp",
            "LABEL team=web",
            "WORKDIR /app",
        ]
        .map(String::from)
        .to_vec();
        apply_changes(&mut config, &changes).unwrap();
        assert_eq!(config.cmd().clone().unwrap(), ["python3", "app.py"]);
        assert_eq!(config.entrypoint().clone().unwrap(), ["/bin/sh", "-c", "tini --"]);
        assert_eq!(config.env().clone().unwrap(), ["A=1", "B=two words", "C=3"]);
        assert_eq!(config.exposed_ports().clone().unwrap(), ["8000/tcp", "53/udp"]);
        assert_eq!(config.labels().clone().unwrap()["team"], "web");
        assert_eq!(config.working_dir().as_deref(), Some("/app"));
        assert_eq!(
            apply_changes(&mut config, &["RUN true".to_string()]).unwrap_err(),
            "Error response from daemon: run is not a valid change command"
        );
    }
}
