//! `slipway base-images`: busybox, debian, python and redis images built from Debian packages, without Docker Hub,
//! written as OCI image layouts under `<data>/base-images/<name>/` and reused while they verify.

mod busybox;
mod dates;
mod debootstrap;
pub mod registry;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slipway::image::{
    config_blob, history, layer_descriptor, manifest_blob, new_config, platform, push_empty, push_layer,
    rfc3339, with_ref_name, Descriptor, Digest, Format, ImageError, Reference,
};
use slipway::layer::{LayerError, LayerInfo, LayerOptions};

use crate::image_dirs::dir_diff::{index_layer, write_dir_diff};
use crate::image_dirs::dir_layer::{write_dir, DirLayerError};
use crate::image_dirs::oci_layout::{LayoutError, OciLayout, VerifiedImage};

/// Bumped when a recipe changes: layouts written by another recipe are rebuilt (3: `created` is the packages'
/// date, no longer 1970).
pub const RECIPE: &str = "3";
/// Index annotation holding [`RECIPE`].
pub const RECIPE_ANNOTATION: &str = "dev.slipway.base-images.recipe";
/// containerd's annotation for the full image name, beside the OCI ref name.
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, thiserror::Error)]
pub enum BaseImageError {
    #[error("{what} is missing: {install}")]
    Missing { what: String, install: String },
    #[error("{what} failed:\n{detail}")]
    Tool { what: String, detail: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no Debian mirror in /etc/apt/sources.list*: pass --mirror URL")]
    NoMirror,
    #[error("unknown base image {0:?} (known: busybox, debian, python, redis)")]
    Unknown(String),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    DirLayer(#[from] DirLayerError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Image(#[from] ImageError),
}

/// The images `slipway base-images` provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaseImage {
    Busybox,
    Debian,
    Python,
    Redis,
}

impl BaseImage {
    pub const ALL: [BaseImage; 4] = [
        BaseImage::Busybox,
        BaseImage::Debian,
        BaseImage::Python,
        BaseImage::Redis,
    ];

    /// The layout's directory name under `<data>/base-images/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            BaseImage::Busybox => "busybox",
            BaseImage::Debian => "debian",
            BaseImage::Python => "python",
            BaseImage::Redis => "redis",
        }
    }

    /// The familiar reference, also the layout's `org.opencontainers.image.ref.name`.
    pub fn reference(self) -> &'static str {
        match self {
            BaseImage::Busybox => "busybox:latest",
            BaseImage::Debian => "debian:bookworm-slim",
            BaseImage::Python => "python:3.11-slim",
            BaseImage::Redis => "redis:7-bookworm",
        }
    }

    /// More tags the registry gets for the same image (`redis:7`, `redis:latest`), as Docker Hub's tags alias.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            BaseImage::Redis => &["redis:7", "redis:latest"],
            _ => &[],
        }
    }

    /// Accepts `busybox`, `busybox:latest`, `docker.io/library/busybox:latest`, `redis:7`, ...
    pub fn from_name(name: &str) -> Result<Self, BaseImageError> {
        let wanted = Reference::parse(name).map_err(|_| BaseImageError::Unknown(name.to_owned()))?;
        BaseImage::ALL
            .into_iter()
            .find(|image| {
                std::iter::once(image.reference())
                    .chain(image.aliases().iter().copied())
                    .any(|reference| {
                        let own = Reference::parse(reference).expect("valid built-in reference");
                        own.repository() == wanted.repository()
                            && own.registry() == wanted.registry()
                            && (wanted.tag().is_none() || wanted.tag() == own.tag())
                    })
            })
            .ok_or_else(|| BaseImageError::Unknown(name.to_owned()))
    }
}

/// How to build.
#[derive(Debug, Clone)]
pub struct Options {
    pub data: PathBuf,
    /// Debian mirror for debootstrap; by default the host's apt sources name it.
    pub mirror: Option<String>,
    /// Rebuild even when a valid layout exists.
    pub force: bool,
    pub layer: LayerOptions,
    /// The images' `created` (`SOURCE_DATE_EPOCH` when given); else the date of their Debian packages.
    pub created: Option<u64>,
}

/// What `ensure` did for one image.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub image: BaseImage,
    pub dir: PathBuf,
    pub manifest: Digest,
    /// Compressed size of the layers.
    pub size: u64,
    pub cached: bool,
    pub elapsed: Duration,
}

/// `<data>/base-images/<name>`.
pub fn layout_dir(data: &Path, image: BaseImage) -> PathBuf {
    data.join("base-images").join(image.dir_name())
}

/// The valid layout of `image` written by the current recipe, if there is one.
pub fn cached(data: &Path, image: BaseImage) -> Option<VerifiedImage> {
    let layout = OciLayout::open(&layout_dir(data, image)).ok()?;
    let verified = layout.verify(image.reference()).ok()?;
    let recipe = verified
        .manifest_descriptor
        .annotations()
        .as_ref()?
        .get(RECIPE_ANNOTATION)?;
    (recipe == RECIPE).then_some(verified)
}

/// Builds `image` unless a valid layout is already there; safe to run from several processes at once.
pub fn ensure(image: BaseImage, options: &Options) -> Result<Outcome, BaseImageError> {
    let start = Instant::now();
    let dir = layout_dir(&options.data, image);
    let outcome = |verified: VerifiedImage, cached| Outcome {
        image,
        dir: dir.clone(),
        manifest: verified.manifest_descriptor.digest().clone(),
        size: verified.manifest.layers().iter().map(|l| l.size()).sum(),
        cached,
        elapsed: start.elapsed(),
    };
    if !options.force {
        if let Some(verified) = cached(&options.data, image) {
            return Ok(outcome(verified, true));
        }
    }
    let _lock = BuildLock::acquire(&options.data, image)?;
    if !options.force {
        // Another process may have finished it while we waited for the lock.
        if let Some(verified) = cached(&options.data, image) {
            return Ok(outcome(verified, true));
        }
    }
    let work =
        options
            .data
            .join("base-images/.work")
            .join(format!("{}.{}", image.dir_name(), std::process::id()));
    remove_tree(&work)?;
    fs::create_dir_all(&work).map_err(|e| BaseImageError::Io {
        path: work.clone(),
        source: e,
    })?;
    let result = build(image, options, &work);
    let cleanup = remove_tree(&work);
    result?;
    cleanup?;
    let verified = cached(&options.data, image).ok_or_else(|| BaseImageError::Tool {
        what: format!("verifying {}", dir.display()),
        detail: "the layout just written does not verify".into(),
    })?;
    Ok(outcome(verified, false))
}

fn build(image: BaseImage, options: &Options, work: &Path) -> Result<(), BaseImageError> {
    let staging = work.join("layout");
    let layout = OciLayout::create(&staging)?;
    let built = match image {
        BaseImage::Busybox => build_busybox(&layout, options)?,
        _ => build_debian(image, &layout, options, work)?,
    };
    let created = rfc3339(options.created.unwrap_or(built.packages_date));
    write_image(
        &layout,
        image,
        built.base.as_ref(),
        &built.info,
        &built.spec,
        &created,
    )?;
    let final_dir = layout_dir(&options.data, image);
    remove_tree(&final_dir)?;
    fs::rename(&staging, &final_dir).map_err(|e| BaseImageError::Io {
        path: final_dir.clone(),
        source: e,
    })
}

/// A layer written into the staging layout, what the config says about it, and the image it sits on.
struct Built {
    info: LayerInfo,
    spec: Spec,
    packages_date: u64,
    base: Option<VerifiedImage>,
}

fn build_busybox(layout: &OciLayout, options: &Options) -> Result<Built, BaseImageError> {
    let source = busybox::find()?;
    let tree = busybox::tree(&source)?;
    let info = layout.write_layer(&options.layer, |w| {
        tree.write_layer(w).map_err(BaseImageError::from)
    })?;
    let spec = Spec {
        created_by: format!(
            "slipway base-images: busybox-static {} (/bin/busybox, applet links)",
            source.version
        ),
        env: vec![PATH_ENV.into()],
        cmd: vec!["sh".into()],
        ..Spec::default()
    };
    // The binary's time as its package shipped it (dpkg keeps it from the .deb).
    let packages_date = dates::file_date(&source.binary)?;
    Ok(Built {
        info,
        spec,
        packages_date,
        base: None,
    })
}

/// What a Debian-based image adds to `debootstrap --variant=minbase bookworm`.
fn recipe(image: BaseImage, rootfs: &Path) -> Result<Spec, BaseImageError> {
    Ok(match image {
        BaseImage::Python => {
            debootstrap::python_extras(rootfs)?;
            let mut env = vec![
                "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                "LANG=C.UTF-8".into(),
            ];
            if let Some(v) = debootstrap::package_version(rootfs, "python3.11") {
                env.push(format!("PYTHON_VERSION={v}"));
            }
            Spec {
                env,
                cmd: vec!["python3".into()],
                ..Spec::default()
            }
        }
        BaseImage::Redis => {
            debootstrap::redis_extras(rootfs)?;
            let mut env = vec![PATH_ENV.to_owned()];
            if let Some(v) = debootstrap::package_version(rootfs, "redis-server") {
                env.push(format!("REDIS_VERSION={v}"));
            }
            Spec {
                env,
                cmd: vec!["redis-server".into()],
                volumes: vec!["/data".into()],
                working_dir: Some("/data".into()),
                exposed_ports: vec!["6379/tcp".into()],
                ..Spec::default()
            }
        }
        _ => Spec {
            env: vec![PATH_ENV.to_owned()],
            cmd: vec!["bash".into()],
            ..Spec::default()
        },
    })
}

const PYTHON_PACKAGES: &[&str] = &["python3", "python3-pip", "python3-venv"];
const REDIS_PACKAGES: &[&str] = &["redis-server"];

fn build_debian(
    image: BaseImage,
    layout: &OciLayout,
    options: &Options,
    work: &Path,
) -> Result<Built, BaseImageError> {
    let mirror = match &options.mirror {
        Some(m) => m.clone(),
        None => debootstrap::host_mirror().ok_or(BaseImageError::NoMirror)?,
    };
    let rootfs = work.join("rootfs");
    let cache = options.data.join("base-images/.debs").join(image.dir_name());
    let include = match image {
        BaseImage::Python => PYTHON_PACKAGES,
        BaseImage::Redis => REDIS_PACKAGES,
        _ => &[],
    };
    let log = work.join("debootstrap.log");
    if let Err(e) = debootstrap::debootstrap(&rootfs, include, &mirror, &cache, &log) {
        unmount_below(&rootfs);
        return Err(e);
    }
    debootstrap::clean(&rootfs)?;
    let packages_date = dates::packages_date(&rootfs)?;
    let mut spec = recipe(image, &rootfs)?;
    if image == BaseImage::Debian {
        spec.created_by = "slipway base-images: debootstrap --variant=minbase bookworm (slim)".into();
        let info = layout.write_layer(&options.layer, |w| {
            write_dir(&rootfs, w).map(|_| ()).map_err(BaseImageError::from)
        })?;
        return Ok(Built {
            info,
            spec,
            packages_date,
            base: None,
        });
    }
    spec.created_by = format!(
        "slipway base-images: debootstrap --variant=minbase bookworm --include={}: the difference (slim)",
        include.join(",")
    );
    // python:3.11-slim and redis:7-bookworm are debian:bookworm-slim plus a layer, as the official images are.
    let debian = ensure(
        BaseImage::Debian,
        &Options {
            force: false,
            ..options.clone()
        },
    )?;
    let debian_layout = OciLayout::open(&debian.dir)?;
    let verified = debian_layout.verify(BaseImage::Debian.reference())?;
    let debian_layer = &verified.manifest.layers()[0];
    let blob = debian_layout.blob_path(debian_layer.digest());
    let file = fs::File::open(&blob).map_err(|e| BaseImageError::Io {
        path: blob.clone(),
        source: e,
    })?;
    let index = index_layer(std::io::BufReader::new(file))?;
    let target = layout.blob_path(debian_layer.digest());
    fs::copy(&blob, &target).map_err(|e| BaseImageError::Io {
        path: target,
        source: e,
    })?;
    let info = layout.write_layer(&options.layer, |w| {
        write_dir_diff(&rootfs, &index, w)
            .map(|_| ())
            .map_err(BaseImageError::from)
    })?;
    Ok(Built {
        info,
        spec,
        packages_date,
        base: Some(verified),
    })
}

#[derive(Default)]
struct Spec {
    created_by: String,
    env: Vec<String>,
    cmd: Vec<String>,
    /// `VOLUME`, `WORKDIR` and `EXPOSE` as the official image has them (redis: `/data`, `/data`, `6379/tcp`).
    volumes: Vec<String>,
    working_dir: Option<String>,
    exposed_ports: Vec<String>,
}

fn write_image(
    layout: &OciLayout,
    image: BaseImage,
    base: Option<&VerifiedImage>,
    info: &LayerInfo,
    spec: &Spec,
    created: &str,
) -> Result<Descriptor, BaseImageError> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let (mut config, mut layers) = match base {
        Some(base) => (base.config.clone(), base.manifest.layers().clone()),
        None => (new_config("linux", arch, Some(created.to_owned())), Vec::new()),
    };
    // On a base (python on debian), the base's history keeps its dates and the image gets its own.
    config.set_created(Some(created.to_owned()));
    layers.push(layer_descriptor(info, Format::Oci));
    let mut inner = config.config().clone().unwrap_or_default();
    inner.set_env(Some(spec.env.clone()));
    inner.set_cmd(Some(spec.cmd.clone()));
    if !spec.volumes.is_empty() {
        inner.set_volumes(Some(spec.volumes.clone()));
    }
    if spec.working_dir.is_some() {
        inner.set_working_dir(spec.working_dir.clone());
    }
    if !spec.exposed_ports.is_empty() {
        inner.set_exposed_ports(Some(spec.exposed_ports.clone()));
    }
    config.set_config(Some(inner));
    push_layer(
        &mut config,
        &info.diff_id,
        history(Some(created), &spec.created_by, None, false),
    )?;
    // The metadata steps in the order (and wording) BuildKit records them for the official Dockerfile.
    if !spec.volumes.is_empty() {
        push_empty(
            &mut config,
            Some(created),
            &format!("VOLUME [{}]", spec.volumes.join(" ")),
        );
    }
    if let Some(dir) = &spec.working_dir {
        push_empty(&mut config, Some(created), &format!("WORKDIR {dir}"));
    }
    for port in &spec.exposed_ports {
        let port = port.trim_end_matches("/tcp");
        push_empty(
            &mut config,
            Some(created),
            &format!("EXPOSE map[{port}/tcp:{{}}]"),
        );
    }
    let cmd_json = serde_json::to_string(&spec.cmd).unwrap_or_default();
    push_empty(&mut config, Some(created), &format!("CMD {cmd_json}"));
    let config = config_blob(&config, Format::Oci)?;
    layout.write_blob(&config)?;
    let manifest = manifest_blob(config.descriptor.clone(), layers, Format::Oci)?;
    layout.write_blob(&manifest)?;
    let mut descriptor = with_ref_name(manifest.descriptor.clone(), image.reference());
    let full = Reference::parse(image.reference())
        .expect("valid built-in reference")
        .to_string();
    let mut annotations = descriptor.annotations().clone().unwrap_or_default();
    annotations.insert(CONTAINERD_NAME.into(), full);
    annotations.insert(RECIPE_ANNOTATION.into(), RECIPE.into());
    descriptor.set_annotations(Some(annotations));
    descriptor.set_platform(Some(platform("linux", arch)));
    layout.write_index(vec![descriptor.clone()])?;
    Ok(descriptor)
}

fn remove_tree(path: &Path) -> Result<(), BaseImageError> {
    if path.symlink_metadata().is_err() {
        return Ok(());
    }
    unmount_below(path);
    fs::remove_dir_all(path).map_err(|e| BaseImageError::Io {
        path: path.to_owned(),
        source: e,
    })
}

/// Lazily unmounts anything mounted below `dir` (a failed debootstrap can leave /proc and /sys mounted).
fn unmount_below(dir: &Path) {
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return;
    };
    let Ok(dir) = dir.canonicalize() else { return };
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|p| Path::new(p).starts_with(&dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let _ = std::process::Command::new("umount").arg("-l").arg(point).status();
    }
}

/// One builder per image at a time: a lock directory holding the builder's pid; a dead builder's lock is taken over.
struct BuildLock(PathBuf);

impl BuildLock {
    fn acquire(data: &Path, image: BaseImage) -> Result<Self, BaseImageError> {
        let base = data.join("base-images");
        fs::create_dir_all(&base).map_err(|e| BaseImageError::Io {
            path: base.clone(),
            source: e,
        })?;
        let lock = base.join(format!(".lock-{}", image.dir_name()));
        loop {
            match fs::create_dir(&lock) {
                Ok(()) => {
                    let pid = lock.join("pid");
                    fs::write(&pid, std::process::id().to_string())
                        .map_err(|e| BaseImageError::Io { path: pid, source: e })?;
                    return Ok(BuildLock(lock));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(lock.join("pid"))
                        .ok()
                        .and_then(|p| p.trim().parse::<u32>().ok());
                    let alive = owner.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    let age = fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok());
                    // No pid yet means the owner is between mkdir and write: give it a few seconds.
                    if !alive && (owner.is_some() || age.is_some_and(|a| a > Duration::from_secs(10))) {
                        let _ = fs::remove_dir_all(&lock);
                        continue;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => {
                    return Err(BaseImageError::Io {
                        path: lock,
                        source: e,
                    })
                }
            }
        }
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
