//! `docker compose build`, `up --build` (and `up` building a missing image), `pull`, `push` and `down --rmi`
//! through the real `slipway docker` in a project directory, against a real server with real runc (issue 16):
//! a service built from its Dockerfile (a RUN step in a runc container) answers another by its service name;
//! two services built with their `dockerfile`, `args`, `target` and `labels`; a broken Dockerfile's error with its
//! line; `pull` from the embedded registry and `push` to it; `down --rmi local` removes the built image and leaves
//! the pulled one. In the page, a learner's `compose.yaml` with `build: .` comes up with `up -d --build`.
//! After each test nothing of the projects is left on the server.

use std::path::Path;

use anyhow::{ensure, Result};

use crate::commands::server;
use crate::compose_up::{on_a_compose_page, Project};
use crate::networks::leftovers;

const SHOP: &str = r#"name: shop
services:
  web:
    build: ./web
  client:
    image: busybox
    depends_on: [web]
    command:
      - sh
      - -c
      - "until printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 web 80; do sleep 0.2; done; exec sleep 600"
"#;

const WEB_DOCKERFILE: &str = "FROM busybox\nRUN mkdir -p /w && echo built-by-compose > /w/index.html\n\
                              CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/w\"]\n";

#[test]
fn up_build_runs_a_built_service_and_down_rmi_local_removes_only_the_built_image() -> Result<()> {
    let Some(server) = server("compose-build-up", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-build-shop", SHOP)?;
    project.write("web/Dockerfile", WEB_DOCKERFILE)?;
    // `--no-build` with the image missing: nothing is built, and up says what is missing.
    let refused = project.docker(&["compose", "up", "-d", "--no-build"])?;
    ensure!(
        refused.code == 1
            && refused
                .err
                .contains("has no image shop-web yet and --no-build was given"),
        "{refused:?}"
    );
    let up = project.ok(&["compose", "up", "-d", "--build"])?;
    // BuildKit's progress of the build (the RUN step ran in a runc container), then Compose's lines (piped:
    // its plain writer's).
    ensure!(up.err.contains("RUN mkdir -p /w"), "{up:?}");
    let built = up.err.find(" Service web  Built\n");
    let running = up.err.find(
        " Network shop_default  Creating\n Network shop_default  Created\n Container shop-web-1  Creating\n \
         Container shop-web-1  Created\n Container shop-web-1  Starting\n Container shop-web-1  Started\n \
         Container shop-client-1  Creating\n Container shop-client-1  Created\n \
         Container shop-client-1  Starting\n Container shop-client-1  Started\n",
    );
    ensure!(built.is_some() && running.is_some() && built < running, "{up:?}");
    let fetched = project.logs_until("shop-client-1", |out| out.contains("built-by-compose"))?;
    ensure!(fetched.contains(" 200 OK"), "{fetched}");
    // The image is there now: `up` builds nothing; `--build` would.
    let again = project.ok(&["compose", "up", "-d"])?;
    ensure!(!again.err.contains("Building"), "{again:?}");
    let images = project.ok(&["images", "--format", "{{.Repository}}"])?.out;
    ensure!(
        images.contains("shop-web") && images.contains("busybox"),
        "{images}"
    );
    let down = project.ok(&["compose", "down", "--rmi", "local", "-t", "1"])?;
    ensure!(
        down.err
            .ends_with(" Image shop-web  Removing\n Image shop-web  Removed\n"),
        "{down:?}"
    );
    let images = project.ok(&["images", "--format", "{{.Repository}}"])?.out;
    ensure!(
        !images.contains("shop-web") && images.contains("busybox"),
        "{images}"
    );
    let bad = project.docker(&["compose", "down", "--rmi", "some"])?;
    ensure!(
        bad.code == 1 && bad.err.contains("invalid value for --rmi: \"some\""),
        "{bad:?}"
    );
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}

const TWO: &str = r#"name: two
services:
  a:
    build: ./a
  b:
    image: learner/b:1
    build:
      context: ./b
      dockerfile: b.Dockerfile
      args:
        GREETING: hi
      target: final
      labels:
        tier: back
  cache:
    image: busybox
"#;

const B_DOCKERFILE: &str = "FROM busybox AS base\nARG GREETING\nFROM base AS final\nARG GREETING\n\
                            ENV GREETING=$GREETING\nFROM final AS other\nRUN exit 3\n";

#[test]
fn compose_build_pull_and_push_run_as_compose_does() -> Result<()> {
    let Some(server) = server("compose-build-two", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-build-two", TWO)?;
    project.write("a/Dockerfile", "FROM busybox\nCOPY hello /hello\n")?;
    project.write("a/hello", "hello\n")?;
    project.write("b/b.Dockerfile", B_DOCKERFILE)?;
    let built = project.ok(&["compose", "build"])?;
    ensure!(
        built.err.ends_with(" Service a  Built\n Service b  Built\n"),
        "{built:?}"
    );
    let config = |image: &str| -> Result<String> {
        let inspect: serde_json::Value =
            serde_json::from_str(&project.ok(&["image", "inspect", image])?.out)?;
        Ok(inspect[0]["Config"].to_string())
    };
    let b = config("learner/b:1")?;
    for want in [
        "GREETING=hi",
        r#""tier":"back""#,
        r#""com.docker.compose.project":"two""#,
        r#""com.docker.compose.service":"b""#,
    ] {
        ensure!(b.contains(want), "{want} is not in {b}");
    }
    // `--build-arg` on the line wins over the file's args; `-q` prints nothing.
    let quiet = project.ok(&["compose", "build", "-q", "--build-arg", "GREETING=there", "b"])?;
    ensure!(quiet.out.is_empty() && !quiet.err.contains("Built"), "{quiet:?}");
    let b = config("learner/b:1")?;
    ensure!(b.contains("GREETING=there"), "{b}");
    let nope = project.docker(&["compose", "build", "nope"])?;
    ensure!(
        nope.code == 1 && nope.err.contains("no such service: nope"),
        "{nope:?}"
    );

    // A broken Dockerfile: the build's error with the Dockerfile's line.
    project.write("broken.yaml", "services:\n  c:\n    build: ./c\n")?;
    project.write("c/Dockerfile", "FROM busybox\nRUN true\nFORM x\n")?;
    let broken = project.docker(&["compose", "-f", "broken.yaml", "build"])?;
    ensure!(
        broken.code == 1
            && broken.err.contains("dockerfile parse error on line 3")
            && broken.err.contains("FORM"),
        "{broken:?}"
    );

    // Push: only services with both `build:` and `image:`; then pulled back from the embedded registry.
    let pushed = project.ok(&["compose", "push"])?;
    ensure!(!pushed.err.contains("[+]"), "{pushed:?}");
    for want in [" a  Skipped\n", " cache  Skipped\n", " Pushing learner/b:1: "] {
        ensure!(pushed.err.contains(want), "{want} is not in {pushed:?}");
    }
    // Each layer as `docker push` ends it: sent, or mounted from the session's local store on this registry.
    ensure!(
        pushed.err.contains("  Pushed\n") || pushed.err.contains("  Mounted from "),
        "{pushed:?}"
    );
    project.ok(&["rmi", "learner/b:1"])?;
    let pulled = project.ok(&["compose", "pull"])?;
    assert_eq!(
        pulled.err,
        " a  Skipped - No image to be pulled\n b  Pulled\n cache  Pulled\n"
    );
    let ignored = project.ok(&["compose", "pull", "-q", "--ignore-buildable"])?;
    ensure!(ignored.err.is_empty(), "{ignored:?}");
    let one = project.ok(&["compose", "pull", "cache"])?;
    assert_eq!(one.err, " cache  Pulled\n");
    // `--progress tty` is the TTY writer's block even piped.
    let block = project.ok(&["compose", "--progress", "tty", "pull", "cache"])?;
    assert_eq!(block.err, "[+] Pulling 1/1\n ✔ cache  Pulled\n");
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after the builds: {left:?}");
    Ok(())
}

const PAGE_BUILT: &str = "services:\n  web:\n    build: .\n";

const PAGE_DOCKERFILE: &str = "FROM busybox\nRUN mkdir -p /w && echo built-in-the-page > /w/index.html\n\
                               CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/w\"]\n";

/// A learner's project with `build: .` beside its Dockerfile, brought up from the page's terminal.
#[tokio::test(flavor = "multi_thread")]
async fn a_learner_brings_up_a_built_service_with_up_build_in_the_page() {
    on_a_compose_page(
        "a_learner_brings_up_a_built_service_with_up_build_in_the_page",
        "compose-build-page",
        &[("compose.yaml", PAGE_BUILT), ("Dockerfile", PAGE_DOCKERFILE)],
        |page| async move {
            let up = page
                .terminal_command("docker compose up -d --build", "Container project-web-1  Started")
                .await?;
            ensure!(up.contains(" ✔ Service web  Built"), "{up}");
            let ps = page
                .terminal_command("docker compose ps", "project-web-1 ")
                .await?;
            ensure!(
                ps.contains(" project-web ") && ps.contains(" web ") && ps.contains("Up "),
                "{ps}"
            );
            // An attached one-off built first: the build's lines, then the one-off's output (upper-cased, so
            // that the build's own RUN line cannot be mistaken for it).
            let ran = page
                .terminal_command(
                    "docker compose run --build --rm web sh -c 'tr a-z A-Z < /w/index.html'",
                    "BUILT-IN-THE-PAGE",
                )
                .await?;
            ensure!(ran.contains(" ✔ Service web  Built"), "{ran}");
            page.terminal_command(
                "docker compose down --rmi local -t 1",
                "Image project-web  Removed",
            )
            .await?;
            Ok(())
        },
    )
    .await;
}

const PULL_ALWAYS: &str =
    "name: pp\nservices:\n  web:\n    image: busybox\n    pull_policy: always\n    command: [sleep, '600']\n";

/// The pull policy as Compose applies it: `up --pull never` without the image fails as the daemon's create does,
/// `pull_policy: always` pulls an image the session has, `--pull missing` (over the file's policy) pulls nothing
/// then, and a value Compose does not know is refused in its words.
#[test]
fn up_pulls_as_the_pull_flag_and_pull_policy_say() -> Result<()> {
    let Some(server) = server("compose-pull-policy", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let project = Project::new(&server, "compose-pull-policy", PULL_ALWAYS)?;
    let never = project.docker(&["compose", "up", "-d", "--pull", "never"])?;
    assert_eq!(
        (never.code, never.err.as_str()),
        (1, "Error response from daemon: No such image: busybox:latest\n")
    );
    let wrong = project.docker(&["compose", "up", "-d", "--pull", "sometimes"])?;
    assert_eq!(
        (wrong.code, wrong.err.as_str()),
        (1, "invalid --pull option \"sometimes\"\n")
    );
    project.ok(&["pull", "-q", "busybox"])?;
    let always = project.ok(&["compose", "up", "-d"])?;
    assert_eq!(
        always.err,
        " web  Pulling\n web  Pulled\n Network pp_default  Creating\n Network pp_default  Created\n \
         Container pp-web-1  Creating\n Container pp-web-1  Created\n Container pp-web-1  Starting\n \
         Container pp-web-1  Started\n"
    );
    let missing = project.ok(&["compose", "up", "-d", "--pull", "missing"])?;
    assert_eq!(missing.err, " Container pp-web-1  Running\n");
    project.ok(&["compose", "down", "-t", "1"])?;
    let left = leftovers(&server);
    ensure!(left.is_empty(), "left after down: {left:?}");
    Ok(())
}
