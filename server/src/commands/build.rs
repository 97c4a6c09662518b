//! `slipway build`: the browser's image builder on the command line, same core code. With `--oci-layout` it
//! writes an OCI image layout (no companion needed for builds without RUN); with `--host` it resolves FROM
//! through the companion's registry, runs RUN there, and stores the image in the session's local repository.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use slipway::api::SessionTransport;
use slipway::builder::{
    plain_progress, BaseResolver, BuildOptions, BuiltImage, CompanionLink, DirCache, ImageSink, NoCompanion,
    NoRegistry, Platform, RunExecutor, Workshop,
};
use slipway::cli::build::{failure_text, run_repository};
use slipway::image::local_store::session_key;
use slipway::image::{with_ref_name, Blob, Format, Reference};
use slipway::layer::{FileTree, Meta};

use crate::image_dirs::oci_layout::OciLayout;
use crate::registry::upstream::ReqwestTransport;

/// Arguments of `slipway build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Name and optionally a tag, `name:tag` (repeatable).
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// The Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// The stage to build (default: the last one).
    #[arg(long)]
    pub target: Option<String>,
    /// A build arg, `NAME=VALUE` (repeatable).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// A label of the final image, `KEY=VALUE` (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Do not reuse cached steps.
    #[arg(long)]
    pub no_cache: bool,
    /// Target platform, e.g. linux/amd64.
    #[arg(long)]
    pub platform: Option<String>,
    /// Write the image as an OCI image layout into this directory (created; other tags in it stay).
    #[arg(long = "oci-layout", value_name = "DIR")]
    pub oci_layout: Option<PathBuf>,
    /// Where the image goes, as `docker buildx build --output`: `type=docker,dest=FILE` (a `docker load` tar),
    /// `type=oci,dest=FILE` (an OCI layout tar; `tar=false`, or a DEST that is a directory or ends in `/`,
    /// writes the layout as a directory).
    #[arg(short = 'o', long = "output", value_name = "type=TYPE,dest=PATH")]
    pub output: Option<String>,
    /// The Slipway companion (`http://127.0.0.1:8080`): FROM images, RUN steps, the local image store.
    #[arg(long)]
    pub host: Option<String>,
    /// A session the companion issued, sent as `slipway::api::SESSION_HEADER` (its hash names the local
    /// repositories); default: the one `slipway docker` keeps for `--host`, or a new one.
    #[arg(long)]
    pub session: Option<String>,
    /// Docker schema-2 media types instead of OCI.
    #[arg(long)]
    pub docker_format: bool,
    /// Where the build cache lives (default: ~/.cache/slipway/build).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Print only the image ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// The build context directory.
    pub context: PathBuf,
}

/// Reads a directory into a file tree as a build context: modes kept, owners root, times left to the build
/// (reproducible layers), symlinks kept as links, special files skipped.
pub fn read_context(root: &Path) -> anyhow::Result<FileTree> {
    use std::os::unix::fs::PermissionsExt;
    let mut tree = FileTree::new();
    let mut todo = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = todo.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(entry.path())?;
            let mode = meta.permissions().mode() & 0o7777;
            let file_type = meta.file_type();
            if file_type.is_symlink() {
                let target = std::fs::read_link(entry.path())?;
                tree.insert_symlink(&path, &target.to_string_lossy(), Meta::symlink())?;
            } else if file_type.is_dir() {
                tree.insert_dir(&path, Meta::root(mode))?;
                todo.push((entry.path(), path));
            } else if file_type.is_file() {
                tree.insert_file(&path, std::fs::read(entry.path())?, Meta::root(mode))?;
            }
        }
    }
    Ok(tree)
}

/// Writes images into an OCI layout, fetching layers this build does not hold (base images, RUN) from the
/// companion's registry.
struct LayoutSink<'a, R: BaseResolver> {
    layout: OciLayout,
    fetch: &'a R,
}

impl<R: BaseResolver> ImageSink for LayoutSink<'_, R> {
    async fn write(
        &self,
        image: &BuiltImage,
        tags: &[Reference],
    ) -> Result<(), slipway::builder::BuildError> {
        let err =
            |e: crate::image_dirs::oci_layout::LayoutError| slipway::builder::BuildError::Output(Box::new(e));
        for layer in &image.layers {
            let bytes = layer_bytes(layer, self.fetch).await?;
            self.layout
                .write_blob(&Blob {
                    descriptor: layer.descriptor.clone(),
                    bytes,
                })
                .map_err(err)?;
        }
        self.layout.write_blob(&image.config).map_err(err)?;
        self.layout.write_blob(&image.manifest).map_err(err)?;
        // Keep the other tags of the layout; these tags now name this image.
        let names: Vec<String> = tags
            .iter()
            .map(|t| t.tag().unwrap_or("latest").to_owned())
            .collect();
        let mut manifests: Vec<_> = self
            .layout
            .read_index()
            .map(|i| i.manifests().clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|d| slipway::image::ref_name(d).is_none_or(|n| !names.iter().any(|t| t == n)))
            .collect();
        if names.is_empty() {
            manifests.push(image.manifest.descriptor.clone());
        }
        for name in &names {
            manifests.push(with_ref_name(image.manifest.descriptor.clone(), name));
        }
        self.layout.write_index(manifests).map_err(err)
    }
}

/// The bytes of a layer: this build's, or fetched from the registry repository that holds it.
async fn layer_bytes<R: BaseResolver>(
    layer: &slipway::builder::LayerRef,
    fetch: &R,
) -> Result<Vec<u8>, slipway::builder::BuildError> {
    match (&layer.blob, &layer.repository) {
        (Some(b), _) => Ok(b.to_vec()),
        (None, Some(repo)) => fetch.blob(repo, layer.descriptor.digest().as_ref()).await,
        (None, None) => Err(slipway::builder::BuildError::LayerWithoutSource {
            digest: layer.descriptor.digest().to_string(),
        }),
    }
}

/// Writes the image as one tar (`docker save` format, which is also an OCI layout archive) to a file.
struct ArchiveSink<'a, R: BaseResolver> {
    dest: PathBuf,
    fetch: &'a R,
}

impl<R: BaseResolver> ImageSink for ArchiveSink<'_, R> {
    async fn write(
        &self,
        image: &BuiltImage,
        tags: &[Reference],
    ) -> Result<(), slipway::builder::BuildError> {
        let mut bytes = Vec::new();
        for layer in &image.layers {
            bytes.push(layer_bytes(layer, self.fetch).await?);
        }
        let archive = slipway::image::ArchiveImage {
            tags: tags.to_vec(),
            manifest: &image.manifest,
            config: &image.config,
            layers: image
                .layers
                .iter()
                .map(|l| &l.descriptor)
                .zip(bytes.iter().map(Vec::as_slice))
                .collect(),
        };
        let cannot_write = |source| {
            slipway::builder::BuildError::Output(Box::new(WriteError {
                path: self.dest.clone(),
                source,
            }))
        };
        let file = std::fs::File::create(&self.dest).map_err(cannot_write)?;
        let out = slipway::image::write_archive(std::io::BufWriter::new(file), &[archive], 0)?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .map_err(cannot_write)
    }
}

/// The archive file `--output type=docker,dest=FILE` names could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {source}", path.display())]
struct WriteError {
    path: PathBuf,
    source: std::io::Error,
}

/// Where `--output` (or `--oci-layout`) sends the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An OCI image layout directory.
    Layout(PathBuf),
    /// One tar file readable by `docker load` and as an OCI layout archive.
    Archive(PathBuf),
}

/// `type=docker,dest=FILE` / `type=oci,dest=PATH[,tar=false]`, as BuildKit spells them.
pub fn parse_output(spec: &str) -> Result<Output, String> {
    let mut kind = None;
    let mut dest = None;
    let mut tar = true;
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_owned()),
            Some(("dest", v)) => dest = Some(PathBuf::from(v)),
            Some(("tar", v)) => tar = v != "false",
            // Names and annotations are BuildKit exporter options this builder has no use for.
            Some(("name" | "annotation" | "oci-mediatypes" | "compression", _)) => {}
            _ => return Err(format!("invalid --output {spec:?}: unknown part {part:?}")),
        }
    }
    let dest = dest.ok_or_else(|| format!("invalid --output {spec:?}: give dest=PATH"))?;
    match kind.as_deref() {
        Some("docker") => Ok(Output::Archive(dest)),
        Some("oci") if !tar || dest.is_dir() || dest.to_string_lossy().ends_with('/') => {
            Ok(Output::Layout(dest))
        }
        Some("oci") => Ok(Output::Archive(dest)),
        Some(other) => Err(format!(
            "--output type={other} is not supported here: use type=docker or type=oci (or --host URL for the \
             companion's local store)"
        )),
        None => Err(format!("invalid --output {spec:?}: give type=docker or type=oci")),
    }
}

/// Seconds since the Unix epoch now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn default_cache_dir() -> PathBuf {
    let home = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    home.join("slipway/build")
}

/// Runs `slipway build`; returns the exit code (0 built, 1 the build failed, 2 bad input).
/// Where `--output`/`--oci-layout` send the image; Err: the usage error to print (exit code 2).
fn output_of(args: &BuildArgs) -> Result<Option<Output>, String> {
    let output = match (&args.output, &args.oci_layout) {
        (Some(_), Some(_)) => return Err("slipway build: give --output or --oci-layout, not both".into()),
        (Some(spec), None) => Some(parse_output(spec).map_err(|e| format!("slipway build: {e}"))?),
        (None, Some(dir)) => Some(Output::Layout(dir.clone())),
        (None, None) => None,
    };
    if output.is_none() && args.host.is_none() {
        return Err(
            "slipway build: give --output type=docker,dest=FILE, --oci-layout DIR (or --output type=oci,dest=DIR) \
             or --host URL (the companion)"
                .into(),
        );
    }
    Ok(output)
}

/// The builder's options from the command line: the Dockerfile read, tags parsed, `--build-arg`s resolved.
fn build_options(args: &BuildArgs) -> anyhow::Result<BuildOptions> {
    let dockerfile_path = args
        .file
        .clone()
        .unwrap_or_else(|| args.context.join("Dockerfile"));
    let dockerfile = std::fs::read_to_string(&dockerfile_path)
        .map_err(|e| anyhow::anyhow!("failed to read dockerfile {}: {e}", dockerfile_path.display()))?;
    let tags = args
        .tags
        .iter()
        .map(|t| Reference::parse(t).map(Reference::with_default_tag))
        .collect::<Result<Vec<_>, _>>()?;
    let mut build_args = BTreeMap::new();
    for a in &args.build_args {
        // `--build-arg NAME` takes the value from the environment, as docker does.
        let value = match a.split_once('=') {
            Some((k, v)) => Some((k.to_owned(), v.to_owned())),
            None => std::env::var(a).ok().map(|v| (a.clone(), v)),
        };
        build_args.extend(value);
    }
    Ok(BuildOptions {
        dockerfile,
        dockerfile_name: dockerfile_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Dockerfile".into()),
        tags,
        target: args.target.clone(),
        build_args,
        labels: slipway::cli::build::labels(&args.labels),
        no_cache: args.no_cache,
        platform: match &args.platform {
            Some(p) => Platform::parse(p)?,
            None => Platform::default(),
        },
        format: if args.docker_format {
            Format::Docker
        } else {
            Format::Oci
        },
        // SOURCE_DATE_EPOCH pins file times and `created`; without it `created` is now, as BuildKit does.
        epoch: BuildOptions::epoch_from_env(),
        created: BuildOptions::created_at(BuildOptions::source_date_epoch(), unix_now()),
        ..BuildOptions::default()
    })
}

pub fn build(args: &BuildArgs) -> anyhow::Result<i32> {
    let output = match output_of(args) {
        Ok(output) => output,
        Err(usage) => {
            eprintln!("{usage}");
            return Ok(2);
        }
    };
    let context = read_context(&args.context)?;
    let options = build_options(args)?;
    let cache = DirCache::new(args.cache_dir.clone().unwrap_or_else(default_cache_dir));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let http = ReqwestTransport::new(reqwest::Client::new());
    let outcome = runtime.block_on(async {
        match &args.host {
            Some(host) => {
                let host = host.trim_end_matches('/');
                // `--session` as given; else the session kept for `host` (as `slipway docker` keeps it).
                let transport = match &args.session {
                    Some(token) => SessionTransport::new(&http, token.clone(), host),
                    None => super::session_file::SessionFile::beside(None).transport(&http, host),
                };
                let key = session_key(Some(&super::session_file::live_session(&transport, host).await));
                let repository = run_repository(&key, &options.tags);
                let link = CompanionLink::new(transport, host, key.clone(), repository);
                let resolver = link.resolver();
                let executor = link.executor();
                match &output {
                    Some(Output::Layout(dir)) => {
                        let sink = LayoutSink {
                            layout: OciLayout::create(dir)?,
                            fetch: &resolver,
                        };
                        Ok(run(args, &options, &context, &resolver, &executor, &cache, &sink).await)
                    }
                    Some(Output::Archive(file)) => {
                        let sink = ArchiveSink {
                            dest: file.clone(),
                            fetch: &resolver,
                        };
                        Ok(run(args, &options, &context, &resolver, &executor, &cache, &sink).await)
                    }
                    None => Ok(run(
                        args,
                        &options,
                        &context,
                        &resolver,
                        &executor,
                        &cache,
                        &link.sink(),
                    )
                    .await),
                }
            }
            None => match output.as_ref().expect("checked above") {
                Output::Layout(dir) => {
                    let sink = LayoutSink {
                        layout: OciLayout::create(dir)?,
                        fetch: &NoRegistry,
                    };
                    Ok::<_, anyhow::Error>(
                        run(args, &options, &context, &NoRegistry, &NoCompanion, &cache, &sink).await,
                    )
                }
                Output::Archive(file) => {
                    let sink = ArchiveSink {
                        dest: file.clone(),
                        fetch: &NoRegistry,
                    };
                    Ok(run(args, &options, &context, &NoRegistry, &NoCompanion, &cache, &sink).await)
                }
            },
        }
    })?;
    Ok(outcome)
}

async fn run<R: BaseResolver, X: RunExecutor, S: ImageSink>(
    args: &BuildArgs,
    options: &BuildOptions,
    context: &FileTree,
    resolver: &R,
    executor: &X,
    cache: &DirCache,
    sink: &S,
) -> i32 {
    let start = Instant::now();
    let clock = move || start.elapsed().as_millis() as u64;
    let progress = plain_progress(args.quiet, |text: &str| {
        let _ = std::io::stderr().write_all(text.as_bytes());
    });
    let workshop = Workshop {
        cache,
        packer: &slipway::builder::InlinePacker,
        clock: &clock,
    };
    let builder = workshop.builder(resolver, executor, &progress);
    match builder.build(context, options, sink).await {
        Ok(image) => {
            println!("{}", image.id());
            0
        }
        Err(e) => {
            eprint!("{}", failure_text(&e));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_as_buildkit_spells_them() {
        assert_eq!(
            parse_output("type=docker,dest=app.tar"),
            Ok(Output::Archive("app.tar".into()))
        );
        assert_eq!(
            parse_output("type=oci,dest=out,tar=false"),
            Ok(Output::Layout("out".into()))
        );
        assert_eq!(
            parse_output("type=oci,dest=out/"),
            Ok(Output::Layout("out/".into()))
        );
        assert_eq!(
            parse_output("type=oci,dest=app.tar"),
            Ok(Output::Archive("app.tar".into()))
        );
        assert!(parse_output("type=docker").unwrap_err().contains("dest=PATH"));
        assert!(parse_output("type=local,dest=x")
            .unwrap_err()
            .contains("not supported"));
        assert!(parse_output("dest=x,bogus").unwrap_err().contains("unknown part"));
    }
}
