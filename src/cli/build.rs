//! `docker build` in the interpreter: flags to [`BuildOptions`], the context [`FileTree`] from the caller (the
//! page passes the project's files; natively a directory is read into a tree), the image into the session's
//! local repository in the companion's registry, RUN through the companion, progress as BuildKit's plain text.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::interpret::Outcome;
use super::local::session_key;
use super::parse::Invocation;
use crate::build::{
    BuildError, BuildOptions, Builder, CacheStore, CompanionExecutor, Event, PlainRenderer, Platform,
    RegistryResolver, RegistrySink,
};
use crate::image::Reference;
use crate::layer::{FileTree, Node};
use crate::registry::{Client, Transport};

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
    pub packer: &'a dyn crate::build::LayerPacker,
    /// Milliseconds from any fixed point.
    pub clock: &'a dyn Fn() -> u64,
    /// Receives each piece of progress text as it is rendered (the terminal shows it live); may ignore it.
    pub stream: &'a dyn Fn(&str),
}

/// A parsed `docker build` command line.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub options: BuildOptions,
    /// The context path (`.` or a directory of the caller's tree).
    pub context_dir: String,
    pub quiet: bool,
}

/// The subtree at `dir` (`.` = all), re-rooted.
pub fn subtree(tree: &FileTree, dir: &str) -> Result<FileTree, String> {
    let dir = dir.trim_start_matches("./").trim_end_matches('/');
    if dir.is_empty() || dir == "." {
        return Ok(tree.clone());
    }
    match tree.get(dir) {
        Some(Node::Dir { .. }) => {}
        Some(_) => {
            return Err(format!(
                "unable to prepare context: path {dir:?} is not a directory"
            ))
        }
        None => return Err(format!("unable to prepare context: path {dir:?} not found")),
    }
    let prefix = format!("{dir}/");
    let mut out = FileTree::new();
    for (path, node) in tree.iter() {
        if let Some(rest) = path.strip_prefix(&prefix) {
            out.insert(rest, node.clone()).map_err(|e| e.to_string())?;
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

/// `docker build` flags to a request; the Dockerfile is read from `tree` (`-f` relative to the tree's root,
/// else `CONTEXT/Dockerfile`).
pub fn parse_request(inv: &Invocation, tree: &FileTree) -> Result<BuildRequest, String> {
    let flags = &inv.flags;
    let context_dir = inv.args.first().cloned().unwrap_or_else(|| ".".into());
    if context_dir == "-" || context_dir.contains("://") {
        return Err(format!(
            "unable to prepare context: {context_dir}: only a directory of the project can be a build context here"
        ));
    }
    let tags = flags
        .values("tag")
        .iter()
        .map(|t| {
            Reference::parse(t)
                .map(Reference::with_default_tag)
                .map_err(|e| format!("invalid argument \"{t}\" for \"-t, --tag\" flag: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut build_args = BTreeMap::new();
    for arg in flags.values("build-arg") {
        match arg.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_owned(), v.to_owned()),
            // `--build-arg NAME` takes the value from the client's environment: the page has none.
            None => continue,
        };
    }
    let labels = labels(flags.values("label"));
    let dockerfile_path = match flags.value("file") {
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
        _ => {
            return Err(format!(
            "failed to solve: failed to read dockerfile: open {dockerfile_path}: no such file or directory"
        ))
        }
    };
    let platform = match flags.value("platform") {
        Some(p) => Platform::parse(p).map_err(|e| e.to_string())?,
        None => Platform::default(),
    };
    let quiet = flags.is_set("quiet") || flags.value("progress") == Some("quiet");
    Ok(BuildRequest {
        options: BuildOptions {
            dockerfile,
            dockerfile_name: dockerfile_path
                .rsplit('/')
                .next()
                .unwrap_or("Dockerfile")
                .to_owned(),
            tags,
            target: flags.value("target").map(String::from),
            build_args,
            labels,
            no_cache: flags.is_set("no-cache"),
            platform,
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
    let request = match parse_request(inv, tree).and_then(|r| subtree(tree, &r.context_dir).map(|c| (r, c))) {
        Ok(ok) => ok,
        Err(e) => return Outcome::failure(format!("ERROR: {e}\n"), 1),
    };
    let (request, context) = request;
    let key = session_key(env.session);
    let transport = Borrowed(env.transport);
    let client = Client::new(Borrowed(env.transport), env.base, None);
    let resolver = RegistryResolver {
        client: &client,
        session_key: key.clone(),
    };
    // RUN layers are linked to the first tag's local repository (or an untagged one).
    let repository = request
        .options
        .tags
        .first()
        .map(|t| super::local::local_repository(&key, t))
        .unwrap_or_else(|| format!("{}/{key}/untagged", super::local::LOCAL_PREFIX));
    let executor = CompanionExecutor {
        transport: &transport,
        base: env.base.to_owned(),
        registry: &client,
        repository,
    };
    let sink = RegistrySink {
        client: &client,
        session_key: key,
    };
    let renderer = RefCell::new(PlainRenderer::new());
    let log = RefCell::new(String::new());
    let quiet = request.quiet;
    let progress = |e: &Event| {
        if quiet {
            return;
        }
        let chunk = {
            let mut r = renderer.borrow_mut();
            r.event(e);
            r.take()
        };
        (env.stream)(&chunk);
        log.borrow_mut().push_str(&chunk);
    };
    let builder = Builder {
        resolver: &resolver,
        executor: &executor,
        cache: env.cache,
        packer: env.packer,
        clock: env.clock,
        progress: &progress,
    };
    let result = builder.build(&context, &request.options, &sink).await;
    let log = log.into_inner();
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

impl<T: Transport> Transport for Borrowed<'_, T> {
    async fn send(
        &self,
        request: crate::registry::HttpRequest,
    ) -> Result<crate::registry::HttpResponse, crate::registry::TransportError> {
        self.0.send(request).await
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
        let missing = parse_request(&invocation("docker build -f nope ."), &tree()).unwrap_err();
        assert!(
            missing.contains("open nope: no such file or directory"),
            "{missing}"
        );
        assert!(subtree(&tree(), "nowhere").unwrap_err().contains("not found"));
        assert!(parse_request(&invocation("docker build -"), &tree()).is_err());
    }
}
