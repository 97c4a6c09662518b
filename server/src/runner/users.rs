//! `USER` / `--user` resolution through the image's own `/etc/passwd` and `/etc/group`, as Docker does it.

use std::fs;
use std::path::Path;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoSuchUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoSuchGroup(String),
}

/// The numeric identity a process runs as, plus its home for `HOME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// The largest `/etc/passwd` or `/etc/group` read from an image.
const MAX_USER_FILE: u64 = 4 << 20;

/// Read a file below `root` without following any symlink and without leaving `root` (the image, and a running
/// container that may rewrite its files at any moment, are untrusted). One `openat2` with `RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS` opens it, so no check can be raced by a swap between checking and reading; the open file
/// is then checked (a regular file, under 4 MiB) and read through that descriptor. Missing, symlinked or odd files
/// read as empty.
pub fn read_in_root(root: &Path, rel: &str) -> String {
    use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
    use std::io::Read;
    let Ok(dir) = fs::File::open(root) else {
        return String::new();
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let Ok(fd) = openat2(&dir, rel.trim_start_matches('/'), flags, Mode::empty(), resolve) else {
        return String::new();
    };
    let file = fs::File::from(fd);
    match file.metadata() {
        Ok(m) if m.is_file() && m.len() < MAX_USER_FILE => {
            let mut text = String::new();
            let _ = file.take(MAX_USER_FILE).read_to_string(&mut text);
            text
        }
        _ => String::new(),
    }
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 7 {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// (name, gid, members) per line of /etc/group.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 {
            return None;
        }
        let members = f[3].split(',').filter(|m| !m.is_empty()).collect();
        Some((f[0], f[2].parse().ok()?, members))
    })
}

/// Resolve `spec` (`""`, `name`, `uid`, `name:group`, `uid:gid`, ...) against passwd/group file contents.
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<ResolvedUser, UserError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let found = passwd_entries(passwd).find(|e| match user_part.parse::<u32>() {
        Ok(uid) => e.uid == uid,
        Err(_) => e.name == user_part,
    });
    let (uid, mut gid, name, home) = match (found, user_part.parse::<u32>()) {
        (Some(e), _) => (e.uid, e.gid, Some(e.name.to_string()), e.home.to_string()),
        (None, Ok(uid)) => (uid, 0, None, "/".to_string()),
        (None, Err(_)) => return Err(UserError::NoSuchUser(user_part.to_string())),
    };
    let mut additional_gids = Vec::new();
    match group_part {
        Some(g) if !g.is_empty() => {
            gid = match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => group_entries(group)
                    .find(|(n, _, _)| *n == g)
                    .map(|(_, gid, _)| gid)
                    .ok_or_else(|| UserError::NoSuchGroup(g.to_string()))?,
            };
        }
        _ => {
            // Supplementary groups only when the group was not given explicitly, as Docker does.
            if let Some(name) = &name {
                for (_, g, members) in group_entries(group) {
                    if members.contains(&name.as_str()) && g != gid && !additional_gids.contains(&g) {
                        additional_gids.push(g);
                    }
                }
            }
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

/// Resolve `spec` using the files of the root filesystem at `root`.
pub fn resolve_in_root(spec: &str, root: &Path) -> Result<ResolvedUser, UserError> {
    resolve(
        spec,
        &read_in_root(root, "etc/passwd"),
        &read_in_root(root, "etc/group"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nstaff:x:50:app,other\napp:x:1000:\n";

    #[test]
    fn names_and_numbers_resolve_like_docker() {
        let root = resolve("", PASSWD, GROUP).unwrap();
        assert_eq!((root.uid, root.gid, root.home.as_str()), (0, 0, "/root"));
        let app = resolve("app", PASSWD, GROUP).unwrap();
        assert_eq!(
            (app.uid, app.gid, app.additional_gids.clone()),
            (1000, 1000, vec![50])
        );
        assert_eq!(app.home, "/home/app");
        assert_eq!(resolve("1000", PASSWD, GROUP).unwrap(), app);
        let unknown = resolve("4242", PASSWD, GROUP).unwrap();
        assert_eq!((unknown.uid, unknown.gid, unknown.home.as_str()), (4242, 0, "/"));
        let explicit = resolve("app:staff", PASSWD, GROUP).unwrap();
        assert_eq!((explicit.uid, explicit.gid), (1000, 50));
        assert!(explicit.additional_gids.is_empty());
        assert_eq!(resolve("1:2", PASSWD, GROUP).unwrap().gid, 2);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(
            resolve("ghost", PASSWD, GROUP),
            Err(UserError::NoSuchUser("ghost".into()))
        );
        assert_eq!(
            resolve("app:ghosts", PASSWD, GROUP),
            Err(UserError::NoSuchGroup("ghosts".into()))
        );
    }

    #[test]
    fn symlinked_passwd_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("etc/passwd")).unwrap();
        assert_eq!(read_in_root(dir.path(), "etc/passwd"), "");
        assert!(matches!(
            resolve_in_root("root", dir.path()),
            Err(UserError::NoSuchUser(_))
        ));
    }

    /// What a container can do to its own `/etc` while `docker exec -u` reads it: a symlinked directory on the
    /// way, a path out of the root, a FIFO (a plain open would hang the server's thread). None of it is read.
    #[test]
    fn a_hostile_etc_is_read_as_empty_and_a_plain_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc")).unwrap();
        assert_eq!(read_in_root(dir.path(), "etc/passwd"), "");
        assert_eq!(read_in_root(dir.path(), "../../../../etc/passwd"), "");

        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("etc/group"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert_eq!(read_in_root(dir.path(), "etc/group"), "");
        fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
        assert_eq!(read_in_root(dir.path(), "/etc/passwd"), PASSWD);
        assert_eq!(resolve_in_root("app", dir.path()).unwrap().uid, 1000);
    }
}
