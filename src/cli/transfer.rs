//! `docker pull` and `docker push` between a registry and the session's local store, with docker's progress
//! lines; and `docker run`'s "Unable to find image locally" pull before it runs.

use serde_json::Value;

use super::containers;
use super::context::{CommandContext, Printer, RegistryTarget, Stream};
use super::format::human_size_with_precision;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::PlatformInfo;
use crate::builder::Platform;
use crate::image::local_store::ManifestParts;
use crate::image::{Reference, ReferenceError};
use crate::registry::{Client, ClientError, PushOptions, Transport};

/// `sha256:0123456789abcdef...` → `0123456789ab`, how docker names layers in progress lines.
fn short(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    &hex[..hex.len().min(12)]
}

/// The reference, with `Using default tag: latest` shown when the name had neither tag nor digest.
fn reference_of(name: &str, out: &mut Printer, stream: Stream) -> Result<Reference, ReferenceError> {
    let reference = Reference::parse(name)?;
    if reference.tag().is_none() && reference.digest().is_none() {
        out.progress(stream, "Using default tag: latest");
    }
    Ok(reference.with_default_tag())
}

/// Blobs bigger than this move in pieces (`Range` GETs, `PATCH` chunks) when a bar follows them.
const PIECE: usize = 256 * 1024;
/// Downloads with a bar go in pieces of this size: small enough for a moving bar, big enough that a 50 MB layer
/// through the proxy is not hundreds of round trips.
const DOWNLOAD_PIECE: u64 = 1024 * 1024;

/// Upload chunks: about 16 updates of the bar per layer, never below [`PIECE`] nor above 8 MiB.
fn upload_piece(size: usize) -> usize {
    (size / 16).clamp(PIECE, 8 * 1024 * 1024)
}

/// docker's terminal progress (`jsonmessage.JSONProgress.String`, without the time left): a 50-column bar
/// of `=` up to a `>`, then the sizes as `units.HumanSize` spells them.
pub fn progress_bar(current: u64, total: u64) -> String {
    let percent = (current as f64 / total.max(1) as f64 * 100.0) as usize;
    let filled = (percent / 2).min(50);
    let sizes = if current > total {
        format!("{:>8}", human_size_with_precision(current, 4))
    } else {
        format!(
            "{:>8}/{}",
            human_size_with_precision(current, 4),
            human_size_with_precision(total, 4)
        )
    };
    format!("[{}>{}] {sizes}", "=".repeat(filled), " ".repeat(50 - filled))
}

/// Where a copied blob's bytes are reported as they go: `(done, total)` of the download and of the upload.
struct Progress<'f> {
    downloading: Option<&'f mut dyn FnMut(u64, u64)>,
    uploading: Option<&'f mut dyn FnMut(u64, u64)>,
}

impl Progress<'_> {
    fn none() -> Self {
        Progress {
            downloading: None,
            uploading: None,
        }
    }
}

/// Copy a blob between repositories unless the destination has it: mounted on one registry, else sent, in
/// pieces when a side reports its progress. `Ok(true)` when the blob was already there.
async fn transfer_blob<T: Transport>(
    from: (&Client<T>, &str),
    to: (&Client<T>, &str),
    digest: &str,
    same_registry: bool,
    progress: Progress<'_>,
) -> Result<bool, ClientError> {
    let (to_client, to_repo) = to;
    if to_client.blob_exists(to_repo, digest).await?.is_some() {
        return Ok(true);
    }
    let (from_client, from_repo) = from;
    if same_registry && to_client.mount_blob(to_repo, digest, from_repo).await? {
        return Ok(false);
    }
    let data = match progress.downloading {
        Some(report) => {
            from_client
                .pull_blob_in_ranges(from_repo, digest, DOWNLOAD_PIECE, report)
                .await?
        }
        None => from_client.pull_blob(from_repo, digest).await?,
    };
    let (options, report): (PushOptions, &mut dyn FnMut(u64, u64)) = match progress.uploading {
        Some(report) => (
            PushOptions {
                chunk_size: Some(upload_piece(data.len())),
                ..Default::default()
            },
            report,
        ),
        None => (PushOptions::default(), &mut |_, _| {}),
    };
    to_client
        .push_blob(to_repo, digest, &data, &options, report)
        .await?;
    Ok(false)
}

/// From an index, the linux/amd64 image (else the first one listed).
pub fn pick_platform(index: &Value) -> Option<String> {
    index["manifests"].as_array()?;
    Platform::default().choose(index).ok()
}

/// Why a pull failed, in the daemon's words (printed after `Error response from daemon: `).
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Name(#[from] ReferenceError),
    #[error("manifest for {0} not found: manifest unknown: manifest unknown")]
    ManifestUnknown(String),
    #[error("pull access denied for {0}, repository does not exist or may require 'docker login'")]
    Denied(String),
    #[error("{0}: the registry sent a manifest that is not an image")]
    NotAnImage(String),
    /// `--platform` (or the server's platform) is not in the image's index: docker's words.
    #[error(transparent)]
    NoMatchingManifest(#[from] crate::builder::NoMatchingManifest),
    #[error(transparent)]
    Registry(#[from] ClientError),
}

/// Pull `name` into the local store for the server's platform, printing docker's lines on `stream`.
pub async fn pull_image<T: Transport>(
    ctx: &CommandContext<'_, T>,
    name: &str,
    out: &mut Printer<'_>,
    stream: Stream,
) -> Result<(), PullError> {
    pull_image_for(ctx, name, &ctx.host_platform(), out, stream).await
}

/// [`pull_image`] for `platform` (`docker pull --platform`): an index gives its manifest for it.
pub async fn pull_image_for<T: Transport>(
    ctx: &CommandContext<'_, T>,
    name: &str,
    platform: &Platform,
    out: &mut Printer<'_>,
    stream: Stream,
) -> Result<(), PullError> {
    let reference = reference_of(name, out, stream)?;
    let familiar = reference.familiar();
    let target: RegistryTarget = ctx.target(reference.registry());
    let source = ctx.client(&target);
    let repo = reference.repository();
    let denied = || PullError::Denied(reference.familiar_name());
    let mut manifest = match source.pull_manifest(repo, &reference.tag_or_digest()).await {
        Ok(m) => m,
        Err(ClientError::Registry { code, .. }) if code == "MANIFEST_UNKNOWN" => {
            return Err(PullError::ManifestUnknown(familiar))
        }
        Err(ClientError::Registry { .. } | ClientError::Unauthorized(_) | ClientError::Denied(_)) => {
            return Err(denied())
        }
        Err(e) => return Err(e.into()),
    };
    out.progress(
        stream,
        &format!("{}: Pulling from {repo}", reference.tag_or_digest()),
    );
    let shown_digest = manifest.digest.clone();
    if manifest.media_type.contains("index") || manifest.media_type.contains("list") {
        let index: Value = serde_json::from_slice(&manifest.bytes).unwrap_or_default();
        let chosen = platform.choose(&index)?;
        manifest = source.pull_manifest(repo, &chosen).await?;
    }
    let parts =
        ManifestParts::parse(&manifest.bytes).ok_or_else(|| PullError::NotAnImage(familiar.clone()))?;
    let local = ctx.local_client();
    let local_repo = ctx.local_repository(&reference);
    let tag = reference.tag_or_digest();
    if let Ok(existing) = local.pull_manifest(&local_repo, &tag).await {
        if existing.digest == manifest.digest {
            out.progress(stream, &format!("Digest: {shown_digest}"));
            out.progress(stream, &format!("Status: Image is up to date for {familiar}"));
            return Ok(());
        }
    }
    for (digest, _) in &parts.layers {
        let id = short(digest);
        let bars = out.shows_bars();
        let mut downloading = |done: u64, total: u64| {
            let line = format!("{id}: Downloading {}", progress_bar(done, total));
            out.status(stream, id, &line);
        };
        let progress = Progress {
            downloading: bars.then_some(&mut downloading as &mut dyn FnMut(u64, u64)),
            uploading: None,
        };
        let existed = transfer_blob(
            (&source, repo),
            (&local, &local_repo),
            digest,
            target.embedded,
            progress,
        )
        .await?;
        let status = if existed {
            "Already exists"
        } else {
            "Pull complete"
        };
        out.status(stream, id, &format!("{id}: {status}"));
    }
    transfer_blob(
        (&source, repo),
        (&local, &local_repo),
        &parts.config_digest,
        target.embedded,
        Progress::none(),
    )
    .await?;
    local
        .push_manifest(&local_repo, &tag, &manifest.media_type, &manifest.bytes)
        .await?;
    out.progress(stream, &format!("Digest: {shown_digest}"));
    out.progress(stream, &format!("Status: Downloaded newer image for {familiar}"));
    Ok(())
}

/// `docker pull NAME[:TAG|@DIGEST]`.
pub async fn pull<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    if inv.flags.is_set(Flag::QUIET) {
        out = out.quiet();
    }
    // A malformed name is the client's error, printed without the daemon's prefix.
    if let Err(e) = Reference::parse(&inv.args[0]) {
        return out.fail(&e.to_string(), 1);
    }
    let host = ctx.host_platform();
    let platform = match inv
        .flags
        .value(Flag::PLATFORM)
        .map(|p| Platform::parse_on(p, &host))
    {
        None => host,
        Some(Ok(p)) => p,
        // The daemon parses it (`platforms.Parse`) and answers 400.
        Some(Err(e @ crate::builder::BuildError::UnknownPlatform(_))) => {
            return out.fail(&format!("Error response from daemon: {e}"), 1)
        }
        Some(Err(e)) => return out.fail(&e.to_string(), 1),
    };
    match pull_image_for(ctx, &inv.args[0], &platform, &mut out, Stream::Stdout).await {
        Ok(()) => {
            if let Ok(reference) = Reference::parse(&inv.args[0]).map(Reference::with_default_tag) {
                out.line(Stream::Stdout, &reference.to_string());
                let (id, name) = (reference.familiar(), reference.familiar_name());
                super::image_events::record_image(ctx, "pull", &id, &name).await;
            }
            out.done()
        }
        Err(e) => out.fail(&format!("Error response from daemon: {e}"), 1),
    }
}

/// `docker push NAME[:TAG]`: layers top first, each `Layer already exists`, `Mounted from ...` or `Pushed`.
pub async fn push<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    if inv.flags.is_set(Flag::QUIET) {
        out = out.quiet();
    }
    let reference = match reference_of(&inv.args[0], &mut out, Stream::Stdout) {
        Ok(r) => r,
        Err(e) => return out.fail(&e.to_string(), 1),
    };
    out.progress(
        Stream::Stdout,
        &format!("The push refers to repository [{}]", reference.name()),
    );
    let local = ctx.local_client();
    let local_repo = ctx.local_repository(&reference);
    let tag = reference.tag_or_digest();
    let Ok(manifest) = local.pull_manifest(&local_repo, &tag).await else {
        return out.fail(
            &format!(
                "An image does not exist locally with the tag: {}",
                reference.familiar_name()
            ),
            1,
        );
    };
    let Some(parts) = ManifestParts::parse(&manifest.bytes) else {
        return out.fail("the local image has no image manifest", 1);
    };
    let target = ctx.target(reference.registry());
    let remote = ctx.client(&target);
    let repo = reference.repository();
    for (digest, _) in parts.layers.iter().rev() {
        let id = short(digest);
        let status = if remote.blob_exists(repo, digest).await.ok().flatten().is_some() {
            "Layer already exists".to_string()
        } else if target.embedded
            && remote
                .mount_blob(repo, digest, &local_repo)
                .await
                .unwrap_or(false)
        {
            format!("Mounted from {local_repo}")
        } else {
            let bars = out.shows_bars();
            let mut uploading = |done: u64, total: u64| {
                let line = format!("{id}: Pushing {}", progress_bar(done, total));
                out.status(Stream::Stdout, id, &line);
            };
            let progress = Progress {
                downloading: None,
                uploading: bars.then_some(&mut uploading as &mut dyn FnMut(u64, u64)),
            };
            let sent = transfer_blob((&local, &local_repo), (&remote, repo), digest, false, progress);
            match sent.await {
                Ok(_) => "Pushed".to_string(),
                Err(e) => return out.fail(&e.to_string(), 1),
            }
        };
        out.status(Stream::Stdout, id, &format!("{id}: {status}"));
    }
    let config = transfer_blob(
        (&local, &local_repo),
        (&remote, repo),
        &parts.config_digest,
        target.embedded,
        Progress::none(),
    );
    if let Err(e) = config.await {
        return out.fail(&e.to_string(), 1);
    }
    let pushed = remote
        .push_manifest(repo, &tag, &manifest.media_type, &manifest.bytes)
        .await;
    if pushed.is_ok() {
        // distribution's push: `LogImageEvent(FamiliarString(ref), FamiliarName(ref), "push")`.
        let (id, name) = (reference.familiar(), reference.familiar_name());
        super::image_events::record_image(ctx, "push", &id, &name).await;
    }
    match pushed {
        // `--quiet` prints only the name pushed, as docker does.
        Ok(_) if inv.flags.is_set(Flag::QUIET) => {
            out.line(Stream::Stdout, &reference.to_string());
            out.done()
        }
        Ok(digest) => {
            out.line(
                Stream::Stdout,
                &format!("{tag}: digest: {digest} size: {}", manifest.bytes.len()),
            );
            out.done()
        }
        Err(e) => out.fail(&e.to_string(), 1),
    }
}

/// `docker run`'s pull: when the session's local store lacks the image (or, with `--platform`, holds it for
/// another platform: moby's not-found that makes the CLI pull), say so and pull it (progress on stderr, as
/// docker prints it). The pull's error, if it failed.
async fn pull_if_missing<T: Transport>(
    ctx: &CommandContext<'_, T>,
    image: &str,
    platform: Option<&PlatformInfo>,
    out: &mut Printer<'_>,
) -> Option<PullError> {
    let reference = Reference::parse(image).map(Reference::with_default_tag).ok()?;
    let local = ctx.local_client();
    let repository = ctx.local_repository(&reference);
    let present = match local.pull_manifest(&repository, &reference.tag_or_digest()).await {
        Err(_) => false,
        Ok(_) if platform.is_none() => true,
        // An image whose platform cannot be read is left to the runner to judge.
        Ok(manifest) => match local_platform(&local, &repository, &manifest.bytes).await {
            Some(found) => platform.is_some_and(|wanted| wanted.accepts(&found)),
            None => true,
        },
    };
    if present {
        return None;
    }
    out.progress(
        Stream::Stderr,
        &format!("Unable to find image '{}' locally", reference.familiar()),
    );
    let pull_platform = match platform {
        Some(wanted) => Platform::parse(&wanted.to_string()).unwrap_or_default(),
        None => ctx.host_platform(),
    };
    // The name now carries its tag: `docker run` says no "Using default tag".
    pull_image_for(ctx, &reference.to_string(), &pull_platform, out, Stream::Stderr)
        .await
        .err()
}

/// The platform of a local image manifest's config (`None` for an index, or what cannot be read).
async fn local_platform<T: Transport>(
    local: &Client<&T>,
    repository: &str,
    manifest: &[u8],
) -> Option<PlatformInfo> {
    let parts = ManifestParts::parse(manifest)?;
    let config = local.pull_blob(repository, &parts.config_digest).await.ok()?;
    let config: Value = serde_json::from_slice(&config).ok()?;
    Some(PlatformInfo {
        os: config["os"].as_str()?.to_string(),
        architecture: config["architecture"].as_str()?.to_string(),
        variant: config["variant"].as_str().map(str::to_string),
    })
}

/// The pull's output followed by the run's; when the runner did not know the image either, the pull's error is
/// the one that explains.
fn after_pull(
    mut outcome: Outcome,
    ran: Outcome,
    pull_error: Option<PullError>,
    inv: &Invocation,
) -> Outcome {
    match pull_error {
        Some(e) if ran.exit_code == 125 && ran.stderr.starts_with("Unable to find image") => {
            failed_pull(outcome, &e, inv)
        }
        _ => {
            outcome.stdout.push_str(&ran.stdout);
            outcome.stderr.push_str(&ran.stderr);
            outcome.exit_code = ran.exit_code;
            outcome
        }
    }
}

/// The pull's output, then its error as `docker run` reports it (exit 125).
fn failed_pull(mut outcome: Outcome, e: &PullError, inv: &Invocation) -> Outcome {
    outcome.stderr.push_str(&format!(
        "docker: Error response from daemon: {e}\n\nRun 'docker {} --help' for more information\n",
        containers::verb(inv)
    ));
    outcome.exit_code = 125;
    outcome
}

/// What a `docker run`/`create` does before creating: `--platform` read as docker's CLI reads it (a malformed
/// one ends the command), then the pull of a missing image. `Ok` holds the pull's error when the runner may
/// still know the image (its base-image layouts); with `--platform` a failed pull ends the command, as docker's
/// does.
async fn pull_first<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    out: &mut Printer<'_>,
) -> Result<Option<PullError>, Outcome> {
    let platform = match inv.flags.value(Flag::PLATFORM) {
        None => None,
        Some(text) => Some(PlatformInfo::parse(text).ok_or_else(|| {
            Outcome::failure(
                format!(
                    "docker: error parsing specified platform: {text:?}: unknown operating system or architecture: invalid argument\n\nRun 'docker {} --help' for more information\n",
                    containers::verb(inv)
                ),
                125,
            )
        })?),
    };
    match pull_if_missing(ctx, &inv.args[0], platform.as_ref(), out).await {
        Some(e) if platform.is_some() => Err(failed_pull(std::mem::take(&mut out.outcome), &e, inv)),
        pulled => Ok(pulled),
    }
}

/// `--platform linux` (one part) as the daemon's `platforms.Parse` completes it from its own platform: the
/// command goes on with the whole `OS/ARCH` (a part that is neither an OS nor an architecture is left for
/// [`pull_first`] to refuse).
fn whole_platform<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Invocation {
    let mut inv = inv.clone();
    if let Some(text) = inv.flags.value(Flag::PLATFORM).filter(|p| !p.contains('/')) {
        if let Ok(whole) = Platform::parse_on(text, &ctx.host_platform()) {
            inv.flags.set(Flag::PLATFORM, whole.to_string());
        }
    }
    inv
}

/// What `docker run`, `create` and `run -it` do before their request: the image pulled when it is missing, then
/// the mounts resolved (the project's binds packed). Err is the command's whole outcome.
async fn pull_and_mount<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    out: &mut Printer<'_>,
) -> Result<(Option<PullError>, Option<Vec<crate::api::VolumeMount>>), Outcome> {
    let pull_error = pull_first(ctx, inv, out).await?;
    let mounts = super::mounts::resolved_mounts(ctx, inv, out)
        .await
        .map_err(|failed| after_pull(std::mem::take(&mut out.outcome), failed, None, inv))?;
    Ok((pull_error, mounts))
}

/// `docker run`: when the image is not in the local store, say so and pull it first (docker's lines on
/// stderr), then run. A failed pull still tries the run: the runner also knows its base-image layouts.
pub async fn run_pulling_first<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let inv = &whole_platform(ctx, inv);
    let mut out = Printer::new(ctx);
    let (pull_error, mounts) = match pull_and_mount(ctx, inv, &mut out).await {
        Ok(ready) => ready,
        Err(failed) => return failed,
    };
    let ran = containers::run(ctx.transport, ctx.base, (inv, mounts.as_deref()), ctx.foreground).await;
    let mut outcome = after_pull(out.done(), ran, pull_error, inv);
    super::ports::after_detached_run(ctx, inv, &mut outcome).await;
    outcome
}

/// `docker create`: pull like `docker run`, then create the container and print its id.
pub async fn create_pulling_first<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let inv = &whole_platform(ctx, inv);
    let mut out = Printer::new(ctx);
    let (pull_error, mounts) = match pull_and_mount(ctx, inv, &mut out).await {
        Ok(ready) => ready,
        Err(failed) => return failed,
    };
    let created =
        match containers::create_container(ctx.transport, ctx.base, (inv, mounts.as_deref()), None, false)
            .await
        {
            Ok(created) => Outcome {
                stdout: format!("{}\n", created.id),
                stderr: containers::warnings(&created),
                exit_code: 0,
            },
            Err(failed) => failed,
        };
    after_pull(out.done(), created, pull_error, inv)
}

/// `docker run -it`: pull like `docker run`, then create and start the container for the caller to attach to
/// ([`containers::attach_path`]). Ok carries what was printed on the way (empty with a progress sink).
pub async fn start_interactive<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    console_size: Option<[u16; 2]>,
) -> Result<(containers::Created, Outcome), Outcome> {
    let inv = &whole_platform(ctx, inv);
    let mut out = Printer::new(ctx);
    let (pull_error, mounts) = pull_and_mount(ctx, inv, &mut out).await?;
    match containers::create_started(ctx.transport, ctx.base, (inv, mounts.as_deref()), console_size).await {
        Ok(created) => {
            for warning in &created.warnings {
                out.progress(Stream::Stderr, &format!("WARNING: {warning}"));
            }
            Ok((created, out.done()))
        }
        Err(failed) => Err(after_pull(out.done(), failed, pull_error, inv)),
    }
}

#[cfg(test)]
mod tests {
    use super::progress_bar;

    #[test]
    fn the_bar_is_dockers_fifty_columns_and_human_sizes() {
        // `[bar] ` then the current size right-aligned in eight columns (`%8v/%v`).
        assert_eq!(
            progress_bar(1_200_000, 3_400_000),
            format!("[{}>{}]    1.2MB/3.4MB", "=".repeat(17), " ".repeat(33))
        );
        assert_eq!(
            progress_bar(3_400_000, 3_400_000),
            format!("[{}>]    3.4MB/3.4MB", "=".repeat(50))
        );
        assert_eq!(
            progress_bar(0, 512),
            format!("[>{}]       0B/512B", " ".repeat(50))
        );
    }
}
