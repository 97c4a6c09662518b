//! What the app's files weigh on the wire: the build's precompressed brotli and gzip beside each file
//! (scripts/precompress.mjs), served as they are by `slipway serve` over real HTTP.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, VARY};

use crate::support::server::{dist_dir, Server};

/// The page's own files: its wasm, the wasm's JavaScript, the stylesheet (Trunk hashes their names).
fn app_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dist_dir())
        .expect("read dist/")
        .map(|entry| {
            entry
                .expect("dist/ entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| {
            name.starts_with("slipway-web-") && (name.ends_with("_bg.wasm") || name.ends_with(".js"))
                || name.starts_with("styles-") && name.ends_with(".css")
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "dist/ lacks the app's wasm, js or css: {names:?}");
    names
}

/// Node's zlib (the build's own tool) decodes brotli: the test's decoder is not the server's encoder.
fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut node = Command::new("node")
        .args([
            "-e",
            "process.stdout.write(require('zlib').brotliDecompressSync(require('fs').readFileSync(0)))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node (scripts/env.sh puts it on PATH; the build needs it)");
    let mut stdin = node.stdin.take().expect("piped stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut out = Vec::new();
    node.stdout
        .take()
        .expect("piped stdout")
        .read_to_end(&mut out)
        .expect("read node");
    writer.join().expect("writer thread").expect("write to node");
    assert!(
        node.wait().expect("wait for node").success(),
        "node could not decode the brotli answer"
    );
    out
}

fn ungzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip answer");
    out
}

struct Answer {
    encoding: Option<String>,
    vary: String,
    last_modified: Option<String>,
    body: Vec<u8>,
}

async fn fetch(client: &reqwest::Client, url: &str, accept: &str) -> Answer {
    let response = client
        .get(url)
        .header(ACCEPT_ENCODING, accept)
        .send()
        .await
        .expect("GET an app file");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap_or_default().to_string())
    };
    let (encoding, vary) = (header(CONTENT_ENCODING), header(VARY).unwrap_or_default());
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    let body = response.bytes().await.expect("read the body").to_vec();
    Answer {
        encoding,
        vary,
        last_modified,
        body,
    }
}

/// A browser that accepts brotli gets the build's `.br` file (as it is: no compressing per request), one that
/// accepts only gzip the `.gz`, one that accepts neither the file itself; all three decode to the same bytes,
/// every answer varies with Accept-Encoding, and the caching headers are the same whatever the encoding.
#[tokio::test]
async fn brotli_gzip_and_identity_decode_to_the_same_bytes() {
    let server = Server::start().expect("start slipway serve");
    let client = reqwest::Client::new();
    let mut files = app_files();
    files.extend(["index.html", "engine.js", "engine_bg.wasm"].map(String::from));
    for name in files {
        let url = format!("{}/{name}", server.url);
        let path = dist_dir().join(&name);
        let original = std::fs::read(&path).expect("read the file");
        let br = fetch(&client, &url, "gzip, deflate, br").await;
        let gz = fetch(&client, &url, "gzip, deflate").await;
        let identity = fetch(&client, &url, "identity").await;
        assert_eq!(br.encoding.as_deref(), Some("br"), "{name}");
        assert_eq!(gz.encoding.as_deref(), Some("gzip"), "{name}");
        assert_eq!(identity.encoding, None, "{name}");
        let brotli_file = std::fs::read(format!("{}.br", path.display())).expect("the build wrote NAME.br");
        assert_eq!(br.body, brotli_file, "{name}: not the build's .br");
        let gzip_file = std::fs::read(format!("{}.gz", path.display())).expect("the build wrote NAME.gz");
        assert_eq!(gz.body, gzip_file, "{name}: not the build's .gz");
        assert!(
            br.body.len() < gz.body.len(),
            "{name}: brotli is no smaller than gzip"
        );
        assert_eq!(
            unbrotli(&br.body),
            original,
            "{name}: brotli decodes to other bytes"
        );
        assert_eq!(ungzip(&gz.body), original, "{name}: gzip decodes to other bytes");
        assert_eq!(identity.body, original, "{name}: identity differs from the file");
        for answer in [&br, &gz, &identity] {
            assert!(
                answer.vary.to_ascii_lowercase().contains("accept-encoding"),
                "{name}: Vary {:?}",
                answer.vary
            );
            assert_eq!(
                answer.last_modified, identity.last_modified,
                "{name}: caching headers differ"
            );
        }
    }
}

/// A path the app routes in the page (`/lesson/...`) answers index.html: precompressed too.
#[tokio::test]
async fn the_index_fallback_is_precompressed_too() {
    let server = Server::start().expect("start slipway serve");
    let client = reqwest::Client::new();
    let answer = fetch(&client, &format!("{}/lesson/intro", server.url), "br").await;
    assert_eq!(answer.encoding.as_deref(), Some("br"));
    let index = std::fs::read(dist_dir().join("index.html")).expect("read index.html");
    assert_eq!(unbrotli(&answer.body), index);
}

/// The page's own wasm as a browser that accepts brotli receives it, before the prompt: the commands, the
/// builder and the editors' checks are in the engine, loaded after it (docs/performance.md, "The engine split").
/// 826 KiB before the split, ~400 KiB after; the bound leaves room for the UI to grow a little.
const PAGE_WASM_BROTLI_BOUND: u64 = 460 * 1024;

#[test]
fn the_pages_wasm_is_under_its_bound_and_the_engine_is_apart() {
    let wasm = app_files()
        .into_iter()
        .find(|name| name.ends_with("_bg.wasm"))
        .expect("the app's wasm");
    let size = |name: &str| {
        std::fs::metadata(dist_dir().join(format!("{name}.br")))
            .unwrap_or_else(|e| panic!("{name}.br: {e}"))
            .len()
    };
    let (page, engine) = (size(&wasm), size("engine_bg.wasm"));
    assert!(
        page < PAGE_WASM_BROTLI_BOUND,
        "the page's wasm is {page} bytes of brotli, over {PAGE_WASM_BROTLI_BOUND}"
    );
    // The engine is the interpreter, the builder and compose: a module of its own, not an empty shell.
    assert!(
        engine > page,
        "the engine's wasm ({engine} B) is smaller than the page's ({page} B)"
    );
}
