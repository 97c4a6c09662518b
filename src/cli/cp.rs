//! `docker cp` between a container and the project's files (the page's file tree; natively the working
//! directory), as docker 28's client does it (docker/cli `cli/command/container/cp.go` with moby's
//! `archive.CopyTo`, `PrepareArchiveCopy` and `CopyInfoDestinationPath`): the companion hands over or takes a
//! tar of one path ([`crate::api::ArchiveQuery`]), and the client decides names and places. Local paths never
//! leave the project; the companion resolves container paths inside the container.

use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
pub use super::project_files::ProjectFiles;
use super::spec::Flag;
use crate::api::{ArchiveQuery, Companion, ExtractQuery, MAX_COPY_BYTES};
use crate::image::units::human_size;
use crate::layer::{ExtractLimits, FileTree, Node};
use crate::registry::Transport;

/// A local path as typed, resolved in the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath {
    /// Relative to the project's root, clean.
    pub rel: String,
    /// As docker shows it: absolute, with the trailing `/` or `/.` typed.
    pub shown: String,
    /// Typed ending with `/` or `/.` (docker's `assertsDirectory`).
    pub asserts_dir: bool,
    /// Typed ending with `/.`: a folder's contents rather than the folder.
    pub contents: bool,
}

/// `typed` inside the project at `root`: absolute paths must be under it, and `..` may not climb out.
pub fn local_path(root: &str, typed: &str) -> Result<LocalPath, String> {
    let root = root.trim_end_matches('/');
    let below = if typed.starts_with('/') {
        match typed.strip_prefix(root) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_string(),
            _ => return Err(outside(typed)),
        }
    } else {
        format!("/{typed}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in below.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(outside(typed));
                }
            }
            other => parts.push(other),
        }
    }
    let rel = parts.join("/");
    let contents = typed.ends_with("/.") || typed == ".";
    let asserts_dir = contents || typed.ends_with('/');
    let mut shown = if rel.is_empty() {
        root.to_string()
    } else {
        format!("{root}/{rel}")
    };
    if contents {
        shown.push_str("/.");
    } else if asserts_dir {
        shown.push('/');
    }
    Ok(LocalPath {
        rel,
        shown,
        asserts_dir,
        contents,
    })
}

fn outside(typed: &str) -> String {
    format!("{typed}: the path leaves the project (docker cp copies within the project's files here)")
}

/// docker's `splitCpArg`: `CONTAINER:PATH`, or a local path (absolute, `./x:y`, or without `:`).
pub fn split_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((container, path)) if !container.starts_with('.') => (Some(container), path),
        _ => (None, arg),
    }
}

/// The last part of a path (`SplitPathDirEntry`'s base), `/` for the root.
fn base_name(path: &str) -> &str {
    path.trim_end_matches("/.")
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty() && *b != ".")
        .unwrap_or("/")
}

fn parent_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// `tree` with its top entry `from` renamed `to` (`""`: its contents land where it would have been),
/// moby's `RebaseArchiveEntries`.
pub fn rebase(tree: &FileTree, from: &str, to: &str) -> Result<FileTree, String> {
    let mut out = FileTree::new();
    for (path, node) in tree.iter() {
        let rest = if path == from {
            ""
        } else if let Some(rest) = path.strip_prefix(from).and_then(|r| r.strip_prefix('/')) {
            rest
        } else {
            continue;
        };
        let new = match (to.is_empty(), rest.is_empty()) {
            (true, true) => continue,
            (true, false) => rest.to_string(),
            (false, true) => to.to_string(),
            (false, false) => format!("{to}/{rest}"),
        };
        let node = match node {
            Node::HardLink { target } => {
                let target = rebase_path(target, from, to);
                out.insert_hardlink(&new, &target).map_err(|e| e.to_string())?;
                continue;
            }
            other => other.clone(),
        };
        out.insert(&new, node).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn rebase_path(path: &str, from: &str, to: &str) -> String {
    match path.strip_prefix(from) {
        Some(rest) if to.is_empty() => rest.trim_start_matches('/').to_string(),
        Some(rest) => format!("{to}{rest}"),
        None => path.to_string(),
    }
}

/// Where a copy lands: the folder to extract into and the entries, renamed as moby's `PrepareArchiveCopy`
/// decides from what the source is and what the destination is (`exists`: `Some(is_dir)`).
pub fn prepare(
    tree: &FileTree,
    src_base: &str,
    src_is_dir: bool,
    src_contents: bool,
    dst: &str,
    dst_asserts_dir: bool,
    exists: Option<bool>,
) -> Result<(String, FileTree), String> {
    let (dst_dir, dst_base) = (parent_of(dst).to_string(), base_name(dst).to_string());
    match exists {
        Some(true) if src_contents => Ok((dst.to_string(), rebase(tree, src_base, "")?)),
        Some(true) => Ok((dst.to_string(), tree.clone())),
        Some(false) if src_is_dir => Err("cannot copy directory".into()),
        None if !src_is_dir && dst_asserts_dir => Err("no such directory".into()),
        _ => Ok((dst_dir, rebase(tree, src_base, &dst_base)?)),
    }
}

/// `docker cp [-a] [-L] [-q] SRC DST`.
pub async fn cp<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let (source, destination) = (inv.args[0].as_str(), inv.args[1].as_str());
    if source.is_empty() {
        return fail("source can not be empty");
    }
    if destination.is_empty() {
        return fail("destination can not be empty");
    }
    let Some(files) = ctx.files else {
        return fail(
            "docker cp needs the project's files: run it in the page's terminal or with slipway docker",
        );
    };
    let copy = Copy {
        companion: Companion::new(ctx.transport, ctx.base),
        files,
        follow: inv.flags.is_set(Flag::FOLLOW_LINK),
        keep_ids: inv.flags.is_set(Flag::ARCHIVE),
        // docker prints its progress and summary only on a terminal (`-q` or a pipe: nothing).
        report: !inv.flags.is_set(Flag::QUIET) && ctx.status.is_some(),
        now: ctx.now,
    };
    let done = match (split_arg(source), split_arg(destination)) {
        ((Some(_), _), (Some(_), _)) => Err("copying between containers is not supported".to_string()),
        ((None, _), (None, _)) => Err("must specify at least one container source".to_string()),
        ((Some(container), path), (None, local)) => copy.out_of_container(container, path, local).await,
        ((None, local), (Some(container), path)) => copy.to_container(local, container, path).await,
    };
    match done {
        Ok(summary) => Outcome {
            stderr: summary,
            ..Outcome::default()
        },
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> Outcome {
    Outcome::failure(format!("{message}\n"), 1)
}

struct Copy<'c, T> {
    companion: Companion<'c, T>,
    files: &'c dyn ProjectFiles,
    follow: bool,
    keep_ids: bool,
    report: bool,
    now: u64,
}

impl<T: Transport> Copy<'_, T> {
    fn summary(&self, bytes: usize, to: &str) -> String {
        match self.report {
            true => format!("Successfully copied {} to {to}\n", human_size(bytes as u64)),
            false => String::new(),
        }
    }

    async fn out_of_container(&self, container: &str, path: &str, local: &str) -> Result<String, String> {
        let query = ArchiveQuery {
            path: path.to_string(),
            follow: self.follow,
        };
        let tar = self
            .companion
            .archive(container, &query)
            .await
            .map_err(|e| e.to_string())?;
        if local == "-" {
            self.files.stdout_tar(&tar)?;
            return Ok(String::new());
        }
        let dst = local_path(&self.files.root(), local)?;
        let mut tree = FileTree::new();
        let limits = ExtractLimits {
            max_bytes: MAX_COPY_BYTES,
            ..ExtractLimits::default()
        };
        tree.extract_tar(&tar, "", &limits).map_err(|e| e.to_string())?;
        let src_base = base_name(path);
        let src_is_dir = matches!(tree.get(src_base), Some(Node::Dir { .. }));
        let exists = self.files.kind(&dst.rel);
        if exists.is_none() {
            // moby's CopyInfoDestinationPath: the parent must be there, and a folder.
            match self.files.kind(parent_of(&dst.rel)) {
                Some(true) => {}
                Some(false) => return Err("not a directory".into()),
                None => {
                    let parent = local_path(&self.files.root(), parent_of(&dst.rel))?;
                    return Err(format!("stat {}: no such file or directory", parent.shown));
                }
            }
        }
        let contents = path.ends_with("/.") || path == ".";
        let (dir, tree) = prepare(
            &tree,
            src_base,
            src_is_dir,
            contents,
            &dst.rel,
            dst.asserts_dir,
            exists,
        )?;
        self.files.write(&dir, &tree)?;
        Ok(self.summary(tar.len(), &dst.shown))
    }

    async fn to_container(&self, local: &str, container: &str, path: &str) -> Result<String, String> {
        let stat_query = ArchiveQuery {
            path: path.to_string(),
            follow: true,
        };
        // As docker: a destination that cannot be stat'ed is taken as missing (the extraction says more).
        let stat = self.companion.stat_path(container, &stat_query).await.ok();
        let asserts_dir = path.ends_with('/') || path.ends_with("/.");
        if local == "-" {
            if !stat.as_ref().is_some_and(|s| s.dir) {
                return Err(format!("destination \"{container}:{path}\" must be a directory"));
            }
            let tar = self.files.stdin_tar()?;
            self.extract(container, path, tar).await?;
            return Ok(String::new());
        }
        let src = local_path(&self.files.root(), local)?;
        let Some(src_is_dir) = self.files.kind(&src.rel) else {
            return Err(format!(
                "lstat {}: no such file or directory",
                src.shown.trim_end_matches("/.").trim_end_matches('/')
            ));
        };
        let src_base = base_name(&src.shown).to_string();
        let tree = self.files.read(&src.rel, &src_base, self.follow)?;
        let exists = stat.as_ref().map(|s| s.dir);
        let dst_clean = format!("/{}", path.trim_start_matches('/'));
        let (dir, tree) = prepare(
            &tree,
            &src_base,
            src_is_dir,
            src.contents,
            &dst_clean,
            asserts_dir,
            exists,
        )?;
        let tar = tree.to_tar(self.now).map_err(|e| e.to_string())?;
        let size = tar.len();
        self.extract(container, if dir.is_empty() { "/" } else { &dir }, tar)
            .await?;
        Ok(self.summary(size, &format!("{container}:{path}")))
    }

    async fn extract(&self, container: &str, dir: &str, tar: Vec<u8>) -> Result<(), String> {
        let query = ExtractQuery {
            path: dir.to_string(),
            keep_ids: self.keep_ids,
        };
        self.companion
            .extract(container, &query, tar)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Meta;

    fn tree(entries: &[(&str, Option<&str>)]) -> FileTree {
        let mut t = FileTree::new();
        for (path, data) in entries {
            match data {
                Some(d) => t.insert_file(path, d.as_bytes().to_vec(), Meta::file()).unwrap(),
                None => t.insert_dir(path, Meta::dir()).unwrap(),
            }
        }
        t
    }

    fn paths(t: &FileTree) -> Vec<String> {
        t.iter().map(|(p, _)| p.to_string()).collect()
    }

    #[test]
    fn arguments_split_as_dockers_split_cp_arg() {
        assert_eq!(split_arg("web:/etc/hostname"), (Some("web"), "/etc/hostname"));
        assert_eq!(split_arg("./file:name.txt"), (None, "./file:name.txt"));
        assert_eq!(split_arg("/abs:x"), (None, "/abs:x"));
        assert_eq!(split_arg("app.py"), (None, "app.py"));
        assert_eq!(split_arg("-"), (None, "-"));
    }

    #[test]
    fn local_paths_stay_in_the_project() {
        let p = local_path("/project", "./x").unwrap();
        assert_eq!(
            (p.rel.as_str(), p.shown.as_str(), p.asserts_dir),
            ("x", "/project/x", false)
        );
        let p = local_path("/project", "app/").unwrap();
        assert_eq!(
            (p.rel.as_str(), p.shown.as_str(), p.asserts_dir),
            ("app", "/project/app/", true)
        );
        let p = local_path("/project", ".").unwrap();
        assert_eq!(
            (p.rel.as_str(), p.shown.as_str(), p.contents),
            ("", "/project/.", true)
        );
        assert_eq!(local_path("/project", "/project/a/../b").unwrap().rel, "b");
        assert!(local_path("/project", "../x").is_err());
        assert!(local_path("/project", "/etc/passwd").is_err());
        assert!(local_path("/project", "/projectx/y").is_err());
    }

    #[test]
    fn copies_land_where_dockers_prepare_archive_copy_puts_them() {
        let file = tree(&[("hostname", Some("web\n"))]);
        // A missing destination: the file takes its name.
        let (dir, t) = prepare(&file, "hostname", false, false, "x", false, None).unwrap();
        assert_eq!((dir.as_str(), paths(&t)), ("", vec!["x".to_string()]));
        // An existing folder: the file goes in under its own name.
        let (dir, t) = prepare(&file, "hostname", false, false, "out", false, Some(true)).unwrap();
        assert_eq!((dir.as_str(), paths(&t)), ("out", vec!["hostname".to_string()]));
        // A missing folder asserted with `/`: docker's ErrDirNotExists.
        assert_eq!(
            prepare(&file, "hostname", false, false, "new", true, None).unwrap_err(),
            "no such directory"
        );
        let dir_tree = tree(&[("app", None), ("app/main.py", Some("print(1)"))]);
        assert_eq!(
            prepare(&dir_tree, "app", true, false, "file", false, Some(false)).unwrap_err(),
            "cannot copy directory"
        );
        let (dir, t) = prepare(&dir_tree, "app", true, false, "src/copy", false, None).unwrap();
        assert_eq!(
            (dir.as_str(), paths(&t)),
            ("src", vec!["copy".to_string(), "copy/main.py".to_string()])
        );
        let (dir, t) = prepare(&dir_tree, "app", true, true, "dst", false, Some(true)).unwrap();
        assert_eq!((dir.as_str(), paths(&t)), ("dst", vec!["main.py".to_string()]));
    }
}
