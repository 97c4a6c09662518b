//! What the terminal attaches to and the attach WebSocket's protocol as it speaks it (`docs/runner-api.md`):
//! `docker run -it` and `docker exec` start a process, the terminal connects to its attach path, sizes the
//! TTY, and ends with the exit frame turned into a command's outcome.

use serde::Deserialize;

use super::containers::{self, call, daemon_error};
use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::registry::transport::{Method, Transport};

/// A started process to attach the terminal to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachTarget {
    /// The container, as the hint names it.
    pub container: String,
    /// `/api/containers/ID/attach` or `/api/execs/ID/attach`.
    pub path: String,
}

impl AttachTarget {
    /// The WebSocket path with the session: a browser WebSocket cannot send `X-Slipway-Session`, so the session
    /// rides in the query.
    pub fn path_for(&self, session: &str) -> String {
        format!(
            "{}?session={}",
            self.path,
            crate::registry::challenge::encode_query_value(session)
        )
    }
}

/// Start what a [`super::outcome::Step::Attach`] line runs: `docker run -it` (pulling first, like `docker
/// run`) or `docker exec`. `console_size` is the terminal's `[rows, cols]`: a `-t` container's TTY starts with it.
pub async fn start<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    console_size: Option<[u16; 2]>,
) -> Result<AttachTarget, Outcome> {
    if inv.command.id == CommandId::ContainerExec {
        let id = exec_create(ctx, inv).await?;
        return Ok(AttachTarget {
            container: inv.args[0].clone(),
            path: format!("/api/execs/{id}/attach"),
        });
    }
    let (created, _printed_through_progress) =
        super::transfer::start_interactive(ctx, inv, console_size).await?;
    let container = if created.name.is_empty() {
        created.id.chars().take(12).collect()
    } else {
        created.name
    };
    Ok(AttachTarget {
        container,
        path: format!("/api/containers/{}/attach", created.id),
    })
}

#[derive(Debug, Deserialize)]
struct ExecCreated {
    id: String,
}

/// `POST /api/containers/CONTAINER/exec` for `docker exec [-it] [-e] [-u] [-w] CONTAINER CMD...`: the id.
async fn exec_create<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Result<String, Outcome> {
    let flags = &inv.flags;
    let body = serde_json::json!({
        "cmd": inv.args[1..],
        "tty": flags.is_set(Flag::TTY),
        "interactive": flags.is_set(Flag::INTERACTIVE),
        "env": flags.values(Flag::ENV),
        "user": flags.value(Flag::USER),
        "workdir": flags.value(Flag::WORKDIR),
    });
    let path = format!("/api/containers/{}/exec", inv.args[0]);
    match call(ctx.transport, ctx.base, Method::Post, &path, Some(body)).await {
        Ok(r) if r.is_success() => serde_json::from_slice::<ExecCreated>(&r.body)
            .map(|c| c.id)
            .map_err(|_| Outcome::failure("docker: the companion's answer had no exec id".into(), 126)),
        Ok(r) => Err(Outcome::failure(daemon_error(&r), 1)),
        Err(e) => Err(Outcome::failure(e, 1)),
    }
}

/// `docker exec -d`: start the process and print nothing, as docker does.
pub async fn exec_detached<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    match exec_create(ctx, inv).await {
        Ok(_) => Outcome::default(),
        Err(failed) => failed,
    }
}

/// Whether a `docker exec` runs detached; every other one attaches (its output is only on the attach socket).
pub fn is_attached_exec(inv: &Invocation) -> bool {
    !inv.flags.is_set(Flag::DETACH)
}

/// Whether an invocation attaches the terminal: `docker run -i/-t` and `docker exec` without `-d`.
pub fn attaches(inv: &Invocation) -> bool {
    match inv.command.id {
        CommandId::ContainerRun => containers::is_interactive_run(inv),
        CommandId::ContainerExec => is_attached_exec(inv),
        _ => false,
    }
}

/// The text frame that sets the TTY's size.
pub fn resize_control(cols: u16, rows: u16) -> String {
    serde_json::json!({"type": "resize", "cols": cols, "rows": rows}).to_string()
}

#[derive(Debug, Deserialize)]
struct ExitFrame {
    #[serde(rename = "type")]
    kind: String,
    exit_code: Option<i32>,
    #[serde(default)]
    oom_killed: bool,
}

/// The outcome an exit frame (`{"type":"exit","exit_code":N}`) ends the session with; `None` for any other
/// text.
pub fn exit_outcome(frame: &str) -> Option<Outcome> {
    let exit = serde_json::from_str::<ExitFrame>(frame)
        .ok()
        .filter(|f| f.kind == "exit")?;
    let mut outcome = Outcome {
        exit_code: exit.exit_code.unwrap_or(125),
        ..Outcome::default()
    };
    if exit.oom_killed {
        outcome.stderr = "docker: the container was killed: out of memory (see -m/--memory)\n".into();
    }
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_frames() {
        let target = AttachTarget {
            container: "web".into(),
            path: "/api/containers/abc123/attach".into(),
        };
        assert_eq!(
            target.path_for("page-1f/x y"),
            "/api/containers/abc123/attach?session=page-1f%2Fx%20y"
        );
        let resize: serde_json::Value = serde_json::from_str(&resize_control(80, 24)).unwrap();
        assert_eq!(
            resize,
            serde_json::json!({"type": "resize", "cols": 80, "rows": 24})
        );
        assert_eq!(
            exit_outcome(r#"{"type":"exit","exit_code":3,"oom_killed":false}"#)
                .unwrap()
                .exit_code,
            3
        );
        let oom = exit_outcome(r#"{"type":"exit","exit_code":137,"oom_killed":true}"#).unwrap();
        assert!(oom.stderr.contains("out of memory"));
        assert_eq!(exit_outcome("hello"), None);
        assert_eq!(exit_outcome(r#"{"type":"resize"}"#), None);
    }
}
