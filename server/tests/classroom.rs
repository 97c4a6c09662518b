//! Classroom mode end to end (issue 15): `slipway classroom init`/`cards`, sign-in with a join code, one
//! learner across browsers, `docker login` with the code, SIGHUP, and the teacher's page closed to learners.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};
use slipway::api::{paths, SESSION_HEADER};

use crate::support::server::{slipway_bin, Server};
use crate::support::TempDir;

/// `slipway classroom ARGS`: its stdout, after checking it succeeded.
fn classroom(args: &[&str]) -> Result<String> {
    let out = Command::new(slipway_bin()).arg("classroom").args(args).output()?;
    ensure!(
        out.status.success(),
        "slipway classroom {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// A classroom file in `dir` holding `text`.
pub(crate) fn class_file(dir: &Path, text: &str) -> Result<PathBuf> {
    let file = dir.join("classroom.toml");
    std::fs::write(&file, text)?;
    Ok(file)
}

/// `(name, code)` of every card `slipway classroom cards` prints for `file` with data dir `data`.
pub(crate) fn cards(file: &Path, data: &Path) -> Result<(String, Vec<(String, String)>)> {
    let html = classroom(&[
        "cards",
        "--classroom",
        file.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--url",
        "http://class.example:8080/?a=1&b=2",
    ])?;
    let mut found = Vec::new();
    for card in html.split("<section class=\"card\">").skip(1) {
        let name = between(card, "<h2>", "</h2>").context("a name")?;
        let code = between(card, "<p class=\"code\">", "</p>").context("a code")?;
        found.push((name.to_string(), code.to_string()));
    }
    Ok((html, found))
}

/// Cards for the class in `file` (codes made in a fresh data dir), then `slipway serve --classroom` on that data dir
/// with the web app in `dist`.
fn serve_class(file: &Path, dist: &Path) -> Result<(Server, Vec<(String, String)>)> {
    let data = TempDir::new("classroom-data");
    let (_, codes) = cards(file, data.path())?;
    let server = Server::start_in(data, dist, &["--classroom", file.to_str().unwrap()])?;
    Ok((server, codes))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    Some(&text[from..from + text[from..].find(end)?])
}

pub(crate) fn code_of<'a>(cards: &'a [(String, String)], name: &str) -> &'a str {
    &cards.iter().find(|(n, _)| n == name).expect("a card").1
}

/// `POST /api/classroom/join {code}`: the status and the JSON answer.
async fn join(server: &Server, code: &str) -> Result<(u16, Value)> {
    let response = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::CLASSROOM_JOIN))
        .json(&json!({ "code": code }))
        .send()
        .await?;
    Ok((response.status().as_u16(), response.json().await?))
}

/// A signed-in member's session token.
pub(crate) async fn sign_in(server: &Server, code: &str) -> Result<String> {
    let (status, body) = join(server, code).await?;
    ensure!(status == 200, "sign-in with {code}: {status} {body}");
    Ok(body["token"].as_str().context("a token")?.to_string())
}

/// GET `path` with session `token` (none when empty): the status.
async fn status_of(server: &Server, path: &str, token: &str) -> Result<u16> {
    let mut request = reqwest::Client::new().get(format!("{}{path}", server.url));
    if !token.is_empty() {
        request = request.header(SESSION_HEADER, token);
    }
    Ok(request.send().await?.status().as_u16())
}

/// Keeps `kill -HUP` next to the test that needs it.
pub(crate) fn hangup(server: &Server) -> Result<()> {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()?;
    ensure!(status.success(), "kill -HUP");
    Ok(())
}

#[tokio::test]
async fn init_writes_a_class_that_serves_and_learners_sign_in_only_with_their_code() -> Result<()> {
    let dir = TempDir::new("classroom-init");
    let file = dir.path().join("classroom.toml");
    classroom(&["init", file.to_str().unwrap()])?;
    let again = Command::new(slipway_bin())
        .args(["classroom", "init"])
        .arg(&file)
        .output()?;
    ensure!(!again.status.success(), "init overwrote the file");
    let data = TempDir::new("classroom-init-data");
    let (html, codes) = cards(&file, data.path())?;
    ensure!(codes.len() == 31, "a teacher and 30 learners: {codes:?}");
    ensure!(
        html.contains("http://class.example:8080/?a=1&amp;b=2"),
        "the URL, escaped"
    );
    for (name, code) in &codes {
        ensure!(code.len() == 11 && !name.is_empty(), "{name}: {code}");
    }
    let server = Server::start_in(
        data,
        Path::new("/nonexistent"),
        &["--classroom", file.to_str().unwrap()],
    )?;

    let info: Value = reqwest::get(format!("{}{}", server.url, paths::INFO))
        .await?
        .json()
        .await?;
    ensure!(
        info["classroom"]["lessons"] == json!(["python-web-app"]),
        "{info}"
    );
    ensure!(info["classroom"]["name"] == "Docker 101", "{info}");

    // No anonymous sessions in a class.
    let anonymous = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::SESSIONS))
        .send()
        .await?;
    ensure!(anonymous.status() == 403, "{}", anonymous.status());
    let body: Value = anonymous.json().await?;
    ensure!(
        body["message"].as_str().unwrap_or_default().contains("join code"),
        "{body}"
    );

    // A wrong code: 401 with an error body, and no token.
    let (status, body) = join(&server, "ABCDE-FGHJK").await?;
    ensure!(status == 401 && body.get("token").is_none(), "{status} {body}");
    ensure!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not one of this class"),
        "{body}"
    );

    // The code as the card shows it, typed in lower case: learner1's session, the same at every sign-in.
    let code = code_of(&codes, "learner1").to_lowercase();
    let (status, signed) = join(&server, &code).await?;
    ensure!(
        status == 200 && signed["name"] == "learner1" && signed["role"] == "learner",
        "{signed}"
    );
    let token = signed["token"].as_str().unwrap().to_string();
    ensure!(
        sign_in(&server, code_of(&codes, "learner1")).await? == token,
        "one learner, one session"
    );
    ensure!(status_of(&server, paths::IMAGES, &token).await? == 200);
    ensure!(status_of(&server, paths::IMAGES, "").await? == 401);

    // The teacher's page: 403 for a learner's session; a browser opening it (no session) gets the app, which
    // asks for a teacher's code (the data is behind the teacher's API: `classroom_progress`); a teacher passes.
    ensure!(status_of(&server, paths::TEACHER, &token).await? == 403);
    ensure!(status_of(&server, paths::TEACHER, "").await? != 403);
    let teacher = sign_in(&server, code_of(&codes, "teacher")).await?;
    ensure!(status_of(&server, paths::TEACHER, &teacher).await? != 403);
    Ok(())
}

#[tokio::test]
async fn a_bad_classroom_file_stops_the_server_with_its_line_and_column() -> Result<()> {
    let dir = TempDir::new("classroom-bad");
    let file = class_file(dir.path(), "[learners]\nnames = [\"ada\",\n   \"Not A Name\"]\n")?;
    let refusal = crate::support::server::serve_refusal(&["--classroom", file.to_str().unwrap()]);
    ensure!(
        refusal.contains("line 3, column 4") && refusal.contains("Not A Name"),
        "{refusal}"
    );
    Ok(())
}

/// The registry's answer to a token request for `scope`, logging in as `user` with `password` (docker login's
/// Basic).
async fn token_answer(server: &Server, user: &str, password: &str, scope: &str) -> Result<reqwest::Response> {
    Ok(reqwest::Client::new()
        .get(format!("{}/token", server.url))
        .query(&[("service", "slipway"), ("scope", scope)])
        .basic_auth(user, Some(password))
        .send()
        .await?)
}

/// A token for `scope` from the registry, logging in as `user` with `password`.
pub(crate) async fn registry_token(
    server: &Server,
    user: &str,
    password: &str,
    scope: &str,
) -> Result<String> {
    let response = token_answer(server, user, password, scope).await?;
    ensure!(
        response.status() == 200,
        "token for {user}: {}",
        response.status()
    );
    let body: Value = response.json().await?;
    Ok(body["token"].as_str().context("token")?.to_string())
}

#[tokio::test]
async fn learners_log_in_to_the_registry_with_their_code_and_push_only_to_their_namespace() -> Result<()> {
    let dir = TempDir::new("classroom-registry");
    let file = class_file(dir.path(), "[learners]\ncount = 2\n")?;
    let (server, codes) = serve_class(&file, Path::new("/nonexistent"))?;
    let code = code_of(&codes, "learner1");
    let other_code = code_of(&codes, "learner2");
    let wrong = token_answer(
        &server,
        "learner1",
        other_code,
        "repository:learner1/app:pull,push",
    )
    .await?;
    ensure!(
        wrong.status() == 401,
        "another learner's code: {}",
        wrong.status()
    );

    // `slipway docker login` takes the learner's name and code as docker's would.
    let login = Command::new(slipway_bin())
        .args(["docker", "--host", &server.url, "--auth-file"])
        .arg(dir.path().join("auth.json"))
        .args(["login", "-u", "learner1", "-p", code])
        .output()?;
    let said = String::from_utf8_lossy(&login.stdout);
    ensure!(
        login.status.success() && said.contains("Login Succeeded"),
        "{said}"
    );

    let blob = b"a learner's layer".to_vec();
    let digest = crate::registry::sha256(&blob);
    let push = |repository: &str, token: String| {
        let url = format!("{}/v2/{repository}/blobs/uploads/?digest={digest}", server.url);
        let body = blob.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .body(body)
                .send()
                .await
        }
    };
    let own = registry_token(&server, "learner1", code, "repository:learner1/app:pull,push").await?;
    ensure!(push("learner1/app", own).await?.status() == 201);
    for elsewhere in ["learner2/app", "library/busybox"] {
        let token = registry_token(
            &server,
            "learner1",
            code,
            &format!("repository:{elsewhere}:pull,push"),
        )
        .await?;
        let denied = push(elsewhere, token).await?;
        ensure!(denied.status() == 403, "{elsewhere}: {}", denied.status());
        let body: Value = denied.json().await?;
        ensure!(body["errors"][0]["code"] == "DENIED", "{body}");
    }
    Ok(())
}

#[tokio::test]
async fn sighup_lets_an_added_learner_sign_in_and_keeps_the_others_signed_in() -> Result<()> {
    let dir = TempDir::new("classroom-sighup");
    let file = class_file(dir.path(), "[learners]\ncount = 1\n")?;
    let (server, codes) = serve_class(&file, Path::new("/nonexistent"))?;
    let first = sign_in(&server, code_of(&codes, "learner1")).await?;

    // learner2 is added; the cards show their code (made now, kept in the data dir, read by the server's reload).
    class_file(dir.path(), "[learners]\ncount = 2\n")?;
    let (_, codes) = cards(&file, server.data.path())?;
    let second_code = code_of(&codes, "learner2").to_string();
    ensure!(
        join(&server, &second_code).await?.0 == 401,
        "not in the class before SIGHUP"
    );
    hangup(&server)?;
    let mut second = None;
    for _ in 0..50 {
        if let (200, body) = join(&server, &second_code).await? {
            second = body["token"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = second.context("learner2 never got in after SIGHUP")?;
    ensure!(
        status_of(&server, paths::IMAGES, &first).await? == 200,
        "learner1 was dropped"
    );
    ensure!(status_of(&server, paths::IMAGES, &second).await? == 200);

    // A file that no longer parses changes nothing.
    class_file(dir.path(), "[learners\ncount = 1\n")?;
    hangup(&server)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    ensure!(
        status_of(&server, paths::IMAGES, &second).await? == 200,
        "a broken file dropped learner2"
    );

    // learner2 leaves the file: their session ends, learner1's does not.
    class_file(dir.path(), "[learners]\ncount = 1\n")?;
    hangup(&server)?;
    let mut ended = false;
    for _ in 0..50 {
        if status_of(&server, paths::IMAGES, &second).await? == 401 {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(ended, "a removed learner's session went on");
    ensure!(status_of(&server, paths::IMAGES, &first).await? == 200);
    Ok(())
}

#[tokio::test]
async fn a_learner_signing_in_again_finds_their_running_container() -> Result<()> {
    let dir = TempDir::new("classroom-containers");
    let file = class_file(dir.path(), "[learners]\ncount = 1\n[limits]\ncontainers = 2\n")?;
    let Some(server) =
        crate::runner::busybox_server("classroom-containers", &["--classroom", file.to_str().unwrap()])?
    else {
        return Ok(());
    };
    let (_, codes) = cards(&file, server.data.path())?;
    let code = code_of(&codes, "learner1");
    let first = sign_in(&server, code).await?;
    let c = reqwest::Client::new();
    let created = c
        .post(format!("{}{}?start=true", server.url, paths::CONTAINERS))
        .header(SESSION_HEADER, &first)
        .json(&json!({"image": "busybox", "cmd": ["sleep", "300"]}))
        .send()
        .await?;
    ensure!(created.status() == 201, "{}", created.text().await?);
    // Another browser: a second sign-in with the same code.
    let again = sign_in(&server, code).await?;
    let listed: Value = c
        .get(format!("{}{}", server.url, paths::CONTAINERS))
        .header(SESSION_HEADER, &again)
        .send()
        .await?
        .json()
        .await?;
    ensure!(listed.as_array().is_some_and(|l| l.len() == 1), "{listed}");
    // The class's limit of two containers holds for the learner, whichever browser asks.
    for n in 0..2 {
        let more = c
            .post(format!("{}{}?start=true", server.url, paths::CONTAINERS))
            .header(SESSION_HEADER, &again)
            .json(&json!({"image": "busybox", "cmd": ["sleep", "300"]}))
            .send()
            .await?;
        ensure!(
            (more.status() == 201) == (n == 0),
            "container {}: {}",
            n + 2,
            more.status()
        );
    }
    Ok(())
}

/// The sign-in field's accessible name (its label).
const CODE_FIELD: &str = "Your join code (on your card)";

#[tokio::test(flavor = "multi_thread")]
async fn in_the_page_a_learner_signs_in_with_their_card_and_pushes_only_to_their_namespace() -> Result<()> {
    use crate::support::browser::Browser;
    use crate::support::project::{Project, ProjectFile};
    let dir = TempDir::new("classroom-page");
    let file = class_file(
        dir.path(),
        "[class]\nname = \"Docker 101\"\n[learners]\ncount = 2\n",
    )?;
    let (server, codes) = serve_class(&file, &crate::support::server::dist_dir())?;
    let code = code_of(&codes, "learner1").to_string();
    let project = Project::from_files([
        ("Dockerfile", ProjectFile::new("FROM scratch\nCOPY a.txt /\n")),
        ("a.txt", ProjectFile::new("alpha\n")),
    ])?;
    let url = project.share_link(&format!("{}/", server.url));
    let typed = code.to_lowercase();
    let login = format!("docker login -u learner1 -p {code}");
    Browser::start()
        .await?
        .run("classroom_sign_in_and_push", |page| async move {
            page.goto(&url).await?;
            // Typed as a learner copies a card: lower case, the dash included, then Enter.
            page.type_into(CODE_FIELD, &format!("{typed}\u{E007}")).await?;
            page.wait_for_text("Terminal output", "the greeting", |t| {
                t.contains("Welcome, learner1!")
            })
            .await?;
            page.terminal_command("docker build -t learner1/app:v1 .", "naming to")
                .await?;
            page.terminal_command(&login, "Login Succeeded").await?;
            page.terminal_command("docker push learner1/app:v1", "digest: sha256:")
                .await?;
            page.terminal_command("docker tag learner1/app:v1 learner2/app:v1", "")
                .await?;
            page.terminal_command("docker push learner2/app:v1", "denied")
                .await?;
            Ok(())
        })
        .await?;

    // Another browser (a fresh profile: no sessionStorage): a wrong code is refused, the right one opens the
    // same learner's workspace, with the image built in the first browser.
    let home = format!("{}/", server.url);
    let (class_dir, class_server) = (dir.path(), &server);
    Browser::start()
        .await?
        .run("classroom_second_browser", |page| async move {
            page.goto(&home).await?;
            page.type_into(CODE_FIELD, "WRONG-CODE0\u{E007}").await?;
            page.wait_for_text("Sign in to the class", "the refusal", |t| t.contains("not right"))
                .await?;
            let field = page.by_name(CODE_FIELD).await?;
            ensure!(field.attr("aria-invalid").await?.as_deref() == Some("true"));
            page.type_into(CODE_FIELD, &format!("{code}\u{E007}")).await?;
            page.wait_for_text("Terminal output", "the greeting", |t| {
                t.contains("Welcome, learner1!")
            })
            .await?;
            page.terminal_command("docker images", "learner1/app").await?;
            // learner1 leaves the class: on the next load the page forgets the session and asks for a code again.
            class_file(class_dir, "[learners]\nnames = [\"learner2\"]\n")?;
            hangup(class_server)?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            page.goto(&home).await?;
            page.by_name(CODE_FIELD).await?;
            Ok(())
        })
        .await
}
