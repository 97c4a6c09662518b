//! When a base image was made, reproducibly: the date of its Debian packages. dpkg keeps each file's time from
//! the `.deb`, and Debian builds packages with `SOURCE_DATE_EPOCH` from their changelog, so the same packages
//! give the same date (and the image the same digest) on every machine, unlike the time of the build.

use std::path::Path;
use std::time::UNIX_EPOCH;

use super::BaseImageError;

/// Seconds since the epoch of a file's modification time.
pub fn file_date(path: &Path) -> Result<u64, BaseImageError> {
    let io = |e| BaseImageError::Io {
        path: path.to_owned(),
        source: e,
    };
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).map_err(io)?;
    Ok(modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

/// The date of the newest package installed in the root filesystem `root`: the latest time among dpkg's
/// `var/lib/dpkg/info/*.md5sums`, which come out of each package's control archive with their time kept
/// (dpkg's own `.list` files are written at install time and are not used).
pub fn packages_date(root: &Path) -> Result<u64, BaseImageError> {
    let info = root.join("var/lib/dpkg/info");
    let entries = std::fs::read_dir(&info).map_err(|e| BaseImageError::Io {
        path: info.clone(),
        source: e,
    })?;
    let mut newest = None;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md5sums") {
            let date = file_date(&path)?;
            newest = Some(newest.map_or(date, |n: u64| n.max(date)));
        }
    }
    newest.ok_or_else(|| BaseImageError::Tool {
        what: format!("dating the packages in {}", root.display()),
        detail: format!("no package's md5sums in {}", info.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, secs: u64) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"").unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(UNIX_EPOCH + std::time::Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn the_newest_package_dates_the_rootfs_and_install_times_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("rootfs");
        let info = root.join("var/lib/dpkg/info");
        touch(&info.join("libc6:amd64.md5sums"), 1_700_000_000);
        touch(&info.join("bash.md5sums"), 1_740_000_000);
        // Written by dpkg when it installed the package: the time of the build, not of the package.
        touch(&info.join("bash.list"), 1_790_000_000);
        assert_eq!(packages_date(&root).unwrap(), 1_740_000_000);
        std::fs::remove_dir_all(&root).unwrap();
        let missing = packages_date(&root).unwrap_err().to_string();
        assert!(missing.contains("var/lib/dpkg/info"), "{missing}");
    }

    #[test]
    fn a_root_without_packages_says_so() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("var/lib/dpkg/info")).unwrap();
        let why = packages_date(root.path()).unwrap_err().to_string();
        assert!(why.contains("no package's md5sums"), "{why}");
    }
}
