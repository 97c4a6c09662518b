//! Table tests of the pieces: interpolation, `.env`, ports, durations, merge, profiles, names and diagnostics.
//! The whole-project golden corpus (files in, `docker compose config` out) is in tests/compose.rs.

use std::collections::BTreeMap;

use super::dotenv;
use super::interpolate::{interpolate, InterpolationError, Variables};
use super::model::Duration;
use super::project::{load, normalize_project_name, Options};
use super::render::config_yaml;
use super::values::{format_duration, parse_bytes, parse_duration, short_ports};
use super::{check_file, outline};

fn vars(pairs: &[(&str, &str)]) -> Variables {
    Variables::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[test]
fn every_interpolation_form_as_compose() {
    let table: &[(&str, &str)] = &[
        ("$SET", "value"),
        ("${SET}", "value"),
        ("a${SET}b", "avalueb"),
        ("${SET:-d}", "value"),
        ("${EMPTY:-d}", "d"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${SET:+r}", "r"),
        ("${EMPTY:+r}", ""),
        ("${EMPTY+r}", "r"),
        ("${UNSET+r}", ""),
        ("${SET:?boom}", "value"),
        ("${EMPTY?boom}", ""),
        ("${UNSET:-${SET}}", "value"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${UNSET:-a-b:c}", "a-b:c"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("cost: 5$$", "cost: 5$"),
        ("$SET.txt", "value.txt"),
        ("no dollars", "no dollars"),
    ];
    for (input, want) in table {
        let mut v = vars(&[("SET", "value"), ("EMPTY", "")]);
        assert_eq!(interpolate(input, &mut v).as_deref(), Ok(*want), "{input}");
    }
}

#[test]
fn required_variables_fail_with_composes_message() {
    let mut v = vars(&[("EMPTY", "")]);
    let e = interpolate("${TAG:?set TAG to the image tag}", &mut v).unwrap_err();
    assert_eq!(
        e.to_string(),
        "required variable TAG is missing a value: set TAG to the image tag"
    );
    let e = interpolate("${EMPTY:?}", &mut v).unwrap_err();
    assert_eq!(e.to_string(), "required variable EMPTY is missing a value");
    assert!(matches!(
        interpolate("${UNSET?x}", &mut v),
        Err(InterpolationError::Required { .. })
    ));
}

#[test]
fn unset_variables_warn_once_and_become_blank() {
    let mut v = vars(&[]);
    assert_eq!(interpolate("${X}-$X", &mut v).unwrap(), "-");
    assert_eq!(
        v.warnings,
        vec!["The \"X\" variable is not set. Defaulting to a blank string.".to_string()]
    );
}

#[test]
fn invalid_interpolation_is_refused() {
    for bad in ["${}", "${ SET}", "$ x", "${SET", "end$", "${SET:x}"] {
        let mut v = vars(&[("SET", "v")]);
        assert!(
            matches!(interpolate(bad, &mut v), Err(InterpolationError::Invalid(_))),
            "{bad}"
        );
    }
}

#[test]
fn dotenv_reads_what_compose_reads() {
    let text = "# a comment\n\nexport PLAIN=hello  # trailing comment\nSINGLE='no $PLAIN ${x} \\n'\nDOUBLE=\"say \\\"${PLAIN}\\\"\\nnext\"\nEMPTY=\nHASH=a#b\nMULTI=\"one\ntwo\"\nSPACED = spaced value \nFROM_ENV\nREF=${PLAIN}-$OUTSIDE\n";
    let env: BTreeMap<String, String> = [("FROM_ENV", "env"), ("OUTSIDE", "out")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let got = dotenv::parse(".env", text, &env).unwrap();
    let want: &[(&str, &str)] = &[
        ("DOUBLE", "say \"hello\"\nnext"),
        ("EMPTY", ""),
        ("FROM_ENV", "env"),
        ("HASH", "a#b"),
        ("MULTI", "one\ntwo"),
        ("PLAIN", "hello"),
        ("REF", "hello-out"),
        ("SINGLE", "no $PLAIN ${x} \\n"),
        ("SPACED", "spaced value"),
    ];
    let want: BTreeMap<String, String> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(got, want);
    let e = dotenv::parse(".env", "OK=1\nBAD KEY=2\n", &BTreeMap::new()).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(
        e.to_string()
            .starts_with("failed to read .env: line 2: unexpected character \" \""),
        "{e}"
    );
    assert!(dotenv::parse(".env", "Q=\"never closed\n", &BTreeMap::new()).is_err());
}

#[test]
fn ports_short_syntax_expands_as_compose() {
    let p = short_ports("127.0.0.1:8000-8001:80-81/udp").unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(
        (
            p[1].host_ip.as_deref(),
            p[1].target,
            p[1].published.as_deref(),
            p[1].protocol.as_str()
        ),
        (Some("127.0.0.1"), 81, Some("8001"), "udp")
    );
    let p = short_ports("3000-3002").unwrap();
    assert_eq!(
        p.iter().map(|p| p.target).collect::<Vec<_>>(),
        vec![3000, 3001, 3002]
    );
    assert!(p.iter().all(|p| p.published.is_none()));
    let p = short_ports("9000-9010:80").unwrap();
    assert_eq!((p.len(), p[0].published.as_deref()), (1, Some("9000-9010")));
    let p = short_ports("[::1]:8080:80").unwrap();
    assert_eq!(p[0].host_ip.as_deref(), Some("::1"));
    let p = short_ports("127.0.0.1::5000").unwrap();
    assert_eq!(
        (p[0].host_ip.as_deref(), p[0].published.as_deref()),
        (Some("127.0.0.1"), None)
    );
    assert!(short_ports("80/xyz").is_err());
    assert!(short_ports("8000-8002:80-81").is_err());
    assert!(short_ports("web").is_err());
}

#[test]
fn durations_and_sizes_as_go_prints_them() {
    for (text, shown) in [
        ("10s", "10s"),
        ("1m30s", "1m30s"),
        ("90s", "1m30s"),
        ("1h", "1h0m0s"),
        ("500ms", "500ms"),
        ("1.5s", "1.5s"),
        ("2h3m4s", "2h3m4s"),
        ("0", "0s"),
    ] {
        assert_eq!(
            parse_duration(text).map(format_duration).as_deref(),
            Some(shown),
            "{text}"
        );
    }
    assert_eq!(parse_duration("10 parsecs"), None);
    assert_eq!(parse_duration("1m").unwrap(), Duration(60_000_000_000));
    assert_eq!(parse_bytes("512m"), Some(512 << 20));
    assert_eq!(parse_bytes("1G"), Some(1 << 30));
    assert_eq!(parse_bytes("2048"), Some(2048));
    assert_eq!(parse_bytes("lots"), None);
}

#[test]
fn project_names_are_normalized_as_compose_does() {
    assert_eq!(normalize_project_name("My App.v2"), "myappv2");
    assert_eq!(normalize_project_name("_web-Site"), "web-site");
}

fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn options() -> Options {
    Options {
        working_dir: "/project".to_string(),
        ..Options::default()
    }
}

#[test]
fn two_files_merge_by_the_specifications_rules() {
    let base = "services:\n  web:\n    image: web:1\n    command: [serve, --port, \"80\"]\n    environment:\n      - A=1\n      - B=2\n    ports: [\"8080:80\"]\n    expose: [\"3000\"]\n    volumes: [\"data:/data\", \"./conf:/etc/app\"]\n    labels: {tier: front}\nvolumes:\n  data: {}\n";
    let over = "services:\n  web:\n    image: web:2\n    command: serve --debug\n    environment:\n      B: three\n      C: \"4\"\n    ports: [\"8080:80\", \"9090:90\"]\n    expose: [\"3000\", \"3001\"]\n    volumes: [\"./other:/etc/app:ro\"]\n";
    let f = files(&[("a.yaml", base), ("b.yaml", over)]);
    let opts = Options {
        files: vec!["a.yaml".into(), "b.yaml".into()],
        ..options()
    };
    let p = load(&f, &opts).unwrap().project;
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("web:2"));
    assert_eq!(
        web.command,
        Some(vec!["serve".to_string(), "--debug".to_string()])
    );
    let env: Vec<(&str, Option<&str>)> = web
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    assert_eq!(
        env,
        vec![("A", Some("1")), ("B", Some("three")), ("C", Some("4"))]
    );
    assert_eq!(
        web.ports.iter().map(|p| p.target).collect::<Vec<_>>(),
        vec![80, 90]
    );
    assert_eq!(web.expose, vec!["3000", "3001"]);
    let mounts: Vec<(&str, Option<&str>, bool)> = web
        .volumes
        .iter()
        .map(|m| (m.target.as_str(), m.source.as_deref(), m.read_only))
        .collect();
    assert_eq!(
        mounts,
        vec![
            ("/data", Some("data"), false),
            ("/etc/app", Some("/project/other"), true)
        ]
    );
    assert_eq!(web.labels["tier"], "front");
}

#[test]
fn the_override_file_beside_compose_yaml_is_read_and_names_follow_compose() {
    let f = files(&[
        ("compose.yaml", "services:\n  web:\n    image: a\n"),
        ("compose.override.yaml", "services:\n  web:\n    image: b\n"),
        ("docker-compose.yml", "services:\n  other:\n    image: c\n"),
    ]);
    let loaded = load(&f, &options()).unwrap();
    assert_eq!(loaded.files, vec!["compose.yaml", "compose.override.yaml"]);
    let p = loaded.project;
    assert_eq!(p.name, "project");
    assert_eq!(p.services["web"].image.as_deref(), Some("b"));
    assert_eq!(p.networks["default"].name, "project_default");
    assert_eq!(p.services["web"].container_name(&p.name, 1), "project-web-1");
    let none = load(&files(&[("README.md", "")]), &options()).unwrap_err();
    assert_eq!(none.render(), "no configuration file provided: not found");
}

#[test]
fn project_name_from_flag_then_environment_then_file_then_directory() {
    let f = files(&[(
        "compose.yaml",
        "name: fromfile\nservices:\n  web:\n    image: a\nvolumes:\n  data:\n",
    )]);
    assert_eq!(load(&f, &options()).unwrap().project.name, "fromfile");
    let env = Options {
        env: [("COMPOSE_PROJECT_NAME".to_string(), "fromenv".to_string())].into(),
        ..options()
    };
    assert_eq!(load(&f, &env).unwrap().project.name, "fromenv");
    let flag = Options {
        project_name: Some("fromflag".into()),
        ..env
    };
    let p = load(&f, &flag).unwrap().project;
    assert_eq!(
        (p.name.as_str(), p.volumes["data"].name.as_str()),
        ("fromflag", "fromflag_data")
    );
    let bad = Options {
        project_name: Some("Bad Name".into()),
        ..options()
    };
    assert!(load(&f, &bad)
        .unwrap_err()
        .render()
        .contains("invalid project name \"Bad Name\""));
}

#[test]
fn profiles_select_services() {
    let text = "services:\n  web:\n    image: a\n  debug:\n    image: b\n    profiles: [debug]\n  tools:\n    image: c\n    profiles: [tools, debug]\n";
    let f = files(&[("compose.yaml", text)]);
    let shown = |opts: &Options| {
        let p = load(&f, opts).unwrap().project;
        p.services
            .values()
            .filter(|s| s.enabled(&p.active_profiles))
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(shown(&options()), vec!["web"]);
    let flag = Options {
        profiles: vec!["tools".into()],
        ..options()
    };
    assert_eq!(shown(&flag), vec!["tools", "web"]);
    let env = Options {
        env: [("COMPOSE_PROFILES".to_string(), "debug".to_string())].into(),
        ..options()
    };
    assert_eq!(shown(&env), vec!["debug", "tools", "web"]);
}

#[test]
fn dotenv_and_environment_feed_interpolation_and_the_environment_wins() {
    let f = files(&[
        (".env", "TAG=fromdotenv\nPORT=8080\n"),
        ("compose.yaml", "services:\n  web:\n    image: \"app:${TAG}\"\n    ports: [\"${PORT}:80\"]\n    environment: [HOME_DIR, MISSING]\n"),
    ]);
    let opts = Options {
        env: [
            ("TAG".to_string(), "fromenv".to_string()),
            ("HOME_DIR".to_string(), "/root".to_string()),
        ]
        .into(),
        ..options()
    };
    let p = load(&f, &opts).unwrap().project;
    let web = &p.services["web"];
    assert_eq!(web.image.as_deref(), Some("app:fromenv"));
    assert_eq!(web.ports[0].published.as_deref(), Some("8080"));
    assert_eq!(web.environment["HOME_DIR"].as_deref(), Some("/root"));
    assert_eq!(web.environment["MISSING"], None);
    let required = files(&[(
        "compose.yaml",
        "services:\n  web:\n    image: \"app:${TAG:?run with TAG set}\"\n",
    )]);
    let e = load(&required, &options()).unwrap_err();
    assert_eq!(
        e.render(),
        "compose.yaml:3:12: error while interpolating services.web.image: required variable TAG is missing a value: run with TAG set"
    );
}

/// The problem at `line:column` of a one-file project, in Compose's words.
fn problems(text: &str) -> Vec<String> {
    check_file("compose.yaml", text)
        .iter()
        .map(|e| e.render(&["compose.yaml".to_string()]))
        .collect()
}

#[test]
fn invalid_files_get_line_column_and_composes_wording() {
    let cases: &[(&str, &str)] = &[
        ("services:\n  web:\n    image: a\n    foo: 1\n", "compose.yaml:4:5: services.web Additional property foo is not allowed"),
        ("servics:\n  web:\n    image: a\n", "compose.yaml:1:1: (root) Additional property servics is not allowed"),
        ("services:\n  web:\n    image: [a]\n", "compose.yaml:3:12: services.web.image must be a string"),
        ("services:\n  web:\n    image: a\n    ports: \"80\"\n", "compose.yaml:4:12: services.web.ports must be a list"),
        ("services:\n  web:\n    build: .\n    depends_on:\n      db:\n        condition: started\n  db:\n    image: d\n",
            "compose.yaml:6:20: services.web.depends_on.db.condition must be one of the following: \"service_started\", \"service_healthy\", \"service_completed_successfully\""),
        ("services:\n  web:\n    image: a\n    depends_on: [db]\n", "compose.yaml:2:3: service \"web\" depends on undefined service \"db\": invalid compose project"),
        ("services:\n  web:\n    command: x\n", "compose.yaml:2:3: service \"web\" has neither an image nor a build context specified: invalid compose project"),
        ("services:\n  web:\n    image: a\n    volumes: [\"data:/d\"]\n", "compose.yaml:2:3: service \"web\" refers to undefined volume data: invalid compose project"),
        ("services:\n  web:\n    image: a\n    networks: [back]\n", "compose.yaml:2:3: service \"web\" refers to undefined network back: invalid compose project"),
        ("services:\n  web:\n    image: a\n    privileged: true\n", "compose.yaml:4:5: services.web.privileged is valid Compose but not supported by Slipway yet (see docs/compose.md)"),
        ("services:\n  web:\n    image: a\n    healthcheck:\n      interval: soon\n", "compose.yaml:5:17: services.web.healthcheck.interval: invalid duration \"soon\""),
        ("services:\n  web:\n    image: a\n    ports: [\"80:http\"]\n", "compose.yaml:4:13: services.web.ports: invalid containerPort: http"),
        ("services:\n  web:\n    image: a\n    pull_policy: sometimes\n", "compose.yaml:4:18: services.web.pull_policy must be one of the following: \"always\", \"never\", \"if_not_present\", \"build\", \"missing\""),
        ("services:\n  web:\n    image: a\n    restart: sometimes\n", "compose.yaml:4:14: invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure' or 'unless-stopped'"),
        ("services:\n  web:\n    image: a\n   bad: x\n", "compose.yaml:4:7: yaml: line 4: did not find expected key"),
        ("services:\n  web:\n    image: a\n    image: b\n", "compose.yaml:4:5: yaml: line 4: mapping key \"image\" already defined"),
        ("services:\n  web:\n    image: ${ oops}\n", "compose.yaml:3:12: error while interpolating services.web.image: invalid interpolation format: \"${ oops}\".\nYou may need to escape any $ with another $."),
    ];
    for (text, want) in cases {
        assert_eq!(problems(text), vec![want.to_string()], "{text}");
    }
    // Problems are all reported, not only the first.
    assert_eq!(
        problems("services:\n  a:\n    image: x\n    foo: 1\n  b:\n    image: y\n    bar: 2\n").len(),
        2
    );
    assert!(problems("services:\n  web:\n    image: a\n    x-note: anything\nx-common: {a: b}\n").is_empty());
}

#[test]
fn the_outline_lists_services_with_their_lines_even_when_the_file_has_problems() {
    let text = "services:\n  web:\n    image: a\n    foo: bar\n\n  db:\n    image: d\n";
    assert_eq!(outline(text), vec![("web".to_string(), 2), ("db".to_string(), 6)]);
}

#[test]
fn include_adds_the_included_files_resources_and_refuses_conflicts() {
    let f = files(&[
        (
            "compose.yaml",
            "include:\n  - db/compose.yaml\nservices:\n  web:\n    build: .\n    depends_on: [db]\n",
        ),
        (
            "db/compose.yaml",
            "services:\n  db:\n    build: ./image\n    volumes: [\"data:/var/lib/db\"]\nvolumes:\n  data:\n",
        ),
    ]);
    let p = load(&f, &options()).unwrap().project;
    assert_eq!(
        p.services["db"].build.as_ref().unwrap().context,
        "/project/db/image"
    );
    assert_eq!(p.services["web"].build.as_ref().unwrap().context, "/project");
    assert!(p.volumes.contains_key("data"));
    let clash = files(&[
        (
            "compose.yaml",
            "include: [other.yaml]\nservices:\n  web:\n    image: a\n",
        ),
        ("other.yaml", "services:\n  web:\n    image: b\n"),
    ]);
    assert!(load(&clash, &options())
        .unwrap_err()
        .render()
        .contains("imported compose file defines conflicting service web"));
}

#[test]
fn env_files_fill_the_environment_under_what_environment_sets() {
    let f = files(&[
        (
            "compose.yaml",
            "services:\n  web:\n    image: a\n    env_file: web.env\n    environment:\n      MODE: prod\n",
        ),
        ("web.env", "MODE=dev\nLEVEL=debug\n"),
    ]);
    let p = load(&f, &options()).unwrap().project;
    let env = &p.services["web"].environment;
    assert_eq!(
        (env["MODE"].as_deref(), env["LEVEL"].as_deref()),
        (Some("prod"), Some("debug"))
    );
    let missing = files(&[(
        "compose.yaml",
        "services:\n  web:\n    image: a\n    env_file: gone.env\n",
    )]);
    assert!(load(&missing, &options())
        .unwrap_err()
        .render()
        .contains("env file /project/gone.env not found"));
}

#[test]
fn config_output_re_escapes_dollars_and_writes_blocks() {
    let f = files(&[("compose.yaml", "services:\n  web:\n    image: a\n    command: echo $$HOME\n    environment:\n      MULTI: \"one\\ntwo\"\n      PORT: 80\n")]);
    let out = config_yaml(&load(&f, &options()).unwrap().project);
    assert!(
        out.contains("    command:\n      - echo\n      - $$HOME\n"),
        "{out}"
    );
    assert!(
        out.contains("      MULTI: |-\n        one\n        two\n"),
        "{out}"
    );
    assert!(out.contains("      PORT: \"80\"\n"), "{out}");
}

#[test]
fn hostile_files_are_refused_before_they_cost_anything() {
    let deep = format!("services: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        problems(&deep),
        vec!["compose.yaml:1:1: yaml: line 1: nested deeper than 64 levels: refused here".to_string()]
    );
    let quoted = format!("services:\n  web:\n    image: \"{}\"\n", "[".repeat(1000));
    assert!(problems(&quoted).is_empty());
    let big = format!("services:\n  web:\n    image: a\n# {}\n", "x".repeat(2 << 20));
    assert!(problems(&big)[0].contains("is larger than 1024 KiB"));
    let anchors = "x-base: &base\n  image: a\nservices:\n  web: *base\n";
    assert!(
        problems(anchors)[0].contains("anchors and aliases are not supported"),
        "{:?}",
        problems(anchors)
    );
    let nested = format!("{}x{}", "${A:-".repeat(1000), "}".repeat(1000));
    assert!(matches!(
        interpolate(&nested, &mut vars(&[])),
        Err(InterpolationError::Invalid(_))
    ));
}

#[test]
fn the_editor_check_does_not_demand_variables_it_cannot_know() {
    assert!(problems("services:\n  web:\n    image: \"a:${TAG:?set TAG}\"\n").is_empty());
}

#[test]
fn paths_join_inside_the_project_or_stay_absolute() {
    use super::check::join;
    assert_eq!(join("", "compose.yaml"), "compose.yaml");
    assert_eq!(join("db", "./init/../seed"), "db/seed");
    assert_eq!(join("", "/srv/app/compose.yaml"), "/srv/app/compose.yaml");
    assert_eq!(join("/srv/app", "./data"), "/srv/app/data");
    assert_eq!(join("/srv/app", "/etc/x"), "/etc/x");
    let f = files(&[("/srv/app/compose.yaml", "services:\n  web:\n    build: ./web\n")]);
    let opts = Options {
        files: vec!["/srv/app/compose.yaml".into()],
        ..options()
    };
    let p = load(&f, &opts).unwrap().project;
    assert_eq!(p.services["web"].build.as_ref().unwrap().context, "/srv/app/web");
}
