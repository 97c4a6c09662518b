//! `docker login` against the registry: the token flow over HTTP, per-namespace push, and skopeo as a client.

use std::process::Command;

use super::*;
use crate::support::server::users_file;

async fn token(server: &Server, credentials: Option<(&str, &str)>, scope: &str) -> Result<reqwest::Response> {
    let mut request = client()
        .get(server.url("/token"))
        .query(&[("service", "slipway"), ("scope", scope)]);
    if let Some((user, password)) = credentials {
        request = request.basic_auth(user, Some(password));
    }
    Ok(request.send().await?)
}

async fn token_string(server: &Server, credentials: Option<(&str, &str)>, scope: &str) -> Result<String> {
    let response = token(server, credentials, scope).await?;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await?;
    Ok(body["token"].as_str().context("token")?.to_string())
}

#[tokio::test]
async fn token_flow_lets_users_push_only_to_their_namespace() -> Result<()> {
    let dir = TempDir::new("reg-auth");
    let users = users_file(dir.path())?;
    let server = Server::start_with(&dir.path().join("data"), &["--users", users.to_str().unwrap()])?;
    let c = client();

    let ping = c.get(server.url("/v2/")).send().await?;
    assert_eq!(ping.status(), 401);
    let challenge = header(&ping, "www-authenticate");
    assert_eq!(
        challenge,
        format!("Bearer realm=\"{}/token\",service=\"slipway\"", server.base)
    );

    let blob = b"learner layer".to_vec();
    let upload = server.url(&format!(
        "/v2/learner1/app/blobs/uploads/?digest={}",
        sha256(&blob)
    ));
    let anonymous_push = c.post(&upload).body(blob.clone()).send().await?;
    assert_eq!(anonymous_push.status(), 401);
    assert_eq!(
        header(&anonymous_push, "www-authenticate"),
        format!(
            "Bearer realm=\"{}/token\",service=\"slipway\",scope=\"repository:learner1/app:pull,push\"",
            server.base
        )
    );
    assert_eq!(error_code(anonymous_push).await, "UNAUTHORIZED");

    let wrong = token(
        &server,
        Some(("learner1", "nope")),
        "repository:learner1/app:pull,push",
    )
    .await?;
    assert_eq!(wrong.status(), 401);
    let body = wrong.text().await?;
    assert!(body.contains("wrong user name or password"), "{body}");

    let own = token_string(
        &server,
        Some(("learner1", "pw-one")),
        "repository:learner1/app:pull,push",
    )
    .await?;
    assert_eq!(
        c.get(server.url("/v2/")).bearer_auth(&own).send().await?.status(),
        200
    );
    let pushed = c
        .post(&upload)
        .bearer_auth(&own)
        .body(blob.clone())
        .send()
        .await?;
    assert_eq!(pushed.status(), 201);

    // learner1 asks for push on learner2's repository: the token only carries pull, and push is refused.
    let other = token_string(
        &server,
        Some(("learner1", "pw-one")),
        "repository:learner2/app:pull,push",
    )
    .await?;
    let other_upload = server.url(&format!(
        "/v2/learner2/app/blobs/uploads/?digest={}",
        sha256(&blob)
    ));
    let denied = c
        .post(&other_upload)
        .bearer_auth(&other)
        .body(blob.clone())
        .send()
        .await?;
    assert_eq!(denied.status(), 403);
    let body: serde_json::Value = denied.json().await?;
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("own namespace (learner1/...)"),
        "{body}"
    );
    // Basic credentials straight on a request follow the same rule.
    let basic = c
        .post(&other_upload)
        .basic_auth("learner1", Some("pw-one"))
        .body(blob.clone())
        .send()
        .await?;
    assert_eq!(basic.status(), 403);

    // Anonymous pull is on by default; a token for one repository does not open another.
    let pull = token_string(&server, None, "repository:learner1/app:pull").await?;
    let blob_url = server.url(&format!("/v2/learner1/app/blobs/{}", sha256(&blob)));
    assert_eq!(c.get(&blob_url).bearer_auth(&pull).send().await?.status(), 200);
    let elsewhere = server.url(&format!("/v2/learner2/app/blobs/{}", sha256(&blob)));
    assert_eq!(c.get(&elsewhere).bearer_auth(&pull).send().await?.status(), 401);
    assert_eq!(
        c.get(&blob_url)
            .bearer_auth("forged.token")
            .send()
            .await?
            .status(),
        401
    );
    Ok(())
}

#[tokio::test]
async fn anonymous_pull_can_be_turned_off() -> Result<()> {
    let dir = TempDir::new("reg-auth-private");
    let users = users_file(dir.path())?;
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--users", users.to_str().unwrap(), "--no-anonymous-pull"],
    )?;
    let anonymous = token(&server, None, "repository:learner1/app:pull").await?;
    assert_eq!(anonymous.status(), 401);
    let other_user = token_string(
        &server,
        Some(("learner2", "pw-two")),
        "repository:learner1/app:pull",
    )
    .await?;
    let tags = client()
        .get(server.url("/v2/learner1/app/tags/list"))
        .bearer_auth(&other_user)
        .send()
        .await?;
    // Logged-in users may pull anything: the repository just does not exist yet.
    assert_eq!(tags.status(), 404);
    Ok(())
}

#[tokio::test]
async fn skopeo_logs_in_and_pushes_to_its_own_namespace_only() -> Result<()> {
    let skopeo = require_tool("skopeo", "skopeo");
    let dir = TempDir::new("reg-auth-skopeo");
    let users = users_file(dir.path())?;
    let server = Server::start_with(&dir.path().join("data"), &["--users", users.to_str().unwrap()])?;
    let auth_file = dir.path().join("auth.json");
    let run = |args: &[&str]| {
        Command::new(&skopeo)
            .arg("--insecure-policy")
            .args(args)
            .env("REGISTRY_AUTH_FILE", &auth_file)
            .output()
    };
    let wrong = run(&[
        "login",
        "--tls-verify=false",
        "-u",
        "learner1",
        "-p",
        "bad",
        &server.addr,
    ])?;
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("invalid username/password"));
    let right = run(&[
        "login",
        "--tls-verify=false",
        "-u",
        "learner1",
        "-p",
        "pw-one",
        &server.addr,
    ])?;
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );

    let layout = dir.path().join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256"))?;
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    std::fs::write(layout.join("blobs/sha256").join(&sha256(config)[7..]), config)?;
    let manifest = image_manifest(config, &[], serde_json::json!({}));
    std::fs::write(
        layout.join("blobs/sha256").join(&sha256(&manifest)[7..]),
        &manifest,
    )?;
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST,
        "digest": sha256(&manifest), "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&index)?)?;
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let source = format!("oci:{}:v1", layout.display());

    let own = run(&[
        "copy",
        "--dest-tls-verify=false",
        &source,
        &format!("docker://{}/learner1/app:v1", server.addr),
    ])?;
    assert!(own.status.success(), "{}", String::from_utf8_lossy(&own.stderr));
    let other = run(&[
        "copy",
        "--dest-tls-verify=false",
        &source,
        &format!("docker://{}/learner2/app:v1", server.addr),
    ])?;
    assert!(!other.status.success());
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(stderr.contains("pushes only to its own namespace"), "{stderr}");
    Ok(())
}
