//! The registries as a learner meets them in the page, in headless Chromium against the real server. Other
//! registries are reached through the companion's proxy, which serves only the hosts its operator listed: a push
//! (HEAD first, no body in the answer) and a pull (GET) to a host it refuses say which host and how an operator
//! allows it. A pulled base image is dated by its Debian package, not 1970.

use crate::support::project::{Project, ProjectFile};

use crate::support::browser::Browser;
use crate::support::server::{busybox_package_time, dist_dir, with_busybox_in_registry, Server};
use crate::support::TempDir;

/// The classic `registry:2` address on a learner's machine; nothing needs to listen there, the proxy refuses it.
const LOCAL_REGISTRY: &str = "127.0.0.1:5000";

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_registry_host_is_named_with_the_operators_flag() {
    let server = Server::start().unwrap();
    let project = Project::from_files([
        ("Dockerfile", ProjectFile::new("FROM scratch\nCOPY a.txt /\n")),
        ("a.txt", ProjectFile::new("alpha\n")),
    ])
    .unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run("a_refused_registry_host_is_named_with_the_operators_flag", |page| async move {
            page.goto(&url).await?;
            page.terminal_command("docker build -t learner1/app:v1 .", "naming to")
                .await?;
            let target = format!("{LOCAL_REGISTRY}/learner1/app:v1");
            page.terminal_command(&format!("docker tag learner1/app:v1 {target}"), "")
                .await?;
            let refusal = format!(
                "denied: this Slipway server does not forward requests to {LOCAL_REGISTRY} (an operator allows it: \
                 slipway serve --proxy-host {LOCAL_REGISTRY})"
            );
            // A push asks HEAD first: the refusal comes without a body.
            let pushed = page
                .terminal_command(&format!("docker push {target}"), &refusal)
                .await?;
            anyhow::ensure!(!pushed.contains("denied: HEAD"), "{pushed}");
            // A pull asks GET: the same words.
            page.terminal_command(
                &format!("docker pull {target}"),
                &format!("Error response from daemon: {refusal}"),
            )
            .await?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pulled_base_image_is_dated_by_its_package() {
    let data = TempDir::new("page-base-date");
    with_busybox_in_registry(&data).unwrap();
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    // `{{.CreatedAt}}` spells the time as Go does.
    let created_at = slipway::cli::format::go_time(busybox_package_time().unwrap() as i64);
    let url = format!("{}/", server.url);
    let browser = Browser::start().await.unwrap();
    browser
        .run("a_pulled_base_image_is_dated_by_its_package", |page| async move {
            page.goto(&url).await?;
            page.terminal_command(
                "docker pull busybox",
                "Status: Downloaded newer image for busybox:latest",
            )
            .await?;
            let listed = page.terminal_command("docker images", "busybox").await?;
            anyhow::ensure!(!listed.contains("56 years ago"), "{listed}");
            page.terminal_command(
                "docker images --format '{{.Repository}} {{.CreatedAt}}'",
                &format!("busybox {created_at}"),
            )
            .await?;
            Ok(())
        })
        .await
        .unwrap();
}
