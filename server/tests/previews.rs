//! Containers' web apps on their own origin, through the real binary, runc and Chromium, each test named after the
//! attack it stops: a container's page setting a cookie or registering a service worker for the app, the container
//! reading the caller's credentials, container content on the app's origin, a guessed preview link; and the app's
//! own Content-Security-Policy, on with no violation while the page runs a container.

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, with_busybox, Server};
use crate::support::TempDir;

const ENTER: &str = "\u{E007}";

/// A container's web app as a stranger would write it (busybox `nc`, one connection per request): it logs each
/// request's head to `/seen`, answers `GET /seen` with that log, and anything else with a page that sends a
/// cookie and `Service-Worker-Allowed`, and tries to set a cookie and register a service worker from script.
const HOSTILE_APP: &str = r#"#!/bin/sh
first=
while IFS= read -r line; do
  line=$(printf '%s' "$line" | tr -d '\r')
  [ -z "$line" ] && break
  [ -z "$first" ] && first=$line
  echo "seen: $line" >> /seen
done
case "$first" in
  "GET /seen "*) body=$(cat /seen) ;;
  *) body='<!DOCTYPE html><title>app</title><p id="hello">hello from the app</p><script>try { document.cookie = "script=1; path=/"; } catch (e) {} try { navigator.serviceWorker.register("sw.js", { scope: "/" }).catch(function () {}); } catch (e) {}</script>' ;;
esac
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %s\r\nSet-Cookie: stolen=1; Path=/\r\nService-Worker-Allowed: /\r\nAccess-Control-Allow-Credentials: true\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
"#;

/// A server with busybox and the hostile app running in container `web` on port 8000: the server, the app's
/// preview root (`http://127.0.0.1:P/p/TOKEN/8000/`) and the container id.
async fn hostile_app(label: &str) -> Result<(Server, String, String)> {
    let data = TempDir::new(label);
    with_busybox(&data)?;
    let server = Server::start_in(data, &dist_dir(), &[])?;
    let http = server.session_client()?;
    let created: Value = http
        .post(format!("{}/api/containers?start=true", server.url))
        .json(&json!({"image": "busybox", "name": "web", "cmd": ["sh", "-c",
            "printf '%s' \"$0\" > /app.sh && chmod +x /app.sh && exec nc -ll -p 8000 -e /app.sh", HOSTILE_APP]}))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().context("no id")?.to_string();
    let root = preview_root(&http, &server.url, &id, 8000).await?;
    // nc may need a moment to listen.
    for _ in 0..50 {
        if http.get(format!("{root}ready")).send().await?.status() == 200 {
            return Ok((server, root, id));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the app never answered at {root}")
}

/// Where container `id`'s port is shown: the preview origin from `/api/info`, the token from the container's
/// inspect answer (as the page and the owner learn them; `http` carries the owner's session).
pub async fn preview_root(http: &reqwest::Client, app: &str, id: &str, port: u16) -> Result<String> {
    let info: slipway::api::ServerInfo = http.get(format!("{app}/api/info")).send().await?.json().await?;
    let preview = info.preview.context("/api/info names no preview origin")?;
    ensure!(preview.port != app.rsplit(':').next().unwrap_or_default().parse::<u16>()?);
    let inspect: slipway::api::ContainerInspect = http
        .get(format!("{app}{}", slipway::api::paths::container(id)))
        .send()
        .await?
        .json()
        .await?;
    let token = inspect.summary.preview;
    ensure!(token.len() == 32 && token != id, "token {token:?}");
    Ok(format!(
        "{}{}",
        preview.origin("http:", "127.0.0.1"),
        slipway::api::paths::preview(&token, port)
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_cannot_set_a_cookie_or_register_a_service_worker_for_the_app() -> Result<()> {
    let (server, root, _) = hostile_app("preview-cookie").await?;
    let answer = reqwest::get(format!("{root}page")).await?;
    let headers = answer.headers().clone();
    ensure!(answer.text().await?.contains("hello from the app"));
    for dropped in [
        "set-cookie",
        "service-worker-allowed",
        "access-control-allow-credentials",
    ] {
        ensure!(!headers.contains_key(dropped), "{dropped} passed: {headers:?}");
    }
    ensure!(
        headers["content-security-policy"] == "sandbox allow-scripts allow-forms allow-popups",
        "{headers:?}"
    );
    // In the browser: the app's page opened directly (not only in the lesson's frame), then the app's origin
    // (cookies ignore ports: one set by 127.0.0.1:PREVIEW would go to 127.0.0.1:APP too).
    let (app, page_url) = (server.url.clone(), format!("{root}page"));
    let browser = Browser::start().await?;
    browser
        .run(
            "a_preview_cannot_set_a_cookie_or_register_a_service_worker_for_the_app",
            |page| async move {
                page.goto(&page_url).await?;
                page.client
                    .wait()
                    .for_element(fantoccini::Locator::Id("hello"))
                    .await?;
                // Give the app's script its chance.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                page.goto(&app).await?;
                page.by_name("Terminal input").await?;
                let cookie = page.client.execute("return document.cookie", vec![]).await?;
                ensure!(cookie == json!(""), "the app's origin has cookies: {cookie}");
                let workers = page
                    .client
                    .execute_async(
                        "const done = arguments[arguments.length - 1]; \
                         navigator.serviceWorker.getRegistrations().then(r => done(r.length), e => done(String(e)));",
                        vec![],
                    )
                    .await?;
                ensure!(workers == json!(0), "service workers on the app's origin: {workers}");
                Ok(())
            },
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_container_never_receives_the_callers_credentials() -> Result<()> {
    let (_server, root, _) = hostile_app("preview-credentials").await?;
    let http = reqwest::Client::new();
    let answer = http
        .get(format!("{root}with-credentials"))
        .header("authorization", "Basic bGVhcm5lcjE6cHctb25l")
        .header("cookie", "slipway=secret")
        .header(slipway::api::SESSION_HEADER, "the-learners-session")
        .header("proxy-authorization", "Basic eDp5")
        .send()
        .await?;
    ensure!(answer.status() == 200);
    let seen = http.get(format!("{root}seen")).send().await?.text().await?;
    ensure!(seen.contains("seen: GET /with-credentials HTTP/1.1"), "{seen}");
    let lower = seen.to_ascii_lowercase();
    for leaked in [
        "authorization",
        "cookie",
        slipway::api::SESSION_HEADER,
        "secret",
        "bgvhcm5lcje6chctb25l",
    ] {
        ensure!(!lower.contains(leaked), "the container saw {leaked}: {seen}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_origin_serves_no_container_content_and_a_wrong_preview_token_is_404() -> Result<()> {
    let (server, root, id) = hostile_app("preview-origin").await?;
    let http = reqwest::Client::new();
    // The old preview route on the app's origin.
    let old = http
        .get(format!("{}/api/containers/{id}/proxy/8000/page", server.url))
        .send()
        .await?;
    let body = old.text().await?;
    ensure!(
        !body.contains("hello from the app"),
        "the app's origin served the container: {body}"
    );
    let (origin, token) = {
        let rest = root.trim_end_matches("/8000/");
        let (origin, token) = rest.rsplit_once("/p/").context("preview path")?;
        (origin.to_string(), token.to_string())
    };
    let mut flipped = token.clone().into_bytes();
    flipped[31] = if flipped[31] == b'0' { b'1' } else { b'0' };
    for wrong in [
        String::from_utf8(flipped)?,
        token[..31].to_string(),
        id.clone(),
        "web".to_string(),
    ] {
        let url = format!("{origin}{}page", slipway::api::paths::preview(&wrong, 8000));
        let answer = http.get(&url).send().await?;
        ensure!(answer.status() == 404, "{url}: {}", answer.status());
        ensure!(answer.headers()["content-security-policy"]
            .to_str()?
            .starts_with("sandbox"));
        ensure!(!answer.text().await?.contains("hello from the app"));
    }
    ensure!(http.get(format!("{root}page")).send().await?.status() == 200);
    Ok(())
}

/// `Page.addScriptToEvaluateOnNewDocument` through chromedriver: a script that runs before any of the page's.
#[derive(Debug)]
struct BeforeThePage(String);

impl fantoccini::wd::WebDriverCompatibleCommand for BeforeThePage {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, url_error::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": self.0}});
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

mod url_error {
    pub use reqwest::Url;
    pub type ParseError = <Url as std::str::FromStr>::Err;
}

/// Every CSP violation of the page from its first byte: `window.violations`.
async fn record_violations(page: &Page) -> Result<()> {
    let listener = "window.violations = []; document.addEventListener('securitypolicyviolation', \
                    e => window.violations.push(e.violatedDirective + ' ' + e.blockedURI));";
    page.client.issue_cmd(BeforeThePage(listener.to_string())).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_apps_csp_is_on_and_the_page_runs_a_container_with_no_violation() -> Result<()> {
    let data = TempDir::new("csp-page");
    with_busybox(&data)?;
    let server = Server::start_in(data, &dist_dir(), &[])?;
    let answer = reqwest::get(&server.url).await?;
    let policy = answer.headers()["content-security-policy"].to_str()?.to_string();
    for part in [
        "script-src 'self' 'wasm-unsafe-eval' 'sha256-",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'self'",
    ] {
        ensure!(policy.contains(part), "{part} missing: {policy}");
    }
    ensure!(!policy.contains("'unsafe-eval'") && !policy.contains("script-src 'self' 'unsafe-inline'"));
    let url = server.url.clone();
    let browser = Browser::start().await?;
    browser
        .run(
            "the_apps_csp_is_on_and_the_page_runs_a_container_with_no_violation",
            |page| async move {
                record_violations(&page).await?;
                page.goto(&url).await?;
                page.type_into(
                    "Terminal input",
                    &format!("docker run --rm busybox echo csp-ok{ENTER}"),
                )
                .await?;
                page.wait_for_text("Terminal output", "the container's output", |t| {
                    t.contains("\ncsp-ok\n")
                })
                .await?;
                let violations = page.client.execute("return window.violations", vec![]).await?;
                ensure!(violations == json!([]), "CSP violations: {violations}");
                // The recorder hears violations: an injected inline script is one.
                let inject = "const s = document.createElement('script'); s.textContent = 'window.ran = 1'; \
                              document.body.appendChild(s);";
                page.client.execute(inject, vec![]).await?;
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                let heard = page
                    .client
                    .execute(
                        "return [window.violations.length, window.ran === undefined]",
                        vec![],
                    )
                    .await?;
                ensure!(
                    heard == json!([1, true]),
                    "an inline script was not refused: {heard}"
                );
                Ok(())
            },
        )
        .await
}

#[tokio::test]
async fn operator_flags_name_the_preview_origin_and_the_sites_that_may_frame_the_embed() -> Result<()> {
    let server = Server::start_with(
        &dist_dir(),
        &[
            "--preview-addr",
            "127.0.0.1:0",
            "--preview-host",
            "preview.example.org",
            "--embed-ancestor",
            "https://docs.example.org",
        ],
    )?;
    let http = reqwest::Client::new();
    let info: slipway::api::ServerInfo = http
        .get(format!("{}/api/info", server.url))
        .send()
        .await?
        .json()
        .await?;
    let preview = info.preview.context("no preview origin")?;
    ensure!(
        preview.host.as_deref() == Some("preview.example.org"),
        "{preview:?}"
    );
    ensure!(preview.port != 0);
    let page = http.get(&server.url).send().await?;
    let policy = page.headers()["content-security-policy"].to_str()?.to_string();
    let frames = format!("frame-src 'self' preview.example.org:{};", preview.port);
    ensure!(policy.contains(&frames), "{policy}");
    ensure!(policy.ends_with("frame-ancestors 'self'"), "{policy}");
    let embed = http.get(format!("{}/embed", server.url)).send().await?;
    let policy = embed.headers()["content-security-policy"].to_str()?.to_string();
    ensure!(
        policy.ends_with("frame-ancestors 'self' https://docs.example.org"),
        "{policy}"
    );
    // The preview listener answers on the port /api/info names (nothing to show: 404, sandboxed).
    let nothing = http
        .get(format!("http://127.0.0.1:{}/p/00/80/", preview.port))
        .send()
        .await?;
    ensure!(nothing.status() == 404);
    ensure!(nothing.headers()["content-security-policy"]
        .to_str()?
        .starts_with("sandbox"));
    Ok(())
}
