//! The page's terminal asks as docker does and keeps what is typed ahead: `docker login` prompts for the user name
//! (offering the lesson's) and a hidden password on a classroom companion, Ctrl-C at a prompt stores nothing,
//! `--password-stdin` reads the next line typed, and commands typed during a build run after it, in order.

use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, users_file, Server};
use crate::support::TempDir;
use crate::terminal_keys::{keys, on_a_page_with_busybox, CTRL_C, ENTER};

/// Wait until the terminal's last row is `row` (a prompt waiting for its answer; rows are trimmed).
pub(crate) async fn wait_for_row(page: &Page, row: &str) -> anyhow::Result<String> {
    page.wait_for_text("Terminal output", &format!("the row {row:?}"), |t| {
        t.lines().last() == Some(row)
    })
    .await
}

/// How many logins succeeded on the screen so far.
async fn screen_logins(page: &Page) -> anyhow::Result<usize> {
    Ok(page
        .text_of("Terminal output")
        .await?
        .matches("Login Succeeded")
        .count())
}

#[tokio::test(flavor = "multi_thread")]
async fn docker_login_asks_for_the_user_name_and_a_hidden_password() {
    let data = TempDir::new("prompt-login");
    let users = users_file(data.path()).unwrap();
    let server = Server::start_in(data, &dist_dir(), &["--users", users.to_str().unwrap()]).unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "docker_login_asks_for_the_user_name_and_a_hidden_password",
            |page| async move {
                page.goto(&url).await?;
                // As the lesson says: `docker login`, Enter takes the offered user name (the lesson's).
                keys(&page, &format!("docker login{ENTER}")).await?;
                wait_for_row(&page, "Username (learner1):").await?;
                keys(&page, ENTER).await?;
                wait_for_row(&page, "Password:").await?;
                keys(&page, &format!("not-her-password{ENTER}")).await?;
                let refused = page
                    .wait_for_text("Terminal output", "the refused login", |t| {
                        t.contains("wrong user name or password for \"learner1\"")
                    })
                    .await?;
                anyhow::ensure!(
                    refused.contains("Error response from daemon: Get \"http://")
                        && !refused.contains("not-her-password")
                        && !refused.contains("Login Succeeded"),
                    "{refused}"
                );
                page.wait_terminal_idle().await?;

                // The user name typed, then the right password: stored for the session.
                keys(&page, &format!("docker login{ENTER}")).await?;
                wait_for_row(&page, "Username (learner1):").await?;
                keys(&page, &format!("learner1{ENTER}")).await?;
                wait_for_row(&page, "Password:").await?;
                keys(&page, &format!("pw-one{ENTER}")).await?;
                let screen = page
                    .wait_for_text("Terminal output", "Login Succeeded", |t| {
                        t.contains("Login Succeeded")
                    })
                    .await?;
                anyhow::ensure!(screen.contains("Username (learner1): learner1"), "{screen}");
                anyhow::ensure!(!screen.contains("pw-one"), "the password showed: {screen}");
                page.wait_terminal_idle().await?;
                keys(&page, &format!("docker login{ENTER}")).await?;
                page.wait_for_text("Terminal output", "the stored login", |t| {
                    t.contains("Authenticating with existing credentials... [Username: learner1]")
                })
                .await?;
                page.wait_terminal_idle().await?;

                // Ctrl-C at the password prompt: ^C, the prompt back, nothing stored.
                page.terminal_command("docker logout", "Removing login credentials")
                    .await?;
                keys(&page, &format!("docker login{ENTER}")).await?;
                wait_for_row(&page, "Username (learner1):").await?;
                keys(&page, ENTER).await?;
                wait_for_row(&page, "Password:").await?;
                keys(&page, &format!("pw-o{CTRL_C}")).await?;
                wait_for_row(&page, "$").await?;
                let before = page.text_of("Terminal output").await?.len();
                keys(&page, &format!("docker login{ENTER}")).await?;
                let asked = wait_for_row(&page, "Username (learner1):").await?;
                let asked = asked.get(before..).unwrap_or_default();
                anyhow::ensure!(!asked.contains("existing credentials"), "{asked}");
                keys(&page, CTRL_C).await?;
                let screen = wait_for_row(&page, "$").await?;
                anyhow::ensure!(screen.contains("Password: ^C"), "{screen}");

                // `--password-stdin` reads the next line typed, as from a pipe, unechoed.
                let logins = screen_logins(&page).await?;
                keys(
                    &page,
                    &format!("docker login -u learner1 --password-stdin{ENTER}"),
                )
                .await?;
                keys(&page, &format!("pw-one{ENTER}")).await?;
                page.wait_for_text("Terminal output", "one more login", |t| {
                    t.matches("Login Succeeded").count() == logins + 1
                })
                .await?;
                page.wait_terminal_idle().await?;
                let screen = page.text_of("Terminal output").await?;
                anyhow::ensure!(!screen.contains("pw-one"), "the password showed: {screen}");
                Ok(())
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_typed_during_a_build_run_after_it_in_order() {
    on_a_page_with_busybox(
        "commands_typed_during_a_build_run_after_it_in_order",
        "typeahead",
        |page, url| async move {
            page.goto(&url).await?;
            page.paste_into("Dockerfile editor", "FROM busybox\nRUN sleep 2 && echo slept\n")
                .await?;
            keys(&page, &format!("docker build -t learner1/slow:v1 .{ENTER}")).await?;
            page.wait_for_text("Terminal output", "the RUN step running", |t| {
                t.contains("RUN sleep 2")
            })
            .await?;
            keys(&page, &format!("docker images{ENTER}docker ps -a{ENTER}")).await?;
            let screen = page
                .wait_for_text("Terminal output", "both commands' output", |t| {
                    t.contains("CONTAINER ID")
                })
                .await?;
            page.wait_terminal_idle().await?;
            let at = |text: &str| {
                screen
                    .find(text)
                    .ok_or_else(|| anyhow::anyhow!("{text:?} is not in:\n{screen}"))
            };
            // Echoed while the build ran, then run after it, one after the other, in the order typed.
            anyhow::ensure!(at("docker images")? < at("naming to")?, "{screen}");
            anyhow::ensure!(
                at("naming to")? < at("$ docker images")?
                    && at("$ docker images")? < at("REPOSITORY")?
                    && at("REPOSITORY")? < at("$ docker ps -a")?
                    && at("$ docker ps -a")? < at("CONTAINER ID")?,
                "{screen}"
            );
            anyhow::ensure!(
                screen[at("REPOSITORY")?..at("$ docker ps -a")?].contains("learner1/slow"),
                "{screen}"
            );
            Ok(())
        },
    )
    .await;
}
