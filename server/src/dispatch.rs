//! What each `slipway` subcommand does once the command line ([`crate::cli`]) is parsed. Kept apart from the
//! argument types so that `serve` reads its arguments without importing the code that starts it.

use crate::cli::{BaseImagesArgs, Cli, Command};

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
            let mut runtime = tokio::runtime::Builder::new_multi_thread();
            if let Some(workers) = args.worker_threads {
                runtime.worker_threads(workers.into());
            }
            let runtime = runtime.enable_all().build()?;
            let served = runtime.block_on(crate::serve::serve(args));
            // Blocking work still running at the stop (a collector pass, a background unpack) is safe to cut, as a
            // kill would: every write it makes is a rename into place. Waiting for it delayed the exit by seconds.
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
            served
        }
        Command::BaseImages(args) => base_images(args),
        Command::Parse(args) => exit_with(crate::commands::dockerfile::parse(&args)?),
        Command::Lint(args) => exit_with(crate::commands::dockerfile::lint(&args)?),
        Command::Docker(args) => exit_with(crate::commands::docker::docker(args)?),
        Command::Build(args) => exit_with(crate::commands::build::build(&args)?),
        Command::Gc(args) => {
            let root = args.data.join("registry");
            let store = crate::registry::Store::open(&root, Default::default())?;
            let options = crate::registry::gc::GcOptions {
                grace_secs: args.grace,
                upload_max_age_secs: args.upload_max_age,
                dry_run: args.dry_run,
            };
            let report = crate::registry::gc::collect(&store, &options)?;
            let verb = if args.dry_run { "would remove" } else { "removed" };
            println!(
                "gc: {verb} {} blobs ({} bytes) and {} upload sessions; kept {} blobs",
                report.blobs_removed, report.bytes_freed, report.uploads_removed, report.blobs_kept
            );
            Ok(())
        }
        Command::Import(args) => {
            let store = crate::registry::Store::open(&args.data.join("registry"), Default::default())?;
            let imported = crate::registry::import::import(&store, &args.source, &args.reference)?;
            println!(
                "imported {} as {}:{} ({}, {} objects)",
                args.reference, imported.repository, imported.tag, imported.digest, imported.blobs
            );
            Ok(())
        }
        Command::Classroom(command) => crate::commands::classroom::run(command),
        Command::HashPassword => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']);
            anyhow::ensure!(!password.is_empty(), "no password on stdin");
            println!("{}", crate::registry::auth::hash_password(password)?);
            Ok(())
        }
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
        created: slipway::builder::BuildOptions::source_date_epoch(),
    };
    let store = crate::registry::Store::open(&options.data.join("registry"), Default::default())?;
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
        // Straight into the registry too (safe beside a running server: blobs are committed by rename).
        if let Some(result) = crate::base_images::registry::import_base_image(&store, &options.data, image) {
            let done = result?;
            let what = if done.imported { "imported" } else { "already" };
            println!(
                "{}	{what} in the registry as {}",
                image.reference(),
                done.stored_as
            );
        }
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
