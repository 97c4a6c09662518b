//! The filesystem of a stage as far as the builder knows it: the layers below the current step, each with its
//! file tree when the builder has it (layers it made, layers it fetched), merged on demand with OCI whiteouts.
//! Used for COPY's destination rules, `--chown`/`USER` names through `/etc/passwd` and `/etc/group`, and
//! `COPY --from`.

use std::sync::Arc;

use crate::layer::{FileTree, Node};

use super::BuildError;
use crate::image::{Descriptor, Digest};

/// One layer of an image being built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// The manifest's descriptor (digest, size, media type).
    pub descriptor: Descriptor,
    pub diff_id: Digest,
    /// The gzip blob when this build holds it (layers made from the context); `None` for layers that live in a
    /// registry (base images, RUN results).
    pub blob: Option<Arc<[u8]>>,
    /// The registry repository that holds the blob when `blob` is `None`.
    pub repository: Option<String>,
}

/// The layers of a stage, bottom first, with the file trees the builder has.
#[derive(Debug, Clone, Default)]
pub struct Rootfs {
    layers: Vec<(LayerRef, Option<Arc<FileTree>>)>,
}

impl Rootfs {
    pub fn layers(&self) -> impl Iterator<Item = &LayerRef> {
        self.layers.iter().map(|(l, _)| l)
    }

    pub fn push(&mut self, layer: LayerRef, tree: Option<Arc<FileTree>>) {
        self.layers.push((layer, tree));
    }

    /// Replaces the descriptor of layer `index` (a packed layer for its placeholder), keeping its tree;
    /// false when there is no such layer.
    pub fn replace(&mut self, index: usize, layer: LayerRef) -> bool {
        match self.layers.get_mut(index) {
            Some((slot, _)) => {
                *slot = layer;
                true
            }
            None => false,
        }
    }

    /// Whether every layer's contents are known.
    pub fn complete(&self) -> bool {
        self.layers.iter().all(|(_, t)| t.is_some())
    }

    /// Layers whose contents are not known yet.
    pub fn missing(&self) -> Vec<LayerRef> {
        self.layers
            .iter()
            .filter(|(_, t)| t.is_none())
            .map(|(l, _)| l.clone())
            .collect()
    }

    /// Records the contents of a layer fetched later.
    pub fn fill(&mut self, digest: &Digest, tree: Arc<FileTree>) {
        for (layer, slot) in &mut self.layers {
            if layer.descriptor.digest() == digest && slot.is_none() {
                *slot = Some(tree.clone());
            }
        }
    }

    /// The merged filesystem of the known layers; layers not known are skipped (callers check
    /// [`Rootfs::complete`] where that matters).
    pub fn merged(&self) -> FileTree {
        let mut merged = FileTree::new();
        for tree in self.layers.iter().filter_map(|(_, t)| t.as_deref()) {
            apply_layer(&mut merged, tree);
        }
        merged
    }
}

/// Applies one layer onto a merged tree: whiteouts first (`.wh.NAME` deletes, `.wh..wh..opq` empties the
/// directory of what lower layers had), then every other entry replaces what was there.
pub fn apply_layer(merged: &mut FileTree, layer: &FileTree) {
    for (path, _) in layer.iter() {
        let (dir, name) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        if name == ".wh..wh..opq" {
            let below: Vec<String> = merged
                .iter()
                .filter(|(p, _)| dir.is_empty() || p.starts_with(&format!("{dir}/")))
                .map(|(p, _)| p.to_owned())
                .filter(|p| p != dir)
                .collect();
            for p in below {
                let _ = merged.remove(&p);
            }
        } else if let Some(target) = name.strip_prefix(".wh.") {
            let victim = if dir.is_empty() {
                target.to_owned()
            } else {
                format!("{dir}/{target}")
            };
            let _ = merged.remove(&victim);
        }
    }
    for (path, node) in layer.iter() {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.starts_with(".wh.") {
            continue;
        }
        let _ = merged.insert(path, node.clone());
    }
}

/// A user and group as `--chown` and `USER` name them, resolved to numeric ids.
pub fn resolve_owner(spec: &str, fs: Option<&FileTree>) -> Result<(u32, u32), BuildError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let lookup = |file: &str, name: &str| -> Result<Option<(u32, u32)>, BuildError> {
        let Some(fs) = fs else {
            return Err(BuildError::OwnerUnknown {
                spec: spec.to_owned(),
                reason: format!("{file} is in a layer this build has not loaded"),
            });
        };
        let Some(Node::File { data, .. }) = fs.get(file) else {
            return Ok(None);
        };
        Ok(String::from_utf8_lossy(data).lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.first() == Some(&name) && fields.len() > 3 {
                let id = fields[2].parse().ok()?;
                let gid = fields[3].parse().unwrap_or(id);
                Some((id, gid))
            } else {
                None
            }
        }))
    };
    let (uid, primary_gid) = match user.parse::<u32>() {
        Ok(uid) => (uid, uid),
        Err(_) => lookup("etc/passwd", user)?.ok_or_else(|| BuildError::OwnerUnknown {
            spec: spec.to_owned(),
            reason: format!("unable to find user {user}: no matching entries in passwd file"),
        })?,
    };
    let gid = match group {
        None | Some("") => primary_gid,
        Some(g) => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                lookup("etc/group", g)?
                    .ok_or_else(|| BuildError::OwnerUnknown {
                        spec: spec.to_owned(),
                        reason: format!("unable to find group {g}: no matching entries in group file"),
                    })?
                    .0
            }
        },
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Meta;

    #[test]
    fn whiteouts_delete_and_opaque_dirs_empty() {
        let mut lower = FileTree::new();
        lower.insert_file("a/x", b"1".to_vec(), Meta::file()).unwrap();
        lower.insert_file("a/y", b"2".to_vec(), Meta::file()).unwrap();
        lower.insert_file("b/z", b"3".to_vec(), Meta::file()).unwrap();
        let mut upper = FileTree::new();
        upper
            .insert_file("a/.wh..wh..opq", Vec::new(), Meta::file())
            .unwrap();
        upper.insert_file("a/new", b"4".to_vec(), Meta::file()).unwrap();
        upper.insert_file("b/.wh.z", Vec::new(), Meta::file()).unwrap();
        let mut merged = FileTree::new();
        apply_layer(&mut merged, &lower);
        apply_layer(&mut merged, &upper);
        let paths: Vec<&str> = merged.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["a", "a/new", "b"]);
    }

    #[test]
    fn owners_by_id_and_name() {
        let mut fs = FileTree::new();
        fs.insert_file(
            "etc/passwd",
            b"root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n".to_vec(),
            Meta::file(),
        )
        .unwrap();
        fs.insert_file("etc/group", b"root:x:0:\nstaff:x:50:\n".to_vec(), Meta::file())
            .unwrap();
        assert_eq!(resolve_owner("10", None).unwrap(), (10, 10));
        assert_eq!(resolve_owner("10:20", None).unwrap(), (10, 20));
        assert_eq!(resolve_owner("app", Some(&fs)).unwrap(), (1000, 1001));
        assert_eq!(resolve_owner("app:staff", Some(&fs)).unwrap(), (1000, 50));
        let err = resolve_owner("nobody", Some(&fs)).unwrap_err().to_string();
        assert!(err.contains("unable to find user nobody"), "{err}");
        let err = resolve_owner("app", None).unwrap_err().to_string();
        assert!(err.contains("not loaded"), "{err}");
    }
}
