//! `ADD <url>` end to end: the interpreter's `docker build` against a real `slipway serve` that fetches from a
//! local HTTP server of the test's (127.0.0.1, allowed with `--fetch-allow`); the built image is read back from
//! the session's local store to check the file BuildKit would have made (name, mode, owner, mtime), and each
//! refusal says what BuildKit or the server's operator would need.
//! The last test does the same in the page (Chromium), typing the build in its terminal.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use sha2::Digest;
use slipway::builder::MemoryCache;

use crate::build::peers::{context, docker_build};
use crate::support::server::{named_session, Server};

const HELLO: &str = "hello from the web\n";
/// 784111777 seconds since the epoch.
const MODIFIED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// The remote host: a file with `Last-Modified`, a redirect to a host name the server is not told to allow, a
/// file over the size limit (with and without `Content-Length`) and a gzip-encoded answer.
async fn remote_host() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let big = || vec![b'x'; 2 << 20];
    let app = Router::new()
        .route(
            "/files/hello.txt",
            get(|| async { ([(header::LAST_MODIFIED, MODIFIED)], HELLO) }),
        )
        .route("/", get(|| async { "the root\n" }))
        .route(
            "/redirect",
            get(move || async move {
                let to = format!("http://localhost:{}/files/hello.txt", addr.port());
                (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
            }),
        )
        .route("/big", get(move || async move { big() }))
        .route(
            "/big-chunked",
            get(move || async move {
                let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 64 << 10]));
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        )
        .route(
            "/bomb.gz",
            get(|| async { ([(header::CONTENT_ENCODING, "gzip")], vec![0x1f, 0x8b, 0, 0]) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(data))
}

fn sha512(data: &[u8]) -> String {
    format!("sha512:{:x}", sha2::Sha512::digest(data))
}

/// One tar entry of a layer: path → (mode, uid, gid, mtime, content).
type Entry = (u32, u64, u64, u64, Vec<u8>);

/// GET `path` of the session's local repository `learner1/NAME` (a manifest or a blob).
async fn local(server: &Server, name: &str, path: &str) -> anyhow::Result<bytes::Bytes> {
    let session = named_session(&server.url, "docker-build");
    let key = slipway::image::local_store::session_key(Some(session));
    let url = format!("{}/v2/slipway-local/{key}/learner1/{name}/{path}", server.url);
    let answer = reqwest::Client::new()
        .get(url)
        .header(slipway::api::SESSION_HEADER, session)
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await?;
    Ok(answer.error_for_status()?.bytes().await?)
}

/// The layers of `learner1/NAME:v1` of the `docker-build` session, each as its entries by path.
async fn layers(
    server: &Server,
    name: &str,
) -> anyhow::Result<Vec<std::collections::BTreeMap<String, Entry>>> {
    let manifest: serde_json::Value = serde_json::from_slice(&local(server, name, "manifests/v1").await?)?;
    let mut out = Vec::new();
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let digest = layer["digest"].as_str().unwrap_or_default();
        let gzipped = local(server, name, &format!("blobs/{digest}")).await?;
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[..]).read_to_end(&mut tar)?;
        let mut entries = std::collections::BTreeMap::new();
        for entry in tar::Archive::new(&tar[..]).entries()? {
            let mut entry = entry?;
            let path = entry.path()?.to_string_lossy().trim_end_matches('/').to_string();
            let h = entry.header().clone();
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            entries.insert(path, (h.mode()?, h.uid()?, h.gid()?, h.mtime()?, data));
        }
        out.push(entries);
    }
    Ok(out)
}

/// A build of `dockerfile` as `learner1/NAME:v1` with a fresh cache: (exit code, everything it printed).
async fn build(server: &Server, name: &str, dockerfile: &str) -> (i32, String) {
    build_with(server, &MemoryCache::new(), name, dockerfile).await
}

async fn build_with(server: &Server, cache: &MemoryCache, name: &str, dockerfile: &str) -> (i32, String) {
    let tree = context(&[("Dockerfile", dockerfile)]);
    let line = format!("docker build -t learner1/{name}:v1 .");
    let outcome = docker_build(server, cache, &line, &tree).await;
    (outcome.exit_code, format!("{}{}", outcome.stdout, outcome.stderr))
}

/// A right checksum builds (`sha512:` hashed with sha512, as go-digest does), and the file is where and as BuildKit puts it: named after the URL's path (or
/// `__unnamed__`), 0600 and root's unless `--chmod`/`--chown`, its mtime the answer's `Last-Modified`; a
/// second build of the same file is CACHED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_of_a_url_with_its_checksum_is_in_the_layer_as_buildkit_makes_it() -> anyhow::Result<()> {
    let remote = remote_host().await?;
    let allow = format!("127.0.0.1:{}", remote.port());
    let server = Server::start_with(Path::new("/nonexistent"), &["--fetch-allow", &allow])?;
    let base = format!("http://{remote}");
    let dockerfile = format!(
        "FROM scratch\n\
         ADD --checksum={sum} {base}/files/hello.txt /app/\n\
         ADD --chmod=644 --chown=1000:1000 --checksum={sum512} {base}/files/hello.txt /app/renamed.txt\n\
         ADD {base}/ /app/\n",
        sum = sha256(HELLO.as_bytes()),
        sum512 = sha512(HELLO.as_bytes()),
    );
    let cache = MemoryCache::new();
    let (code, output) = build_with(&server, &cache, "fetched", &dockerfile).await;
    assert_eq!(code, 0, "{output}");
    let layers = layers(&server, "fetched").await?;
    assert_eq!(layers.len(), 3, "{layers:?}");
    let (mode, uid, gid, mtime, data) = &layers[0]["app/hello.txt"];
    assert_eq!((*mode & 0o7777, *uid, *gid, *mtime), (0o600, 0, 0, 784_111_777));
    assert_eq!(data, HELLO.as_bytes());
    let (mode, uid, gid, _, data) = &layers[1]["app/renamed.txt"];
    assert_eq!((*mode & 0o7777, *uid, *gid), (0o644, 1000, 1000));
    assert_eq!(data, HELLO.as_bytes());
    let (mode, _, _, mtime, data) = &layers[2]["app/__unnamed__"];
    assert_eq!(
        (*mode & 0o7777, *mtime),
        (0o600, 0),
        "no Last-Modified: the epoch"
    );
    assert_eq!(data, b"the root\n");

    let (code, again) = build_with(&server, &cache, "fetched", &dockerfile).await;
    assert_eq!(code, 0, "{again}");
    assert_eq!(again.matches("CACHED").count(), 3, "{again}");
    server.stop()?;
    Ok(())
}

/// A wrong checksum fails with BuildKit's words; a host not allowed, a redirect to one, an answer over the size
/// limit (announced or streamed) and a compressed answer are refused by the server, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_of_a_url_is_refused_on_a_wrong_checksum_and_outside_the_allowlist() -> anyhow::Result<()> {
    let remote = remote_host().await?;
    let allow = format!("127.0.0.1:{}", remote.port());
    let server = Server::start_with(
        Path::new("/nonexistent"),
        &["--fetch-allow", &allow, "--fetch-max-bytes", "1048576"],
    )?;
    let base = format!("http://{remote}");
    let wrong = format!("sha256:{}", "0".repeat(64));
    let (code, output) = build(
        &server,
        "wrong",
        &format!("FROM scratch\nADD --checksum={wrong} {base}/files/hello.txt /app/\n"),
    )
    .await;
    assert_ne!(code, 0);
    let expected = format!(
        "digest mismatch for {base}/files/hello.txt: {} (expected: {wrong})",
        sha256(HELLO.as_bytes())
    );
    assert!(output.contains(&expected), "{output}");

    let refused = [
        (
            format!("http://localhost:{}/files/hello.txt", remote.port()),
            format!(
                "localhost:{}: the server's operator has not allowed this host",
                remote.port()
            ),
        ),
        (
            format!("{base}/redirect"),
            format!(
                "redirected to localhost:{}, which the server's operator has not allowed",
                remote.port()
            ),
        ),
        (
            format!("{base}/big"),
            "larger than this server's limit of 1048576 bytes".into(),
        ),
        (
            format!("{base}/big-chunked"),
            "larger than this server's limit of 1048576 bytes".into(),
        ),
        (
            format!("{base}/bomb.gz"),
            "the answer is compressed (Content-Encoding: gzip)".into(),
        ),
    ];
    for (url, message) in refused {
        let (code, output) = build(&server, "refused", &format!("FROM scratch\nADD {url} /app/\n")).await;
        assert_ne!(code, 0, "{url}: {output}");
        assert!(output.contains(&message), "{url}: {output}");
        assert!(
            output.contains("--fetch-allow") || !message.contains("allowed"),
            "{output}"
        );
    }
    server.stop()?;
    Ok(())
}

/// Without `--fetch-allow` nothing is fetched and the message names the flag; allowed by host alone, the
/// server's own listener stays out of reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_of_a_url_needs_the_operators_allowlist_and_never_reaches_the_server_itself() -> anyhow::Result<()>
{
    let remote = remote_host().await?;
    let closed = Server::start_with(Path::new("/nonexistent"), &[])?;
    let url = format!("http://{remote}/files/hello.txt");
    let (code, output) = build(&closed, "closed", &format!("FROM scratch\nADD {url} /app/\n")).await;
    assert_ne!(code, 0);
    assert!(output.contains("this server fetches no URLs for ADD"), "{output}");
    assert!(
        output.contains("slipway serve --fetch-allow HOST[:PORT]"),
        "{output}"
    );
    closed.stop()?;

    let open = Server::start_with(Path::new("/nonexistent"), &["--fetch-allow", "127.0.0.1"])?;
    let own = format!("{}/api/info", open.url);
    let (code, output) = build(&open, "own", &format!("FROM scratch\nADD {own} /app/\n")).await;
    assert_ne!(code, 0);
    assert!(output.contains("is this server's own listener"), "{output}");
    // The remote host on another port of the same address is allowed by the same entry.
    let (code, output) = build(&open, "other", &format!("FROM scratch\nADD {url} /app/\n")).await;
    assert_eq!(code, 0, "{output}");
    open.stop()?;
    Ok(())
}

/// In the page: a project whose Dockerfile ADDs a file of the test's HTTP server with `--checksum`, built by
/// typing `docker build -t user/app:v1 .` in the terminal (the page fetches through the companion, which allows
/// that host with `--fetch-allow`): the step runs and names the image, a second build is CACHED, and a Dockerfile
/// with a wrong checksum (`-f Dockerfile.wrong`) fails with BuildKit's mismatch text.
#[tokio::test(flavor = "multi_thread")]
async fn add_of_a_url_with_its_checksum_builds_in_the_page() -> anyhow::Result<()> {
    use crate::support::project::{Project, ProjectFile};
    let remote = remote_host().await?;
    let allow = format!("127.0.0.1:{}", remote.port());
    let dist = crate::support::server::dist_dir();
    let server = Server::start_with(&dist, &["--fetch-allow", &allow])?;
    let file_url = format!("http://{remote}/files/hello.txt");
    let (right, wrong) = (sha256(HELLO.as_bytes()), sha256(b"something else"));
    let add = |sum: &str| format!("FROM scratch\nADD --checksum={sum} {file_url} /app/\n");
    let project = Project::from_files([
        ("Dockerfile", ProjectFile::new(add(&right))),
        ("Dockerfile.wrong", ProjectFile::new(add(&wrong))),
    ])?;
    let page_url = project.share_link(&format!("{}/", server.url));
    let mismatch = format!("digest mismatch for {file_url}: {right} (expected: {wrong})");
    let name = "add_of_a_url_with_its_checksum_builds_in_the_page";
    crate::support::browser::on_the_page(name, &page_url, |page| async move {
        page.wait_for_text("Companion status", "a connection", |t| {
            t.starts_with("companion connected")
        })
        .await?;
        let line = "docker build -t user/app:v1 .";
        let built = page.terminal_command(line, "naming to").await?;
        anyhow::ensure!(
            built.contains(&format!("ADD --checksum={right} {file_url} /app/"))
                && built.contains("user/app:v1"),
            "{built}"
        );
        let again = page.terminal_command(line, "naming to").await?;
        anyhow::ensure!(again.contains("CACHED"), "{again}");
        let before = page.text_of("Terminal output").await?.len();
        page.type_into(
            "Terminal input",
            "docker build -f Dockerfile.wrong -t user/wrong:v1 .\u{E007}",
        )
        .await?;
        page.wait_for_text("Terminal output", "the checksum mismatch", |t| {
            t.get(before..).is_some_and(|new| new.contains(&mismatch))
        })
        .await
        .map(drop)
    })
    .await?;
    server.stop()?;
    Ok(())
}

/// A host that counts what it is asked: `/counted.txt` sends `ETag: "v1"` and answers `If-None-Match: "v1"`
/// with `304 Not Modified`. The counters: (full answers, 304 answers).
async fn counting_host() -> anyhow::Result<(SocketAddr, std::sync::Arc<[std::sync::atomic::AtomicUsize; 2]>)>
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    let counts = std::sync::Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let seen = counts.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route(
        "/counted.txt",
        get(move |headers: axum::http::HeaderMap| async move {
            let asked = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
            if asked == Some("\"v1\"") {
                seen[1].fetch_add(1, Ordering::SeqCst);
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"v1\"")]).into_response();
            }
            seen[0].fetch_add(1, Ordering::SeqCst);
            (
                [(header::ETAG, "\"v1\""), (header::LAST_MODIFIED, MODIFIED)],
                HELLO,
            )
                .into_response()
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, counts))
}

/// As BuildKit's http source: an `ADD --checksum` step that is cached is keyed by its checksum and fetches
/// nothing (the host is asked once for two builds); without a checksum, the second build asks with
/// `If-None-Match` the `ETag` the host sent, and the host's `304` reuses the cached step (the file as before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_of_a_url_is_not_fetched_again_when_its_checksum_or_etag_says_it_is_cached() -> anyhow::Result<()>
{
    use std::sync::atomic::Ordering;
    let (remote, counts) = counting_host().await?;
    let allow = format!("127.0.0.1:{}", remote.port());
    let server = Server::start_with(Path::new("/nonexistent"), &["--fetch-allow", &allow])?;
    let url = format!("http://{remote}/counted.txt");
    let count = || (counts[0].load(Ordering::SeqCst), counts[1].load(Ordering::SeqCst));

    let summed = format!(
        "FROM scratch\nADD --checksum={} {url} /app/\n",
        sha256(HELLO.as_bytes())
    );
    let cache = MemoryCache::new();
    let (code, first) = build_with(&server, &cache, "summed", &summed).await;
    assert_eq!(code, 0, "{first}");
    assert_eq!(count(), (1, 0), "{first}");
    let (code, again) = build_with(&server, &cache, "summed", &summed).await;
    assert_eq!(code, 0, "{again}");
    assert!(again.contains("CACHED"), "{again}");
    assert_eq!(
        count(),
        (1, 0),
        "a cached step with a checksum fetches nothing: {again}"
    );

    let plain = format!("FROM scratch\nADD {url} /app/\n");
    let cache = MemoryCache::new();
    let (code, first) = build_with(&server, &cache, "etagged", &plain).await;
    assert_eq!(code, 0, "{first}");
    assert_eq!(count(), (2, 0), "{first}");
    let (code, again) = build_with(&server, &cache, "etagged", &plain).await;
    assert_eq!(code, 0, "{again}");
    assert_eq!(
        count(),
        (2, 1),
        "the second build asks with If-None-Match: {again}"
    );
    assert!(again.contains("CACHED"), "{again}");
    let layers = layers(&server, "etagged").await?;
    let (mode, _, _, mtime, data) = &layers[0]["app/counted.txt"];
    assert_eq!((*mode & 0o7777, *mtime), (0o600, 784_111_777));
    assert_eq!(data, HELLO.as_bytes());
    server.stop()?;
    Ok(())
}
