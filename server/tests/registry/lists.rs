//! Tags list and catalog with `n`/`last` pagination, and the referrers API.

use super::*;

#[tokio::test]
async fn tags_list_paginates_with_link_headers() -> Result<()> {
    let data = TempDir::new("reg-tags");
    let server = Server::start(data.path())?;
    let c = client();
    for tag in ["v3", "v1", "latest", "v2"] {
        push_image(&server, "learner1/app", tag, 5).await?;
    }
    let all: serde_json::Value = c
        .get(server.url("/v2/learner1/app/tags/list"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        all,
        serde_json::json!({"name": "learner1/app", "tags": ["latest", "v1", "v2", "v3"]})
    );

    let page = c.get(server.url("/v2/learner1/app/tags/list?n=2")).send().await?;
    assert_eq!(
        header(&page, "link"),
        "</v2/learner1/app/tags/list?n=2&last=v1>; rel=\"next\""
    );
    let body: serde_json::Value = page.json().await?;
    assert_eq!(body["tags"], serde_json::json!(["latest", "v1"]));
    let next = c
        .get(server.url("/v2/learner1/app/tags/list?n=2&last=v1"))
        .send()
        .await?;
    assert!(next.headers().get("link").is_none());
    let body: serde_json::Value = next.json().await?;
    assert_eq!(body["tags"], serde_json::json!(["v2", "v3"]));
    let none: serde_json::Value = c
        .get(server.url("/v2/learner1/app/tags/list?n=0"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(none["tags"], serde_json::json!([]));

    let unknown = c.get(server.url("/v2/nobody/tags/list")).send().await?;
    assert_eq!(unknown.status(), 404);
    assert_eq!(error_code(unknown).await, "NAME_UNKNOWN");
    Ok(())
}

#[tokio::test]
async fn catalog_lists_nested_repositories_in_order() -> Result<()> {
    let data = TempDir::new("reg-catalog");
    let server = Server::start(data.path())?;
    let c = client();
    for repo in ["b", "a/x", "a", "a/x/y"] {
        push_image(&server, repo, "v1", 9).await?;
    }
    let all: serde_json::Value = c.get(server.url("/v2/_catalog")).send().await?.json().await?;
    assert_eq!(all["repositories"], serde_json::json!(["a", "a/x", "a/x/y", "b"]));
    let page = c.get(server.url("/v2/_catalog?n=3")).send().await?;
    assert_eq!(
        header(&page, "link"),
        "</v2/_catalog?n=3&last=a/x/y>; rel=\"next\""
    );
    let rest: serde_json::Value = c
        .get(server.url("/v2/_catalog?n=3&last=a/x/y"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(rest["repositories"], serde_json::json!(["b"]));
    Ok(())
}

#[tokio::test]
async fn referrers_list_manifests_by_subject_with_filters() -> Result<()> {
    let data = TempDir::new("reg-referrers");
    let server = Server::start(data.path())?;
    let c = client();
    let image = push_image(&server, "app", "v1", 13).await?;
    let subject =
        serde_json::json!({"mediaType": OCI_MANIFEST, "digest": sha256(&image), "size": image.len()});
    let empty = b"{}".to_vec();
    push_blob(&server, "app", &empty).await?;
    let mut referrer_digests = Vec::new();
    for (artifact_type, note) in [
        ("application/vnd.example.sbom", "sbom"),
        ("application/vnd.example.sig", "sig"),
    ] {
        let mut manifest: serde_json::Value = serde_json::from_slice(&image_manifest(
            &empty,
            &[],
            serde_json::json!({"artifactType": artifact_type, "subject": subject, "annotations": {"note": note}}),
        ))?;
        manifest["config"]["mediaType"] = "application/vnd.oci.empty.v1+json".into();
        let bytes = serde_json::to_vec(&manifest)?;
        let digest = sha256(&bytes);
        let put = c
            .put(server.url(&format!("/v2/app/manifests/{digest}")))
            .header("content-type", OCI_MANIFEST)
            .body(bytes)
            .send()
            .await?;
        assert_eq!(put.status(), 201);
        assert_eq!(header(&put, "oci-subject"), sha256(&image));
        referrer_digests.push(digest);
    }
    let url = server.url(&format!("/v2/app/referrers/{}", sha256(&image)));
    let all = c.get(&url).send().await?;
    assert_eq!(all.status(), 200);
    assert_eq!(header(&all, "content-type"), OCI_INDEX);
    let index: serde_json::Value = all.json().await?;
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    assert!(manifests.iter().all(|m| m["mediaType"] == OCI_MANIFEST));

    let filtered = c
        .get(format!("{url}?artifactType=application/vnd.example.sig"))
        .send()
        .await?;
    assert_eq!(header(&filtered, "oci-filters-applied"), "artifactType");
    let index: serde_json::Value = filtered.json().await?;
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(index["manifests"][0]["annotations"]["note"], "sig");

    // Deleting a referrer removes it from the list; an unknown subject lists nothing.
    let doomed = &referrer_digests[0];
    c.delete(server.url(&format!("/v2/app/manifests/{doomed}")))
        .send()
        .await?;
    let index: serde_json::Value = c.get(&url).send().await?.json().await?;
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    let nothing: serde_json::Value = c
        .get(server.url(&format!("/v2/app/referrers/{}", sha256(b"x"))))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(nothing["manifests"], serde_json::json!([]));
    Ok(())
}
