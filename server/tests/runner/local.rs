//! The runner with the registry's images (`docs/local-images.md`): base images imported into the registry at
//! start, `docker run` of an image that exists only in the session's local store (and not for another session),
//! RUN steps whose layer lands in the session's local repository.

use std::path::Path;

use anyhow::{ensure, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use slipway::image::local_store::session_key;

use super::busybox_server;
use crate::support::server::{with_busybox, Server};
use crate::support::TempDir;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

struct Api {
    http: reqwest::Client,
    base: String,
    /// The session the server issued for each name the test uses.
    sessions: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl Api {
    fn new(server: &Server) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: server.url.clone(),
            sessions: Default::default(),
        }
    }

    /// The token of the session the test calls `name`, issued by the server the first time.
    fn token(&self, name: &str) -> String {
        let mut sessions = self.sessions.lock().unwrap();
        let issue = || crate::support::server::issue_session(&self.base).expect("a session");
        sessions.entry(name.to_string()).or_insert_with(issue).clone()
    }

    fn request(&self, method: reqwest::Method, path: &str, session: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match session {
            Some(name) => request.header("X-Slipway-Session", self.token(name)),
            None => request,
        }
    }

    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        session: Option<&str>,
        body: Value,
    ) -> Result<(u16, Value)> {
        let response = self.request(method, path, session).json(&body).send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    async fn get(&self, path: &str, session: Option<&str>) -> Result<reqwest::Response> {
        Ok(self
            .request(reqwest::Method::GET, path, session)
            .header("Accept", MANIFEST)
            .send()
            .await?)
    }

    /// `docker run --rm IMAGE CMD...` for `session`: the exit code and the output, or the refusal.
    async fn run(
        &self,
        session: &str,
        image: &str,
        cmd: &[&str],
    ) -> Result<Result<(i64, String), (u16, Value)>> {
        let (status, created) = self
            .json(
                reqwest::Method::POST,
                "/api/containers?start=true",
                Some(session),
                json!({"image": image, "cmd": cmd}),
            )
            .await?;
        if status != 201 {
            return Ok(Err((status, created)));
        }
        let id = created["id"].as_str().unwrap_or_default().to_string();
        let (_, state) = self
            .json(
                reqwest::Method::POST,
                &format!("/api/containers/{id}/wait"),
                Some(session),
                json!({}),
            )
            .await?;
        let logs = self
            .get(&format!("/api/containers/{id}/logs"), Some(session))
            .await?
            .text()
            .await?;
        self.request(
            reqwest::Method::DELETE,
            &format!("/api/containers/{id}?force=true"),
            Some(session),
        )
        .send()
        .await?;
        Ok(Ok((state["exit_code"].as_i64().unwrap_or(-1), logs)))
    }
}

/// The busybox base image's manifest as the registry serves it.
async fn busybox_manifest(api: &Api) -> Result<Value> {
    let response = api.get("/v2/library/busybox/manifests/latest", None).await?;
    ensure!(
        response.status() == 200,
        "busybox is not in the registry: {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// `docker tag busybox learner1/bb:v1` in `session`'s local store: mount the blobs, PUT the manifest.
async fn tag_busybox_locally(api: &Api, session: &str, manifest: &Value) -> Result<String> {
    let repo = format!(
        "slipway-local/{}/learner1/bb",
        session_key(Some(&api.token(session)))
    );
    let mut digests = vec![manifest["config"]["digest"]
        .as_str()
        .unwrap_or_default()
        .to_string()];
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        digests.push(layer["digest"].as_str().unwrap_or_default().to_string());
    }
    for digest in digests {
        let path = format!("/v2/{repo}/blobs/uploads/?mount={digest}&from=library/busybox");
        let mounted = api
            .request(reqwest::Method::POST, &path, Some(session))
            .send()
            .await?;
        ensure!(mounted.status() == 201, "mount {digest}: {}", mounted.status());
    }
    let put = api
        .request(
            reqwest::Method::PUT,
            &format!("/v2/{repo}/manifests/v1"),
            Some(session),
        )
        .header("Content-Type", MANIFEST)
        .body(serde_json::to_vec(manifest)?)
        .send()
        .await?;
    ensure!(put.status() == 201, "manifest PUT: {}", put.status());
    Ok(repo)
}

fn mtime(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).and_then(|m| m.modified()).expect("mtime")
}

#[tokio::test]
async fn base_images_are_imported_into_the_registry_at_start_and_run_from_there() -> Result<()> {
    if !super::can_run_containers() {
        return Ok(());
    }
    let data = TempDir::new("runner-base-import");
    with_busybox(&data)?;
    let data_dir = data.path().to_path_buf();
    let tag_file = data_dir.join("registry/repos/library/busybox/_repo/tags/latest");
    // `slipway base-images` already imported it; serve finds it there and leaves it alone.
    ensure!(tag_file.is_file(), "slipway base-images did not import busybox");
    let imported_at = mtime(&tag_file);
    let server = Server::start_in(data, Path::new("/nonexistent"), &[])?;
    let api = Api::new(&server);
    ensure!(
        mtime(&tag_file) == imported_at,
        "the import at start rewrote an image already there"
    );
    busybox_manifest(&api).await?;
    let catalog: Value = api.get("/v2/_catalog", None).await?.json().await?;
    ensure!(catalog["repositories"] == json!(["library/busybox"]), "{catalog}");

    // Without the layout, `docker run busybox` is served from the registry alone.
    std::fs::remove_dir_all(data_dir.join("base-images"))?;
    let ran = api.run("s1", "busybox", &["echo", "from the registry"]).await?;
    ensure!(ran == Ok((0, "from the registry\n".into())), "{ran:?}");
    drop(server);

    // A fresh registry: the import happens at start.
    let data = TempDir::new("runner-base-import-start");
    with_busybox(&data)?;
    std::fs::remove_dir_all(data.path().join("registry"))?;
    let layers_dir = data.path().join("runner/layers");
    let server = Server::start_in(data, Path::new("/nonexistent"), &[])?;
    busybox_manifest(&Api::new(&server)).await?;
    // ... and its layers are unpacked in the background, before any container asks for them.
    let mut unpacked = 0;
    for _ in 0..100 {
        unpacked = std::fs::read_dir(&layers_dir).map(|d| d.count()).unwrap_or(0);
        if unpacked > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ensure!(
        unpacked == 1,
        "busybox's one layer was not unpacked ahead of use ({unpacked} dirs)"
    );
    Ok(())
}

#[tokio::test]
async fn sessions_run_their_local_images_and_run_steps_store_layers_in_their_repository() -> Result<()> {
    let Some(server) = busybox_server("runner-local-images", &[])? else {
        return Ok(());
    };
    let api = Api::new(&server);
    let busybox = busybox_manifest(&api).await?;
    let repo = tag_busybox_locally(&api, "session-a", &busybox).await?;

    // `docker run learner1/bb:v1`: only the session that has it in its local store can run it.
    let ran = api.run("session-a", "learner1/bb:v1", &["echo", "mine"]).await?;
    ensure!(ran == Ok((0, "mine\n".into())), "{ran:?}");
    // Not by its short name, nor by its full local repository name.
    for image in ["learner1/bb:v1".to_string(), format!("{repo}:v1")] {
        let refused = api.run("session-b", &image, &["echo", "theirs"]).await?;
        ensure!(matches!(&refused, Err((404, _))), "{image}: {refused:?}");
    }

    // A RUN step names its session's repository: the layer is a blob there, served with a matching digest.
    let layers: Vec<Value> = busybox["layers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| l["digest"].clone())
        .collect();
    let step = json!({"layers": layers, "command": "echo hi > /hi.txt", "repository": repo});
    let (status, answer) = api
        .json(
            reqwest::Method::POST,
            "/api/steps",
            Some("session-a"),
            step.clone(),
        )
        .await?;
    ensure!(status == 200 && answer["exit_code"] == 0, "{status} {answer}");
    let layer = &answer["layer"];
    let digest = layer["digest"].as_str().unwrap_or_default().to_string();
    let blob = api
        .get(&format!("/v2/{repo}/blobs/{digest}"), Some("session-a"))
        .await?;
    ensure!(blob.status() == 200, "blob GET: {}", blob.status());
    let bytes = blob.bytes().await?;
    ensure!(
        format!("sha256:{:x}", Sha256::digest(&bytes)) == digest,
        "served bytes differ from {digest}"
    );
    ensure!(layer["size"] == bytes.len(), "{layer}");
    let foreign = api
        .get(&format!("/v2/{repo}/blobs/{digest}"), Some("session-b"))
        .await?;
    ensure!(
        foreign.status() == 404,
        "another session read the layer: {}",
        foreign.status()
    );

    // The next step stacks on it: the layer digest resolves through the registry's blob store.
    let mut stacked = layers.clone();
    stacked.push(json!(digest));
    let next = json!({"layers": stacked, "command": "cat /hi.txt"});
    let (status, answer) = api
        .json(
            reqwest::Method::POST,
            "/api/steps",
            Some("session-a"),
            next.clone(),
        )
        .await?;
    ensure!(status == 200 && answer["output"] == "hi\n", "{status} {answer}");
    // Knowing the digest is not enough for another session: the layer is in session a's store only.
    let (status, answer) = api
        .json(reqwest::Method::POST, "/api/steps", Some("session-b"), next)
        .await?;
    ensure!(
        status == 404,
        "session b stacked session a's layer: {status} {answer}"
    );

    // Another session's repository, or one outside slipway-local, is refused before anything runs.
    for (session, target) in [
        ("session-b", repo.clone()),
        ("session-a", "learner1/app".to_string()),
        (
            "session-a",
            format!("slipway-local/{}", session_key(Some(&api.token("session-a")))),
        ),
    ] {
        let mut step = step.clone();
        step["repository"] = json!(target);
        let (status, answer) = api
            .json(reqwest::Method::POST, "/api/steps", Some(session), step)
            .await?;
        ensure!(status == 404, "{session} → {target}: {status} {answer}");
    }
    Ok(())
}

#[tokio::test]
async fn a_run_step_over_its_sessions_quota_fails_cleanly() -> Result<()> {
    let Some(server) = busybox_server("runner-local-quota", &["--namespace-quota", "4096"])? else {
        return Ok(());
    };
    let runner_dir = server.data.path().join("runner");
    let api = Api::new(&server);
    let busybox = busybox_manifest(&api).await?;
    let repo = format!(
        "slipway-local/{}/learner1/big",
        session_key(Some(&api.token("session-q")))
    );
    let step = json!({"layers": [busybox["layers"][0]["digest"]], "repository": repo,
        "command": "dd if=/dev/urandom of=/big bs=1k count=64 2>/dev/null"});
    let (status, answer) = api
        .json(
            reqwest::Method::POST,
            "/api/steps",
            Some("session-q"),
            step.clone(),
        )
        .await?;
    ensure!(status == 507, "{status} {answer}");
    ensure!(
        answer["message"].as_str().unwrap_or("").contains("quota"),
        "{answer}"
    );
    let leftovers = std::fs::read_dir(runner_dir.join("c"))?.count();
    ensure!(
        leftovers == 0,
        "{leftovers} container dirs left after the failed step"
    );

    // Streamed, the refusal comes after the command ran: the stream's last event carries the same status.
    let streamed = api
        .request(reqwest::Method::POST, "/api/steps", Some("session-q"))
        .header("Accept", "application/x-ndjson")
        .json(&step)
        .send()
        .await?;
    ensure!(streamed.status() == 200, "{}", streamed.status());
    let text = streamed.text().await?;
    let last: Value = serde_json::from_str(text.lines().last().unwrap_or_default())?;
    ensure!(last["error"]["status"] == 507, "streamed answer: {text}");
    ensure!(
        last["error"]["message"].as_str().unwrap_or("").contains("quota"),
        "{last}"
    );
    let leftovers = std::fs::read_dir(runner_dir.join("c"))?.count();
    ensure!(
        leftovers == 0,
        "{leftovers} container dirs left after the failed streamed step"
    );
    Ok(())
}
