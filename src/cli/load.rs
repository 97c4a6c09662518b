//! `docker load [-i FILE] [-q]` (docker/cli `cli/command/image/load.go`; moby `image/tarexport/load.go` for
//! the daemon's texts): a `docker save` tar, in docker's legacy layout (`manifest.json`) or the OCI layout of
//! docker 25+ (`index.json`), plain or gzipped, from the project's files (`-i`) or natively stdin, imported into
//! the session's local images. The archive is hostile input: every entry name is checked (no `..`, no absolute
//! escape), sizes and entry counts are bounded, every `blobs/sha256/HEX` must hash to HEX, and every layer is
//! read through (no `..` or oversized entries) and must give the diff id its config says.

use std::collections::BTreeMap;
use std::io::Read;

use oci_spec::image::{Descriptor, MediaType};
use serde_json::Value;

use super::context::{CommandContext, Stream};
use super::cp::local_path;
use super::images::find;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::image::manifest::{manifest_blob, Format};
use crate::image::units::progress_size;
use crate::image::Reference;
use crate::layer::changes::LayerStack;
use crate::layer::path::normalize;
use crate::layer::{sha256, ExtractLimits};
use crate::registry::Transport;

/// The largest archive read (whole, or once un-gzipped): more than a playground image needs.
pub const MAX_ARCHIVE_BYTES: u64 = 1 << 30;
/// The most entries an archive may have (a save of a few images has tens).
pub const MAX_ARCHIVE_ENTRIES: usize = 10_000;

/// Where moby unpacks the archive; its errors name files below it (`open DIR/repositories: ...`).
const IMPORT_DIR: &str = "/var/lib/docker/tmp/docker-import-";

/// One image of an archive, checked: its tags, config bytes and layer blobs (as stored, gzipped or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveImage {
    pub tags: Vec<Reference>,
    pub config: Vec<u8>,
    pub layers: Vec<LayerBlob>,
}

/// A layer blob with what its manifest entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerBlob {
    pub bytes: Vec<u8>,
    pub digest: String,
    pub diff_id: String,
    pub gzipped: bool,
}

impl ArchiveImage {
    /// The image ID: the config's digest.
    pub fn id(&self) -> String {
        sha256(&self.config).to_string()
    }
}

pub async fn load<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let bytes = match input(ctx, inv.flags.value(Flag::INPUT)) {
        Ok(bytes) => bytes,
        Err(message) => return Outcome::failure(format!("{message}\n"), 1),
    };
    let images = match read_archive(&bytes) {
        Ok(images) => images,
        Err(message) => return Outcome::failure(format!("{message}\n"), 1),
    };
    let quiet = inv.flags.is_set(Flag::QUIET);
    let mut out = String::new();
    for image in &images {
        if let Err(message) = import(ctx, image, quiet, &mut out).await {
            return Outcome {
                stdout: out,
                stderr: format!("{message}\n"),
                exit_code: 1,
            };
        }
    }
    Outcome::success(out)
}

/// The archive's bytes: `-i FILE` from the project's files, else stdin (never a terminal, as docker says).
fn input<T: Transport>(ctx: &CommandContext<'_, T>, file: Option<&str>) -> Result<Vec<u8>, String> {
    let Some(files) = ctx.files else {
        return Err(
            "docker load needs the project's files: run it in the page's terminal or with slipway docker"
                .into(),
        );
    };
    let Some(file) = file else {
        if ctx.prompter.is_some() {
            return Err("requested load from stdin, but stdin is empty".into());
        }
        return files.stdin_tar();
    };
    let path = local_path(&files.root(), file)?;
    match files.kind(&path.rel) {
        None => return Err(format!("open {}: no such file or directory", path.shown)),
        Some(true) => return Err(format!("read {}: is a directory", path.shown)),
        Some(false) => {}
    }
    let name = path.rel.rsplit('/').next().unwrap_or_default().to_string();
    let tree = files.read(&path.rel, &name, true)?;
    match tree.get(&name) {
        Some(crate::layer::Node::File { data, .. }) => Ok(data.to_vec()),
        _ => Err(format!("open {}: no such file or directory", path.shown)),
    }
}

/// Put one checked image under each of its tags in the session's local store; docker's lines into `out`.
async fn import<T: Transport>(
    ctx: &CommandContext<'_, T>,
    image: &ArchiveImage,
    quiet: bool,
    out: &mut String,
) -> Result<(), String> {
    let id = image.id();
    if image.tags.is_empty() {
        return Err(format!(
            "Error response from daemon: image {id} has no tag: the session keeps tagged images only (save it \
             by name: docker save NAME:TAG)"
        ));
    }
    let daemon = |e: crate::registry::ClientError| format!("Error response from daemon: {e}");
    let client = ctx.local_client();
    let layers: Vec<Descriptor> = image
        .layers
        .iter()
        .map(|l| {
            let media_type = if l.gzipped {
                MediaType::ImageLayerGzip
            } else {
                MediaType::ImageLayer
            };
            Descriptor::new(media_type, l.bytes.len() as u64, digest_of(&l.digest))
        })
        .collect();
    let config = Descriptor::new(
        Format::Oci.config(),
        image.config.len() as u64,
        sha256(&image.config),
    );
    let manifest = manifest_blob(config, layers, Format::Oci).map_err(|e| e.to_string())?;
    for tag in &image.tags {
        let repository = ctx.local_repository(tag);
        for layer in &image.layers {
            client
                .push_blob(
                    &repository,
                    &layer.digest,
                    &layer.bytes,
                    &Default::default(),
                    &mut |_, _| {},
                )
                .await
                .map_err(daemon)?;
            if let (false, Some(status)) = (quiet, ctx.status) {
                let short: String = layer
                    .diff_id
                    .trim_start_matches("sha256:")
                    .chars()
                    .take(12)
                    .collect();
                let size = progress_size(layer.bytes.len() as u64);
                let bar = super::transfer::progress_bar(1, 1);
                status(
                    Stream::Stdout,
                    &layer.digest,
                    &format!("{short}: Loading layer {bar}  {size}/{size}"),
                );
            }
        }
        client
            .push_blob(
                &repository,
                &id,
                &image.config,
                &Default::default(),
                &mut |_, _| {},
            )
            .await
            .map_err(daemon)?;
        let shown = tag.clone().with_default_tag().familiar();
        if let Ok(old) = find(ctx, &shown).await {
            if old.image.id != id {
                out.push_str(&format!(
                    "The image {shown} already exists, renaming the old one with ID {} to empty string\n",
                    old.image.id
                ));
            }
        }
        client
            .push_manifest(
                &repository,
                &tag.tag_or_digest(),
                manifest.descriptor.media_type().as_ref(),
                &manifest.bytes,
            )
            .await
            .map_err(daemon)?;
        out.push_str(&format!("Loaded image: {shown}\n"));
    }
    // The graph-driver store's `load` (image/tarexport/load.go): the image ID as ID and name; its tags added
    // with no `tag` event.
    super::image_events::record_image(ctx, "load", &id, &id).await;
    Ok(())
}

fn digest_of(text: &str) -> oci_spec::image::Digest {
    text.parse().unwrap_or_else(|_| sha256(b""))
}

/// moby's error for a file the archive lacks.
fn missing(path: &str) -> String {
    format!("open {IMPORT_DIR}0/{path}: no such file or directory")
}

/// The archive's regular files by clean path; a name that climbs out (`..`) or too much of anything is refused.
fn entries(archive: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, String> {
    if let [b'B', b'Z', b'h', ..] | [0xfd, b'7', b'z', b'X', b'Z', 0, ..] | [0x28, 0xb5, 0x2f, 0xfd, ..] =
        archive
    {
        return Err(
            "Error response from daemon: unsupported compression of the archive: use a plain or gzipped tar"
                .into(),
        );
    }
    let reader: Box<dyn Read + '_> = if archive.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(archive).take(MAX_ARCHIVE_BYTES + 1))
    } else {
        Box::new(archive)
    };
    let not_tar = |e: std::io::Error| format!("Error response from daemon: archive/tar: {e}");
    let mut tar = tar::Archive::new(reader);
    let mut files = BTreeMap::new();
    let (mut count, mut total) = (0usize, 0u64);
    for entry in tar.entries().map_err(not_tar)? {
        let mut entry = entry.map_err(not_tar)?;
        count += 1;
        if count > MAX_ARCHIVE_ENTRIES {
            return Err(format!(
                "Error response from daemon: the archive has more than {MAX_ARCHIVE_ENTRIES} entries"
            ));
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = normalize(&raw).map_err(|_| {
            format!("Error response from daemon: invalid archive entry {raw:?}: it climbs out of the archive")
        })?;
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            continue; // folders; links are not followed (a manifest naming one finds no file)
        }
        let size = entry.size();
        total = total.saturating_add(size);
        if total > MAX_ARCHIVE_BYTES {
            return Err(format!(
                "Error response from daemon: the archive holds more than {MAX_ARCHIVE_BYTES} bytes"
            ));
        }
        let mut data = Vec::with_capacity(size.min(1 << 20) as usize);
        entry.read_to_end(&mut data).map_err(not_tar)?;
        files.insert(name, data);
    }
    if count == 0 {
        return Err("Error response from daemon: unexpected EOF".into());
    }
    Ok(files)
}

/// Every image of a `docker save` archive, checked (see the module's comment).
pub fn read_archive(archive: &[u8]) -> Result<Vec<ArchiveImage>, String> {
    let files = entries(archive)?;
    if let Some(manifest) = files.get("manifest.json") {
        return legacy_images(&files, manifest);
    }
    if let Some(index) = files.get("index.json") {
        return oci_images(&files, index);
    }
    Err(missing("repositories"))
}

/// The file at `path`; a `blobs/ALG/HEX` path must hold bytes that hash to HEX.
fn file<'f>(files: &'f BTreeMap<String, Vec<u8>>, path: &str) -> Result<&'f [u8], String> {
    let clean = normalize(path).map_err(|_| format!("invalid path {path:?} in the archive"))?;
    let bytes = files.get(&clean).ok_or_else(|| missing(&clean))?;
    if let Some(hex) = clean.strip_prefix("blobs/sha256/") {
        let actual = sha256(bytes).to_string();
        if actual != format!("sha256:{hex}") {
            return Err(format!(
                "Error response from daemon: digest mismatch for {clean}: the blob's digest is {actual}"
            ));
        }
    }
    Ok(bytes)
}

/// `manifest.json`: `[{"Config": PATH, "RepoTags": [...], "Layers": [PATH...]}]`.
fn legacy_images(files: &BTreeMap<String, Vec<u8>>, manifest: &[u8]) -> Result<Vec<ArchiveImage>, String> {
    let value: Value = serde_json::from_slice(manifest).map_err(|e| e.to_string())?;
    let items = match value {
        Value::Null => return Err("invalid manifest, manifest cannot be null (but can be [])".into()),
        Value::Array(items) => items,
        _ => {
            return Err("json: cannot unmarshal object into Go value of type []tarexport.manifestItem".into())
        }
    };
    let mut images = Vec::new();
    for item in items {
        let config_path = item["Config"].as_str().unwrap_or_default();
        let config = file(files, config_path)?.to_vec();
        let mut tags = Vec::new();
        for tag in item["RepoTags"].as_array().into_iter().flatten() {
            let text = tag.as_str().unwrap_or_default();
            tags.push(tagged(text)?);
        }
        let layer_paths: Vec<&str> = item["Layers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l.as_str().unwrap_or_default())
            .collect();
        let mut blobs = Vec::new();
        for path in layer_paths {
            blobs.push(file(files, path)?.to_vec());
        }
        images.push(checked(tags, config, blobs)?);
    }
    Ok(images)
}

/// A `RepoTags` entry: a name with a tag.
fn tagged(text: &str) -> Result<Reference, String> {
    let reference = Reference::parse(text).map_err(|e| e.to_string())?;
    if reference.tag().is_none() || reference.digest().is_some() {
        return Err(format!("invalid tag {text:?}"));
    }
    Ok(reference)
}

/// `index.json` of an OCI layout: each image manifest it names (an index inside: its first linux image), tagged
/// by `io.containerd.image.name`.
fn oci_images(files: &BTreeMap<String, Vec<u8>>, index: &[u8]) -> Result<Vec<ArchiveImage>, String> {
    let index: Value = serde_json::from_slice(index).map_err(|e| e.to_string())?;
    // Several index entries may name one manifest (one per tag): one image with every tag.
    let mut by_digest: Vec<(String, Vec<Reference>)> = Vec::new();
    for entry in index["manifests"].as_array().into_iter().flatten() {
        let digest = entry["digest"].as_str().unwrap_or_default().to_string();
        let tag = entry["annotations"]["io.containerd.image.name"]
            .as_str()
            .map(tagged)
            .transpose()?;
        match by_digest.iter_mut().find(|(d, _)| *d == digest) {
            Some((_, tags)) => tags.extend(tag),
            None => by_digest.push((digest, tag.into_iter().collect())),
        }
    }
    let mut images = Vec::new();
    for (digest, tags) in by_digest {
        let mut manifest: Value =
            serde_json::from_slice(file(files, &blob_path(&digest))?).map_err(|e| e.to_string())?;
        if let Some(list) = manifest["manifests"].as_array() {
            let chosen = list
                .iter()
                .find(|m| m["platform"]["os"] == "linux")
                .and_then(|m| m["digest"].as_str())
                .ok_or_else(|| format!("Error response from daemon: {digest} names no linux image"))?;
            manifest = serde_json::from_slice(file(files, &blob_path(chosen))?).map_err(|e| e.to_string())?;
        }
        let config = described(files, &manifest["config"])?;
        let mut blobs = Vec::new();
        for layer in manifest["layers"].as_array().into_iter().flatten() {
            blobs.push(described(files, layer)?);
        }
        images.push(checked(tags, config, blobs)?);
    }
    Ok(images)
}

fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// The blob a descriptor names, its size as the descriptor says.
fn described(files: &BTreeMap<String, Vec<u8>>, descriptor: &Value) -> Result<Vec<u8>, String> {
    let digest = descriptor["digest"].as_str().unwrap_or_default();
    if !digest.starts_with("sha256:") {
        return Err(format!(
            "Error response from daemon: unsupported digest {digest:?}"
        ));
    }
    let bytes = file(files, &blob_path(digest))?;
    if descriptor["size"].as_u64() != Some(bytes.len() as u64) {
        return Err(format!(
            "Error response from daemon: {digest}: the blob has {} bytes, its descriptor says {}",
            bytes.len(),
            descriptor["size"]
        ));
    }
    Ok(bytes.to_vec())
}

/// The image once its config is read and every layer gives the diff id the config lists, in order.
fn checked(tags: Vec<Reference>, config: Vec<u8>, blobs: Vec<Vec<u8>>) -> Result<ArchiveImage, String> {
    let parsed: Value = serde_json::from_slice(&config).map_err(|e| e.to_string())?;
    let os = parsed["os"].as_str().unwrap_or("linux");
    if os != "linux" {
        return Err(format!("cannot load {os} image on linux"));
    }
    let diff_ids: Vec<&str> = parsed["rootfs"]["diff_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d.as_str().unwrap_or_default())
        .collect();
    if diff_ids.len() != blobs.len() {
        return Err(format!(
            "invalid manifest, layers length mismatch: expected {}, got {}",
            blobs.len(),
            diff_ids.len()
        ));
    }
    let mut stack = LayerStack::new(ExtractLimits::default());
    let mut layers = Vec::new();
    for (i, (bytes, expected)) in blobs.into_iter().zip(diff_ids).enumerate() {
        let changes = stack
            .apply(&bytes)
            .map_err(|e| format!("Error response from daemon: layer {i}: {e}"))?;
        let actual = changes.diff_id.to_string();
        if actual != expected {
            return Err(format!(
                "invalid diffID for layer {i}: expected {expected:?}, got {actual:?}"
            ));
        }
        layers.push(LayerBlob {
            digest: sha256(&bytes).to_string(),
            diff_id: actual,
            gzipped: bytes.starts_with(&[0x1f, 0x8b]),
            bytes,
        });
    }
    Ok(ArchiveImage { tags, config, layers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::archive::{write_archive, ArchiveImage as Saved};
    use crate::image::manifest::Blob;

    /// A tar of `(name, bytes)` files, names written as given (a hostile archive's `..` included).
    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, bytes) in files {
            let mut header = tar::Header::new_old();
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(bytes);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend_from_slice(&[0; 1024]);
        out
    }

    fn blob(media_type: MediaType, bytes: Vec<u8>) -> Blob {
        Blob {
            descriptor: Descriptor::new(media_type, bytes.len() as u64, sha256(&bytes)),
            bytes,
        }
    }

    /// `docker save busybox:latest` of a one-layer image whose config lists `diff_id`.
    fn saved(layer: &[u8], diff_id: Option<&str>) -> Vec<u8> {
        let diff_id = diff_id.map_or_else(|| sha256(layer).to_string(), str::to_string);
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        });
        let config = blob(MediaType::ImageConfig, serde_json::to_vec(&config).unwrap());
        let layer_d = Descriptor::new(MediaType::ImageLayer, layer.len() as u64, sha256(layer));
        let manifest = manifest_blob(config.descriptor.clone(), vec![layer_d.clone()], Format::Oci).unwrap();
        let image = Saved {
            tags: vec![Reference::parse("busybox").unwrap()],
            manifest: &manifest,
            config: &config,
            layers: vec![(&layer_d, layer)],
        };
        write_archive(Vec::new(), &[image], 0).unwrap()
    }

    /// The archive's entries, `drop` left out and `replace` put in.
    fn rewritten(archive: &[u8], drop: &str, add: &[(&str, &[u8])]) -> Vec<u8> {
        let kept: Vec<(String, Vec<u8>)> = entries(archive)
            .unwrap()
            .into_iter()
            .filter(|(name, _)| name != drop)
            .collect();
        let mut all: Vec<(&str, &[u8])> = kept.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        all.extend_from_slice(add);
        tar_of(&all)
    }

    #[test]
    fn a_saved_archive_loads_from_either_layout_plain_or_gzipped() {
        let layer = tar_of(&[("hello.txt", b"hi\n")]);
        let archive = saved(&layer, None);
        let images = read_archive(&archive).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(
            images[0].tags[0].clone().with_default_tag().familiar(),
            "busybox:latest"
        );
        assert_eq!(images[0].layers[0].bytes, layer);
        assert_eq!(images[0].layers[0].diff_id, sha256(&layer).to_string());
        assert!(!images[0].layers[0].gzipped);

        let oci_only = rewritten(&archive, "manifest.json", &[]);
        assert_eq!(
            read_archive(&oci_only).unwrap(),
            images,
            "index.json alone: the OCI layout"
        );

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &archive).unwrap();
        assert_eq!(read_archive(&gz.finish().unwrap()).unwrap(), images);
    }

    #[test]
    fn a_bad_archive_gets_the_daemons_errors() {
        let not_a_save = tar_of(&[("etc/hostname", b"box\n")]);
        assert_eq!(
            read_archive(&not_a_save).unwrap_err(),
            "open /var/lib/docker/tmp/docker-import-0/repositories: no such file or directory"
        );
        let layer = tar_of(&[("a", b"a")]);
        let wrong = read_archive(&saved(&layer, Some(sha256(b"other").as_ref()))).unwrap_err();
        assert!(
            wrong.starts_with("invalid diffID for layer 0: expected \"sha256:"),
            "{wrong}"
        );
        let null = rewritten(
            &saved(&layer, None),
            "manifest.json",
            &[("manifest.json", b"null")],
        );
        assert_eq!(
            read_archive(&null).unwrap_err(),
            "invalid manifest, manifest cannot be null (but can be [])"
        );
    }

    #[test]
    fn hostile_archives_are_refused_before_anything_is_stored() {
        let layer = tar_of(&[("a", b"a")]);
        let climbing = rewritten(&saved(&layer, None), "", &[("../../etc/passwd", b"x")]);
        let err = read_archive(&climbing).unwrap_err();
        assert!(err.contains("climbs out"), "{err}");

        // A blob whose bytes are not what its name says.
        let archive = saved(&layer, None);
        let path = format!("blobs/{}", sha256(&layer).to_string().replace(':', "/"));
        let swapped = rewritten(&archive, &path, &[(&path, b"not the layer")]);
        let err = read_archive(&swapped).unwrap_err();
        assert!(err.contains("digest mismatch for blobs/sha256/"), "{err}");

        // A layer whose own entries climb out of the container's root.
        let evil = tar_of(&[("../../../root/.ssh/authorized_keys", b"key")]);
        let err = read_archive(&saved(&evil, None)).unwrap_err();
        assert!(err.starts_with("Error response from daemon: layer 0: "), "{err}");

        // A manifest that names a file outside the archive.
        let outside = rewritten(
            &archive,
            "manifest.json",
            &[(
                "manifest.json",
                br#"[{"Config":"../../etc/passwd","RepoTags":[],"Layers":[]}]"#,
            )],
        );
        assert!(read_archive(&outside).unwrap_err().contains("invalid path"));
    }
}
