//! `docker compose up` without `-d`, as Compose v2 runs it attached (`pkg/compose/up.go`, `printer.go`,
//! `attach.go`, `cmd/formatter/logs.go`): the project comes up as with `up -d` (the same `[+] Running N/N`
//! block), then `Attaching to redis-1, web-1` (the containers sorted by name, less the project) and every
//! container's output prefixed and coloured as `logs -f` shows it, with `web-1 exited with code 0` when one
//! ends, until every container has exited. `--abort-on-container-exit` stops the rest at the first exit
//! (`Aborting on container exit...`) and returns its code; `--exit-code-from SERVICE` (which implies it) returns
//! that service's. Ctrl-C prints `Gracefully stopping... (press Ctrl+C again to force)` and stops the containers
//! (`[+] Stopping 2/2`, ` ✔ Container app-web-1  Stopped`), exit 130; a second Ctrl-C kills them. The Ctrl-C
//! comes from the context's [`InterruptSource`] (the page's terminal, natively SIGINT). See docs/compose.md.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::compose_logs::{short_name, Following, JoinAll, Lines, Prefixes, COLOURS};
use super::compose_project::{members, Member};
use super::compose_up::{ordered, Progress, ProgressMode};
use super::context::{CommandContext, InterruptSource, Stream};
use super::outcome::{Outcome, INTERRUPTED};
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, CompanionError, KillQuery, LogChunk, LogsQuery, StopQuery};
use crate::compose::model::Project;
use crate::compose::project::Loaded;
use crate::registry::Transport;

/// What ends the attached session besides every container exiting, as Compose's flags ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cascade {
    /// `--abort-on-container-exit` (or `--exit-code-from`): the first exit stops the rest.
    pub abort: bool,
    /// `--exit-code-from SERVICE`: the exit code returned is that service's.
    pub exit_code_from: Option<String>,
}

impl Cascade {
    /// The flags as Compose checks them (`cmd/compose/up.go`: `--exit-code-from` implies
    /// `--abort-on-container-exit`, which `-d` excludes).
    pub fn of(inv: &Invocation, project: &Project) -> Result<Cascade, String> {
        let exit_code_from = inv.flags.value(Flag::EXIT_CODE_FROM).map(str::to_string);
        let abort = inv.flags.is_set(Flag::ABORT_ON_CONTAINER_EXIT) || exit_code_from.is_some();
        if abort && detached(inv) {
            return Err("--abort-on-container-exit and --detach are incompatible".into());
        }
        let named = [Flag::ATTACH, Flag::NO_ATTACH]
            .into_iter()
            .flat_map(|f| inv.flags.values(f))
            .chain(exit_code_from.as_ref());
        if let Some(unknown) = named.into_iter().find(|s| !project.services.contains_key(*s)) {
            return Err(format!("no such service: {unknown}"));
        }
        Ok(Cascade {
            abort,
            exit_code_from,
        })
    }
}

/// `-d`, or `--wait` (which implies it).
fn detached(inv: &Invocation) -> bool {
    inv.flags.is_set(Flag::DETACH) || inv.flags.is_set(Flag::WAIT)
}

/// The services whose output is shown: those `up` starts (the named ones and what they depend on), only the
/// `--attach` ones when given, less the `--no-attach` ones.
pub fn attached_services(project: &Project, inv: &Invocation) -> BTreeSet<String> {
    let only = inv.flags.values(Flag::ATTACH);
    let not = inv.flags.values(Flag::NO_ATTACH);
    ordered(project, &inv.args)
        .into_iter()
        .map(|s| s.name)
        .filter(|s| only.is_empty() || only.contains(s))
        .filter(|s| !not.contains(s))
        .collect()
}

/// `docker compose up [-d] ...`: detached as [`super::compose_up::up`], else attached.
pub async fn up<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, loaded: &Loaded) -> Outcome {
    let project = &loaded.project;
    let cascade = match Cascade::of(inv, project) {
        Ok(cascade) => cascade,
        Err(why) => return Outcome::failure(format!("{why}\n"), 1),
    };
    if detached(inv) {
        return super::compose_up::up(ctx, inv, loaded).await;
    }
    let companion = Companion::new(ctx.transport, ctx.base);
    // Compose attaches to new output only: what a container of the project printed before this `up` is not shown.
    let printed = printed_before(&companion, &project.name).await;
    let started = super::compose_up::up(ctx, inv, loaded).await;
    if started.exit_code != 0 {
        return started;
    }
    let collected = RefCell::new(Outcome::default());
    let show = |stream: Stream, line: &str| match ctx.progress {
        Some(sink) => sink(stream, line),
        None => append(&mut collected.borrow_mut(), stream, line),
    };
    for (stream, text) in [
        (Stream::Stdout, &started.stdout),
        (Stream::Stderr, &started.stderr),
    ] {
        text.lines().for_each(|line| show(stream, line));
    }
    let all = match members(&companion, &project.name).await {
        Ok(all) => all,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    let services = ordered(project, &inv.args);
    let shown = attached_services(project, inv);
    // Attached in name order (Compose's `containers.sorted()`, which also hands out the colours).
    let targets: Vec<&Member> = all
        .iter()
        .filter(|m| !m.oneoff && shown.contains(&m.service))
        .collect();
    // Stopped dependents first, as `compose stop` stops them.
    let stop_list: Vec<(String, String)> = services
        .iter()
        .rev()
        .flat_map(|s| all.iter().filter(|m| !m.oneoff && m.service == s.name))
        .map(|m| (m.row.id.clone(), m.row.name.clone()))
        .collect();
    let names: Vec<String> = targets.iter().map(|m| short_name(&project.name, m)).collect();
    show(Stream::Stdout, &format!("Attaching to {}", names.join(", ")));
    let look = Look {
        colour: ctx.status.is_some() && !inv.flags.is_set(Flag::NO_COLOR),
        prefix: !inv.flags.is_set(Flag::NO_LOG_PREFIX),
    };
    let shared = Shared::new(cascade);
    let attached = Attached {
        companion: &companion,
        shared: &shared,
        show: &show,
        stop_list: &stop_list,
        progress: ProgressMode::of_line(ctx, inv),
        printed: &printed,
    };
    let result = attached.run(&targets, &names, look, ctx.interrupt).await;
    let mut out = collected.into_inner();
    out.exit_code = match result {
        Err(e) => {
            out.stderr.push_str(&format!("{e}\n"));
            1
        }
        Ok(()) if shared.interrupts.get() > 0 => INTERRUPTED,
        Ok(()) => shared.exit_code.get().unwrap_or(0),
    };
    out
}

/// The sequence number of the last chunk each of the project's containers printed so far.
async fn printed_before<T: Transport>(companion: &Companion<'_, T>, project: &str) -> BTreeMap<String, u64> {
    let mut printed = BTreeMap::new();
    for m in members(companion, project).await.unwrap_or_default() {
        let query = LogsQuery {
            tail: Some(1),
            ..LogsQuery::default()
        };
        if let Some(last) = companion
            .logs(&m.row.id, &query)
            .await
            .ok()
            .and_then(|c| c.last().cloned())
        {
            printed.insert(m.row.id, last.seq);
        }
    }
    printed
}

fn append(out: &mut Outcome, stream: Stream, line: &str) {
    let text = match stream {
        Stream::Stdout => &mut out.stdout,
        Stream::Stderr => &mut out.stderr,
    };
    text.push_str(line);
    text.push('\n');
}

/// How the lines look: coloured on a terminal (the page's, a TTY) unless `--no-color`; prefixed unless
/// `--no-log-prefix`.
#[derive(Debug, Clone, Copy)]
struct Look {
    colour: bool,
    prefix: bool,
}

/// What the containers' follows and the session share.
struct Shared {
    cascade: Cascade,
    /// Ctrl-C or the first exit (with `--abort-on-container-exit`) began the stop: output is no longer shown.
    aborting: Cell<bool>,
    /// The first exit under `--abort-on-container-exit` asks the session to stop the rest.
    abort_now: Cell<bool>,
    /// The code returned under the cascade: the first exit of `--exit-code-from`'s service, else of any.
    exit_code: Cell<Option<i32>>,
    interrupts: Cell<u32>,
}

impl Shared {
    fn new(cascade: Cascade) -> Shared {
        Shared {
            cascade,
            aborting: Cell::new(false),
            abort_now: Cell::new(false),
            exit_code: Cell::new(None),
            interrupts: Cell::new(0),
        }
    }

    /// A container of `service` exited with `code`: whether to say so (Compose stays quiet once aborting).
    fn exited(&self, service: &str, code: i32) -> bool {
        let say = !self.aborting.get();
        let counted = match &self.cascade.exit_code_from {
            Some(from) => from == service,
            None => self.cascade.abort,
        };
        if counted && self.exit_code.get().is_none() && self.interrupts.get() == 0 {
            self.exit_code.set(Some(code));
        }
        if self.cascade.abort && !self.aborting.get() {
            self.aborting.set(true);
            self.abort_now.set(true);
        }
        say
    }
}

/// The attached session's parts.
struct Attached<'a, 'c, T: Transport> {
    companion: &'a Companion<'c, T>,
    shared: &'a Shared,
    show: &'a dyn Fn(Stream, &str),
    stop_list: &'a [(String, String)],
    /// How the line prints Compose's progress (the stop's).
    progress: ProgressMode,
    /// Per container id, the last chunk printed before this `up` (not shown again).
    printed: &'a BTreeMap<String, u64>,
}

impl<'a, 'c, T: Transport> Attached<'a, 'c, T> {
    /// Follow every target until all have exited, stopping them on Ctrl-C or the cascade.
    async fn run(
        &self,
        targets: &[&Member],
        names: &[String],
        look: Look,
        interrupt: Option<InterruptSource<'_>>,
    ) -> Result<(), CompanionError> {
        let prefixes = Prefixes::new(names, look.prefix, look.colour).prefixes;
        let futures = targets
            .iter()
            .zip(prefixes)
            .enumerate()
            .map(|(i, (m, prefix))| {
                let status = match look.colour {
                    true => format!(
                        "\x1b[{}m{} exited with code ",
                        COLOURS[i % COLOURS.len()],
                        names[i]
                    ),
                    false => format!("{} exited with code ", names[i]),
                };
                Some(self.follow(m, prefix, status, look.colour))
            })
            .collect();
        Session {
            follows: JoinAll {
                futures,
                first_error: None,
            },
            followed: None,
            interrupt: interrupt.map(|next| next()),
            source: interrupt,
            stopping: None,
            attached: self,
        }
        .await
    }

    /// One container's output, prefixed, until it exits; then `web-1 exited with code N` (`status`).
    fn follow(&self, m: &Member, prefix: String, status: String, colour: bool) -> Following<'a> {
        let (companion, shared, show) = (self.companion, self.shared, self.show);
        let (id, service) = (m.row.id.clone(), m.service.clone());
        let seen = self.printed.get(&id).copied();
        Box::pin(async move {
            let cut = RefCell::new(Lines::new(prefix, false));
            let print = |lines: Vec<(Stream, String)>| {
                if !shared.aborting.get() {
                    lines.iter().for_each(|(stream, line)| show(*stream, line));
                }
            };
            let mut on_chunk = |chunk: LogChunk| {
                if seen.is_none_or(|seen| chunk.seq > seen) {
                    print(cut.borrow_mut().push(&chunk));
                }
            };
            let followed = companion
                .follow_logs(&id, &LogsQuery::default(), &mut on_chunk)
                .await;
            print(cut.borrow_mut().rest());
            followed?;
            let code = companion.wait(&id).await?.exit_code.unwrap_or(-1);
            if shared.exited(&service, code) {
                let end = if colour { "\x1b[0m" } else { "" };
                show(Stream::Stdout, &format!("{status}{code}{end}"));
            }
            Ok(())
        })
    }

    /// Stop (or with `kill`, kill) the project's containers, dependents first, then print Compose's block (or
    /// its plain lines).
    fn stop_all(&self, kill: bool) -> Pin<Box<dyn Future<Output = ()> + 'a>> {
        let (companion, show, list, mode) = (self.companion, self.show, self.stop_list, self.progress);
        Box::pin(async move {
            let title = if kill { "Killing" } else { "Stopping" };
            let mut progress = Progress::in_mode(title, mode);
            // Plain lines are shown as they come: a stop a second Ctrl-C cuts short has said what it began.
            let flush = |progress: &mut Progress<'_>| {
                progress
                    .take_printed()
                    .lines()
                    .for_each(|line| show(Stream::Stderr, line))
            };
            for (id, name) in list {
                if !kill {
                    // Compose's working event first (`stopContainers`), seen in plain mode.
                    progress.set(format!("Container {name}"), "Stopping");
                    flush(&mut progress);
                }
                let done = match kill {
                    true => companion.kill(id, &KillQuery::default()).await.map(|()| "Killed"),
                    false => companion
                        .stop(id, &StopQuery { t: None })
                        .await
                        .map(|()| "Stopped"),
                };
                // One that had exited already is stopped all the same (Compose lists it so); not killed.
                match done {
                    Ok(state) => progress.set(format!("Container {name}"), state),
                    Err(_) if !kill => progress.set(format!("Container {name}"), "Stopped"),
                    Err(_) => {}
                }
                flush(&mut progress);
            }
            progress
                .render()
                .lines()
                .for_each(|line| show(Stream::Stderr, line));
        })
    }
}

/// The follows, Ctrl-C and the stop, polled together (the page has one task): it ends when every container's
/// output has ended and no stop is under way.
struct Session<'a, 's, 'c, T: Transport> {
    follows: JoinAll<'a>,
    followed: Option<Result<(), CompanionError>>,
    interrupt: Option<Pin<Box<dyn Future<Output = ()> + 's>>>,
    source: Option<InterruptSource<'s>>,
    stopping: Option<Pin<Box<dyn Future<Output = ()> + 'a>>>,
    attached: &'a Attached<'a, 'c, T>,
}

impl<T: Transport> Session<'_, '_, '_, T> {
    /// Ctrl-C: the first stops the containers gracefully, a second kills them.
    fn interrupted(&mut self) {
        let shared = self.attached.shared;
        shared.interrupts.set(shared.interrupts.get() + 1);
        let first = shared.interrupts.get() == 1;
        if first {
            shared.aborting.set(true);
            (self.attached.show)(
                Stream::Stdout,
                "Gracefully stopping... (press Ctrl+C again to force)",
            );
        }
        self.stopping = Some(self.attached.stop_all(!first));
    }
}

impl<T: Transport> Future for Session<'_, '_, '_, T> {
    type Output = Result<(), CompanionError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.followed.is_none() {
            if let Poll::Ready(result) = Pin::new(&mut this.follows).poll(cx) {
                this.followed = Some(result);
            }
        }
        while let Some(next) = this.interrupt.as_mut() {
            if next.as_mut().poll(cx).is_pending() {
                break;
            }
            this.interrupt = this.source.map(|source| source());
            this.interrupted();
        }
        if this.attached.shared.abort_now.replace(false) && this.stopping.is_none() {
            (this.attached.show)(Stream::Stdout, "Aborting on container exit...");
            this.stopping = Some(this.attached.stop_all(false));
        }
        if let Some(stopping) = this.stopping.as_mut() {
            if stopping.as_mut().poll(cx).is_ready() {
                this.stopping = None;
            }
        }
        match (&this.followed, &this.stopping) {
            (Some(_), None) => Poll::Ready(this.followed.take().unwrap_or(Ok(()))),
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::interpret::plan_words;
    use crate::cli::outcome::Step;
    use crate::compose::project::{load, Options};
    use std::collections::BTreeMap;

    fn project() -> Project {
        let yaml =
            "services:\n  web:\n    image: busybox\n    depends_on: [db]\n  db:\n    image: busybox\n  \
                    other:\n    image: busybox\n";
        let files = BTreeMap::from([("compose.yaml".to_string(), yaml.to_string())]);
        let opts = Options {
            project_name: Some("app".into()),
            working_dir: "/project".into(),
            ..Options::default()
        };
        load(&files, &opts).expect("loads").project
    }

    /// The `up` invocation of a typed line.
    fn up(line: &str) -> Invocation {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let Step::Compose(inv) = plan_words(&words) else {
            panic!("{line}: not a compose line");
        };
        let args = inv.args.clone();
        let command = super::super::spec::CommandSpec::of(super::super::spec::CommandId::ComposeUp);
        match super::super::parse::parse_command(
            inv.flags.clone(),
            command,
            vec!["compose", "up"],
            &args[1..],
        ) {
            Ok(super::super::parse::Parsed::Run(sub)) => sub,
            _ => panic!("{line}: not an up to run"),
        }
    }

    #[test]
    fn the_flags_are_checked_as_compose_checks_them() {
        let p = project();
        // The pull policy: `--pull` over the file's `pull_policy`, `--build` making it `build`.
        let pulled = super::super::compose_up::tests::project(
            "services:\n  web:\n    image: busybox\n    pull_policy: always\n  db:\n    build: .\n",
        );
        let policy = |line: &str, service: &str| {
            super::super::compose_up::pull_policy_of(&up(line), &pulled.services[service])
        };
        assert_eq!(policy("docker compose up", "web").as_deref(), Ok("always"));
        assert_eq!(policy("docker compose up", "db").as_deref(), Ok("missing"));
        assert_eq!(
            policy("docker compose up --pull never", "web").as_deref(),
            Ok("never")
        );
        assert_eq!(policy("docker compose up --build", "db").as_deref(), Ok("build"));
        assert_eq!(
            policy("docker compose up --build", "web").as_deref(),
            Ok("always")
        );
        assert_eq!(
            policy("docker compose up --pull sometimes", "web"),
            Err("invalid --pull option \"sometimes\"".to_string())
        );
        let cascade = Cascade::of(&up("docker compose up --exit-code-from web"), &p).unwrap();
        assert!(cascade.abort);
        assert_eq!(cascade.exit_code_from.as_deref(), Some("web"));
        assert_eq!(
            Cascade::of(&up("docker compose up -d --abort-on-container-exit"), &p),
            Err("--abort-on-container-exit and --detach are incompatible".into())
        );
        assert_eq!(
            Cascade::of(&up("docker compose up --no-attach nope"), &p),
            Err("no such service: nope".into())
        );
        let all: Vec<String> = attached_services(&p, &up("docker compose up"))
            .into_iter()
            .collect();
        assert_eq!(all, ["db", "other", "web"]);
        let web: Vec<String> = attached_services(&p, &up("docker compose up web"))
            .into_iter()
            .collect();
        assert_eq!(web, ["db", "web"]);
        let quiet = attached_services(&p, &up("docker compose up web --no-attach db"));
        assert_eq!(quiet.into_iter().collect::<Vec<_>>(), ["web"]);
        let only = attached_services(&p, &up("docker compose up --attach other"));
        assert_eq!(only.into_iter().collect::<Vec<_>>(), ["other"]);
    }

    #[test]
    fn the_exit_code_is_the_first_exit_under_the_cascade_only() {
        let plain = Shared::new(Cascade::default());
        assert!(plain.exited("web", 3));
        assert_eq!(plain.exit_code.get(), None);
        let abort = Shared::new(Cascade {
            abort: true,
            exit_code_from: None,
        });
        assert!(abort.exited("db", 2));
        assert!(abort.abort_now.get());
        // The others, stopped by the cascade, are not announced and do not change the code.
        assert!(!abort.exited("web", 143));
        assert_eq!(abort.exit_code.get(), Some(2));
        let from = Shared::new(Cascade {
            abort: true,
            exit_code_from: Some("web".into()),
        });
        assert!(from.exited("db", 0));
        assert!(!from.exited("web", 143));
        assert_eq!(from.exit_code.get(), Some(143));
    }
}
