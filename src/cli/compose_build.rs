//! `docker compose build`, `up --build` (and `up` building the images it is missing), `pull`, `push` and
//! `down --rmi`: each service's image made, fetched or sent as Compose v2 does, with its lines
//! (`[+] Building 2/2`, ` ✔ Service web  Built`; `[+] Pulling 1/1`, ` ✔ cache  Pulled`). A build is a
//! `docker build` line run by the caller's own build path ([`ImageBuilder`]: the page's builder on its file
//! tree, natively the project directory read), so compose builds exactly as `docker build` does. See
//! docs/compose.md.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use super::compose_up::{image_of, ordered, Progress, ProgressMode};
use super::context::{CommandContext, Printer, Stream};
use super::outcome::Outcome;
use super::parse::{parse, Invocation, Parsed};
use super::spec::Flag;
use crate::compose::model::{Project, Service};
use crate::image::Reference;
use crate::registry::Transport;

/// Runs one `docker build` line (its context and `-f` relative to the project's root) where compose runs: in
/// the page its builder on the project's files, natively the project directory read from disk.
pub trait ImageBuilder {
    fn build<'b>(&'b self, inv: &'b Invocation) -> Pin<Box<dyn Future<Output = Outcome> + 'b>>;
}

/// What compose says when it has no builder (a caller that cannot build: the docs embeds).
const NO_BUILDER: &str = "slipway: building a service's image needs the project's files: run it in the \
                          playground's terminal or with 'slipway docker compose' in the project directory\n";

/// The `docker build` words for `service` of `project`: its image name as the tag (`PROJECT-SERVICE`, or its
/// `image:`), the context and Dockerfile relative to the project directory, its `args` (then `--build-arg`
/// values of the line, which win as in Compose's `mergeArgs`), `target`, `labels` with Compose's project
/// and service labels, `--no-cache` and `-q`.
pub fn build_words(
    project: &Project,
    service: &Service,
    line_args: &[String],
    (no_cache, quiet): (bool, bool),
) -> Result<Vec<String>, String> {
    let Some(build) = &service.build else {
        return Err(format!("service \"{}\" has no build section", service.name));
    };
    let root = project.working_dir.trim_end_matches('/');
    let context = if build.context == root {
        ".".to_string()
    } else if let Some(inside) = build.context.strip_prefix(&format!("{root}/")) {
        format!("./{}", inside.trim_end_matches('/'))
    } else {
        return Err(format!(
            "service \"{}\": build context {} is outside the project directory {root}: only the project's \
             own folders are build contexts here",
            service.name, build.context
        ));
    };
    if build.dockerfile.starts_with('/') {
        return Err(format!(
            "service \"{}\": dockerfile {} is an absolute path: name it relative to the build context here",
            service.name, build.dockerfile
        ));
    }
    let mut words: Vec<String> = ["docker", "build", "-t"].map(String::from).to_vec();
    words.push(image_of(project, service));
    words.extend(["-f".to_string(), format!("{context}/{}", build.dockerfile)]);
    let mut args: BTreeMap<String, String> = build
        .args
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    for arg in line_args {
        if let Some((k, v)) = arg.split_once('=') {
            args.insert(k.to_string(), v.to_string());
        }
    }
    for (k, v) in args {
        words.extend(["--build-arg".to_string(), format!("{k}={v}")]);
    }
    if let Some(target) = &build.target {
        words.extend(["--target".to_string(), target.clone()]);
    }
    let mut labels = build.labels.clone();
    labels.insert("com.docker.compose.project".into(), project.name.clone());
    labels.insert("com.docker.compose.service".into(), service.name.clone());
    for (k, v) in labels {
        words.extend(["--label".to_string(), format!("{k}={v}")]);
    }
    if no_cache {
        words.push("--no-cache".into());
    }
    if quiet {
        words.push("-q".into());
    }
    words.push(context);
    Ok(words)
}

/// The services a line names (every enabled one without names), in the file's order.
fn named(project: &Project, args: &[String]) -> Vec<Service> {
    project
        .services
        .values()
        .filter(|s| match args.is_empty() {
            true => s.enabled(&project.active_profiles),
            false => args.contains(&s.name),
        })
        .cloned()
        .collect()
}

/// Whether the session's store has `image`.
async fn present<T: Transport>(ctx: &CommandContext<'_, T>, image: &str) -> bool {
    let Ok(reference) = Reference::parse(image).map(Reference::with_default_tag) else {
        return false;
    };
    ctx.local_client()
        .pull_manifest(&ctx.local_repository(&reference), &reference.tag_or_digest())
        .await
        .is_ok()
}

/// Build `services` one after the other with `builder`: the build's own output (BuildKit's progress, which
/// the builder streams as it comes), then Compose's block (`[+] Building 1/1`, ` ✔ Service web  Built`).
/// A failed build ends there with its error (the Dockerfile's line and column in it).
async fn build_services(
    project: &Project,
    services: &[Service],
    (line_args, no_cache, quiet): (&[String], bool, bool),
    (builder, mut progress): (Option<&dyn ImageBuilder>, Progress<'_>),
) -> Outcome {
    let mut stderr = String::new();
    for service in services.iter().filter(|s| s.build.is_some()) {
        let Some(builder) = builder else {
            return Outcome::failure(NO_BUILDER.into(), 1);
        };
        let words = match build_words(project, service, line_args, (no_cache, quiet)) {
            Ok(words) => words,
            Err(why) => return Outcome::failure(format!("{why}\n"), 1),
        };
        let inv = match parse(&words) {
            Ok(Parsed::Run(inv)) => inv,
            Ok(_) => return Outcome::failure(format!("{}\n", words.join(" ")), 1),
            Err(e) => return Outcome::failure(format!("{e}\n"), e.exit_code()),
        };
        let built = builder.build(&inv).await;
        stderr.push_str(&built.stderr);
        if built.exit_code != 0 {
            return Outcome::failure(stderr, built.exit_code);
        }
        progress.done(format!("Service {}", service.name), "Built");
    }
    if !quiet {
        stderr.push_str(&progress.render());
    }
    Outcome {
        stderr,
        ..Outcome::default()
    }
}

/// `docker compose build [--no-cache] [--build-arg K=V] [-q] [SERVICE...]`, its lines printed in `mode`.
pub(super) async fn build(
    project: &Project,
    inv: &Invocation,
    builder: Option<&dyn ImageBuilder>,
    mode: ProgressMode,
) -> Outcome {
    let services = named(project, &inv.args);
    let flags = &inv.flags;
    let options = (
        flags.values(Flag::BUILD_ARG),
        flags.is_set(Flag::NO_CACHE),
        flags.is_set(Flag::QUIET),
    );
    let progress = Progress::in_mode("Building", mode);
    build_services(project, &services, options, (builder, progress)).await
}

/// Before `up` starts anything: with `--build` every service of the line that has `build:` is built, else
/// those whose image the session does not have (Compose builds a missing image); `--no-build` builds none
/// (`up` then says what is missing).
pub async fn before_up<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
    builder: Option<&dyn ImageBuilder>,
) -> Outcome {
    let (always, never) = (inv.flags.is_set(Flag::BUILD), inv.flags.is_set(Flag::NO_BUILD));
    if always && never {
        return Outcome::failure("--build and --no-build are incompatible\n".into(), 1);
    }
    if never {
        return Outcome::default();
    }
    let mut wanted = Vec::new();
    for service in ordered(project, &inv.args) {
        // `pull_policy: build` (or `--pull build`, `--build`) builds it every time, as `--build` does.
        let policy = match super::compose_up::pull_policy_of(inv, &service) {
            Ok(policy) => policy,
            Err(e) => return Outcome::failure(format!("{e}\n"), 1),
        };
        let rebuild = always || policy == "build";
        if service.build.is_some() && (rebuild || !present(ctx, &image_of(project, &service)).await) {
            wanted.push(service);
        }
    }
    if wanted.is_empty() {
        return Outcome::default();
    }
    let progress = Progress::at_the_end(ctx, inv, "Building");
    build_services(project, &wanted, (&[], false, false), (builder, progress)).await
}

/// `docker compose pull [-q] [--ignore-buildable] [SERVICE...]`: each service's `image:` into the session's
/// store, with Compose's lines (` ✔ cache  Pulled`, ` ✔ web  Skipped - No image to be pulled`).
pub async fn pull<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, project: &Project) -> Outcome {
    let mut progress = Progress::at_the_end(ctx, inv, "Pulling");
    let mut pulling: BTreeMap<String, String> = BTreeMap::new();
    let mut must_build = Vec::new();
    for service in named(project, &inv.args) {
        let name = service.name.clone();
        let Some(image) = service.image.clone() else {
            progress.done(name, "Skipped - No image to be pulled");
            continue;
        };
        if service.build.is_some() && inv.flags.is_set(Flag::IGNORE_BUILDABLE) {
            progress.done(name, "Skipped - Image can be built");
            continue;
        }
        if let Some(first) = pulling.get(&image) {
            progress.done(
                name,
                &format!("Skipped - Image is already being pulled by {first}"),
            );
            continue;
        }
        pulling.insert(image.clone(), name.clone());
        let mut out = Printer::new(ctx).quiet();
        match super::transfer::pull_image(ctx, &image, &mut out, Stream::Stdout).await {
            Ok(()) => progress.done(name, "Pulled"),
            // An image the project builds need not be in a registry yet: Compose warns and goes on.
            Err(_) if service.build.is_some() => {
                progress.done(name.clone(), "Warning");
                must_build.push(name);
            }
            Err(e) => {
                progress.done(name, "Error");
                return failed(&progress, inv, format!("Error response from daemon: {e}"));
            }
        }
    }
    let mut outcome = quiet_or(&progress, inv);
    if !must_build.is_empty() {
        outcome.stderr.push_str(&format!(
            "WARNING: Some service image(s) must be built from source by running:\n    docker compose build {}\n",
            must_build.join(" ")
        ));
    }
    outcome
}

/// `docker compose push [-q] [SERVICE...]`: the image of each service that has both `build:` and `image:`
/// (others are `Skipped`, as Compose skips them), one line per layer as Compose prints docker's
/// (` ✔ Pushing localhost:8080/me/web:1: 3f1c0a9b2d4e  Pushed`).
pub async fn push<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, project: &Project) -> Outcome {
    let mut progress = Progress::at_the_end(ctx, inv, "Pushing");
    let quiet_ctx = CommandContext {
        progress: None,
        status: None,
        ..*ctx
    };
    for service in named(project, &inv.args) {
        let (Some(_), Some(image)) = (&service.build, &service.image) else {
            progress.done(service.name.clone(), "Skipped");
            continue;
        };
        let words = ["docker", "push", image.as_str()].map(String::from);
        let Ok(Parsed::Run(line)) = parse(&words) else {
            return failed(&progress, inv, format!("invalid reference format: {image}"));
        };
        let pushed = super::transfer::push(&quiet_ctx, &line).await;
        if pushed.exit_code != 0 {
            let why = pushed.stderr.trim_end().to_string();
            return failed(&progress, inv, why);
        }
        for (layer, status) in pushed.stdout.lines().filter_map(layer_status) {
            progress.done(format!("Pushing {image}: {layer}"), status);
        }
    }
    quiet_or(&progress, inv)
}

/// `3f1c0a9b2d4e: Pushed` (a layer's last line of `docker push`) as its id and status.
fn layer_status(line: &str) -> Option<(&str, &str)> {
    let (id, status) = line.split_once(": ")?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some((id, status))
}

fn quiet_or(progress: &Progress<'_>, inv: &Invocation) -> Outcome {
    Outcome {
        stderr: match inv.flags.is_set(Flag::QUIET) {
            true => String::new(),
            false => progress.render(),
        },
        ..Outcome::default()
    }
}

fn failed(progress: &Progress<'_>, inv: &Invocation, message: String) -> Outcome {
    let mut out = quiet_or(progress, inv);
    out.stderr.push_str(&format!("{message}\n"));
    out.exit_code = 1;
    out
}

/// The images `down --rmi local|all` removes: `local` those without a custom tag (the ones `build:` named
/// `PROJECT-SERVICE`), `all` every service's image; each once, in the services' order.
pub fn images_to_remove(project: &Project, rmi: &str) -> Result<Vec<String>, String> {
    let all = match rmi {
        "local" => false,
        "all" => true,
        other => return Err(format!("invalid value for --rmi: {other:?}")),
    };
    let mut out: Vec<String> = Vec::new();
    for service in project.services.values() {
        if all || service.image.is_none() {
            let image = image_of(project, service);
            if !out.contains(&image) {
                out.push(image);
            }
        }
    }
    Ok(out)
}

/// `down --rmi`, after `down` removed the containers: the images [`images_to_remove`] lists that the session
/// has, removed (` ✔ Image app-web  Removed`).
pub async fn remove_images<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
    rmi: &str,
) -> Outcome {
    let images = match images_to_remove(project, rmi) {
        Ok(images) => images,
        Err(why) => return Outcome::failure(format!("{why}\n"), 1),
    };
    let mut progress = Progress::at_the_end(ctx, inv, "Running");
    let quiet_ctx = CommandContext {
        progress: None,
        status: None,
        ..*ctx
    };
    for image in images {
        if !present(ctx, &image).await {
            continue;
        }
        let words = ["docker", "rmi", image.as_str()].map(String::from);
        let Ok(Parsed::Run(line)) = parse(&words) else {
            continue;
        };
        // Compose's working event first (`removeImage` in `pkg/compose/down.go`), seen in plain mode.
        progress.set(format!("Image {image}"), "Removing");
        let removed = super::images::remove(&quiet_ctx, &line).await;
        if removed.exit_code != 0 {
            progress.set(format!("Image {image}"), "Error");
            let mut stderr = progress.render();
            stderr.push_str(&removed.stderr);
            return Outcome::failure(stderr, 1);
        }
        progress.set(format!("Image {image}"), "Removed");
    }
    Outcome {
        stderr: progress.render(),
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::compose_up::tests::project;
    use super::*;

    const FILE: &str = "services:\n  web:\n    build: .\n  api:\n    image: me/api:1\n    build:\n      \
                        context: ./api\n      dockerfile: api.Dockerfile\n      args: {A: '1', B: '2'}\n      \
                        target: prod\n      labels: {x: y}\n  cache:\n    image: redis:7\n";

    #[test]
    fn a_service_is_built_as_compose_names_and_builds_it() {
        let p = project(FILE);
        let words = build_words(&p, &p.services["web"], &[], (false, false)).unwrap();
        assert_eq!(
            words.join(" "),
            "docker build -t app-web -f ./Dockerfile --label com.docker.compose.project=app \
             --label com.docker.compose.service=web ."
        );
        let line = ["B=3".to_string()];
        let words = build_words(&p, &p.services["api"], &line, (true, true)).unwrap();
        assert_eq!(
            words.join(" "),
            "docker build -t me/api:1 -f ./api/api.Dockerfile --build-arg A=1 --build-arg B=3 --target prod \
             --label com.docker.compose.project=app --label com.docker.compose.service=api --label x=y \
             --no-cache -q ./api"
        );
        // The words parse as the `docker build` they are.
        assert!(matches!(parse(&words), Ok(Parsed::Run(_))));
        let outside = project("services:\n  web:\n    build: /elsewhere\n");
        let why = build_words(&outside, &outside.services["web"], &[], (false, false)).unwrap_err();
        assert!(why.contains("outside the project directory"), "{why}");
    }

    #[test]
    fn down_rmi_local_removes_only_built_names() {
        let p = project(FILE);
        assert_eq!(
            images_to_remove(&p, "local").unwrap(),
            vec!["app-web".to_string()]
        );
        assert_eq!(
            images_to_remove(&p, "all").unwrap(),
            ["me/api:1", "redis:7", "app-web"].map(String::from).to_vec()
        );
        assert_eq!(
            images_to_remove(&p, "some").unwrap_err(),
            "invalid value for --rmi: \"some\""
        );
        assert_eq!(
            layer_status("3f1c0a9b2d4e: Pushed"),
            Some(("3f1c0a9b2d4e", "Pushed"))
        );
        assert_eq!(layer_status("The push refers to repository [x]"), None);
    }

    /// A builder that records the lines it is given and answers as a build that worked.
    struct Recorder(std::cell::RefCell<Vec<String>>);

    impl ImageBuilder for Recorder {
        fn build<'b>(&'b self, inv: &'b Invocation) -> Pin<Box<dyn Future<Output = Outcome> + 'b>> {
            self.0.borrow_mut().push(inv.flags.values(Flag::TAG).join(","));
            Box::pin(async { Outcome::default() })
        }
    }

    #[test]
    fn build_prints_composes_lines_after_the_builds() {
        let p = project(FILE);
        let recorder = Recorder(Default::default());
        let line = |words: &str| match crate::cli::interpret::plan_line(words) {
            super::super::outcome::Step::Compose(inv) => {
                let words: Vec<String> = inv.args.clone();
                match crate::cli::parse::parse_command(
                    inv.flags.clone(),
                    super::super::spec::CommandSpec::of(super::super::spec::CommandId::ComposeBuild),
                    vec!["compose", "build"],
                    &words[1..],
                ) {
                    Ok(Parsed::Run(sub)) => sub,
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        };
        let built = |words: &str, builder: Option<&dyn ImageBuilder>, mode: ProgressMode| {
            crate::builder::block_on(build(&p, &line(words), builder, mode))
        };
        // On a terminal (Compose's TTY writer) the block; piped (its plain writer) one line per service.
        let out = built("docker compose build", Some(&recorder), ProgressMode::Tty);
        assert_eq!(
            out.stderr,
            "[+] Building 2/2\n ✔ Service api  Built\n ✔ Service web  Built\n"
        );
        assert_eq!(*recorder.0.borrow(), ["me/api:1", "app-web"]);
        let piped = built("docker compose build", Some(&recorder), ProgressMode::Plain);
        assert_eq!(piped.stderr, " Service api  Built\n Service web  Built\n");
        let quiet = built(
            "docker compose build -q web",
            Some(&recorder),
            ProgressMode::Plain,
        );
        assert_eq!(quiet, Outcome::default());
        let none = built("docker compose build", None, ProgressMode::Plain);
        assert_eq!((none.stderr.as_str(), none.exit_code), (NO_BUILDER, 1));
    }
}
