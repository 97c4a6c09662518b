//! Interoperability with real peers from Debian: `skopeo` as a client, and the CNCF distribution server
//! (`docker-registry`) as a second registry to copy to and from.

use std::process::Command;

use super::*;

/// Write a two-layer OCI image layout (gzip tar layers, config, manifest, index) tagged `v1`; returns the
/// manifest's digest.
pub(super) fn write_oci_layout(dir: &Path) -> Result<String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let put = |bytes: &[u8]| -> Result<String> {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), bytes)?;
        Ok(digest)
    };
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (index, size) in [(0u64, 300_000usize), (1, 50_000)] {
        let mut builder = tar::Builder::new(Vec::new());
        let content = noise(size, 100 + index);
        let mut entry = tar::Header::new_gnu();
        entry.set_size(content.len() as u64);
        entry.set_mode(0o644);
        entry.set_cksum();
        builder.append_data(&mut entry, format!("app/file{index}.bin"), &content[..])?;
        let tar = builder.into_inner()?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar)?;
        let gz = gz.finish()?;
        diff_ids.push(sha256(&tar));
        layers.push(serde_json::json!({"mediaType": OCI_LAYER, "digest": put(&gz)?, "size": gz.len()}));
    }
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["python3", "app.py"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    }))?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": put(&config)?, "size": config.len()},
        "layers": layers
    }))?;
    let manifest_digest = put(&manifest)?;
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(manifest_digest)
}

pub(super) fn skopeo(args: &[&str]) -> Result<String> {
    let output = Command::new(require_tool("skopeo", "skopeo"))
        .args(["--insecure-policy"])
        .args(args)
        .output()?;
    if !output.status.success() {
        bail!(
            "skopeo {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The digest of the manifest a registry serves for `reference` (`docker://HOST/REPO:TAG`).
pub(super) fn served_digest(reference: &str) -> Result<String> {
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", reference])?;
    Ok(sha256(raw.as_bytes()))
}

#[tokio::test]
async fn skopeo_copies_an_image_in_and_out_unchanged() -> Result<()> {
    let work = TempDir::new("reg-skopeo");
    let layout = work.path().join("layout");
    let manifest_digest = write_oci_layout(&layout)?;
    let server = Server::start(&work.path().join("data"))?;
    let addr = &server.addr;
    let source = format!("oci:{}:v1", layout.display());
    let target = format!("docker://{addr}/keerthanav123/python-sample-app:v1");
    skopeo(&["copy", "--dest-tls-verify=false", &source, &target])?;
    assert_eq!(served_digest(&target)?, manifest_digest);

    let inspect: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &target])?)?;
    assert_eq!(inspect["Digest"], manifest_digest.as_str());
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
    let tags: serde_json::Value = serde_json::from_str(&skopeo(&[
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{addr}/keerthanav123/python-sample-app"),
    ])?)?;
    assert_eq!(tags["Tags"], serde_json::json!(["v1"]));

    // Back out into a fresh layout: the same manifest, and every blob byte-identical.
    let back = work.path().join("back");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &target,
        &format!("oci:{}:v1", back.display()),
    ])?;
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(back.join("index.json"))?)?;
    assert_eq!(index["manifests"][0]["digest"], manifest_digest.as_str());
    for entry in std::fs::read_dir(layout.join("blobs/sha256"))? {
        let entry = entry?;
        let copied = std::fs::read(back.join("blobs/sha256").join(entry.file_name()))?;
        assert_eq!(copied, std::fs::read(entry.path())?);
    }

    // Converted to Docker schema 2 on the way in, served back with that media type.
    let docker_target = format!("docker://{addr}/learner1/docker-format:v1");
    skopeo(&[
        "copy",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        &source,
        &docker_target,
    ])?;
    let raw: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &docker_target,
    ])?)?;
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    Ok(())
}

pub(crate) use crate::support::distribution::Distribution;

#[tokio::test]
async fn images_travel_between_slipway_and_cncf_distribution() -> Result<()> {
    let work = TempDir::new("reg-distribution");
    let layout = work.path().join("layout");
    let manifest_digest = write_oci_layout(&layout)?;
    let server = Server::start(&work.path().join("data"))?;
    let distribution = Distribution::start(work.path()).await?;
    let ours = format!("docker://{}/learner1/app:v1", server.addr);
    let theirs = format!("docker://{}/learner1/app:v1", distribution.addr);
    let ours_again = format!("docker://{}/learner1/roundtrip:v1", server.addr);
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", layout.display()),
        &ours,
    ])?;
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &ours,
        &theirs,
    ])?;
    assert_eq!(served_digest(&theirs)?, manifest_digest);
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &theirs,
        &ours_again,
    ])?;
    assert_eq!(served_digest(&ours_again)?, manifest_digest);
    Ok(())
}

/// Podman as a client (`podman pull`), with its own throw-away storage (vfs: no mounts) and settings that work on
/// this host (DESIGN.md: cgroupfs manager, file events logger); nothing runs, so no network is touched.
#[tokio::test]
async fn podman_pulls_an_image_pushed_by_skopeo() -> Result<()> {
    let podman = require_tool("podman", "podman");
    let work = TempDir::new("reg-podman");
    let layout = work.path().join("layout");
    let manifest_digest = write_oci_layout(&layout)?;
    let server = Server::start(&work.path().join("data"))?;
    let target = format!("{}/learner1/app:v1", server.addr);
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", layout.display()),
        &format!("docker://{target}"),
    ])?;

    let conf = work.path().join("containers.conf");
    std::fs::write(
        &conf,
        "[engine]\nevents_logger = \"file\"\ncgroup_manager = \"cgroupfs\"\n",
    )?;
    let storage = work.path().join("podman");
    let podman_cmd = |args: &[&str]| -> Result<String> {
        let output = Command::new(&podman)
            .env("CONTAINERS_CONF", &conf)
            .arg("--root")
            .arg(storage.join("root"))
            .arg("--runroot")
            .arg(storage.join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()?;
        if !output.status.success() {
            bail!(
                "podman {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    podman_cmd(&["pull", "--tls-verify=false", &target])?;
    let digest = podman_cmd(&["image", "inspect", "--format", "{{.Digest}}", &target])?;
    assert_eq!(digest.trim(), manifest_digest);
    let cmd = podman_cmd(&["image", "inspect", "--format", "{{.Config.Cmd}}", &target])?;
    assert_eq!(cmd.trim(), "[python3 app.py]");
    Ok(())
}
