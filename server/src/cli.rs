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
    /// Build busybox, debian and python base images from Debian packages (no Docker Hub) as OCI layouts
    /// under <data>/base-images/; valid layouts are reused, so a second run is instant.
    BaseImages(BaseImagesArgs),
    /// Parse a Dockerfile and print its instructions (`-` reads standard input).
    Parse(crate::commands::dockerfile::ParseArgs),
    /// Run the build checks on a Dockerfile and print the diagnostics.
    Lint(crate::commands::dockerfile::LintArgs),
}

#[derive(Debug, clap::Args)]
pub struct BaseImagesArgs {
    /// Directory for registry storage and container state (layouts go to <data>/base-images/<name>/).
    #[arg(long, env = "SLIPWAY_DATA", default_value_os_t = default_data_dir())]
    pub data: PathBuf,
    /// Images to build: busybox, debian, python (or busybox:latest, ...). Default: all three.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Debian mirror for debootstrap (default: the first Debian mirror in the host's apt sources).
    #[arg(long)]
    pub mirror: Option<String>,
    /// Rebuild even when a valid layout exists.
    #[arg(long)]
    pub force: bool,
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
        Command::BaseImages(args) => base_images(args),
        Command::Parse(args) => exit_with(crate::commands::dockerfile::parse(&args)?),
        Command::Lint(args) => exit_with(crate::commands::dockerfile::lint(&args)?),
    }
}

fn base_images(args: BaseImagesArgs) -> anyhow::Result<()> {
    use crate::base_images::{ensure, BaseImage, Options};
    let images = if args.images.is_empty() {
        BaseImage::ALL.to_vec()
    } else {
        args.images
            .iter()
            .map(|n| BaseImage::from_name(n))
            .collect::<Result<Vec<_>, _>>()?
    };
    let options = Options {
        data: args.data,
        mirror: args.mirror,
        force: args.force,
        layer: slipway::layer::LayerOptions::from_env(),
    };
    for image in images {
        if image != BaseImage::Busybox
            && (args.force || crate::base_images::cached(&options.data, image).is_none())
        {
            eprintln!(
                "building {} with debootstrap (about a minute)...",
                image.reference()
            );
        }
        let done = ensure(image, &options)?;
        println!(
            "{}\t{}\t{:.1} MB\t{} in {:.1}s\t{}",
            image.reference(),
            done.manifest,
            done.size as f64 / 1e6,
            if done.cached { "cached" } else { "built" },
            done.elapsed.as_secs_f64(),
            done.dir.display()
        );
    }
    Ok(())
}

/// Ends the process with `code` unless it is 0 (stdout is flushed first).
fn exit_with(code: i32) -> anyhow::Result<()> {
    use std::io::Write;
    std::io::stdout().flush()?;
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}
