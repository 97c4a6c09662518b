//! `docker compose run`: a one-off container of a service, as Compose makes it (`pkg/compose/run.go`): named
//! `PROJECT-SERVICE-run-XXXXXXXXXXXX`, labelled `com.docker.compose.oneoff=True` with the project's and
//! service's labels, on the project's networks (without the service's aliases) with the service's volumes,
//! environment and settings, its ports published only with `--service-ports` or `-p`, its dependencies started
//! first unless `--no-deps`. Attached (a TTY unless `-T`) the terminal connects to it as for `docker run -it`;
//! with `-d` its id is printed. See docs/compose.md.

use sha2::{Digest, Sha256};

use super::attach::AttachTarget;
use super::compose_project::{self, container_labels};
use super::compose_up::{self as up, Progress};
use super::context::{CommandContext, Stream};
use super::mounts::{apply_compose_binds, project_binds, volume_flag, ComposeBinds};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{paths, Companion, CompanionError, CreateContainer, NetworkConnect};
use crate::compose::model::{Project, Service};
use crate::compose::project::Loaded;
use crate::registry::Transport;

/// Compose's label for a one-off container's slug (the random part of its name).
const SLUG: &str = "com.docker.compose.slug";

/// The one-off's name Compose gives it: `PROJECT-SERVICE-run-` and 12 hex digits of its slug. Compose's slug is
/// random; here it is a hash of the project, the service, the time and `salt` (the first `salt` whose name is
/// free is taken), so the page needs no random source.
fn run_name(project: &str, service: &str, now: u64, salt: u32) -> (String, String) {
    let slug = format!(
        "{:x}",
        Sha256::digest(format!("{project}/{service}/{now}/{salt}"))
    );
    (format!("{project}-{service}-run-{}", &slug[..12]), slug)
}

/// What `POST /api/containers` is asked for a `compose run` of `service` (`name`, `labels` made by the caller):
/// the service's container with the line's flags over it, as Compose's `applyRunOptions` lays them.
fn one_off_request(
    project: &Project,
    service: &Service,
    inv: &Invocation,
) -> Result<CreateContainer, String> {
    let flags = &inv.flags;
    let mut request = up::create_request(project, service, 1);
    let options = &mut request.options;
    // Compose gives a one-off the service's aliases only with `--use-aliases`, and no restart policy.
    if !flags.is_set(Flag::USE_ALIASES) {
        options.network_aliases.clear();
    }
    options.restart = Default::default();
    options.tty = !flags.is_set(Flag::NO_TTY);
    options.interactive = true;
    options.auto_remove = flags.is_set(Flag::RM);
    if inv.args.len() > 1 {
        options.cmd = inv.args[1..].to_vec();
    }
    if let Some(entrypoint) = flags.value(Flag::ENTRYPOINT) {
        let words = super::words::split_words(entrypoint).map_err(|e| e.to_string())?;
        options.entrypoint = Some(words);
        if inv.args.len() == 1 {
            options.cmd.clear();
        }
    }
    for pair in flags.values(Flag::ENV) {
        let key = pair.split_once('=').map_or(pair.as_str(), |(k, _)| k);
        options
            .env
            .retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
        options.env.push(pair.clone());
    }
    if let Some(dir) = flags.value(Flag::WORKDIR) {
        options.workdir = Some(dir.to_string());
    }
    if let Some(user) = flags.value(Flag::USER) {
        options.user = Some(user.to_string());
    }
    if !flags.is_set(Flag::SERVICE_PORTS) {
        options.publish.clear();
    }
    for spec in flags.values(Flag::PUBLISH) {
        options
            .publish
            .push(super::containers::publish_spec(spec).map_err(|e| e.to_string())?);
    }
    for text in flags.values(Flag::VOLUME) {
        let mut mount = volume_flag(text).map_err(|e| e.to_string())?;
        if !mount.source.is_empty() && mount.bind.is_none() {
            mount.source = up::volume_name(project, &mount.source);
        }
        options.volumes.push(mount);
    }
    for pair in flags.values(Flag::LABEL) {
        let (k, v) = pair.split_once('=').ok_or("label must be set as KEY=VALUE")?;
        options.labels.insert(k.to_string(), v.to_string());
    }
    Ok(request)
}

/// The service a `compose run` line names, checked as Compose checks its flags and the service.
fn service_of<'p>(project: &'p Project, inv: &Invocation) -> Result<&'p Service, String> {
    if flags_conflict(inv) {
        return Err("--service-ports and --publish are incompatible".into());
    }
    let name = &inv.args[0];
    let service = project
        .services
        .get(name)
        .ok_or_else(|| format!("no such service: {name}"))?;
    match up::unsupported(service) {
        Some(why) => Err(why),
        None => Ok(service),
    }
}

fn flags_conflict(inv: &Invocation) -> bool {
    inv.flags.is_set(Flag::SERVICE_PORTS) && !inv.flags.values(Flag::PUBLISH).is_empty()
}

/// Start what `service` depends on (unless `--no-deps`), as `up -d` would, waiting for their conditions:
/// Compose's `[+] Creating N/N` block, and the binds of the project's files packed for them and the one-off.
async fn dependencies<T: Transport>(
    ctx: &CommandContext<'_, T>,
    loaded: &Loaded,
    service: &Service,
    inv: &Invocation,
) -> Result<(String, ComposeBinds), Outcome> {
    let project = &loaded.project;
    let needed: Vec<Service> = match inv.flags.is_set(Flag::NO_DEPS) {
        true => vec![service.clone()],
        false => up::ordered(project, std::slice::from_ref(&service.name)),
    };
    if let Some(why) = needed.iter().find_map(up::unsupported) {
        return Err(Outcome::failure(format!("{why}\n"), 1));
    }
    let mut pulled = up::pull_missing(ctx, inv, project, &needed).await;
    if pulled.exit_code != 0 {
        return Err(pulled);
    }
    let binds = up::pack_binds(ctx, project, &needed, &mut pulled.stderr)
        .await
        .map_err(|e| Outcome::failure(format!("{}{e}\n", pulled.stderr), 1))?;
    let companion = Companion::new(ctx.transport, ctx.base);
    let mut progress = Progress::at_the_end(ctx, inv, "Creating");
    if let Err(e) = up::create_missing(&companion, up::wanted(project, &needed), &mut progress).await {
        return Err(up::failed(&progress, e.to_string()));
    }
    let existing = compose_project::members(&companion, &project.name)
        .await
        .map_err(|e| up::failed(&progress, e.to_string()))?;
    let files = compose_project::config_files(project, &loaded.files);
    for dep in needed.iter().filter(|s| s.name != service.name) {
        let mine: Vec<&compose_project::Member> = existing
            .iter()
            .filter(|m| !m.oneoff && m.service == dep.name)
            .collect();
        if let Err(e) = up::dependencies(&companion, project, dep, &mut progress).await {
            return Err(up::dependency_failed(&mut progress, e));
        }
        let scale = dep.scale.unwrap_or(1);
        let settings = (scale, files.as_str(), &binds);
        if let Err(e) = up::converge(&companion, project, dep, settings, &mine, &mut progress).await {
            return Err(up::failed(&progress, e.to_string()));
        }
    }
    if !inv.flags.is_set(Flag::NO_DEPS) {
        if let Err(e) = up::dependencies(&companion, project, service, &mut progress).await {
            return Err(up::dependency_failed(&mut progress, e));
        }
    }
    Ok((format!("{}{}", pulled.stderr, progress.render()), binds))
}

/// Create the one-off container of a `compose run` line (its dependencies started first) and start it: its id
/// and name, and what was printed on the way (the dependencies' block).
async fn started<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    loaded: &Loaded,
) -> Result<(String, String, String), Outcome> {
    let project = &loaded.project;
    let said = |why: String| Outcome::failure(format!("{why}\n"), 1);
    let service = service_of(project, inv).map_err(said)?;
    let mut request = one_off_request(project, service, inv).map_err(said)?;
    let (printed, binds) = dependencies(ctx, loaded, service, inv).await?;
    apply_compose_binds(&service.name, &mut request.options.volumes, &binds);
    // The line's own `-v ./x:/y` binds, packed as `docker run` packs them.
    let (mut typed, packed): (Vec<_>, Vec<_>) = std::mem::take(&mut request.options.volumes)
        .into_iter()
        .partition(|m| m.bind.as_ref().is_some_and(|b| b.digest.is_empty()));
    let notes = project_binds(ctx, &mut typed).await.map_err(said)?;
    request.options.volumes = packed.into_iter().chain(typed).collect();
    let printed = notes.iter().fold(printed, |all, note| format!("{all}{note}\n"));
    let companion = Companion::new(ctx.transport, ctx.base);
    let daemon =
        |e: CompanionError| Outcome::failure(format!("{printed}Error response from daemon: {e}\n"), 1);
    let taken: Vec<String> = companion
        .containers(true)
        .await
        .map_err(daemon)?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let (name, slug) = match inv.flags.value(Flag::NAME) {
        Some(name) => (
            name.to_string(),
            run_name(&project.name, &service.name, ctx.now, 0).1,
        ),
        None => (0..)
            .map(|salt| run_name(&project.name, &service.name, ctx.now, salt))
            .find(|(name, _)| !taken.contains(name))
            .unwrap_or_default(),
    };
    let files = compose_project::config_files(project, &loaded.files);
    let mut labels = container_labels(project, service, 1, true, &files);
    labels.insert(SLUG.to_string(), slug);
    labels.extend(std::mem::take(&mut request.options.labels));
    request.options.labels = labels;
    request.options.name = Some(name.clone());
    let created = companion.create(&request, false).await.map_err(daemon)?;
    for (network, _) in up::network_names(project, service).into_iter().skip(1) {
        let connect = NetworkConnect {
            container: created.id.clone(),
            aliases: Vec::new(),
        };
        companion
            .connect_network(&network, &connect)
            .await
            .map_err(daemon)?;
    }
    companion.start(&created.id).await.map_err(daemon)?;
    Ok((created.id, name, printed))
}

/// What a `compose run` builds first (Compose's `run.go`: `--build` rebuilds the service's image, and its
/// dependencies' unless `--no-deps`; a missing image of a service with `build:` is built too), as `up` does it.
pub async fn build_first<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
    builder: Option<&dyn super::compose_build::ImageBuilder>,
) -> Outcome {
    let mut services = inv.clone();
    services.args.truncate(1);
    if inv.flags.is_set(Flag::NO_DEPS) {
        // Only the service's own image: `before_up` takes the named services with what they depend on.
        let Some(service) = project.services.get(&inv.args[0]) else {
            return Outcome::default();
        };
        let mut alone = project.clone();
        alone.services.retain(|name, _| *name == service.name);
        if let Some(own) = alone.services.get_mut(&service.name) {
            own.depends_on.clear();
        }
        return super::compose_build::before_up(ctx, &services, &alone, builder).await;
    }
    super::compose_build::before_up(ctx, &services, project, builder).await
}

/// `docker compose run -d ...`: the one-off started, its id printed (as `docker start` prints what it started).
pub async fn detached<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    loaded: &Loaded,
) -> Outcome {
    match started(ctx, inv, loaded).await {
        Ok((id, _, printed)) => Outcome {
            stdout: format!("{id}\n"),
            stderr: printed,
            exit_code: 0,
        },
        Err(failed) => failed,
    }
}

/// `docker compose run ...` attached: what it builds first ([`build_first`], by `builder`; its output printed
/// through the context's progress), the one-off started (the dependencies' block printed the same way), and
/// where the terminal attaches to it.
pub async fn attached<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    loaded: &Loaded,
    builder: Option<&dyn super::compose_build::ImageBuilder>,
) -> Result<AttachTarget, Outcome> {
    let built = build_first(ctx, inv, &loaded.project, builder).await;
    if built.exit_code != 0 {
        return Err(built);
    }
    if let Some(progress) = ctx.progress {
        for (stream, text) in [(Stream::Stderr, &built.stderr), (Stream::Stdout, &built.stdout)] {
            text.lines().for_each(|line| progress(stream, line));
        }
    }
    let (id, container, printed) = started(ctx, inv, loaded).await?;
    if let Some(progress) = ctx.progress {
        for line in printed.lines() {
            progress(Stream::Stderr, line);
        }
    }
    let companion = Companion::new(ctx.transport, ctx.base);
    super::compose_exec::target_of(&companion, &paths::container_attach_ticket(&id), container).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PortMapping;
    use crate::cli::interpret::plan_line;
    use crate::cli::outcome::Step;
    use crate::compose::project::{load, Options};
    use std::collections::BTreeMap;

    fn project() -> Project {
        let files = BTreeMap::from([(
            "compose.yaml".to_string(),
            "services:\n  web:\n    image: busybox\n    command: [httpd, -f]\n    ports: ['8080:80']\n    \
             environment: {A: one, B: two}\n    restart: always\n    networks: [front, default]\n    \
             depends_on: [db]\n  db:\n    image: busybox\n    volumes: [./x:/x]\nnetworks:\n  front: {}\n\
             volumes:\n  data: {}\n"
                .to_string(),
        )]);
        let opts = Options {
            project_name: Some("app".into()),
            working_dir: "/project".into(),
            ..Options::default()
        };
        load(&files, &opts).expect("loads").project
    }

    fn sub(line: &str) -> Invocation {
        let Step::Compose(inv) = plan_line(line) else {
            panic!("{line} is not a compose line");
        };
        crate::cli::compose::subcommand(&inv).unwrap()
    }

    #[test]
    fn a_one_off_is_the_service_with_the_lines_flags_over_it() {
        let p = project();
        let web = &p.services["web"];
        let plain = one_off_request(&p, web, &sub("docker compose run web")).unwrap();
        assert_eq!(plain.options.cmd, ["httpd", "-f"]);
        assert!(
            plain.options.publish.is_empty(),
            "ports only with --service-ports"
        );
        assert!(plain.options.network_aliases.is_empty());
        assert_eq!(plain.options.network.as_deref(), Some("app_default"));
        assert_eq!(plain.options.restart, Default::default());
        assert!(plain.options.tty && plain.options.interactive && !plain.options.auto_remove);
        let line = "docker compose run --rm -T -e A=1 -e C=3 -u 1000 -w /tmp -v data:/d -l k=v --entrypoint 'sh -c' \
                    web 'echo hi'";
        let flagged = one_off_request(&p, web, &sub(line)).unwrap();
        let o = &flagged.options;
        assert!(o.auto_remove && !o.tty);
        assert_eq!(
            o.entrypoint.as_deref(),
            Some(&["sh".to_string(), "-c".to_string()][..])
        );
        assert_eq!(o.cmd, ["echo hi"]);
        assert_eq!(o.env, ["B=two", "A=1", "C=3"]);
        assert_eq!(
            (o.user.as_deref(), o.workdir.as_deref()),
            (Some("1000"), Some("/tmp"))
        );
        assert_eq!(o.volumes[0].source, "app_data");
        assert_eq!(o.labels.get("k").map(String::as_str), Some("v"));
        let entry_only = one_off_request(&p, web, &sub("docker compose run --entrypoint env web")).unwrap();
        assert!(
            entry_only.options.cmd.is_empty(),
            "an entrypoint without a command drops the service's"
        );
        let ports = one_off_request(&p, web, &sub("docker compose run --service-ports web")).unwrap();
        assert_eq!(
            ports.options.publish,
            [PortMapping {
                host: 8080,
                container: 80
            }]
        );
        let published = one_off_request(&p, web, &sub("docker compose run -p 9000:80 web")).unwrap();
        assert_eq!(
            published.options.publish,
            [PortMapping {
                host: 9000,
                container: 80
            }]
        );
        assert_eq!(
            service_of(&p, &sub("docker compose run --service-ports -p 1:2 web")).unwrap_err(),
            "--service-ports and --publish are incompatible"
        );
        assert_eq!(
            service_of(&p, &sub("docker compose run nope")).unwrap_err(),
            "no such service: nope"
        );
        // A bind of the project's files is mounted (packed as `docker run -v ./x:/x` packs it).
        assert_eq!(service_of(&p, &sub("docker compose run db")).unwrap().name, "db");
    }

    #[test]
    fn one_offs_are_named_as_compose_names_them() {
        let (name, slug) = run_name("app", "web", 1_700_000_000, 0);
        assert!(
            name.starts_with("app-web-run-") && name.len() == "app-web-run-".len() + 12,
            "{name}"
        );
        assert!(slug.starts_with(&name["app-web-run-".len()..]) && slug.len() == 64);
        assert_ne!(run_name("app", "web", 1_700_000_000, 1).0, name);
    }
}
