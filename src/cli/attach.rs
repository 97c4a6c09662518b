//! What the terminal attaches to and the attach WebSocket's protocol as it speaks it (`docs/runner-api.md`):
//! `docker run -it` and `docker exec` start a process, the terminal connects to its attach path, sizes the
//! TTY, and ends with the exit frame turned into a command's outcome.

use super::containers;
use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::api::{
    paths, AttachFrame, Companion, CompanionError, ContainerStatus, DetachKeys, ExecOptions, TicketQuery,
    DEFAULT_DETACH_KEYS,
};
use crate::registry::transport::Transport;

/// A started process to attach the terminal to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachTarget {
    /// The container, as the hint names it.
    pub container: String,
    /// [`paths::container_attach`] or [`paths::exec_attach`] with a one-time ticket in its query (a browser
    /// WebSocket cannot send the session header): open it at once, the ticket lives seconds.
    pub path: String,
    /// The detach keys end it without a word and exit 0 (`docker run -it`: docker/cli's `run.go` returns nil on
    /// the escape), not with `read escape sequence` and 1 (`docker attach`, `docker exec -it`).
    pub quiet_detach: bool,
}

/// Start what a [`super::outcome::Step::Attach`] line runs: `docker run -it` (pulling first, like `docker
/// run`) or `docker exec`. `console_size` is the terminal's `[rows, cols]`: a `-t` container's TTY starts with it.
pub async fn start<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    console_size: Option<[u16; 2]>,
) -> Result<AttachTarget, Outcome> {
    if inv.command.id == CommandId::ContainerAttach {
        return attach_running(ctx, inv).await;
    }
    // Checked before anything starts: bad keys leave no process behind.
    let detach_keys = detach_keys(inv)?;
    let query = TicketQuery {
        detach_keys,
        ..TicketQuery::default()
    };
    if inv.command.id == CommandId::ContainerExec {
        let id = exec_create(ctx, inv).await?;
        return Ok(AttachTarget {
            container: inv.args[0].clone(),
            path: ticketed(ctx, &paths::exec_attach_ticket(&id), query).await?,
            quiet_detach: false,
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
        path: ticketed(ctx, &paths::container_attach_ticket(&created.id), query).await?,
        quiet_detach: true,
    })
}

/// The detach keys of `docker run -it` and `docker exec -it` (`--detach-keys`, else docker's Ctrl-P Ctrl-Q):
/// only with a TTY and stdin, as dockerd's escape proxy reads them from a TTY's input (moby
/// `container/stream/attach.go`); docker's error for keys it cannot read.
fn detach_keys(inv: &Invocation) -> Result<Option<String>, Outcome> {
    if !(inv.flags.is_set(Flag::TTY) && inv.flags.is_set(Flag::INTERACTIVE)) {
        return Ok(None);
    }
    checked_keys(inv).map(Some)
}

/// `--detach-keys` (else docker's Ctrl-P Ctrl-Q) when moby's `term.ToBytes` reads it, else dockerd's error.
fn checked_keys(inv: &Invocation) -> Result<String, Outcome> {
    let keys = inv.flags.value(Flag::DETACH_KEYS).unwrap_or(DEFAULT_DETACH_KEYS);
    match DetachKeys::parse(keys) {
        Ok(_) => Ok(keys.to_string()),
        Err(_) => Err(Outcome::failure(
            format!("Error response from daemon: Invalid detach keys ({keys}) provided\n"),
            1,
        )),
    }
}

/// `docker attach [--detach-keys K] [--no-stdin] CONTAINER` (docker/cli `cli/command/container/attach.go`): a
/// running container only, as the CLI checks before it attaches; only what it writes from now on; the detach
/// keys (docker's default Ctrl-P Ctrl-Q) end the attach with `read escape sequence`.
async fn attach_running<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
) -> Result<AttachTarget, Outcome> {
    let companion = Companion::new(ctx.transport, ctx.base);
    let failed = |message: String| Outcome::failure(format!("{message}\n"), 1);
    let c = companion
        .inspect(&inv.args[0])
        .await
        .map_err(|e| failed(e.to_string()))?;
    if c.summary.restarting {
        return Err(failed(
            "You cannot attach to a restarting container, wait until it is running".into(),
        ));
    }
    if c.state.status != ContainerStatus::Running {
        return Err(failed(
            "You cannot attach to a stopped container, start it first".into(),
        ));
    }
    if c.summary.paused {
        return Err(failed(
            "You cannot attach to a paused container, unpause it first".into(),
        ));
    }
    let query = TicketQuery {
        ticket: None,
        new_output: true,
        detach_keys: Some(checked_keys(inv)?),
        no_stdin: inv.flags.is_set(Flag::NO_STDIN),
    };
    let path = companion
        .attach_path_with(&paths::container_attach_ticket(&c.summary.id), query)
        .await
        .map_err(|e| Outcome::failure(format!("docker: {e}"), 126))?;
    Ok(AttachTarget {
        container: inv.args[0].clone(),
        path,
        quiet_detach: false,
    })
}

/// The attach path with a fresh ticket from `ticket_path`, the rest of `query` beside it.
async fn ticketed<T: Transport>(
    ctx: &CommandContext<'_, T>,
    ticket_path: &str,
    query: TicketQuery,
) -> Result<String, Outcome> {
    Companion::new(ctx.transport, ctx.base)
        .attach_path_with(ticket_path, query)
        .await
        .map_err(|e| Outcome::failure(format!("docker: {e}"), 126))
}

/// `POST /api/containers/CONTAINER/exec` for `docker exec [-it] [-e] [-u] [-w] CONTAINER CMD...`: the id.
async fn exec_create<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Result<String, Outcome> {
    let flags = &inv.flags;
    let options = ExecOptions {
        cmd: inv.args[1..].to_vec(),
        tty: flags.is_set(Flag::TTY),
        interactive: flags.is_set(Flag::INTERACTIVE),
        env: flags.values(Flag::ENV).to_vec(),
        user: flags.value(Flag::USER).map(str::to_string),
        workdir: flags.value(Flag::WORKDIR).map(str::to_string),
    };
    match Companion::new(ctx.transport, ctx.base)
        .exec(&inv.args[0], &options)
        .await
    {
        Ok(created) => Ok(created.id),
        Err(CompanionError::Unreadable(_)) => Err(Outcome::failure(
            "docker: the companion's answer had no exec id".into(),
            126,
        )),
        Err(e) => Err(Outcome::failure(e.to_string(), 1)),
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
        CommandId::ContainerAttach => true,
        _ => false,
    }
}

/// What docker prints when the detach keys end an attach (moby `term.EscapeError`).
pub const DETACHED: &str = "read escape sequence\n";

/// The text frame that sets the TTY's size.
pub fn resize_control(cols: u16, rows: u16) -> String {
    AttachFrame::Resize { cols, rows }.to_text()
}

/// The outcome an exit frame ([`AttachFrame::Exit`]) ends the session with, or a detach
/// ([`AttachFrame::Detached`]: docker's CLI returns its escape proxy's error, `read escape sequence`, exit 1);
/// `None` for any other text.
pub fn exit_outcome(frame: &str) -> Option<Outcome> {
    target_outcome(frame, false)
}

/// [`exit_outcome`] of a session whose detach is quiet ([`AttachTarget::quiet_detach`], `docker run -it`): the
/// detach keys end it without a word, exit 0.
pub fn target_outcome(frame: &str, quiet_detach: bool) -> Option<Outcome> {
    let (exit_code, oom_killed) = match AttachFrame::from_text(frame)? {
        AttachFrame::Exit {
            exit_code,
            oom_killed,
        } => (exit_code, oom_killed),
        AttachFrame::Detached if quiet_detach => return Some(Outcome::default()),
        AttachFrame::Detached => return Some(Outcome::failure(DETACHED.into(), 1)),
        _ => return None,
    };
    let mut outcome = Outcome {
        exit_code: exit_code.unwrap_or(125),
        ..Outcome::default()
    };
    if oom_killed == Some(true) {
        outcome.stderr = "docker: the container was killed: out of memory (see -m/--memory)\n".into();
    }
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_frames() {
        let resize: serde_json::Value = serde_json::from_str(&resize_control(80, 24)).unwrap();
        assert_eq!(resize, serde_json::json!({"resize": {"cols": 80, "rows": 24}}));
        assert_eq!(
            exit_outcome(r#"{"exit":{"exit_code":3,"oom_killed":false}}"#)
                .unwrap()
                .exit_code,
            3
        );
        let oom = exit_outcome(r#"{"exit":{"exit_code":137,"oom_killed":true}}"#).unwrap();
        assert!(oom.stderr.contains("out of memory"));
        assert_eq!(exit_outcome("hello"), None);
        assert_eq!(
            exit_outcome(r#""detached""#),
            Some(Outcome::failure(DETACHED.into(), 1))
        );
        // `docker run -it` detaches without a word.
        assert_eq!(target_outcome(r#""detached""#, true), Some(Outcome::default()));
        assert_eq!(exit_outcome(r#"{"resize":{"cols":1,"rows":1}}"#), None);
    }
}
