//! `slipway`: the companion server and the native command line.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    use clap::Parser;
    let cli = slipway_server::cli::Cli::parse();
    slipway_server::dispatch::init_tracing();
    slipway_server::dispatch::run(cli)
}

#[cfg(target_arch = "wasm32")]
fn main() {}
