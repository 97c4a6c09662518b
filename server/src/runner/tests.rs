//! Real containers under runc (no mocks): a busybox image made from the host's static busybox, run through the
//! runner; after each test nothing (mount, cgroup, runtime state, process) may be left behind.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::*;

pub(crate) struct TestEnv {
    pub tmp: tempfile::TempDir,
    pub runner: Arc<Runner>,
}

pub(crate) fn test_env_with(tweak: impl FnOnce(&mut RunnerConfig)) -> TestEnv {
    let tmp = tempfile::Builder::new()
        .prefix("slipway-rt-")
        .tempdir_in("/var/tmp")
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let images = tmp.path().join("images");
    fixture::busybox_layout(&images, "busybox").unwrap();
    let data = tmp.path().join("data");
    let runtime = crate::runtime::find_executable("runc").expect("runc installed");
    let mut config = RunnerConfig::new(data.clone(), runtime);
    tweak(&mut config);
    let source = OciLayoutSource::new(vec![images, data]);
    let runner = Arc::new(Runner::new(config, Arc::new(source)).unwrap());
    TestEnv { tmp, runner }
}

/// A test that panics half way leaves nothing running: every container in the runner's runtime root is killed
/// and deleted (processes, cgroups) and every container directory unmounted and removed, before the temp dir goes.
impl Drop for TestEnv {
    fn drop(&mut self) {
        let runner = self.runner.clone();
        // Dropped inside the test's runtime, which cannot run futures any more (it is blocked here): the sweep
        // runs on a runtime of its own and drives the runtime CLI directly, not the test's watcher tasks.
        let cleaned = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the cleanup");
            runtime.block_on(runner.sweep_everything());
        })
        .join();
        if cleaned.is_err() && !std::thread::panicking() {
            panic!("cleaning up the test's containers panicked");
        }
    }
}

pub(crate) fn test_env() -> TestEnv {
    test_env_with(|_| {})
}

pub(crate) fn cmd(args: &[&str]) -> RunOptions {
    RunOptions {
        cmd: args.iter().map(|s| s.to_string()).collect(),
        ..RunOptions::default()
    }
}

/// `docker run -d`: a started container of `image` (the test fails if it cannot start).
pub(crate) async fn started(env: &TestEnv, image: &str, opts: RunOptions) -> Arc<super::Container> {
    let c = env.runner.create(image, opts).await.unwrap();
    env.runner.start(&c).await.unwrap();
    c
}

/// Run to completion, returning the final state, the output, and the container (already removed).
pub(crate) async fn run(env: &TestEnv, opts: RunOptions) -> (lifecycle::State, String) {
    let r = &env.runner;
    let c = started(env, "busybox", opts).await;
    let state = tokio::time::timeout(Duration::from_secs(60), c.wait())
        .await
        .expect("container ends");
    let out = String::from_utf8_lossy(&c.io.logs.all_bytes()).into_owned();
    r.remove(&c, false).await.unwrap();
    assert_clean(env, &c.id);
    (state, out)
}

/// The cgroups of container `id` in the host's hierarchies, under whichever owner (`slipway/o-*/ID`).
pub(crate) fn cgroups_of(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for ctrl in [
        "memory",
        "pids",
        "cpu,cpuacct",
        "devices",
        "freezer",
        "unified",
        "",
    ] {
        let slipway = Path::new("/sys/fs/cgroup").join(ctrl).join("slipway");
        let owners = std::fs::read_dir(&slipway).into_iter().flatten().flatten();
        found.extend(
            owners
                .map(|owner| owner.path().join(id))
                .chain([slipway.join(id)])
                .filter(|cg| cg.exists()),
        );
    }
    found
}

/// Nothing of container `id` is left: mounts, cgroups, runtime state, directory.
pub(crate) fn assert_clean(env: &TestEnv, id: &str) {
    let data = &env.runner.config.data_dir;
    assert_eq!(
        overlay::mounts_below(&data.join("c")),
        Vec::<String>::new(),
        "mounts left"
    );
    assert_eq!(cgroups_of(id), Vec::<PathBuf>::new(), "cgroups left");
    assert!(!data.join("runtime").join(id).exists(), "runtime state left");
    assert!(!env.runner.container_dir(id).exists(), "container dir left");
}

#[tokio::test]
async fn a_test_that_panics_with_a_running_container_leaves_nothing() {
    let env = test_env();
    let root = env.tmp.path().to_path_buf();
    let data = env.runner.config.data_dir.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let scenario = tokio::spawn(async move {
        let c = env
            .runner
            .create("busybox", cmd(&["sleep", "1000"]))
            .await
            .unwrap();
        env.runner.start(&c).await.unwrap();
        let _ = tx.send(c.id.clone());
        panic!("a failing assertion while {} runs", c.id);
    });
    assert!(scenario.await.unwrap_err().is_panic());
    let id = rx.await.expect("the container started before the panic");
    assert_eq!(overlay::mounts_below(&data), Vec::<String>::new(), "mounts left");
    assert_eq!(cgroups_of(&id), Vec::<PathBuf>::new(), "cgroups left");
    assert!(!root.exists(), "the test's temp dir is left");
}

#[tokio::test]
async fn echo_hello() {
    let env = test_env();
    let (state, out) = run(&env, cmd(&["echo", "hello"])).await;
    assert_eq!(out, "hello\n");
    assert_eq!(state.exit_code, Some(0));
    assert!(!state.oom_killed);
}

#[tokio::test]
async fn exit_codes_and_stderr() {
    let env = test_env();
    let (state, out) = run(&env, cmd(&["sh", "-c", "echo out; echo err >&2; exit 3"])).await;
    assert_eq!(state.exit_code, Some(3));
    assert!(out.contains("out\n") && out.contains("err\n"), "{out}");
    // A signal death from outside is reported as 128 + signal.
    let r = &env.runner;
    let c = started(&env, "busybox", cmd(&["sleep", "100"])).await;
    r.kill(&c, "SIGKILL").await.unwrap();
    // Like dockerd, a SIGKILL answers once the container has exited: a plain `docker rm` right after succeeds.
    assert_eq!(c.state().exit_code, Some(137));
    r.remove(&c, false).await.unwrap();
}

#[tokio::test]
async fn missing_executable_is_an_error_not_a_hang() {
    let env = test_env();
    let r = &env.runner;
    let c = r.create("busybox", cmd(&["no-such-binary"])).await.unwrap();
    let started = r.start(&c).await;
    let state = c.wait().await;
    assert!(
        started.is_err() || state.exit_code != Some(0),
        "{started:?} {state:?}"
    );
    r.remove(&c, true).await.unwrap();
    assert_clean(&env, &c.id);
}

#[tokio::test]
async fn env_workdir_hostname_and_overrides() {
    let env = test_env();
    let opts = RunOptions {
        env: vec!["GREETING=hi".into(), "PATH=/bin".into()],
        workdir: Some("/tmp".into()),
        hostname: Some("box".into()),
        ..cmd(&[
            "sh",
            "-c",
            "echo $GREETING $PATH $HOME $HOSTNAME; pwd; hostname; cat /etc/hostname; grep box /etc/hosts",
        ])
    };
    let (state, out) = run(&env, opts).await;
    assert_eq!(state.exit_code, Some(0), "{out}");
    assert_eq!(out, "hi /bin /root box\n/tmp\nbox\nbox\n127.0.1.1\tbox\n");
}

#[tokio::test]
async fn entrypoint_override_and_image_cmd() {
    let env = test_env();
    let opts = RunOptions {
        entrypoint: Some(vec!["echo".into()]),
        ..cmd(&["from", "entrypoint"])
    };
    assert_eq!(run(&env, opts).await.1, "from entrypoint\n");
    // No args: the image's Cmd (`sh`) runs with stdin closed and exits 0.
    assert_eq!(run(&env, RunOptions::default()).await.0.exit_code, Some(0));
}

#[tokio::test]
async fn users_resolve_through_the_image() {
    let env = test_env();
    let (_, out) = run(
        &env,
        RunOptions {
            user: Some("app".into()),
            ..cmd(&["id"])
        },
    )
    .await;
    assert_eq!(out, "uid=1000(app) gid=1000(app) groups=50(staff)\n");
    let (_, out) = run(
        &env,
        RunOptions {
            user: Some("4242:50".into()),
            ..cmd(&["id"])
        },
    )
    .await;
    assert_eq!(out, "uid=4242 gid=50(staff)\n");
    let r = &env.runner;
    let err = r
        .create(
            "busybox",
            RunOptions {
                user: Some("ghost".into()),
                ..cmd(&["id"])
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unable to find user ghost"), "{err}");
    assert!(r.list(true).is_empty());
    assert_eq!(overlay::mounts_below(&r.config.data_dir), Vec::<String>::new());
}

#[tokio::test]
async fn isolation_user_namespace_and_refused_syscalls() {
    let env = test_env();
    let script = "cat /proc/self/uid_map; \
        mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED; \
        unshare -U true 2>/dev/null && echo UNSHARED; \
        ping -c1 -W1 127.0.0.1 >/dev/null 2>&1 && echo PINGED; \
        nc -w 2 192.0.2.1 80 </dev/null 2>/dev/null && echo REACHED; \
        ip -o link 2>/dev/null | cut -d: -f2; \
        echo done";
    let (state, out) = run(&env, cmd(&["sh", "-c", script])).await;
    assert_eq!(state.exit_code, Some(0), "{out}");
    let fields: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        fields,
        ["0", "100000", "65536"],
        "container root is host uid 100000"
    );
    assert!(
        !out.contains("MOUNTED") && !out.contains("UNSHARED") && !out.contains("PINGED"),
        "{out}"
    );
    assert!(
        out.contains(" lo\n") && !out.contains("eth"),
        "only loopback: {out}"
    );
}

#[tokio::test]
async fn memory_limit_kills_and_reports_oom() {
    let env = test_env();
    let opts = RunOptions {
        memory: Some(16 << 20),
        ..cmd(&[
            "sh",
            "-c",
            "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
        ])
    };
    let (state, out) = run(&env, opts).await;
    assert!(!out.contains("survived"), "{out}");
    assert!(state.oom_killed, "{state:?} {out}");
}

#[tokio::test]
async fn pids_limit_holds_a_fork_bomb() {
    let env = test_env();
    let opts = RunOptions {
        pids_limit: Some(16),
        // Only shell builtins after the bomb: at the limit nothing else can fork.
        ..cmd(&["sh", "-c", "(for i in $(seq 40); do sleep 30 & done) 2>/dev/null; \
            read max < /sys/fs/cgroup/pids/pids.max; read cur < /sys/fs/cgroup/pids/pids.current; echo $max; echo $cur"])
    };
    let (state, out) = run(&env, opts).await;
    assert_eq!(state.exit_code, Some(0), "{out}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("16"));
    let procs: usize = lines.next().unwrap().trim().parse().unwrap();
    assert!(
        (10..=16).contains(&procs),
        "{procs} processes under a limit of 16: the bomb ran and was held"
    );
}

#[tokio::test]
async fn stop_sends_term_then_kill() {
    let env = test_env();
    let r = &env.runner;
    // PID 1 without a TERM handler ignores SIGTERM: stop must escalate to SIGKILL after the grace.
    let c = started(&env, "busybox", cmd(&["sleep", "100"])).await;
    // Until runc's init has exec'd `sleep`, SIGTERM still kills it (the default action): wait for PID 1 to be sleep.
    let pid = c.state().pid.unwrap();
    for _ in 0..200 {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "sleep" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let t0 = std::time::Instant::now();
    let state = r.stop(&c, Some(Duration::from_millis(500))).await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(500));
    assert_eq!(state.exit_code, Some(137));
    r.remove(&c, false).await.unwrap();
    // With a handler, SIGTERM alone ends it.
    let c = started(
        &env,
        "busybox",
        cmd(&[
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo ready; while true; do sleep 0.1; done",
        ]),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let state = r.stop(&c, Some(Duration::from_secs(20))).await.unwrap();
    assert_eq!(state.exit_code, Some(7));
    r.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
}

#[tokio::test]
async fn wall_clock_limit_kills() {
    let env = test_env_with(|c| c.wall_clock = Duration::from_millis(800));
    let (state, _) = run(&env, cmd(&["sleep", "100"])).await;
    assert!(state.timed_out);
    assert_eq!(state.exit_code, Some(137));
}

#[tokio::test]
async fn remove_force_kills_a_running_container_and_names_are_unique() {
    let env = test_env();
    let r = &env.runner;
    let c = started(
        &env,
        "busybox",
        RunOptions {
            name: Some("web".into()),
            ..cmd(&["sleep", "100"])
        },
    )
    .await;
    assert_eq!(r.list(false).len(), 1);
    assert!(matches!(
        r.create(
            "busybox",
            RunOptions {
                name: Some("web".into()),
                ..cmd(&["true"])
            }
        )
        .await,
        Err(RunnerError::Conflict(_))
    ));
    assert!(matches!(r.remove(&c, false).await, Err(RunnerError::Conflict(_))));
    assert_eq!(r.get("web").unwrap().id, c.id);
    r.remove(&c, true).await.unwrap();
    assert!(r.list(true).is_empty());
    assert_clean(&env, &c.id);
    let pid = c.state().pid.unwrap();
    assert!(!PathBuf::from(format!("/proc/{pid}")).exists(), "process left");
}

#[tokio::test]
async fn published_port_reaches_httpd_inside() {
    let env = test_env();
    let r = &env.runner;
    let opts = RunOptions {
        publish: vec![spec::PortMapping {
            host: 0,
            container: 8080,
        }],
        ..cmd(&["httpd", "-f", "-p", "8080", "-h", "/www"])
    };
    let c = started(&env, "busybox", opts).await;
    let port = c.summary().ports[0].host;
    assert_ne!(port, 0);
    let mut body = String::new();
    for _ in 0..50 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").await.unwrap();
            body.clear();
            let _ = s.read_to_string(&mut body).await;
            if body.contains("hello from busybox httpd") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(body.contains("hello from busybox httpd"), "{body}");
    r.remove(&c, true).await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "listener closed"
    );
    assert_clean(&env, &c.id);
}

#[tokio::test]
async fn tty_round_trip_and_resize() {
    let env = test_env();
    let r = &env.runner;
    let c = started(
        &env,
        "busybox",
        RunOptions {
            tty: true,
            ..cmd(&["sh"])
        },
    )
    .await;
    c.resize(100, 40).unwrap();
    c.write_input(b"echo hi-$((1+1)); stty size; exit 5\n")
        .await
        .unwrap();
    let state = tokio::time::timeout(Duration::from_secs(20), c.wait())
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&c.io.logs.all_bytes()).into_owned();
    assert!(out.contains("hi-2"), "{out:?}");
    assert!(out.contains("40 100"), "{out:?}");
    assert_eq!(state.exit_code, Some(5));
    r.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
}

/// The client's terminal size reaches the TTY before the process starts (Docker's ConsoleSize): a command
/// that reads it at once, with nobody attached to resize it yet, sees it.
#[tokio::test]
async fn a_tty_starts_with_the_clients_console_size() {
    let env = test_env();
    let c = started(
        &env,
        "busybox",
        RunOptions {
            tty: true,
            console_size: Some([33, 111]),
            ..cmd(&["stty", "size"])
        },
    )
    .await;
    let state = tokio::time::timeout(Duration::from_secs(20), c.wait())
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&c.io.logs.all_bytes()).into_owned();
    assert_eq!(out.trim(), "33 111", "{out:?}");
    assert_eq!(state.exit_code, Some(0));
    env.runner.remove(&c, false).await.unwrap();
    assert_clean(&env, &c.id);
}

#[tokio::test]
async fn hostile_image_is_refused_and_leaves_nothing() {
    let env = test_env();
    let mut t = fixture::TarBuilder::new();
    t.dir("a", 0o755)
        .raw(b"a/up", tar::EntryType::Symlink, Some(b"../../../etc"), b"");
    let images = env.tmp.path().join("images");
    fixture::write_layout(&images, "evil", serde_json::json!({"Cmd": ["sh"]}), &[t.finish()]).unwrap();
    let err = env.runner.create("evil", cmd(&["true"])).await.unwrap_err();
    assert!(
        matches!(
            err,
            RunnerError::Unpack(unpack::UnpackError::EscapingSymlink { .. })
        ),
        "{err}"
    );
    assert!(env.runner.list(true).is_empty());
    let layers: Vec<_> = std::fs::read_dir(env.runner.config.data_dir.join("layers"))
        .unwrap()
        .collect();
    assert!(layers.is_empty(), "nothing kept of the refused layer: {layers:?}");
}
