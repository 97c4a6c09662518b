//! `slipway base-images` through the real binary: OCI layouts that skopeo reads and copies, cached on rerun.
//!
//! busybox always runs (about a second). debian and python run debootstrap against the Debian mirror (about a
//! minute each, more on a loaded machine): they are `#[ignore]`d; run them with `cargo test -- --ignored`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::support::server::slipway_bin;
use crate::support::TempDir;

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("spawning {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

fn base_images(data: &Path, image: &str) -> Result<(String, f64)> {
    let start = Instant::now();
    let out = run(Command::new(slipway_bin())
        .arg("base-images")
        .arg("--data")
        .arg(data)
        .arg(image))?;
    Ok((out, start.elapsed().as_secs_f64()))
}

fn skopeo_json(args: &[&str]) -> Result<Value> {
    Ok(serde_json::from_str(&run(Command::new("skopeo").args(args))?)?)
}

fn sha256_file(path: &Path) -> Result<String> {
    let out = run(Command::new("sha256sum").arg(path))?;
    Ok(format!(
        "sha256:{}",
        out.split_whitespace().next().unwrap_or_default()
    ))
}

/// Checks one built layout with skopeo: inspect, config fields, and a copy to `dir:` with the same digests.
fn check_with_skopeo(
    data: &Path,
    name: &str,
    reference: &str,
    cmd: &[&str],
    layers: usize,
    work: &Path,
) -> Result<Value> {
    let oci = format!(
        "oci:{}:{reference}",
        data.join("base-images").join(name).display()
    );
    let inspect = skopeo_json(&["inspect", &oci])?;
    ensure!(
        inspect["Architecture"] == "amd64" && inspect["Os"] == "linux",
        "{inspect}"
    );
    let env = inspect["Env"].as_array().context("Env")?;
    ensure!(
        env.iter()
            .any(|e| e.as_str().is_some_and(|e| e.starts_with("PATH=/usr/local/"))),
        "{inspect}"
    );
    let config = skopeo_json(&["inspect", "--config", &oci])?;
    ensure!(config["config"]["Cmd"] == serde_json::json!(cmd), "Cmd: {config}");
    let history = config["history"].as_array().context("history")?;
    ensure!(
        history.len() == 2 * layers && history[2 * layers - 1]["empty_layer"] == true,
        "history: {config}"
    );
    ensure!(
        config["rootfs"]["diff_ids"].as_array().map(Vec::len) == Some(layers),
        "{config}"
    );

    let copy = work.join(format!("{name}-copy"));
    run(Command::new("skopeo").args([
        "copy",
        "-q",
        "--insecure-policy",
        &oci,
        &format!("dir:{}", copy.display()),
    ]))?;
    ensure!(
        sha256_file(&copy.join("manifest.json"))? == inspect["Digest"].as_str().unwrap_or_default(),
        "skopeo rewrote the manifest"
    );
    for layer in inspect["Layers"].as_array().context("Layers")? {
        let digest = layer.as_str().context("layer digest")?;
        let file = copy.join(digest.trim_start_matches("sha256:"));
        ensure!(sha256_file(&file)? == digest, "copied layer {digest} differs");
    }
    Ok(inspect)
}

#[test]
fn busybox_layout_is_read_and_copied_by_skopeo() -> Result<()> {
    let data = TempDir::new("base-images");
    let (first, secs) = base_images(data.path(), "busybox")?;
    eprintln!("busybox built in {secs:.2}s: {first}");
    ensure!(
        first.starts_with("busybox:latest\tsha256:") && first.contains("built"),
        "{first}"
    );

    let inspect = check_with_skopeo(data.path(), "busybox", "busybox:latest", &["sh"], 1, data.path())?;
    let manifest = inspect["Digest"].as_str().unwrap_or_default().to_owned();
    ensure!(first.contains(&manifest));
    // Made when its package was: the time busybox-static shipped /bin/busybox with, not 1970.
    let shipped = crate::support::server::busybox_package_time()?;
    ensure!(
        inspect["Created"] == slipway::image::rfc3339(shipped).as_str() && shipped > 86_400 * 365,
        "Created {} for a package shipped at {shipped}",
        inspect["Created"]
    );

    // The layer: a static busybox and absolute applet links, /tmp sticky, /root private.
    let layer = inspect["Layers"][0]
        .as_str()
        .context("layer")?
        .trim_start_matches("sha256:")
        .to_owned();
    let blob = data.path().join("base-images/busybox/blobs/sha256").join(layer);
    let listing = run(Command::new("tar").arg("--numeric-owner").arg("-tvzf").arg(&blob))?;
    for want in [
        "bin/sh -> /bin/busybox",
        "drwxrwxrwt 0/0",
        "drwx------ 0/0",
        "-rwxr-xr-x 0/0",
        "etc/passwd",
    ] {
        ensure!(listing.contains(want), "{want:?} missing from\n{listing}");
    }

    // Second run: verified and reused (the layer blob is not written again).
    let written = std::fs::metadata(&blob)?.modified()?;
    let (second, secs) = base_images(data.path(), "busybox:latest")?;
    eprintln!("busybox cached run {secs:.2}s");
    ensure!(
        second.contains("cached") && second.contains(&manifest),
        "{second}"
    );
    ensure!(
        std::fs::metadata(&blob)?.modified()? == written,
        "a cached run rewrote the layer"
    );

    // A corrupted blob is noticed and the image rebuilt.
    std::fs::write(&blob, b"garbage")?;
    let (third, _) = base_images(data.path(), "busybox")?;
    ensure!(
        third.contains("built") && third.contains(&manifest),
        "not rebuilt identically: {third}"
    );
    Ok(())
}

#[test]
fn unknown_base_image_is_a_clear_error() -> Result<()> {
    let data = TempDir::new("base-images-unknown");
    let out = Command::new(slipway_bin())
        .args(["base-images", "--data"])
        .arg(data.path())
        .arg("alpine")
        .output()?;
    ensure!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(err.contains("unknown base image \"alpine\""), "{err}");
    Ok(())
}

#[test]
#[ignore = "debootstraps debian and python from the Debian mirror (minutes): cargo test -- --ignored"]
fn debian_and_python_from_debootstrap() -> Result<()> {
    let data = TempDir::new("base-images-debootstrap");
    let mut debian_layer = String::new();
    for (name, reference, cmd, layers, check) in [
        ("debian", "debian:bookworm-slim", "bash", 1, "bash -c 'echo ok'"),
        (
            "python",
            "python:3.11-slim",
            "python3",
            2,
            "python -c 'import venv, pip; print(\"ok\")'",
        ),
    ] {
        let (out, secs) = base_images(data.path(), reference)?;
        eprintln!("{reference} built in {secs:.1}s: {out}");
        let inspect = check_with_skopeo(data.path(), name, reference, &[cmd], layers, data.path())?;
        let all = inspect["Layers"].as_array().context("Layers")?;
        // python is debian plus one layer: the debian layer is shared.
        if name == "debian" {
            debian_layer = all[0].as_str().unwrap_or_default().to_owned();
        } else {
            ensure!(
                all[0] == debian_layer.as_str(),
                "python does not start with the debian layer: {inspect}"
            );
        }
        // Run something in the unpacked layers (GNU tar leaves any `.wh.` files as plain files: harmless here).
        let root = data.path().join(format!("{name}-rootfs"));
        std::fs::create_dir_all(&root)?;
        for layer in all {
            let hex = layer.as_str().context("layer")?.trim_start_matches("sha256:");
            let blob = data
                .path()
                .join("base-images")
                .join(name)
                .join("blobs/sha256")
                .join(hex);
            run(Command::new("tar").arg("-xzf").arg(&blob).arg("-C").arg(&root))?;
        }
        ensure!(!root
            .join("var/lib/apt/lists")
            .read_dir()?
            .any(|e| e.is_ok_and(|e| e.file_name() != "partial" && e.file_name() != "lock")));
        ensure!(
            !root.join("etc/resolv.conf").exists(),
            "host resolv.conf leaked into the image"
        );
        let said = run(Command::new("chroot").arg(&root).args(["/bin/sh", "-c", check]))?;
        ensure!(said.trim() == "ok", "{said}");
        let index = data.path().join("base-images").join(name).join("index.json");
        let written = std::fs::metadata(&index)?.modified()?;
        let (again, _) = base_images(data.path(), reference)?;
        ensure!(again.contains("cached"), "{again}");
        ensure!(
            std::fs::metadata(&index)?.modified()? == written,
            "a cached run rewrote {}",
            index.display()
        );
    }
    Ok(())
}
