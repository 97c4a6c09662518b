//! `slipway import`: OCI layouts (directory or gzipped tarball) and `docker save` archives (made by skopeo)
//! become images the registry serves.

use std::process::Command;

use super::peers::{served_digest, skopeo, write_oci_layout};
use super::*;

pub(super) fn import(data: &Path, source: &Path, reference: &str) -> Result<std::process::Output> {
    Ok(Command::new(slipway_binary())
        .arg("import")
        .arg(source)
        .args(["--as", reference, "--data"])
        .arg(data)
        .output()?)
}

#[tokio::test]
async fn oci_layouts_import_from_directories_and_tarballs() -> Result<()> {
    let work = TempDir::new("reg-import-oci");
    let layout = work.path().join("layout");
    let manifest_digest = write_oci_layout(&layout)?;
    let data = work.path().join("data");
    let output = import(&data, &layout, "busybox:1.36")?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("as library/busybox:1.36"), "{stdout}");

    // The same layout as a gzipped tarball, under another registry's name.
    let tarball = work.path().join("layout.tar.gz");
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(&tarball)?,
        flate2::Compression::fast(),
    ));
    builder.append_dir_all(".", &layout)?;
    builder.into_inner()?.finish()?;
    let output = import(&data, &tarball, "ghcr.io/learner1/tool:v1")?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let server = Server::start(&data)?;
    for name in ["library/busybox:1.36", "ghcr.io/learner1/tool:v1"] {
        assert_eq!(
            served_digest(&format!("docker://{}/{name}", server.addr))?,
            manifest_digest
        );
    }
    // Every blob was copied and verified, so a full copy out succeeds.
    let out = work.path().join("out");
    let source = format!("docker://{}/library/busybox:1.36", server.addr);
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &source,
        &format!("oci:{}:x", out.display()),
    ])?;
    assert_blobs_intact(&data);
    Ok(())
}

#[tokio::test]
async fn docker_save_archives_import_with_layers_as_diff_ids() -> Result<()> {
    let work = TempDir::new("reg-import-docker");
    let layout = work.path().join("layout");
    write_oci_layout(&layout)?;
    let archive = work.path().join("saved.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:v1", layout.display()),
        &format!(
            "docker-archive:{}:keerthanav123/python-sample-app:v1",
            archive.display()
        ),
    ])?;
    let data = work.path().join("data");
    let output = import(&data, &archive, "keerthanav123/python-sample-app:v1")?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let server = Server::start(&data)?;
    let c = client();
    let manifest: serde_json::Value = c
        .get(server.url("/v2/keerthanav123/python-sample-app/manifests/v1"))
        .send()
        .await?
        .json()
        .await?;
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let config: serde_json::Value = c
        .get(server.url(&format!(
            "/v2/keerthanav123/python-sample-app/blobs/{config_digest}"
        )))
        .send()
        .await?
        .json()
        .await?;
    // `docker save` layers are uncompressed tars: their digests are the config's diff_ids.
    let layer_digests: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    let diff_ids: Vec<&str> = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(layer_digests, diff_ids);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    let out = work.path().join("out");
    let source = format!("docker://{}/keerthanav123/python-sample-app:v1", server.addr);
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &source,
        &format!("oci:{}:x", out.display()),
    ])?;
    Ok(())
}

#[test]
fn unknown_inputs_are_refused_with_what_was_expected() -> Result<()> {
    let work = TempDir::new("reg-import-bad");
    std::fs::write(work.path().join("readme.txt"), "not an image")?;
    let output = import(&work.path().join("data"), work.path(), "busybox")?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("neither an OCI image layout"), "{stderr}");
    let output = import(&work.path().join("data"), work.path(), "Busybox")?;
    assert!(String::from_utf8_lossy(&output.stderr).contains("must be lowercase"));
    Ok(())
}
