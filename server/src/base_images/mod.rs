//! `slipway base-images`: busybox, debian and python images built from Debian packages, without Docker Hub,
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
    #[error("unknown base image {0:?} (known: busybox, debian, python)")]
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
}

impl BaseImage {
    pub const ALL: [BaseImage; 3] = [BaseImage::Busybox, BaseImage::Debian, BaseImage::Python];

    /// The layout's directory name under `<data>/base-images/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            BaseImage::Busybox => "busybox",
            BaseImage::Debian => "debian",
            BaseImage::Python => "python",
        }
    }

    /// The familiar reference, also the layout's `org.opencontainers.image.ref.name`.
    pub fn reference(self) -> &'static str {
        match self {
            BaseImage::Busybox => "busybox:latest",
            BaseImage::Debian => "debian:bookworm-slim",
            BaseImage::Python => "python:3.11-slim",
        }
    }

    /// Accepts `busybox`, `busybox:latest`, `docker.io/library/busybox:latest`, ...
    pub fn from_name(name: &str) -> Result<Self, BaseImageError> {
        let wanted = Reference::parse(name).map_err(|_| BaseImageError::Unknown(name.to_owned()))?;
        BaseImage::ALL
            .into_iter()
            .find(|image| {
                let own = Reference::parse(image.reference()).expect("valid built-in reference");
                own.repository() == wanted.repository()
                    && own.registry() == wanted.registry()
                    && (wanted.tag().is_none() || wanted.tag() == own.tag())
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
    let mut base = None;
    let (info, spec, packages_date) = match image {
        BaseImage::Busybox => {
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
            };
            // The binary's time as its package shipped it (dpkg keeps it from the .deb).
            (info, spec, dates::file_date(&source.binary)?)
        }
        BaseImage::Debian | BaseImage::Python => {
            let mirror = match &options.mirror {
                Some(m) => m.clone(),
                None => debootstrap::host_mirror().ok_or(BaseImageError::NoMirror)?,
            };
            let rootfs = work.join("rootfs");
            let cache = options.data.join("base-images/.debs").join(image.dir_name());
            let include: &[&str] = match image {
                BaseImage::Python => &["python3", "python3-pip", "python3-venv"],
                _ => &[],
            };
            let log = work.join("debootstrap.log");
            let run = debootstrap::debootstrap(&rootfs, include, &mirror, &cache, &log);
            if let Err(e) = run {
                unmount_below(&rootfs);
                return Err(e);
            }
            debootstrap::clean(&rootfs)?;
            let packages_date = dates::packages_date(&rootfs)?;
            let mut env = vec![PATH_ENV.to_owned()];
            let mut what = "debootstrap --variant=minbase bookworm".to_owned();
            if image == BaseImage::Python {
                debootstrap::python_extras(&rootfs)?;
                env = vec![
                    "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                    "LANG=C.UTF-8".into(),
                ];
                if let Some(v) = debootstrap::package_version(&rootfs, "python3.11") {
                    env.push(format!("PYTHON_VERSION={v}"));
                }
                what = format!(
                    "debootstrap --variant=minbase bookworm --include={}: the difference",
                    include.join(",")
                );
            }
            let info = if image == BaseImage::Python {
                // python:3.11-slim is debian:bookworm-slim plus a layer, as the official image is.
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
                base = Some(verified);
                layout.write_layer(&options.layer, |w| {
                    write_dir_diff(&rootfs, &index, w)
                        .map(|_| ())
                        .map_err(BaseImageError::from)
                })?
            } else {
                layout.write_layer(&options.layer, |w| {
                    write_dir(&rootfs, w).map(|_| ()).map_err(BaseImageError::from)
                })?
            };
            let cmd = if image == BaseImage::Python {
                "python3"
            } else {
                "bash"
            };
            let spec = Spec {
                created_by: format!("slipway base-images: {what} (slim)"),
                env,
                cmd: vec![cmd.into()],
            };
            (info, spec, packages_date)
        }
    };
    let created = rfc3339(options.created.unwrap_or(packages_date));
    write_image(&layout, image, base.as_ref(), &info, &spec, &created)?;
    let final_dir = layout_dir(&options.data, image);
    remove_tree(&final_dir)?;
    fs::rename(&staging, &final_dir).map_err(|e| BaseImageError::Io {
        path: final_dir.clone(),
        source: e,
    })
}

struct Spec {
    created_by: String,
    env: Vec<String>,
    cmd: Vec<String>,
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
    config.set_config(Some(inner));
    push_layer(
        &mut config,
        &info.diff_id,
        history(Some(created), &spec.created_by, None, false),
    )?;
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
