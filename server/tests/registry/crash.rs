//! `kill -9` in the middle of uploads and manifest writes: after a restart every committed object is intact, the
//! half-sent blob is nowhere, and the interrupted session resumes from what the server reports.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use super::*;

/// Send a request's head and the first `sent` bytes of a body announced as `total` bytes, then stall.
fn start_partial_request(
    addr: &str,
    method: &str,
    path: &str,
    total: usize,
    sent: &[u8],
) -> Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\n\r\n"
    )?;
    stream.write_all(sent)?;
    stream.flush()?;
    Ok(stream)
}

/// Wait until the server has written at least `bytes` bytes somewhere under `dir`.
fn wait_for_bytes_under(dir: &Path, bytes: u64) {
    fn size(dir: &Path) -> u64 {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => size(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    for _ in 0..800 {
        if size(dir) >= bytes {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the server never wrote {bytes} bytes under {}", dir.display());
}

#[tokio::test]
async fn kill_during_uploads_keeps_committed_objects_and_hides_partial_ones() -> Result<()> {
    let data = TempDir::new("reg-crash");
    let server = Server::start(data.path())?;
    let c = client();
    let manifest = push_image(&server, "learner1/app", "v1", 31).await?;
    let committed = noise(1_000_000, 32);
    let committed_digest = push_blob(&server, "learner1/app", &committed).await?;

    // A session with one whole chunk, then a second chunk cut off by the kill.
    let big = noise(8 << 20, 33);
    let big_digest = sha256(&big);
    let start = c
        .post(server.url("/v2/learner1/app/blobs/uploads/"))
        .send()
        .await?;
    let location = header(&start, "location");
    let first = c
        .patch(server.url(&location))
        .body(big[..1 << 20].to_vec())
        .send()
        .await?;
    assert_eq!(first.status(), 202);
    let _chunk = start_partial_request(&server.addr, "PATCH", &location, 7 << 20, &big[1 << 20..3 << 20])?;
    // And a monolithic upload of a different blob, half sent.
    let other = noise(4 << 20, 34);
    let other_digest = sha256(&other);
    let path = format!("/v2/learner1/app/blobs/uploads/?digest={other_digest}");
    let _mono = start_partial_request(&server.addr, "POST", &path, other.len(), &other[..2 << 20])?;
    wait_for_bytes_under(&data.path().join("registry/tmp"), 1 << 20);
    wait_for_bytes_under(&data.path().join("registry/uploads"), (1 << 20) + (512 << 10));
    server.kill();

    assert_blobs_intact(data.path());
    let server = Server::start(data.path())?;
    let get = c.get(server.url("/v2/learner1/app/manifests/v1")).send().await?;
    assert_eq!(get.bytes().await?.as_ref(), &manifest[..]);
    let get = c
        .get(server.url(&format!("/v2/learner1/app/blobs/{committed_digest}")))
        .send()
        .await?;
    assert_eq!(get.bytes().await?.as_ref(), &committed[..]);
    // The half-sent monolithic blob is not visible, and its temp file is gone.
    let head = c
        .head(server.url(&format!("/v2/learner1/app/blobs/{other_digest}")))
        .send()
        .await?;
    assert_eq!(head.status(), 404);
    assert_eq!(std::fs::read_dir(data.path().join("registry/tmp"))?.count(), 0);

    // The session survived: resume from the offset the server reports, finish, verify.
    let status = c.get(server.url(&location)).send().await?;
    assert_eq!(status.status(), 204);
    let range = header(&status, "range");
    let offset: usize = range.trim_start_matches("0-").parse::<usize>()? + 1;
    assert!((1 << 20..=3 << 20).contains(&offset), "resume offset {offset}");
    let rest = c
        .patch(server.url(&location))
        .header("content-range", format!("{offset}-{}", big.len() - 1))
        .body(big[offset..].to_vec())
        .send()
        .await?;
    assert_eq!(rest.status(), 202);
    let finish = c
        .put(server.url(&format!("{location}?digest={big_digest}")))
        .send()
        .await?;
    assert_eq!(finish.status(), 201, "{}", finish.text().await?);
    let get = c
        .get(server.url(&format!("/v2/learner1/app/blobs/{big_digest}")))
        .send()
        .await?;
    assert_eq!(sha256(&get.bytes().await?), big_digest);
    Ok(())
}

#[tokio::test]
async fn kill_during_manifest_writes_leaves_every_tag_whole() -> Result<()> {
    let data = TempDir::new("reg-crash-manifests");
    for round in 0..3u64 {
        let server = Server::start(data.path())?;
        // Push images as fast as possible and kill the server at a moment the pushes do not choose.
        let base = server.base.clone();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = done.clone();
        let pusher = tokio::spawn(async move {
            let c = client();
            let mut n = 0u64;
            loop {
                let tag = format!("r{round}-{}", n % 5);
                let seed = round * 1000 + n;
                let config = format!(r#"{{"seed":{seed}}}"#).into_bytes();
                let digest = sha256(&config);
                let url = format!("{base}/v2/storm/blobs/uploads/?digest={digest}");
                if c.post(url).body(config.clone()).send().await.is_err() {
                    return n;
                }
                let manifest = image_manifest(&config, &[], serde_json::json!({}));
                let url = format!("{base}/v2/storm/manifests/{tag}");
                let sent = c
                    .put(url)
                    .header("content-type", OCI_MANIFEST)
                    .body(manifest)
                    .send()
                    .await;
                if sent.is_err() {
                    return n;
                }
                n += 1;
                counter.store(n, std::sync::atomic::Ordering::SeqCst);
            }
        });
        // Let a few pushes complete even on a loaded machine, then kill at an arbitrary moment.
        for _ in 0..400 {
            if done.load(std::sync::atomic::Ordering::SeqCst) >= 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tokio::time::sleep(Duration::from_millis(50 + 37 * round)).await;
        server.kill();
        let pushed = pusher.await?;
        assert!(pushed > 0, "round {round}: no push completed before the kill");

        assert_blobs_intact(data.path());
        let server = Server::start(data.path())?;
        let c = client();
        let tags: serde_json::Value = c
            .get(server.url("/v2/storm/tags/list"))
            .send()
            .await?
            .json()
            .await?;
        let tags = tags["tags"].as_array().unwrap().clone();
        assert!(!tags.is_empty());
        for tag in tags {
            let tag = tag.as_str().unwrap();
            let get = c
                .get(server.url(&format!("/v2/storm/manifests/{tag}")))
                .send()
                .await?;
            assert_eq!(get.status(), 200, "tag {tag} names a missing manifest");
            let digest = header(&get, "docker-content-digest");
            let bytes = get.bytes().await?;
            assert_eq!(sha256(&bytes), digest, "tag {tag}: torn manifest");
            let manifest: serde_json::Value = serde_json::from_slice(&bytes)?;
            let config = manifest["config"]["digest"].as_str().unwrap();
            let head = c
                .head(server.url(&format!("/v2/storm/blobs/{config}")))
                .send()
                .await?;
            assert_eq!(head.status(), 200, "tag {tag}: config blob missing");
        }
        server.kill();
    }
    Ok(())
}
