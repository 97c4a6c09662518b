//! Size limits, namespace quotas and `slipway gc`.

use super::*;

#[tokio::test]
async fn blob_and_manifest_limits_answer_413_with_the_numbers() -> Result<()> {
    let data = TempDir::new("reg-limits");
    let server = Server::start_with(
        data.path(),
        &["--max-blob-size", "1000", "--max-manifest-size", "300"],
    )?;
    let c = client();
    let big = noise(5000, 1);
    let response = c
        .post(server.url(&format!("/v2/r/blobs/uploads/?digest={}", sha256(&big))))
        .body(big.clone())
        .send()
        .await?;
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["errors"][0]["code"], "SIZE_INVALID");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 1000 bytes"),
        "{body}"
    );

    let start = c.post(server.url("/v2/r/blobs/uploads/")).send().await?;
    let upload = server.url(&header(&start, "location"));
    assert_eq!(
        c.patch(&upload).body(big[..800].to_vec()).send().await?.status(),
        202
    );
    assert_eq!(
        c.patch(&upload)
            .body(big[800..1600].to_vec())
            .send()
            .await?
            .status(),
        413
    );
    let status = c.get(&upload).send().await?;
    assert_eq!(header(&status, "range"), "0-799");

    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "padding": "x".repeat(400)}))?;
    let response = c
        .put(server.url("/v2/r/manifests/v1"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest)
        .send()
        .await?;
    assert_eq!(response.status(), 413);
    assert!(response.text().await?.contains("manifest"));
    Ok(())
}

#[tokio::test]
async fn namespace_quota_counts_shared_blobs_once() -> Result<()> {
    let data = TempDir::new("reg-quota");
    let server = Server::start_with(data.path(), &["--namespace-quota", "10000"])?;
    let c = client();
    let layer = noise(6000, 2);
    push_blob(&server, "learner1/a", &layer).await?;
    // The same blob in another repository of the namespace costs nothing more.
    push_blob(&server, "learner1/b", &layer).await?;
    let more = noise(6000, 3);
    let response = c
        .post(server.url(&format!("/v2/learner1/c/blobs/uploads/?digest={}", sha256(&more))))
        .body(more.clone())
        .send()
        .await?;
    assert_eq!(response.status(), 507);
    let body: serde_json::Value = response.json().await?;
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("quota of 10000 bytes"),
        "{body}"
    );
    // Another namespace has its own quota.
    push_blob(&server, "learner2/a", &more).await?;
    Ok(())
}

#[tokio::test]
async fn gc_removes_unreferenced_blobs_and_keeps_images() -> Result<()> {
    let data = TempDir::new("reg-gc");
    let server = Server::start(data.path())?;
    let c = client();
    let kept = push_image(&server, "app", "v1", 21).await?;
    let dropped = push_image(&server, "app", "v2", 22).await?;
    let orphan = push_blob(&server, "app", b"uploaded but never used").await?;
    c.delete(server.url(&format!("/v2/app/manifests/{}", sha256(&dropped))))
        .send()
        .await?;
    let start = c.post(server.url("/v2/app/blobs/uploads/")).send().await?;
    let stale_upload = server.url(&header(&start, "location"));
    server.kill();

    let output = std::process::Command::new(slipway_binary())
        .args(["gc", "--grace", "0", "--upload-max-age", "0", "--data"])
        .arg(data.path())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The deleted image's config, layer and manifest, and the orphan: 4 blobs; 1 upload session.
    assert!(stdout.contains("removed 4 blobs"), "{stdout}");
    assert!(stdout.contains("1 upload sessions"), "{stdout}");

    let server = Server::start(data.path())?;
    let get = c.get(server.url("/v2/app/manifests/v1")).send().await?;
    assert_eq!(get.bytes().await?.as_ref(), &kept[..]);
    let manifest: serde_json::Value = serde_json::from_slice(&kept)?;
    for digest in [&manifest["config"]["digest"], &manifest["layers"][0]["digest"]] {
        let url = server.url(&format!("/v2/app/blobs/{}", digest.as_str().unwrap()));
        assert_eq!(c.head(url).send().await?.status(), 200);
    }
    assert_eq!(
        c.head(server.url(&format!("/v2/app/blobs/{orphan}")))
            .send()
            .await?
            .status(),
        404
    );
    let stale = stale_upload.replace(&stale_upload[..stale_upload.find("/v2/").unwrap()], &server.base);
    assert_eq!(c.get(stale).send().await?.status(), 404);
    assert_blobs_intact(data.path());
    Ok(())
}
