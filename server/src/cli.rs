//! The `slipway` command line: subcommands and their flags, dispatched to the modules that do the work.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::runtime::RuntimeChoice;

#[derive(Debug, Parser)]
#[command(
    name = "slipway",
    version,
    about = "Slipway: a container playground in the browser"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app, the embedded OCI registry (/v2/) and the container API (/api/).
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the chosen address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Directory for registry storage and container state.
    #[arg(long, env = "SLIPWAY_DATA", default_value_os_t = default_data_dir())]
    pub data: PathBuf,
    /// The built web app (Trunk's dist/ folder).
    #[arg(long, env = "SLIPWAY_DIST", default_value = "dist")]
    pub dist: PathBuf,
    /// OCI runtime: auto picks crun on cgroup v2 hosts and runc elsewhere.
    #[arg(long, value_enum, default_value_t = RuntimeChoice::Auto)]
    pub runtime: RuntimeChoice,
    /// Container state and the unpacked-layer cache. Every parent must be world-searchable (o+x): container
    /// root runs as an unprivileged host uid (user namespace) and must reach its bind mounts.
    #[arg(long, env = "SLIPWAY_RUNNER_DIR", default_value = "/var/lib/slipway/runner")]
    pub runner_dir: PathBuf,
    /// OCI image layout directories to run images from (repeatable), searched before the registry.
    #[arg(long = "oci-layout", env = "SLIPWAY_OCI_LAYOUTS", value_delimiter = ':')]
    pub oci_layouts: Vec<PathBuf>,
    /// Run containers without a user namespace (container root = host root). Not for public servers.
    #[arg(long)]
    pub no_userns: bool,
}

/// `$XDG_DATA_HOME/slipway`, else `~/.local/share/slipway`, else `./slipway-data`.
fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match base {
        Some(base) => base.join("slipway"),
        None => PathBuf::from("slipway-data"),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(crate::serve::serve(args))
        }
    }
}
