//! `docker login` cannot be hammered: failed logins per user name and per client address are limited (429
//! `TOOMANYREQUESTS` in the OCI envelope, with `Retry-After`), the server keeps answering meanwhile, and other
//! users still log in.

use super::cli_images::DockerCli;
use super::*;
use crate::support::server::users_file;

async fn login(server: &Server, user: &str, password: &str) -> reqwest::Response {
    login_at(server.url("/token"), user, password).await
}

/// `docker login`'s token request to `token_url` (owned, so it runs as a task of its own).
async fn login_at(token_url: String, user: &str, password: &str) -> reqwest::Response {
    client()
        .get(token_url)
        .query(&[
            ("service", "slipway"),
            ("scope", "repository:learner1/app:pull,push"),
        ])
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("the server answers")
}

/// A server with `learner1` / `pw-one` and `learner2` / `pw-two`, and `limits` flags (the data dir goes with it).
fn server_with_users(name: &str, limits: &[&str]) -> Result<(TempDir, Server)> {
    let dir = TempDir::new(name);
    let users = users_file(dir.path())?;
    let mut flags = vec!["--users", users.to_str().unwrap()];
    flags.extend_from_slice(limits);
    let server = Server::start_with(&dir.path().join("data"), &flags)?;
    Ok((dir, server))
}

#[tokio::test]
async fn fifty_parallel_bad_logins_get_401_then_429_and_others_still_log_in() -> Result<()> {
    let (_dir, server) = server_with_users(
        "login-limits",
        &[
            "--login-attempts-per-user",
            "5",
            "--login-attempts-per-address",
            "20",
        ],
    )?;

    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..50 {
        let token_url = server.url("/token");
        guesses.spawn(async move { login_at(token_url, "learner1", &format!("guess-{i}")).await });
    }
    let mut info_statuses = Vec::new();
    for _ in 0..5 {
        let info = client().get(server.url("/api/info")).send().await;
        info_statuses.push(info.map(|r| r.status().as_u16()).unwrap_or(0));
    }
    assert_eq!(info_statuses, [200; 5], "/api/info answers during the flood");
    let answers = guesses.join_all().await;

    let (mut unauthorized, mut limited) = (Vec::new(), Vec::new());
    for answer in answers {
        match answer.status().as_u16() {
            401 => unauthorized.push(answer),
            429 => limited.push(answer),
            other => panic!("a wrong password got {other}"),
        }
    }
    assert_eq!(
        (unauthorized.len(), limited.len()),
        (5, 45),
        "five checked, the rest refused"
    );
    assert_eq!(error_code(unauthorized.remove(0)).await, "UNAUTHORIZED");
    let refused = limited.remove(0);
    let retry_after: u64 = header(&refused, "retry-after").parse()?;
    assert!((1..=60).contains(&retry_after), "Retry-After: {retry_after}");
    let envelope: serde_json::Value = refused.json().await?;
    assert_eq!(envelope["errors"][0]["code"], "TOOMANYREQUESTS", "{envelope}");
    let message = envelope["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("too many failed logins for \"learner1\""),
        "{message}"
    );

    // Another user's right password still logs in from the same address; learner1 waits out its limit.
    let other = login(&server, "learner2", "pw-two").await;
    assert_eq!(other.status(), 200);
    let body: serde_json::Value = other.json().await?;
    assert!(body["token"].is_string(), "{body}");
    assert_eq!(login(&server, "learner1", "pw-one").await.status(), 429);

    // The address has 15 of its 20 attempts left, whatever user names they try.
    for i in 0..15 {
        let answer = login(&server, &format!("nobody{i}"), "guess").await;
        assert_eq!(answer.status(), 401, "attempt {i}");
    }
    let refused = login(&server, "somebody-else", "guess").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.text().await?.contains("from 127.0.0.1"));
    Ok(())
}

#[tokio::test]
async fn basic_credentials_sent_straight_to_v2_are_limited_too() -> Result<()> {
    let (_dir, server) = server_with_users("login-limits-v2", &["--login-attempts-per-user", "2"])?;
    let manifest = server.url("/v2/learner1/app/manifests/v1");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let answer = client()
            .get(&manifest)
            .basic_auth("learner1", Some("nope"))
            .send()
            .await?;
        statuses.push(answer.status().as_u16());
        if answer.status() == 429 {
            assert_eq!(header(&answer, "docker-distribution-api-version"), "registry/2.0");
            assert_eq!(error_code(answer).await, "TOOMANYREQUESTS");
        }
    }
    assert_eq!(statuses, [401, 401, 429]);
    Ok(())
}

#[tokio::test]
async fn docker_login_past_the_limit_says_toomanyrequests_as_docker_does() -> Result<()> {
    let (dir, server) = server_with_users("login-limits-cli", &["--login-attempts-per-user", "1"])?;
    let cli = DockerCli::new(&server, dir.path(), "login-limits");
    let login = "docker login -u learner1 --password-stdin";
    let wrong = cli.run_with_stdin(login, "wrong\n")?;
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains(": unauthorized: "), "{}", wrong.stderr);
    let limited = cli.run_with_stdin(login, "pw-one\n")?;
    assert_eq!(limited.code, 1);
    let expected = format!(
        "Error response from daemon: Get \"{}/v2/\": toomanyrequests: too many failed logins for \"learner1\": try again in ",
        server.base
    );
    assert!(limited.stderr.starts_with(&expected), "{}", limited.stderr);
    assert!(limited.stderr.ends_with(" seconds\n"), "{}", limited.stderr);
    Ok(())
}
