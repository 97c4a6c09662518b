//! `docker login` and `docker logout`: credentials checked for real through the registry's token flow (the
//! embedded registry by default, others through the companion's proxy), kept in the context's store.

use super::context::{CommandContext, Printer, Stream};
use super::interpret::Outcome;
use super::parse::Invocation;
use crate::registry::{ClientError, Credentials, Transport};

/// `https://quay.io/` → `quay.io`; Docker Hub's names are the embedded registry here.
fn server_host<T: Transport>(ctx: &CommandContext<'_, T>, server: Option<&String>) -> String {
    let Some(server) = server else {
        return ctx.registry_host.to_string();
    };
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => ctx.registry_host.to_string(),
        host => host.to_string(),
    }
}

/// `docker login [-u USER] [-p PASS | --password-stdin] [SERVER]`.
pub async fn login<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let host = server_host(ctx, inv.args.first());
    let flags = &inv.flags;
    let from_stdin = flags.is_set("password-stdin");
    if from_stdin && flags.value("password").is_some() {
        return out.fail(
            "conflicting options: cannot specify both --password and --password-stdin",
            1,
        );
    }
    if from_stdin && flags.value("username").is_none() {
        return out.fail("the --password-stdin option requires --username to be set", 1);
    }
    if flags.value("password").is_some() {
        out.line(
            Stream::Stderr,
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
        );
    }
    let password = match (flags.value("password"), from_stdin, ctx.stdin) {
        (Some(p), _, _) => Some(p.to_string()),
        (None, true, Some(stdin)) => Some(stdin.trim_end_matches(['\n', '\r']).to_string()),
        // The page's terminal pipes nothing into a command.
        (None, true, None) => {
            return out.fail(
                "Error: this terminal has no standard input to read a password from: use -p PASSWORD",
                1,
            )
        }
        (None, false, _) => None,
    };
    let stored = ctx.credentials.borrow().get(&host);
    let credentials = match (flags.value("username"), password) {
        (Some(username), Some(password)) => Credentials {
            username: username.to_string(),
            password,
        },
        (None, None) if stored.is_some() => {
            out.line(Stream::Stdout, "Authenticating with existing credentials...");
            stored.expect("checked")
        }
        // Docker would prompt here; the terminal has no prompt.
        _ => {
            return out.fail(
                "Error: Cannot perform an interactive login from a non TTY device",
                1,
            )
        }
    };
    if credentials.password.is_empty() {
        return out.fail("Error: Password Required", 1);
    }
    let target = ctx.target(&host);
    let client = crate::registry::Client::new(ctx.transport, target.base.clone(), Some(credentials.clone()));
    match client.login().await {
        Ok(()) => {
            ctx.credentials.borrow_mut().set(&host, &credentials);
            out.line(Stream::Stdout, "Login Succeeded");
            out.done()
        }
        Err(e) => {
            let why = match e {
                ClientError::Unauthorized(message) => format!("unauthorized: {message}"),
                other => other.to_string(),
            };
            let url = format!("{}/v2/", ctx.display_url(&target));
            out.fail(&format!("Error response from daemon: Get \"{url}\": {why}"), 1)
        }
    }
}

/// `docker logout [SERVER]`.
pub fn logout<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let host = server_host(ctx, inv.args.first());
    ctx.credentials.borrow_mut().remove(&host);
    Outcome::success(format!("Removing login credentials for {host}\n"))
}
