//! Overlayfs stacking: unpacked layers as lower dirs (top first), one upper + work dir per container.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

#[derive(Debug, thiserror::Error)]
pub enum OverlayError {
    #[error("overlay path {0:?} contains ':' or ',' or is not absolute")]
    BadPath(PathBuf),
    #[error("overlay mount options too long ({0} bytes, the kernel takes one page): too many layers")]
    TooManyLayers(usize),
    #[error("mounting overlay at {target}: {source}")]
    Mount {
        target: String,
        #[source]
        source: io::Error,
    },
}

fn checked(p: &Path) -> Result<String, OverlayError> {
    let s = p.to_string_lossy();
    if !p.is_absolute() || s.contains(':') || s.contains(',') {
        return Err(OverlayError::BadPath(p.to_path_buf()));
    }
    Ok(s.into_owned())
}

/// The mount data for `lowers` (bottom first, as in the image manifest).
pub fn options(lowers: &[PathBuf], upper: &Path, work: &Path) -> Result<String, OverlayError> {
    let lower: Vec<String> = lowers
        .iter()
        .rev()
        .map(|p| checked(p))
        .collect::<Result<_, _>>()?;
    // redirect_dir/metacopy/index off: the upper dir stays a plain diff (renamed dirs are copied up whole).
    let data = format!(
        "lowerdir={},upperdir={},workdir={},redirect_dir=off,metacopy=off,index=off",
        lower.join(":"),
        checked(upper)?,
        checked(work)?
    );
    if data.len() >= 4096 {
        return Err(OverlayError::TooManyLayers(data.len()));
    }
    Ok(data)
}

/// Mount the overlay at `target`. An image without layers gets an empty lower dir (`empty`).
pub fn mount(
    lowers: &[PathBuf],
    empty: &Path,
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), OverlayError> {
    let fallback = [empty.to_path_buf()];
    let lowers = if lowers.is_empty() { &fallback[..] } else { lowers };
    let data = options(lowers, upper, work)?;
    let data = CString::new(data).map_err(|_| OverlayError::BadPath(upper.to_path_buf()))?;
    rustix::mount::mount("overlay", target, "overlay", MountFlags::empty(), data.as_c_str()).map_err(|e| {
        OverlayError::Mount {
            target: target.display().to_string(),
            source: e.into(),
        }
    })
}

/// Unmount `target` if mounted (lazily if busy). Not-mounted is fine.
pub fn unmount(target: &Path) -> io::Result<()> {
    match rustix::mount::unmount(target, UnmountFlags::empty()) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(rustix::io::Errno::BUSY) => {
            rustix::mount::unmount(target, UnmountFlags::DETACH).map_err(Into::into)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether anything is mounted at or below `dir` (from /proc/self/mountinfo), for leak checks.
pub fn mounts_below(dir: &Path) -> Vec<String> {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m == &dir || m.starts_with(&format!("{dir}/")))
        .collect()
}
