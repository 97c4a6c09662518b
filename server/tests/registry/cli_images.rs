//! `slipway docker ...` (the page's interpreter, natively) against a real `slipway serve`: the image commands'
//! output compared with golden text, logins checked by the real token flow, and a push straight to a second
//! registry (Debian's `docker-registry`, no companion proxy natively), checked with skopeo.

use std::process::{Command, Stdio};

use super::peers::{served_digest, Distribution};
use super::*;
use crate::support::server::users_file;

/// A small image with a fixed config, pushed straight into the registry as `library/hello:latest` (what
/// `docker pull hello` finds); returns the manifest's digest.
async fn seed_hello(server: &Server) -> Result<String> {
    let layer = noise(2000, 7);
    let config = serde_json::to_vec(&serde_json::json!({
        "created": "2020-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
        "history": [
            {"created": "2020-01-01T00:00:00Z", "created_by": "COPY hello / # a long instruction that docker truncates"},
            {"created": "2020-01-01T00:00:00Z", "created_by": "CMD [\"/hello\"]", "empty_layer": true}
        ]
    }))?;
    push_blob(server, "library/hello", &config).await?;
    push_blob(server, "library/hello", &layer).await?;
    let manifest = image_manifest(&config, &[&layer], serde_json::json!({}));
    let response = client()
        .put(server.url("/v2/library/hello/manifests/latest"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await?;
    anyhow::ensure!(response.status() == 201, "seeding hello: {}", response.status());
    Ok(sha256(&manifest))
}

/// Runs `slipway docker` lines against one companion, as one session with its own credentials file (and the
/// session file beside it, where `slipway docker` keeps the session the companion issued it).
pub(super) struct DockerCli {
    host: String,
    auth_file: PathBuf,
}

pub(super) struct Run {
    pub(super) stdout: String,
    pub(super) stderr: String,
    pub(super) code: i32,
}

impl DockerCli {
    pub(super) fn new(server: &Server, dir: &Path, session: &'static str) -> DockerCli {
        DockerCli {
            host: server.base.clone(),
            auth_file: dir.join(session).join("auth.json"),
        }
    }

    /// The session the companion issued to this command line (after a first command), as kept beside the
    /// credentials.
    pub(super) fn token(&self) -> String {
        let file = self.auth_file.with_file_name("sessions.json");
        let kept: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap_or_default()).unwrap_or_default();
        kept[&self.host].as_str().unwrap_or_default().to_string()
    }

    pub(super) fn run_with_stdin(&self, line: &str, stdin: &str) -> Result<Run> {
        let words = slipway::cli::words::split_words(line)?;
        anyhow::ensure!(words[0] == "docker", "{line}");
        let mut child = Command::new(slipway_binary())
            .args(["docker", "--host", &self.host])
            .args(&words[1..])
            .env_remove("SLIPWAY_SESSION")
            .env("SLIPWAY_AUTH_FILE", &self.auth_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        {
            use std::io::Write;
            child.stdin.take().context("stdin")?.write_all(stdin.as_bytes())?;
        }
        let output = child.wait_with_output()?;
        Ok(Run {
            stdout: String::from_utf8(output.stdout)?,
            stderr: String::from_utf8(output.stderr)?,
            code: output.status.code().unwrap_or(-1),
        })
    }

    fn run(&self, line: &str) -> Result<Run> {
        self.run_with_stdin(line, "")
    }

    /// Every line with its output, as a terminal transcript: `$ line`, stdout, `! stderr`, `[exit N]`.
    fn transcript(&self, lines: &[&str]) -> Result<String> {
        let mut text = String::new();
        for line in lines {
            let run = self.run(line)?;
            text.push_str(&format!("$ {line}\n{}", run.stdout));
            for err in run.stderr.lines() {
                text.push_str(&format!("! {err}\n"));
            }
            text.push_str(&format!("[exit {}]\n", run.code));
        }
        Ok(text)
    }
}

/// Stable text: the server's address, the session key and ages that grow with the calendar are named.
fn normalize(text: &str, server: &Server, key: &str) -> String {
    let mut out = text.replace(&server.addr, "<companion>").replace(key, "<key>");
    for n in (1..100).rev() {
        for unit in ["years", "months"] {
            out = out.replace(&format!("{n} {unit} ago"), &format!("N {unit} ago"));
        }
    }
    out
}

fn check_golden(name: &str, actual: &str) {
    let path = crate::support::repo_root()
        .join("tests/golden/docker-cli/session")
        .join(name);
    if std::env::var_os("SLIPWAY_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run with SLIPWAY_UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        actual,
        want,
        "{} differs (SLIPWAY_UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

#[tokio::test]
async fn image_commands_print_what_docker_prints() -> Result<()> {
    let dir = TempDir::new("cli-images");
    let server = Server::start(&dir.path().join("data"))?;
    seed_hello(&server).await?;
    let cli = DockerCli::new(&server, dir.path(), "golden-session");
    let transcript = cli.transcript(&[
        "docker images",
        "docker pull hello",
        "docker pull hello",
        "docker images",
        "docker tag hello learner1/app:v1",
        "docker images --digests",
        "docker images -q",
        "docker images --format '{{.Repository}}:{{.Tag}}'",
        "docker images --format 'table {{.Repository}}\\t{{.ID}}\\t{{.Size}}' learner1/app",
        "docker images --filter reference='learner1/*' --filter dangling=false",
        "docker image inspect learner1/app:v1",
        "docker history hello",
        "docker push learner1/app:v1",
        "docker push learner1/app:v1",
        "docker push -q learner1/app:v1",
        "docker pull -q hello",
        "docker system df",
        "docker rmi learner1/app:v1",
        "docker rmi hello",
        "docker images",
    ])?;
    let key = slipway::image::local_store::session_key(Some(&cli.token()));
    check_golden("images.txt", &normalize(&transcript, &server, &key));
    Ok(())
}

#[tokio::test]
async fn image_command_errors_print_what_docker_prints() -> Result<()> {
    let dir = TempDir::new("cli-images-errors");
    let server = Server::start(&dir.path().join("data"))?;
    seed_hello(&server).await?;
    let cli = DockerCli::new(&server, dir.path(), "golden-errors");
    let transcript = cli.transcript(&[
        "docker pull nosuch",
        "docker pull hello:nosuch",
        "docker push nothere:v1",
        "docker rmi nothere",
        "docker tag nothere x",
        "docker image inspect nothere",
        "docker images --bogus",
        "docker images --filter color=blue",
        "docker pull B:x",
        "docker push B:x",
        "docker tag nothere B:x",
        "docker images --format '{{.Nope}}'",
        "docker login --password-stdin",
        "docker login -u someone",
    ])?;
    let key = slipway::image::local_store::session_key(Some(&cli.token()));
    check_golden("errors.txt", &normalize(&transcript, &server, &key));
    Ok(())
}

#[tokio::test]
async fn login_checks_the_password_with_the_registry() -> Result<()> {
    let dir = TempDir::new("cli-login");
    let users = users_file(dir.path())?;
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--users", users.to_str().unwrap(), "--no-anonymous-pull"],
    )?;
    let cli = DockerCli::new(&server, dir.path(), "login-session");
    let pull = cli.run("docker pull hello")?;
    assert_eq!(pull.code, 1);
    assert!(
        pull.stderr.contains(
            "pull access denied for hello, repository does not exist or may require 'docker login'"
        ),
        "{}",
        pull.stderr
    );

    let wrong = cli.run("docker login -u learner1 -p wrong")?;
    assert_eq!(wrong.code, 1);
    assert_eq!(
        wrong.stderr,
        format!(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n\
             Error response from daemon: Get \"{}/v2/\": unauthorized: authentication required: wrong user name or password for \"learner1\"\n",
            server.base
        )
    );
    assert!(!cli.auth_file.exists(), "a failed login stores nothing");

    let right = cli.run_with_stdin("docker login -u learner1 --password-stdin", "pw-one\n")?;
    assert_eq!(
        (right.stdout.as_str(), right.code),
        ("Login Succeeded\n", 0),
        "{}",
        right.stderr
    );
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cli.auth_file)?)?;
    assert!(stored["auths"][&server.addr]["auth"].is_string(), "{stored}");
    assert!(
        right
            .stderr
            .contains("WARNING! Your credentials are stored unencrypted in"),
        "{}",
        right.stderr
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cli.auth_file)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the credentials file is the owner's alone");
    }

    let again = cli.run("docker login")?;
    assert!(again.stdout.ends_with("Login Succeeded\n"), "{}", again.stdout);
    let out = cli.run("docker logout")?;
    assert_eq!(
        out.stdout,
        format!("Removing login credentials for {}\n", server.addr)
    );
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cli.auth_file)?)?;
    assert!(
        stored["auths"].as_object().is_some_and(|a| a.is_empty()),
        "{stored}"
    );
    Ok(())
}

#[tokio::test]
async fn push_reaches_a_second_registry_directly() -> Result<()> {
    let dir = TempDir::new("cli-images-remote");
    let remote = Distribution::start(dir.path()).await?;
    // No `--proxy-host`: natively, docker talks to the registry itself (the proxy is the page's).
    let server = Server::start(&dir.path().join("data"))?;
    let digest = seed_hello(&server).await?;
    let cli = DockerCli::new(&server, dir.path(), "remote-session");
    assert_eq!(cli.run("docker pull hello")?.code, 0);
    let target = format!("{}/learner1/app:v1", remote.addr);
    assert_eq!(cli.run(&format!("docker tag hello {target}"))?.code, 0);
    let push = cli.run(&format!("docker push {target}"))?;
    assert_eq!(push.code, 0, "{}", push.stderr);
    let lines: Vec<&str> = push.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("The push refers to repository [{}/learner1/app]", remote.addr)
    );
    assert!(lines[1].ends_with(": Pushed"), "{}", push.stdout);
    assert_eq!(
        lines[2],
        format!(
            "v1: digest: {digest} size: {}",
            lines[2].rsplit(' ').next().unwrap()
        )
    );
    // The second registry really serves it, byte for byte.
    assert_eq!(served_digest(&format!("docker://{target}"))?, digest);
    let again = cli.run(&format!("docker push {target}"))?;
    assert!(
        again.stdout.contains(": Layer already exists"),
        "{}",
        again.stdout
    );

    // And back: pulled from there into another session's store.
    let other = DockerCli::new(&server, dir.path(), "other-session");
    let pull = other.run(&format!("docker pull {target}"))?;
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    assert!(pull.stdout.contains(": Pull complete"), "{}", pull.stdout);
    let images = other.run("docker images --format '{{.Repository}}:{{.Tag}} {{.Digest}}'")?;
    assert_eq!(images.stdout, format!("{target} {digest}\n"));
    Ok(())
}

#[tokio::test]
async fn run_pulls_an_image_that_is_not_local_first() -> Result<()> {
    use crate::support::server::{with_busybox_in_registry, Server as Companion};
    let data = crate::support::TempDir::new("cli-run-pull");
    with_busybox_in_registry(&data)?;
    let companion = Companion::start_in(data, Path::new("/nonexistent"), &[])?;
    let dir = TempDir::new("cli-run-pull-auth");
    let cli = DockerCli {
        host: companion.url.clone(),
        auth_file: dir.path().join("auth.json"),
    };
    let first = cli.run("docker run --rm busybox echo hello")?;
    assert_eq!(
        (first.stdout.as_str(), first.code),
        ("hello\n", 0),
        "{}",
        first.stderr
    );
    let lines: Vec<&str> = first.stderr.lines().collect();
    assert_eq!(
        lines[0], "Unable to find image 'busybox:latest' locally",
        "{}",
        first.stderr
    );
    assert_eq!(lines[1], "latest: Pulling from library/busybox");
    assert!(lines[2].ends_with(": Pull complete"), "{}", first.stderr);
    assert!(lines[3].starts_with("Digest: sha256:"), "{}", first.stderr);
    assert_eq!(lines[4], "Status: Downloaded newer image for busybox:latest");
    let second = cli.run("docker run --rm busybox echo again")?;
    assert_eq!((second.stdout.as_str(), second.stderr.as_str()), ("again\n", ""));

    let missing = cli.run("docker run nosuchimage")?;
    assert_eq!(missing.code, 125);
    assert_eq!(
        missing.stderr,
        "Unable to find image 'nosuchimage:latest' locally\n\
         docker: Error response from daemon: pull access denied for nosuchimage, repository does not exist or may require 'docker login'\n\n\
         Run 'docker run --help' for more information\n"
    );
    Ok(())
}

#[tokio::test]
async fn push_to_another_registry_needs_its_login() -> Result<()> {
    let dir = TempDir::new("cli-images-remote-login");
    let users = users_file(dir.path())?;
    let remote = Server::start_with(&dir.path().join("remote"), &["--users", users.to_str().unwrap()])?;
    let server = Server::start(&dir.path().join("data"))?;
    let digest = seed_hello(&server).await?;
    let cli = DockerCli::new(&server, dir.path(), "remote-login-session");
    assert_eq!(cli.run("docker pull hello")?.code, 0);
    let target = format!("{}/learner1/app:v1", remote.addr);
    assert_eq!(cli.run(&format!("docker tag hello {target}"))?.code, 0);

    let refused = cli.run(&format!("docker push {target}"))?;
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.starts_with("unauthorized: "), "{}", refused.stderr);

    let wrong = cli.run(&format!("docker login -u learner1 -p wrong {}", remote.addr))?;
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains(&format!(
            "Error response from daemon: Get \"http://{}/v2/\": unauthorized: ",
            remote.addr
        )),
        "{}",
        wrong.stderr
    );
    let right = cli.run_with_stdin(
        &format!("docker login -u learner1 --password-stdin {}", remote.addr),
        "pw-one\n",
    )?;
    assert_eq!(right.stdout, "Login Succeeded\n", "{}", right.stderr);
    let push = cli.run(&format!("docker push {target}"))?;
    assert_eq!(push.code, 0, "{}", push.stderr);
    assert!(
        push.stdout.contains(&format!("v1: digest: {digest}")),
        "{}",
        push.stdout
    );
    assert_eq!(served_digest(&format!("docker://{target}"))?, digest);
    // Someone else's namespace stays closed, with the registry's reason.
    let theirs = format!("{}/learner2/app:v1", remote.addr);
    assert_eq!(cli.run(&format!("docker tag hello {theirs}"))?.code, 0);
    let denied = cli.run(&format!("docker push {theirs}"))?;
    assert_eq!(denied.code, 1);
    assert!(denied.stderr.contains("own namespace"), "{}", denied.stderr);
    Ok(())
}

#[tokio::test]
async fn pull_of_an_index_stores_the_linux_amd64_image() -> Result<()> {
    let dir = TempDir::new("cli-images-index");
    let server = Server::start(&dir.path().join("data"))?;
    let image_digest = seed_hello(&server).await?;
    let image = client()
        .get(server.url(&format!("/v2/library/hello/manifests/{image_digest}")))
        .header("accept", OCI_MANIFEST)
        .send()
        .await?
        .bytes()
        .await?;
    let descriptor = |digest: &str, arch: &str| {
        serde_json::json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": image.len(),
            "platform": {"os": "linux", "architecture": arch}})
    };
    // An arm64 entry first: the pull must choose by platform, not by position.
    let other = push_image(&server, "library/hello", "arm64-only", 99).await?;
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [descriptor(&sha256(&other), "arm64"), descriptor(&image_digest, "amd64")],
    }))?;
    let response = client()
        .put(server.url("/v2/library/hello/manifests/multi"))
        .header("content-type", OCI_INDEX)
        .body(index.clone())
        .send()
        .await?;
    anyhow::ensure!(response.status() == 201, "index push: {}", response.status());

    let cli = DockerCli::new(&server, dir.path(), "index-session");
    let pull = cli.run("docker pull hello:multi")?;
    assert_eq!(pull.code, 0, "{}", pull.stderr);
    // docker shows the digest it asked for (the index); the local store keeps the amd64 image.
    assert!(
        pull.stdout.contains(&format!("Digest: {}\n", sha256(&index))),
        "{}",
        pull.stdout
    );
    let images = cli.run("docker images --format '{{.Tag}} {{.Digest}}'")?;
    assert_eq!(images.stdout, format!("multi {image_digest}\n"));
    Ok(())
}
