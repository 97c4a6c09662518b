//! Reading back what `slipway build --oci-layout` wrote: manifest, config and every layer's file list.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::server::slipway_bin;

/// Runs `slipway build ARGS` in `dir`.
pub fn slipway_build(dir: &Path, args: &[&str]) -> Output {
    Command::new(slipway_bin())
        .arg("build")
        .args(args)
        .current_dir(dir)
        // Reproducible, as BuildKit's reproducible builds are: without it `created` is the build time.
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .expect("run slipway build")
}

/// A blob of the layout by digest.
pub fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.trim_start_matches("sha256:");
    std::fs::read(layout.join("blobs/sha256").join(hex)).expect("blob in layout")
}

/// The manifest descriptor tagged `tag` in the layout's index.
pub fn manifest_digest(layout: &Path, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json")).expect("json");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .map(|m| m["digest"].as_str().expect("digest").to_owned())
        .unwrap_or_else(|| panic!("no manifest tagged {tag}: {index}"))
}

/// `path type mode uid:gid size` (or `-> target`) per entry of a gzip layer.
pub fn layer_listing(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let header = entry.header().clone();
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // Permission bits only: docker's legacy archive code (buildah) adds file-type bits, BuildKit does not.
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let owner = format!("{}:{}", header.uid().unwrap_or(0), header.gid().unwrap_or(0));
        let target = entry
            .link_name()
            .ok()
            .flatten()
            .map(|l| l.display().to_string())
            .unwrap_or_default();
        let line = match header.entry_type() {
            tar::EntryType::Directory => format!("{path} dir {mode:o} {owner}"),
            tar::EntryType::Symlink => format!("{path} symlink {owner} -> {target}"),
            tar::EntryType::Link => format!("{path} hardlink -> {target}"),
            _ => {
                let mut data = Vec::new();
                entry.read_to_end(&mut data).expect("read entry");
                format!("{path} file {mode:o} {owner} {}", data.len())
            }
        };
        out.push(line);
    }
    out
}

/// Manifest, config and layer listings of `tag` as one readable text.
pub fn describe(layout: &Path, tag: &str) -> String {
    let manifest_bytes = blob(layout, &manifest_digest(layout, tag));
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes).expect("manifest json");
    let config: serde_json::Value = serde_json::from_slice(&blob(
        layout,
        manifest["config"]["digest"].as_str().expect("config"),
    ))
    .expect("config");
    let mut out = format!(
        "manifest:\n{}\nconfig:\n{}\n",
        serde_json::to_string_pretty(&manifest).expect("json"),
        serde_json::to_string_pretty(&config).expect("json")
    );
    for (i, layer) in manifest["layers"].as_array().expect("layers").iter().enumerate() {
        out.push_str(&format!("layer {}:\n", i + 1));
        for line in layer_listing(&blob(layout, layer["digest"].as_str().expect("digest"))) {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// Progress text with durations blanked (they vary from run to run).
pub fn stable_progress(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|l| match l.find(" DONE ") {
            Some(i) => format!("{} DONE", &l[..i]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
