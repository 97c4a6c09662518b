//! `docker restart [-t]` and `docker diff`, with docker 28's output, errors and exit codes (docker/cli's
//! `cli/command/container/{restart,diff}.go`).

use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, RestartQuery};
use crate::registry::Transport;

/// `docker restart [-t N] CONTAINER...`: each name as typed once restarted; the errors after them, joined, and
/// exit code 1. A `-t` that is not a number is pflag's error (exit code 125), before anything is restarted.
pub async fn restart<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let t = match inv.flags.value(Flag::TIMEOUT).map(str::parse::<i64>).transpose() {
        Ok(t) => t,
        Err(e) => {
            let value = inv.flags.value(Flag::TIMEOUT).unwrap_or_default();
            return Outcome::failure(
                format!(
                    "invalid argument \"{value}\" for \"-t, --timeout\" flag: strconv.ParseInt: parsing \
                     \"{value}\": {}\nSee 'docker {} --help'.\n",
                    int_syntax_error(&e),
                    inv.typed.join(" ")
                ),
                125,
            );
        }
    };
    // docker's -1: no timeout; the server's own wall-clock limit still ends a container that never stops.
    let query = RestartQuery {
        t: t.map(|t| if t < 0 { u64::MAX / 4 } else { t as u64 }),
    };
    let companion = Companion::new(ctx.transport, ctx.base);
    let mut out = Outcome::default();
    let mut errors = Vec::new();
    for name in &inv.args {
        match companion.restart(name, &query).await {
            Ok(()) => out.stdout.push_str(&format!("{name}\n")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    super::manage::finish_with_errors(out, &errors)
}

/// Go's `strconv.ParseInt` error text for what Rust refused.
fn int_syntax_error(e: &std::num::ParseIntError) -> &'static str {
    match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => "value out of range",
        _ => "invalid syntax",
    }
}

/// `docker diff CONTAINER`: one `KIND /path` line per change in the container's writable layer.
pub async fn diff<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    match Companion::new(ctx.transport, ctx.base)
        .changes(&inv.args[0])
        .await
    {
        Ok(changes) => Outcome::success(
            changes
                .iter()
                .map(|c| format!("{} {}\n", c.kind.letter(), c.path))
                .collect(),
        ),
        Err(e) => Outcome::failure(format!("{e}\n"), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_names_the_int_errors() {
        assert_eq!(
            int_syntax_error(&"x".parse::<i64>().unwrap_err()),
            "invalid syntax"
        );
        assert_eq!(
            int_syntax_error(&"99999999999999999999".parse::<i64>().unwrap_err()),
            "value out of range"
        );
    }
}
