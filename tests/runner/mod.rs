//! The runner through the real `slipway` binary: `slipway serve` with an OCI layout holding a busybox image made
//! from the host's static busybox, then `docker run`, logs, a RUN step and a clean shutdown over HTTP.

mod crash;
mod crun;
mod local;
mod network;
mod page;
mod streaming;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use sha2::{Digest, Sha256};

/// Why this machine cannot run the test (not root, no runc, binary not built), or None.
fn missing_prerequisite() -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Uid:")
                .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
        });
    if uid.as_deref() != Some("0") {
        return Some("not running as root".into());
    }
    if !["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        return Some("runc is not installed".into());
    }
    if !Path::new("/bin/busybox").exists() {
        return Some("/bin/busybox (busybox-static) is not installed".into());
    }
    None
}

/// `slipway serve` with busybox imported, or None (said loudly) when this machine cannot run containers.
fn busybox_server(label: &str, args: &[&str]) -> anyhow::Result<Option<crate::support::server::Server>> {
    if let Some(why) = missing_prerequisite() {
        eprintln!("SKIPPED {label}: {why}");
        return Ok(None);
    }
    let data = crate::support::TempDir::new(label);
    crate::support::server::with_busybox(&data)?;
    Ok(Some(crate::support::server::Server::start_in(
        data,
        Path::new("/nonexistent"),
        args,
    )?))
}

fn tar_entry(
    b: &mut tar::Builder<Vec<u8>>,
    kind: tar::EntryType,
    path: &str,
    mode: u32,
    link: Option<&str>,
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(data.len() as u64);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    match link {
        Some(target) => b.append_link(&mut h, path, target).unwrap(),
        None => b.append_data(&mut h, path, data).unwrap(),
    }
}

/// A one-layer busybox image in an OCI layout at `dir`, tagged `busybox`.
fn busybox_layout(dir: &Path) {
    let mut b = tar::Builder::new(Vec::new());
    for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev"] {
        tar_entry(&mut b, tar::EntryType::Directory, d, 0o755, None, b"");
    }
    tar_entry(
        &mut b,
        tar::EntryType::Regular,
        "bin/busybox",
        0o755,
        None,
        &std::fs::read("/bin/busybox").unwrap(),
    );
    for applet in ["sh", "echo", "cat", "ls", "id", "sleep", "true"] {
        tar_entry(
            &mut b,
            tar::EntryType::Symlink,
            &format!("bin/{applet}"),
            0o777,
            Some("busybox"),
            b"",
        );
    }
    tar_entry(
        &mut b,
        tar::EntryType::Regular,
        "etc/passwd",
        0o644,
        None,
        b"root:x:0:0:root:/root:/bin/sh\n",
    );
    let layer = b.into_inner().unwrap();
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::fast());
    gz.write_all(&layer).unwrap();
    let blob = gz.finish().unwrap();
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let hex = format!("{:x}", Sha256::digest(bytes));
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let diff_id = format!("sha256:{:x}", Sha256::digest(&layer));
    let (layer_digest, layer_size) = put(&blob);
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}});
    let (config_digest, config_size) = put(&serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}]});
    let (manifest_digest, manifest_size) = put(&serde_json::to_vec(&manifest).unwrap());
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": manifest_digest, "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": "busybox"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(root: &Path) -> Server {
    // slipway_bin() fails loudly when the binary is not built.
    let mut child = Command::new(crate::support::server::slipway_bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--runtime", "runc"])
        .arg("--data")
        .arg(root.join("data"))
        .arg("--dist")
        .arg(root.join("no-dist"))
        .arg("--runner-dir")
        .arg(root.join("runner"))
        .arg("--oci-layout")
        .arg(root.join("images"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("slipway listening on ")
        .expect("address line")
        .to_string();
    Server { child, base }
}

#[tokio::test]
async fn docker_run_and_a_run_step_through_the_binary() -> anyhow::Result<()> {
    if let Some(why) = missing_prerequisite() {
        eprintln!("SKIPPED runner integration test: {why}");
        return Ok(());
    }
    let tmp = tempfile_dir();
    busybox_layout(&tmp.join("images"));
    let mut server = start_server(&tmp);
    let http = reqwest::Client::new();
    let base = server.base.clone();

    let info: serde_json::Value = http.get(format!("{base}/api/info")).send().await?.json().await?;
    assert_eq!(info["runtime"]["name"], "runc", "{info}");

    let created: serde_json::Value = http
        .post(format!("{base}/api/containers?start=true"))
        .json(
            &serde_json::json!({"image": "busybox", "cmd": ["sh", "-c", "echo hello from $(id -u); exit 2"]}),
        )
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().expect("id").to_string();
    let state: serde_json::Value = http
        .post(format!("{base}/api/containers/{id}/wait"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(state["exit_code"], 2);
    let logs = http
        .get(format!("{base}/api/containers/{id}/logs"))
        .send()
        .await?
        .text()
        .await?;
    assert_eq!(logs, "hello from 0\n");

    let image: serde_json::Value = serde_json::from_slice(&std::fs::read(tmp.join("images/index.json"))?)?;
    let manifest_hex = image["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(
        tmp.join("images/blobs/sha256").join(manifest_hex),
    )?)?;
    let step: serde_json::Value = http
        .post(format!("{base}/api/steps"))
        .json(
            &serde_json::json!({"layers": [manifest["layers"][0]["digest"]], "command": "echo hi > /hi.txt"}),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(step["exit_code"], 0, "{step}");
    assert!(step["layer"]["digest"].as_str().unwrap().starts_with("sha256:"));
    // The next step stacks that layer (kept in the runner's blobs: the step named no repository).
    let next: serde_json::Value = http
        .post(format!("{base}/api/steps"))
        .json(
            &serde_json::json!({"layers": [manifest["layers"][0]["digest"], step["layer"]["digest"]],
            "command": "cat /hi.txt"}),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(next["output"], "hi\n", "{next}");

    // A detached container is killed and cleaned up when the server shuts down.
    let sleeper: serde_json::Value = http
        .post(format!("{base}/api/containers?start=true"))
        .json(&serde_json::json!({"image": "busybox", "cmd": ["sleep", "100"]}))
        .send()
        .await?
        .json()
        .await?;
    assert!(sleeper["id"].is_string(), "{sleeper}");
    Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()?;
    let status = server.child.wait()?;
    assert!(status.success(), "{status}");
    let runner_dir = tmp.join("runner");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
    assert!(
        !mountinfo.contains(runner_dir.to_str().unwrap()),
        "mounts left under {}",
        runner_dir.display()
    );
    assert_eq!(
        std::fs::read_dir(runner_dir.join("c"))?.count(),
        0,
        "container dirs left"
    );
    std::fs::remove_dir_all(&tmp)?;
    Ok(())
}

/// A fresh world-searchable directory under /var/tmp (container root must reach its bind mounts).
fn tempfile_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = PathBuf::from(format!("/var/tmp/slipway-it-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
