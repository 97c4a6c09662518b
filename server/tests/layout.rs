//! The page's layout at the window sizes learners have: the terminal is the main surface (its width in columns,
//! read from the terminal itself and from a container attached to it), the top bar stays one line, the borders
//! between panes move and the container is told, and the loading text is readable in both themes.

use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};

use anyhow::ensure;

use crate::support::browser::{Browser, Page, WAIT};
use crate::support::server::{dist_dir, Server, StaticServer};
use crate::support::TempDir;
use crate::terminal_keys::{keys, on_a_page_with_busybox, stty_size, ENTER};

/// Resize the browser window so that the page inside gets `width`×`height` CSS pixels (the window's frame,
/// which headless Chromium counts too, is added: the column counts below are for these page sizes).
async fn window(page: &Page, width: u32, height: u32) -> anyhow::Result<()> {
    let inner = || async {
        let size = page
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        anyhow::Ok(serde_json::from_value::<(u32, u32)>(size)?)
    };
    page.client.set_window_size(width, height).await?;
    // The page learns its new size a moment after the window changed: measure the frame again each time until
    // the page has the size asked for.
    let mut got = (0, 0);
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        got = inner().await?;
        if got == (width, height) {
            return Ok(());
        }
        let (_, _, outer_w, outer_h) = page.client.get_window_rect().await?;
        let fit =
            |outer: u64, want: u32, inside: u32| (outer as i64 + want as i64 - inside as i64).max(1) as u32;
        page.client
            .set_window_size(fit(outer_w, width, got.0), fit(outer_h, height, got.1))
            .await?;
    }
    anyhow::bail!("asked for a {width}×{height} page, got {got:?}")
}

/// xterm.js's own size in cells (`cols`, `rows`), which the page's terminal shows on its screen element.
async fn terminal_cells(page: &Page) -> anyhow::Result<(u32, u32)> {
    let size = page
        .client
        .execute(
            "const s = document.querySelector('.terminal-screen');
             return [Number(s.dataset.cols), Number(s.dataset.rows)];",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(size)?)
}

/// Poll the terminal's size until `done` accepts it (the terminal refits after the pane settles).
async fn wait_cells(
    page: &Page,
    what: &str,
    done: impl Fn((u32, u32)) -> bool,
) -> anyhow::Result<(u32, u32)> {
    let started = Instant::now();
    loop {
        let cells = terminal_cells(page).await?;
        if done(cells) {
            return Ok(cells);
        }
        ensure!(
            started.elapsed() < WAIT,
            "the terminal never had {what}: it has {cells:?} (cols, rows)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `stty size` in the attached shell (its answer number `seen`, counting from 0) is the terminal's `cells`.
/// The size travels page -> companion -> console after the terminal refits, so a shell asked at once may still
/// answer the size before: it is asked again (a few times, a moment apart, beside the terminal's size then)
/// before the test fails. Returns the number the next answer will have.
async fn container_sees(page: &Page, seen: usize, cells: (u32, u32), when: &str) -> anyhow::Result<usize> {
    let (mut cells, mut answer) = (cells, stty_size(page, seen).await?);
    let mut next = seen + 1;
    while answer != (cells.1, cells.0) && next < seen + 5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cells = terminal_cells(page).await?;
        answer = stty_size(page, next).await?;
        next += 1;
    }
    ensure!(
        answer == (cells.1, cells.0),
        "{when} the container saw {answer:?} (rows, cols), the terminal is {cells:?} (cols, rows)"
    );
    Ok(next)
}

/// How far apart (in pixels) the vertical centres of the top bar's visible leaves are: one line is a few
/// pixels at most, a wrapped bar a whole line height or more.
const TOP_BAR_SPREAD_JS: &str = "
const bar = document.querySelector('header.topbar');
const leaves = [...bar.querySelectorAll('*')].filter(e => e.children.length === 0 && e.getClientRects().length > 0);
const mids = leaves.map(e => { const r = e.getBoundingClientRect(); return (r.top + r.bottom) / 2; });
return Math.max(...mids) - Math.min(...mids);";

#[tokio::test(flavor = "multi_thread")]
async fn the_terminal_has_room_at_common_window_widths_and_the_top_bar_one_line() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "the_terminal_has_room_at_common_window_widths_and_the_top_bar_one_line",
            |page| async move {
                page.goto(&url).await?;
                page.wait_for_text("Companion status", "connected", |t| t.contains("connected"))
                    .await?;
                let mut widths = Vec::new();
                // A laptop, the common 1440 and full HD: BuildKit's progress and `docker images` need ~100.
                for (width, height, least) in [(1280, 800, 90), (1440, 900, 100), (1920, 1080, 120)] {
                    window(&page, width, height).await?;
                    let (cols, rows) =
                        wait_cells(&page, &format!("{least}+ columns at {width} px"), |(c, _)| {
                            c >= least
                        })
                        .await?;
                    ensure!(rows >= 16, "{rows} rows at {width}×{height}");
                    widths.push(cols);
                    let spread = page.client.execute(TOP_BAR_SPREAD_JS, vec![]).await?;
                    ensure!(
                        spread.as_f64().is_some_and(|s| s < 8.0),
                        "the top bar wraps at {width} px: its items' centres are {spread} px apart"
                    );
                    let overflow = page.sideways_overflow().await?;
                    ensure!(overflow <= 0, "the page scrolls sideways at {width} px");
                }
                ensure!(
                    widths.windows(2).all(|w| w[0] < w[1]),
                    "columns by width: {widths:?}"
                );
                Ok(())
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_attached_container_sees_the_terminal_size_as_the_window_and_the_borders_move() {
    on_a_page_with_busybox(
        "an_attached_container_sees_the_terminal_size_as_the_window_and_the_borders_move",
        "layout-tty",
        |page, url| async move {
            window(&page, 1440, 900).await?;
            page.goto(&url).await?;
            // A one-off container, gone when it ends: its TTY had the terminal's size from the start.
            keys(&page, &format!("docker run -it --rm busybox stty size{ENTER}")).await?;
            page.wait_terminal_idle().await?;
            let screen = page.text_of("Terminal output").await?;
            let first = screen
                .lines()
                .find_map(|l| {
                    let (rows, cols) = l.trim().split_once(' ')?;
                    Some((rows.parse::<u32>().ok()?, cols.parse::<u32>().ok()?))
                })
                .ok_or_else(|| anyhow::anyhow!("no `stty size` answer in {screen:?}"))?;
            let (cols, rows) = terminal_cells(&page).await?;
            ensure!(
                first == (rows, cols),
                "the container saw {first:?}, the terminal is {rows} rows × {cols} cols"
            );
            ensure!(cols >= 100, "{cols} columns at 1440 px");

            // Attached to a shell: a bigger window gives the terminal more columns, and the container is told.
            keys(&page, &format!("docker run -it --rm busybox sh{ENTER}")).await?;
            page.wait_for_text("Terminal output", "the shell's prompt", |t| t.contains("/ #"))
                .await?;
            window(&page, 1920, 1080).await?;
            let wide = wait_cells(&page, "more columns at 1920 px", |(c, r)| c >= 120 && r > rows).await?;
            // The one-off container's answer is the first on the screen: the shell's are the next ones.
            let seen = container_sees(&page, 1, wide, "after the window grew").await?;

            // The lesson column's border, moved by keyboard (→ four times), takes columns from the terminal.
            let border = page.by_name("Resize the lesson and files column").await?;
            border.send_keys(&"\u{E014}".repeat(4)).await?;
            let narrower = wait_cells(&page, "fewer columns", |(c, _)| c < wide.0).await?;
            ensure!(
                wide.0 - narrower.0 >= 6,
                "64 px more lesson column took only {wide:?} -> {narrower:?}"
            );
            let seen = container_sees(&page, seen, narrower, "after the column border moved").await?;

            // The border above the terminal, moved down (↓ five times), takes rows from it.
            let splitter = page.by_name("Resize the editor and the terminal").await?;
            splitter.send_keys(&"\u{E015}".repeat(5)).await?;
            let shorter = wait_cells(&page, "fewer rows", |(_, r)| r < narrower.1).await?;
            // The columns stay, give or take the viewport's scrollbar (two cells), which appears when the
            // shorter terminal's output overflows it.
            ensure!(shorter.0.abs_diff(narrower.0) <= 2, "{narrower:?} -> {shorter:?}");
            let seen = container_sees(&page, seen, shorter, "after the row border moved").await?;

            // The same border dragged with the mouse, 160 px up: the terminal gets taller.
            let drag = MouseActions::new("mouse".into())
                .then(PointerAction::MoveToElement {
                    element: splitter,
                    duration: None,
                    x: 0.0,
                    y: 0.0,
                })
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                })
                .then(PointerAction::MoveBy {
                    duration: Some(Duration::from_millis(300)),
                    x: 0.0,
                    y: -160.0,
                })
                .then(PointerAction::Up {
                    button: MOUSE_BUTTON_LEFT,
                });
            page.client.perform_actions(drag).await?;
            let taller = wait_cells(&page, "rows from the drag", |(_, r)| r >= shorter.1 + 6).await?;
            container_sees(&page, seen, taller, "after the row border was dragged").await?;
            keys(&page, &format!("exit{ENTER}")).await?;
            page.wait_terminal_idle().await?;
            Ok(())
        },
    )
    .await;
}

/// The WCAG contrast ratio of the loading text against the page behind it, and that background's luminance.
const LOADING_CONTRAST_JS: &str = "
const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                   return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const text = document.querySelector('.loading');
if (!text) return null;
let el = text, bg = 'rgba(0, 0, 0, 0)';
while (el && /rgba\\(.*, 0\\)$/.test(bg)) { bg = getComputedStyle(el).backgroundColor; el = el.parentElement; }
const [a, b] = [lum(rgb(getComputedStyle(text).color)), lum(rgb(bg))];
return [(Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), b];";

#[tokio::test(flavor = "multi_thread")]
async fn the_loading_text_is_readable_in_both_themes() {
    // The page as it is before the app runs: index.html and its styles, with the app's code held back.
    let dir = TempDir::new("loading");
    for entry in std::fs::read_dir(dist_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html" || e == "css") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let server = StaticServer::start(dir.path()).await.unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("the_loading_text_is_readable_in_both_themes", |page| async move {
            let contrast = |page: Page| async move {
                let found = page.client.execute(LOADING_CONTRAST_JS, vec![]).await?;
                let (ratio, background): (f64, f64) = serde_json::from_value(found.clone())
                    .map_err(|e| anyhow::anyhow!("no loading text ({e}): {found}"))?;
                anyhow::Ok((ratio, background))
            };
            page.goto(&url).await?;
            let (ratio, background) = contrast(page.clone()).await?;
            ensure!(
                ratio >= 7.0 && background < 0.1,
                "dark: contrast {ratio:.2}, background luminance {background:.2}"
            );
            // An embed's ?theme=light, and the theme the learner chose last time, show before the app runs.
            page.goto(&format!("{url}/?theme=light")).await?;
            let (ratio, background) = contrast(page.clone()).await?;
            ensure!(
                ratio >= 7.0 && background > 0.8,
                "light: contrast {ratio:.2}, background luminance {background:.2}"
            );
            page.client
                .execute("localStorage.setItem('slipway.theme', 'light');", vec![])
                .await?;
            page.goto(&url).await?;
            let (ratio, background) = contrast(page.clone()).await?;
            ensure!(
                ratio >= 7.0 && background > 0.8,
                "saved light: contrast {ratio:.2}, background {background:.2}"
            );
            Ok(())
        })
        .await
        .unwrap();
}
