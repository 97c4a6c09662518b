//! `docker stats` and `docker update`, with docker 28's table, errors and exit codes (docker/cli's
//! `cli/command/container/{stats,update}.go` and `formatter/stats.go`).

use super::containers::{memory_bytes, RunFlagError};
use super::context::{CommandContext, Printer, Stream};
use super::format::{bytes_size, human_size, tabwrite};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, StatsQuery, StatsRow, UpdateLimits};
use crate::registry::Transport;

/// docker's stats table header.
const TITLES: [&str; 8] = [
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
];

/// A row's cells as docker's stats formatter writes them.
fn cells(row: &StatsRow, no_trunc: bool) -> Vec<String> {
    let id = if no_trunc {
        row.id.clone()
    } else {
        row.id.chars().take(12).collect()
    };
    let mem_percent = match row.mem_limit {
        0 => 0.0,
        limit => row.mem_usage as f64 / limit as f64 * 100.0,
    };
    vec![
        id,
        row.name.clone(),
        format!("{:.2}%", row.cpu_percent),
        format!("{} / {}", bytes_size(row.mem_usage), bytes_size(row.mem_limit)),
        format!("{mem_percent:.2}%"),
        format!("{} / {}", human_size(row.net_rx), human_size(row.net_tx)),
        format!("{} / {}", human_size(row.block_read), human_size(row.block_write)),
        row.pids.to_string(),
    ]
}

/// The rows the command names (by name, full id or id prefix), in the order named; an unknown one is the
/// daemon's error.
fn named(rows: Vec<StatsRow>, names: &[String]) -> Result<Vec<StatsRow>, String> {
    if names.is_empty() {
        return Ok(rows);
    }
    names
        .iter()
        .map(|name| {
            rows.iter()
                .find(|r| &r.name == name || r.id.starts_with(name.as_str()))
                .cloned()
                .ok_or_else(|| format!("Error response from daemon: No such container: {name}"))
        })
        .collect()
}

/// The table for one measurement.
fn table(rows: &[StatsRow], no_trunc: bool) -> String {
    let mut all = vec![TITLES.map(String::from).to_vec()];
    all.extend(rows.iter().map(|r| cells(r, no_trunc)));
    tabwrite(&all)
}

/// `docker stats [-a] [--no-stream] [--no-trunc] [CONTAINER...]`: each container's CPU, memory, network, block
/// I/O and processes, measured over a second. Live (without `--no-stream`) the table is redrawn in place after
/// each measurement until Ctrl-C; with nothing to redraw on (no terminal) it is printed once, as `--no-stream`.
pub async fn stats<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    // Named containers are shown whatever their state, as docker does.
    let query = StatsQuery {
        all: inv.flags.is_set(Flag::ALL) || !inv.args.is_empty(),
    };
    let no_trunc = inv.flags.is_set(Flag::NO_TRUNC);
    let mut out = Printer::new(ctx);
    let live = !inv.flags.is_set(Flag::NO_STREAM) && out.shows_bars();
    loop {
        let rows = match companion.stats(&query).await {
            Ok(rows) => rows,
            Err(e) => return out.fail(&e.to_string(), 1),
        };
        let rows = match named(rows, &inv.args) {
            Ok(rows) => rows,
            Err(e) => return out.fail(&e, 1),
        };
        let text = table(&rows, no_trunc);
        if !live {
            out.outcome.stdout.push_str(&text);
            return out.done();
        }
        for (n, line) in text.lines().enumerate() {
            out.status(Stream::Stdout, &format!("docker-stats-{n}"), line);
        }
    }
}

/// A number flag's value, or pflag's words for one that is not (`--cpus lots`).
fn number<N: std::str::FromStr>(inv: &Invocation, flag: Flag) -> Result<Option<N>, RunFlagError> {
    inv.flags
        .value(flag)
        .map(|text| {
            text.parse().map_err(|_| RunFlagError::Number {
                text: text.to_string(),
                flag: flag.long(),
            })
        })
        .transpose()
}

/// What `docker update`'s flags ask for.
fn limits(inv: &Invocation) -> Result<UpdateLimits, RunFlagError> {
    Ok(UpdateLimits {
        memory: inv.flags.value(Flag::MEMORY).map(memory_bytes).transpose()?,
        cpus: number(inv, Flag::CPUS)?,
        pids_limit: number(inv, Flag::PIDS_LIMIT)?,
    })
}

/// `docker update [-m] [--cpus] [--pids-limit] CONTAINER...`: each name as typed once changed; the errors after
/// them, joined, exit code 1.
pub async fn update<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let limits = match limits(inv) {
        Ok(limits) => limits,
        Err(e) => {
            return Outcome::failure(
                format!("{e}\nSee 'docker {} --help'.\n", inv.typed.join(" ")),
                125,
            )
        }
    };
    if limits == UpdateLimits::default() {
        return Outcome::failure(
            "you must provide one or more flags when using this command\n".into(),
            1,
        );
    }
    let companion = Companion::new(ctx.transport, ctx.base);
    let mut out = Outcome::default();
    let mut errors = Vec::new();
    for name in &inv.args {
        match companion.update(name, &limits).await {
            Ok(()) => out.stdout.push_str(&format!("{name}\n")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    super::manage::finish_with_errors(out, &errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_as_dockers_stats_table() {
        let row = StatsRow {
            id: "4f2d5a1b7c3e9a0b".into(),
            name: "web".into(),
            running: true,
            cpu_percent: 0.123,
            mem_usage: 1_572_864,
            mem_limit: 1 << 30,
            net_rx: 0,
            net_tx: 0,
            block_read: 4096,
            block_write: 0,
            pids: 1,
        };
        assert_eq!(
            table(std::slice::from_ref(&row), false),
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O    PIDS\n\
             4f2d5a1b7c3e   web       0.12%     1.5MiB / 1GiB       0.15%     0B / 0B   4.1kB / 0B   1\n"
        );
        assert_eq!(named(vec![row.clone()], &["4f2d".into()]).unwrap().len(), 1);
        assert_eq!(
            named(vec![row], &["nope".into()]).unwrap_err(),
            "Error response from daemon: No such container: nope"
        );
    }
}
