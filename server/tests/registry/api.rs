//! Blob and manifest endpoints over a real socket: round trips, chunked uploads, ranges and the error codes.

use super::*;

#[tokio::test]
async fn base_endpoint_says_registry_v2() -> Result<()> {
    let data = TempDir::new("reg-base");
    let server = Server::start(data.path())?;
    let response = client().get(server.url("/v2/")).send().await?;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "docker-distribution-api-version"),
        "registry/2.0"
    );
    let response = client().get(server.url("/v2/nothing/here")).send().await?;
    assert_eq!(response.status(), 404);
    Ok(())
}

#[tokio::test]
async fn monolithic_blob_round_trip_with_head_and_ranges() -> Result<()> {
    let data = TempDir::new("reg-mono");
    let server = Server::start(data.path())?;
    let blob = noise(200_000, 1);
    let digest = sha256(&blob);
    let c = client();
    let response = c
        .post(server.url(&format!("/v2/learner1/app/blobs/uploads/?digest={digest}")))
        .body(blob.clone())
        .send()
        .await?;
    assert_eq!(response.status(), 201);
    assert_eq!(
        header(&response, "location"),
        format!("/v2/learner1/app/blobs/{digest}")
    );
    assert_eq!(header(&response, "docker-content-digest"), digest);

    let blob_url = server.url(&format!("/v2/learner1/app/blobs/{digest}"));
    let head = c.head(&blob_url).send().await?;
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-length"), "200000");
    assert_eq!(header(&head, "docker-content-digest"), digest);

    let get = c.get(&blob_url).send().await?;
    assert_eq!(get.status(), 200);
    assert_eq!(get.bytes().await?.as_ref(), &blob[..]);

    let partial = c.get(&blob_url).header("range", "bytes=100-199").send().await?;
    assert_eq!(partial.status(), 206);
    assert_eq!(header(&partial, "content-range"), "bytes 100-199/200000");
    assert_eq!(partial.bytes().await?.as_ref(), &blob[100..200]);
    let tail = c.get(&blob_url).header("range", "bytes=-10").send().await?;
    assert_eq!(tail.bytes().await?.as_ref(), &blob[199_990..]);
    let beyond = c.get(&blob_url).header("range", "bytes=300000-").send().await?;
    assert_eq!(beyond.status(), 416);

    // Blobs belong to repositories: another one cannot read it without a mount.
    let other = c
        .get(server.url(&format!("/v2/other/blobs/{digest}")))
        .send()
        .await?;
    assert_eq!(other.status(), 404);
    assert_eq!(error_code(other).await, "BLOB_UNKNOWN");
    Ok(())
}

#[tokio::test]
async fn chunked_upload_in_order_with_status_and_416_out_of_order() -> Result<()> {
    let data = TempDir::new("reg-chunks");
    let server = Server::start(data.path())?;
    let c = client();
    let blob = noise(300_000, 2);
    let digest = sha256(&blob);
    let start = c.post(server.url("/v2/a/b/c/blobs/uploads/")).send().await?;
    assert_eq!(start.status(), 202);
    let location = header(&start, "location");
    assert!(location.starts_with("/v2/a/b/c/blobs/uploads/"), "{location}");
    assert_eq!(header(&start, "range"), "0-0");
    let upload = server.url(&location);

    let first = c
        .patch(&upload)
        .header("content-range", "0-99999")
        .header("content-type", "application/octet-stream")
        .body(blob[..100_000].to_vec())
        .send()
        .await?;
    assert_eq!(first.status(), 202);
    assert_eq!(header(&first, "range"), "0-99999");

    // A chunk that does not start where the session ends: 416 with the session's range.
    let skipped = c
        .patch(&upload)
        .header("content-range", "150000-199999")
        .body(blob[150_000..200_000].to_vec())
        .send()
        .await?;
    assert_eq!(skipped.status(), 416);
    assert_eq!(header(&skipped, "range"), "0-99999");
    // A chunk whose length disagrees with its range is refused and leaves the session as it was.
    let short = c
        .patch(&upload)
        .header("content-range", "100000-199999")
        .body(blob[100_000..150_000].to_vec())
        .send()
        .await?;
    assert_eq!(short.status(), 400);
    let status = c.get(&upload).send().await?;
    assert_eq!(status.status(), 204);
    assert_eq!(header(&status, "range"), "0-99999");

    let second = c
        .patch(&upload)
        .header("content-range", "100000-199999")
        .body(blob[100_000..200_000].to_vec())
        .send()
        .await?;
    assert_eq!(second.status(), 202);
    let finish = c
        .put(format!("{upload}?digest={digest}"))
        .header("content-range", "200000-299999")
        .body(blob[200_000..].to_vec())
        .send()
        .await?;
    assert_eq!(finish.status(), 201);
    assert_eq!(header(&finish, "docker-content-digest"), digest);
    let get = c
        .get(server.url(&format!("/v2/a/b/c/blobs/{digest}")))
        .send()
        .await?;
    assert_eq!(get.bytes().await?.as_ref(), &blob[..]);
    // The session is over.
    let gone = c.get(&upload).send().await?;
    assert_eq!(gone.status(), 404);
    assert_eq!(error_code(gone).await, "BLOB_UPLOAD_UNKNOWN");
    Ok(())
}

#[tokio::test]
async fn wrong_digests_are_digest_invalid_and_nothing_is_stored() -> Result<()> {
    let data = TempDir::new("reg-baddigest");
    let server = Server::start(data.path())?;
    let c = client();
    let claimed = sha256(b"something else");
    let mono = c
        .post(server.url(&format!("/v2/r/blobs/uploads/?digest={claimed}")))
        .body("actual bytes")
        .send()
        .await?;
    assert_eq!(mono.status(), 400);
    assert_eq!(error_code(mono).await, "DIGEST_INVALID");
    let head = c
        .head(server.url(&format!("/v2/r/blobs/{claimed}")))
        .send()
        .await?;
    assert_eq!(head.status(), 404);
    let actual = c
        .head(server.url(&format!("/v2/r/blobs/{}", sha256(b"actual bytes"))))
        .send()
        .await?;
    assert_eq!(actual.status(), 404);

    let start = c.post(server.url("/v2/r/blobs/uploads/")).send().await?;
    let upload = server.url(&header(&start, "location"));
    let finish = c
        .put(format!("{upload}?digest={claimed}"))
        .body("actual bytes")
        .send()
        .await?;
    assert_eq!(finish.status(), 400);
    assert_eq!(error_code(finish).await, "DIGEST_INVALID");

    let malformed = c
        .post(server.url("/v2/r/blobs/uploads/?digest=sha256:xyz"))
        .body("x")
        .send()
        .await?;
    assert_eq!(malformed.status(), 400);
    assert_eq!(error_code(malformed).await, "DIGEST_INVALID");
    // Every upload was refused: the store holds no blob at all (not even a torn one).
    let stored: Vec<_> = std::fs::read_dir(data.path().join("registry/blobs/sha256"))
        .map(|prefixes| prefixes.flatten().collect())
        .unwrap_or_default();
    assert!(stored.is_empty(), "refused uploads left blobs: {stored:?}");
    Ok(())
}

#[tokio::test]
async fn sha512_blobs_are_verified_and_served() -> Result<()> {
    let data = TempDir::new("reg-sha512");
    let server = Server::start(data.path())?;
    let c = client();
    let blob = noise(5000, 3);
    let digest = sha512(&blob);
    let start = c.post(server.url("/v2/r/blobs/uploads/")).send().await?;
    let upload = server.url(&header(&start, "location"));
    c.patch(&upload).body(blob[..1000].to_vec()).send().await?;
    let finish = c
        .put(format!("{upload}?digest={digest}"))
        .body(blob[1000..].to_vec())
        .send()
        .await?;
    assert_eq!(finish.status(), 201);
    let get = c.get(server.url(&format!("/v2/r/blobs/{digest}"))).send().await?;
    assert_eq!(get.status(), 200);
    assert_eq!(get.bytes().await?.as_ref(), &blob[..]);

    // A manifest pushed by its sha512 digest is stored and served under it.
    push_blob(&server, "r", b"{}").await?;
    let manifest = image_manifest(b"{}", &[], serde_json::json!({}));
    let manifest_digest = sha512(&manifest);
    let url = server.url(&format!("/v2/r/manifests/{manifest_digest}"));
    let put = c
        .put(&url)
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await?;
    assert_eq!(put.status(), 201);
    assert_eq!(header(&put, "docker-content-digest"), manifest_digest);
    let get = c.get(&url).send().await?;
    assert_eq!(header(&get, "docker-content-digest"), manifest_digest);
    assert_eq!(get.bytes().await?.as_ref(), &manifest[..]);
    Ok(())
}

#[tokio::test]
async fn cancelled_uploads_are_gone_and_blob_delete_unlinks() -> Result<()> {
    let data = TempDir::new("reg-cancel");
    let server = Server::start(data.path())?;
    let c = client();
    let start = c.post(server.url("/v2/r/blobs/uploads/")).send().await?;
    let upload = server.url(&header(&start, "location"));
    assert_eq!(c.delete(&upload).send().await?.status(), 204);
    let patch = c.patch(&upload).body("x").send().await?;
    assert_eq!(patch.status(), 404);
    assert_eq!(error_code(patch).await, "BLOB_UPLOAD_UNKNOWN");
    let bogus = c.get(server.url("/v2/r/blobs/uploads/not-a-uuid")).send().await?;
    assert_eq!(error_code(bogus).await, "BLOB_UPLOAD_UNKNOWN");

    let digest = push_blob(&server, "r", b"delete me").await?;
    let url = server.url(&format!("/v2/r/blobs/{digest}"));
    assert_eq!(c.delete(&url).send().await?.status(), 202);
    assert_eq!(c.head(&url).send().await?.status(), 404);
    let again = c.delete(&url).send().await?;
    assert_eq!(again.status(), 404);
    assert_eq!(error_code(again).await, "BLOB_UNKNOWN");
    Ok(())
}

#[tokio::test]
async fn cross_repository_mount_links_or_falls_back_to_a_session() -> Result<()> {
    let data = TempDir::new("reg-mount");
    let server = Server::start(data.path())?;
    let c = client();
    let digest = push_blob(&server, "learner1/base", b"shared layer").await?;
    let mount = c
        .post(server.url(&format!(
            "/v2/learner1/app/blobs/uploads/?mount={digest}&from=learner1/base"
        )))
        .send()
        .await?;
    assert_eq!(mount.status(), 201);
    assert_eq!(
        header(&mount, "location"),
        format!("/v2/learner1/app/blobs/{digest}")
    );
    let get = c
        .get(server.url(&format!("/v2/learner1/app/blobs/{digest}")))
        .send()
        .await?;
    assert_eq!(get.bytes().await?.as_ref(), b"shared layer");

    let unknown = sha256(b"never pushed");
    let fallback = c
        .post(server.url(&format!(
            "/v2/learner1/app/blobs/uploads/?mount={unknown}&from=learner1/base"
        )))
        .send()
        .await?;
    assert_eq!(fallback.status(), 202);
    assert!(header(&fallback, "location").contains("/blobs/uploads/"));
    Ok(())
}

#[tokio::test]
async fn manifests_by_tag_and_digest_with_media_types() -> Result<()> {
    let data = TempDir::new("reg-manifests");
    let server = Server::start(data.path())?;
    let c = client();
    let manifest = push_image(&server, "keerthanav123/python-sample-app", "v1", 7).await?;
    let digest = sha256(&manifest);
    let by_tag = server.url("/v2/keerthanav123/python-sample-app/manifests/v1");
    let by_digest = server.url(&format!("/v2/keerthanav123/python-sample-app/manifests/{digest}"));
    for url in [&by_tag, &by_digest] {
        let get = c.get(url).header("accept", OCI_MANIFEST).send().await?;
        assert_eq!(get.status(), 200);
        assert_eq!(header(&get, "content-type"), OCI_MANIFEST);
        assert_eq!(header(&get, "docker-content-digest"), digest);
        assert_eq!(get.bytes().await?.as_ref(), &manifest[..]);
        let head = c.head(url).send().await?;
        assert_eq!(head.status(), 200);
        assert_eq!(header(&head, "content-length"), manifest.len().to_string());
    }
    // A Docker schema 2 manifest keeps its own media type.
    let config = b"{\"docker\":true}".to_vec();
    push_blob(&server, "keerthanav123/python-sample-app", &config).await?;
    let docker = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": []
    }))?;
    let put = c
        .put(server.url("/v2/keerthanav123/python-sample-app/manifests/docker"))
        .header(
            "content-type",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .body(docker.clone())
        .send()
        .await?;
    assert_eq!(put.status(), 201);
    let get = c
        .get(server.url("/v2/keerthanav123/python-sample-app/manifests/docker"))
        .send()
        .await?;
    assert_eq!(
        header(&get, "content-type"),
        "application/vnd.docker.distribution.manifest.v2+json"
    );

    // Delete by tag removes the tag only; delete by digest removes the manifest.
    assert_eq!(c.delete(&by_tag).send().await?.status(), 202);
    let tag_gone = c.get(&by_tag).send().await?;
    assert_eq!(tag_gone.status(), 404);
    assert_eq!(error_code(tag_gone).await, "MANIFEST_UNKNOWN");
    assert_eq!(c.get(&by_digest).send().await?.status(), 200);
    assert_eq!(c.delete(&by_digest).send().await?.status(), 202);
    assert_eq!(c.get(&by_digest).send().await?.status(), 404);
    Ok(())
}

#[tokio::test]
async fn manifest_errors_name_the_problem() -> Result<()> {
    let data = TempDir::new("reg-manifest-errors");
    let server = Server::start(data.path())?;
    let c = client();
    let put = |repo: &str, reference: &str, body: Vec<u8>| {
        c.put(server.url(&format!("/v2/{repo}/manifests/{reference}")))
            .header("content-type", OCI_MANIFEST)
            .body(body)
            .send()
    };
    let missing = image_manifest(b"{}", &[b"layer never pushed"], serde_json::json!({}));
    let response = put("r", "v1", missing).await?;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(response).await, "MANIFEST_BLOB_UNKNOWN");

    let response = put("r", "v1", b"{not json".to_vec()).await?;
    assert_eq!(error_code(response).await, "MANIFEST_INVALID");

    push_blob(&server, "r", b"{}").await?;
    let good = image_manifest(b"{}", &[], serde_json::json!({}));
    let wrong_digest = sha256(b"other");
    let response = put("r", &wrong_digest, good.clone()).await?;
    assert_eq!(error_code(response).await, "DIGEST_INVALID");
    let response = put("r", &sha256(&good), good).await?;
    assert_eq!(response.status(), 201);

    let response = put("Bad_Name", "v1", b"{}".to_vec()).await?;
    assert_eq!(error_code(response).await, "NAME_INVALID");
    let response = c.get(server.url("/v2/nobody/manifests/v1")).send().await?;
    assert_eq!(response.status(), 404);
    assert_eq!(error_code(response).await, "NAME_UNKNOWN");
    let response = c.get(server.url("/v2/r/manifests/nope")).send().await?;
    assert_eq!(error_code(response).await, "MANIFEST_UNKNOWN");
    Ok(())
}

#[tokio::test]
async fn indexes_need_their_manifests() -> Result<()> {
    let data = TempDir::new("reg-index");
    let server = Server::start(data.path())?;
    let c = client();
    let child = push_image(&server, "multi", "amd64", 11).await?;
    let index = |digest: String| {
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest, "size": child.len(),
                           "platform": {"architecture": "amd64", "os": "linux"}}]
        }))
        .unwrap()
    };
    let unknown = c
        .put(server.url("/v2/multi/manifests/latest"))
        .header("content-type", OCI_INDEX)
        .body(index(sha256(b"no such manifest")))
        .send()
        .await?;
    assert_eq!(error_code(unknown).await, "MANIFEST_BLOB_UNKNOWN");
    let ok = c
        .put(server.url("/v2/multi/manifests/latest"))
        .header("content-type", OCI_INDEX)
        .body(index(sha256(&child)))
        .send()
        .await?;
    assert_eq!(ok.status(), 201);
    let get = c.get(server.url("/v2/multi/manifests/latest")).send().await?;
    assert_eq!(header(&get, "content-type"), OCI_INDEX);
    Ok(())
}

#[tokio::test]
async fn cors_preflight_allows_loopback_and_configured_origins_only() -> Result<()> {
    let data = TempDir::new("reg-cors");
    let server = Server::start_with(data.path(), &["--cors-origin", "https://docs.example.org"])?;
    let c = client();
    for origin in ["http://localhost:8080", "https://docs.example.org"] {
        let preflight = c
            .request(
                reqwest::Method::OPTIONS,
                server.url("/v2/learner1/app/blobs/uploads/"),
            )
            .header("origin", origin)
            .header("access-control-request-method", "PATCH")
            .header("access-control-request-headers", "content-range,authorization")
            .send()
            .await?;
        assert!(
            preflight.status().is_success(),
            "{origin}: {}",
            preflight.status()
        );
        assert_eq!(header(&preflight, "access-control-allow-origin"), origin);
        assert!(header(&preflight, "access-control-allow-methods").contains("PATCH"));
    }
    let get = c
        .get(server.url("/v2/"))
        .header("origin", "http://127.0.0.1:3000")
        .send()
        .await?;
    assert_eq!(
        header(&get, "access-control-allow-origin"),
        "http://127.0.0.1:3000"
    );
    assert!(header(&get, "access-control-expose-headers").contains("docker-content-digest"));
    let evil = c
        .get(server.url("/v2/"))
        .header("origin", "https://evil.example")
        .send()
        .await?;
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    Ok(())
}

#[tokio::test]
async fn concurrent_pushes_of_one_blob_and_racing_chunks_stay_consistent() -> Result<()> {
    let data = TempDir::new("reg-race");
    let server = Server::start(data.path())?;
    let blob = noise(500_000, 61);
    let digest = sha256(&blob);
    let pushes = (0..10).map(|i| {
        let url = server.url(&format!("/v2/race/r{}/blobs/uploads/?digest={digest}", i % 3));
        let body = blob.clone();
        tokio::spawn(async move { client().post(url).body(body).send().await.map(|r| r.status()) })
    });
    for push in pushes {
        assert_eq!(push.await??, 201);
    }
    for repo in ["race/r0", "race/r1", "race/r2"] {
        let get = client()
            .get(server.url(&format!("/v2/{repo}/blobs/{digest}")))
            .send()
            .await?;
        assert_eq!(get.bytes().await?.as_ref(), &blob[..]);
    }
    // Two chunks claiming the same offset: one lands, the other is told where the session stands.
    let start = client()
        .post(server.url("/v2/race/r0/blobs/uploads/"))
        .send()
        .await?;
    let upload = server.url(&header(&start, "location"));
    let racers = (0..2).map(|_| {
        let url = upload.clone();
        let chunk = blob[..100_000].to_vec();
        tokio::spawn(async move {
            client()
                .patch(url)
                .header("content-range", "0-99999")
                .body(chunk)
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    });
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await??);
    }
    statuses.sort();
    assert_eq!(statuses, [202, 416]);
    let status = client().get(&upload).send().await?;
    assert_eq!(header(&status, "range"), "0-99999");
    assert_blobs_intact(data.path());
    Ok(())
}
