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

/// Read a file below `root` without following any symlink on the way (the image is untrusted). Missing or
/// symlinked files read as empty.
pub fn read_in_root(root: &Path, rel: &str) -> String {
    let mut path = root.to_path_buf();
    for c in rel.split('/').filter(|c| !c.is_empty()) {
        path.push(c);
        match fs::symlink_metadata(&path) {
            Ok(m) if !m.file_type().is_symlink() => {}
            _ => return String::new(),
        }
    }
    match fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() < 4 << 20 => fs::read_to_string(&path).unwrap_or_default(),
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
}
