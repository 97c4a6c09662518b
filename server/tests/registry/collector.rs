//! `slipway serve`'s collector: stale upload sessions are removed while the server runs, fresh ones are kept.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use super::{client, error_code, header, noise, sha256, Server, TempDir};

/// Pretend `path` was last changed an hour ago (the grace in the test is 20 seconds).
fn age_by_an_hour(path: &Path) -> Result<()> {
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    file.set_modified(an_hour_ago)
        .with_context(|| format!("set mtime of {}", path.display()))?;
    Ok(())
}

/// The session directory on disk behind an upload URL (`.../blobs/uploads/<uuid>`).
fn session_dir(data: &Path, location: &str) -> std::path::PathBuf {
    let id = location.rsplit('/').next().expect("upload id in location");
    data.join("registry").join("uploads").join(id)
}

#[tokio::test]
async fn stale_upload_sessions_are_collected_and_fresh_ones_complete() -> Result<()> {
    let data = TempDir::new("reg-collect-uploads");
    let server = Server::start_with(data.path(), &["--upload-grace", "20"])?;
    let c = client();
    let blob = noise(64 * 1024, 14);
    let (first, rest) = blob.split_at(1000);

    let mut locations = Vec::new();
    for _ in 0..2 {
        let start = c
            .post(server.url("/v2/learner1/app/blobs/uploads/"))
            .send()
            .await?;
        assert_eq!(start.status(), 202);
        let location = header(&start, "location");
        let patch = c
            .patch(server.url(&location))
            .header("content-range", format!("0-{}", first.len() - 1))
            .body(first.to_vec())
            .send()
            .await?;
        assert_eq!(patch.status(), 202);
        locations.push(location);
    }
    let (stale, fresh) = (&locations[0], &locations[1]);
    // The stale session: nothing touched for an hour. The fresh one: its directory is as old, but its last chunk
    // just arrived, so it is in use.
    age_by_an_hour(&session_dir(data.path(), stale).join("data"))?;
    age_by_an_hour(&session_dir(data.path(), stale))?;
    age_by_an_hour(&session_dir(data.path(), fresh))?;

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = c.get(server.url(stale)).send().await?;
        if status.status() == 404 {
            assert_eq!(error_code(status).await, "BLOB_UPLOAD_UNKNOWN");
            break;
        }
        assert_eq!(status.status(), 204, "a session still there answers 204");
        assert!(
            Instant::now() < deadline,
            "the stale session was not collected within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        !session_dir(data.path(), stale).exists(),
        "the collected session's bytes are still on disk"
    );
    let patch = c.patch(server.url(stale)).body("more").send().await?;
    assert_eq!(error_code(patch).await, "BLOB_UPLOAD_UNKNOWN");

    // The collector has run at least once since the fresh session's chunk: it is still whole and completes.
    let status = c.get(server.url(fresh)).send().await?;
    assert_eq!(status.status(), 204);
    assert_eq!(header(&status, "range"), format!("0-{}", first.len() - 1));
    let digest = sha256(&blob);
    let finish = c
        .put(server.url(&format!("{fresh}?digest={digest}")))
        .header("content-range", format!("{}-{}", first.len(), blob.len() - 1))
        .body(rest.to_vec())
        .send()
        .await?;
    assert_eq!(finish.status(), 201);
    let stored = c
        .get(server.url(&format!("/v2/learner1/app/blobs/{digest}")))
        .send()
        .await?;
    assert_eq!(stored.status(), 200);
    assert_eq!(stored.bytes().await?.as_ref(), blob.as_slice());
    Ok(())
}
