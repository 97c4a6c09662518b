//! Lesson manifests and check verdicts from fake companion answers (the e2e test uses the real ones).

use super::*;

const MANIFEST: &str = r#"{
  "title": "T", "files_from": "../../examples/app/", "files": ["Dockerfile", "src/app.py"],
  "steps": [
    {"title": "Log in", "text": "Type `docker login`.", "command": "docker login",
     "check": {"kind": "command_ran", "pattern": "docker login"}},
    {"title": "Build", "text": "x", "check": {"kind": "image_exists", "name": "{user}/app:v1"}},
    {"title": "Run", "text": "x", "check": {"kind": "container_answers", "port": 8000, "contains": "Hello"}},
    {"title": "Push", "text": "x", "check": {"kind": "pushed", "name": "{user}/app:v1"}},
    {"title": "Read", "text": "no check"}
  ]
}"#;

fn check(i: usize) -> Check {
    Lesson::parse(MANIFEST).unwrap().steps[i]
        .check
        .clone()
        .unwrap()
        .personalized("ana")
}

#[test]
fn parses_the_manifest_with_defaults() {
    let lesson = Lesson::parse(MANIFEST).unwrap();
    assert_eq!(lesson.user, "learner1");
    assert_eq!(lesson.steps.len(), 5);
    assert_eq!(lesson.steps[4].check, None);
    assert_eq!(
        check(1),
        Check::ImageExists {
            name: "ana/app:v1".into()
        }
    );
    assert_eq!(
        lesson.file_urls("http://h:1/lessons/one/lesson.json?x=1"),
        [
            (
                "Dockerfile".to_string(),
                "http://h:1/examples/app/Dockerfile".to_string()
            ),
            (
                "src/app.py".to_string(),
                "http://h:1/examples/app/src/app.py".to_string()
            ),
        ]
    );
}

#[test]
fn bad_manifests_say_what_is_wrong() {
    let unknown = MANIFEST.replace("\"command_ran\"", "\"telepathy\"");
    assert!(matches!(Lesson::parse(&unknown), Err(LessonError::Parse(e)) if e.contains("telepathy")));
    let escape = MANIFEST.replace("src/app.py", "../secret");
    assert_eq!(
        Lesson::parse(&escape),
        Err(LessonError::BadFile("../secret".into()))
    );
    let empty = r#"{"title": "T", "files": [], "steps": []}"#;
    assert_eq!(Lesson::parse(empty), Err(LessonError::NoSteps));
}

#[test]
fn resolves_like_a_browser() {
    assert_eq!(resolve("/lessons/a/lesson.json", "./"), "/lessons/a/");
    assert_eq!(
        resolve("/lessons/a/lesson.json", "../../examples/x/"),
        "/examples/x/"
    );
    assert_eq!(
        resolve("http://h/lessons/a/lesson.json", "/abs/"),
        "http://h/abs/"
    );
    assert_eq!(resolve("http://h/a/lesson.json", "http://o/x/"), "http://o/x/");
    assert_eq!(resolve("http://h/a/b/", "c"), "http://h/a/b/c");
}

#[test]
fn command_ran_reads_history() {
    let c = check(0);
    assert!(!c.judge_history(&[("docker ps".into(), 0)]).passed);
    let failed = c.judge_history(&[("docker login".into(), 1)]);
    assert!(!failed.passed);
    assert!(failed.message.contains("failed (exit code 1)"), "{failed:?}");
    let v = c.judge_history(&[("docker login".into(), 1), ("docker   login -u ana".into(), 0)]);
    assert!(v.passed, "{v:?}");
    assert_eq!(v.message, "Done: you ran `docker login -u ana`.");
}

#[test]
fn a_failed_step_says_what_to_do_about_it() {
    let lesson = Lesson::parse(include_str!("../../static/lessons/python-web-app/lesson.json")).unwrap();
    let login = &lesson.steps[1];
    let check = login.check.as_ref().unwrap().personalized("ana");
    let failed = login.advise(check.judge_history(&[("docker login".into(), 1)]), "ana");
    assert!(!failed.passed);
    assert!(
        failed.message.contains("failed (exit code 1)")
            && failed
                .message
                .contains("answer the `Username` and `Password` prompts")
            && failed.message.contains("any password works"),
        "{failed:?}"
    );
    let stopped = check.judge_history(&[("docker login".into(), 130)]);
    assert!(stopped.message.contains("with Ctrl-C"), "{stopped:?}");
    // A passing verdict stays as it is; the step's own text names the command as the seed tutorial does.
    let done = login.advise(check.judge_history(&[("docker login".into(), 0)]), "ana");
    assert_eq!(done.message, "Done: you ran `docker login`.");
    assert_eq!(login.command.as_deref(), Some("docker login"));
    assert!(login.text.contains("`docker login`"));
    // `docker run -it` is stopped with Ctrl-C, as its step says: 130 counts as done there.
    let run_it = lesson.steps[4].check.as_ref().unwrap();
    assert!(
        run_it
            .judge_history(&[("docker run -it ana/python-sample-app:v1".into(), 130)])
            .passed
    );
}

#[test]
fn image_exists_reads_the_image_list() {
    let c = check(1);
    let row = |repo: &str, tag: &str| {
        format!(
            r#"{{"repository":"{repo}","tag":"{tag}","digest":"sha256:aa","id":"sha256:0123456789abcdef","created":"2026-11-28T07:00:00Z","size":1}}"#
        )
    };
    let v = c.judge_images(Ok(format!("[{}]", row("ana/app", "v1"))));
    assert!(v.passed, "{v:?}");
    assert!(v.message.contains("IMAGE ID 0123456789ab"), "{}", v.message);
    let v = c.judge_images(Ok(format!("[{}]", row("ana/app", "latest"))));
    assert!(!v.passed && v.message.contains("not with the tag v1"), "{v:?}");
    let v = c.judge_images(Ok("[]".into()));
    assert!(v.message.contains("docker build -t ana/app:v1 ."), "{v:?}");
    let v = c.judge_images(Err("/api/images answered HTTP 404".into()));
    assert!(!v.passed && v.message.contains("HTTP 404"), "{v:?}");
}

#[test]
fn container_answers_needs_a_published_port_and_a_2xx() {
    let c = check(2);
    let list = |status: &str, port: u16| {
        Ok(format!(
            r#"[{{"id":"c1","name":"web","image":"x","command":"","created":0,"status":"{status}","exit_code":null,"ports":[{{"host":8000,"container":{port}}}]}}]"#
        ))
    };
    assert_eq!(
        c.pick_container(list("running", 8000)).map(|c| c.id),
        Ok("c1".into())
    );
    let v = c.pick_container(list("running", 9000)).unwrap_err();
    assert!(v.message.contains("web does not publish port 8000"), "{v:?}");
    let v = c.pick_container(list("exited", 8000)).unwrap_err();
    assert!(v.message.contains("no container is running"), "{v:?}");
    assert!(c.judge_answer(Ok((200, "<h1>Hello</h1>".into()))).passed);
    assert!(!c.judge_answer(Ok((200, "<h1>Bye</h1>".into()))).passed);
    assert!(c
        .judge_answer(Ok((502, String::new())))
        .message
        .contains("HTTP 502"));
}

#[test]
fn pushed_reads_the_registry_tags() {
    let c = check(3);
    assert_eq!(c.pushed_repository().as_deref(), Some("ana/app"));
    assert!(
        c.judge_tags(Ok((200, r#"{"name":"ana/app","tags":["v1"]}"#.into())))
            .passed
    );
    let v = c.judge_tags(Ok((404, "{}".into())));
    assert!(v.message.contains("docker push ana/app:v1"), "{v:?}");
    assert!(
        !c.judge_tags(Ok((200, r#"{"name":"ana/app","tags":null}"#.into())))
            .passed
    );
    assert!(c
        .judge_tags(Ok((401, String::new())))
        .message
        .contains("docker login"));
}

#[test]
fn the_shipped_lesson_parses_and_its_files_exist() {
    let lesson = Lesson::parse(include_str!("../../static/lessons/python-web-app/lesson.json")).unwrap();
    // Trunk copies static/ into dist/static/, served under /static/.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, url) in lesson.file_urls("/static/lessons/python-web-app/lesson.json") {
        let file = root.join(url.trim_start_matches('/'));
        assert!(file.is_file(), "{name}: {} is missing", file.display());
    }
    let first = lesson.steps[0].check.clone().unwrap();
    assert!(first.judge_history(&[("docker version".into(), 0)]).passed);
}

#[test]
fn the_compose_lesson_parses_its_files_exist_and_its_name_is_a_link() {
    let lesson = Lesson::parse(include_str!("../../static/lessons/compose-app/lesson.json")).unwrap();
    let url = crate::lesson::manifest_url("compose-app");
    assert_eq!(url, "/static/lessons/compose-app/lesson.json");
    assert_eq!(crate::lesson::manifest_url("/x/lesson.json"), "/x/lesson.json");
    assert_eq!(
        crate::lesson::manifest_url("https://a.example/l.json"),
        "https://a.example/l.json"
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, url) in lesson.file_urls(&url) {
        let file = root.join(url.trim_start_matches('/'));
        assert!(file.is_file(), "{name}: {} is missing", file.display());
    }
    // Every command the steps offer is one the interpreter reads (no typo a learner would copy).
    for step in &lesson.steps {
        let command = step.command.as_deref().unwrap();
        let words: Vec<String> = command.split_whitespace().map(String::from).collect();
        assert!(
            !matches!(crate::cli::interpret::plan_words(&words), crate::cli::outcome::Step::Done(ref o) if o.exit_code != 0),
            "{command}"
        );
    }
    // The compose file is one Compose reads: two services, a healthcheck, a named volume.
    let compose = std::fs::read_to_string(root.join("static/examples/compose-app/compose.yaml")).unwrap();
    let files: std::collections::BTreeMap<String, String> = [("compose.yaml".to_string(), compose)].into();
    let options = crate::compose::project::Options {
        working_dir: "/project".into(),
        ..Default::default()
    };
    let loaded = crate::compose::project::load(&files, &options).unwrap();
    assert_eq!(loaded.project.name, "counter");
    let cache = &loaded.project.services["cache"];
    assert!(cache.healthcheck.is_some() && cache.volumes[0].source.as_deref() == Some("cache-data"));
}

#[test]
fn markdown_lite_paragraphs_code_and_bold() {
    let p = markdown_lite("A **bold** `cmd` end.\n\nTwo `unclosed");
    assert_eq!(
        p,
        [
            vec![
                Span::Text("A ".into()),
                Span::Bold("bold".into()),
                Span::Text(" ".into()),
                Span::Code("cmd".into()),
                Span::Text(" end.".into()),
            ],
            vec![Span::Text("Two ".into()), Span::Text("`unclosed".into())],
        ]
    );
}
