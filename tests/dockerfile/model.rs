//! The typed layer, spans, the stage graph and checks that need more than a Dockerfile.

use std::collections::BTreeMap;

use slipway::dockerfile::instructions::Instruction;
use slipway::dockerfile::lint::{self, LintOptions, Severity};
use slipway::dockerfile::{parse, parse_with_args, syntax, Error};

#[test]
fn spans_point_at_keyword_flags_and_arguments() {
    let src = "FROM alpine:3.19\n\nCOPY --chown=app:app \\\n     src/ /app/\n";
    let tree = syntax::parse(src).expect("parses");
    let copy = &tree.nodes[1];
    assert_eq!((copy.start_line, copy.end_line), (3, 4));
    assert_eq!(&src[copy.keyword.span.start..copy.keyword.span.end], "COPY");
    let flag = &copy.flags[0];
    assert_eq!(&src[flag.span.start..flag.span.end], "--chown=app:app");
    assert_eq!((flag.span.line, flag.span.column), (3, 6));
    let dest = &copy.args[1];
    assert_eq!(&src[dest.span.start..dest.span.end], "/app/");
    assert_eq!(
        (dest.span.line, dest.span.column, dest.span.end_column),
        (4, 11, 16)
    );
    assert_eq!(copy.span.end, src.len() - 1);
}

#[test]
fn heredoc_spans_and_contents() {
    let src = "FROM alpine\nCOPY <<-EOT /etc/motd\n\thello\n\tEOT\nRUN echo done\n";
    let tree = syntax::parse(src).expect("parses");
    let h = &tree.nodes[1].heredocs[0];
    assert_eq!(h.content, "\thello\n");
    assert!(h.chomp && h.expand);
    assert_eq!((h.span.line, h.span.end_line), (3, 4));
    assert_eq!(tree.nodes[1].end_line, 4);
    assert_eq!(tree.nodes[2].start_line, 5);
    let df = parse(src).expect("typed");
    match &df.commands[1].instruction {
        Instruction::Copy(c) => {
            assert_eq!(c.files.contents[0].content, "hello\n", "<<- removes leading tabs");
            assert!(c.files.sources.is_empty());
            assert_eq!(c.files.dest.value, "/etc/motd");
        }
        other => panic!("expected COPY, got {other:?}"),
    }
}

#[test]
fn typed_instructions_carry_their_flags() {
    let src = r#"FROM --platform=$BUILDPLATFORM golang:1.22 AS Build
RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=npm --network=none --security=sandbox go build
ADD --checksum=sha256:abc --keep-git-dir --link --exclude=*.md --chmod=644 https://example.com/x.tar.gz /src/
COPY --from=build --parents --exclude=*.tmp --exclude=.git --link=false ./a ./b /dst/
ENV A=1 B="two words"
ARG X Y=2
HEALTHCHECK --interval=1m30s --retries=5 CMD curl -f http://localhost/
ONBUILD RUN make
"#;
    let df = parse(src).expect("parses");
    let ins: Vec<&Instruction> = df.commands.iter().map(|c| &c.instruction).collect();
    let Instruction::From(f) = ins[0] else {
        panic!("FROM")
    };
    assert_eq!(
        f.name.as_ref().map(|n| n.value.as_str()),
        Some("build"),
        "stage names are lower-cased"
    );
    assert_eq!(
        f.platform.as_ref().map(|p| p.value.as_str()),
        Some("$BUILDPLATFORM")
    );
    let Instruction::Run(r) = ins[1] else {
        panic!("RUN")
    };
    assert_eq!(r.mounts.len(), 2);
    assert_eq!(r.network.as_ref().map(|n| n.value.as_str()), Some("none"));
    assert!(!r.cmd.exec_form);
    let Instruction::Add(a) = ins[2] else {
        panic!("ADD")
    };
    assert!(a.keep_git_dir && a.link);
    assert_eq!(a.checksum.as_ref().map(|c| c.value.as_str()), Some("sha256:abc"));
    assert_eq!(a.exclude.len(), 1);
    let Instruction::Copy(c) = ins[3] else {
        panic!("COPY")
    };
    assert!(c.parents && !c.link);
    assert_eq!(c.exclude.len(), 2);
    assert_eq!(c.files.sources.len(), 2);
    let Instruction::Env { vars } = ins[4] else {
        panic!("ENV")
    };
    assert_eq!(
        vars[1].value.value, "\"two words\"",
        "quotes stay until expansion"
    );
    let Instruction::Arg { args } = ins[5] else {
        panic!("ARG")
    };
    assert_eq!(args[0].default, None);
    assert_eq!(args[1].default.as_ref().map(|d| d.value.as_str()), Some("2"));
    let Instruction::Healthcheck(h) = ins[6] else {
        panic!("HEALTHCHECK")
    };
    assert_eq!((h.interval, h.retries), (90_000_000_000, 5));
    let Instruction::Onbuild { expression, trigger } = ins[7] else {
        panic!("ONBUILD")
    };
    assert_eq!((expression.as_str(), trigger.value.as_str()), ("RUN make", "RUN"));
}

fn reject(src: &str) -> Error {
    parse(src).expect_err("BuildKit rejects this")
}

#[test]
fn what_buildkit_rejects_we_reject() {
    let cases = [
        (
            "FROM a\nRUN --mount=type=cache --networks=none x\n",
            "unknown flag: --networks (did you mean network?)",
        ),
        (
            "FROM a\nCOPY --link=maybe a b\n",
            "expecting boolean value for flag --link, not: maybe",
        ),
        ("FROM a\nCOPY --from a b\n", "missing a value on flag: --from"),
        (
            "FROM a\nRUN --network=bridge x\n",
            "unsupported network mode \"bridge\"",
        ),
        ("FROM a b\n", "FROM requires either one or three arguments"),
        ("FROM a\nUSER\n", "USER requires exactly one argument"),
        (
            "FROM a\nONBUILD ONBUILD RUN x\n",
            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
        ),
        (
            "FROM a\nONBUILD FROM b\n",
            "FROM isn't allowed as an ONBUILD trigger",
        ),
        (
            "FROM a\nHEALTHCHECK --interval=1ns CMD x\n",
            "Interval \"interval\" cannot be less than 1ms",
        ),
        (
            "FROM a\nHEALTHCHECK NONE x\n",
            "HEALTHCHECK NONE takes no arguments",
        ),
        (
            "FROM a\nHEALTHCHECK --retries=-1 CMD x\n",
            "--retries cannot be negative (-1)",
        ),
        (
            "FROM a\nCOPY a <<EOF\nx\nEOF\n",
            "COPY cannot accept a heredoc as a destination",
        ),
        ("FROM a\nENV =x\n", "ENV names can not be blank"),
        ("FROM a\nARG =x\n", "ARG names can not be blank"),
        (
            "FROM a\nENV A=1 B\n",
            "Syntax error - can't find = in \"B\". Must be of the form: name=value",
        ),
        ("FROM a\nEXPOSE\n", "EXPOSE requires at least one argument"),
        (
            "FROM a\nVOLUME [\"\"]\n",
            "VOLUME specified can not be an empty string",
        ),
        (
            "# escape=\\\n# escape=`\nFROM a\n",
            "only one escape parser directive can be used",
        ),
        ("\n\n# just a comment\n", "file with no instructions"),
    ];
    for (src, msg) in cases {
        assert_eq!(reject(src).to_string(), msg, "for {src:?}");
    }
    let e = reject("FROM a\nRUN true\nEXPOSE 80\nFORM b\n");
    assert_eq!((e.line(), e.suggestion()), (4, Some("FROM")));
}

#[test]
fn what_buildkit_accepts_we_accept() {
    let ok = [
        "FROM a\nCOPY --link a b\nCOPY --link=true a b\n",
        "FROM a\nRUN\n",
        "FROM a\nCMD\n",
        "FROM a\nHEALTHCHECK NONE\n",
        "ARG A\nARG B=1\nFROM a\n",
        "from a as b\nrun echo\n",
        "FROM a\nLABEL \"com.example.vendor\"=\"ACME\" version=1.0\n",
        "\u{feff}FROM a\r\nRUN echo \\\r\n  hi\r\n",
        "#!/usr/bin/env docker\nFROM a\n",
        "FROM a\nSTOPSIGNAL SIGKILL\n",
        "FROM a\nWORKDIR /path with spaces\n",
    ];
    for src in ok {
        parse(src).unwrap_or_else(|e| panic!("{src:?} rejected: {e}"));
    }
}

#[test]
fn stage_graph_edges_targets_and_unused_stages() {
    let src = "ARG BASE=build\nFROM alpine:3.19 AS build\nFROM alpine:3.19 AS assets\nFROM ${BASE} AS test\nRUN --mount=type=bind,from=assets,target=/a true\nFROM scratch AS final\nCOPY --from=0 /x /x\nCOPY --from=docker.io/library/nginx:1 /y /y\n";
    let df = parse(src).expect("parses");
    let g = &df.stages;
    assert_eq!(g.meta_args, vec![0]);
    assert_eq!(
        g.stages[2].base_stage,
        Some(0),
        "FROM ${{BASE}} resolves through the global ARG"
    );
    assert_eq!(g.stages[2].deps.len(), 2);
    assert_eq!(g.stages[3].deps.len(), 1, "an image reference is not a stage");
    let last = g.target(None).expect("a last stage");
    assert_eq!(last, 3);
    assert_eq!(g.unused(last), vec![1, 2]);
    assert_eq!(g.unused(g.target(Some("test")).expect("test stage")), vec![3]);
    let err = g.target(Some("tset")).expect_err("no such stage").to_string();
    assert!(err.contains("did you mean test?"), "{err}");
    let mut args = BTreeMap::new();
    args.insert("BASE".to_string(), "alpine:3.19".to_string());
    let df = parse_with_args(src, &args).expect("parses");
    assert_eq!(
        df.stages.stages[2].base_stage, None,
        "a build arg can change the base"
    );
}

#[test]
fn invalid_base_image_platform_needs_the_pulled_platform() {
    let src = "FROM alpine:3.19\nUSER app\n";
    let mut opts = LintOptions::default();
    let fired = |o: &LintOptions| {
        lint::lint(src, o)
            .expect("lints")
            .diagnostics
            .iter()
            .any(|d| d.rule == "InvalidBaseImagePlatform")
    };
    assert!(!fired(&opts));
    opts.base_platforms
        .insert("alpine:3.19".into(), "linux/arm64".into());
    assert!(fired(&opts));
    opts.target_platform = Some("linux/arm64".into());
    assert!(!fired(&opts));
}

#[test]
fn diagnose_turns_parse_errors_into_diagnostics() {
    let d = lint::diagnose("FROM alpine:3.19\nRUNN echo\n", &LintOptions::default());
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].rule, d[0].severity, d[0].line),
        ("ParseError", Severity::Error, 2)
    );
    assert!(d[0].message.contains("did you mean RUN?"));
}

#[test]
fn every_rule_has_an_explanation_and_buildkit_rules_a_url() {
    for r in lint::RULES {
        assert!(r.explanation.len() > 40, "{} needs an explanation", r.name);
        assert_eq!(lint::rules::url(r).is_some(), r.buildkit);
    }
    let json = lint::rules::rule("JSONArgsRecommended").and_then(lint::rules::url);
    assert_eq!(
        json.as_deref(),
        Some("https://docs.docker.com/go/dockerfile/rule/json-args-recommended/")
    );
}
