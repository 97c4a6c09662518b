//! Headless Chromium through Debian's chromedriver, driven with fantoccini, as a learner would use the page.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::{free_port, repo_root, TempDir};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// WebDriver keys: Control+A (Control stays down until the NULL key), then Backspace.
const SELECT_ALL_AND_DELETE: &str = "\u{E009}a\u{E000}\u{E003}";
/// How long `wait_*` helpers poll before failing.
pub const WAIT: Duration = Duration::from_secs(20);

/// A chromedriver process and one browser session, closed on drop.
pub struct Browser {
    /// None for another profile on a driver that another `Browser` owns ([`Browser::another_profile`]).
    driver: Option<Child>,
    port: u16,
    pub client: Client,
    _profile: TempDir,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Browser> {
        Self::launch(None).await
    }

    /// A browser whose downloads land in `dir` without asking (Chromium's `download.default_directory`).
    pub async fn start_with_downloads(dir: &std::path::Path) -> anyhow::Result<Browser> {
        Self::launch(Some(dir)).await
    }

    async fn launch(downloads: Option<&std::path::Path>) -> anyhow::Result<Browser> {
        for tool in [CHROMEDRIVER, CHROMIUM] {
            if !std::path::Path::new(tool).exists() {
                bail!("{tool} is missing: apt-get install chromium chromium-driver (scripts/test.sh does)");
            }
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn chromedriver")?;
        Self::connect(Some(driver), port, downloads).await
    }

    /// Another browser profile (its own cookies and storage: another user) on this browser's chromedriver:
    /// several Chromiums share one driver. Close it (`run`, or drop) before this one.
    pub async fn another_profile(&self) -> anyhow::Result<Browser> {
        Self::connect(None, self.port, None).await
    }

    /// A new WebDriver session with a fresh profile on the chromedriver at `port` (`driver`: owned by it).
    async fn connect(
        mut driver: Option<Child>,
        port: u16,
        downloads: Option<&std::path::Path>,
    ) -> anyhow::Result<Browser> {
        let profile = TempDir::new("chrome-profile");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": downloads.map(|dir| json!({
                    "download.default_directory": dir.display().to_string(),
                    "download.prompt_for_download": false,
                })).unwrap_or_else(|| json!({})),
            }
        });
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("capabilities are an object"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < WAIT => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    if let Some(driver) = driver.as_mut() {
                        let _ = driver.kill();
                    }
                    bail!("chromedriver on {url} gave no session: {e}");
                }
            }
        };
        Ok(Browser {
            driver,
            port,
            client,
            _profile: profile,
        })
    }

    /// Run `steps` against a fresh page; on failure, save a screenshot and the DOM under `test-artifacts/`.
    pub async fn run<F, Fut>(self, name: &str, steps: F) -> anyhow::Result<()>
    where
        F: FnOnce(Page) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>>,
    {
        let page = Page {
            client: self.client.clone(),
        };
        let result = steps(page.clone()).await;
        if let Err(e) = &result {
            let dir = artifacts_dir();
            let _ = std::fs::create_dir_all(&dir);
            if let Ok(png) = page.client.screenshot().await {
                let _ = std::fs::write(dir.join(format!("{name}.png")), png);
            }
            if let Ok(html) = page.client.source().await {
                let _ = std::fs::write(dir.join(format!("{name}.html")), html);
            }
            eprintln!("e2e {name} failed: {e:#}\n  artifacts in {}", dir.display());
        }
        let _ = self.client.clone().close().await;
        result
    }
}

/// Run `steps` in a fresh headless Chromium on the page at `url`, opened first (as [`Browser::run`]: artifacts on
/// failure); what a page test starts with.
pub async fn on_the_page<F, Fut>(name: &str, url: &str, steps: F) -> anyhow::Result<()>
where
    F: FnOnce(Page) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let url = url.to_string();
    Browser::start()
        .await?
        .run(name, |page| async move {
            page.goto(&url).await?;
            steps(page).await
        })
        .await
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.as_mut() {
            let _ = driver.kill();
            let _ = driver.wait();
        }
    }
}

pub fn artifacts_dir() -> PathBuf {
    repo_root().join("test-artifacts")
}

/// The accessible name of an element, simplified: aria-label, aria-labelledby, a `<label for>` or an enclosing
/// `<label>`, (for buttons, links and headings) its text, then `title` and `placeholder`.
const NAME_OF_JS: &str = r#"
const clean = s => (s || '').replace(/\s+/g, ' ').trim();
function nameOf(el) {
  if (el.hasAttribute('aria-label')) return clean(el.getAttribute('aria-label'));
  if (el.hasAttribute('aria-labelledby')) {
    return clean(el.getAttribute('aria-labelledby').split(/\s+/)
      .map(id => document.getElementById(id)).filter(Boolean).map(e => e.textContent).join(' '));
  }
  if (el.id) { const l = document.querySelector(`label[for="${CSS.escape(el.id)}"]`); if (l) return clean(l.textContent); }
  if (/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) && el.closest('label')) return clean(el.closest('label').textContent);
  if (/^(BUTTON|A|H[1-6]|SUMMARY|OPTION|LEGEND)$/.test(el.tagName)) return clean(el.textContent);
  return clean(el.getAttribute('title') || el.getAttribute('placeholder') || '');
}
"#;

/// Finds the first visible element whose accessible name is `name` and marks it for a CSS lookup.
const FIND_BY_NAME_JS: &str = r#"
const [wanted, mark] = arguments;
for (const el of document.querySelectorAll('body *')) {
  if (nameOf(el) === wanted && el.getClientRects().length > 0) {
    el.setAttribute('data-e2e-mark', mark);
    return true;
  }
}
return false;
"#;

/// The start of every interactive element that has no accessible name.
const UNNAMED_CONTROLS_JS: &str = r#"
return [...document.querySelectorAll('button, input, textarea, select, a[href], [role="separator"], iframe, [contenteditable="true"]')]
  .filter(el => !nameOf(el)).map(el => el.outerHTML.slice(0, 120));
"#;

#[derive(Clone)]
pub struct Page {
    pub client: Client,
}

impl Page {
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await.with_context(|| format!("open {url}"))
    }

    /// The element whose accessible name is `name`, waiting up to [`WAIT`] for it to appear.
    pub async fn by_name(&self, name: &str) -> anyhow::Result<fantoccini::elements::Element> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static MARKS: AtomicU64 = AtomicU64::new(0);
        let mark = MARKS.fetch_add(1, Ordering::SeqCst).to_string();
        let started = Instant::now();
        loop {
            let found = self
                .client
                .execute(
                    &format!("{NAME_OF_JS}{FIND_BY_NAME_JS}"),
                    vec![json!(name), json!(mark)],
                )
                .await?;
            if found == json!(true) {
                let css = format!("[data-e2e-mark=\"{mark}\"]");
                return Ok(self.client.find(Locator::Css(&css)).await?);
            }
            if started.elapsed() > WAIT {
                bail!("no visible element with accessible name {name:?} after {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, name: &str) -> anyhow::Result<()> {
        Ok(self.by_name(name).await?.click().await?)
    }

    /// Replace the value of the named field with `text`, as typing would. In the code editor (CodeMirror's
    /// contenteditable) that is what a learner does: select all (Ctrl+A), delete, type.
    pub async fn type_into(&self, name: &str, text: &str) -> anyhow::Result<()> {
        let field = self.by_name(name).await?;
        if field.attr("contenteditable").await?.as_deref() == Some("true") {
            field.send_keys(SELECT_ALL_AND_DELETE).await?;
        } else {
            field.clear().await?;
        }
        Ok(field.send_keys(text).await?)
    }

    /// The current value of the named field (an input, a textarea or the code editor's text).
    pub async fn value_of(&self, name: &str) -> anyhow::Result<String> {
        let field = self.by_name(name).await?;
        if field.attr("contenteditable").await?.is_some() {
            return self.code_of(&field).await;
        }
        Ok(field.prop("value").await?.unwrap_or_default())
    }

    /// The whole text of the code editor `field` belongs to (its DOM shows only the lines in view).
    pub async fn code_of(&self, field: &fantoccini::elements::Element) -> anyhow::Result<String> {
        let text = self
            .client
            .execute(
                "const h = window.SlipwayEditor.of(arguments[0]); return h ? h.getDoc() : null;",
                vec![serde_json::to_value(field)?],
            )
            .await?;
        text.as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no code editor around the field: {text}"))
    }

    /// Replace the code editor's whole text at once, as a paste would (tests that only need the content).
    pub async fn paste_into(&self, name: &str, text: &str) -> anyhow::Result<()> {
        let field = self.by_name(name).await?;
        self.client
            .execute(
                "window.SlipwayEditor.of(arguments[0]).setDoc(arguments[1], true); return null;",
                vec![serde_json::to_value(&field)?, json!(text)],
            )
            .await?;
        Ok(())
    }

    /// Poll until an element named `name` is gone (or hidden), e.g. a deleted file's row.
    pub async fn wait_gone(&self, name: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            let found = self
                .client
                .execute(
                    &format!("{NAME_OF_JS}{FIND_BY_NAME_JS}"),
                    vec![json!(name), json!("gone-probe")],
                )
                .await?;
            if found != json!(true) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{name:?} is still on the page after {WAIT:?}")
    }

    /// Interactive elements (buttons, fields, links, frames, separators) that have no accessible name.
    pub async fn unnamed_controls(&self) -> anyhow::Result<Vec<String>> {
        let found = self
            .client
            .execute(&format!("{NAME_OF_JS}{UNNAMED_CONTROLS_JS}"), vec![])
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    /// How many CSS pixels the page is wider than the window (0 or less: it never scrolls sideways).
    pub async fn sideways_overflow(&self) -> anyhow::Result<i64> {
        let overflow = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await?;
        overflow
            .as_i64()
            .ok_or_else(|| anyhow!("the page's width difference is {overflow}"))
    }

    /// Type a docker command into the page's terminal, wait until the terminal is idle again (the prompt
    /// ignores Enter while a command runs), and return what the command printed; `done` must be in it and
    /// `ERROR` must not.
    pub async fn terminal_command(&self, line: &str, done: &str) -> anyhow::Result<String> {
        let before = self.text_of("Terminal output").await?.len();
        self.type_into("Terminal input", &format!("{line}\u{E007}"))
            .await?;
        // The command line appears in the same render that marks the terminal busy.
        self.wait_for_text("Terminal output", line, |t| {
            t.get(before..).is_some_and(|new| new.contains(line))
        })
        .await?;
        let input = self.by_name("Terminal input").await?;
        let started = Instant::now();
        while input.attr("aria-busy").await?.as_deref() != Some("false") {
            if started.elapsed() > Duration::from_secs(600) {
                bail!("{line}: the terminal is still busy after 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let screen = self.text_of("Terminal output").await?;
        let new = screen.get(before..).unwrap_or_default().to_string();
        if !new.contains(done) || new.contains("ERROR") {
            bail!("{line}:\n{new}");
        }
        Ok(new)
    }

    /// Wait until the terminal takes commands again (`aria-busy="false"` on its input), up to [`WAIT`].
    pub async fn wait_terminal_idle(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        while self
            .by_name("Terminal input")
            .await?
            .attr("aria-busy")
            .await?
            .as_deref()
            != Some("false")
        {
            anyhow::ensure!(
                started.elapsed() < WAIT,
                "the terminal is still busy after {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Wait until the line being edited at the terminal's prompt is `line` (trailing spaces aside: the
    /// "Terminal output" transcript has the terminal's rows as text, trimmed as a terminal's copy is).
    pub async fn wait_for_terminal_line(&self, line: &str) -> anyhow::Result<()> {
        let want = format!("$ {line}");
        let want = want.trim_end();
        self.wait_for_text("Terminal output", &format!("the prompt's line {want:?}"), |t| {
            t.lines().last() == Some(want)
        })
        .await
        .map(|_| ())
    }

    /// The body text of the frame named `name` (the lesson's "App preview"), read from inside it.
    pub async fn frame_text(&self, name: &str) -> anyhow::Result<String> {
        self.by_name(name).await?.enter_frame().await?;
        let body = self
            .client
            .find(fantoccini::Locator::Css("body"))
            .await?
            .text()
            .await;
        self.client.enter_parent_frame().await?;
        Ok(body?)
    }

    pub async fn text_of(&self, name: &str) -> anyhow::Result<String> {
        Ok(self.by_name(name).await?.text().await?)
    }

    /// Poll the named element's text until `done` accepts it; the error quotes the last text seen.
    pub async fn wait_for_text(
        &self,
        name: &str,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < WAIT {
            if let Ok(text) = self.text_of(name).await {
                if done(&text) {
                    return Ok(text);
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(anyhow!(
            "{name:?} never showed {what} within {WAIT:?}; last text: {last:?}"
        ))
    }

    /// Time since navigation start, from the page's own clock (Performance API), in milliseconds.
    pub async fn ms_since_navigation(&self) -> anyhow::Result<f64> {
        let value = self.client.execute("return performance.now();", vec![]).await?;
        value
            .as_f64()
            .ok_or_else(|| anyhow!("performance.now() returned {value}"))
    }
}
