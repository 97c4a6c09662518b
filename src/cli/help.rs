//! Help texts in the docker CLI's layout: usage line, summary, aliases, options.

use super::spec::{CommandSpec, FlagSpec, COMMANDS, GLOBAL_FLAGS};

fn options(flags: &[FlagSpec]) -> String {
    let rows: Vec<(String, &str)> = flags
        .iter()
        .map(|f| {
            let short = f
                .short
                .map(|s| format!("-{s}, "))
                .unwrap_or_else(|| "    ".to_string());
            let value = if f.takes_value { " string" } else { "" };
            (format!("  {short}--{}{value}", f.long()), f.help)
        })
        .collect();
    let width = rows.iter().map(|(left, _)| left.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(left, help)| format!("{left:width$}   {help}\n"))
        .collect()
}

/// `docker CMD --help`.
pub fn command_help(command: &CommandSpec) -> String {
    let name = |path: &[&str]| format!("docker {}", path.join(" "));
    let mut out = format!(
        "\nUsage:  {}\n\n{}\n",
        command.usage_line(command.path),
        command.summary
    );
    if !command.aliases.is_empty() {
        let aliases: Vec<String> = command.names().map(name).collect();
        out.push_str(&format!("\nAliases:\n  {}\n", aliases.join(", ")));
    }
    if !command.flags.is_empty() {
        out.push_str(&format!("\nOptions:\n{}", options(command.flags)));
    }
    out
}

/// `docker --help`: the commands Slipway runs, one per line.
pub fn overview() -> String {
    let mut out = String::from(
        "\nUsage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers (Slipway: in your browser)\n\nCommands:\n",
    );
    let shown: Vec<(String, &str)> = COMMANDS
        .iter()
        .map(|c| {
            let short = c.names().find(|n| n.len() == 1).unwrap_or(c.path);
            (short.join(" "), c.summary)
        })
        .collect();
    let width = shown.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, summary) in shown {
        out.push_str(&format!("  {name:width$}   {summary}\n"));
    }
    out.push_str(&format!("\nGlobal Options:\n{}", options(GLOBAL_FLAGS)));
    out.push_str("\nRun 'docker COMMAND --help' for more information on a command.\n");
    out
}
