//! Real-container tests of a container's life: the writable-layer limit, `-i` stdin, crash recovery, and
//! start-time measurements (ignored).

use std::sync::Arc;
use std::time::Duration;

use super::tests::{assert_clean, cmd, run, started, test_env, test_env_with};
use super::*;

#[tokio::test]
async fn writable_layer_is_size_limited() {
    let env = test_env_with(|c| c.writable_limit = Some(8 << 20));
    let script = "dd if=/dev/zero of=/big bs=1M count=20 2>&1; wc -c < /big";
    let (state, out) = run(&env, cmd(&["sh", "-c", script])).await;
    assert!(out.contains("No space left on device"), "{out}");
    let written: u64 = out.lines().last().unwrap().trim().parse().unwrap();
    assert!(written <= 8 << 20, "{written} bytes written past an 8 MiB limit");
    assert_eq!(
        state.exit_code,
        Some(0),
        "the shell goes on; only the write failed"
    );
}

#[tokio::test]
async fn interactive_stdin_reaches_the_process() {
    let env = test_env();
    let r = &env.runner;
    let c = started(
        &env,
        "busybox",
        RunOptions {
            interactive: true,
            ..cmd(&["sh", "-c", "tr a-z A-Z; echo end"])
        },
    )
    .await;
    c.write_input(b"hello stdin\n").await.unwrap();
    c.close_input();
    let state = tokio::time::timeout(Duration::from_secs(20), c.wait())
        .await
        .unwrap();
    assert_eq!(state.exit_code, Some(0));
    assert_eq!(
        String::from_utf8_lossy(&c.io.logs.all_bytes()),
        "HELLO STDIN\nend\n"
    );
    r.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
}

/// Timings for the benchmark list: `cargo test -p slipway-server --lib bench_ -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "benchmark: prints timings"]
async fn bench_start_times() {
    let env = test_env_with(|c| c.max_per_session = 32);
    let r = &env.runner;
    let first_output = |opts: RunOptions| async move {
        let t0 = std::time::Instant::now();
        let c = r.create("busybox", opts).await.unwrap();
        r.start(&c).await.unwrap();
        let (_, mut rx, _) = c.io.logs.snapshot(None);
        if c.io.logs.all_bytes().is_empty() {
            let _ = rx.recv().await;
        }
        let elapsed = t0.elapsed();
        c.wait().await;
        r.remove(&c, false).await.unwrap();
        elapsed
    };
    let t0 = std::time::Instant::now();
    let image = r.images.resolve("busybox").unwrap();
    r.unpack_layers(&image.layers).unwrap();
    let unpack = t0.elapsed();
    std::fs::remove_dir_all(r.layers.path_for(&image.layers[0].digest)).unwrap();
    let cold = first_output(cmd(&["echo", "hi"])).await;
    let mut warm = Vec::new();
    for _ in 0..10 {
        warm.push(first_output(cmd(&["echo", "hi"])).await);
    }
    warm.sort();
    let t0 = std::time::Instant::now();
    let all: Vec<_> = (0..20).map(|_| first_output(cmd(&["echo", "hi"]))).collect();
    futures_util::future::join_all(all).await;
    let concurrent = t0.elapsed();
    let base = r.images.resolve("busybox").unwrap();
    let step = RunStep {
        layers: base.layers.iter().map(|l| l.digest.clone()).collect(),
        command: Some("true".into()),
        ..RunStep::default()
    };
    let t0 = std::time::Instant::now();
    r.run_step(step).await.unwrap();
    let run_step = t0.elapsed();
    println!(
        "unpack busybox: {unpack:?}; request→first output: cold {cold:?}, warm median {:?} (min {:?}); 20 concurrent: {concurrent:?}; RUN true: {run_step:?}",
        warm[warm.len() / 2],
        warm[0]
    );
}

#[tokio::test]
async fn reconcile_removes_what_a_crashed_server_left() {
    let env = test_env();
    let (config, images) = (env.runner.config.clone(), env.runner.images.clone());
    // A "crashed" server: its runtime disappears with a running container, mounted rootfs and cgroups.
    let (cfg, img) = (config.clone(), images.clone());
    let (id, pid) = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let id = rt.block_on(async {
            let crashed = Arc::new(Runner::new(cfg, img).unwrap());
            let c = crashed.create("busybox", cmd(&["sleep", "100"])).await.unwrap();
            crashed.start(&c).await.unwrap();
            (c.id.clone(), c.state().pid.unwrap())
        });
        rt.shutdown_background();
        id
    })
    .join()
    .unwrap();
    assert!(
        !overlay::mounts_below(&config.data_dir.join("c")).is_empty(),
        "the crash left mounts"
    );
    let restarted = Runner::new(config, images).unwrap();
    assert!(restarted.reconcile().await.unwrap() >= 1);
    assert_clean(&env, &id);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "container process still alive: {stat}"
    );
}

#[tokio::test]
async fn a_start_that_waits_past_its_bound_for_a_turn_is_answered_busy_and_can_start_later() {
    let env = test_env_with(|c| c.fair_shares.start_wait = Duration::from_secs(1));
    let r = &env.runner;
    let opts = RunOptions {
        session: "learner".into(),
        ..cmd(&["echo", "late"])
    };
    let c = r.create("busybox", opts).await.unwrap();
    // Another start of the same owner holds the owner's one turn.
    let held = r.starts.enqueue(cgroups::owner_key("learner")).admitted().await;
    let error = r.start(&c).await.unwrap_err();
    assert!(matches!(error, RunnerError::Busy(_)), "{error}");
    assert!(
        error.to_string().contains("waited 1 s for its turn to start"),
        "{error}"
    );
    assert_eq!(c.state().status, Status::Created, "not started, still startable");
    assert_eq!(r.starts.load(), (1, 0), "the refused start left the queue");
    drop(held);
    r.start(&c).await.unwrap();
    assert_eq!(c.wait().await.exit_code, Some(0));
    assert_eq!(
        r.starts.load(),
        (0, 0),
        "a running or exited container holds no turn"
    );
    r.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
    assert_eq!(
        r.owners.present(),
        Vec::<std::path::PathBuf>::new(),
        "the owner's cgroup went with it"
    );
}
