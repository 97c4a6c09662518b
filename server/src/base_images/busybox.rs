//! `busybox:latest` from Debian's busybox-static: the static binary, one symlink per applet, minimal /etc.

use std::process::Command;

use slipway::layer::{FileTree, Meta};

use super::BaseImageError;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
";

const GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
mail:x:8:
wheel:x:10:root
www-data:x:33:
operator:x:37:
staff:x:50:
users:x:100:
nogroup:x:65534:
";

/// The installed busybox-static: its binary path and package version.
pub struct Source {
    pub binary: std::path::PathBuf,
    pub version: String,
}

fn output(cmd: &mut Command) -> Result<String, BaseImageError> {
    let what = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| BaseImageError::Tool {
        what: what.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        let detail = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Err(BaseImageError::Tool { what, detail });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Finds busybox-static through dpkg (the dynamically linked `busybox` package would not run in an image).
pub fn find() -> Result<Source, BaseImageError> {
    let missing = |_| BaseImageError::Missing {
        what: "busybox-static".into(),
        install: "apt-get install busybox-static".into(),
    };
    let version = output(Command::new("dpkg-query").args(["-W", "-f=${Version}", "busybox-static"]))
        .map_err(missing)?;
    let files = output(Command::new("dpkg-query").args(["-L", "busybox-static"])).map_err(missing)?;
    let binary = files
        .lines()
        .find(|l| l.ends_with("bin/busybox"))
        .map(std::path::PathBuf::from)
        .ok_or_else(|| BaseImageError::Missing {
            what: "bin/busybox in busybox-static".into(),
            install: "apt-get install --reinstall busybox-static".into(),
        })?;
    Ok(Source { binary, version })
}

/// The image's file tree.
pub fn tree(source: &Source) -> Result<FileTree, BaseImageError> {
    let bytes = std::fs::read(&source.binary).map_err(|e| BaseImageError::Io {
        path: source.binary.clone(),
        source: e,
    })?;
    let applets = output(Command::new(&source.binary).arg("--list-full"))?;
    let mut t = FileTree::new();
    for dir in [
        "bin",
        "dev",
        "etc",
        "home",
        "proc",
        "sys",
        "usr/bin",
        "usr/sbin",
        "sbin",
        "var/spool/mail",
        "var/www",
    ] {
        t.insert_dir(dir, Meta::dir())?;
    }
    t.insert_dir("root", Meta::root(0o700))?;
    t.insert_dir("tmp", Meta::root(0o1777))?;
    t.insert_file("bin/busybox", bytes, Meta::root(0o755))?;
    for applet in applets.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if applet != "bin/busybox" {
            t.insert_symlink(applet, "/bin/busybox", Meta::symlink())?;
        }
    }
    t.insert_file("etc/passwd", PASSWD.as_bytes().to_vec(), Meta::file())?;
    t.insert_file("etc/group", GROUP.as_bytes().to_vec(), Meta::file())?;
    Ok(t)
}
