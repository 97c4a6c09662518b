//! Hand-made OCI images for tests and demos: a busybox image from the host's static busybox, and a writer for
//! OCI image layouts from in-memory layer tarballs.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// gzip with a fixed header (no name, mtime 0), so equal input gives equal blobs.
pub fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)?;
    enc.finish()
}

/// Write `layers` (uncompressed tarballs, bottom first) as a gzip-layered OCI image layout at `dir`, tagged `tag`.
/// `config` is the image config's `config` object (Env, Cmd, ...). Returns the manifest digest.
pub fn write_layout(
    dir: &Path,
    tag: &str,
    config: serde_json::Value,
    layers: &[Vec<u8>],
) -> io::Result<String> {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs)?;
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let put = |bytes: &[u8]| -> io::Result<(String, usize)> {
        let hex = sha256_hex(bytes);
        fs::write(blobs.join(&hex), bytes)?;
        Ok((format!("sha256:{hex}"), bytes.len()))
    };
    let mut diff_ids = Vec::new();
    let mut descriptors = Vec::new();
    for layer in layers {
        diff_ids.push(format!("sha256:{}", sha256_hex(layer)));
        let (digest, size) = put(&gzip(layer)?)?;
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}));
    }
    let image_config = serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let (config_digest, config_size) = put(&serde_json::to_vec(&image_config)?)?;
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": descriptors,
    });
    let (manifest_digest, manifest_size) = put(&serde_json::to_vec(&manifest)?)?;
    // Merge with an existing index so several tags can share one layout.
    let index_path = dir.join("index.json");
    let mut manifests: Vec<serde_json::Value> = fs::read(&index_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("manifests").cloned())
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    manifests.retain(|m| m["annotations"]["org.opencontainers.image.ref.name"] != tag);
    manifests.push(serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest_size,
        "annotations": {"org.opencontainers.image.ref.name": tag}}));
    let index = serde_json::json!({"schemaVersion": 2, "manifests": manifests});
    fs::write(index_path, serde_json::to_vec_pretty(&index)?)?;
    Ok(manifest_digest)
}

/// A tar builder with fixed metadata helpers (root-owned, mtime 0 unless told).
pub struct TarBuilder {
    inner: tar::Builder<Vec<u8>>,
}

impl Default for TarBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuilder {
    pub fn new() -> Self {
        TarBuilder {
            inner: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h
    }

    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Directory, mode, 0);
        self.inner
            .append_data(&mut h, path, io::empty())
            .expect("tar dir");
        self
    }

    pub fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        self.inner.append_data(&mut h, path, data).expect("tar file");
        self
    }

    pub fn file_owned(&mut self, path: &str, mode: u32, uid: u64, gid: u64, data: &[u8]) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Regular, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        self.inner.append_data(&mut h, path, data).expect("tar file");
        self
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.inner.append_link(&mut h, path, target).expect("tar symlink");
        self
    }

    pub fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        let mut h = Self::header(tar::EntryType::Link, 0o644, 0);
        self.inner
            .append_link(&mut h, path, target)
            .expect("tar hardlink");
        self
    }

    /// An entry with a raw name, bypassing the tar crate's path checks (for hostile-layer tests).
    pub fn raw(&mut self, name: &[u8], kind: tar::EntryType, link: Option<&[u8]>, data: &[u8]) -> &mut Self {
        let mut h = Self::header(kind, 0o644, data.len() as u64);
        {
            let gnu = h.as_gnu_mut().expect("gnu header");
            gnu.name[..name.len()].copy_from_slice(name);
            if let Some(link) = link {
                gnu.linkname[..link.len()].copy_from_slice(link);
            }
        }
        h.set_cksum();
        self.inner.append(&h, data).expect("tar raw");
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.inner.into_inner().expect("tar finish")
    }
}

/// Applets linked in the busybox test image.
pub const BUSYBOX_APPLETS: &[&str] = &[
    "sh", "echo", "cat", "ls", "id", "sleep", "env", "pwd", "head", "tr", "mkdir", "rm", "touch", "hostname",
    "httpd", "true", "false", "yes", "dd", "chmod", "printf", "wc", "test", "grep", "nc", "mount", "unshare",
    "ping", "stat", "whoami", "ln", "mv", "cp", "seq", "kill", "ps", "wget", "dmesg", "umount", "cut",
    "sort", "find", "xargs", "stty", "ip", "tail",
];

/// The busybox root filesystem as one tar: `/bin/busybox` from the host plus applet symlinks, `/etc/passwd` with
/// root, `app` (1000) and nobody, `/etc/group` with `staff` (50) having `app` as a member.
pub fn busybox_rootfs_tar(busybox: &Path) -> io::Result<Vec<u8>> {
    let binary = fs::read(busybox)?;
    let mut t = TarBuilder::new();
    for d in [
        "bin", "etc", "tmp", "root", "home", "home/app", "proc", "sys", "dev", "var", "www", "usr", "usr/bin",
    ] {
        t.dir(d, if d == "tmp" { 0o1777 } else { 0o755 });
    }
    t.file("bin/busybox", 0o755, &binary);
    for applet in BUSYBOX_APPLETS {
        t.symlink(&format!("bin/{applet}"), "busybox");
    }
    t.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    );
    t.file(
        "etc/group",
        0o644,
        b"root:x:0:\nstaff:x:50:app\napp:x:1000:\nnogroup:x:65534:\n",
    );
    t.file("www/index.html", 0o644, b"hello from busybox httpd\n");
    Ok(t.finish())
}

/// A busybox image tagged `tag` in the OCI layout at `dir` (Cmd `sh`, the usual PATH).
pub fn busybox_layout(dir: &Path, tag: &str) -> io::Result<String> {
    let layer = busybox_rootfs_tar(Path::new("/bin/busybox"))?;
    let config = serde_json::json!({
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
    });
    write_layout(dir, tag, config, &[layer])
}
