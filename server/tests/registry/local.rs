//! Each session's local image store (`slipway-local/KEY/...`, `docs/local-images.md`) over real sockets: only
//! the owning session reaches it, with no login even when the registry has users; the catalog never lists it;
//! `GET /api/images` lists it newest first; tag DELETE removes just the tag.

use slipway::image::local_store::{local_repository, session_key};
use slipway::image::Reference;
use slipway::registry::{
    BlobPush, Client, HttpRequest, HttpResponse, PushOptions, Transport, TransportError,
};

use super::client::{image, push, Image, Reqwest};
use super::*;

/// The page's transport: every request carries the session header.
struct Session(Reqwest, &'static str);

impl Transport for Session {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.send(request.header("X-Slipway-Session", self.1)).await
    }
}

/// The token of the session the test calls `name` on `server`.
fn sid(server: &Server, name: &str) -> &'static str {
    crate::support::server::named_session(&server.base, name)
}

fn session_client(server: &Server, token: &'static str) -> Client<Session> {
    Client::new(Session(Reqwest::new(), token), server.base.clone(), None)
}

fn local(token: Option<&str>, reference: &str) -> String {
    local_repository(&session_key(token), &Reference::parse(reference).unwrap())
}

/// An image whose config says when it was created (what `docker images` sorts by).
fn dated_image(seed: u64, created: &str) -> Image {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","created":"{created}","rootfs":{{"type":"layers","diff_ids":[]}},"seed":{seed}}}"#
    )
    .into_bytes();
    let layer = noise(5000, seed);
    let manifest = image_manifest(&config, &[&layer], serde_json::json!({}));
    Image {
        config,
        layer,
        manifest,
    }
}

/// Push the image's layer to `repo`, offering a mount from `from`.
async fn push_layer_from(
    client: &Client<Session>,
    repo: &str,
    from: &str,
    image: &Image,
) -> Result<BlobPush> {
    let options = PushOptions {
        chunk_size: None,
        mount_from: Some(from.to_string()),
    };
    let layer = &image.layer;
    Ok(client
        .push_blob(repo, &sha256(layer), layer, &options, &mut |_, _| {})
        .await?)
}

async fn get(server: &Server, path: &str, token: Option<&str>) -> Result<reqwest::Response> {
    let mut request = client().get(server.url(path));
    if let Some(token) = token {
        request = request.header("X-Slipway-Session", token);
    }
    Ok(request.send().await?)
}

#[tokio::test]
async fn local_stores_belong_to_their_session_even_with_logins_configured() -> Result<()> {
    let dir = TempDir::new("reg-local-auth");
    let users = crate::support::server::users_file(dir.path())?;
    let server = Server::start_with(&dir.path().join("data"), &["--users", users.to_str().unwrap()])?;
    let mine = local(Some(sid(&server, "session-a")), "learner1/app:v1");
    assert!(
        mine.starts_with("slipway-local/") && mine.ends_with("/learner1/app"),
        "{mine}"
    );

    let a = session_client(&server, sid(&server, "session-a"));
    let image = image(71);
    let (outcome, _) = push(&a, &mine, "v1", &image, None).await?;
    assert_eq!(outcome, BlobPush::Uploaded);
    assert_eq!(a.pull_manifest(&mine, "v1").await?.bytes, image.manifest);

    // Another session is told the repository does not exist (not 401: nothing to log in to); no session at
    // all, or a made-up one, is 401.
    for (token, refusal) in [
        (Some(sid(&server, "session-b")), 404),
        (None, 401),
        (Some("made-up"), 401),
    ] {
        let response = get(&server, &format!("/v2/{mine}/manifests/v1"), token).await?;
        assert_eq!(response.status(), refusal, "{token:?}");
        if refusal == 401 {
            continue;
        }
        assert_eq!(error_code(response).await, "NAME_UNKNOWN");
        let blob = get(
            &server,
            &format!("/v2/{mine}/blobs/{}", sha256(&image.layer)),
            token,
        )
        .await?;
        assert_eq!(blob.status(), 404);
    }
    let b = session_client(&server, sid(&server, "session-b"));
    let theirs = local(Some(sid(&server, "session-b")), "learner1/app");
    let write = b
        .push_blob(
            &mine,
            &sha256(b"x"),
            b"x",
            &PushOptions::default(),
            &mut |_, _| {},
        )
        .await;
    assert!(write.is_err(), "session b wrote into session a's store");

    // A mount from another session's store is not a mount: b must upload the bytes itself.
    let mounted = push_layer_from(&b, &theirs, &mine, &image).await?;
    assert_eq!(mounted, BlobPush::Uploaded);
    // Within one session a mount is a mount (how `docker tag` copies an image).
    let copy = local(Some(sid(&server, "session-a")), "learner1/copy");
    let mounted = push_layer_from(&a, &copy, &mine, &image).await?;
    assert_eq!(mounted, BlobPush::Mounted { from: mine.clone() });

    // There is no anonymous store: without a session nothing is written there.
    let anonymous = local(None, "learner1/app");
    assert_eq!(anonymous, "slipway-local/anonymous/learner1/app");
    let nobody = Client::new(Reqwest::new(), server.base.clone(), None);
    assert!(push(&nobody, &anonymous, "v1", &image, None).await.is_err());

    // Outside slipway-local the registry still wants a login for pushes.
    let public = nobody
        .push_blob(
            "learner1/app",
            &sha256(b"y"),
            b"y",
            &PushOptions::default(),
            &mut |_, _| {},
        )
        .await;
    assert!(
        public.is_err(),
        "pushed to a public repository without logging in"
    );
    Ok(())
}

#[tokio::test]
async fn api_images_lists_the_sessions_images_newest_first_and_the_catalog_hides_them() -> Result<()> {
    let data = TempDir::new("reg-local-images");
    let server = Server::start(data.path())?;
    let a = session_client(&server, sid(&server, "session-a"));
    let app = dated_image(81, "2026-11-28T07:00:00Z");
    let python = dated_image(82, "2026-11-01T00:00:00Z");
    let app_repo = local(Some(sid(&server, "session-a")), "learner1/app");
    let python_repo = local(Some(sid(&server, "session-a")), "python");
    push(&a, &app_repo, "v1", &app, None).await?;
    push(&a, &python_repo, "3.11-slim", &python, None).await?;
    push_image(&server, "learner1/public", "v1", 83).await?;

    let rows: serde_json::Value = get(&server, "/api/images", Some(sid(&server, "session-a")))
        .await?
        .json()
        .await?;
    let size = |image: &Image| image.config.len() + image.layer.len();
    assert_eq!(
        rows,
        serde_json::json!([
            {"repository": "learner1/app", "tag": "v1", "digest": sha256(&app.manifest),
             "id": sha256(&app.config), "created": "2026-11-28T07:00:00Z", "size": size(&app)},
            {"repository": "python", "tag": "3.11-slim", "digest": sha256(&python.manifest),
             "id": sha256(&python.config), "created": "2026-11-01T00:00:00Z", "size": size(&python)},
        ])
    );
    let other: serde_json::Value = get(&server, "/api/images", Some(sid(&server, "session-b")))
        .await?
        .json()
        .await?;
    assert_eq!(other, serde_json::json!([]));
    assert_eq!(get(&server, "/api/images", None).await?.status(), 401);

    let catalog: serde_json::Value = get(&server, "/v2/_catalog", Some(sid(&server, "session-a")))
        .await?
        .json()
        .await?;
    assert_eq!(catalog["repositories"], serde_json::json!(["learner1/public"]));

    // `docker rmi learner1/app:v1`: the tag goes, the manifest stays addressable by digest.
    let deleted = client()
        .delete(server.url(&format!("/v2/{app_repo}/manifests/v1")))
        .header("X-Slipway-Session", sid(&server, "session-a"))
        .send()
        .await?;
    assert_eq!(deleted.status(), 202);
    let rows: serde_json::Value = get(&server, "/api/images", Some(sid(&server, "session-a")))
        .await?
        .json()
        .await?;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(
        a.pull_manifest(&app_repo, &sha256(&app.manifest)).await?.bytes,
        app.manifest
    );

    // The browser may send the session header across origins.
    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            server.url(&format!("/v2/{app_repo}/tags/list")),
        )
        .header("Origin", "http://localhost:8080")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-slipway-session")
        .send()
        .await?;
    let allowed = header(&preflight, "access-control-allow-headers");
    assert!(allowed.contains("x-slipway-session"), "{allowed}");
    Ok(())
}

/// `POST /v2/<repo>/blobs/uploads/?mount=<digest>` without `from`, as `session` (no header: none), with Basic
/// `credentials`: the status (201 mounted, 202 an upload session instead).
async fn mount_without_from(
    server: &Server,
    repo: &str,
    digest: &str,
    session: Option<&str>,
    credentials: Option<(&str, &str)>,
) -> Result<reqwest::StatusCode> {
    let mut request = client().post(server.url(&format!("/v2/{repo}/blobs/uploads/?mount={digest}")));
    if let Some(token) = session {
        request = request.header("X-Slipway-Session", token);
    }
    if let Some((user, password)) = credentials {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await?;
    let status = response.status();
    if status == 202 {
        assert!(header(&response, "location").contains(&format!("/v2/{repo}/blobs/uploads/")));
    }
    Ok(status)
}

#[tokio::test]
async fn a_mount_without_from_links_only_blobs_the_caller_may_pull() -> Result<()> {
    let data = TempDir::new("reg-local-blind-mount");
    let server = Server::start(data.path())?;
    let a = session_client(&server, sid(&server, "session-a"));
    let image = image(91);
    let layer = sha256(&image.layer);
    let mine = local(Some(sid(&server, "session-a")), "learner1/app");
    push(&a, &mine, "v1", &image, None).await?;

    // Knowing the digest of a layer only session a's store holds gains another session nothing: an upload.
    let theirs = local(Some(sid(&server, "session-b")), "learner1/app");
    let status = mount_without_from(&server, &theirs, &layer, Some(sid(&server, "session-b")), None).await?;
    assert_eq!(status, 202);
    let head = client()
        .head(server.url(&format!("/v2/{theirs}/blobs/{layer}")))
        .header("X-Slipway-Session", sid(&server, "session-b"))
        .send()
        .await?;
    assert_eq!(head.status(), 404);
    assert_eq!(
        mount_without_from(&server, "learner2/app", &layer, None, None).await?,
        202
    );
    // What the caller may pull is mounted: its own store, and the shared repositories.
    let copy = local(Some(sid(&server, "session-a")), "learner1/copy");
    assert_eq!(
        mount_without_from(&server, &copy, &layer, Some(sid(&server, "session-a")), None).await?,
        201
    );
    let public = push_blob(&server, "learner1/base", b"a public layer").await?;
    assert_eq!(
        mount_without_from(&server, &theirs, &public, Some(sid(&server, "session-b")), None).await?,
        201
    );
    Ok(())
}

#[tokio::test]
async fn without_anonymous_pull_a_mount_without_from_reaches_only_the_sessions_own_store() -> Result<()> {
    let dir = TempDir::new("reg-local-blind-mount-private");
    let users = crate::support::server::users_file(dir.path())?;
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--users", users.to_str().unwrap(), "--no-anonymous-pull"],
    )?;
    let private = b"learner1's private layer";
    let upload = client()
        .post(server.url(&format!(
            "/v2/learner1/private/blobs/uploads/?digest={}",
            sha256(private)
        )))
        .basic_auth("learner1", Some("pw-one"))
        .body(private.to_vec())
        .send()
        .await?;
    assert_eq!(upload.status(), 201);

    // An anonymous session may not pull learner1/private, so it cannot mount from it either.
    let session_c = Some(sid(&server, "session-c"));
    let c = session_client(&server, sid(&server, "session-c"));
    let own = local(session_c, "learner1/app");
    let status = mount_without_from(&server, &own, &sha256(private), session_c, None).await?;
    assert_eq!(status, 202);
    // Its own store it may read; and a logged-in user may pull (so mount) anything.
    let image = image(92);
    push(&c, &own, "v1", &image, None).await?;
    let copy = local(session_c, "learner1/copy");
    let layer = sha256(&image.layer);
    assert_eq!(
        mount_without_from(&server, &copy, &layer, session_c, None).await?,
        201
    );
    let user = Some(("learner2", "pw-two"));
    let status = mount_without_from(&server, &copy, &sha256(private), session_c, user).await?;
    assert_eq!(status, 201);
    Ok(())
}
