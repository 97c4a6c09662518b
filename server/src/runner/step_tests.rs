//! Real-container tests of RUN steps: a step's layer (exact whiteouts, reproducible, runs back), the modes
//! and owners it keeps, a failing step, and a real Debian image (opt-in).

use std::path::Path;

use super::tests::{cmd, started, test_env, TestEnv};
use super::*;

fn tar_listing(blob: &Path) -> Vec<String> {
    let file = std::fs::File::open(blob).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            format!(
                "{} {}:{}",
                e.path().unwrap().display(),
                h.uid().unwrap(),
                h.gid().unwrap()
            )
        })
        .collect()
}

/// An image `name` of busybox plus the layer `extra`, in the test's image store: its layer digests.
fn busybox_plus(env: &TestEnv, name: &str, extra: fixture::TarBuilder) -> Vec<String> {
    let images = env.tmp.path().join("images");
    let busybox = fixture::busybox_rootfs_tar(Path::new("/bin/busybox")).unwrap();
    fixture::write_layout(&images, name, serde_json::json!({}), &[busybox, extra.finish()]).unwrap();
    let base = env.runner.images.resolve(name).unwrap();
    base.layers.iter().map(|l| l.digest.clone()).collect()
}

#[tokio::test]
async fn run_step_diff_has_exact_whiteouts_and_runs_back() {
    let env = test_env();
    let r = &env.runner;
    // Base: busybox + a layer with files to change and delete.
    let mut extra = fixture::TarBuilder::new();
    extra
        .dir("etc/dir1", 0o755)
        .file("etc/dir1/a", 0o644, b"a")
        .dir("etc/dir2", 0o755)
        .file("etc/dir2/b", 0o644, b"b")
        .file("etc/motd", 0o644, b"keep\n")
        .file("etc/gone.txt", 0o644, b"gone");
    let layers = busybox_plus(&env, "base", extra);
    let step = RunStep {
        layers: layers.clone(),
        env: vec!["WHO=builder".into()],
        workdir: Some("/etc".into()),
        command: Some(
            "echo $WHO > /x; echo changed >> motd; rm gone.txt; rm -rf dir1 dir2; mkdir dir2; echo new > dir2/c; \
             mkdir -p /home/app/data; chown app /home/app/data"
                .into(),
        ),
        mtime: Some(0),
        ..RunStep::default()
    };
    let result = r.run_step(step.clone()).await.unwrap();
    assert_eq!(result.exit_code, 0, "{}", result.output);
    let layer = result.layer.expect("a layer");
    // Sorted by the names on disk (whiteouts sit where the deleted entry was); no /etc/hosts placeholders.
    assert_eq!(
        tar_listing(&layer.path),
        [
            "etc/ 0:0",
            "etc/.wh.dir1 0:0",
            "etc/dir2/ 0:0",
            "etc/dir2/.wh..wh..opq 0:0",
            "etc/dir2/c 0:0",
            "etc/.wh.gone.txt 0:0",
            "etc/motd 0:0",
            "home/ 0:0",
            "home/app/ 0:0",
            "home/app/data/ 1000:0",
            "x 0:0",
        ]
    );
    // Reproducible: the same step gives the same layer digest.
    let again = r.run_step(step).await.unwrap().layer.unwrap();
    assert_eq!(
        (again.digest.clone(), again.diff_id.clone()),
        (layer.digest.clone(), layer.diff_id.clone())
    );
    // The layer runs: stack it on the base and look at the result.
    let mut all = layers;
    all.push(layer.digest.clone());
    let check = RunStep {
        layers: all,
        command: Some("ls /etc; ls -a /etc/dir2; cat /etc/motd /x".into()),
        ..RunStep::default()
    };
    let out = r.run_step(check).await.unwrap();
    assert_eq!(out.exit_code, 0, "{}", out.output);
    // hosts, hostname and resolv.conf are the runtime's bind mounts, not layer content.
    assert_eq!(
        out.output,
        "dir2\ngroup\nhostname\nhosts\nmotd\npasswd\nresolv.conf\n.\n..\nc\nkeep\nchanged\nbuilder\n"
    );
    assert_eq!(overlay::mounts_below(&r.config.data_dir), Vec::<String>::new());
    assert!(r.list(true).is_empty());
}

/// Set-id bits are stripped from the unpacked layers on disk, but a RUN step's layer carries the modes Docker's would:
/// the bits of a file the step only touched come back, a `chmod`/`chown` in the step decides, new files keep theirs.
#[tokio::test]
async fn run_step_layer_keeps_set_id_bits_the_disk_copy_lost() {
    let env = test_env();
    let r = &env.runner;
    let mut extra = fixture::TarBuilder::new();
    extra
        .dir("opt", 0o755)
        .file("opt/touched", 0o4755, b"t")
        .file("opt/chmodded", 0o4755, b"c")
        .file("opt/chowned", 0o2755, b"o");
    let layers = busybox_plus(&env, "setid", extra);
    let on_disk = r.layers.path_for(layers.last().unwrap()).join("opt/touched");
    let step = RunStep {
        layers,
        command: Some(
            "touch /opt/touched; chmod 700 /opt/chmodded; chown 1000 /opt/chowned; \
             echo new > /opt/made; chmod 4750 /opt/made"
                .into(),
        ),
        mtime: Some(0),
        ..RunStep::default()
    };
    let result = r.run_step(step).await.unwrap();
    assert_eq!(result.exit_code, 0, "{}", result.output);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&on_disk).unwrap().mode() & 0o7777,
        0o755,
        "stripped on disk"
    );
    let file = std::fs::File::open(&result.layer.expect("a layer").path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let modes: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            format!("{} {:o}", e.path().unwrap().display(), e.header().mode().unwrap())
        })
        .filter(|l| l.starts_with("opt/"))
        .collect();
    assert_eq!(
        modes,
        [
            "opt/ 755",
            "opt/chmodded 700",
            "opt/chowned 755",
            "opt/made 4750",
            "opt/touched 4755"
        ]
    );
}

#[tokio::test]
async fn failing_run_step_gives_output_and_no_layer() {
    let env = test_env();
    let r = &env.runner;
    let base = r.images.resolve("busybox").unwrap();
    let step = RunStep {
        layers: base.layers.iter().map(|l| l.digest.clone()).collect(),
        shell: Some(vec!["/bin/sh".into(), "-ec".into()]),
        command: Some("echo before; false; echo after".into()),
        ..RunStep::default()
    };
    let result = r.run_step(step).await.unwrap();
    assert_eq!(result.exit_code, 1);
    assert_eq!(result.output, "before\n");
    assert!(result.layer.is_none());
}

/// A real distribution image: `SLIPWAY_TEST_DEBIAN_ROOTFS=/path/to/debootstrap/minbase cargo test -p slipway-server
/// --lib debian -- --ignored`. Layered by GNU tar (hard links, absolute symlinks, set-uid files, many entries).
#[tokio::test]
#[ignore = "needs a debootstrap rootfs in SLIPWAY_TEST_DEBIAN_ROOTFS"]
async fn debian_image_runs_and_builds() {
    let rootfs = std::env::var_os("SLIPWAY_TEST_DEBIAN_ROOTFS").expect(
        "this test needs SLIPWAY_TEST_DEBIAN_ROOTFS=/path/to/rootfs (`debootstrap --variant=minbase bookworm DIR`)",
    );
    let env = test_env();
    let r = &env.runner;
    let tar_path = env.tmp.path().join("debian.tar");
    let status = std::process::Command::new("tar")
        .args([
            "--sort=name",
            "--numeric-owner",
            "--mtime=@0",
            "--exclude=./dev/*",
            "--exclude=./proc/*",
        ])
        .args(["--exclude=./sys/*", "-C"])
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar_path)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let images = env.tmp.path().join("images");
    let config = serde_json::json!({"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["bash"]});
    fixture::write_layout(&images, "debian", config, &[std::fs::read(&tar_path).unwrap()]).unwrap();
    let c = started(
        &env,
        "debian",
        cmd(&[
            "bash",
            "-c",
            "id; readlink /bin/sh; cat /etc/debian_version >/dev/null && echo ok",
        ]),
    )
    .await;
    let state = c.wait().await;
    let out = String::from_utf8_lossy(&c.io.logs.all_bytes()).into_owned();
    assert_eq!(state.exit_code, Some(0), "{out}");
    assert_eq!(out, "uid=0(root) gid=0(root) groups=0(root)\ndash\nok\n");
    r.remove(&c, false).await.unwrap();

    let base = r.images.resolve("debian").unwrap();
    let layers: Vec<String> = base.layers.iter().map(|l| l.digest.clone()).collect();
    let step = RunStep {
        layers: layers.clone(),
        command: Some(
            "useradd -m -u 1000 bob && echo hi > /home/bob/x && chown bob:bob /home/bob/x && rm /etc/motd"
                .into(),
        ),
        ..RunStep::default()
    };
    let result = r.run_step(step).await.unwrap();
    assert_eq!(result.exit_code, 0, "{}", result.output);
    let listing = tar_listing(&result.layer.as_ref().unwrap().path);
    for expected in [
        "etc/passwd 0:0",
        "etc/shadow 0:42",
        "home/bob/ 1000:1000",
        "home/bob/x 1000:1000",
        "etc/.wh.motd 0:0",
    ] {
        assert!(
            listing.iter().any(|l| l == expected),
            "{expected} missing from {listing:#?}"
        );
    }
    assert!(
        !listing
            .iter()
            .any(|l| l.starts_with("etc/hosts") || l.starts_with("etc/resolv.conf")),
        "{listing:#?}"
    );
    let mut all = layers;
    all.push(result.layer.unwrap().digest);
    let check = RunStep {
        layers: all,
        user: Some("bob".into()),
        command: Some("id; cat ~/x; test -e /etc/motd || echo motd-gone".into()),
        ..RunStep::default()
    };
    let out = r.run_step(check).await.unwrap();
    assert_eq!(
        out.output,
        "uid=1000(bob) gid=1000(bob) groups=1000(bob)\nhi\nmotd-gone\n"
    );
    assert_eq!(overlay::mounts_below(&r.config.data_dir), Vec::<String>::new());
}
