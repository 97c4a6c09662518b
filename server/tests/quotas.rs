//! Filling the server's disk, attacked as a stranger would through the real binary (issue 14): uploads past a
//! session's or a namespace's quota are refused chunk by chunk before the bytes are written, with the OCI error
//! envelope; a server past its disk budget refuses uploads and unpacking with a clear 507 and keeps working;
//! parallel creates past the container limit are refused before any layer is unpacked.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use slipway::api::SESSION_HEADER;
use slipway::image::local_store::{local_repository, session_key};
use slipway::image::Reference;

use crate::registry::{header, noise, sha256, Server as Registry, TempDir};

/// A client that opens a connection per request: a refused upload's answer comes before its body was read,
/// and the server then closes that connection, which a pooled client might pick for the next request.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a reqwest client")
}

/// The repository `reference` in the local store of session `token`.
fn local(token: &str, reference: &str) -> String {
    local_repository(&session_key(Some(token)), &Reference::parse(reference).unwrap())
}

/// A refusal in the OCI envelope: status 507, code `DENIED`, a message naming `what`.
async fn assert_denied(response: reqwest::Response, what: &str) -> Result<()> {
    let status = response.status().as_u16();
    let body: Value = response.json().await?;
    ensure!(status == 507, "{status} {body}");
    ensure!(body["errors"][0]["code"] == "DENIED", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    ensure!(message.contains(what), "{body}");
    Ok(())
}

/// Requests as one client: with a session header, or with a user's basic credentials.
#[derive(Clone, Copy)]
enum As<'a> {
    Session(&'a str),
    User(&'a str, &'a str),
}

impl As<'_> {
    fn sign(self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            As::Session(token) => request.header(SESSION_HEADER, token),
            As::User(user, password) => request.basic_auth(user, Some(password)),
        }
    }
}

/// Chunked PATCH uploads of `chunk` bytes to `repo` until one is refused: that answer must be the OCI error
/// naming the quota, the session must still hold only the accepted chunks, and the data dir stay below
/// `quota + chunk` bytes. Then a monolithic upload and a session finished by one PUT are refused the same way.
async fn upload_past(
    server: &Registry,
    data: &Path,
    who: As<'_>,
    repo: &str,
    quota: u64,
    chunk: usize,
) -> Result<()> {
    let c = client();
    let start = who
        .sign(c.post(server.url(&format!("/v2/{repo}/blobs/uploads/"))))
        .send()
        .await?;
    ensure!(start.status() == 202, "{}", start.status());
    let upload = server.url(&header(&start, "location"));
    let body = noise(chunk * 10, 7);
    let mut accepted = 0;
    let refused = loop {
        let piece = body[accepted..accepted + chunk].to_vec();
        let range = format!("{accepted}-{}", accepted + chunk - 1);
        let answer = who
            .sign(c.patch(&upload).header("content-range", range))
            .body(piece)
            .send()
            .await?;
        if answer.status() != 202 {
            break answer;
        }
        accepted += chunk;
        ensure!(
            accepted < body.len(),
            "ten chunks of {chunk} bytes passed a quota of {quota}"
        );
    };
    assert_denied(refused, &format!("quota of {quota} bytes")).await?;
    let status = who.sign(c.get(&upload)).send().await?;
    ensure!(
        header(&status, "range") == format!("0-{}", accepted - 1),
        "the refused chunk was kept"
    );
    let on_disk = crate::support::bytes_below(data);
    ensure!(
        on_disk < quota + chunk as u64,
        "{on_disk} bytes under the data dir"
    );

    let big = noise(quota as usize + chunk, 8);
    let monolithic = server.url(&format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(&big)));
    assert_denied(
        who.sign(c.post(monolithic)).body(big.clone()).send().await?,
        "quota",
    )
    .await?;
    let start = who
        .sign(c.post(server.url(&format!("/v2/{repo}/blobs/uploads/"))))
        .send()
        .await?;
    let finish = format!(
        "{}?digest={}",
        server.url(&header(&start, "location")),
        sha256(&big)
    );
    assert_denied(who.sign(c.put(finish)).body(big).send().await?, "quota").await?;
    let on_disk = crate::support::bytes_below(data);
    ensure!(
        on_disk < quota + chunk as u64,
        "{on_disk} bytes under the data dir"
    );
    Ok(())
}

#[tokio::test]
async fn a_client_that_uploads_past_its_session_quota_gets_the_oci_error_before_the_disk_fills() -> Result<()>
{
    let data = TempDir::new("quota-session");
    let server = Registry::start_with(data.path(), &["--session-quota", "100000"])?;
    let token = server.session()?;
    let repo = local(&token, "app");
    upload_past(&server, data.path(), As::Session(&token), &repo, 100_000, 30_000).await?;
    // Another session has a quota of its own.
    let other = server.session()?;
    let url = server.url(&format!("/v2/{}/blobs/uploads/?digest=", local(&other, "app")));
    let blob = noise(60_000, 9);
    let answer = As::Session(&other)
        .sign(client().post(url + &sha256(&blob)))
        .body(blob)
        .send()
        .await?;
    ensure!(answer.status() == 201, "{}", answer.status());
    Ok(())
}

#[tokio::test]
async fn a_user_that_uploads_past_the_namespace_quota_gets_the_oci_error_before_the_disk_fills() -> Result<()>
{
    let dir = TempDir::new("quota-namespace");
    let users = crate::support::server::users_file(dir.path())?;
    let data = dir.path().join("data");
    let users = users.to_str().context("users path")?;
    let server = Registry::start_with(&data, &["--users", users, "--namespace-quota", "100000"])?;
    upload_past(
        &server,
        &data,
        As::User("learner1", "pw-one"),
        "learner1/app",
        100_000,
        30_000,
    )
    .await
}

#[tokio::test]
async fn a_push_within_quota_still_works() -> Result<()> {
    let data = TempDir::new("quota-push");
    let server = Registry::start_with(
        data.path(),
        &["--session-quota", "1000000", "--disk-quota", "50000000"],
    )?;
    let http = crate::registry::client::Reqwest::new();
    let transport = slipway::api::SessionTransport::new(&http, server.session()?, &server.base);
    let client = slipway::registry::Client::new(transport.clone(), server.base.clone(), None);
    let image = crate::registry::client::image(31);
    // The session's store, as `docker push` in the page writes it: pushed in 64 KiB chunks.
    let token = transport.session();
    let repo = local(&token, "app");
    crate::registry::client::push(&client, &repo, "v1", &image, None).await?;
    let pulled = client.pull_manifest(&repo, "v1").await?;
    ensure!(pulled.bytes == image.manifest, "the pushed manifest reads back");
    Ok(())
}

/// A busybox server's data dir (`slipway base-images busybox`), or None when the developer opted out of
/// container tests (a missing piece fails: see `support::prerequisite`).
fn busybox_data(label: &str) -> Result<Option<TempDir>> {
    use crate::support::prerequisite::{available, runner_missing, RUNNER_FIX};
    if !available("runner", runner_missing(), RUNNER_FIX) {
        return Ok(None);
    }
    let data = TempDir::new(label);
    crate::support::server::with_busybox(&data)?;
    Ok(Some(data))
}

/// Push `name:latest` to the server's shared registry: busybox's layers from the data dir's layout plus a new
/// plain-tar layer holding `extra` bytes of noise (never unpacked before); returns that layer's hex digest.
async fn push_fresh_image(base: &str, data: &Path, name: &str, extra: usize, seed: u64) -> Result<String> {
    let layout = data.join("base-images/busybox");
    let blob = |digest: &str| {
        std::fs::read(
            layout
                .join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
    };
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let digest = index["manifests"][0]["digest"].as_str().context("index digest")?;
    let mut manifest: Value = serde_json::from_slice(&blob(digest)?)?;
    let config_digest = manifest["config"]["digest"]
        .as_str()
        .context("config digest")?
        .to_string();
    let mut config: Value = serde_json::from_slice(&blob(&config_digest)?)?;
    let mut tar = tar::Builder::new(Vec::new());
    let mut entry = tar::Header::new_gnu();
    entry.set_size(extra as u64);
    entry.set_mode(0o644);
    entry.set_cksum();
    tar.append_data(&mut entry, format!("fresh-{seed}"), &noise(extra, seed)[..])?;
    let layer = tar.into_inner()?;
    let layer_digest = sha256(&layer);
    let c = client();
    let push = |bytes: Vec<u8>| {
        let url = format!("{base}/v2/{name}/blobs/uploads/?digest={}", sha256(&bytes));
        c.post(url).body(bytes).send()
    };
    for old in manifest["layers"].as_array().context("layers")?.clone() {
        let answer = push(blob(old["digest"].as_str().context("layer digest")?)?).await?;
        ensure!(answer.status() == 201, "layer push: {}", answer.status());
    }
    ensure!(push(layer.clone()).await?.status() == 201, "fresh layer push");
    config["rootfs"]["diff_ids"]
        .as_array_mut()
        .context("diff_ids")?
        .push(layer_digest.clone().into());
    let config = serde_json::to_vec(&config)?;
    ensure!(push(config.clone()).await?.status() == 201, "config push");
    manifest["config"]["digest"] = sha256(&config).into();
    manifest["config"]["size"] = config.len().into();
    manifest["layers"]
        .as_array_mut()
        .context("layers")?
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer_digest,
            "size": layer.len(),
        }));
    let media_type = manifest["mediaType"]
        .as_str()
        .unwrap_or(crate::registry::OCI_MANIFEST)
        .to_string();
    let answer = c
        .put(format!("{base}/v2/{name}/manifests/latest"))
        .header("content-type", media_type)
        .body(serde_json::to_vec(&manifest)?)
        .send()
        .await?;
    ensure!(
        answer.status() == 201,
        "manifest push: {} {}",
        answer.status(),
        answer.text().await?
    );
    Ok(layer_digest.trim_start_matches("sha256:").to_string())
}

/// `docker create IMAGE sleep 300` in session `token`: the status and the answer.
async fn create(base: &str, token: &str, image: &str) -> Result<(u16, String)> {
    let answer = client()
        .post(format!("{base}{}", slipway::api::paths::CONTAINERS))
        .header(SESSION_HEADER, token)
        .json(&serde_json::json!({"image": image, "cmd": ["sleep", "300"]}))
        .send()
        .await?;
    Ok((answer.status().as_u16(), answer.text().await?))
}

/// Whether the runner unpacked (or began to unpack) the layer `hex`.
fn unpacked(data: &Path, hex: &str) -> bool {
    let layers = data.join("runner/layers");
    layers.join(hex).exists() || layers.join(format!(".tmp-{hex}")).exists()
}

#[tokio::test]
async fn parallel_creates_past_the_container_limit_unpack_nothing() -> Result<()> {
    let Some(data) = busybox_data("quota-slots")? else {
        return Ok(());
    };
    let server = crate::support::server::Server::start_in(data, Path::new("/nonexistent"), &[])?;
    let (base, dir) = (server.url.clone(), server.data.path().to_path_buf());
    let token = server.session()?;
    for _ in 0..6 {
        let (status, answer) = create(&base, &token, "busybox").await?;
        ensure!(status == 201, "{status} {answer}");
    }
    // Ten creates at once for the session's last two slots (of 8): exactly two pass.
    push_fresh_image(&base, &dir, "fresh/one", 4096, 1).await?;
    let racing = (0..10).map(|_| {
        let (base, token) = (base.clone(), token.clone());
        tokio::spawn(async move { create(&base, &token, "fresh/one").await })
    });
    let mut statuses = Vec::new();
    for task in racing.collect::<Vec<_>>() {
        let (status, answer) = task.await??;
        ensure!(status == 201 || status == 429, "{status} {answer}");
        statuses.push(status);
    }
    ensure!(
        statuses.iter().filter(|s| **s == 201).count() == 2,
        "{statuses:?}"
    );
    // With every slot taken, creates of an image never seen are refused before its layer is unpacked.
    let fresh = push_fresh_image(&base, &dir, "fresh/two", 4096, 2).await?;
    let racing = (0..5).map(|_| {
        let (base, token) = (base.clone(), token.clone());
        tokio::spawn(async move { create(&base, &token, "fresh/two").await })
    });
    for task in racing.collect::<Vec<_>>() {
        let (status, answer) = task.await??;
        ensure!(status == 429, "{status} {answer}");
    }
    ensure!(
        !unpacked(&dir, &fresh),
        "a refused create unpacked the fresh layer"
    );
    // Another session still has its own slots.
    let (status, answer) = create(&base, &server.session()?, "fresh/two").await?;
    ensure!(status == 201, "{status} {answer}");
    ensure!(unpacked(&dir, &fresh), "an admitted create unpacks the layer");
    Ok(())
}

#[tokio::test]
async fn a_server_past_its_disk_quota_refuses_uploads_and_unpacking_and_keeps_working() -> Result<()> {
    let Some(data) = busybox_data("quota-disk")? else {
        return Ok(());
    };
    let server = crate::support::server::Server::start_in(data, Path::new("/nonexistent"), &[])?;
    let fresh = push_fresh_image(&server.url, server.data.path(), "fresh/big", 16 << 20, 3).await?;
    // Base images unpacked ahead of use: the budget counts them.
    crate::runner::docker_run(&server, "busybox", &["true"]).await?;
    let (_, data) = server.stop_keeping_data()?;
    // A budget of what the data dir holds now plus 4 MiB: the 16 MiB upload does not fit, while a run's logs and
    // state and a small upload do (a budget of exactly the bytes held failed those once, by a few KiB).
    let quota = (crate::support::bytes_below(data.path()) + (4 << 20)).to_string();
    let server =
        crate::support::server::Server::start_in(data, Path::new("/nonexistent"), &["--disk-quota", &quota])?;
    let (base, dir) = (server.url.clone(), server.data.path().to_path_buf());

    let big = noise(16 << 20, 4);
    let url = format!("{base}/v2/big/app/blobs/uploads/?digest={}", sha256(&big));
    assert_denied(client().post(url).body(big).send().await?, "disk quota").await?;
    let (status, answer) = create(&base, &server.session()?, "fresh/big").await?;
    ensure!(
        status == 507 && answer.contains("disk quota"),
        "{status} {answer}"
    );
    ensure!(
        !unpacked(&dir, &fresh),
        "the layer that does not fit was unpacked"
    );

    // What fits still works: a run of an unpacked image, a small upload.
    let (code, output) = crate::runner::docker_run(&server, "busybox", &["echo", "still here"]).await?;
    ensure!(code == 0 && output.contains("still here"), "{code} {output}");
    let small = noise(1000, 5);
    let url = format!("{base}/v2/small/app/blobs/uploads/?digest={}", sha256(&small));
    let answer = client().post(url).body(small).send().await?;
    ensure!(answer.status() == 201, "{}", answer.status());
    Ok(())
}
