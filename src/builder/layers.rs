//! Layers made without a kernel: COPY and ADD (with `--chown`, `--chmod`, `--exclude`, `--parents`, heredoc
//! sources, ADD's local archive extraction and its fetched URLs, `add_url.rs`) and WORKDIR's directory.

use std::collections::BTreeMap;

use super::add_url::{add_remote, remote_keys, RemoteFile};
use super::cache::{checksums_below, PlaceRecord};
use super::rootfs::Rootfs;
use super::steps::expand;
use super::BuildError;
use crate::dockerfile::ignore::Dockerignore;
use crate::dockerfile::instructions::{Command, Instruction};
use crate::dockerfile::syntax::Heredoc;
use crate::layer::copy::{copy_into, source_matches, CopyOptions};
use crate::layer::{ExtractLimits, FileTree, Meta, Node};

/// A COPY or ADD with its words expanded.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub is_add: bool,
    pub line: usize,
    pub sources: Vec<String>,
    pub contents: Vec<Heredoc>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub parents: bool,
    pub exclude: Vec<String>,
    pub unpack: Option<bool>,
    /// `--link`: the layer is made as if onto an empty directory, whatever is below it.
    pub link: bool,
    /// `ADD --checksum`, parsed (`sha256:...`).
    pub checksum: Option<String>,
}

impl CopyPlan {
    pub fn new(command: &Command, escape: char, vars: &BTreeMap<String, String>) -> Result<Self, BuildError> {
        let line = command.line;
        let ex = |w: &str| expand(escape, w, vars, line);
        let opt = |w: &Option<crate::dockerfile::syntax::Word>| -> Result<Option<String>, BuildError> {
            w.as_ref().map(|w| ex(&w.value)).transpose()
        };
        let all = |ws: &[crate::dockerfile::syntax::Word]| -> Result<Vec<String>, BuildError> {
            ws.iter().map(|w| ex(&w.value)).collect()
        };
        let plan = match &command.instruction {
            Instruction::Copy(c) => CopyPlan {
                is_add: false,
                line,
                sources: all(&c.files.sources)?,
                contents: c.files.contents.clone(),
                dest: ex(&c.files.dest.value)?,
                from: opt(&c.from)?,
                chown: opt(&c.chown)?,
                chmod: opt(&c.chmod)?,
                parents: c.parents,
                exclude: all(&c.exclude)?,
                unpack: None,
                link: c.link,
                checksum: None,
            },
            Instruction::Add(a) => {
                let sources = all(&a.files.sources)?;
                super::add_url::refuse_git(&sources, a.keep_git_dir, line)?;
                if a.checksum.is_some() && !sources.iter().any(|s| is_url(s)) {
                    return Err(BuildError::Instruction {
                        line,
                        message: "checksum can't be specified for non-HTTP(S) sources".into(),
                    });
                }
                let checksum = opt(&a.checksum)?
                    .map(|c| super::add_url::parse_checksum(&c, line))
                    .transpose()?;
                CopyPlan {
                    is_add: true,
                    line,
                    sources,
                    contents: a.files.contents.clone(),
                    dest: ex(&a.files.dest.value)?,
                    from: None,
                    chown: opt(&a.chown)?,
                    chmod: opt(&a.chmod)?,
                    parents: false,
                    exclude: all(&a.exclude)?,
                    unpack: a.unpack,
                    link: a.link,
                    checksum,
                }
            }
            _ => unreachable!("a copy plan is made from COPY or ADD"),
        };
        Ok(plan)
    }

    /// `COPY --chown=app app.py /app/ # buildkit`, as BuildKit's `dispatchCopy` writes it.
    pub fn created_by(&self) -> String {
        let mut msg = String::from(if self.is_add { "ADD" } else { "COPY" });
        if self.parents {
            msg.push_str(" --parents");
        }
        if let Some(c) = &self.chown {
            msg.push_str(&format!(" --chown={c}"));
        }
        if let Some(c) = &self.chmod {
            msg.push_str(&format!(" --chmod={c}"));
        }
        for s in &self.sources {
            msg.push_str(&format!(" {s}"));
        }
        for h in &self.contents {
            msg.push_str(&format!(" <<{}", h.name));
        }
        msg.push_str(&format!(" {} # buildkit", self.dest));
        msg
    }
}

fn is_url(s: &str) -> bool {
    super::add_url::is_http(s) || super::add_url::is_git(s)
}

/// `--chmod` as BuildKit accepts it (octal).
fn parse_chmod(text: &str, line: usize) -> Result<u32, BuildError> {
    match u32::from_str_radix(text, 8) {
        Ok(mode) if mode <= 0o7777 => Ok(mode),
        _ => Err(BuildError::Instruction {
            line,
            message: format!(
                "invalid chmod parameter: '{text}'. it should be octal string and between 0 and 07777"
            ),
        }),
    }
}

/// Whether a file's bytes are an archive ADD extracts (tar, plain or compressed).
fn looks_like_archive(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
        || data.starts_with(b"BZh")
        || data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || data.get(257..262) == Some(b"ustar")
}

/// `source` without what `--exclude` patterns match (against the path and the path below each source).
fn without_excluded(source: &FileTree, patterns: &[String], roots: &[String]) -> FileTree {
    if patterns.is_empty() {
        return source.clone();
    }
    let matcher = Dockerignore::parse(&patterns.join("\n"));
    let mut kept = FileTree::new();
    for (path, node) in source.iter() {
        let relative = roots.iter().filter_map(|r| path.strip_prefix(&format!("{r}/")));
        if matcher.is_excluded(path) || relative.into_iter().any(|rel| matcher.is_excluded(rel)) {
            continue;
        }
        let _ = kept.insert(path, node.clone());
    }
    kept
}

/// The layer of a COPY or ADD, and the checksums of the context files it read.
pub fn copy_layer(
    plan: &CopyPlan,
    source: &FileTree,
    remote: &[RemoteFile],
    base: &FileTree,
    workdir: &str,
    owner: Option<(u32, u32)>,
    line: usize,
) -> Result<(FileTree, PlaceRecord), BuildError> {
    let options = CopyOptions {
        chown: owner,
        chmod: plan.chmod.as_deref().map(|c| parse_chmod(c, line)).transpose()?,
    };
    if !plan.is_add && plan.sources.iter().any(|s| is_url(s)) {
        let message = "source can't be a URL for COPY".to_owned();
        return Err(BuildError::Instruction { line, message });
    }
    // ADD's URLs are fetched and placed by `add_url`; the rest come from the context or a stage.
    let locals: Vec<&String> = plan.sources.iter().filter(|s| !is_url(s)).collect();
    let mut matched = Vec::new();
    for src in &locals {
        matched.extend(source_matches(source, src)?);
    }
    let source = without_excluded(source, &plan.exclude, &matched);
    let mut layer = FileTree::new();
    let mut plain: Vec<&str> = Vec::new();
    for src in locals {
        let archive = match (plan.is_add && plan.unpack != Some(false), source.get(src)) {
            (true, Some(Node::File { data, .. })) if looks_like_archive(data) => Some(data.clone()),
            _ => None,
        };
        match archive {
            Some(data) => {
                let dest = super::steps::normalize_workdir(workdir, &plan.dest);
                layer.extract_tar(&data, &dest, &ExtractLimits::default())?;
            }
            None if plan.parents => {
                copy_with_parents(&source, src, plan, workdir, &options, base, &mut layer)?
            }
            None => plain.push(src),
        }
    }
    if !plain.is_empty() {
        copy_into(&source, &plain, &plan.dest, workdir, &options, base, &mut layer)?;
    }
    if !plan.contents.is_empty() {
        let mut docs = FileTree::new();
        let mut names = Vec::new();
        for h in &plan.contents {
            let content = if h.chomp {
                crate::dockerfile::instructions::chomp(&h.content)
            } else {
                h.content.clone()
            };
            docs.insert_file(&h.name, content.into_bytes(), Meta::file())?;
            names.push(h.name.as_str());
        }
        copy_into(&docs, &names, &plan.dest, workdir, &options, base, &mut layer)?;
    }
    let count = plan.sources.len() + plan.contents.len();
    add_remote(&plan.dest, count, remote, base, workdir, &options, &mut layer)?;
    let mut files = if plan.from.is_none() {
        PlaceRecord {
            files: checksums_below(&source, &matched),
            server: None,
        }
    } else {
        PlaceRecord::default()
    };
    files.files.extend(remote_keys(remote));
    Ok((layer, files))
}

/// `COPY --parents a/b/c.txt /dest/` keeps `a/b` below the destination; `/./` in a source marks where the
/// kept part starts.
fn copy_with_parents(
    source: &FileTree,
    src: &str,
    plan: &CopyPlan,
    workdir: &str,
    options: &CopyOptions,
    base: &FileTree,
    layer: &mut FileTree,
) -> Result<(), BuildError> {
    let pivot = src.split_once("/./").map(|(p, _)| p.trim_matches('/').to_owned());
    let pattern = src.replacen("/./", "/", 1);
    let dest_dir = plan.dest.trim_end_matches('/');
    for found in source_matches(source, &pattern)? {
        let kept = match &pivot {
            Some(p) if !p.is_empty() => found.strip_prefix(&format!("{p}/")).unwrap_or(&found).to_owned(),
            _ => found.clone(),
        };
        let is_dir = matches!(source.get(&found), Some(Node::Dir { .. }));
        let target = if is_dir {
            format!("{dest_dir}/{kept}/")
        } else {
            match kept.rfind('/') {
                Some(i) => format!("{dest_dir}/{}/", &kept[..i]),
                None => format!("{dest_dir}/"),
            }
        };
        copy_into(source, &[found.as_str()], &target, workdir, options, base, layer)?;
    }
    Ok(())
}

/// WORKDIR's layer: the directory and its parents (metadata from the image where known, else `0755`, owned by
/// USER as BuildKit's mkdir does); nothing when the image already has the directory.
pub fn workdir_layer(wd: &str, rootfs: &Rootfs, owner: Option<(u32, u32)>) -> Result<FileTree, BuildError> {
    let merged = rootfs.merged();
    let mut layer = FileTree::new();
    let path = wd.trim_start_matches('/');
    if path.is_empty() || (rootfs.complete() && matches!(merged.get(path), Some(Node::Dir { .. }))) {
        return Ok(layer);
    }
    let mut prefix = String::new();
    for part in path.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        let meta = match merged.get(&prefix) {
            Some(Node::Dir { meta }) => *meta,
            _ => {
                let mut meta = Meta::dir();
                if let Some((uid, gid)) = owner {
                    meta.uid = uid;
                    meta.gid = gid;
                }
                meta
            }
        };
        layer.insert_dir(&prefix, meta)?;
    }
    Ok(layer)
}
