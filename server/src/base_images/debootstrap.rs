//! Debian root filesystems from `debootstrap --variant=minbase`, slimmed as Debian's official images are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::BaseImageError;

/// `dpkg` excludes written into the image, so that later `apt-get install`s stay slim too.
const DPKG_EXCLUDES: &str =
    "# Slim image (as Debian's official images): no docs but copyrights, no man pages, no locales.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
";

/// apt keeps no downloaded packages, as in Docker's Debian images.
const APT_CLEAN: &str = "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };
APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };
Dir::Cache::pkgcache \"\";
Dir::Cache::srcpkgcache \"\";
";

/// The first Debian mirror in the host's apt sources (deb822 `URIs:` or one-line `deb URL`).
pub fn host_mirror() -> Option<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let url = if let Some(rest) = line.strip_prefix("URIs:") {
                rest.split_whitespace().next()
            } else if let Some(rest) = line.strip_prefix("deb ") {
                rest.split_whitespace().find(|w| !w.starts_with('['))
            } else {
                None
            };
            if let Some(url) = url {
                let url = url.trim_end_matches('/');
                if url.ends_with("/debian") {
                    return Some(url.to_owned());
                }
            }
        }
    }
    None
}

/// Runs debootstrap into `target` (which must not exist), logging to `log`; packages are cached in `cache`.
pub fn debootstrap(
    target: &Path,
    include: &[&str],
    mirror: &str,
    cache: &Path,
    log: &Path,
) -> Result<(), BaseImageError> {
    which("debootstrap", "apt-get install debootstrap")?;
    fs::create_dir_all(cache).map_err(|e| BaseImageError::Io {
        path: cache.to_owned(),
        source: e,
    })?;
    let log_file = fs::File::create(log).map_err(|e| BaseImageError::Io {
        path: log.to_owned(),
        source: e,
    })?;
    let mut cmd = Command::new("debootstrap");
    cmd.arg("--variant=minbase")
        .arg(format!("--cache-dir={}", cache.display()));
    if !include.is_empty() {
        cmd.arg(format!("--include={}", include.join(",")));
    }
    cmd.arg("bookworm").arg(target).arg(mirror);
    let err_log = log_file.try_clone().map_err(|e| BaseImageError::Io {
        path: log.to_owned(),
        source: e,
    })?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(err_log)
        .status()
        .map_err(|e| BaseImageError::Tool {
            what: format!("{cmd:?}"),
            detail: e.to_string(),
        })?;
    if !status.success() {
        let text = fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(BaseImageError::Tool {
            what: format!("{cmd:?} ({status})"),
            detail: tail.join("\n"),
        });
    }
    Ok(())
}

fn which(tool: &str, install: &str) -> Result<(), BaseImageError> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(tool).is_file();
    if found {
        Ok(())
    } else {
        Err(BaseImageError::Missing {
            what: tool.into(),
            install: install.into(),
        })
    }
}

fn remove_children(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Result<(), BaseImageError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep(&name) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let res = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        res.map_err(|e| BaseImageError::Io { path, source: e })?;
    }
    Ok(())
}

/// Deletes the files below `dir` and keeps the directories (apt and dpkg expect their log directories).
fn remove_files_below(dir: &Path) -> Result<(), BaseImageError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_files_below(&path)?;
        } else {
            fs::remove_file(&path).map_err(|e| BaseImageError::Io { path, source: e })?;
        }
    }
    Ok(())
}

/// Removes what a container image should not carry: apt lists and caches, logs, host files debootstrap
/// copied in, and (slim) documentation, man pages and locales; installs the dpkg excludes and apt clean hooks.
pub fn clean(root: &Path) -> Result<(), BaseImageError> {
    let p = |rel: &str| root.join(rel);
    let none = |_: &str| false;
    remove_children(&p("var/lib/apt/lists"), &|n| n == "partial" || n == "lock")?;
    remove_children(&p("var/lib/apt/lists/partial"), &none)?;
    remove_children(&p("var/cache/apt"), &|n| n == "archives")?;
    remove_children(&p("var/cache/apt/archives"), &|n| n == "partial" || n == "lock")?;
    remove_children(&p("var/cache/apt/archives/partial"), &none)?;
    remove_children(&p("var/cache/debconf"), &|n| !n.ends_with("-old"))?;
    remove_children(&p("var/lib/dpkg"), &|n| !n.ends_with("-old"))?;
    remove_children(&p("var/cache/ldconfig"), &none)?;
    remove_files_below(&p("var/log"))?;
    remove_children(&p("tmp"), &none)?;
    remove_children(&p("var/tmp"), &none)?;
    remove_children(&p("root"), &|n| n == ".bashrc" || n == ".profile")?;
    for rel in ["etc/resolv.conf", "etc/hostname", "debootstrap"] {
        let path = p(rel);
        if path.is_dir() {
            fs::remove_dir_all(&path).map_err(|e| BaseImageError::Io {
                path: path.clone(),
                source: e,
            })?;
        } else if path.symlink_metadata().is_ok() {
            fs::remove_file(&path).map_err(|e| BaseImageError::Io {
                path: path.clone(),
                source: e,
            })?;
        }
    }
    // The host's /etc/hosts may have been copied in; runtimes mount their own, this is the fallback.
    write(
        &p("etc/hosts"),
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    )?;
    if p("etc/machine-id").is_file() {
        write(&p("etc/machine-id"), "")?;
    }
    // Slim: keep only copyrights under /usr/share/doc; drop man pages, info, locales.
    if let Ok(docs) = fs::read_dir(p("usr/share/doc")) {
        for entry in docs.flatten() {
            let path = entry.path();
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_children(&path, &|n| n == "copyright")?;
            } else {
                fs::remove_file(&path).map_err(|e| BaseImageError::Io {
                    path: path.clone(),
                    source: e,
                })?;
            }
        }
    }
    for rel in [
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "usr/share/groff",
        "usr/share/linda",
        "usr/share/lintian/overrides",
    ] {
        remove_children(&p(rel), &none)?;
    }
    write(&p("etc/dpkg/dpkg.cfg.d/docker"), DPKG_EXCLUDES)?;
    write(&p("etc/apt/apt.conf.d/docker-clean"), APT_CLEAN)?;
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), BaseImageError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| BaseImageError::Io {
            path: dir.to_owned(),
            source: e,
        })?;
    }
    fs::write(path, text).map_err(|e| BaseImageError::Io {
        path: path.to_owned(),
        source: e,
    })
}

/// The upstream version of an installed package (`3.11.2` of `3.11.2-6+deb12u6`), from dpkg's status file.
pub fn package_version(root: &Path, package: &str) -> Option<String> {
    let status = fs::read_to_string(root.join("var/lib/dpkg/status")).ok()?;
    let stanza = status
        .split("\n\n")
        .find(|s| s.lines().any(|l| l == format!("Package: {package}")))?;
    let version = stanza.lines().find_map(|l| l.strip_prefix("Version: "))?;
    let upstream = version.split_once(':').map_or(version, |(_, v)| v);
    Some(upstream.rsplit_once('-').map_or(upstream, |(v, _)| v).to_owned())
}

/// `python` -> `python3` (as `python-is-python3` does) and pip usable without `--break-system-packages`,
/// like the official python image whose interpreter is not Debian-managed.
pub fn python_extras(root: &Path) -> Result<(), BaseImageError> {
    let link = root.join("usr/bin/python");
    if link.symlink_metadata().is_err() {
        std::os::unix::fs::symlink("python3", &link).map_err(|e| BaseImageError::Io {
            path: link,
            source: e,
        })?;
    }
    if let Ok(dirs) = fs::read_dir(root.join("usr/lib")) {
        for dir in dirs.flatten() {
            let marker = dir.path().join("EXTERNALLY-MANAGED");
            if dir.file_name().to_string_lossy().starts_with("python3") && marker.is_file() {
                fs::remove_file(&marker).map_err(|e| BaseImageError::Io {
                    path: marker,
                    source: e,
                })?;
            }
        }
    }
    Ok(())
}

/// `redis-server` as the official image runs it: no protected mode (the image's defaults, so other containers
/// can connect without a password; Docker's network is the boundary), listening on every address (redis's
/// built-in default when no config file is given), and `/data` as the working directory for dumps.
/// `/usr/local/bin/redis-server` (first on `PATH`) passes `--protected-mode no` before the learner's own
/// arguments, so theirs win; a config file as the first argument stays first, as redis requires.
pub fn redis_extras(root: &Path) -> Result<(), BaseImageError> {
    write(&root.join("usr/local/bin/redis-server"), REDIS_WRAPPER)?;
    set_mode(&root.join("usr/local/bin/redis-server"), 0o755)?;
    let data = root.join("data");
    fs::create_dir_all(&data).map_err(|e| BaseImageError::Io {
        path: data.clone(),
        source: e,
    })?;
    set_mode(&data, 0o755)
}

const REDIS_WRAPPER: &str = r#"#!/bin/sh
# slipway base-images: the official redis image turns protected mode off by default; Debian's build does not.
case "$1" in
    ''|-*) exec /usr/bin/redis-server --protected-mode no "$@" ;;
    *) conf="$1"; shift; exec /usr/bin/redis-server "$conf" --protected-mode no "$@" ;;
esac
"#;

fn set_mode(path: &Path, mode: u32) -> Result<(), BaseImageError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| BaseImageError::Io {
        path: path.to_owned(),
        source: e,
    })
}
