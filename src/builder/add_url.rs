//! `ADD <url>`, read as BuildKit does it (`dockerfile2llb/convert.go` `dispatchCopy`, `source/http/source.go`):
//! the file is named after the URL's path (`__unnamed__` when it has none; never after `Content-Disposition`,
//! since the front end always passes a file name), it is never unpacked, its mode is 0600 unless `--chmod`
//! says otherwise, its owner `--chown`'s (else 0:0), its mtime the answer's `Last-Modified` (else the epoch), and
//! `--checksum` is compared with the sha256 of what came (`digest mismatch for URL: GOT (expected: WANT)`).
//! The companion fetches it (`POST /api/fetch`, through its `--fetch-allow` list); git sources are refused.

use std::collections::BTreeMap;

use super::run::RunExecutor;
use super::{BuildError, Builder};
use crate::layer::copy::{copy_into, CopyOptions};
use crate::layer::{FileTree, Meta};

/// One fetched source of an `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub url: String,
    /// The file's name in the destination (BuildKit's rules: [`url_file_name`]).
    pub name: String,
    pub data: Vec<u8>,
    /// Seconds since the epoch, from `Last-Modified` (0 without it).
    pub mtime: u64,
    /// `sha256:...` of `data`.
    pub digest: String,
    /// `Last-Modified` as the host sent it (part of the cache key, as in BuildKit's).
    pub last_modified: Option<String>,
    /// What the step's cache key takes from this URL (BuildKit's http `CacheKey`): the `--checksum` when one
    /// is given (so a cached step needs no fetch), else the content digest and `Last-Modified`.
    pub key: String,
}

impl RemoteFile {
    /// The file of `url` as far as the cache key knows it before fetching: its `--checksum` (no data yet).
    pub fn known(url: &str, checksum: &str) -> RemoteFile {
        RemoteFile {
            url: url.to_owned(),
            name: url_file_name(url),
            data: Vec::new(),
            mtime: 0,
            digest: checksum.to_owned(),
            last_modified: None,
            key: checksum.to_owned(),
        }
    }
}

/// What the build cache remembers of a URL whose host sent an `ETag` (BuildKit's http metadata), under
/// `fetched/HEX(url)`; the body is kept under `fetched-body/HEX(digest)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct SavedFetch {
    etag: String,
    digest: String,
    last_modified: Option<String>,
}

fn saved_key(url: &str) -> String {
    format!("fetched/{}", super::cache::hex(&["fetched", url]))
}

fn body_key(digest: &str) -> String {
    format!("fetched-body/{}", super::cache::hex(&["fetched-body", digest]))
}

/// Whether a source is an HTTP(S) URL (BuildKit's `isHTTPSource`).
pub fn is_http(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Whether a source is a git repository BuildKit's `ADD` would clone (`git@host:...`, `git://`, `ssh://`, or an
/// http(s) URL whose path ends in `.git`, optionally with a `#ref`).
pub fn is_git(source: &str) -> bool {
    if ["git@", "git://", "ssh://"].iter().any(|p| source.starts_with(p)) {
        return true;
    }
    if !is_http(source) {
        return false;
    }
    let path = source.split(['#', '?']).next().unwrap_or(source);
    path.trim_end_matches('/').ends_with(".git")
}

/// `ADD --keep-git-dir` and git sources: refused, saying why (no git client here).
pub fn refuse_git(sources: &[String], keep_git_dir: bool, line: usize) -> Result<(), BuildError> {
    let refuse = |message: String| Err(BuildError::Instruction { line, message });
    if let Some(source) = sources.iter().find(|s| is_git(s)) {
        return refuse(format!(
            "ADD {source}: git sources are not supported here: Slipway's builder clones no git repositories; \
             clone it into the build context and COPY it from there"
        ));
    }
    if keep_git_dir {
        return refuse(
            "ADD --keep-git-dir is not supported here: Slipway's builder clones no git repositories".into(),
        );
    }
    Ok(())
}

/// The name BuildKit gives a URL's file: the last element of its (decoded) path, `__unnamed__` when the path
/// has none, then `pathutil.SafeFileName` (trimmed; `download` for an empty, `.`, `..` or control-character name).
pub fn url_file_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['#', '?']).next().unwrap_or_default();
    let path = rest.find('/').map_or("", |at| &rest[at..]);
    let path = percent_decode(path);
    // Go's path.Base: trailing slashes dropped, then the last element; "." for "", "/" for all slashes.
    let trimmed = path.trim_end_matches('/');
    let base = match (path.is_empty(), trimmed.is_empty()) {
        (true, _) => ".",
        (false, true) => "/",
        (false, false) => trimmed.rsplit('/').next().unwrap_or(trimmed),
    };
    let name = if base == "." || base == "/" {
        "__unnamed__"
    } else {
        base
    };
    safe_file_name(name)
}

/// BuildKit's `pathutil.SafeFileName`.
fn safe_file_name(name: &str) -> String {
    let name = name.trim();
    let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    if base.is_empty() || base == "." || base == ".." || base.chars().any(char::is_control) {
        "download".into()
    } else {
        base.into()
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `--checksum` as BuildKit's `digest.Parse` reads it: `ALGORITHM:HEX` of a known algorithm and length.
pub fn parse_checksum(text: &str, line: usize) -> Result<String, BuildError> {
    let fail = |message: &str| {
        Err(BuildError::Instruction {
            line,
            message: message.into(),
        })
    };
    let Some((algorithm, hex)) = text.split_once(':') else {
        return fail("invalid checksum digest format");
    };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ if algorithm.is_empty() => return fail("invalid checksum digest format"),
        _ => return fail("unsupported digest algorithm"),
    };
    if hex.len() != length {
        return fail("invalid checksum digest length");
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return fail("invalid checksum digest format");
    }
    Ok(text.to_owned())
}

/// The digest of `body` in the algorithm of `checksum` (a parsed `--checksum`), as `go-digest`'s
/// `Algorithm.FromBytes` makes it: `sha384:`/`sha512:` hash with that algorithm; `sha256` is `sha256` given.
fn digest_as(checksum: &str, body: &[u8], sha256: &str) -> String {
    use sha2::Digest as _;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    match checksum.split_once(':').map(|(a, _)| a) {
        Some("sha384") => format!("sha384:{}", hex(&sha2::Sha384::digest(body))),
        Some("sha512") => format!("sha512:{}", hex(&sha2::Sha512::digest(body))),
        _ => sha256.to_owned(),
    }
}

/// Seconds since the epoch of an HTTP date (Go's `http.ParseTime`: IMF-fixdate, RFC 850, asctime).
pub fn http_date(text: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let words: Vec<&str> = text.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let (day, month, year, clock) = match words.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [_, day, month, year, clock, "GMT"] => (*day, *month, year.to_string(), *clock),
        // Sunday, 06-Nov-94 08:49:37 GMT
        [_, date, clock, "GMT"] => {
            let mut parts = date.split('-');
            let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
            let year: i64 = year.parse().ok()?;
            let year = if year < 70 { 2000 + year } else { 1900 + year };
            (day, month, year.to_string(), *clock)
        }
        // Sun Nov  6 08:49:37 1994
        [_, month, day, clock, year] => (*day, *month, year.to_string(), *clock),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let day: u32 = day.parse().ok()?;
    let iso = format!("{year}-{month:02}-{day:02}T{clock}Z");
    crate::image::parse_rfc3339(&iso).and_then(|s| u64::try_from(s).ok())
}

impl<R: super::BaseResolver, X: RunExecutor, C: super::CacheStore> Builder<'_, R, X, C> {
    /// The URL sources of an `ADD` (line `line`), fetched through the companion and checked against
    /// `--checksum`.
    pub(super) async fn fetch_remote(
        &self,
        sources: &[String],
        checksum: Option<&str>,
        line: usize,
    ) -> Result<Vec<RemoteFile>, BuildError> {
        let mut files = Vec::new();
        for url in sources.iter().filter(|s| is_http(s)) {
            let fetched = self
                .fetch_cached(url)
                .await
                .map_err(|message| BuildError::Instruction {
                    line,
                    message: format!("ADD {url}: {message}"),
                })?;
            let digest = crate::layer::sha256(&fetched.body).to_string();
            if let Some(expected) = checksum {
                let got = digest_as(expected, &fetched.body, &digest);
                if got != expected {
                    return Err(BuildError::Instruction {
                        line,
                        message: format!("digest mismatch for {url}: {got} (expected: {expected})"),
                    });
                }
            }
            let modified = fetched.last_modified.clone().unwrap_or_default();
            files.push(RemoteFile {
                url: url.clone(),
                name: url_file_name(url),
                mtime: fetched.last_modified.as_deref().and_then(http_date).unwrap_or(0),
                data: fetched.body,
                key: checksum.map_or_else(|| format!("{digest}\0{modified}"), str::to_owned),
                digest,
                last_modified: fetched.last_modified,
            });
        }
        Ok(files)
    }

    /// `url` fetched, asking with `If-None-Match` when the build cache kept a copy whose host sent an `ETag`
    /// (BuildKit's `resolveMetadata`): a `304` answers with the kept copy. A copy with an `ETag` is kept.
    async fn fetch_cached(&self, url: &str) -> Result<crate::api::Fetched, String> {
        let saved: Option<SavedFetch> = match self.cache.get(&saved_key(url)).await {
            Some(bytes) => serde_json::from_slice(&bytes).ok(),
            None => None,
        };
        if let Some(saved) = saved {
            let fetched = self.executor.fetch(url, Some(&saved.etag)).await?;
            if !fetched.not_modified {
                self.keep_fetched(url, &fetched).await;
                return Ok(fetched);
            }
            if let Some(body) = self.cache.get(&body_key(&saved.digest)).await {
                if crate::layer::sha256(&body).to_string() == saved.digest {
                    return Ok(crate::api::Fetched {
                        body,
                        last_modified: saved.last_modified,
                        etag: Some(saved.etag),
                        not_modified: false,
                    });
                }
            }
        }
        // Nothing kept (or the kept body is gone): an unconditional fetch.
        let fetched = self.executor.fetch(url, None).await?;
        self.keep_fetched(url, &fetched).await;
        Ok(fetched)
    }

    async fn keep_fetched(&self, url: &str, fetched: &crate::api::Fetched) {
        let Some(etag) = &fetched.etag else { return };
        let saved = SavedFetch {
            etag: etag.clone(),
            digest: crate::layer::sha256(&fetched.body).to_string(),
            last_modified: fetched.last_modified.clone(),
        };
        self.cache.put(&body_key(&saved.digest), &fetched.body).await;
        if let Ok(bytes) = serde_json::to_vec(&saved) {
            self.cache.put(&saved_key(url), &bytes).await;
        }
    }
}

/// The fetched files into `layer` at `dest` (a directory when it ends in `/`, else the file's new name), each
/// 0600 unless `--chmod`, owned by `--chown` or root; `sources` counts every source of the instruction.
pub fn add_remote(
    dest: &str,
    sources: usize,
    files: &[RemoteFile],
    base: &FileTree,
    workdir: &str,
    options: &CopyOptions,
    layer: &mut FileTree,
) -> Result<(), BuildError> {
    if !files.is_empty() && sources > 1 && !dest.ends_with('/') {
        // Several sources need a directory: the local copy says so in BuildKit's words.
        return Err(crate::layer::copy::CopyError::DestNotDir.into());
    }
    for file in files {
        let mut one = FileTree::new();
        let meta = Meta {
            mode: 0o600,
            mtime: Some(file.mtime),
            ..Meta::file()
        };
        one.insert_file(&file.name, file.data.clone(), meta)?;
        copy_into(&one, &[file.name.as_str()], dest, workdir, options, base, layer)?;
    }
    Ok(())
}

/// What the step's cache key takes from each URL: BuildKit's http cache key is the file name, mode, owner,
/// and the `--checksum`, or else the content digest and `Last-Modified` (the name, mode and owner are in the
/// instruction already).
pub fn remote_keys(files: &[RemoteFile]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|f| (format!("url\0{}", f.url), f.key.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_buildkits_rules() {
        assert_eq!(url_file_name("https://example.com/dl/app.tar.gz"), "app.tar.gz");
        assert_eq!(
            url_file_name("https://example.com/dl/app.tar.gz?x=1#f"),
            "app.tar.gz"
        );
        assert_eq!(url_file_name("https://example.com/dir/"), "dir");
        assert_eq!(url_file_name("https://example.com/"), "__unnamed__");
        assert_eq!(url_file_name("https://example.com"), "__unnamed__");
        assert_eq!(url_file_name("http://h/a%20b.txt"), "a b.txt");
        assert_eq!(url_file_name("http://h/x/.."), "download");
        assert_eq!(url_file_name("http://h/a%0Ab"), "download");
    }

    #[test]
    fn git_sources_and_keep_git_dir_are_refused() {
        assert!(is_git("git@github.com:moby/buildkit.git"));
        assert!(is_git("https://github.com/moby/buildkit.git#v0.10.1"));
        assert!(!is_git("https://example.com/file.txt"));
        let refused = refuse_git(&["https://github.com/a/b.git".into()], false, 3).unwrap_err();
        assert!(
            refused.to_string().contains("git sources are not supported"),
            "{refused}"
        );
        let refused = refuse_git(&["https://h/f".into()], true, 3).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "line 3: ADD --keep-git-dir is not supported here: Slipway's builder clones no git repositories"
        );
    }

    #[test]
    fn checksums_parse_as_go_digest_does() {
        let hex = "a".repeat(64);
        assert!(parse_checksum(&format!("sha256:{hex}"), 1).is_ok());
        let err = |t: &str| parse_checksum(t, 1).unwrap_err().to_string();
        assert_eq!(err("nope"), "line 1: invalid checksum digest format");
        assert_eq!(err("sha256:abc"), "line 1: invalid checksum digest length");
        assert_eq!(err("md5:abc"), "line 1: unsupported digest algorithm");
        assert_eq!(
            err(&format!("sha256:{}", "A".repeat(64))),
            "line 1: invalid checksum digest format"
        );
    }

    /// Values of `printf hello | sha384sum` and `sha512sum`.
    #[test]
    fn sha384_and_sha512_checksums_hash_with_their_algorithm() {
        let sha384 = "sha384:59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f";
        let sha512 = "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043";
        assert_eq!(digest_as(sha384, b"hello", "sha256:x"), sha384);
        assert_eq!(digest_as(sha512, b"hello", "sha256:x"), sha512);
        assert_eq!(digest_as("sha256:ab", b"hello", "sha256:x"), "sha256:x");
        assert!(parse_checksum(sha384, 1).is_ok() && parse_checksum(sha512, 1).is_ok());
    }

    #[test]
    fn http_dates_in_the_three_formats() {
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(http_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        assert_eq!(http_date("yesterday"), None);
    }
}
