//! Classroom progress end to end (issue 15): the server judges a lesson's checks from what it sees a learner
//! do (real `slipway docker` commands with the learner's session, real runc), not from what a page says; only
//! teachers read the snapshot, funnel, feed and CSV; a learner reads only their own progress; the teacher's stop
//! and reset act on one learner; progress survives a restart.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use slipway::api::{paths, SESSION_HEADER};

use crate::support::server::{slipway_bin, with_busybox, Server};
use crate::support::TempDir;

/// The lesson the class is given: a login, a build, a running app, a push, and a command the server cannot see.
const LESSON: &str = r#"{
  "id": "progress-lesson", "title": "Progress", "files": [],
  "steps": [
    {"title": "Log in", "text": "x", "check": {"kind": "command_ran", "pattern": "docker login"}},
    {"title": "Build", "text": "x", "check": {"kind": "image_exists", "name": "{user}/app:v1"}},
    {"title": "Run", "text": "x", "check": {"kind": "container_answers", "port": 8000, "contains": "Hello from a container"}},
    {"title": "Push", "text": "x", "check": {"kind": "pushed", "name": "{user}/app:v1"}},
    {"title": "Version", "text": "x", "check": {"kind": "command_ran", "pattern": "docker version"}}
  ]
}"#;

/// A second lesson of as many steps, none of which grace passes: the page tells the two apart by their ids.
const TWIN: &str = r#"{
  "id": "twin-lesson", "title": "Twin", "files": [],
  "steps": [
    {"title": "One", "text": "x", "check": {"kind": "image_exists", "name": "{user}/other:v1"}},
    {"title": "Two", "text": "x", "check": {"kind": "image_exists", "name": "{user}/other:v2"}},
    {"title": "Three", "text": "x", "check": {"kind": "image_exists", "name": "{user}/other:v3"}},
    {"title": "Four", "text": "x", "check": {"kind": "image_exists", "name": "{user}/other:v4"}},
    {"title": "Five", "text": "x", "check": {"kind": "image_exists", "name": "{user}/other:v5"}}
  ]
}"#;

const CLASS: &str = "[class]\nlessons = [\"progress-lesson\", \"twin-lesson\"]\n\
    [[teachers]]\nname = \"ada\"\ncode = \"TEACH2026XY\"\n\
    [learners]\nnames = [\"grace\", \"linus\"]\n\
    [learners.codes]\ngrace = \"GRACE2026X\"\nlinus = \"KNVTS2026X\"\n";

const APP: &str = "FROM busybox\nRUN mkdir /www && echo 'Hello from a container' > /www/index.html\n\
    CMD [\"httpd\", \"-f\", \"-p\", \"8000\", \"-h\", \"/www\"]\n";

/// A class: the served app's folder holding the lesson, the class file, and a data dir with busybox.
struct Class {
    dir: TempDir,
}

impl Class {
    fn new() -> Result<Class> {
        let dir = TempDir::new("classroom-progress");
        for (id, manifest) in [("progress-lesson", LESSON), ("twin-lesson", TWIN)] {
            let lessons = dir.path().join("dist/static/lessons").join(id);
            std::fs::create_dir_all(&lessons)?;
            std::fs::write(lessons.join("lesson.json"), manifest)?;
        }
        std::fs::write(dir.path().join("classroom.toml"), CLASS)?;
        for (name, dockerfile) in [
            ("app", APP),
            ("broken", "FROM busybox\nRUN echo almost && exit 3\n"),
        ] {
            std::fs::create_dir_all(dir.path().join(name))?;
            std::fs::write(dir.path().join(name).join("Dockerfile"), dockerfile)?;
        }
        Ok(Class { dir })
    }

    fn serve(&self, data: TempDir) -> Result<Server> {
        let file = self.dir.path().join("classroom.toml");
        Server::start_in(
            data,
            &self.dir.path().join("dist"),
            &["--classroom", file.to_str().unwrap()],
        )
    }
}

async fn sign_in(server: &Server, code: &str) -> Result<String> {
    let answer = reqwest::Client::new()
        .post(format!("{}{}", server.url, paths::CLASSROOM_JOIN))
        .json(&json!({ "code": code }))
        .send()
        .await?;
    ensure!(answer.status() == 200, "sign-in with {code}: {}", answer.status());
    let body: Value = answer.json().await?;
    Ok(body["token"].as_str().context("a token")?.to_string())
}

/// `slipway docker ARGS` as the learner whose session is `token`, in `dir`: (exit code, stdout + stderr).
fn docker(server: &Server, token: &str, dir: &Path, args: &[&str]) -> Result<(i32, String)> {
    let out = Command::new(slipway_bin())
        .args(["docker", "--host", &server.url, "--auth-file"])
        .arg(dir.join(format!("auth-{}.json", &token[..8])))
        .args(args)
        .current_dir(dir)
        .env("SLIPWAY_SESSION", token)
        .stdin(Stdio::null())
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.code().unwrap_or(-1), text))
}

fn docker_ok(server: &Server, token: &str, dir: &Path, args: &[&str]) -> Result<String> {
    let (code, text) = docker(server, token, dir, args)?;
    ensure!(code == 0, "docker {}: {code} {text}", args.join(" "));
    Ok(text)
}

/// GET `path` with session `token` (none when empty): status and body.
async fn get(server: &Server, path: &str, token: &str) -> Result<(u16, String)> {
    let mut request = reqwest::Client::new().get(format!("{}{path}", server.url));
    if !token.is_empty() {
        request = request.header(SESSION_HEADER, token);
    }
    let answer = request.send().await?;
    Ok((answer.status().as_u16(), answer.text().await?))
}

async fn snapshot(server: &Server, teacher: &str) -> Result<Value> {
    let (status, body) = get(server, paths::CLASSROOM_PROGRESS, teacher).await?;
    ensure!(status == 200, "snapshot: {status} {body}");
    Ok(serde_json::from_str(&body)?)
}

fn row<'a>(snapshot: &'a Value, name: &str) -> Result<&'a Value> {
    snapshot["learners"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == name))
        .with_context(|| format!("no row for {name}: {snapshot}"))
}

/// The indexes of the steps `name` passed in the class's lesson.
fn passed(snapshot: &Value, name: &str) -> Result<Vec<usize>> {
    let steps = row(snapshot, name)?["lessons"][0]["steps"]
        .as_array()
        .context("steps")?
        .clone();
    Ok((0..steps.len())
        .filter(|&i| steps[i].get("passed_at").is_some())
        .collect())
}

/// The snapshot once `name` passed exactly `steps` (the server judges every 2 s).
async fn wait_for_steps(server: &Server, teacher: &str, name: &str, steps: &[usize]) -> Result<Value> {
    let start = Instant::now();
    loop {
        let now = snapshot(server, teacher).await?;
        if passed(&now, name)? == steps {
            return Ok(now);
        }
        if start.elapsed() > Duration::from_secs(30) {
            bail!("{name} did not reach steps {steps:?}: {now}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn post(server: &Server, path: &str, token: &str, body: Value) -> Result<(u16, Value)> {
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", server.url))
        .header(SESSION_HEADER, token)
        .json(&body)
        .send()
        .await?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.unwrap_or(Value::Null)))
}

/// Only a teacher reads progress: a learner and a client not signed in get 403 on every teacher route; a
/// learner's forged "passed" is refused and changes nothing.
async fn only_teachers_read_progress(server: &Server, learner: &str) -> Result<()> {
    for path in [
        paths::CLASSROOM_PROGRESS,
        paths::CLASSROOM_FUNNEL,
        paths::CLASSROOM_CSV,
        paths::CLASSROOM_FEED,
    ] {
        for token in [learner, ""] {
            let (status, _) = get(server, path, token).await?;
            ensure!(status == 403, "{path} with {token:?}: {status}");
        }
    }
    let forged = json!({"learner": "grace", "lesson": "progress-lesson", "passed": [0, 1, 2, 3, 4]});
    let (status, _) = post(server, paths::CLASSROOM_PROGRESS, learner, forged).await?;
    ensure!(!(200..300).contains(&status), "a forged pass was taken: {status}");
    let (status, _) = post(server, &paths::classroom_stop("linus"), learner, json!({})).await?;
    ensure!(status == 403, "a learner stopping another: {status}");
    Ok(())
}

/// A learner reads their own progress, never another's (the route takes no name); a teacher and a client not
/// signed in get 403 there.
async fn learners_read_only_their_own_progress(
    server: &Server,
    teacher: &str,
    grace: &str,
    linus: &str,
) -> Result<()> {
    let (status, body) = get(server, paths::CLASSROOM_MY_PROGRESS, grace).await?;
    ensure!(status == 200, "{status} {body}");
    let mine: slipway::api::MyProgress = serde_json::from_str(&body)?;
    ensure!(mine.name == "grace" && mine.lessons.len() == 2, "{body}");
    // The page names its lesson by its id: two lessons of five steps each are never confused.
    for (lesson, passes) in [("progress-lesson", vec![0, 1, 2, 3]), ("twin-lesson", vec![])] {
        let query = slipway::api::MyProgressQuery {
            lesson: Some(lesson.into()),
        };
        let path = format!(
            "{}{}",
            paths::CLASSROOM_MY_PROGRESS,
            slipway::api::query_string(&query)
        );
        let (status, body) = get(server, &path, grace).await?;
        let one: slipway::api::MyProgress = serde_json::from_str(&body)?;
        ensure!(
            status == 200 && one.lessons.len() == 1 && one.lessons[0].lesson == lesson,
            "{body}"
        );
        let passed: Vec<usize> = (0..5)
            .filter(|&s| one.step(lesson, s).is_some_and(|m| m.passed_at.is_some()))
            .collect();
        ensure!(passed == passes, "grace's own steps of {lesson}: {body}");
    }
    let (status, body) = get(server, paths::CLASSROOM_MY_PROGRESS, linus).await?;
    let theirs: slipway::api::MyProgress = serde_json::from_str(&body)?;
    ensure!(
        status == 200 && theirs.name == "linus" && !body.contains("grace"),
        "linus sees only linus: {body}"
    );
    ensure!(
        theirs.lessons[0].steps.iter().all(|m| m.passed_at.is_none()),
        "{body}"
    );
    for token in [teacher, ""] {
        let (status, _) = get(server, paths::CLASSROOM_MY_PROGRESS, token).await?;
        ensure!(status == 403, "not a learner ({token:?}): {status}");
    }
    Ok(())
}

/// grace does the lesson with real commands: a failed build first, then the build, the app, the push.
fn grace_does_the_lesson(server: &Server, grace: &str, dir: &Path) -> Result<()> {
    docker_ok(server, grace, dir, &["login", "-u", "grace", "-p", "GRACE2026X"])?;
    let (code, text) = docker(
        server,
        grace,
        &dir.join("broken"),
        &["build", "-t", "grace/broken", "."],
    )?;
    ensure!(code != 0, "the broken build failed: {text}");
    docker_ok(
        server,
        grace,
        &dir.join("app"),
        &["build", "-t", "grace/app:v1", "."],
    )?;
    docker_ok(
        server,
        grace,
        dir,
        &["run", "-d", "-p", "8000:8000", "grace/app:v1"],
    )?;
    docker_ok(server, grace, dir, &["push", "grace/app:v1"])?;
    Ok(())
}

#[tokio::test]
async fn the_server_judges_progress_teachers_read_it_and_act_on_one_learner() -> Result<()> {
    let class = Class::new()?;
    let data = TempDir::new("classroom-progress-data");
    with_busybox(&data)?;
    let server = class.serve(data)?;
    let teacher = sign_in(&server, "TEACH2026XY").await?;
    let grace = sign_in(&server, "GRACE2026X").await?;
    let linus = sign_in(&server, "KNVTS2026X").await?;
    only_teachers_read_progress(&server, &grace).await?;
    ensure!(passed(&snapshot(&server, &teacher).await?, "grace")?.is_empty());

    grace_does_the_lesson(&server, &grace, class.dir.path())?;
    let now = wait_for_steps(&server, &teacher, "grace", &[0, 1, 2, 3]).await?;
    let row_of_grace = row(&now, "grace")?;
    ensure!(
        row_of_grace["online"] == true && row_of_grace["running_containers"] == 1,
        "{row_of_grace}"
    );
    ensure!(
        row_of_grace["lessons"][0]["steps"][4]["vouched"] == false,
        "docker version is not seen"
    );
    ensure!(row_of_grace["lessons"][0]["current_step"] == 4, "{row_of_grace}");
    let error = &row_of_grace["last_error"];
    ensure!(
        error["command"].as_str().unwrap_or_default().contains("exit 3")
            && error["error"]
                .as_str()
                .unwrap_or_default()
                .contains("exit code 3"),
        "the failed RUN step is grace's last error: {error}"
    );
    ensure!(passed(&now, "linus")?.is_empty(), "linus did nothing: {now}");
    learners_read_only_their_own_progress(&server, &teacher, &grace, &linus).await?;
    let funnel = &now["funnels"][0]["steps"];
    ensure!(
        funnel[1]["passed"] == 1 && funnel[0]["stopped_here"] == 1,
        "{funnel}"
    );

    let (status, csv) = get(&server, paths::CLASSROOM_CSV, &teacher).await?;
    ensure!(
        status == 200 && csv.split("\r\n").filter(|l| !l.is_empty()).count() == 1 + 2 * 5 * 2,
        "{csv}"
    );
    ensure!(csv.contains("grace,progress-lesson,2,Build,20"), "{csv}");

    // The feed sends a snapshot at once.
    let mut feed = reqwest::Client::new()
        .get(format!("{}{}", server.url, paths::CLASSROOM_FEED))
        .header(SESSION_HEADER, &teacher)
        .send()
        .await?;
    ensure!(feed.headers()["content-type"]
        .to_str()?
        .starts_with("text/event-stream"));
    let first = tokio::time::timeout(Duration::from_secs(10), feed.chunk()).await??;
    let first = String::from_utf8_lossy(&first.context("an event")?).into_owned();
    ensure!(
        first.starts_with("event: snapshot") && first.contains("\"grace\""),
        "{first}"
    );
    drop(feed);

    teacher_acts_on_one_learner(&server, &teacher, &linus, class.dir.path()).await?;

    // Progress survives a restart: grace's first step keeps its time.
    let before = snapshot(&server, &teacher).await?;
    let kept = row(&before, "grace")?["lessons"][0]["steps"][0]["passed_at"].clone();
    let (_, data) = server.stop_keeping_data()?;
    ensure!(data.path().join("progress.json").is_file());
    let server = class.serve(data)?;
    let teacher = sign_in(&server, "TEACH2026XY").await?;
    let after = wait_for_steps(&server, &teacher, "grace", &[0]).await?;
    ensure!(
        row(&after, "grace")?["lessons"][0]["steps"][0]["passed_at"] == kept,
        "{after}"
    );
    Ok(())
}

/// Stop acts on grace's containers only; reset takes her back to the build step (her app's container, image and
/// pushed tag go; her login step keeps its time), linus's container runs on.
async fn teacher_acts_on_one_learner(server: &Server, teacher: &str, linus: &str, dir: &Path) -> Result<()> {
    docker_ok(
        server,
        linus,
        dir,
        &["run", "-d", "--name", "nap", "busybox", "sleep", "300"],
    )?;
    let (status, done) = post(server, &paths::classroom_stop("grace"), teacher, json!({})).await?;
    ensure!(status == 200 && done["containers"] == 1, "{status} {done}");
    let grace_row = row(&snapshot(server, teacher).await?, "grace")?.clone();
    let login_time = grace_row["lessons"][0]["steps"][0]["passed_at"].clone();
    ensure!(
        docker_ok(server, linus, dir, &["ps", "-q"])?.lines().count() == 1,
        "linus's container still runs"
    );

    let (status, done) = post(
        server,
        &paths::classroom_reset("grace"),
        teacher,
        json!({"step": 1}),
    )
    .await?;
    ensure!(
        status == 200 && done["images"] == 2 && done["containers"] == 1,
        "{status} {done}"
    );
    let now = wait_for_steps(server, teacher, "grace", &[0]).await?;
    ensure!(
        row(&now, "grace")?["lessons"][0]["steps"][0]["passed_at"] == login_time,
        "{now}"
    );
    ensure!(row(&now, "grace")?["lessons"][0]["current_step"] == 1, "{now}");
    ensure!(row(&now, "linus")?["running_containers"] == 1, "{now}");
    let (status, _) = post(
        server,
        &paths::classroom_reset("grace"),
        teacher,
        json!({"step": 9}),
    )
    .await?;
    ensure!(status == 400, "a step past the lesson: {status}");
    Ok(())
}

/// In Chromium: the teacher signs in at `/teacher` and watches; grace, in a second browser profile, signs in and
/// types the seed lesson's login and build; the teacher's table shows her move on, live, and the live region
/// says so.
#[tokio::test]
async fn in_chromium_the_teachers_dashboard_shows_a_learners_build_live() -> Result<()> {
    use crate::support::browser::Browser;
    use crate::support::project::{Project, ProjectFile};
    let dir = TempDir::new("classroom-dashboard");
    let class = CLASS
        .replace(", \"twin-lesson\"", "")
        .replace("progress-lesson", "python-web-app");
    std::fs::write(dir.path().join("classroom.toml"), class)?;
    let data = TempDir::new("classroom-dashboard-data");
    with_busybox(&data)?;
    let file = dir.path().join("classroom.toml");
    let server = Server::start_in(
        data,
        &crate::support::server::dist_dir(),
        &["--classroom", file.to_str().unwrap()],
    )?;
    let project = Project::from_files([(
        "Dockerfile",
        ProjectFile::new("FROM busybox\nRUN echo built > /built.txt\n"),
    )])?;
    let workspace = project.share_link(&format!("{}/", server.url));
    let dashboard = format!("{}{}", server.url, paths::TEACHER);
    Browser::start()
        .await?
        .run("classroom_dashboard_teacher", |teacher| async move {
            teacher.goto(&dashboard).await?;
            teacher.type_into(CODE_FIELD, "TEACH2026XY\u{E007}").await?;
            let table = learners_table(&teacher, "both learners at the start", |t| {
                t.contains("grace") && t.contains("linus") && t.contains("1 of 8 (0 passed)")
            })
            .await?;
            ensure!(!table.contains("4 of 8"), "{table}");
            // A sort button: its column header says how the table is sorted.
            teacher.click("Learner").await?;
            let sorted = teacher
                .client
                .execute(
                    "return document.querySelector('th[aria-sort=\"ascending\"]')?.textContent;",
                    vec![],
                )
                .await?;
            ensure!(sorted == json!("Learner"), "{sorted}");
            Browser::start()
                .await?
                .run("classroom_dashboard_learner", |grace| async move {
                    grace.goto(&workspace).await?;
                    grace.type_into(CODE_FIELD, "GRACE2026X\u{E007}").await?;
                    grace
                        .wait_for_text("Terminal output", "the greeting", |t| {
                            t.contains("Welcome, grace!")
                        })
                        .await?;
                    grace
                        .terminal_command("docker login -u grace -p GRACE2026X", "Login Succeeded")
                        .await?;
                    grace
                        .terminal_command("docker build -t grace/python-sample-app:v1 .", "naming to")
                        .await?;
                    Ok(())
                })
                .await?;
            learners_table(&teacher, "grace on step 4", |t| t.contains("4 of 8 (2 passed)")).await?;
            let said = teacher.text_of("Class dashboard updates").await?;
            ensure!(said.contains("grace is on step"), "{said}");
            Ok(())
        })
        .await
}

pub(crate) const CODE_FIELD: &str = "Your join code (on your card)";

/// The learners' table's text once `done` accepts it (within 30 s: the server judges every 2 s).
pub(crate) async fn learners_table(
    page: &crate::support::browser::Page,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> Result<String> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < Duration::from_secs(30) {
        let text = page
            .client
            .execute(
                "return document.querySelector('table.learners')?.innerText ?? '';",
                vec![],
            )
            .await?;
        last = text.as_str().unwrap_or_default().to_string();
        if done(&last) {
            return Ok(last);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the learners' table never showed {what}: {last:?}")
}
