//! A hostile process against the server's own resources: output without newlines cannot grow the server's
//! memory, a process that never reads its input blocks no async worker (the sender waits instead), and exited
//! containers give back their slots and their writable layer's memory.

use std::time::Duration;

use super::io::MAX_LINE;
use super::pace::{OutputPace, MAX_OUTPUT_PER_SECOND};
use super::tests::{assert_clean, cmd, started, test_env, test_env_with};
use super::{overlay, RunOptions};

/// The highest resident set this process has had, in bytes (`VmHWM`).
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

#[tokio::test]
async fn output_without_newlines_is_cut_into_lines_and_the_log_cap_holds() {
    let env = test_env();
    let max_log = env.runner.config.max_log_bytes;
    let before = peak_rss();
    // 256 MiB and not one newline: read line by line unbounded, it would be one 256 MiB buffer in the server.
    let c = started(&env, "busybox", cmd(&["head", "-c", "268435456", "/dev/zero"])).await;
    let state = tokio::time::timeout(Duration::from_secs(120), c.wait())
        .await
        .expect("the container ends");
    assert_eq!(state.exit_code, Some(0));
    let chunks = c.io.logs.since(None);
    assert!(!chunks.is_empty(), "no output was kept");
    let longest = chunks.iter().map(|ch| ch.data.len()).max().unwrap_or(0);
    assert!(longest <= MAX_LINE, "a log entry of {longest} bytes");
    let kept: usize = chunks.iter().map(|ch| ch.data.len()).sum();
    assert!(kept <= max_log, "{kept} bytes kept, the cap is {max_log}");
    let grown = peak_rss().saturating_sub(before);
    assert!(
        grown < 128 << 20,
        "the server's peak memory grew by {} MiB while a container wrote 256 MiB",
        grown >> 20
    );
    env.runner.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
}

/// A flood of output is paced, not swallowed: the process blocks in `write` once its stream has had
/// [`MAX_OUTPUT_PER_SECOND`], so `cat /dev/zero` keeps neither the server's reader nor its own CPU busy.
#[tokio::test]
async fn a_flood_of_output_is_paced_and_the_flooding_process_waits() {
    let env = test_env();
    let mib = 3 * (MAX_OUTPUT_PER_SECOND >> 20) / 2;
    let started_at = std::time::Instant::now();
    let c = started(
        &env,
        "busybox",
        cmd(&["sh", "-c", &format!("head -c {}m /dev/zero", mib)]),
    )
    .await;
    let state = tokio::time::timeout(Duration::from_secs(60), c.wait())
        .await
        .expect("the container ends");
    assert_eq!(state.exit_code, Some(0));
    let took = started_at.elapsed();
    // 1.5 seconds' worth: at least the second window must have waited.
    assert!(
        took >= Duration::from_millis(1000),
        "{mib} MiB of output went through in {took:?}, faster than the pace"
    );
    env.runner.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
}

#[test]
fn the_pace_lets_a_window_through_then_waits_it_out() {
    let mut pace = OutputPace::new();
    let started_at = std::time::Instant::now();
    // Half a second's worth in 16 KiB lines.
    for _ in 0..(MAX_OUTPUT_PER_SECOND / 2) / MAX_LINE {
        pace.took(MAX_LINE);
    }
    let took = started_at.elapsed();
    assert!(
        took >= Duration::from_millis(400),
        "half a second's output in {took:?}"
    );
    // A trickle never waits.
    let mut pace = OutputPace::new();
    let started_at = std::time::Instant::now();
    for _ in 0..1000 {
        pace.took(100);
    }
    assert!(started_at.elapsed() < Duration::from_millis(100));
}

/// On the test's single-threaded runtime: if a write to the container's stdin blocked the thread, the timer
/// below could not fire at all.
#[tokio::test]
async fn a_process_that_never_reads_its_stdin_blocks_the_sender_not_the_runtime() {
    let env = test_env();
    let c = started(
        &env,
        "busybox",
        RunOptions {
            interactive: true,
            ..cmd(&["sleep", "1000"])
        },
    )
    .await;
    let writer = {
        let c = c.clone();
        tokio::spawn(async move {
            // 16 MiB: far more than a pipe (64 KiB) and the input queue hold.
            for _ in 0..256 {
                c.write_input(&[b'x'; 64 * 1024]).await?;
            }
            std::io::Result::Ok(())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !writer.is_finished(),
        "16 MiB went into a process that reads nothing: the input is not bounded"
    );
    env.runner.remove(&c, true).await.unwrap();
    // The process is gone: the writer thread sees a broken pipe and the waiting sender gets an error.
    let sent = tokio::time::timeout(Duration::from_secs(20), writer)
        .await
        .expect("the sender is released once the container is gone")
        .expect("the sender task");
    assert!(sent.is_err(), "all 16 MiB were accepted by a removed container");
    assert_clean(&env, &c.id);
}

/// Seventeen learners who each leave two exited containers must not lock everyone out.
#[tokio::test]
async fn exited_containers_hold_no_slot_and_no_writable_layer() {
    let env = test_env_with(|c| {
        c.max_per_session = 2;
        c.max_exited_per_session = 3;
    });
    let mut ids = Vec::new();
    for _ in 0..6 {
        // Each writes to its writable layer (a tmpfs) and exits; at a limit of two live ones, none is refused.
        let c = started(
            &env,
            "busybox",
            cmd(&["sh", "-c", "head -c 1048576 /dev/zero > /kept; echo done"]),
        )
        .await;
        let state = tokio::time::timeout(Duration::from_secs(30), c.wait())
            .await
            .expect("the container ends");
        assert_eq!(state.exit_code, Some(0));
        assert_eq!(
            overlay::mounts_below(&c.dir),
            Vec::<String>::new(),
            "an exited container keeps mounts"
        );
        assert!(
            !c.dir.join("rw").exists(),
            "an exited container keeps its writable layer's tmpfs"
        );
        let kept = std::fs::metadata(c.dir.join("kept.tar.gz")).expect("its changes are kept on disk");
        assert!(
            kept.len() < 64 << 10,
            "the kept changes are the layer, compressed: {} bytes",
            kept.len()
        );
        ids.push(c.id.clone());
    }
    // A live one beside the exited ones is admitted too.
    let live = started(&env, "busybox", cmd(&["sleep", "100"])).await;
    let kept: Vec<String> = env
        .runner
        .list(true)
        .into_iter()
        .filter(|s| s.id != live.id)
        .map(|s| s.id)
        .collect();
    assert_eq!(
        kept.len(),
        3,
        "the session keeps its three newest exited containers: {kept:?}"
    );
    for id in &ids[..3] {
        assert!(
            !kept.contains(id),
            "the oldest exited container {id} is still listed"
        );
    }
    for id in &ids[3..] {
        let c = env.runner.get(id).expect("a kept exited container");
        assert_eq!(
            String::from_utf8_lossy(&c.io.logs.all_bytes()),
            "done\n",
            "its logs stay"
        );
    }
    env.runner.remove(&live, true).await.unwrap();
    for id in &ids[3..] {
        let c = env.runner.get(id).expect("kept");
        env.runner.remove(&c, false).await.unwrap();
    }
    for id in &ids {
        assert_clean(&env, id);
    }
}

/// A stopped container's kept changes are a layer like any other when it starts again: a symlink that climbs
/// out of the root is refused by the unpacker, the container stays stopped saying why, and no mount is left.
#[tokio::test]
async fn a_kept_layer_with_an_escaping_symlink_does_not_start_again() {
    let env = test_env();
    let c = started(
        &env,
        "busybox",
        cmd(&[
            "sh",
            "-c",
            "echo kept > /note; ln -s ../../../../../../etc/shadow /escape",
        ]),
    )
    .await;
    let state = tokio::time::timeout(Duration::from_secs(30), c.wait())
        .await
        .expect("the container ends");
    assert_eq!(state.exit_code, Some(0));
    let refused = env.runner.start_again(&c).await.expect_err("refused");
    assert!(
        refused.to_string().contains("escapes the layer root"),
        "{refused}"
    );
    let state = c.state();
    assert_eq!(state.status, super::Status::Exited);
    assert!(
        state.error.as_deref().unwrap_or_default().contains("escapes"),
        "{state:?}"
    );
    assert_eq!(overlay::mounts_below(&c.dir), Vec::<String>::new(), "mounts left");
    env.runner.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
}
