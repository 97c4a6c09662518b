//! `/api/registry-proxy/`: the core client reaches registries without CORS through the companion, with its
//! credentials passed through and the token realm rewritten; hosts off the list are refused.

use slipway::registry::{BlobPush, Client, ClientError, Credentials};

use super::client::{image, push, Reqwest};
use super::peers::{served_digest, Distribution};
use super::*;
use crate::support::server::users_file;

#[tokio::test]
async fn client_pushes_to_a_corsless_registry_through_the_proxy() -> Result<()> {
    let work = TempDir::new("reg-proxy");
    let remote = Distribution::start(work.path()).await?;
    let server = Server::start_with(&work.path().join("data"), &["--proxy-host", &remote.addr])?;
    let base = format!("{}/api/registry-proxy/{}", server.base, remote.addr);
    let registry = Client::new(Reqwest::new(), base, None);
    let image = image(51);
    let (outcome, progress) = push(&registry, "learner1/app", "v1", &image, None).await?;
    assert_eq!(outcome, BlobPush::Uploaded);
    assert_eq!(progress.last(), Some(&(image.layer.len() as u64)));
    // It really landed on the remote registry.
    assert_eq!(
        served_digest(&format!("docker://{}/learner1/app:v1", remote.addr))?,
        sha256(&image.manifest)
    );
    assert_eq!(
        registry.pull_blob("learner1/app", &sha256(&image.layer)).await?,
        image.layer
    );

    let refused = client()
        .get(server.url("/api/registry-proxy/evil.example/v2/"))
        .send()
        .await?;
    assert_eq!(refused.status(), 403);
    assert_eq!(header(&refused, "x-slipway-proxy-refused"), "evil.example");
    let text = refused.text().await?;
    assert!(text.contains("does not serve \\\"evil.example\\\""), "{text}");
    assert!(text.contains("slipway serve --proxy-host evil.example"), "{text}");
    // A HEAD's refusal has no body: the header alone names the host.
    let head = client()
        .head(server.url("/api/registry-proxy/evil.example/v2/x/blobs/sha256:00"))
        .send()
        .await?;
    assert_eq!(head.status(), 403);
    assert_eq!(header(&head, "x-slipway-proxy-refused"), "evil.example");

    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            server.url("/api/registry-proxy/quay.io/v2/"),
        )
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "PUT")
        .send()
        .await?;
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        "http://localhost:8080"
    );
    Ok(())
}

#[tokio::test]
async fn credentials_pass_through_the_proxy_to_the_token_flow() -> Result<()> {
    let work = TempDir::new("reg-proxy-auth");
    let users = users_file(work.path())?;
    let remote = Server::start_with(&work.path().join("remote"), &["--users", users.to_str().unwrap()])?;
    let server = Server::start_with(&work.path().join("data"), &["--proxy-host", &remote.addr])?;

    // The challenge names a realm on the remote; through the proxy it names the proxy.
    let ping = client()
        .get(server.url(&format!("/api/registry-proxy/{}/v2/", remote.addr)))
        .send()
        .await?;
    assert_eq!(ping.status(), 401);
    assert!(header(&ping, "www-authenticate").contains(&format!(
        "realm=\"{}/api/registry-proxy/{}/token\"",
        server.base, remote.addr
    )));

    let base = format!("{}/api/registry-proxy/{}", server.base, remote.addr);
    let login = |password: &str| {
        let credentials = Credentials {
            username: "learner1".into(),
            password: password.into(),
        };
        Client::new(Reqwest::new(), base.clone(), Some(credentials))
    };
    let wrong = login("bad").login().await.unwrap_err();
    assert!(matches!(wrong, ClientError::Unauthorized(_)), "{wrong}");
    let client = login("pw-one");
    client.login().await?;
    push(&client, "learner1/app", "v1", &image(52), None).await?;
    let direct: serde_json::Value = super::client()
        .get(remote.url("/v2/learner1/app/tags/list"))
        .basic_auth("learner1", Some("pw-one"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(direct["tags"], serde_json::json!(["v1"]));
    Ok(())
}
