//! `docker login`'s prompts: natively on a real terminal (a pseudo-terminal the test holds, as a learner's shell
//! would): docker's questions, the password not echoed, Ctrl-C ending a prompt with 130, the echo back on, nothing
//! stored; and in process with scripted answers, what is offered as the user name and when a stored login is
//! asked for again.

use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slipway::cli::containers::SessionTransport;
use slipway::cli::context::{CommandContext, Prompter};
use slipway::cli::credentials::CredentialStore;
use slipway::cli::interpret::{plan_line, run_command};
use slipway::cli::outcome::{Outcome, Step};
use slipway::registry::Credentials;

use super::client::Reqwest;
use super::*;
use crate::support::server::users_file;

/// `slipway docker login` with a terminal of its own, and everything it wrote to the terminal so far.
struct OnTerminal {
    child: Child,
    master: File,
    /// The terminal's other end, kept to read its modes after the command ends.
    terminal: File,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl OnTerminal {
    fn login(server: &Server, auth_file: &Path) -> Result<OnTerminal> {
        let (mut master_fd, mut terminal_fd) = (0, 0);
        // SAFETY: openpty writes the two descriptors it opens; the null arguments ask for default modes.
        let opened = unsafe {
            libc::openpty(
                &mut master_fd,
                &mut terminal_fd,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        anyhow::ensure!(opened == 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned by nobody else.
        let (master, terminal) = unsafe { (File::from_raw_fd(master_fd), File::from_raw_fd(terminal_fd)) };
        let mut command = Command::new(slipway_binary());
        command
            .args(["docker", "--host", &server.base, "login"])
            .env_remove("SLIPWAY_SESSION")
            .env("SLIPWAY_AUTH_FILE", auth_file)
            .stdin(Stdio::from(terminal.try_clone()?))
            .stdout(Stdio::from(terminal.try_clone()?))
            .stderr(Stdio::from(terminal.try_clone()?));
        // SAFETY: between fork and exec, only async-signal-safe calls: a new session whose controlling
        // terminal is stdin, so the terminal's Ctrl-C signals this process as a shell's would.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().context("spawn slipway docker login")?;
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone()?;
        let written = screen.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            // Ends with EIO once no process holds the terminal.
            while let Ok(n @ 1..) = reader.read(&mut chunk) {
                written.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Ok(OnTerminal {
            child,
            master,
            terminal,
            screen,
        })
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Wait until the screen ends with `prompt` (the command waits for an answer).
    fn wait_for_prompt(&self, prompt: &str) -> Result<()> {
        let started = Instant::now();
        while !self.screen().ends_with(prompt) {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(20),
                "no {prompt:?} on the terminal: {:?}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Keys as typed: the terminal turns Enter's `\r` into the newline the command reads.
    fn type_keys(&mut self, keys: &str) -> Result<()> {
        Ok(self.master.write_all(keys.as_bytes())?)
    }

    fn wait(&mut self) -> Result<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                // What it wrote last reaches the reader thread.
                std::thread::sleep(Duration::from_millis(100));
                return Ok(status);
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "still running: {:?}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the terminal echoes what is typed (its `ECHO` mode).
    fn echoes(&self) -> Result<bool> {
        // SAFETY: tcgetattr fills the zeroed termios for an open terminal descriptor.
        let mut modes: libc::termios = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::tcgetattr(self.terminal.as_raw_fd(), &mut modes) };
        anyhow::ensure!(got == 0, "tcgetattr: {}", std::io::Error::last_os_error());
        Ok(modes.c_lflag & libc::ECHO != 0)
    }
}

#[test]
fn docker_login_prompts_on_a_terminal_and_hides_the_password() -> Result<()> {
    let dir = TempDir::new("tty-login");
    let users = users_file(dir.path())?;
    let server = Server::start_with(&dir.path().join("data"), &["--users", users.to_str().unwrap()])?;
    let auth_file = dir.path().join("auth.json");

    let mut login = OnTerminal::login(&server, &auth_file)?;
    // Nothing stored for this server, and no lesson natively: docker's plain prompt.
    login.wait_for_prompt("Username: ")?;
    login.type_keys("learner1\r")?;
    login.wait_for_prompt("Password: ")?;
    login.type_keys("pw-one\r")?;
    let status = login.wait()?;
    let screen = login.screen();
    assert_eq!(status.code(), Some(0), "{screen:?}");
    assert!(
        screen.contains("Username: learner1\r\n") && screen.contains("Login Succeeded"),
        "{screen:?}"
    );
    assert!(!screen.contains("pw-one"), "the password was echoed: {screen:?}");
    assert!(login.echoes()?, "the terminal's echo is back on");
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&auth_file)?)?;
    assert!(stored["auths"][&server.addr]["auth"].is_string(), "{stored}");

    // Ctrl-C at the password prompt: the command ends with 130, the echo is back, nothing is stored.
    let other_auth = dir.path().join("other-auth.json");
    let mut cancelled = OnTerminal::login(&server, &other_auth)?;
    cancelled.wait_for_prompt("Username: ")?;
    cancelled.type_keys("learner1\r")?;
    cancelled.wait_for_prompt("Password: ")?;
    cancelled.type_keys("pw-\x03")?;
    let status = cancelled.wait()?;
    let screen = cancelled.screen();
    assert_eq!(status.code(), Some(130), "{screen:?}");
    assert!(!screen.contains("Login Succeeded"), "{screen:?}");
    assert!(cancelled.echoes()?, "the terminal's echo is back on after Ctrl-C");
    assert!(!other_auth.exists(), "a cancelled login stores nothing");
    Ok(())
}

/// Answers questions from a script, and remembers what was asked (`None` in the script: Ctrl-C).
struct Scripted {
    answers: Mutex<Vec<Option<&'static str>>>,
    asked: Mutex<Vec<(String, bool)>>,
}

impl Scripted {
    fn new(answers: &[Option<&'static str>]) -> Scripted {
        Scripted {
            answers: Mutex::new(answers.iter().rev().copied().collect()),
            asked: Mutex::new(Vec::new()),
        }
    }

    fn asked(&self) -> Vec<(String, bool)> {
        self.asked.lock().unwrap().clone()
    }
}

impl Prompter for Scripted {
    fn ask<'p>(
        &'p self,
        text: &'p str,
        echo: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + 'p>> {
        self.asked.lock().unwrap().push((text.to_string(), echo));
        let answer = self.answers.lock().unwrap().pop().expect("a scripted answer");
        Box::pin(async move { answer.map(str::to_string) })
    }
}

/// `line` through the interpreter, as the page runs it: with `prompter` and the lesson's user name offered.
async fn login_in_process(
    server: &Server,
    credentials: &RefCell<CredentialStore>,
    prompter: &Scripted,
    line: &str,
) -> Result<Outcome> {
    let Step::Companion(inv) = plan_line(line) else {
        anyhow::bail!("{line} is not a companion command");
    };
    let reqwest = Reqwest::new();
    let transport = SessionTransport::new(&reqwest, server.session()?, &server.base);
    let ctx = CommandContext {
        prompter: Some(prompter),
        suggested_user: Some("learner2"),
        ..CommandContext::new(&transport, &server.base, &server.addr, credentials)
    };
    Ok(run_command(&ctx, &inv).await)
}

#[tokio::test]
async fn login_offers_the_lesson_user_then_the_stored_one_and_asks_again_when_it_is_refused() -> Result<()> {
    let dir = TempDir::new("scripted-login");
    let users = users_file(dir.path())?;
    let server = Server::start_with(&dir.path().join("data"), &["--users", users.to_str().unwrap()])?;
    let credentials = RefCell::new(CredentialStore::default());

    // Nothing stored: the lesson's user name is offered, Enter takes it; the password is asked unechoed.
    let script = Scripted::new(&[Some(""), Some("pw-two")]);
    let done = login_in_process(&server, &credentials, &script, "docker login").await?;
    assert_eq!(
        (done.stdout.as_str(), done.exit_code),
        ("Login Succeeded\n", 0),
        "{done:?}"
    );
    assert_eq!(
        script.asked(),
        [
            ("Username (learner2): ".to_string(), true),
            ("Password: ".to_string(), false)
        ]
    );
    assert_eq!(
        credentials.borrow().get(&server.addr).unwrap().username,
        "learner2"
    );

    // A stored login the registry refuses: docker says so and asks again, offering the stored user name.
    credentials.borrow_mut().set(
        &server.addr,
        &Credentials {
            username: "learner1".into(),
            password: "changed-since".into(),
        },
    );
    let script = Scripted::new(&[Some(""), Some("pw-one")]);
    let again = login_in_process(&server, &credentials, &script, "docker login").await?;
    assert_eq!(again.exit_code, 0, "{again:?}");
    assert!(
        again.stdout.starts_with(
            "Authenticating with existing credentials... [Username: learner1]\n\
             To login with a different account, run 'docker logout' followed by 'docker login'\n\n"
        ) && again.stdout.ends_with("Login Succeeded\n"),
        "{again:?}"
    );
    assert_eq!(again.stderr, "Stored credentials invalid or expired\n");
    assert_eq!(script.asked()[0].0, "Username (learner1): ");

    // `-u` given: only the password is asked; an empty one is docker's error; Ctrl-C is 130 and stores nothing.
    let script = Scripted::new(&[Some("  ")]);
    let empty = login_in_process(&server, &credentials, &script, "docker login -u learner2").await?;
    assert_eq!(
        (empty.stderr.as_str(), empty.exit_code),
        ("error: password is required\n", 1)
    );
    assert_eq!(script.asked(), [("Password: ".to_string(), false)]);
    credentials.borrow_mut().remove(&server.addr);
    let script = Scripted::new(&[None]);
    let stopped = login_in_process(&server, &credentials, &script, "docker login").await?;
    assert_eq!(stopped.exit_code, 130, "{stopped:?}");
    assert!(credentials.borrow().get(&server.addr).is_none());
    Ok(())
}
