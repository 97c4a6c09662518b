//! The learner's workspace in headless Chromium against the real companion: the file tree (create, rename,
//! delete) survives a reload, a share link opens the same files in a fresh browser profile, a lesson loads by
//! URL and its first check passes once the learner does the step, and the embed demo's two widgets are
//! independent.

use std::sync::{Arc, Mutex};

use crate::support::browser::{Browser, Page};
use crate::support::server::Server;

const ENTER: &str = "\u{E007}";

/// Make a file in the tree through the UI and type `text` into it.
async fn new_file(page: &Page, path: &str, text: &str) -> anyhow::Result<()> {
    page.click("New file").await?;
    page.type_into("New file name", &format!("{path}{ENTER}")).await?;
    page.by_name(&format!("Open {path}")).await?;
    page.type_into(&format!("Editor for {path}"), text).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn file_tree_changes_survive_a_reload() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("file_tree_changes_survive_a_reload", |page| async move {
            page.goto(&url).await?;
            // The built-in lesson's project is there from the start.
            page.by_name("Open app.py").await?;
            page.by_name("Open requirements.txt").await?;
            new_file(&page, "notes.txt", "remember the -p flag").await?;
            page.click("Rename notes.txt").await?;
            page.type_into("New name for notes.txt", &format!("docs/notes.md{ENTER}"))
                .await?;
            page.by_name("Open docs/notes.md").await?;
            page.by_name("Folder docs").await?;
            page.wait_gone("Open notes.txt").await?;
            page.click("Delete requirements.txt").await?;
            page.wait_gone("Open requirements.txt").await?;
            let message = page.text_of("Files message").await?;
            anyhow::ensure!(message == "Deleted requirements.txt.", "{message}");
            page.type_into("Terminal input", &format!("docker version{ENTER}"))
                .await?;
            page.wait_for_text("Terminal output", "docker version's answer", |t| {
                t.contains("Slipway")
            })
            .await?;

            page.client.refresh().await?;
            page.click("Open docs/notes.md").await?;
            let text = page.value_of("Editor for docs/notes.md").await?;
            anyhow::ensure!(text == "remember the -p flag", "after reload: {text:?}");
            page.wait_gone("Open requirements.txt").await?;
            page.by_name("Tab docs/notes.md").await?;
            // History came back: ↑ brings the last command.
            page.type_into("Terminal input", "\u{E013}").await?;
            page.wait_for_terminal_line("docker version").await?;

            // Reset returns to the lesson's start.
            page.click("Reset").await?;
            page.click("Yes, reset").await?;
            page.by_name("Open requirements.txt").await?;
            page.wait_gone("Open docs/notes.md").await?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_share_link_opens_the_same_files_in_a_fresh_profile() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let link = Arc::new(Mutex::new(String::new()));
    // 48 KiB that do not compress (xorshift), to be uploaded after the link is made.
    let dir = crate::support::TempDir::new("share-big");
    let big = dir.path().join("noise.bin");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..48 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&big, noise).unwrap();
    let first = Browser::start().await.unwrap();
    let got = link.clone();
    first
        .run("share_link_made", |page| async move {
            page.goto(&url).await?;
            new_file(&page, "src/hello.txt", "shared with a friend").await?;
            page.click("Copy share link").await?;
            let value = page.value_of("Share link").await?;
            anyhow::ensure!(value.contains("#share="), "{value}");
            *got.lock().unwrap() = value;
            // A project too big for a link gets an error that states the limit.
            page.by_name("Upload files")
                .await?
                .send_keys(&big.display().to_string())
                .await?;
            page.by_name("Open noise.bin").await?;
            page.click("Copy share link").await?;
            let message = page
                .wait_for_text("Files message", "the size limit", |t| t.contains("too large"))
                .await?;
            anyhow::ensure!(
                message.contains("over the limit of 32768 bytes (32 KiB)"),
                "{message}"
            );
            Ok(())
        })
        .await
        .unwrap();
    let link = link.lock().unwrap().clone();
    let second = Browser::start().await.unwrap();
    second
        .run("share_link_opened", |page| async move {
            page.goto(&link).await?;
            page.click("Open src/hello.txt").await?;
            let text = page.value_of("Editor for src/hello.txt").await?;
            anyhow::ensure!(text == "shared with a friend", "{text:?}");
            page.by_name("Open app.py").await?;
            let message = page.text_of("Files message").await?;
            anyhow::ensure!(message == "Opened the project from the link.", "{message}");
            // The fragment is dropped once read, so a reload shows the (now saved) workspace, not the link again.
            let now = page.client.current_url().await?;
            anyhow::ensure!(now.fragment().is_none(), "{now}");
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lesson_loads_by_url_and_its_first_check_passes() {
    let server = Server::start().unwrap();
    // An absolute URL, so the page fetches the manifest and its files (the built-in path needs no fetch).
    let url = format!(
        "{0}/?lesson={0}/static/lessons/python-web-app/lesson.json",
        server.url
    );
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_lesson_loads_by_url_and_its_first_check_passes",
            |page| async move {
                page.goto(&url).await?;
                page.by_name("Your first container: a Python web app").await?;
                page.by_name("Open app.py").await?;
                page.click("Check step 1").await?;
                page.wait_for_text("Step 1 result", "a failing verdict", |t| t.starts_with("Not yet"))
                    .await?;
                page.click("Type it: docker version").await?;
                page.wait_for_terminal_line("docker version").await?;
                page.type_into("Terminal input", ENTER).await?;
                let verdict = page
                    .wait_for_text("Step 1 result", "the step done", |t| t.starts_with("Done"))
                    .await?;
                anyhow::ensure!(verdict == "Done: you ran `docker version`.", "{verdict}");
                // The next step is now the current one, personalized with the learner's name.
                page.type_into("Your user name", "ana").await?;
                page.by_name("Type it: docker login").await?;
                page.click("3. Build your first image").await?;
                page.by_name("Type it: docker build -t ana/python-sample-app:v1 .")
                    .await?;
                Ok(())
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embed_demo_holds_two_independent_widgets() {
    let server = Server::start().unwrap();
    let url = format!("{}/static/embed-demo.html", server.url);
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "the_embed_demo_holds_two_independent_widgets",
            |page| async move {
                page.goto(&url).await?;
                page.by_name("First playground").await?;
                page.by_name("Second playground").await?;
                page.client.enter_frame(0).await?;
                // The first widget loads its lesson's files by URL; the tab appears once they are in.
                page.by_name("Tab Dockerfile").await?;
                page.by_name("Terminal input").await?;
                page.type_into("Dockerfile editor", "FROM busybox\nCMD [\"echo\", \"first\"]\n")
                    .await?;
                page.client.enter_parent_frame().await?;
                page.client.enter_frame(1).await?;
                page.by_name("Open app.py").await?;
                let second = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(
                    second.contains("FROM python:3.11-slim"),
                    "second widget changed: {second}"
                );
                page.client.enter_parent_frame().await?;
                page.client.enter_frame(0).await?;
                let first = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(first.contains("\"first\""), "{first}");
                Ok(())
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_a_zip_and_use_the_page_by_keyboard_at_768_px() {
    use crate::support::project::{Project, ProjectFile};
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let dir = crate::support::TempDir::new("upload");
    let zip = dir.path().join("site.zip");
    let project = Project::from_files([
        ("site/web/index.html", ProjectFile::new("<h1>hi</h1>")),
        ("site/Dockerfile.web", ProjectFile::new("FROM busybox\n")),
    ])
    .unwrap();
    std::fs::write(&zip, project.to_zip()).unwrap();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "upload_a_zip_and_use_the_page_by_keyboard_at_768_px",
            |page| async move {
                page.client.set_window_size(768, 900).await?;
                page.goto(&url).await?;
                page.by_name("Upload files")
                    .await?
                    .send_keys(&zip.display().to_string())
                    .await?;
                // The zip's single top folder is unwrapped: its content is the build context.
                page.by_name("Open web/index.html").await?;
                page.by_name("Open Dockerfile.web").await?;
                let message = page.text_of("Files message").await?;
                anyhow::ensure!(message == "Unpacked 2 file(s) from site.zip.", "{message}");

                let unnamed = page.unnamed_controls().await?;
                anyhow::ensure!(unnamed.is_empty(), "controls without a name: {unnamed:#?}");
                let overflow = page.sideways_overflow().await?;
                anyhow::ensure!(overflow <= 0, "the page scrolls sideways at 768 px by {overflow}");

                // A pane border moves with the arrow keys; text size and theme change from their controls.
                let border_at = || async {
                    let border = page.by_name("Resize the editor and the terminal").await?;
                    anyhow::Ok(border.attr("aria-valuenow").await?.unwrap_or_default())
                };
                let before = border_at().await?;
                page.by_name("Resize the editor and the terminal")
                    .await?
                    .send_keys("\u{E013}") // ↑: the border moves up, the terminal grows
                    .await?;
                let after = border_at().await?;
                anyhow::ensure!(
                    after.parse::<i32>()? == before.parse::<i32>()? - 16,
                    "{before} -> {after}"
                );
                page.click("A+ larger text").await?;
                page.wait_for_text("Text size", "16 px", |t| t == "16 px").await?;
                page.click("Switch to the light theme").await?;
                let app = page.client.find(fantoccini::Locator::Id("slipway-app")).await?;
                anyhow::ensure!(app.attr("data-theme").await?.as_deref() == Some("light"));
                page.by_name("Switch to the dark theme").await?;
                // Theme, text size and the pane sizes are part of the saved workspace.
                page.client.refresh().await?;
                page.wait_for_text("Text size", "16 px after reload", |t| t == "16 px")
                    .await?;
                page.by_name("Switch to the dark theme").await?;
                let kept = border_at().await?;
                anyhow::ensure!(
                    kept == after,
                    "the border was at {after}, after a reload at {kept}"
                );
                Ok(())
            },
        )
        .await
        .unwrap();
}

/// Zip in and out of the page goes through the archive worker (a wasm module of its own, loaded on first use,
/// not with the page):
/// a dropped zip's files arrive, a broken one is refused with its name, and "Download zip" gives a zip that
/// `unzip` reads back with the same files and modes (the modes of other files: `project_archive`'s unit tests).
#[tokio::test(flavor = "multi_thread")]
async fn zips_go_in_and_out_through_the_archive_worker() {
    use crate::support::project::{Project, ProjectFile};
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let dir = crate::support::TempDir::new("zips");
    let (zip, broken) = (dir.path().join("site.zip"), dir.path().join("broken.zip"));
    let project = Project::from_files([
        ("site/web/index.html", ProjectFile::new("<h1>hi</h1>")),
        ("site/run.sh", ProjectFile::new("echo hi\n")),
    ])
    .unwrap();
    std::fs::write(&zip, project.to_zip()).unwrap();
    std::fs::write(&broken, b"PK\x03\x04 not really a zip").unwrap();
    let downloads = crate::support::TempDir::new("zip-downloads");
    let browser = Browser::start_with_downloads(downloads.path()).await.unwrap();
    let saved = downloads.path().to_path_buf();
    browser
        .run(
            "zips_go_in_and_out_through_the_archive_worker",
            |page| async move {
                page.goto(&url).await?;
                page.by_name("Upload files").await?;
                let loaded = "return performance.getEntriesByType('resource')\
                              .some(e => e.name.includes('archive-worker'));";
                let worker = page.client.execute(loaded, vec![]).await?;
                anyhow::ensure!(
                    worker.as_bool() == Some(false),
                    "the archive worker came with the page"
                );
                for path in [&broken, &zip] {
                    let input = page.by_name("Upload files").await?;
                    input.send_keys(&path.display().to_string()).await?;
                    if path == &broken {
                        page.wait_for_text("Files message", "the broken zip refused", |t| {
                            t.starts_with("cannot read broken.zip:")
                        })
                        .await?;
                    }
                }
                page.by_name("Open run.sh").await?;
                let message = page.text_of("Files message").await?;
                anyhow::ensure!(message == "Unpacked 2 file(s) from site.zip.", "{message}");

                let worker = page.client.execute(loaded, vec![]).await?;
                anyhow::ensure!(worker.as_bool() == Some(true), "no archive worker was loaded");
                page.click("Download zip").await?;
                let got = crate::store::downloaded(&saved, "project.zip").await?;
                let listing = std::process::Command::new("zipinfo").arg(&got).output()?;
                let listing = String::from_utf8(listing.stdout)?;
                let line = |name: &str| {
                    listing
                        .lines()
                        .find(|l| l.ends_with(name))
                        .unwrap_or_default()
                        .to_string()
                };
                anyhow::ensure!(line(" run.sh").starts_with("-rw-r--r--"), "{listing}");
                anyhow::ensure!(line(" web/index.html").starts_with("-rw-r--r--"), "{listing}");
                let page_html = std::process::Command::new("unzip")
                    .args(["-p", &got.display().to_string(), "web/index.html"])
                    .output()?;
                anyhow::ensure!(page_html.stdout == b"<h1>hi</h1>", "{listing}");
                Ok(())
            },
        )
        .await
        .unwrap();
}

/// A copy of the built app with one more lesson folder in `static/lessons/NAME/`, as a teacher would add one.
fn dist_with_lesson(name: &str, manifest: &str) -> crate::support::TempDir {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dist = crate::support::TempDir::new("dist-lesson");
    copy(&crate::support::server::dist_dir(), dist.path());
    let folder = dist.path().join("static/lessons").join(name);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("lesson.json"), manifest).unwrap();
    dist
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_answers_check_passes_and_shows_the_preview() {
    let manifest = r#"{
      "title": "Serve a page", "files": [],
      "steps": [{"title": "Serve", "text": "Run a web server with a published port.",
                 "check": {"kind": "container_answers", "port": 8000, "contains": "hello from busybox"}}]
    }"#;
    let dist = dist_with_lesson("serve", manifest);
    let data = crate::support::TempDir::new("preview-data");
    crate::support::server::with_busybox(&data).unwrap();
    let server = Server::start_in(data, dist.path(), &[]).unwrap();
    let url = format!("{0}/?lesson={0}/static/lessons/serve/lesson.json", server.url);
    let host_port = crate::support::free_port();
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "a_container_answers_check_passes_and_shows_the_preview",
            |page| async move {
                page.goto(&url).await?;
                page.click("Check step 1").await?;
                page.wait_for_text("Step 1 result", "nothing running yet", |t| {
                    t.contains("no container is running")
                })
                .await?;
                let run = format!(
                    "docker run -d --name web -p {host_port}:8000 busybox sh -c \
                 'mkdir /w && echo hello from busybox > /w/index.html && exec httpd -f -p 8000 -h /w'{ENTER}"
                );
                page.type_into("Terminal input", &run).await?;
                // The id, then the next prompt.
                page.wait_for_text("Terminal output", "the container id", |t| {
                    t.lines().rev().nth(1).is_some_and(|l| l.len() == 64)
                })
                .await?;
                // httpd may need a moment to listen: check again until the app answers.
                let mut verdict = String::new();
                for _ in 0..20 {
                    page.click("Check step 1").await?;
                    verdict = page
                        .wait_for_text("Step 1 result", "a verdict", |t| !t.is_empty())
                        .await?;
                    if verdict.starts_with("Done") {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
                anyhow::ensure!(
                    verdict.starts_with("Done: your app answered on port 8000"),
                    "{verdict}"
                );
                let body = page.frame_text("App preview").await?;
                anyhow::ensure!(body.contains("hello from busybox"), "preview shows {body:?}");
                // Clean up: one command at a time (the prompt ignores Enter while a command runs).
                let said_web = |t: &str| t.lines().filter(|l| *l == "web").count();
                page.type_into("Terminal input", &format!("docker kill web{ENTER}"))
                    .await?;
                page.wait_for_text("Terminal output", "the container killed", |t| said_web(t) == 1)
                    .await?;
                page.type_into("Terminal input", &format!("docker rm web{ENTER}"))
                    .await?;
                page.wait_for_text("Terminal output", "the container removed", |t| said_web(t) == 2)
                    .await?;
                Ok(())
            },
        )
        .await
        .unwrap();
}

/// Both widgets of the embed demo build their own project in their own terminal: the first the lesson's app as
/// it is, the second after an edit, so the two images differ.
#[tokio::test(flavor = "multi_thread")]
async fn the_embed_demo_widgets_build_independently() {
    let data = crate::support::TempDir::new("embed-build-data");
    crate::support::server::with_python(&data).unwrap();
    let server = Server::start_in(data, &crate::support::server::dist_dir(), &[]).unwrap();
    let url = format!("{}/static/embed-demo.html", server.url);
    let browser = Browser::start().await.unwrap();
    browser
        .run("the_embed_demo_widgets_build_independently", |page| async move {
            page.goto(&url).await?;
            page.by_name("Second playground").await?;
            // The second widget: change its app, then build it.
            page.client.enter_frame(1).await?;
            page.click("Open app.py").await?;
            page.type_into("Editor for app.py", "\n# the second widget's change\n")
                .await?;
            page.type_into(
                "Terminal input",
                &format!("docker build -q -t learner1/second:v1 .{ENTER}"),
            )
            .await?;
            let second = page
                .wait_for_text("Terminal output", "the second build", |t| {
                    t.contains("sha256:") || t.contains("ERROR")
                })
                .await?;
            page.client.enter_parent_frame().await?;
            // The first widget builds the lesson's project untouched.
            page.client.enter_frame(0).await?;
            page.by_name("Tab Dockerfile").await?;
            page.type_into(
                "Terminal input",
                &format!("docker build -q -t learner1/first:v1 .{ENTER}"),
            )
            .await?;
            let first = page
                .wait_for_text("Terminal output", "the first build", |t| {
                    t.contains("sha256:") || t.contains("ERROR")
                })
                .await?;
            page.client.enter_parent_frame().await?;
            let id = |screen: &str| {
                screen
                    .split_whitespace()
                    .find(|w| w.starts_with("sha256:"))
                    .map(str::to_string)
            };
            let (first_id, second_id) = (id(&first), id(&second));
            anyhow::ensure!(first_id.is_some(), "first widget: {first}");
            anyhow::ensure!(second_id.is_some(), "second widget: {second}");
            anyhow::ensure!(first_id != second_id, "the widgets built the same image");
            Ok(())
        })
        .await
        .unwrap();
}

/// The Dockerfile's text in the workspace IndexedDB holds now (the page's `slipway` database, `workspace` store:
/// UTF-8 JSON bytes, file contents in base64), or null.
const SAVED_IN_INDEXEDDB_JS: &str = "const done = arguments[arguments.length - 1];
     const open = indexedDB.open('slipway');
     open.onerror = () => done(null);
     open.onsuccess = () => {
       const db = open.result;
       if (!db.objectStoreNames.contains('workspace')) { db.close(); return done(null); }
       const get = db.transaction('workspace').objectStore('workspace').get('current');
       get.onsuccess = () => {
         db.close();
         if (get.result == null) return done(null);
         const saved = JSON.parse(new TextDecoder().decode(get.result));
         const file = saved.project.files['Dockerfile'];
         done(file ? new TextDecoder().decode(Uint8Array.from(atob(file.data), c => c.charCodeAt(0))) : null);
       };
       get.onerror = () => { db.close(); done(null); };
     };";

/// Edits are saved after a pause in typing (not on every keystroke): typed text reaches IndexedDB once the
/// typing stops, with no reload to push it, and a reload then finds it; text typed just before a reload (within
/// the pause) is saved as the page goes and is there too.
#[tokio::test(flavor = "multi_thread")]
async fn typed_text_is_saved_after_a_pause_and_survives_a_reload() {
    let server = Server::start().unwrap();
    let url = server.url.clone();
    let browser = Browser::start().await.unwrap();
    browser
        .run("typed_text_is_saved_after_a_pause", |page| async move {
            page.goto(&url).await?;
            page.by_name("Dockerfile editor").await?;
            page.type_into("Dockerfile editor", "FROM alpine:3.19\nRUN echo paused\n")
                .await?;
            // The save lands by itself once typing pauses: poll IndexedDB, no reload or navigation.
            let mut saved = String::new();
            for _ in 0..100 {
                saved = page
                    .client
                    .execute_async(SAVED_IN_INDEXEDDB_JS, vec![])
                    .await?
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if saved == "FROM alpine:3.19\nRUN echo paused\n" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            anyhow::ensure!(
                saved == "FROM alpine:3.19\nRUN echo paused\n",
                "the typed text never reached IndexedDB: {saved:?}"
            );
            page.client.refresh().await?;
            page.by_name("Dockerfile editor").await?;
            let text = page.value_of("Dockerfile editor").await?;
            anyhow::ensure!(
                text == "FROM alpine:3.19\nRUN echo paused\n",
                "after reload: {text:?}"
            );

            // Typed and reloaded at once, within the pause: saved as the page goes.
            page.type_into("Dockerfile editor", "FROM alpine:3.19\nRUN echo hurried\n")
                .await?;
            page.client.refresh().await?;
            page.by_name("Dockerfile editor").await?;
            let text = page.value_of("Dockerfile editor").await?;
            anyhow::ensure!(
                text == "FROM alpine:3.19\nRUN echo hurried\n",
                "after an immediate reload: {text:?}"
            );
            Ok(())
        })
        .await
        .unwrap();
}
