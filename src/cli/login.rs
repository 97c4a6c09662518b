//! `docker login` and `docker logout`: credentials checked for real through the registry's token flow (the
//! embedded registry by default, others through the companion's proxy), kept in the context's store. What the
//! flags leave out is asked for at the terminal, with docker's own prompts.

use super::context::{CommandContext, Printer, Stream};
use super::outcome::{Outcome, INTERRUPTED};
use super::parse::Invocation;
use super::spec::Flag;
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

/// `docker login [-u USER] [-p PASS | --password-stdin] [SERVER]`, as docker's `runLogin`: a stored login is
/// tried first; what is still missing is asked for at the terminal (`Username (DEFAULT): `, then `Password: `
/// unechoed); without a terminal that is docker's "non TTY" error.
pub async fn login<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let host = server_host(ctx, inv.args.first());
    let flags = &inv.flags;
    let from_stdin = flags.is_set(Flag::PASSWORD_STDIN);
    if from_stdin && flags.value(Flag::PASSWORD).is_some() {
        return out.fail(
            "conflicting options: cannot specify both --password and --password-stdin",
            1,
        );
    }
    if from_stdin && flags.value(Flag::USERNAME).is_none() {
        return out.fail("the --password-stdin option requires --username to be set", 1);
    }
    if flags.value(Flag::PASSWORD).is_some() {
        // Before any prompt that may follow, as docker prints it.
        out.progress(
            Stream::Stderr,
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
        );
    }
    let mut password = flags.value(Flag::PASSWORD).unwrap_or_default().to_string();
    if from_stdin {
        password = match (ctx.stdin, ctx.prompter) {
            (Some(stdin), _) => stdin.trim_end_matches('\n').trim_end_matches('\r').to_string(),
            // The page's terminal is the pipe: the next line typed, not echoed.
            (None, Some(prompter)) => match prompter.ask("", false).await {
                Some(line) => line,
                None => return interrupted(out),
            },
            (None, None) => {
                return out.fail(
                    "Error: this terminal has no standard input to read a password from: use -p PASSWORD",
                    1,
                )
            }
        };
    }
    let username = flags.value(Flag::USERNAME).unwrap_or_default().trim().to_string();
    // Docker offers the stored login's user name; the page offers the lesson's until there is one.
    let mut offered = ctx.suggested_user.map(str::to_string);
    let stored = if username.is_empty() && password.is_empty() {
        ctx.credentials.borrow().get(&host)
    } else {
        None
    };
    if let Some(stored) = stored {
        // Shown before a prompt may follow, so as progress (the outcome prints at the end).
        out.progress(
            Stream::Stdout,
            &format!(
                "Authenticating with existing credentials... [Username: {}]",
                stored.username
            ),
        );
        out.progress(
            Stream::Stdout,
            "To login with a different account, run 'docker logout' followed by 'docker login'",
        );
        out.progress(Stream::Stdout, "");
        match check_login(ctx, &host, &stored).await {
            Ok(()) => {
                out.line(Stream::Stdout, "Login Succeeded");
                return out.done();
            }
            Err(ClientError::Unauthorized(_)) => {
                out.progress(Stream::Stderr, "Stored credentials invalid or expired")
            }
            Err(e) => out.progress(Stream::Stderr, &format!("Login did not succeed, error: {e}")),
        }
        offered = Some(stored.username);
    }
    let credentials = match prompt_missing(ctx, username, password, offered).await {
        Ok(credentials) => credentials,
        Err(PromptEnd::Interrupted) => return interrupted(out),
        Err(PromptEnd::Refused(why)) => return out.fail(why, 1),
    };
    match check_login(ctx, &host, &credentials).await {
        Ok(()) => {
            ctx.credentials.borrow_mut().set(&host, &credentials);
            out.line(Stream::Stdout, "Login Succeeded");
            out.done()
        }
        Err(e) => {
            let why = match e {
                ClientError::Unauthorized(message) => format!("unauthorized: {message}"),
                // As docker prints a registry's error code: `TOOMANYREQUESTS` → `toomanyrequests`.
                ClientError::Registry { code, message, .. } => {
                    format!("{}: {message}", code.to_lowercase().replace('_', " "))
                }
                other => other.to_string(),
            };
            let url = format!("{}/v2/", ctx.display_url(&ctx.target(&host)));
            out.fail(&format!("Error response from daemon: Get \"{url}\": {why}"), 1)
        }
    }
}

/// Why the prompts ended without credentials.
enum PromptEnd {
    /// Ctrl-C at a prompt.
    Interrupted,
    /// Docker's error text.
    Refused(&'static str),
}

/// What the flags and the stored login left missing, asked at the terminal as docker does: `Username
/// (OFFERED): ` (Enter takes the offered name), then `Password: ` unechoed.
async fn prompt_missing<T: Transport>(
    ctx: &CommandContext<'_, T>,
    mut username: String,
    mut password: String,
    offered: Option<String>,
) -> Result<Credentials, PromptEnd> {
    if !username.is_empty() && !password.trim().is_empty() {
        return Ok(Credentials { username, password });
    }
    let Some(prompter) = ctx.prompter else {
        return Err(PromptEnd::Refused(
            "Error: Cannot perform an interactive login from a non TTY device",
        ));
    };
    if username.is_empty() {
        let offered = offered.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
        let question = match &offered {
            Some(user) => format!("Username ({user}): "),
            None => "Username: ".to_string(),
        };
        let answer = prompter
            .ask(&question, true)
            .await
            .ok_or(PromptEnd::Interrupted)?;
        username = match (answer.trim(), offered) {
            ("", Some(user)) => user,
            (answer, _) => answer.to_string(),
        };
        if username.is_empty() {
            return Err(PromptEnd::Refused("error: username is required"));
        }
    }
    if password.trim().is_empty() {
        let answer = prompter
            .ask("Password: ", false)
            .await
            .ok_or(PromptEnd::Interrupted)?;
        password = answer.trim().to_string();
        if password.is_empty() {
            return Err(PromptEnd::Refused("error: password is required"));
        }
    }
    Ok(Credentials { username, password })
}

/// The registry's token flow with these credentials.
async fn check_login<T: Transport>(
    ctx: &CommandContext<'_, T>,
    host: &str,
    credentials: &Credentials,
) -> Result<(), ClientError> {
    let target = ctx.target(host);
    let client = crate::registry::Client::new(ctx.transport, target.base, Some(credentials.clone()));
    client.login().await
}

/// Ctrl-C at a prompt: nothing stored, nothing more printed, the shell's 130.
fn interrupted(out: Printer<'_>) -> Outcome {
    let mut outcome = out.done();
    outcome.exit_code = INTERRUPTED;
    outcome
}

/// `docker logout [SERVER]`.
pub fn logout<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let host = server_host(ctx, inv.args.first());
    ctx.credentials.borrow_mut().remove(&host);
    Outcome::success(format!("Removing login credentials for {host}\n"))
}
