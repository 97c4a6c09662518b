//! The API's and the registry's paths are never the app's: an unknown one answers a JSON error, never the app's
//! `index.html` (a client would read the page's HTML as its answer). And `docker inspect NAME` looks the name up
//! as docker does (containers, images, networks, volumes: docker/cli `cli/command/system/inspect.go`), so an image
//! whose name holds a `/` and a `:` (`learner/box:v1`) is found, natively and in the page.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use slipway::api::ErrorBody;

use crate::commands::{server, Cli};
use crate::support::server::{dist_dir, Server};
use crate::support::TempDir;

#[tokio::test]
async fn unknown_api_and_registry_paths_answer_json_errors_not_the_app() -> Result<()> {
    let dist = TempDir::new("api-paths-dist");
    std::fs::write(dist.path().join("index.html"), "<!DOCTYPE html><p>the app</p>")?;
    let server = Server::start_with(dist.path(), &[])?;
    let client = server.session_client()?;
    for page in ["/", "/lesson/1"] {
        let body = client
            .get(format!("{}{page}", server.url))
            .send()
            .await?
            .text()
            .await?;
        ensure!(body.contains("the app"), "{page}: {body}");
    }
    let container = slipway::api::paths::container("learner/box:v1");
    let unknown = [
        ("GET", "/api/nope"),
        ("POST", "/api/nope"),
        ("GET", "/api/containers/a/b:c"),
        ("GET", container.as_str()),
        ("GET", "/v2/nope"),
    ];
    for (method, path) in unknown {
        let request = client.request(method.parse()?, format!("{}{path}", server.url));
        let answer = request.send().await?;
        let (status, kind) = (answer.status(), answer.headers().get("content-type").cloned());
        let body = answer.text().await?;
        ensure!(status == 404, "{method} {path}: {status} {body}");
        ensure!(
            kind.is_some_and(|k| k.as_bytes().starts_with(b"application/json")) && !body.contains("the app"),
            "{method} {path}: {body}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&body).with_context(|| format!("{path}: {body}"))?;
        if path == "/api/nope" {
            ensure!(
                body == r#"{"message":"page not found"}"#,
                "dockerd's answer: {body}"
            );
        } else if path.starts_with("/api/") {
            ensure!(
                !ErrorBody::message_of(body.as_bytes()).is_empty(),
                "{path}: {json}"
            );
        } else {
            ensure!(
                json["errors"][0]["code"].is_string(),
                "the registry's error: {path}: {json}"
            );
        }
    }
    Ok(())
}

#[test]
fn inspect_looks_a_name_up_as_a_container_image_network_then_volume() -> Result<()> {
    let Some(server) = server("inspect-kinds", Path::new("/nonexistent"))? else {
        return Ok(());
    };
    let cli = Cli::new(&server)?;
    cli.ok(&["pull", "-q", "busybox"])?;
    cli.ok(&["tag", "busybox", "learner/box:v1"])?;
    let image: serde_json::Value = serde_json::from_str(&cli.ok(&["inspect", "learner/box:v1"])?)?;
    ensure!(
        image[0]["RepoTags"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t == "learner/box:v1")),
        "{image}"
    );
    cli.ok(&["network", "create", "mynet"])?;
    cli.ok(&["volume", "create", "myvol"])?;
    let both: serde_json::Value = serde_json::from_str(&cli.ok(&["inspect", "mynet", "myvol"])?)?;
    ensure!(
        both[0]["Name"] == "mynet" && both[0]["Scope"] == "local" && both[1]["Mountpoint"].is_string(),
        "{both}"
    );
    let typed = cli.ok(&[
        "inspect",
        "--type",
        "volume",
        "-f",
        "{{.Name}} {{.Driver}}",
        "myvol",
    ])?;
    ensure!(typed == "myvol local\n", "{typed:?}");
    let missing = cli.docker(&["inspect", "nope/x:y"])?;
    ensure!(
        missing.code == 1 && missing.out == "[]\n" && missing.err == "Error: No such object: nope/x:y\n",
        "{missing:?}"
    );
    let wrong = cli.docker(&["inspect", "--type", "network", "myvol"])?;
    ensure!(wrong.code == 1 && wrong.err.contains("myvol"), "{wrong:?}");
    let bad = cli.docker(&["inspect", "--type", "plugin", "myvol"])?;
    ensure!(
        bad.code == 1 && bad.err == "\"plugin\" is not a valid value for --type\n",
        "{bad:?}"
    );
    cli.ok(&["network", "rm", "mynet"])?;
    cli.ok(&["volume", "rm", "myvol"])?;
    Ok(())
}

/// In the page: `docker inspect learner/box:v1` shows the image's JSON (it answered the app's HTML before).
#[tokio::test]
async fn inspect_of_an_image_named_with_a_slash_shows_it_in_the_page() -> Result<()> {
    let Some(server) = server("inspect-page", &dist_dir())? else {
        return Ok(());
    };
    crate::support::browser::on_the_page(
        "inspect_of_an_image_named_with_a_slash",
        &server.url,
        |page| async move {
            page.wait_for_text("Companion status", "a connection", |t| {
                t.starts_with("companion connected")
            })
            .await?;
            page.terminal_command("docker pull busybox", "busybox").await?;
            page.terminal_command("docker tag busybox learner/box:v1", "")
                .await?;
            let shown = page
                .terminal_command("docker inspect learner/box:v1", "\"RepoTags\"")
                .await?;
            ensure!(
                shown.contains("\"learner/box:v1\"") && !shown.contains("DOCTYPE"),
                "{shown}"
            );
            let cmd = page
                .terminal_command("docker inspect -f '{{.Config.Cmd}}' learner/box:v1", "[sh]")
                .await?;
            ensure!(!cmd.contains("Error"), "{cmd}");
            Ok(())
        },
    )
    .await
}
