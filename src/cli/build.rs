//! `docker build` in the interpreter: flags to [`BuildOptions`], the context [`FileTree`] from the caller (the
//! page passes the project's files; natively a directory is read into a tree), the image into the session's
//! local repository in the companion's registry, RUN through the companion, progress as BuildKit's plain text.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::builder::{
    plain_progress, BaseResolver, BothSinks, BuildError, BuildOptions, BuiltImage, CacheStore, CompanionLink,
    Event, ImageSink, KeyValueStore, LocalStore, NoCompanion, Platform, RunExecutor, Secrets, StoreSink,
    Workshop,
};
use crate::dockerfile::ignore::Dockerignore;
use crate::dockerfile::lint::{LintOptions, Report};
use crate::dockerfile::{self, render, Dockerfile, Error as DockerfileError};
use crate::image::local_store::session_key;
use crate::image::{Reference, ReferenceError};
use crate::layer::{FileTree, LayerError, Node};
use crate::registry::Transport;

/// What a build needs from its surroundings.
pub struct BuildEnv<'a, T: Transport, C: CacheStore> {
    /// Sends companion requests with the session header already set.
    pub transport: &'a T,
    /// The companion's base URL ("" in the page: its own origin).
    pub base: &'a str,
    /// The session token the transport sends (its hash names the local repositories).
    pub session: Option<&'a str>,
    pub cache: &'a C,
    /// Compresses and hashes the layers the build makes (inline natively, Web Workers in the page).
    pub packer: &'a dyn crate::builder::LayerPacker,
    /// Milliseconds from any fixed point.
    pub clock: &'a dyn Fn() -> u64,
    /// Receives each piece of progress text as it is rendered (the terminal shows it live); may ignore it.
    pub stream: &'a dyn Fn(&str),
    /// Seconds since the Unix epoch: the image's `created` unless `SOURCE_DATE_EPOCH` pins it.
    pub now: u64,
    /// `SOURCE_DATE_EPOCH` of the caller's environment (natively); `--build-arg SOURCE_DATE_EPOCH=N` wins.
    pub source_date_epoch: Option<u64>,
    /// Receives every progress event as it happens, `-q` or not (the page's Build panel); may ignore them.
    pub events: &'a dyn Fn(&Event),
    /// The companion's platform, what FROM takes from an index without `--platform`; `None`: this machine's
    /// ([`Platform::default`]).
    pub platform: Option<&'a Platform>,
}

/// A parsed `docker build` command line.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub options: BuildOptions,
    /// The context path (`.` or a directory of the caller's tree).
    pub context_dir: String,
    pub quiet: bool,
}

/// Why a `docker build` command line cannot start a build: BuildKit's and the CLI's texts (after `ERROR: `).
#[derive(Debug, thiserror::Error)]
pub enum BuildRequestError {
    #[error("unable to prepare context: {0}: only a directory of the project can be a build context here")]
    ContextNotADirectory(String),
    #[error("unable to prepare context: path {0:?} is not a directory")]
    NotADirectory(String),
    #[error("unable to prepare context: path {0:?} not found")]
    NoContext(String),
    #[error("invalid argument \"{tag}\" for \"-t, --tag\" flag: {source}")]
    Tag {
        tag: String,
        #[source]
        source: ReferenceError,
    },
    #[error("failed to solve: failed to read dockerfile: open {0}: no such file or directory")]
    NoDockerfile(String),
    /// `--secret` that buildx refuses (its words).
    #[error("{0}")]
    Secret(String),
    #[error("failed to read secret {id}: open {path}: no such file or directory")]
    SecretFile { id: String, path: String },
    #[error(transparent)]
    Platform(#[from] crate::builder::BuildError),
    #[error(transparent)]
    Context(#[from] LayerError),
}

/// The subtree at `dir` (`.` = all), re-rooted.
pub fn subtree(tree: &FileTree, dir: &str) -> Result<FileTree, BuildRequestError> {
    let dir = dir.trim_start_matches("./").trim_end_matches('/');
    if dir.is_empty() || dir == "." {
        return Ok(tree.clone());
    }
    match tree.get(dir) {
        Some(Node::Dir { .. }) => {}
        Some(_) => return Err(BuildRequestError::NotADirectory(dir.to_string())),
        None => return Err(BuildRequestError::NoContext(dir.to_string())),
    }
    let prefix = format!("{dir}/");
    let mut out = FileTree::new();
    for (path, node) in tree.iter() {
        if let Some(rest) = path.strip_prefix(&prefix) {
            out.insert(rest, node.clone())?;
        }
    }
    Ok(out)
}

/// `--label KEY=VALUE` values (a bare `KEY` is an empty label, as docker takes it).
pub fn labels(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (l.clone(), String::new()),
        })
        .collect()
}

/// `--secret` values (buildx's `parseSecret`: `id=`, `src=`/`source=`, `env=`, `type=file|env`) to the bytes
/// they name: `src` is a file of the project's tree, `env` a variable of the client's environment (the page has
/// none); with neither, the variable named like the id if set, else the file named like it.
pub fn secrets(values: &[String], tree: &FileTree) -> Result<Secrets, BuildRequestError> {
    let mut out = Secrets::default();
    for value in values {
        let (mut id, mut src, mut env, mut typ) = (String::new(), None, None, None);
        for field in value.split(',') {
            let Some((key, v)) = field.split_once('=') else {
                return Err(BuildRequestError::Secret(format!(
                    "invalid field '{field}' must be a key=value pair"
                )));
            };
            match key.to_ascii_lowercase().as_str() {
                "type" if v == "file" || v == "env" => typ = Some(v.to_owned()),
                "type" => {
                    return Err(BuildRequestError::Secret(format!(
                        "unsupported secret type \"{v}\""
                    )))
                }
                "id" => id = v.to_owned(),
                "source" | "src" => src = Some(v.to_owned()),
                "env" => env = Some(v.to_owned()),
                _ => {
                    return Err(BuildRequestError::Secret(format!(
                        "unexpected key '{key}' in '{field}'"
                    )))
                }
            }
        }
        if typ.as_deref() == Some("env") && env.is_none() {
            env = src.take();
        }
        if id.is_empty() {
            id = src.as_deref().or(env.as_deref()).unwrap_or_default().to_owned();
        }
        if src.is_none() && env.is_none() {
            match std::env::var(&id) {
                Ok(_) => env = Some(id.clone()),
                Err(_) => src = Some(id.clone()),
            }
        }
        let data = match (src, env) {
            (Some(path), _) => match tree.get(path.trim_start_matches("./")) {
                Some(Node::File { data, .. }) => data.to_vec(),
                _ => return Err(BuildRequestError::SecretFile { id, path }),
            },
            // Not set: the build goes on without it, and a step that requires it fails with BuildKit's words.
            (None, Some(var)) => match std::env::var(&var) {
                Ok(v) => v.into_bytes(),
                Err(_) => continue,
            },
            (None, None) => continue,
        };
        out.0.insert(id, data);
    }
    Ok(out)
}

/// `docker build` flags to a request; the Dockerfile is read from `tree` (`-f` relative to the tree's root,
/// else `CONTEXT/Dockerfile`).
pub fn parse_request(inv: &Invocation, tree: &FileTree) -> Result<BuildRequest, BuildRequestError> {
    let flags = &inv.flags;
    let context_dir = inv.args.first().cloned().unwrap_or_else(|| ".".into());
    if context_dir == "-" || context_dir.contains("://") {
        return Err(BuildRequestError::ContextNotADirectory(context_dir));
    }
    let tags = flags
        .values(Flag::TAG)
        .iter()
        .map(|t| {
            Reference::parse(t)
                .map(Reference::with_default_tag)
                .map_err(|source| BuildRequestError::Tag {
                    tag: t.to_string(),
                    source,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut build_args = BTreeMap::new();
    for arg in flags.values(Flag::BUILD_ARG) {
        match arg.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_owned(), v.to_owned()),
            // `--build-arg NAME` takes the value from the client's environment: the page has none.
            None => continue,
        };
    }
    let labels = labels(flags.values(Flag::LABEL));
    let dockerfile_path = match flags.value(Flag::FILE) {
        Some(f) => f.trim_start_matches("./").to_owned(),
        None => {
            let dir = context_dir.trim_start_matches("./").trim_end_matches('/');
            if dir.is_empty() || dir == "." {
                "Dockerfile".to_owned()
            } else {
                format!("{dir}/Dockerfile")
            }
        }
    };
    let dockerfile = match tree.get(&dockerfile_path) {
        Some(Node::File { data, .. }) => String::from_utf8_lossy(data).into_owned(),
        _ => return Err(BuildRequestError::NoDockerfile(dockerfile_path)),
    };
    let platform = match flags.value(Flag::PLATFORM) {
        Some(p) => Platform::parse(p)?,
        None => Platform::default(),
    };
    let quiet = flags.is_set(Flag::QUIET) || flags.value(Flag::PROGRESS) == Some("quiet");
    Ok(BuildRequest {
        options: BuildOptions {
            dockerfile,
            dockerfile_name: dockerfile_path
                .rsplit('/')
                .next()
                .unwrap_or("Dockerfile")
                .to_owned(),
            tags,
            target: flags.value(Flag::TARGET).map(String::from),
            build_args,
            labels,
            no_cache: flags.is_set(Flag::NO_CACHE),
            platform,
            secrets: secrets(flags.values(Flag::SECRET), tree)?,
            ..BuildOptions::default()
        },
        context_dir,
        quiet,
    })
}

/// Runs `docker build` against the companion; progress goes to stderr as BuildKit's plain output, `-q`
/// prints only the image ID.
pub async fn build<T: Transport, C: CacheStore>(
    env: &BuildEnv<'_, T, C>,
    inv: &Invocation,
    tree: &FileTree,
) -> Outcome {
    let (request, context) = match prepare(env, inv, tree) {
        Ok(ok) => ok,
        Err(outcome) => return outcome,
    };
    let link = companion_link(env, &request);
    let sink = Tagging {
        sink: link.sink(),
        transport: env.transport,
        base: env.base,
    };
    run_build(env, &request, &context, &link.resolver(), &link.executor(), &sink).await
}

/// The companion's image store took a build's image: a `tag` event per name, as BuildKit's moby exporter
/// names each through the image service's `TagImage` (`naming to ...`).
struct Tagging<'a, S: ImageSink, T: Transport> {
    sink: S,
    transport: &'a T,
    base: &'a str,
}

impl<S: ImageSink, T: Transport> ImageSink for Tagging<'_, S, T> {
    async fn write(&self, image: &BuiltImage, tags: &[crate::image::Reference]) -> Result<(), BuildError> {
        self.sink.write(image, tags).await?;
        for tag in tags {
            let companion = crate::api::Companion::new(self.transport, self.base);
            super::image_events::record_image_at(companion, "tag", &image.id(), &tag.familiar()).await;
        }
        Ok(())
    }
}

/// `docker build` in the page: as [`build`], and the image is also kept in the page's own store (`keep`).
/// Without the companion (`online` false) FROM resolves in that store only, RUN says it needs the companion,
/// and the image goes to the store alone.
pub async fn build_keeping<T: Transport, C: CacheStore, S: KeyValueStore>(
    env: &BuildEnv<'_, T, C>,
    inv: &Invocation,
    tree: &FileTree,
    keep: &S,
    online: bool,
) -> Outcome {
    let (request, context) = match prepare(env, inv, tree) {
        Ok(ok) => ok,
        Err(outcome) => return outcome,
    };
    let created = crate::image::rfc3339(request.options.created);
    let store = LocalStore { kv: keep };
    if !online {
        let sink = StoreSink {
            store: LocalStore { kv: keep },
            created,
        };
        return run_build(env, &request, &context, &store, &NoCompanion, &sink).await;
    }
    let link = companion_link(env, &request);
    let kept = BestEffort {
        sink: StoreSink { store, created },
        refused: RefCell::new(None),
    };
    let sink = Tagging {
        sink: BothSinks(&link.sink(), &kept),
        transport: env.transport,
        base: env.base,
    };
    let mut outcome = run_build(env, &request, &context, &link.resolver(), &link.executor(), &sink).await;
    if let Some(e) = kept.refused.into_inner() {
        outcome.stderr.push_str(&format!(
            "WARNING: the image is in the companion's local store only: {e}\n"
        ));
    }
    outcome
}

/// A second output that may fail without failing the build (the page's store when the companion has the
/// image: a full quota costs only the offline copy); the refusal is kept to be reported.
struct BestEffort<S: ImageSink> {
    sink: S,
    refused: RefCell<Option<BuildError>>,
}

impl<S: ImageSink> ImageSink for BestEffort<S> {
    async fn write(&self, image: &BuiltImage, tags: &[crate::image::Reference]) -> Result<(), BuildError> {
        if let Err(e) = self.sink.write(image, tags).await {
            *self.refused.borrow_mut() = Some(e);
        }
        Ok(())
    }
}

/// The request and its context, with `created` set: `SOURCE_DATE_EPOCH` (build arg, else the environment)
/// pins it and the layers' file times, else it is the build's time, as BuildKit does. `Err` is how the command
/// ends without building: a bad command line, or `--check`.
fn prepare<T: Transport, C: CacheStore>(
    env: &BuildEnv<'_, T, C>,
    inv: &Invocation,
    tree: &FileTree,
) -> Result<(BuildRequest, FileTree), Outcome> {
    let (mut request, context) = parse_request(inv, tree)
        .and_then(|r| subtree(tree, &r.context_dir).map(|c| (r, c)))
        .map_err(|e| Outcome::failure(format!("ERROR: {e}\n"), 1))?;
    // `--platform linux`: one part, completed from the companion's platform (containerd's `platforms.Parse`).
    match (inv.flags.value(Flag::PLATFORM), env.platform) {
        (None, Some(host)) => request.options.platform = host.clone(),
        (Some(text), Some(host)) => {
            request.options.platform =
                Platform::parse_on(text, host).map_err(|e| Outcome::failure(format!("ERROR: {e}\n"), 1))?;
        }
        _ => {}
    }
    if inv.flags.is_set(Flag::CHECK) {
        return Err(check(&request.options, &context));
    }
    let pinned = match request.options.build_args.get("SOURCE_DATE_EPOCH") {
        Some(value) => Some(value.trim().parse::<u64>().map_err(|_| {
            Outcome::failure(
                format!(
                    "ERROR: invalid SOURCE_DATE_EPOCH {value:?}: expected seconds since the Unix epoch\n"
                ),
                1,
            )
        })?),
        None => env.source_date_epoch,
    };
    request.options.epoch = pinned.unwrap_or(0);
    request.options.created = BuildOptions::created_at(pinned, env.now);
    Ok((request, context))
}

/// The build checks of `options` in the `context` (its `.dockerignore` included), when the Dockerfile parses.
fn lint(options: &BuildOptions, context: &FileTree) -> Result<(Dockerfile, Report), DockerfileError> {
    let df = dockerfile::parse_with_args(&options.dockerfile, &options.build_args)?;
    let lint_options = LintOptions {
        build_args: options.build_args.clone(),
        target: options.target.clone(),
        dockerignore: match context.get(".dockerignore") {
            Some(Node::File { data, .. }) => Some(Dockerignore::parse(&String::from_utf8_lossy(data))),
            _ => None,
        },
        ..LintOptions::default()
    };
    let report = dockerfile::lint::check(&df, &lint_options);
    Ok((df, report))
}

/// `docker build --check`: the checks alone, printed as buildx prints them, exit 1 when there is any warning
/// or error; nothing is built.
pub fn check(options: &BuildOptions, context: &FileTree) -> Outcome {
    let name = &options.dockerfile_name;
    let out = match lint(options, context) {
        Ok((df, report)) => render::check_output(&options.dockerfile, name, &df, &report),
        Err(e) => {
            let s = e.span();
            let excerpt = render::source_excerpt(&options.dockerfile, name, s.line, s.end_line);
            let message = BuildError::Dockerfile {
                line: e.line(),
                message: e.to_string(),
            };
            render::CheckOutput {
                stdout: String::new(),
                error: Some(format!("{message}\n{excerpt}")),
                warnings: 0,
            }
        }
    };
    Outcome {
        stderr: out
            .error
            .as_ref()
            .map(|t| format!("ERROR: {t}"))
            .unwrap_or_default(),
        exit_code: i32::from(out.error.is_some() || out.warnings > 0),
        stdout: out.stdout,
    }
}

/// The companion for this build, over the caller's transport.
fn companion_link<'e, T: Transport, C: CacheStore>(
    env: &BuildEnv<'e, T, C>,
    request: &BuildRequest,
) -> CompanionLink<Borrowed<'e, T>> {
    let key = session_key(env.session);
    let repository = run_repository(&key, &request.options.tags);
    CompanionLink::new(Borrowed(env.transport), env.base, key, repository)
}

/// The local repository a build's RUN layers are linked to: the first tag's, or the session's untagged one.
pub fn run_repository(session_key: &str, tags: &[Reference]) -> String {
    tags.first()
        .map(|t| crate::image::local_store::local_repository(session_key, t))
        .unwrap_or_else(|| {
            format!(
                "{}/{session_key}/untagged",
                crate::image::local_store::LOCAL_PREFIX
            )
        })
}

/// Builds with the given parts, rendering progress as BuildKit's plain text.
async fn run_build<T: Transport, C: CacheStore, R: BaseResolver, X: RunExecutor, S: ImageSink>(
    env: &BuildEnv<'_, T, C>,
    request: &BuildRequest,
    context: &FileTree,
    resolver: &R,
    executor: &X,
    sink: &S,
) -> Outcome {
    let log = RefCell::new(String::new());
    let quiet = request.quiet;
    let plain = plain_progress(quiet, |chunk: &str| {
        (env.stream)(chunk);
        log.borrow_mut().push_str(chunk);
    });
    let progress = |e: &Event| {
        (env.events)(e);
        plain(e);
    };
    let workshop = Workshop {
        cache: env.cache,
        packer: env.packer,
        clock: env.clock,
    };
    let builder = workshop.builder(resolver, executor, &progress);
    let result: Result<BuiltImage, BuildError> = builder.build(context, &request.options, sink).await;
    let log = log.take();
    match result {
        Ok(image) if quiet => Outcome::success(format!("{}\n", image.id())),
        Ok(_) => Outcome {
            stdout: String::new(),
            stderr: log,
            exit_code: 0,
        },
        Err(e) => Outcome::failure(format!("{log}{}", failure_text(&e)), 1),
    }
}

/// A borrowed transport as a transport (the client owns its transport).
struct Borrowed<'a, T>(&'a T);

// Not derived: a derive would ask `T: Clone`, and a reference copies whatever it points to.
impl<T> Clone for Borrowed<'_, T> {
    fn clone(&self) -> Self {
        Borrowed(self.0)
    }
}

impl<T: Transport> Transport for Borrowed<'_, T> {
    async fn send(
        &self,
        request: crate::registry::HttpRequest,
    ) -> Result<crate::registry::HttpResponse, crate::registry::TransportError> {
        self.0.send(request).await
    }

    async fn send_streaming(
        &self,
        request: crate::registry::HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<crate::registry::HttpResponse, crate::registry::TransportError> {
        self.0.send_streaming(request, on_chunk).await
    }
}

/// The end of a failed build, as BuildKit prints it.
pub fn failure_text(e: &BuildError) -> String {
    match e {
        BuildError::RunFailed { output, .. } if !output.is_empty() => {
            format!("------\n{}------\nERROR: failed to solve: {e}\n", indent(output))
        }
        _ => format!("ERROR: failed to solve: {e}\n"),
    }
}

fn indent(output: &str) -> String {
    output.lines().map(|l| format!(" > {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse::{parse, Parsed};
    use crate::layer::Meta;

    fn invocation(line: &str) -> Invocation {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        match parse(&words) {
            Ok(Parsed::Run(inv)) => inv,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn tree() -> FileTree {
        let mut t = FileTree::new();
        for (path, data) in [
            ("Dockerfile", "FROM scratch\n"),
            ("web/Dockerfile", "FROM scratch AS web\n"),
            ("web/app.py", "1\n"),
            ("ci.Dockerfile", "FROM scratch\n"),
        ] {
            t.insert_file(path, data.as_bytes().to_vec(), Meta::file())
                .unwrap();
        }
        t
    }

    /// A store that refuses every write, as a full IndexedDB does.
    struct FullStore;

    impl KeyValueStore for FullStore {
        async fn load(&self, _: &str) -> Result<Option<Vec<u8>>, crate::builder::StoreError> {
            Ok(None)
        }
        async fn save(&self, _: &str, _: &[u8]) -> Result<(), crate::builder::StoreError> {
            Err(crate::builder::StoreError::Refused(
                "QuotaExceededError: quota exceeded".into(),
            ))
        }
        async fn contains(&self, _: &str) -> Result<bool, crate::builder::StoreError> {
            Ok(false)
        }
    }

    #[test]
    fn a_full_browser_store_is_a_clear_error_or_only_a_warning() {
        let sink = |kv| StoreSink {
            store: LocalStore { kv },
            created: String::new(),
        };
        let (image, _) = crate::builder::tests::build_with(
            &crate::builder::MemoryCache::new(),
            &tree(),
            "FROM scratch\nCOPY web/app.py /\n",
            |_| {},
        );
        let image = image.unwrap();
        let tags = [Reference::parse("learner1/app:v1").unwrap()];
        // Offline the store is the only output: its refusal fails the build, in the browser's words.
        let err = crate::builder::block_on(sink(&FullStore).write(&image, &tags)).unwrap_err();
        assert!(err.to_string().contains("QuotaExceededError"), "{err}");
        // Online it is a second copy: the build succeeds and the refusal is kept for a warning.
        let best = BestEffort {
            sink: sink(&FullStore),
            refused: RefCell::new(None),
        };
        assert!(crate::builder::block_on(best.write(&image, &tags)).is_ok());
        assert!(best.refused.into_inner().is_some());
    }

    /// `docker build --check` on a Dockerfile, and the build's end (`Err` the failure text) when built from
    /// scratch without a registry or a companion.
    fn checked(dockerfile: &str) -> (Outcome, Result<(), String>) {
        let mut t = FileTree::new();
        t.insert_file("Dockerfile", dockerfile.as_bytes().to_vec(), Meta::file())
            .unwrap();
        let r = parse_request(&invocation("docker build --check ."), &t).unwrap();
        assert!(invocation("docker build --check .").flags.is_set(Flag::CHECK));
        let (built, _) =
            crate::builder::tests::build_with(&crate::builder::MemoryCache::new(), &t, dockerfile, |_| {});
        (
            check(&r.options, &t),
            built.map(|_| ()).map_err(|e| failure_text(&e)),
        )
    }

    #[test]
    fn check_prints_buildkits_warnings_and_exits_1() {
        let (out, build) = checked("FROM scratch\nUSER app\nCMD echo hi\n");
        assert_eq!(
            out.stdout,
            "Check complete, 1 warning has been found!\n\n\
             WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n\
             JSON arguments recommended for CMD to prevent unintended behavior related to OS signals\n\
             Dockerfile:3\n\
             --------------------\n   1 |     FROM scratch\n   2 |     USER app\n   3 | >>> CMD echo hi\n   4 |     \n\
             --------------------\n"
        );
        assert_eq!((out.stderr.as_str(), out.exit_code), ("", 1));
        assert!(build.is_ok(), "warnings alone do not stop a build");
        // Slipway's learner rules (RunningAsRoot here) are not BuildKit's: --check leaves them out.
        let (clean, _) = checked("FROM alpine:3.19\nCMD [\"sh\"]\n");
        assert_eq!(clean.stdout, "Check complete, no warnings found.\n");
        assert_eq!(clean.exit_code, 0);
    }

    #[test]
    fn check_error_true_fails_the_check_and_the_build() {
        let (out, build) = checked("# check=error=true\nFROM scratch\nUSER app\nCMD echo hi\n");
        assert!(out
            .stdout
            .starts_with("Check complete, 1 warning has been found!\n"));
        assert!(out.stdout.ends_with("--------------------\n\n"), "{}", out.stdout);
        assert_eq!(
            out.stderr,
            "ERROR: lint violation found for rules: JSONArgsRecommended\n"
        );
        assert_eq!(out.exit_code, 1);
        assert_eq!(
            build.unwrap_err(),
            "ERROR: failed to solve: lint violation found for rules: JSONArgsRecommended\n"
        );
        // Skipped rules raise nothing to fail on.
        let (_, build) = checked("# check=skip=JSONArgsRecommended;error=true\nFROM scratch\nCMD echo hi\n");
        assert!(build.is_ok());
    }

    #[test]
    fn check_prints_the_error_buildkit_stops_on_with_its_source() {
        let (out, _) = checked("FROM alpine:3.19\nUSER app\nENV A=${x:i}\n");
        assert_eq!(out.stdout, "", "no warnings: only the error, on stderr");
        assert_eq!(
            out.stderr,
            "ERROR: failed to process \"${x:i}\": unsupported modifier (:i) in substitution\n\
             Dockerfile:3\n--------------------\n   1 |     FROM alpine:3.19\n   2 |     USER app\n\
             \x20  3 | >>> ENV A=${x:i}\n   4 |     \n--------------------\n"
        );
        assert_eq!(out.exit_code, 1);
    }

    #[test]
    fn flags_become_options() {
        let r = parse_request(
            &invocation("docker build -t learner1/app:v1 -t app --build-arg A=1 --target web --no-cache --platform linux/arm64 --label x=y -q web"),
            &tree(),
        )
        .unwrap();
        let tags: Vec<String> = r.options.tags.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            tags,
            ["docker.io/learner1/app:v1", "docker.io/library/app:latest"]
        );
        assert_eq!(r.options.dockerfile, "FROM scratch AS web\n");
        assert_eq!(r.options.build_args.get("A").map(String::as_str), Some("1"));
        assert_eq!(r.options.target.as_deref(), Some("web"));
        assert_eq!(r.options.platform.to_string(), "linux/arm64");
        assert_eq!(r.options.labels.get("x").map(String::as_str), Some("y"));
        assert!(r.options.no_cache && r.quiet);
        assert_eq!(subtree(&tree(), &r.context_dir).unwrap().len(), 2);
        let f = parse_request(&invocation("docker build -f ci.Dockerfile ."), &tree()).unwrap();
        assert_eq!(f.options.dockerfile_name, "ci.Dockerfile");
        let missing = parse_request(&invocation("docker build -f nope ."), &tree())
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("open nope: no such file or directory"),
            "{missing}"
        );
        let nowhere = subtree(&tree(), "nowhere").unwrap_err().to_string();
        assert_eq!(nowhere, "unable to prepare context: path \"nowhere\" not found");
        assert!(parse_request(&invocation("docker build -"), &tree()).is_err());
    }
}
