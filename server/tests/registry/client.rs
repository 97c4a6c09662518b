//! The core library's registry client against real registries: slipway's (open and with logins) and the CNCF
//! distribution server, over a reqwest transport.

use slipway::registry::{
    BlobPush, Client, ClientError, Credentials, HttpRequest, HttpResponse, Method, PushOptions, Transport,
    TransportError,
};

use super::peers::{served_digest, Distribution};
use super::*;
use crate::support::server::users_file;

/// The native transport: reqwest.
pub(crate) struct Reqwest(reqwest::Client);

impl Reqwest {
    pub(crate) fn new() -> Self {
        Reqwest(client())
    }
}

impl Transport for Reqwest {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = reqwest::Method::from_bytes(request.method.as_str().as_bytes()).unwrap();
        let mut builder = self.0.request(method, &request.url).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.send().await.map_err(|e| TransportError(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| TransportError(e.to_string()))?
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// A transport that corrupts every blob body on the way in.
struct Tampering(Reqwest);

impl Transport for Tampering {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let is_blob_get = request.method == Method::Get && request.url.contains("/blobs/sha");
        let mut response = self.0.send(request).await?;
        if is_blob_get {
            if let Some(byte) = response.body.first_mut() {
                *byte ^= 0xff;
            }
        }
        Ok(response)
    }
}

pub(crate) struct Image {
    pub(crate) config: Vec<u8>,
    pub(crate) layer: Vec<u8>,
    pub(crate) manifest: Vec<u8>,
}

pub(crate) fn image(seed: u64) -> Image {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"seed":{seed}}}"#
    )
    .into_bytes();
    let layer = noise(300_000, seed);
    let manifest = image_manifest(&config, &[&layer], serde_json::json!({}));
    Image {
        config,
        layer,
        manifest,
    }
}

/// Push config, layer (in 64 KiB chunks) and manifest; returns how the layer push ended and the progress seen.
pub(crate) async fn push<T: Transport>(
    client: &Client<T>,
    repo: &str,
    tag: &str,
    image: &Image,
    mount_from: Option<&str>,
) -> Result<(BlobPush, Vec<u64>)> {
    let options = PushOptions {
        chunk_size: Some(64 * 1024),
        mount_from: mount_from.map(str::to_string),
    };
    client
        .push_blob(
            repo,
            &sha256(&image.config),
            &image.config,
            &options,
            &mut |_, _| {},
        )
        .await?;
    let mut seen = Vec::new();
    let outcome = client
        .push_blob(
            repo,
            &sha256(&image.layer),
            &image.layer,
            &options,
            &mut |done, total| {
                assert_eq!(total, image.layer.len() as u64);
                seen.push(done);
            },
        )
        .await?;
    let digest = client
        .push_manifest(repo, tag, OCI_MANIFEST, &image.manifest)
        .await?;
    assert_eq!(digest, sha256(&image.manifest));
    Ok((outcome, seen))
}

#[tokio::test]
async fn client_pushes_skips_mounts_and_pulls_verified_content() -> Result<()> {
    let data = TempDir::new("reg-client");
    let server = Server::start(data.path())?;
    let client = Client::new(Reqwest::new(), server.base.clone(), None);
    let image = image(41);

    let (outcome, progress) = push(&client, "learner1/app", "v1", &image, None).await?;
    assert_eq!(outcome, BlobPush::Uploaded);
    assert_eq!(
        progress.len(),
        5,
        "4 full 64 KiB chunks, then the rest in the PUT: {progress:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(progress.last(), Some(&300_000));

    let (again, _) = push(&client, "learner1/app", "v2", &image, None).await?;
    assert_eq!(again, BlobPush::Exists, "Layer already exists");
    let (mounted, _) = push(&client, "learner1/copy", "v1", &image, Some("learner1/app")).await?;
    assert_eq!(
        mounted,
        BlobPush::Mounted {
            from: "learner1/app".into()
        }
    );

    let pulled = client.pull_manifest("learner1/copy", "v1").await?;
    assert_eq!(pulled.bytes, image.manifest);
    assert_eq!(pulled.media_type, OCI_MANIFEST);
    assert_eq!(pulled.digest, sha256(&image.manifest));
    let by_digest = client.pull_manifest("learner1/copy", &pulled.digest).await?;
    assert_eq!(by_digest.bytes, image.manifest);
    assert_eq!(
        client.pull_blob("learner1/copy", &sha256(&image.layer)).await?,
        image.layer
    );
    assert_eq!(client.tags("learner1/app").await?, ["v1", "v2"]);

    let missing = client.pull_manifest("learner1/app", "nope").await.unwrap_err();
    assert!(
        matches!(&missing, ClientError::Registry { status: 404, code, .. } if code == "MANIFEST_UNKNOWN"),
        "{missing}"
    );

    let tampering = Client::new(Tampering(Reqwest::new()), server.base.clone(), None);
    let corrupt = tampering
        .pull_blob("learner1/app", &sha256(&image.layer))
        .await
        .unwrap_err();
    assert!(matches!(corrupt, ClientError::DigestMismatch { .. }), "{corrupt}");
    Ok(())
}

#[tokio::test]
async fn client_logs_in_through_the_token_flow_and_hears_why_it_is_refused() -> Result<()> {
    let dir = TempDir::new("reg-client-auth");
    let users = users_file(dir.path())?;
    let server = Server::start_with(&dir.path().join("data"), &["--users", users.to_str().unwrap()])?;
    let login = |password: &str| {
        let credentials = Credentials {
            username: "learner1".into(),
            password: password.into(),
        };
        Client::new(Reqwest::new(), server.base.clone(), Some(credentials))
    };
    let wrong = login("bad").login().await.unwrap_err();
    assert!(
        matches!(&wrong, ClientError::Unauthorized(why) if why.contains("wrong user name or password")),
        "{wrong}"
    );

    let client = login("pw-one");
    client.login().await?;
    let image = image(42);
    push(&client, "learner1/app", "v1", &image, None).await?;
    let refused = push(&client, "learner2/app", "v1", &image, None)
        .await
        .unwrap_err();
    let refused = refused.downcast::<ClientError>()?;
    assert!(
        matches!(&refused, ClientError::Denied(why) if why.contains("own namespace")),
        "{refused}"
    );

    // Anonymous clients pull through an anonymous token.
    let anonymous = Client::new(Reqwest::new(), server.base.clone(), None);
    assert_eq!(
        anonymous.pull_manifest("learner1/app", "v1").await?.bytes,
        image.manifest
    );
    Ok(())
}

#[tokio::test]
async fn client_pushes_to_cncf_distribution_and_pulls_back() -> Result<()> {
    let dir = TempDir::new("reg-client-distribution");
    let distribution = Distribution::start(dir.path()).await?;
    let client = Client::new(Reqwest::new(), format!("http://{}", distribution.addr), None);
    let image = image(43);
    let (outcome, _) = push(&client, "learner1/app", "v1", &image, None).await?;
    assert_eq!(outcome, BlobPush::Uploaded);
    let (mounted, _) = push(&client, "learner1/other", "v1", &image, Some("learner1/app")).await?;
    assert_eq!(
        mounted,
        BlobPush::Mounted {
            from: "learner1/app".into()
        }
    );
    assert_eq!(
        served_digest(&format!("docker://{}/learner1/app:v1", distribution.addr))?,
        sha256(&image.manifest)
    );
    assert_eq!(
        client.pull_blob("learner1/other", &sha256(&image.layer)).await?,
        image.layer
    );
    assert_eq!(client.tags("learner1/app").await?, ["v1"]);
    Ok(())
}
