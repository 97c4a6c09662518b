//! Classroom lifetimes end to end (issue 15), with the real binary and runc: an idle learner is warned, then
//! their containers stop and signing in again finds them; the class's end stops everything and refuses starts;
//! a teacher's "extend time" moves it and is announced; SIGHUP with a lower memory limit rewrites the learner's
//! cgroup, and a lower registry quota refuses their next push, without dropping their session.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use slipway::api::{
    paths, Companion, CompanionError, ContainerStatus, CreateContainer, ExtendTime, Notice, RunOptions,
    SessionTransport,
};

use crate::classroom::{cards, class_file, code_of, hangup, registry_token, sign_in};
use crate::registry::client::Reqwest;
use crate::support::server::Server;
use crate::support::TempDir;

/// A class member's client: their session on `server`, through the protocol's client (the page's and
/// `slipway docker`'s).
struct Member {
    transport: SessionTransport<'static, Reqwest>,
    url: String,
    token: String,
}

impl Member {
    async fn sign_in(server: &Server, code: &str) -> Result<Member> {
        let token = sign_in(server, code).await?;
        // One per member for the test's life: the transport borrows it.
        let http: &'static Reqwest = Box::leak(Box::new(Reqwest::new()));
        Ok(Member {
            transport: SessionTransport::new(http, token.clone(), &server.url),
            url: server.url.clone(),
            token,
        })
    }

    fn api(&self) -> Companion<'_, SessionTransport<'static, Reqwest>> {
        Companion::new(&self.transport, &self.url)
    }

    /// `docker run -d busybox sleep 300`: the container's id.
    async fn run_sleeper(&self) -> Result<String, CompanionError> {
        let request = CreateContainer {
            image: "busybox".into(),
            options: RunOptions {
                cmd: vec!["sleep".into(), "300".into()],
                ..RunOptions::default()
            },
        };
        Ok(self.api().create(&request, true).await?.id)
    }

    async fn status(&self, id: &str) -> Result<ContainerStatus> {
        Ok(self.api().inspect(id).await?.state.status)
    }

    /// The member's notices from the start of the server's run until one `wanted` arrives (within `within`).
    async fn wait_for_notice(
        &self,
        within: Duration,
        wanted: impl Fn(&Notice) -> bool,
    ) -> Result<Vec<Notice>> {
        let deadline = Instant::now() + within;
        let (mut seen, mut after) = (Vec::new(), 0);
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(answer) = tokio::time::timeout(left, self.api().notices(Some(after))).await else {
                break;
            };
            let answer = answer?;
            after = answer.next;
            seen.extend(answer.notices);
            if seen.iter().any(&wanted) {
                return Ok(seen);
            }
        }
        anyhow::bail!("no such notice within {within:?}; seen: {seen:?}")
    }

    /// Wait until container `id` is `status`.
    async fn until_status(&self, id: &str, status: ContainerStatus, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        while self.status(id).await? != status {
            ensure!(
                Instant::now() < deadline,
                "container {id} not {status:?} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
}

/// The cards' `(name, code)`.
type Codes = Vec<(String, String)>;

/// `slipway serve --classroom` with busybox, on a class file holding `text`; the cards' codes.
fn class_server(label: &str, text: &str) -> Result<(TempDir, Server, Codes)> {
    let dir = TempDir::new(label);
    let file = class_file(dir.path(), text)?;
    let server = crate::runner::busybox_server(label, &["--classroom", file.to_str().unwrap()])?
        .context("containers are needed")?;
    let (_, codes) = cards(&file, server.data.path())?;
    Ok((dir, server, codes))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_learner_is_warned_then_their_containers_stop_and_signing_in_again_finds_them() -> Result<()>
{
    let class = "[learners]\ncount = 2\n[limits]\nidle_timeout = \"8s\"\n";
    let (_dir, server, codes) = class_server("lifetimes-idle", class)?;
    let idle = Member::sign_in(&server, code_of(&codes, "learner1")).await?;
    let busy = Member::sign_in(&server, code_of(&codes, "learner2")).await?;
    let (idle_one, busy_one) = (idle.run_sleeper().await?, busy.run_sleeper().await?);
    let started = Instant::now();
    // learner2 keeps working (`docker ps` every second) while learner1 does nothing.
    let working = async {
        while started.elapsed() < Duration::from_secs(12) {
            busy.api().containers(false).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        anyhow::Ok(())
    };
    let watching = async {
        let seen = idle
            .wait_for_notice(Duration::from_secs(20), |n| {
                matches!(n, Notice::IdleStopped { .. })
            })
            .await?;
        anyhow::Ok((seen, started.elapsed()))
    };
    let ((), (seen, stopped_after)) = tokio::try_join!(working, watching)?;
    ensure!(
        matches!(seen.first(), Some(Notice::IdleWarning { seconds_left }) if *seconds_left <= 4),
        "first the warning (4 s before, half the timeout): {seen:?}"
    );
    ensure!(
        seen.last() == Some(&Notice::IdleStopped { stopped: 1 }),
        "{seen:?}"
    );
    ensure!(
        stopped_after >= Duration::from_secs(7),
        "stopped at {stopped_after:?}, before the timeout"
    );
    idle.until_status(&idle_one, ContainerStatus::Exited, Duration::from_secs(10))
        .await?;
    ensure!(
        busy.status(&busy_one).await? == ContainerStatus::Running,
        "the busy learner's runs on"
    );
    ensure!(
        busy.wait_for_notice(Duration::from_millis(100), |_| true)
            .await
            .is_err(),
        "the busy learner is told nothing"
    );

    // Signing in again (another browser) finds the stopped container, and runs a new one.
    let again = Member::sign_in(&server, code_of(&codes, "learner1")).await?;
    let all = again.api().containers(true).await?;
    ensure!(all.iter().any(|c| c.id == idle_one), "{all:?}");
    let new = again.run_sleeper().await?;
    ensure!(again.status(&new).await? == ContainerStatus::Running);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_class_end_stops_everything_refuses_starts_and_extending_time_is_announced() -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let ends = slipway::image::config::rfc3339(now + 20);
    let class = format!(
        "[class]\nends = {ends}\n[[teachers]]\nname = \"ada\"\n[learners]\ncount = 2\n[limits]\ncontainers = 2\n"
    );
    let (_dir, server, codes) = class_server("lifetimes-end", &class)?;
    let one = Member::sign_in(&server, code_of(&codes, "learner1")).await?;
    let two = Member::sign_in(&server, code_of(&codes, "learner2")).await?;
    let teacher = Member::sign_in(&server, code_of(&codes, "ada")).await?;
    let (first, second) = (one.run_sleeper().await?, two.run_sleeper().await?);

    let seen = one
        .wait_for_notice(Duration::from_secs(40), |n| {
            matches!(n, Notice::ClassEnded { .. })
        })
        .await?;
    ensure!(
        matches!(&seen[0], Notice::ClassEndingSoon { ends_at, .. } if *ends_at == ends),
        "warned first: {seen:?}"
    );
    ensure!(
        seen.last() == Some(&Notice::ClassEnded { stopped: 1 }),
        "{seen:?}"
    );
    one.until_status(&first, ContainerStatus::Exited, Duration::from_secs(10))
        .await?;
    two.until_status(&second, ContainerStatus::Exited, Duration::from_secs(10))
        .await?;
    // Nothing new starts; what the learner made is still there; a new learner sign-in is refused.
    let refused = one.run_sleeper().await.expect_err("a start after the end");
    ensure!(refused.to_string().contains("the class ended"), "{refused}");
    let again = one.api().start(&first).await.expect_err("a restart");
    ensure!(again.to_string().contains("the class ended"), "{again}");
    ensure!(one.api().containers(true).await?.len() == 1);
    ensure!(sign_in(&server, code_of(&codes, "learner2")).await.is_err());

    // Learners may not extend; the teacher does, and every learner hears of it.
    let ask = ExtendTime { minutes: 10 };
    ensure!(one.api().extend_time(&ask).await.is_err());
    let moved = teacher.api().extend_time(&ask).await?;
    let later = slipway::image::config::parse_rfc3339(&moved.ends_at).context("an RFC 3339 end")?;
    ensure!(later >= (now + 20 + 590) as i64, "{moved:?}");
    for learner in [&one, &two] {
        let told = learner
            .wait_for_notice(Duration::from_secs(5), |n| {
                matches!(n, Notice::TimeExtended { .. })
            })
            .await?;
        ensure!(told.contains(&Notice::TimeExtended {
            ends_at: moved.ends_at.clone()
        }));
    }
    let info = reqwest::get(format!("{}{}", server.url, paths::INFO))
        .await?
        .json::<serde_json::Value>()
        .await?;
    ensure!(info["classroom"]["ends_at"] == moved.ends_at.as_str(), "{info}");
    Member::sign_in(&server, code_of(&codes, "learner2")).await?;
    let new = one.run_sleeper().await?;
    ensure!(one.status(&new).await? == ContainerStatus::Running);
    Ok(())
}

/// The memory cap of the owner cgroup of session `token` (v2 `memory.max`, v1 `memory.limit_in_bytes`).
fn owner_memory_cap(token: &str) -> Result<u64> {
    use sha2::Digest as _;
    let owner: String = sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..16]
        .to_string();
    for (dir, file) in [
        ("/sys/fs/cgroup/slipway", "memory.max"),
        ("/sys/fs/cgroup/memory/slipway", "memory.limit_in_bytes"),
    ] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .ends_with(&format!("-{owner}"))
            {
                let text = std::fs::read_to_string(entry.path().join(file))?;
                return Ok(text.trim().parse()?);
            }
        }
    }
    anyhow::bail!("no owner cgroup for the session")
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_with_lower_limits_rewrites_the_learners_cgroup_and_quota_and_keeps_them() -> Result<()> {
    let class = |memory: &str, registry: &str| {
        format!(
            "[learners]\ncount = 1\n[limits]\nmemory = \"{memory}\"\ncontainers = 3\nregistry = \"{registry}\"\n"
        )
    };
    let (dir, server, codes) = class_server("lifetimes-sighup", &class("512MiB", "1MiB"))?;
    let learner = Member::sign_in(&server, code_of(&codes, "learner1")).await?;
    let running = learner.run_sleeper().await?;
    ensure!(owner_memory_cap(&learner.token)? == 512 << 20);
    let (code, registry) = (code_of(&codes, "learner1"), &server);
    let push = move |seed: u8| async move {
        let token = registry_token(registry, "learner1", code, "repository:learner1/app:pull,push").await?;
        let blob = vec![seed; 300 << 10];
        let url = format!(
            "{}/v2/learner1/app/blobs/uploads/?digest={}",
            registry.url,
            crate::registry::sha256(&blob)
        );
        let answer = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .body(blob)
            .send()
            .await?;
        anyhow::Ok(answer.status().as_u16())
    };
    ensure!(
        push(1).await? == 201,
        "300 KiB within the registry quota of 1 MiB"
    );

    class_file(
        dir.path(),
        &class("256MiB", "512KiB").replace("containers = 3", "containers = 1"),
    )?;
    hangup(&server)?;
    let seen = learner
        .wait_for_notice(Duration::from_secs(10), |n| {
            matches!(n, Notice::LimitsChanged { .. })
        })
        .await?;
    ensure!(
        matches!(seen.last(), Some(Notice::LimitsChanged { limits }) if limits.contains("memory 256 MiB")),
        "{seen:?}"
    );
    ensure!(
        owner_memory_cap(&learner.token)? == 256 << 20,
        "the cgroup's cap rewritten"
    );
    ensure!(
        matches!(seen.last(), Some(Notice::LimitsChanged { limits }) if limits.contains("registry 512 KiB")),
        "{seen:?}"
    );
    // The registry quota too: another 300 KiB passes the new 512 KiB of the learner's namespace.
    ensure!(push(2).await? == 507, "a push past the lowered registry quota");
    // Not dropped: the same session, the container still running; the new count holds for new containers.
    ensure!(learner.status(&running).await? == ContainerStatus::Running);
    let refused = learner
        .run_sleeper()
        .await
        .expect_err("a second container past the new limit of one");
    ensure!(
        refused.to_string().contains("too many containers (limit 1)"),
        "{refused}"
    );
    Ok(())
}

/// `slipway docker --host URL ARGS` with its files in `home` and `env`, stdin not a terminal: exit code, stdout
/// and stderr.
fn native_docker(
    server: &Server,
    home: &std::path::Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Result<(i32, String, String)> {
    let output = std::process::Command::new(crate::support::server::slipway_bin())
        .args(["docker", "--host", &server.url])
        .args(args)
        .env("SLIPWAY_AUTH_FILE", home.join("auth.json"))
        .env_remove("SLIPWAY_SESSION")
        .env_remove("SLIPWAY_JOIN_CODE")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn slipway_docker_signs_in_with_a_join_code_and_pushes_to_its_namespace() -> Result<()> {
    let (dir, server, codes) = class_server(
        "lifetimes-native",
        "[class]\nname = \"Docker 101\"\n[learners]\ncount = 2\n",
    )?;
    let home = dir.path().join("home");
    let context = dir.path().join("app");
    std::fs::create_dir_all(&context)?;
    std::fs::write(context.join("Dockerfile"), "FROM scratch\nCOPY a.txt /\n")?;
    std::fs::write(context.join("a.txt"), "alpha\n")?;
    let docker = |args: &[&str]| native_docker(&server, &home, &[], args);

    let (code, _, err) = docker(&["images"])?;
    ensure!(
        code != 0 && err.contains("sign in with your join code"),
        "{code} {err}"
    );
    let (code, _, err) = docker(&["login"])?;
    ensure!(
        code == 1 && err.contains("SLIPWAY_JOIN_CODE"),
        "no code, no terminal: {code} {err}"
    );
    let (code, _, err) = docker(&["login", "-p", "WRONG-CODE0"])?;
    ensure!(
        code == 1 && err.contains("not one of this class's"),
        "{code} {err}"
    );
    // The code as a learner copies it from the card: lower case, with its dash.
    let typed = code_of(&codes, "learner1").to_lowercase();
    let (code, out, _) = docker(&["login", "-p", &typed])?;
    ensure!(
        code == 0
            && out.contains("Welcome, learner1! Signed in to the class Docker 101.")
            && out.ends_with("Login Succeeded\n"),
        "{out}"
    );

    let (code, out, err) = docker(&["build", "-t", "learner1/app:v1", context.to_str().unwrap()])?;
    ensure!(code == 0, "build: {out} {err}");
    let (code, out, err) = docker(&["push", "learner1/app:v1"])?;
    ensure!(code == 0 && out.contains("digest: sha256:"), "push: {out} {err}");
    ensure!(docker(&["tag", "learner1/app:v1", "learner2/app:v1"])?.0 == 0);
    let (code, out, err) = docker(&["push", "learner2/app:v1"])?;
    ensure!(
        code != 0 && (out + &err).contains("denied"),
        "another's namespace: {code}"
    );

    // A script: the code in the environment, no login command.
    let other = dir.path().join("other-home");
    let env = [("SLIPWAY_JOIN_CODE", code_of(&codes, "learner2"))];
    let (code, out, err) = native_docker(&server, &other, &env, &["run", "--rm", "busybox", "echo", "hi"])?;
    ensure!(code == 0 && out == "hi\n", "{code} {out} {err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_teachers_broadcast_appears_in_a_learners_terminal_in_the_page() -> Result<()> {
    use crate::support::browser::Browser;
    let dir = TempDir::new("lifetimes-broadcast");
    let file = class_file(
        dir.path(),
        "[[teachers]]\nname = \"ada\"\n[learners]\ncount = 1\n",
    )?;
    let data = TempDir::new("lifetimes-broadcast-data");
    let (_, codes) = cards(&file, data.path())?;
    let server = Server::start_in(
        data,
        &crate::support::server::dist_dir(),
        &["--classroom", file.to_str().unwrap()],
    )?;
    let teacher = Member::sign_in(&server, code_of(&codes, "ada")).await?;
    let learner = Member::sign_in(&server, code_of(&codes, "learner1")).await?;
    let message = slipway::api::Broadcast {
        message: "Break until 10:30".into(),
    };
    ensure!(
        learner.api().broadcast(&message).await.is_err(),
        "a learner may not broadcast"
    );
    let (code, home) = (
        code_of(&codes, "learner1").to_string(),
        format!("{}/", server.url),
    );
    Browser::start()
        .await?
        .run("classroom_broadcast", |page| async move {
            page.goto(&home).await?;
            page.type_into("Your join code (on your card)", &format!("{code}\u{E007}"))
                .await?;
            page.wait_for_text("Terminal output", "the greeting", |t| {
                t.contains("Welcome, learner1!")
            })
            .await?;
            // The page's first ask for notices says where to start; give it a moment to be waiting.
            tokio::time::sleep(Duration::from_secs(1)).await;
            teacher.api().broadcast(&message).await?;
            let shown = page
                .wait_for_text("Terminal output", "the broadcast", |t| {
                    t.contains("[class notice] Message from ada: Break until 10:30")
                })
                .await?;
            // On a row of its own, the prompt drawn again under it.
            ensure!(shown.trim_end().ends_with('$'), "{shown:?}");
            Ok(())
        })
        .await
}
