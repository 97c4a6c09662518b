//! A real peer for FROM-scratch builds: `buildah bud` (vfs storage, no runtime needed) of the same Dockerfile
//! gives the same config fields and, its one layer against ours merged, the same files with the same modes
//! and owners. History differs by design (buildah writes the classic builder's `#(nop)` form).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::layout::{blob, layer_listing, manifest_digest, slipway_build};
use crate::support::TempDir;

/// Every entry of the image's layers applied in order: path → listing line.
fn merged_files(layout: &Path, tag: &str) -> BTreeMap<String, String> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(layout, &manifest_digest(layout, tag))).expect("manifest");
    let mut files = BTreeMap::new();
    for layer in manifest["layers"].as_array().expect("layers") {
        for line in layer_listing(&blob(layout, layer["digest"].as_str().expect("digest"))) {
            let path = line.split(' ').next().unwrap_or_default().to_owned();
            files.insert(path, line);
        }
    }
    files
}

fn config(layout: &Path, tag: &str) -> serde_json::Value {
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(layout, &manifest_digest(layout, tag))).expect("manifest");
    let mut config: serde_json::Value = serde_json::from_slice(&blob(
        layout,
        manifest["config"]["digest"].as_str().expect("config"),
    ))
    .expect("config");
    let inner = config["config"].take();
    let mut inner = inner.as_object().cloned().unwrap_or_default();
    // Tool-specific fields: buildah labels itself, BuildKit marks CMD's args as escaped.
    if let Some(labels) = inner.get_mut("Labels").and_then(|l| l.as_object_mut()) {
        labels.remove("io.buildah.version");
    }
    inner.remove("ArgsEscaped");
    serde_json::Value::Object(inner)
}

#[test]
fn buildah_builds_the_same_files_and_config() {
    use crate::support::prerequisite::{available, on_path};
    let missing = (!on_path("buildah")).then(|| "buildah is not installed".to_string());
    if !available("buildah", missing, "Install it with `scripts/setup.sh --test`") {
        return;
    }
    let tmp = TempDir::new("buildah");
    let ctx = tmp.path().join("ctx");
    std::fs::create_dir_all(ctx.join("src")).expect("mkdir");
    std::fs::write(ctx.join("hello.txt"), "hello\n").expect("write");
    std::fs::write(ctx.join("src/a.py"), "x\n").expect("write");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nENV APP_HOME=/app\nWORKDIR $APP_HOME\nCOPY hello.txt .\nCOPY --chown=1000:1000 src/ /app/src/\nCOPY --chmod=0755 hello.txt /usr/local/bin/hello\nUSER 1000\nEXPOSE 8000\nLABEL a=b\nENTRYPOINT [\"/bin/app\"]\nCMD [\"--serve\"]\n",
    )
    .expect("write");
    let ours = tmp.path().join("ours");
    let out = slipway_build(
        &ctx,
        &[
            "-t",
            "cmp:v1",
            "--oci-layout",
            ours.to_str().expect("utf-8"),
            "--cache-dir",
            tmp.path().join("cache").to_str().expect("utf-8"),
            ".",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let root = tmp.path().join("buildah");
    let buildah = |args: &[&str]| {
        let out = Command::new("buildah")
            .args(["--storage-driver", "vfs", "--root"])
            .arg(root.join("root"))
            .arg("--runroot")
            .arg(root.join("run"))
            .args(args)
            .output()
            .expect("run buildah");
        assert!(
            out.status.success(),
            "buildah {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    buildah(&[
        "bud",
        "--format",
        "oci",
        "-q",
        "-t",
        "cmp:v1",
        ctx.to_str().expect("utf-8"),
    ]);
    let theirs = tmp.path().join("theirs");
    buildah(&["push", "cmp:v1", &format!("oci:{}:v1", theirs.display())]);

    assert_eq!(config(&ours, "v1"), config(&theirs, "v1"));
    assert_eq!(merged_files(&ours, "v1"), merged_files(&theirs, "v1"));
}
