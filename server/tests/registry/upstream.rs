//! Pull-through cache, with Debian's CNCF distribution server standing in for Docker Hub and ghcr.io: misses are
//! fetched and verified, then served from the cache after the upstream is gone.

use super::peers::{served_digest, skopeo, write_oci_layout, Distribution};
use super::*;

#[tokio::test]
async fn misses_are_fetched_from_upstream_and_served_offline_afterwards() -> Result<()> {
    let work = TempDir::new("reg-upstream");
    let layout = work.path().join("layout");
    let manifest_digest = write_oci_layout(&layout)?;
    let upstream = Distribution::start(work.path()).await?;
    let source = format!("oci:{}:v1", layout.display());
    for name in ["library/busybox:1.36", "learner9/tool:v1"] {
        skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            &source,
            &format!("docker://{}/{name}", upstream.addr),
        ])?;
    }
    let url = format!("http://{}", upstream.addr);
    let server = Server::start_with(
        &work.path().join("data"),
        &[
            "--upstream",
            &format!("docker.io={url}"),
            "--upstream",
            &format!("ghcr.io={url}"),
        ],
    )?;

    // Docker Hub names map to their path, other registries' names to host/path.
    let hub = format!("docker://{}/library/busybox:1.36", server.addr);
    assert_eq!(served_digest(&hub)?, manifest_digest);
    let ghcr = format!("docker://{}/ghcr.io/learner9/tool:v1", server.addr);
    assert_eq!(served_digest(&ghcr)?, manifest_digest);
    let first = work.path().join("first");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &hub,
        &format!("oci:{}:x", first.display()),
    ])?;

    drop(upstream);
    let again = work.path().join("again");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &hub,
        &format!("oci:{}:x", again.display()),
    ])?;
    let tags: serde_json::Value = client()
        .get(server.url("/v2/library/busybox/tags/list"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(tags["tags"], serde_json::json!(["1.36"]));
    // What was never fetched is a plain miss while the upstream is down.
    let missing = client()
        .get(server.url("/v2/library/busybox/manifests/1.37"))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    assert_eq!(error_code(missing).await, "MANIFEST_UNKNOWN");
    assert_blobs_intact(&work.path().join("data"));
    Ok(())
}
