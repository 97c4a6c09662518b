//! The terminal reducer's tests: commands, Ctrl-C, status redraws, attach, paste, prompts and type-ahead.

use super::*;

fn typed(state: &mut TerminalState, line: &str) -> Vec<Effect> {
    state.take_output();
    state.reduce(TerminalAction::Input(format!("{line}\r")))
}

#[test]
fn the_first_prompt_turns_bracketed_paste_on() {
    let mut s = TerminalState::default();
    assert_eq!(s.take_output(), "\x1b[?2004h\r\x1b[K\r\x1b[J$ \r\x1b[2C");
}

#[test]
fn submitting_runs_the_interpreter_and_records_history() {
    let mut s = TerminalState::default();
    assert!(typed(&mut s, "docker biuld").is_empty());
    let out = s.take_output();
    assert!(
        out.contains("$ docker biuld\r\x1b[14C\r\ndocker: unknown command"),
        "{out:?}"
    );
    assert!(out.contains("\tbuild\r\n"), "{out:?}");
    assert!(out.ends_with("$ \r\x1b[2C"), "{out:?}");
    assert_eq!(s.editor.history, ["docker biuld"]);
    assert_eq!(s.finished, [("docker biuld".to_string(), 1)]);
}

#[test]
fn container_commands_wait_for_the_companion() {
    let mut s = TerminalState::default();
    let effects = typed(&mut s, "docker run busybox echo hi");
    assert!(matches!(&effects[..], [Effect::Run(Step::Companion(_))]));
    assert!(s.busy);
    s.take_output();
    s.reduce(TerminalAction::Finished(Outcome::success("hi\n".into())));
    assert!(!s.busy);
    assert_eq!(s.take_output(), "hi\r\n\r\x1b[K\r\x1b[J$ \r\x1b[2C");
    assert_eq!(s.finished, [("docker run busybox echo hi".to_string(), 0)]);
    assert_eq!(s.editor.line(), "");
}

#[test]
fn a_command_that_catches_ctrl_c_gets_each_one_and_its_output_still_shows() {
    let mut s = TerminalState::default();
    typed(&mut s, "docker compose up");
    s.reduce(TerminalAction::CatchesInterrupt);
    s.take_output();
    assert_eq!(s.reduce(TerminalAction::Input("\x03".into())), [Effect::Cancel]);
    // The echo, and on the same row what the command says then (a real terminal shows `^CGracefully...`).
    s.reduce(TerminalAction::Progress(
        Stream::Stdout,
        "Gracefully stopping...".into(),
    ));
    assert_eq!(s.take_output(), "^CGracefully stopping...\r\n");
    // A second Ctrl-C goes to it too (Compose kills then).
    assert_eq!(s.reduce(TerminalAction::Input("\x03".into())), [Effect::Cancel]);
    s.reduce(TerminalAction::Finished(Outcome::failure(
        String::new(),
        INTERRUPTED,
    )));
    assert_eq!(s.finished, [("docker compose up".to_string(), INTERRUPTED)]);
    // The next command is dropped by Ctrl-C as before, unless it asks too.
    typed(&mut s, "docker run busybox sleep 600");
    s.take_output();
    assert_eq!(s.reduce(TerminalAction::Input("\x03".into())), [Effect::Cancel]);
    assert_eq!(s.take_output(), "^C\r\n");
}

#[test]
fn ctrl_c_cancels_the_running_command_once_and_ends_it_with_130() {
    let mut s = TerminalState::default();
    typed(&mut s, "docker run busybox sleep 600");
    s.take_output();
    assert_eq!(s.reduce(TerminalAction::Input("\x03".into())), [Effect::Cancel]);
    assert!(s.reduce(TerminalAction::Input("\x03".into())).is_empty());
    // ^C shows at once, as a terminal echoes it.
    assert_eq!(s.take_output(), "^C\r\n");
    // What the stopped command still reports is not shown: the prompt comes back.
    s.reduce(TerminalAction::Progress(Stream::Stdout, "late".into()));
    s.reduce(TerminalAction::Finished(Outcome::failure("stopped".into(), 137)));
    assert_eq!(s.take_output(), "\r\x1b[K\r\x1b[J$ \r\x1b[2C");
    assert_eq!(
        s.finished,
        [("docker run busybox sleep 600".to_string(), INTERRUPTED)]
    );
    // Ctrl-C at the prompt drops the line.
    s.reduce(TerminalAction::Input("docker ps\x03".into()));
    assert!(s
        .take_output()
        .ends_with("$ docker ps\r\x1b[11C^C\r\n\r\x1b[K\r\x1b[J$ \r\x1b[2C"));
    assert_eq!(s.finished.len(), 1);
}

#[test]
fn a_layers_status_is_redrawn_on_its_row() {
    let status = |key: &str, line: &str| TerminalAction::Status {
        stream: Stream::Stdout,
        key: key.into(),
        line: line.into(),
    };
    let mut s = TerminalState::default();
    typed(&mut s, "docker push learner1/app");
    s.reduce(TerminalAction::Progress(
        Stream::Stdout,
        "The push refers to".into(),
    ));
    s.reduce(status("aaa", "aaa: Pushing [=>   ] 1MB/3MB"));
    s.reduce(status("bbb", "bbb: Layer already exists"));
    s.take_output();
    s.reduce(status("aaa", "aaa: Pushed"));
    assert_eq!(s.take_output(), "\x1b[2A\r\x1b[2Kaaa: Pushed\r\x1b[2B");
    // Scrolled off the screen: printed again below.
    s.reduce(TerminalAction::Resize { cols: 80, rows: 2 });
    s.reduce(status("aaa", "aaa: Pushed"));
    assert_eq!(s.take_output(), "aaa: Pushed\r\n");
}

#[test]
fn an_interactive_run_hands_keys_to_the_container_until_it_exits() {
    let mut s = TerminalState::default();
    assert!(matches!(
        &typed(&mut s, "docker run -it busybox sh")[..],
        [Effect::Run(Step::Attach(_))]
    ));
    s.reduce(TerminalAction::Attached("eager_turing".into()));
    assert_eq!(
        s.reduce(TerminalAction::Input("\x03\x1b[A".into())),
        [Effect::ToContainer("\x03\x1b[A".into())]
    );
    s.take_output();
    s.reduce(TerminalAction::Detached(Outcome::failure(String::new(), 3)));
    assert!(!s.busy && s.attached.is_none());
    assert_eq!(s.take_output(), "\x1b[0m\r\n\r\x1b[K\r\x1b[J$ \r\x1b[2C");
    assert_eq!(s.finished, [("docker run -it busybox sh".to_string(), 3)]);
}

#[test]
fn prefill_and_completion_edit_the_line() {
    let mut s = TerminalState::default();
    s.reduce(TerminalAction::Prefill("docker version".into()));
    assert_eq!(s.editor.line(), "docker version");
    s.reduce(TerminalAction::Input("\x15docker ver".into()));
    assert_eq!(
        s.reduce(TerminalAction::Input("\t".into())),
        [Effect::Complete("docker ver".into())]
    );
    s.reduce(TerminalAction::Completed {
        before: "docker version ".into(),
        choices: vec![],
    });
    assert_eq!(s.editor.line(), "docker version ");
}

#[test]
fn a_pasted_script_runs_line_by_line_as_each_command_ends() {
    let mut s = TerminalState::default();
    s.reduce(TerminalAction::Input("docker ".into()));
    let effects = s.reduce(TerminalAction::Input(
        "\x1b[200~run \\\n  busybox echo one\ndocker biuld\ndocker run busybox echo two\ndocker p\x1b[201~"
            .into(),
    ));
    // What was typed before the paste joins its first line; the first command runs, the rest wait.
    let [Effect::Run(Step::Companion(first))] = &effects[..] else {
        panic!("{effects:?}");
    };
    assert_eq!(first.args, ["busybox", "echo", "one"]);
    assert_eq!(s.editor.history, ["docker run   busybox echo one"]);
    s.take_output();
    let effects = s.reduce(TerminalAction::Finished(Outcome::success("one\n".into())));
    // `docker biuld` answers at once; the next container command starts.
    let [Effect::Run(Step::Companion(third))] = &effects[..] else {
        panic!("{effects:?}");
    };
    assert_eq!(third.args, ["busybox", "echo", "two"]);
    let out = s.take_output();
    assert!(
        out.contains("one\r\n") && out.contains("$ docker biuld"),
        "{out:?}"
    );
    assert!(out.contains("docker: unknown command"), "{out:?}");
    assert!(s
        .reduce(TerminalAction::Finished(Outcome::success("two\n".into())))
        .is_empty());
    // The unfinished last line waits on the prompt.
    assert_eq!(s.editor.line(), "docker p");
    let codes: Vec<i32> = s.finished.iter().map(|(_, code)| *code).collect();
    assert_eq!(codes, [0, 1, 0]);
}

#[test]
fn ctrl_c_drops_the_rest_of_a_paste() {
    let mut s = TerminalState::default();
    s.reduce(TerminalAction::Input(
        "\x1b[200~docker run busybox sleep 600\ndocker ps\nrest\x1b[201~".into(),
    ));
    assert_eq!(s.reduce(TerminalAction::Input("\x03".into())), [Effect::Cancel]);
    assert!(s
        .reduce(TerminalAction::Finished(Outcome::failure(String::new(), 137)))
        .is_empty());
    assert_eq!(s.editor.line(), "");
    assert_eq!(s.finished.len(), 1);
}

#[test]
fn clear_empties_the_screen_and_scrollback() {
    let mut s = TerminalState::default();
    typed(&mut s, "docker --help");
    typed(&mut s, "clear");
    assert!(s.take_output().contains("\x1b[H\x1b[2J\x1b[3J"));
    assert_eq!(s.editor.history, ["docker --help", "clear"]);
}

fn ask(state: &mut TerminalState, text: &str, echo: bool) -> Vec<Effect> {
    state.reduce(TerminalAction::Ask {
        text: text.into(),
        echo,
    })
}

fn input(state: &mut TerminalState, data: &str) -> Vec<Effect> {
    state.reduce(TerminalAction::Input(data.into()))
}

/// The `args` of the companion command each effect runs (`docker images` → `["images"]` is its typed words).
fn runs(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .map(|e| match e {
            Effect::Run(Step::Companion(inv)) | Effect::Run(Step::Build(inv)) => inv.typed.join(" "),
            other => panic!("not a command: {other:?}"),
        })
        .collect()
}

#[test]
fn a_question_shows_its_answer_and_a_password_stays_hidden() {
    let mut s = TerminalState::default();
    assert_eq!(runs(&typed(&mut s, "docker login")), ["login"]);
    s.take_output();
    assert!(ask(&mut s, "Username (learner1): ", true).is_empty());
    // Backspace and Ctrl-U edit the answer as a terminal's cooked line does.
    assert!(input(&mut s, "bobx\x7f").is_empty());
    assert_eq!(s.take_output(), "Username (learner1): bobx\x08 \x08");
    assert_eq!(input(&mut s, "\r"), [Effect::Answer("bob".into())]);
    assert_eq!(s.take_output(), "\r\n");
    assert!(ask(&mut s, "Password: ", false).is_empty());
    assert!(input(&mut s, "wrong\x15sec").is_empty());
    assert_eq!(input(&mut s, "ret\r"), [Effect::Answer("secret".into())]);
    let out = s.take_output();
    assert_eq!(out, "Password: \r\n", "the password is not echoed");
    s.reduce(TerminalAction::Finished(Outcome::success(
        "Login Succeeded\n".into(),
    )));
    assert!(s.take_output().starts_with("Login Succeeded\r\n"));
    assert_eq!(s.finished, [("docker login".to_string(), 0)]);
    // An empty answer is an answer (docker then takes the offered user name).
    typed(&mut s, "docker login");
    ask(&mut s, "Username (learner1): ", true);
    assert_eq!(input(&mut s, "\r"), [Effect::Answer(String::new())]);
}

#[test]
fn ctrl_c_at_a_question_cancels_and_keeps_what_is_typed_after_it() {
    let mut s = TerminalState::default();
    typed(&mut s, "docker login");
    ask(&mut s, "Password: ", false);
    s.take_output();
    assert_eq!(input(&mut s, "half\x03docker images\r"), [Effect::Cancel]);
    // ^C, then the type-ahead echoed; the half typed password is not shown.
    assert_eq!(s.take_output(), "^C\r\ndocker images\r\n");
    let effects = s.reduce(TerminalAction::Finished(Outcome::failure(String::new(), 1)));
    assert_eq!(runs(&effects), ["images"]);
    assert_eq!(s.finished, [("docker login".to_string(), INTERRUPTED)]);
}

#[test]
fn lines_typed_while_a_command_runs_run_in_order_after_it() {
    let mut s = TerminalState::default();
    assert_eq!(
        runs(&typed(&mut s, "docker build -t learner1/app:v1 .")),
        ["build"]
    );
    s.take_output();
    assert!(input(&mut s, "docker images\rdocker ps\rdocker v").is_empty());
    assert!(input(&mut s, "x\x7f").is_empty());
    // Echoed as typed, mid-output, as a terminal does.
    assert_eq!(
        s.take_output(),
        "docker images\r\ndocker ps\r\ndocker vx\x08 \x08"
    );
    s.reduce(TerminalAction::Progress(Stream::Stderr, "#1 DONE".into()));
    let effects = s.reduce(TerminalAction::Finished(Outcome::default()));
    assert_eq!(runs(&effects), ["images"]);
    let effects = s.reduce(TerminalAction::Finished(Outcome::success("REPOSITORY\n".into())));
    assert_eq!(runs(&effects), ["ps"]);
    assert!(s
        .reduce(TerminalAction::Finished(Outcome::success(
            "CONTAINER ID\n".into()
        )))
        .is_empty());
    // The unfinished line waits on the prompt.
    assert_eq!(s.editor.line(), "docker v");
    let ran: Vec<&str> = s.finished.iter().map(|(line, _)| line.as_str()).collect();
    assert_eq!(
        ran,
        ["docker build -t learner1/app:v1 .", "docker images", "docker ps"]
    );
    assert_eq!(
        s.editor.history,
        ["docker build -t learner1/app:v1 .", "docker images", "docker ps"]
    );
}

#[test]
fn ctrl_c_flushes_what_was_typed_before_it_and_keeps_what_came_after() {
    let mut s = TerminalState::default();
    typed(&mut s, "docker run busybox sleep 600");
    assert!(input(&mut s, "docker ps\r").is_empty());
    assert_eq!(input(&mut s, "\x03"), [Effect::Cancel]);
    assert!(input(&mut s, "docker images\r").is_empty());
    let effects = s.reduce(TerminalAction::Finished(Outcome::failure(String::new(), 137)));
    assert_eq!(runs(&effects), ["images"]);
}

#[test]
fn a_line_typed_ahead_answers_the_next_question() {
    let mut s = TerminalState::default();
    // `--password-stdin` in the page reads the next line typed, as from a pipe.
    typed(&mut s, "docker login -u learner1 --password-stdin");
    assert!(input(&mut s, "pw-one\r").is_empty());
    assert_eq!(ask(&mut s, "", false), [Effect::Answer("pw-one".into())]);
    s.reduce(TerminalAction::Finished(Outcome::default()));
    // A pasted answer: its first line answers, the next lines run after the command.
    typed(&mut s, "docker login");
    ask(&mut s, "Password: ", false);
    assert_eq!(
        input(&mut s, "\x1b[200~pw\\\ndocker images\n\x1b[201~"),
        [Effect::Answer("pw\\".into())]
    );
    let effects = s.reduce(TerminalAction::Finished(Outcome::default()));
    assert_eq!(runs(&effects), ["images"]);
}

#[test]
fn a_lesson_command_put_in_while_a_command_runs_waits_on_the_prompt() {
    let mut s = TerminalState::default();
    typed(&mut s, "docker run busybox sleep 1");
    s.reduce(TerminalAction::Prefill("docker images".into()));
    s.reduce(TerminalAction::Finished(Outcome::default()));
    assert_eq!(s.editor.line(), "docker images");
}

#[test]
fn keys_typed_while_a_container_starts_are_its_input() {
    let mut s = TerminalState::default();
    typed(&mut s, "docker run -it busybox sh");
    assert!(input(&mut s, "ls /\recho hi").is_empty());
    assert_eq!(
        s.reduce(TerminalAction::Attached("eager_turing".into())),
        [Effect::ToContainer("ls /\recho hi".into())]
    );
    s.reduce(TerminalAction::Detached(Outcome::default()));
    assert_eq!(s.editor.line(), "", "nothing left for the prompt");
}

#[test]
fn a_class_notice_goes_above_the_prompt_and_waits_for_a_running_command() {
    let mut s = TerminalState::default();
    s.take_output();
    s.reduce(TerminalAction::Input("docker ps".into()));
    s.take_output();
    // At the prompt: a marked row of its own, then the prompt again with what was typed.
    s.reduce(TerminalAction::Notice("Message from ada: break".into()));
    let out = s.take_output();
    assert!(
        out.starts_with("\r\x1b[K\x1b[1;7m[class notice]\x1b[0m \x1b[1mMessage from ada: break\x1b[0m\r\n"),
        "{out:?}"
    );
    assert!(out.contains("$ docker ps"), "{out:?}");
    // While a command runs: nothing until its output is out, then the notice before the next prompt.
    let effects = s.reduce(TerminalAction::Input("\r".into()));
    assert!(matches!(&effects[..], [Effect::Run(Step::Companion(_))]));
    s.take_output();
    s.reduce(TerminalAction::Notice("The class ends in 2 minutes".into()));
    assert!(!s.take_output().contains("class notice"));
    s.reduce(TerminalAction::Finished(Outcome::success(
        "CONTAINER ID\n".into(),
    )));
    let out = s.take_output();
    let (output, notice) = (
        out.find("CONTAINER ID").unwrap(),
        out.find("[class notice]").unwrap(),
    );
    assert!(output < notice && out.ends_with("$ \r\x1b[2C"), "{out:?}");
}
