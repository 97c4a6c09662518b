//! Distribution Spec 1.1's manifest `PUT` by digest with `?tag=` (each tag applied, each answered with an
//! `OCI-Tag` header), and the digest of a push by tag of a manifest first pushed by its sha512 digest, over a
//! real socket. The cases are the conformance suite's (opencontainers/distribution-spec `conformance/`:
//! `ManifestPut` checks `Docker-Content-Digest` against the manifest's own digest, sha512 data included).
//! Sparse manifests (an index naming manifests the registry does not hold) stay refused: `indexes_need_their_manifests`.

use super::*;

#[tokio::test]
async fn a_put_by_digest_with_tag_queries_tags_each_and_says_so() -> Result<()> {
    let data = TempDir::new("reg-tag-query");
    let server = Server::start(data.path())?;
    let c = client();
    push_blob(&server, "r", b"{}").await?;
    let manifest = image_manifest(b"{}", &[], serde_json::json!({}));
    let digest = sha256(&manifest);
    let put = c
        .put(server.url(&format!("/v2/r/manifests/{digest}?tag=v1&tag=latest&tag=1.0.0")))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await?;
    assert_eq!(put.status(), 201);
    assert_eq!(header(&put, "docker-content-digest"), digest);
    let tags: Vec<&str> = put
        .headers()
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1", "latest", "1.0.0"]);
    for tag in ["v1", "latest", "1.0.0"] {
        let get = c
            .get(server.url(&format!("/v2/r/manifests/{tag}")))
            .send()
            .await?;
        assert_eq!(get.status(), 200, "{tag}");
        assert_eq!(header(&get, "docker-content-digest"), digest);
    }
    let list: serde_json::Value = c.get(server.url("/v2/r/tags/list")).send().await?.json().await?;
    assert_eq!(list["tags"], serde_json::json!(["1.0.0", "latest", "v1"]));

    // A tag that is not one is refused, and nothing is stored under the other tags.
    let bad = c
        .put(server.url(&format!("/v2/r/manifests/{digest}?tag=ok&tag=-bad")))
        .header("content-type", OCI_MANIFEST)
        .body(manifest)
        .send()
        .await?;
    assert_eq!(bad.status(), 400);
    assert_eq!(error_code(bad).await, "MANIFEST_INVALID");
    let ok = c.get(server.url("/v2/r/manifests/ok")).send().await?;
    assert_eq!(ok.status(), 404);
    Ok(())
}

#[tokio::test]
async fn a_push_by_tag_keeps_the_sha512_digest_it_was_pushed_by() -> Result<()> {
    let data = TempDir::new("reg-tag-sha512");
    let server = Server::start(data.path())?;
    let c = client();
    push_blob(&server, "r", b"{}").await?;
    let manifest = image_manifest(b"{}", &[], serde_json::json!({"annotations": {"a": "sha512"}}));
    let digest = sha512(&manifest);
    let put = |reference: String| {
        c.put(server.url(&format!("/v2/r/manifests/{reference}")))
            .header("content-type", OCI_MANIFEST)
            .body(manifest.clone())
            .send()
    };
    assert_eq!(put(digest.clone()).await?.status(), 201);
    let by_tag = put("v1".into()).await?;
    assert_eq!(by_tag.status(), 201);
    assert_eq!(header(&by_tag, "docker-content-digest"), digest);
    assert_eq!(header(&by_tag, "location"), format!("/v2/r/manifests/{digest}"));
    let get = c.get(server.url("/v2/r/manifests/v1")).send().await?;
    assert_eq!(header(&get, "docker-content-digest"), digest);

    // The conformance suite's other way: by its sha512 digest with the tag in the query.
    let tagged = put(format!("{digest}?tag=v2")).await?;
    assert_eq!(header(&tagged, "oci-tag"), "v2");
    let get = c.get(server.url("/v2/r/manifests/v2")).send().await?;
    assert_eq!(header(&get, "docker-content-digest"), digest);

    // Bytes never pushed by a sha512 digest are named by sha256, as before.
    let other = image_manifest(b"{}", &[], serde_json::json!({"annotations": {"a": "other"}}));
    let fresh = c
        .put(server.url("/v2/r/manifests/v3"))
        .header("content-type", OCI_MANIFEST)
        .body(other.clone())
        .send()
        .await?;
    assert_eq!(header(&fresh, "docker-content-digest"), sha256(&other));
    Ok(())
}
