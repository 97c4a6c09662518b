//! Interpreter parsing tests: behaviour, and the docker CLI's own error texts from `tests/golden/docker-cli/`.

use super::parse::{parse, CliError, Parsed};
use super::spec::{Backend, CommandId, CommandSpec, Flag, Support, COMMANDS, GLOBAL_FLAGS};
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
    assert_eq!(build.command.id, CommandId::Build);
    assert_eq!(
        build.flags.values(Flag::TAG),
        ["keerthanav123/python-sample-app:v1"]
    );
    assert_eq!(build.args, ["."]);

    let images = run("docker images");
    assert_eq!(images.command.id, CommandId::ImageLs);
    assert_eq!(images.typed, ["images"]);

    let run_it = run("docker run -it keerthanav123/python-sample-app");
    assert!(run_it.flags.is_set(Flag::INTERACTIVE) && run_it.flags.is_set(Flag::TTY));
    assert_eq!(run_it.args, ["keerthanav123/python-sample-app"]);

    let push = run("docker push keerthanav123/python-sample-app:v1");
    assert_eq!(push.command.id, CommandId::ImagePush);
    assert!(matches!(parse_line("docker login"), Ok(Parsed::Run(_))));
}

#[test]
fn run_stops_parsing_flags_at_the_image() {
    let inv = run("docker run --rm -p8000:8000 -e A=1 --env=B=2 -w /app user/app python3 -m http.server -d");
    assert!(inv.flags.is_set(Flag::RM));
    assert!(
        !inv.flags.is_set(Flag::DETACH),
        "-d after the image belongs to the container's command"
    );
    assert_eq!(inv.flags.values(Flag::PUBLISH), ["8000:8000"]);
    assert_eq!(inv.flags.values(Flag::ENV), ["A=1", "B=2"]);
    assert_eq!(inv.flags.value(Flag::WORKDIR), Some("/app"));
    assert_eq!(inv.args, ["user/app", "python3", "-m", "http.server", "-d"]);
}

#[test]
fn interspersed_flags_and_double_dash() {
    let inv = run("docker images user/app -q --format '{{.Repository}}:{{.Tag}}'");
    assert!(inv.flags.is_set(Flag::QUIET));
    assert_eq!(inv.flags.value(Flag::FORMAT), Some("{{.Repository}}:{{.Tag}}"));
    assert_eq!(inv.args, ["user/app"]);
    let inv = run("docker rmi -- -weird");
    assert_eq!(inv.args, ["-weird"]);
    let inv = run("docker --version=false ps -a");
    assert!(!inv.global.is_set(Flag::VERSION) && inv.flags.is_set(Flag::ALL));
}

#[test]
fn help_and_version() {
    assert_eq!(parse_line("docker").unwrap(), Parsed::Help(None));
    assert_eq!(parse_line("docker --help").unwrap(), Parsed::Help(None));
    assert_eq!(parse_line("docker --version").unwrap(), Parsed::Version);
    assert!(
        matches!(parse_line("docker run --help"), Ok(Parsed::Help(Some(c))) if c.id == CommandId::ContainerRun)
    );
    assert!(
        matches!(parse_line("docker help push"), Ok(Parsed::Help(Some(c))) if c.id == CommandId::ImagePush)
    );
    let text = super::help::command_help(CommandSpec::of(CommandId::Build));
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

#[test]
fn declared_flags_slipway_does_not_do_are_refused_naming_them() {
    for (line, named) in [
        ("docker logs --since 1m web", "--since"),
        ("docker push -a user/app", "-a, --all-tags"),
        ("docker system df -v", "-v, --verbose"),
        ("docker history --human=false busybox", "--human"),
        ("docker -H tcp://elsewhere:2375 images", "-H, --host"),
    ] {
        let err = parse_line(line).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("unsupported flag: {named}: ")),
            "{line}: {text}"
        );
        assert_eq!(err.exit_code(), 125, "{line}");
    }
    for line in [
        "docker history -H busybox",
        "docker pull --platform linux/amd64 busybox",
        "docker pull --platform linux/arm64 busybox",
        "docker rm -v web",
        "docker images -a",
        "docker ps -n 2",
    ] {
        assert!(matches!(parse_line(line), Ok(Parsed::Run(_))), "{line}");
    }
}

/// The table's promise: a flag it calls implemented is read by the code (a `Flag::NAME` outside the table).
/// Commands nothing runs yet are refused whole, so their flags are not checked.
#[test]
fn every_implemented_flag_is_read_somewhere() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::new();
    for dir in [
        root.join("src/cli"),
        root.join("src/ui"),
        root.join("server/src/commands"),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") && name != "spec.rs" && !name.contains("tests") {
                code.push_str(&std::fs::read_to_string(entry.path()).unwrap());
            }
        }
    }
    let flags = COMMANDS
        .iter()
        .filter(|c| c.backend != Backend::NotYet)
        .flat_map(|c| c.flags)
        .chain(GLOBAL_FLAGS);
    let unread: Vec<&str> = flags
        .filter(|f| f.support == Support::Implemented && f.id != Flag::HELP)
        .map(|f| f.long())
        .filter(|long| !code.contains(&format!("Flag::{}", long.to_uppercase().replace('-', "_"))))
        .collect();
    assert!(
        unread.is_empty(),
        "declared as implemented but never read: {unread:?}"
    );
}

#[test]
fn every_command_has_one_entry() {
    for command in COMMANDS {
        assert_eq!(
            CommandSpec::of(command.id),
            command,
            "{:?} has two entries",
            command.id
        );
    }
}

#[test]
fn ps_last_and_latest_count_the_newest_containers_as_docker_does() {
    let last = |line: &str| super::containers::last_containers(&run(line)).map_err(|e| e.to_string());
    assert_eq!(last("docker ps"), Ok(None));
    assert_eq!(last("docker ps -n 3"), Ok(Some(3)));
    assert_eq!(last("docker ps --last=-1"), Ok(None), "below 1: no limit");
    assert_eq!(last("docker ps -l"), Ok(Some(1)));
    assert_eq!(
        last("docker ps -n x"),
        Err(
            "invalid argument \"x\" for \"-n, --last\" flag: strconv.ParseInt: parsing \"x\": invalid syntax"
                .into()
        )
    );
}

#[test]
fn run_flag_values_docker_refuses_are_typed_with_its_words() {
    use super::containers::{create_request, RunFlagError};
    let refused = |line: &str| create_request(&run(line)).unwrap_err();
    assert_eq!(
        refused("docker run -p 80:x busybox"),
        RunFlagError::Port("80:x".into())
    );
    assert_eq!(
        refused("docker run -p 80:x busybox").to_string(),
        "invalid published port: 80:x"
    );
    assert_eq!(
        refused("docker run -m 12q busybox").to_string(),
        "invalid size: '12q'"
    );
    assert_eq!(
        refused("docker run --cpus lots busybox").to_string(),
        "invalid argument \"lots\" for \"--cpus\" flag"
    );
    let ok = create_request(&run("docker run -m 1g -p 8000 --pids-limit 20 busybox")).unwrap();
    assert_eq!(ok.options.memory, Some(1 << 30));
    assert_eq!(ok.options.pids_limit, Some(20));
}
