//! Interpreter parsing tests: behaviour, and the docker CLI's own error texts from `tests/golden/docker-cli/`.

use super::parse::{parse, CliError, Parsed};
use super::words::split_words;

fn parse_line(line: &str) -> Result<Parsed, CliError> {
    parse(&split_words(line).unwrap())
}

fn run(line: &str) -> super::parse::Invocation {
    match parse_line(line) {
        Ok(Parsed::Run(inv)) => inv,
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn seed_tutorial_commands_parse() {
    let build = run("docker build -t keerthanav123/python-sample-app:v1 .");
    assert_eq!(build.command.path, ["build"]);
    assert_eq!(build.flags.values("tag"), ["keerthanav123/python-sample-app:v1"]);
    assert_eq!(build.args, ["."]);

    let images = run("docker images");
    assert_eq!(images.command.path, ["image", "ls"]);
    assert_eq!(images.typed, ["images"]);

    let run_it = run("docker run -it keerthanav123/python-sample-app");
    assert!(run_it.flags.is_set("interactive") && run_it.flags.is_set("tty"));
    assert_eq!(run_it.args, ["keerthanav123/python-sample-app"]);

    let push = run("docker push keerthanav123/python-sample-app:v1");
    assert_eq!(push.command.path, ["image", "push"]);
    assert!(matches!(parse_line("docker login"), Ok(Parsed::Run(_))));
}

#[test]
fn run_stops_parsing_flags_at_the_image() {
    let inv = run("docker run --rm -p8000:8000 -e A=1 --env=B=2 -w /app user/app python3 -m http.server -d");
    assert!(inv.flags.is_set("rm"));
    assert!(
        !inv.flags.is_set("detach"),
        "-d after the image belongs to the container's command"
    );
    assert_eq!(inv.flags.values("publish"), ["8000:8000"]);
    assert_eq!(inv.flags.values("env"), ["A=1", "B=2"]);
    assert_eq!(inv.flags.value("workdir"), Some("/app"));
    assert_eq!(inv.args, ["user/app", "python3", "-m", "http.server", "-d"]);
}

#[test]
fn interspersed_flags_and_double_dash() {
    let inv = run("docker images user/app -q --format '{{.Repository}}:{{.Tag}}'");
    assert!(inv.flags.is_set("quiet"));
    assert_eq!(inv.flags.value("format"), Some("{{.Repository}}:{{.Tag}}"));
    assert_eq!(inv.args, ["user/app"]);
    let inv = run("docker rmi -- -weird");
    assert_eq!(inv.args, ["-weird"]);
    let inv = run("docker -H http://127.0.0.1:8080 ps -a");
    assert_eq!(inv.global.value("host"), Some("http://127.0.0.1:8080"));
}

#[test]
fn help_and_version() {
    assert_eq!(parse_line("docker").unwrap(), Parsed::Help(None));
    assert_eq!(parse_line("docker --help").unwrap(), Parsed::Help(None));
    assert_eq!(parse_line("docker --version").unwrap(), Parsed::Version);
    assert!(
        matches!(parse_line("docker run --help"), Ok(Parsed::Help(Some(c))) if c.path == ["container", "run"])
    );
    assert!(
        matches!(parse_line("docker help push"), Ok(Parsed::Help(Some(c))) if c.path == ["image", "push"])
    );
    let text = super::help::command_help(
        super::spec::COMMANDS
            .iter()
            .find(|c| c.path == ["build"])
            .unwrap(),
    );
    assert!(
        text.contains("Usage:  docker build [OPTIONS] PATH | URL | -"),
        "{text}"
    );
    assert!(text.contains("  -t, --tag string"), "{text}");
    assert!(super::help::overview().contains("  images "));
}

#[test]
fn typos_get_suggestions() {
    let err = parse_line("docker biuld").unwrap_err();
    assert!(err.to_string().contains("Did you mean this?\n\tbuild"), "{err}");
    let err = parse_line("docker build --tagg x .").unwrap_err();
    assert!(err.to_string().contains("Did you mean this?\n\t--tag"), "{err}");
    let err = parse_line("docker image lss").unwrap_err();
    assert!(err.to_string().contains("\timage ls"), "{err}");
    assert_eq!(err.exit_code(), 1);
    let err = parse_line("docker run --foo x").unwrap_err();
    assert_eq!(err.exit_code(), 125);
}

/// Strip Slipway's addition (the suggestion block) to compare with what docker itself prints.
fn without_suggestion(text: &str) -> String {
    match text.find("\n\nDid you mean this?\n\t") {
        Some(start) => {
            let rest = &text[start + 2..];
            let end = rest.find("\n\n").map(|e| start + 2 + e).unwrap_or(text.len());
            format!("{}{}", &text[..start], &text[end..])
        }
        None => text.to_string(),
    }
}

#[test]
fn errors_match_the_real_docker_cli() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/docker-cli");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let case = entry.unwrap().path();
        // Other folders hold whole-session transcripts (`session/`, checked against a real companion).
        if !case.join("command").is_file() {
            continue;
        }
        let read = |name: &str| std::fs::read_to_string(case.join(name)).unwrap();
        let command = read("command");
        let want = read("stderr");
        let code: i32 = read("exit_code").trim().parse().unwrap();
        let err = parse_line(command.trim()).expect_err(&command);
        assert_eq!(
            without_suggestion(&err.to_string()),
            want.trim_end(),
            "{}",
            case.display()
        );
        assert_eq!(err.exit_code(), code, "exit code of {command}");
        cases += 1;
    }
    assert!(
        cases >= 16,
        "only {cases} golden cases found in {}",
        dir.display()
    );
}
