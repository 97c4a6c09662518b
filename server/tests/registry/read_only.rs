//! Base images are the operator's: a repository imported by `slipway base-images`, by `slipway serve` at start or
//! by `slipway import` refuses every write over HTTP with `DENIED` (with and without `--users`) and stays as
//! imported, while another `slipway import` still updates it. Names nobody imported keep the spec's behaviour.

use super::import::import;
use super::peers::{served_digest, skopeo, write_oci_layout};
use super::*;
use crate::support::server::{users_file_with, with_busybox};

/// A data directory with the operator's base images: busybox from `slipway base-images` (imported again, as a
/// no-op, by `slipway serve` at start) and a small layout imported as `python:3.11-slim`.
fn operator_images(work: &Path) -> Result<TempDir> {
    let data = TempDir::new("reg-read-only-data");
    with_busybox(&data)?;
    let layout = work.join("python-layout");
    write_oci_layout(&layout)?;
    let output = import(data.path(), &layout, "python:3.11-slim")?;
    ensure_success(&output)?;
    Ok(data)
}

fn ensure_success(output: &std::process::Output) -> Result<()> {
    if !output.status.success() {
        bail!("slipway failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// A user name and password, sent as Basic credentials on each request.
type Credentials<'a> = Option<(&'a str, &'a str)>;

fn with_credentials(request: reqwest::RequestBuilder, credentials: Credentials) -> reqwest::RequestBuilder {
    match credentials {
        Some((user, password)) => request.basic_auth(user, Some(password)),
        None => request,
    }
}

/// What a learner's client would send to replace `repo:tag` (or delete it), each request with `credentials`:
/// an upload session, a monolithic upload, a mount from the learner's own repository, manifest PUTs by tag and by
/// digest, and DELETEs of the tag, of the manifest and of a layer. `evil` is an image already in `learner1/evil`.
async fn attacks(
    server: &Server,
    repo: &str,
    tag: &str,
    evil: &[u8],
    credentials: Credentials<'_>,
) -> Result<Vec<(String, reqwest::Response)>> {
    let c = client();
    let manifest_url = server.url(&format!("/v2/{repo}/manifests/{tag}"));
    let manifest = c.get(&manifest_url).header("accept", OCI_MANIFEST);
    let manifest: serde_json::Value = with_credentials(manifest, credentials)
        .send()
        .await?
        .json()
        .await?;
    let imported = sha256(&serde_json::to_vec(&manifest)?);
    let layer = manifest["layers"][0]["digest"].as_str().context("a layer")?;
    let evil_layer = serde_json::from_slice::<serde_json::Value>(evil)?["layers"][0]["digest"]
        .as_str()
        .context("evil layer")?
        .to_string();
    let uploads = server.url(&format!("/v2/{repo}/blobs/uploads/"));
    let requests = [
        ("upload session", c.post(&uploads)),
        (
            "monolithic upload",
            c.post(format!("{uploads}?digest={}", sha256(b"evil bytes")))
                .body(b"evil bytes".to_vec()),
        ),
        (
            "mount",
            c.post(format!("{uploads}?mount={evil_layer}&from=learner1/evil")),
        ),
        (
            "manifest PUT by tag",
            c.put(&manifest_url)
                .header("content-type", OCI_MANIFEST)
                .body(evil.to_vec()),
        ),
        (
            "manifest PUT by digest",
            c.put(server.url(&format!("/v2/{repo}/manifests/{}", sha256(evil))))
                .header("content-type", OCI_MANIFEST)
                .body(evil.to_vec()),
        ),
        ("tag DELETE", c.delete(&manifest_url)),
        (
            "manifest DELETE",
            c.delete(server.url(&format!("/v2/{repo}/manifests/{imported}"))),
        ),
        (
            "blob DELETE",
            c.delete(server.url(&format!("/v2/{repo}/blobs/{layer}"))),
        ),
    ];
    let mut responses = Vec::new();
    for (what, request) in requests {
        let response = with_credentials(request, credentials).send().await?;
        responses.push((format!("{what} on {repo}"), response));
    }
    Ok(responses)
}

/// Every response is `403 DENIED` whose message contains `why`.
async fn assert_all_denied(responses: Vec<(String, reqwest::Response)>, why: &str) -> Result<()> {
    for (what, response) in responses {
        assert_eq!(response.status(), 403, "{what}");
        let body: serde_json::Value = response.json().await?;
        assert_eq!(body["errors"][0]["code"], "DENIED", "{what}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(why), "{what}: {message}");
    }
    Ok(())
}

/// The digests `library/busybox:latest` and `library/python:3.11-slim` are served with, and python's tags.
async fn base_image_state(server: &Server, credentials: Credentials<'_>) -> Result<(String, String, String)> {
    let digest = |name: &str| served_digest(&format!("docker://{}/{name}", server.addr));
    let tags = client().get(server.url("/v2/library/python/tags/list"));
    let tags = with_credentials(tags, credentials).send().await?.text().await?;
    Ok((
        digest("library/busybox:latest")?,
        digest("library/python:3.11-slim")?,
        tags,
    ))
}

/// `skopeo copy` of `source` over `base` (both names on `server`), with `extra` flags: it must fail, saying the
/// target is read-only.
fn assert_skopeo_refused(server: &Server, source: &str, base: &str, extra: &[&str]) {
    let (source, base) = (
        format!("docker://{}/{source}", server.addr),
        format!("docker://{}/{base}", server.addr),
    );
    let mut args = vec!["copy", "--src-tls-verify=false", "--dest-tls-verify=false"];
    args.extend_from_slice(extra);
    args.extend([source.as_str(), base.as_str()]);
    let refused = skopeo(&args).expect_err("skopeo replaced a base image");
    assert!(refused.to_string().contains("read-only"), "{refused}");
}

const READ_ONLY: &str = "is a base image the operator imported and is read-only";

#[tokio::test]
async fn a_learner_cannot_replace_a_base_image_but_slipway_import_can() -> Result<()> {
    let work = TempDir::new("reg-read-only");
    let data = operator_images(work.path())?;
    let server = Server::start(data.path())?;
    let before = base_image_state(&server, None).await?;
    let evil = push_image(&server, "learner1/evil", "v1", 66).await?;

    for (repo, tag) in [("library/python", "3.11-slim"), ("library/busybox", "latest")] {
        assert_all_denied(attacks(&server, repo, tag, &evil, None).await?, READ_ONLY).await?;
        // A real client: skopeo copying the learner's image over the base image is refused, saying why.
        assert_skopeo_refused(&server, "learner1/evil:v1", &format!("{repo}:{tag}"), &[]);
    }
    assert_eq!(base_image_state(&server, None).await?, before);

    // The operator's import still updates it (beside the running server), and it stays read-only.
    let newer = work.path().join("newer");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{}/learner1/evil:v1", server.addr),
        &format!("oci:{}:3.11-slim", newer.display()),
    ])?;
    ensure_success(&import(data.path(), &newer, "python:3.11-slim")?)?;
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(newer.join("index.json"))?)?;
    let newer_digest = index["manifests"][0]["digest"].as_str().context("index")?;
    assert_ne!(newer_digest, before.1);
    let (busybox, python, _) = base_image_state(&server, None).await?;
    assert_eq!(
        (busybox.as_str(), python.as_str()),
        (before.0.as_str(), newer_digest)
    );
    let again = attacks(&server, "library/python", "3.11-slim", &evil, None).await?;
    assert_all_denied(again, READ_ONLY).await?;

    // A name nobody imported, even under library/, takes pushes as any registry's would.
    push_image(&server, "library/hello", "latest", 67).await?;
    assert_blobs_intact(data.path());
    Ok(())
}

#[tokio::test]
async fn with_users_no_one_pushes_to_a_base_image_not_even_a_user_named_library() -> Result<()> {
    let work = TempDir::new("reg-read-only-users");
    let data = operator_images(work.path())?;
    let users = users_file_with(work.path(), &[("learner1", "pw-one"), ("library", "pw-lib")])?;
    let server = Server::start_with(data.path(), &["--users", users.to_str().unwrap()])?;
    let (learner, library) = (Some(("learner1", "pw-one")), Some(("library", "pw-lib")));
    let before = base_image_state(&server, learner).await?;

    // The learner's own image, to offer as a replacement.
    let evil_config = br#"{"architecture":"amd64","os":"linux","seed":68}"#.to_vec();
    let evil_layer = noise(3000, 68);
    for blob in [&evil_config, &evil_layer] {
        let upload = server.url(&format!(
            "/v2/learner1/evil/blobs/uploads/?digest={}",
            sha256(blob)
        ));
        let upload = client().post(upload).body(blob.to_vec());
        let pushed = with_credentials(upload, learner).send().await?;
        assert_eq!(pushed.status(), 201);
    }
    let evil = image_manifest(&evil_config, &[&evil_layer], serde_json::json!({}));

    // Anonymous: asked to log in; a learner: only its own namespace; the user whose namespace is `library`:
    // the repository is read-only.
    let anonymous = client()
        .post(server.url("/v2/library/python/blobs/uploads/"))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(error_code(anonymous).await, "UNAUTHORIZED");
    for (repo, tag) in [("library/python", "3.11-slim"), ("library/busybox", "latest")] {
        let responses = attacks(&server, repo, tag, &evil, learner).await?;
        assert_all_denied(responses, "own namespace (learner1/...)").await?;
        let responses = attacks(&server, repo, tag, &evil, library).await?;
        assert_all_denied(responses, READ_ONLY).await?;
    }
    let library_creds = ["--src-creds", "library:pw-lib", "--dest-creds", "library:pw-lib"];
    assert_skopeo_refused(
        &server,
        "library/busybox:latest",
        "library/python:3.11-slim",
        &library_creds,
    );
    assert_eq!(base_image_state(&server, learner).await?, before);

    // The rule is per repository, not per namespace: `library` still pushes where nothing was imported.
    let upload = server.url(&format!(
        "/v2/library/hello/blobs/uploads/?digest={}",
        sha256(&evil_layer)
    ));
    let upload = client().post(upload).body(evil_layer.clone());
    let hello = with_credentials(upload, library).send().await?;
    assert_eq!(hello.status(), 201);
    Ok(())
}
