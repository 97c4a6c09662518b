//! `docker info`, `docker version --format` and `docker context ls`, with docker 28's layout (docker/cli's
//! `cli/command/system/{info,version}.go` and `context/list.go`), from the companion's real figures
//! (`GET /api/system`; the session's images counted in its local store).

use serde_json::json;

use super::context::CommandContext;
use super::format::{bytes_size, tabwrite};
use super::images::list_local;
use super::inspect::{render, InspectTemplateError, Node};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, SystemInfo};
use crate::registry::Transport;

/// The one context: where this terminal's companion is.
fn endpoint<T: Transport>(ctx: &CommandContext<'_, T>) -> String {
    if ctx.base.is_empty() {
        ctx.registry_host.to_string()
    } else {
        ctx.base.to_string()
    }
}

/// The companion's figures, the session's local images counted in.
async fn system_info<T: Transport>(ctx: &CommandContext<'_, T>) -> Result<SystemInfo, String> {
    let mut info = Companion::new(ctx.transport, ctx.base)
        .system()
        .await
        .map_err(|e| e.to_string())?;
    info.images = list_local(ctx).await.map_err(|e| e.to_string())?.len() as u64;
    Ok(info)
}

/// A `--format` template over `root`: its text and a newline, docker's status 64 for a template Go cannot parse,
/// 1 for one that fails as it runs.
fn formatted(template: &str, root: &Node) -> Outcome {
    match render(template, root) {
        Ok(text) => Outcome::success(format!("{text}\n")),
        Err(e @ (InspectTemplateError::Unclosed | InspectTemplateError::Unsupported { .. })) => {
            Outcome::failure(format!("{e}\n"), 64)
        }
        Err(e) => Outcome::failure(format!("{e}\n"), 1),
    }
}

/// `docker info [-f TEMPLATE]`.
pub async fn info<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let info = match system_info(ctx).await {
        Ok(info) => info,
        Err(e) => {
            return Outcome {
                stdout: client_section(),
                stderr: format!("{e}\n"),
                exit_code: 1,
            }
        }
    };
    if let Some(template) = inv.flags.value(Flag::FORMAT) {
        return formatted(template, &Node::of(&info));
    }
    Outcome::success(format!("{}\n{}", client_section(), server_section(&info)))
}

/// The client's part of `docker info`.
fn client_section() -> String {
    format!(
        "Client:\n Version:    Slipway {}\n Context:    default\n Debug Mode: false\n",
        crate::VERSION
    )
}

/// The server's part of `docker info`: the lines docker prints that Slipway has real figures for, in docker's
/// order.
fn server_section(info: &SystemInfo) -> String {
    let mut out = String::from("Server:\n");
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!(" Containers: {}", info.containers));
    line(format!("  Running: {}", info.containers_running));
    line(format!("  Paused: {}", info.containers_paused));
    line(format!("  Stopped: {}", info.containers_stopped));
    line(format!(" Images: {}", info.images));
    line(format!(" Server Version: {}", info.server_version));
    line(format!(" Storage Driver: {}", info.driver));
    line(format!(" Cgroup Driver: {}", info.cgroup_driver));
    line(format!(" Cgroup Version: {}", info.cgroup_version));
    line(format!(" Runtimes: {}", info.default_runtime));
    line(format!(" Default Runtime: {}", info.default_runtime));
    line(format!(
        " {} version: {}",
        info.default_runtime, info.runtime_version
    ));
    line(" Security Options:".into());
    for option in &info.security_options {
        let mut parts = option.split(',');
        let name = parts.next().unwrap_or_default().trim_start_matches("name=");
        line(format!("  {name}"));
        for part in parts {
            if let Some((key, value)) = part.split_once('=') {
                let mut key = key.to_string();
                key[..1].make_ascii_uppercase();
                line(format!("   {key}: {value}"));
            }
        }
    }
    line(format!(" Kernel Version: {}", info.kernel_version));
    line(format!(" Operating System: {}", info.operating_system));
    line(format!(" OSType: {}", info.os_type));
    line(format!(" Architecture: {}", info.architecture));
    line(format!(" CPUs: {}", info.ncpu));
    line(format!(" Total Memory: {}", bytes_size(info.mem_total)));
    line(format!(" Name: {}", info.name));
    line(" Debug Mode: false".into());
    line(" Experimental: false".into());
    line(" Live Restore Enabled: false".into());
    out
}

/// Go's name for an architecture (`GOARCH`), as `docker version` shows it.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" | "i686" => "386",
        other => other,
    }
}

/// `docker version --format TEMPLATE`: docker's version document (its `Client` and `Server` parts, the fields
/// Slipway has figures for). Without `--format` the interpreter answers alone (the page without its companion
/// too).
pub async fn version<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let template = inv.flags.value(Flag::FORMAT).unwrap_or("{{json .}}");
    let client = json!({
        "Platform": {"Name": "Slipway"},
        "Version": crate::VERSION,
        "Context": "default",
    });
    let server = match Companion::new(ctx.transport, ctx.base).system().await {
        Ok(info) => json!({
            "Platform": {"Name": "Slipway"},
            "Components": [
                {"Name": "Engine", "Version": info.server_version},
                {"Name": info.default_runtime, "Version": info.runtime_version},
            ],
            "Version": info.server_version,
            "Os": info.os_type,
            "Arch": go_arch(&info.architecture),
            "KernelVersion": info.kernel_version,
        }),
        Err(e) => {
            // docker prints what it can of the template, then the daemon's error.
            let mut out = formatted(template, &Node::of(&json!({"Client": client, "Server": null})));
            out.stderr.push_str(&format!("{e}\n"));
            out.exit_code = 1;
            return out;
        }
    };
    formatted(template, &Node::of(&json!({"Client": client, "Server": server})))
}

/// `docker context ls [-q] [--format]`: the one context, the companion this terminal talks to.
pub fn context_ls<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let endpoint = endpoint(ctx);
    let description = "Current DOCKER_HOST based configuration";
    if inv.flags.is_set(Flag::QUIET) {
        return Outcome::success("default\n".into());
    }
    match inv.flags.value(Flag::FORMAT) {
        None | Some("table") => Outcome::success(tabwrite(&[
            ["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"]
                .map(String::from)
                .to_vec(),
            vec!["default *".into(), description.into(), endpoint, String::new()],
        ])),
        Some("json") => Outcome::success(format!(
            "{}\n",
            json!({"Current": true, "Description": description, "DockerEndpoint": endpoint, "Error": "", "Name": "default"})
        )),
        Some(template) => formatted(
            template,
            &Node::of(&json!({
                "Name": "default", "Current": true, "Description": description, "DockerEndpoint": endpoint, "Error": ""
            })),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> SystemInfo {
        SystemInfo {
            containers: 3,
            containers_running: 1,
            containers_paused: 1,
            containers_stopped: 1,
            images: 2,
            server_version: "0.1.0".into(),
            driver: "overlayfs".into(),
            cgroup_driver: "cgroupfs".into(),
            cgroup_version: "2".into(),
            default_runtime: "runc".into(),
            runtime_version: "1.1.12".into(),
            kernel_version: "6.8.0".into(),
            operating_system: "Ubuntu 24.04 LTS".into(),
            os_type: "linux".into(),
            architecture: "x86_64".into(),
            ncpu: 2,
            mem_total: 16_192_000_000,
            name: "slipway".into(),
            security_options: vec!["name=seccomp,profile=builtin".into(), "name=userns".into()],
        }
    }

    #[test]
    fn the_server_section_reads_as_dockers() {
        let text = server_section(&figures());
        for expected in [
            "Server:\n Containers: 3\n  Running: 1\n  Paused: 1\n  Stopped: 1\n Images: 2\n Server Version: 0.1.0\n",
            " Security Options:\n  seccomp\n   Profile: builtin\n  userns\n Kernel Version: 6.8.0\n",
            " CPUs: 2\n Total Memory: 15.08GiB\n",
        ] {
            assert!(text.contains(expected), "{expected:?} in:\n{text}");
        }
        assert_eq!(
            formatted("{{.ServerVersion}} {{.NCPU}}", &Node::of(&figures())).stdout,
            "0.1.0 2\n"
        );
        assert_eq!(formatted("{{.Nope}}", &Node::of(&figures())).exit_code, 1);
        assert_eq!(formatted("{{.Nope", &Node::of(&figures())).exit_code, 64);
        assert_eq!(go_arch("x86_64"), "amd64");
    }
}
