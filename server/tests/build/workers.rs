//! The page's layer pass in Web Workers: a multi-layer build in the page gives the native builder's digests
//! while the `layer-worker` pool does the gzip and sha256, and the page keeps running timers and taking input
//! while 64 MB of layers are packed.

use std::path::PathBuf;

use crate::support::project::{Project, ProjectFile};
use slipway::builder::{
    BuildOptions, Builder, InlinePacker, MemoryCache, MemorySink, NoCompanion, NoRegistry,
};
use slipway::layer::{FileTree, Meta};

use crate::support::browser::{Browser, Page};
use crate::support::server::{dist_dir, Server};
use crate::support::TempDir;

const ENTER: &str = "\u{E007}";

/// xorshift bytes: half text-like, half random, so gzip has work of both kinds.
fn generated(seed: u64, size: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (out.len() / 4096) % 2 == 0 {
            out.extend_from_slice(b"let value = layer(image, config);\n");
        } else {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.truncate(size);
    out
}

/// `FROM scratch` and one COPY layer per file: several layers to pack at once.
fn dockerfile(names: &[String]) -> String {
    let mut df = String::from("FROM scratch\n");
    for (i, name) in names.iter().enumerate() {
        df.push_str(&format!("COPY {name} /layer{i}/\n"));
    }
    df.push_str("CMD [\"/bin/true\"]\n");
    df
}

/// The manifest digest the native builder (inline packer) gives for these files and Dockerfile.
async fn native_manifest(files: &[(String, Vec<u8>)], dockerfile: &str) -> String {
    let mut tree = FileTree::new();
    tree.insert_file("Dockerfile", dockerfile.as_bytes().to_vec(), Meta::file())
        .unwrap();
    for (name, data) in files {
        tree.insert_file(name, data.clone(), Meta::file()).unwrap();
    }
    let (clock, progress) = (|| 0, |_: &slipway::builder::Event| {});
    let builder = Builder {
        resolver: &NoRegistry,
        executor: &NoCompanion,
        cache: &MemoryCache::new(),
        packer: &InlinePacker,
        clock: &clock,
        progress: &progress,
    };
    let options = BuildOptions {
        dockerfile: dockerfile.to_owned(),
        ..BuildOptions::default()
    };
    let image = builder
        .build(&tree, &options, &MemorySink::default())
        .await
        .unwrap();
    image.manifest.descriptor.digest().to_string()
}

/// Builds `learner1/multi:v1` in the page and returns `docker images --digests`' digest of it.
async fn build_in_page(page: &Page) -> anyhow::Result<String> {
    page.terminal_command(
        "docker build --build-arg SOURCE_DATE_EPOCH=0 -t learner1/multi:v1 .",
        "naming to",
    )
    .await?;
    let screen = page
        .terminal_command("docker images --digests learner1/multi", "REPOSITORY")
        .await?;
    let row = screen
        .lines()
        .find(|l| l.starts_with("learner1/multi"))
        .unwrap_or_default();
    row.split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no digest in {screen}"))
}

/// Whether the page fetched the worker's script (its wasm shows only in the worker's own timeline), and the bar's final numbers.
async fn worker_evidence(page: &Page) -> anyhow::Result<(bool, String, String)> {
    let loaded = page
        .client
        .execute(
            "return performance.getEntriesByType('resource').some(e => e.name.includes('layer-worker'));",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    let bar = page.by_name("Hashing and compressing layers").await?;
    let now = bar.attr("aria-valuenow").await?.unwrap_or_default();
    let max = bar.attr("aria-valuemax").await?.unwrap_or_default();
    Ok((loaded, now, max))
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_layer_build_in_the_page_packs_in_workers_with_native_digests() {
    // Small text files: they travel in the share link (32 KiB encoded at most).
    let text = |b: Vec<u8>| b.iter().map(|c| b'a' + c % 26).collect::<Vec<u8>>();
    let files: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| {
            (
                format!("part{i}.txt"),
                text(generated(i + 1, 4_000 + 1_001 * i as usize)),
            )
        })
        .collect();
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let df = dockerfile(&names);
    let native = native_manifest(&files, &df).await;

    let data = TempDir::new("page-workers-data");
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let mut project_files = vec![("Dockerfile".to_owned(), ProjectFile::new(df.as_str()))];
    for (name, data) in &files {
        project_files.push((name.clone(), ProjectFile::new(std::str::from_utf8(data).unwrap())));
    }
    let project = Project::from_files(project_files).unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let browser = Browser::start().await.unwrap();
    browser
        .run("multi_layer_build_in_the_page_packs_in_workers_with_native_digests", |page| async move {
            page.goto(&url).await?;
            page.by_name("Open part0.txt").await?;
            let first = page
                .client
                .execute(
                    "return performance.getEntriesByType('resource').some(e => e.name.includes('layer-worker'));",
                    vec![],
                )
                .await?;
            anyhow::ensure!(first == false, "the worker must not be part of the first page load");
            let digest = build_in_page(&page).await?;
            anyhow::ensure!(digest == native, "page {digest} != native {native}");
            let (loaded, now, max) = worker_evidence(&page).await?;
            anyhow::ensure!(loaded, "the page never loaded the layer worker");
            anyhow::ensure!(now == max && max != "0", "progress {now}/{max}");
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn page_stays_responsive_while_64_mb_of_layers_pack() {
    let dir = TempDir::new("page-workers-upload");
    let files: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| (format!("big{i}.bin"), generated(100 + i, 16 << 20)))
        .collect();
    let mut paths: Vec<PathBuf> = Vec::new();
    for (name, data) in &files {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        paths.push(path);
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let df = dockerfile(&names);
    let native = native_manifest(&files, &df).await;

    let data = TempDir::new("page-workers-data");
    let server = Server::start_in(data, &dist_dir(), &[]).unwrap();
    let project = Project::from_files([("Dockerfile", ProjectFile::new(df.as_str()))]).unwrap();
    let url = project.share_link(&format!("{}/", server.url));
    let upload = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let browser = Browser::start().await.unwrap();
    browser
        .run(
            "page_stays_responsive_while_64_mb_of_layers_pack",
            |page| async move {
                page.goto(&url).await?;
                page.by_name("Upload files").await?.send_keys(&upload).await?;
                page.by_name("Open big3.bin").await?;
                // Timers and frames that only count while the layer bar says packing is under way.
                page.client
                    .execute(
                        "window.__ticks = 0; window.__frames = 0;
                     const packing = () => !!document.querySelector('.layer-progress[data-active=\"true\"]');
                     setInterval(() => { if (packing()) window.__ticks++; }, 20);
                     const frame = () => { if (packing()) window.__frames++; requestAnimationFrame(frame); };
                     requestAnimationFrame(frame);",
                        vec![],
                    )
                    .await?;
                page.type_into(
                    "Terminal input",
                    &format!("docker build --build-arg SOURCE_DATE_EPOCH=0 -t learner1/multi:v1 .{ENTER}"),
                )
                .await?;
                // While it builds, the terminal takes keystrokes.
                page.wait_for_text("Terminal output", "the first COPY", |t| {
                    t.contains("COPY big0.bin")
                })
                .await?;
                // The terminal holds keys back while a command runs (as a shell does): type into the editor.
                page.click("Open Dockerfile").await?;
                page.by_name("Dockerfile editor")
                    .await?
                    .send_keys("# typed-while-building\n")
                    .await?;
                let typed = page.value_of("Dockerfile editor").await?;
                anyhow::ensure!(
                    typed.contains("typed-while-building"),
                    "the editor held {typed:?}"
                );
                page.wait_for_text("Terminal output", "the build to finish", |t| {
                    t.contains("naming to") || t.contains("ERROR")
                })
                .await?;
                let counts = page
                    .client
                    .execute("return [window.__ticks, window.__frames];", vec![])
                    .await?;
                let ticks = counts[0].as_u64().unwrap_or(0);
                let frames = counts[1].as_u64().unwrap_or(0);
                anyhow::ensure!(
                    ticks >= 2 && frames >= 2,
                    "while packing: {ticks} timer ticks, {frames} frames"
                );
                let screen = page
                    .terminal_command("docker images --digests learner1/multi", "REPOSITORY")
                    .await?;
                anyhow::ensure!(screen.contains(&native), "native {native} not in {screen}");
                let (loaded, _, _) = worker_evidence(&page).await?;
                anyhow::ensure!(loaded, "the page never loaded the layer worker");
                Ok(())
            },
        )
        .await
        .unwrap();
}
