//! The container commands beside `run`: `start [-a]`, `wait`, `rename`, `pause`/`unpause`, `top`, and the prunes
//! (`container prune`, `image prune [-a]`, `system prune [-a]`), with docker 28's output, errors and exit codes
//! (docker/cli's `cli/command/container/{start,wait,rename,pause,unpause,top,prune}.go`, `image/prune.go` and
//! `system/prune.go`).

use std::collections::BTreeSet;

use super::context::{CommandContext, Printer, Stream};
use super::format::{human_size, tabwrite_min};
use super::images::{list_local, looks_like_id};
use super::outcome::{Outcome, INTERRUPTED};
use super::parse::Invocation;
use super::spec::{CommandId, Flag};
use crate::api::{Companion, CompanionError, RenameQuery};
use crate::image::local_store::LocalImage;
use crate::image::Reference;
use crate::registry::Transport;

/// `docker start [-a] CONTAINER...`: each name as typed on success; failures, then
/// `Error: failed to start containers: a, b` and exit code 1. With `-a`, the one container's output and exit
/// code once it exits.
pub async fn start<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    if inv.flags.is_set(Flag::ATTACH) {
        if inv.args.len() > 1 {
            return Outcome::failure(
                "you cannot start and attach multiple containers at once\n".into(),
                1,
            );
        }
        let name = &inv.args[0];
        if let Err(e) = companion.start(name).await {
            return Outcome::failure(format!("{e}\n"), 1);
        }
        return super::containers::wait_and_collect(ctx.transport, ctx.base, inv, name).await;
    }
    let mut out = Outcome::default();
    let mut failed = Vec::new();
    for name in &inv.args {
        match companion.start(name).await {
            Ok(()) => out.stdout.push_str(&format!("{name}\n")),
            Err(e) => {
                out.stderr.push_str(&format!("{e}\n"));
                failed.push(name.as_str());
            }
        }
    }
    if !failed.is_empty() {
        out.stderr.push_str(&format!(
            "Error: failed to start containers: {}\n",
            failed.join(", ")
        ));
        out.exit_code = 1;
    }
    out
}

/// `docker wait CONTAINER...`: each exit code once the container stopped; errors after them, exit code 1.
pub async fn wait<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    let mut out = Outcome::default();
    let mut errors = Vec::new();
    for name in &inv.args {
        match companion.wait(name).await {
            Ok(state) => out
                .stdout
                .push_str(&format!("{}\n", state.exit_code.unwrap_or(0))),
            Err(e) => errors.push(e.to_string()),
        }
    }
    finish_with_errors(out, &errors)
}

/// docker's `errors.New(strings.Join(errs, "\n"))`: every error after the output, exit code 1.
pub(super) fn finish_with_errors(mut out: Outcome, errors: &[String]) -> Outcome {
    if !errors.is_empty() {
        out.stderr.push_str(&format!("{}\n", errors.join("\n")));
        out.exit_code = 1;
    }
    out
}

/// `docker rename OLD NEW`: nothing on success; the daemon's error, then `Error: failed to rename container
/// named OLD`.
pub async fn rename<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let (old, new) = (inv.args[0].trim(), inv.args[1].trim());
    if old.is_empty() || new.is_empty() {
        return Outcome::failure("Error: Neither old nor new names may be empty\n".into(), 1);
    }
    let query = RenameQuery { name: new.into() };
    match Companion::new(ctx.transport, ctx.base).rename(old, &query).await {
        Ok(()) => Outcome::default(),
        Err(e) => Outcome::failure(format!("{e}\nError: failed to rename container named {old}\n"), 1),
    }
}

/// `docker pause|unpause CONTAINER...`: each name as typed; the errors after them, exit code 1.
pub async fn pause<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let companion = Companion::new(ctx.transport, ctx.base);
    let mut out = Outcome::default();
    let mut errors = Vec::new();
    for name in &inv.args {
        let done = match inv.command.id {
            CommandId::ContainerPause => companion.pause(name).await,
            _ => companion.unpause(name).await,
        };
        match done {
            Ok(()) => out.stdout.push_str(&format!("{name}\n")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    finish_with_errors(out, &errors)
}

/// `docker top CONTAINER`: `ps -ef`'s columns for the container's processes, in docker's tabwriter (at least
/// 20 wide). Other `ps` options are refused: the companion reads the processes itself.
pub async fn top<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let options = &inv.args[1..];
    if !options.is_empty() && options != ["-ef"] {
        return Outcome::failure(
            format!(
                "Error response from daemon: ps options are not supported here ({}): docker top shows ps -ef's \
                 columns\n",
                options.join(" ")
            ),
            1,
        );
    }
    match Companion::new(ctx.transport, ctx.base).top(&inv.args[0]).await {
        Ok(top) => {
            let rows: Vec<Vec<String>> = std::iter::once(top.titles).chain(top.processes).collect();
            Outcome::success(tabwrite_min(&rows, 20))
        }
        Err(e) => Outcome::failure(format!("{e}\n"), 1),
    }
}

/// How a prune's question was answered.
enum Answer {
    Yes,
    No,
    Interrupted,
}

/// docker's `PromptForConfirmation`: the warning, then `Are you sure you want to continue? [y/N] `; only `y`
/// or `Y` goes on. Without a terminal to ask on, nothing is removed (as docker reading an empty stdin).
async fn confirm<T: Transport>(ctx: &CommandContext<'_, T>, out: &mut Printer<'_>, warning: &str) -> Answer {
    out.progress(Stream::Stdout, warning);
    let question = "Are you sure you want to continue? [y/N] ";
    let Some(prompter) = ctx.prompter else {
        out.progress(Stream::Stdout, question);
        return Answer::No;
    };
    match prompter.ask(question, true).await {
        None => Answer::Interrupted,
        Some(answer) if matches!(answer.trim(), "y" | "Y") => Answer::Yes,
        Some(_) => Answer::No,
    }
}

/// Ask unless `-f`; Err is how the command ends without removing anything: a "no" ends it quietly with exit
/// code 0 (docker's cancelled prune), Ctrl-C with 130.
pub(super) async fn confirmed<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    out: &mut Printer<'_>,
    warning: &str,
) -> Result<(), i32> {
    if inv.flags.is_set(Flag::FORCE) {
        return Ok(());
    }
    match confirm(ctx, out, warning).await {
        Answer::Yes => Ok(()),
        Answer::No => Err(0),
        Answer::Interrupted => Err(INTERRUPTED),
    }
}

/// The end of every prune: what was deleted (a title, then one line each, then a blank line) and the space.
fn prune_report(out: &mut Printer<'_>, title: &str, lines: &[String], reclaimed: u64) {
    deleted_section(out, title, lines);
    out.line(
        Stream::Stdout,
        &format!("Total reclaimed space: {}", human_size(reclaimed)),
    );
}

/// What one pruner deleted: its title, one line each, a blank line; nothing when it deleted nothing.
fn deleted_section(out: &mut Printer<'_>, title: &str, lines: &[String]) {
    if !lines.is_empty() {
        out.line(Stream::Stdout, title);
        for line in lines {
            out.line(Stream::Stdout, line);
        }
        out.line(Stream::Stdout, "");
    }
}

/// `docker container prune [-f]`: remove the session's containers that do not run.
pub async fn container_prune<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let warning = "WARNING! This will remove all stopped containers.";
    if let Err(code) = confirmed(ctx, inv, &mut out, warning).await {
        out.outcome.exit_code = code;
        return out.done();
    }
    match Companion::new(ctx.transport, ctx.base).prune_containers().await {
        Ok(report) => {
            let reclaimed = report.space_reclaimed;
            prune_report(
                &mut out,
                "Deleted Containers:",
                &report.containers_deleted,
                reclaimed,
            );
            out.done()
        }
        Err(e) => out.fail(&e.to_string(), 1),
    }
}

/// `docker image prune [-a] [-f]`. Every local image here has a tag, so none is dangling: without `-a` nothing
/// is removed. With `-a`, every image no container (in any state) was created from is untagged and deleted.
pub async fn image_prune<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let all = inv.flags.is_set(Flag::ALL);
    let warning = if all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if let Err(code) = confirmed(ctx, inv, &mut out, warning).await {
        out.outcome.exit_code = code;
        return out.done();
    }
    match prune_images(ctx, all).await {
        Ok((lines, reclaimed)) => {
            prune_report(&mut out, "Deleted Images:", &lines, reclaimed);
            out.done()
        }
        Err(e) => out.fail(&e, 1),
    }
}

/// Remove the images a prune removes: none without `all` (every local image here has a tag, so none is
/// dangling); with it, every image no container was created from, untagged and deleted. docker's report lines
/// and the bytes freed.
async fn prune_images<T: Transport>(
    ctx: &CommandContext<'_, T>,
    all: bool,
) -> Result<(Vec<String>, u64), String> {
    if !all {
        return Ok((Vec::new(), 0));
    }
    let unused = unused_images(ctx).await?;
    let client = ctx.local_client();
    let (mut lines, mut reclaimed, mut deleted) = (Vec::new(), 0, BTreeSet::new());
    for image in &unused {
        let Ok(reference) = Reference::parse(&image.name()) else {
            continue;
        };
        let repository = ctx.local_repository(&reference);
        if let Err(e) = client.delete_manifest(&repository, &image.tag).await {
            return Err(format!("Error response from daemon: {e}"));
        }
        lines.push(format!("untagged: {}", image.name()));
        let last_tag = !unused.iter().any(|o| o.id == image.id && o.name() > image.name());
        if last_tag && deleted.insert(image.id.clone()) {
            lines.push(format!("deleted: {}", image.id));
            reclaimed += image.size;
        }
    }
    Ok((lines, reclaimed))
}

/// `docker system prune [-a] [-f]`: the stopped containers, then the images `image prune` removes. Networks,
/// volumes and the build cache are not the companion's to prune here (the build cache is the page's own).
pub async fn system_prune<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let mut out = Printer::new(ctx);
    let all = inv.flags.is_set(Flag::ALL);
    let images = if all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    };
    let warning = format!("WARNING! This will remove:\n  - all stopped containers\n  - {images}\n");
    if let Err(code) = confirmed(ctx, inv, &mut out, &warning).await {
        out.outcome.exit_code = code;
        return out.done();
    }
    let containers = match Companion::new(ctx.transport, ctx.base).prune_containers().await {
        Ok(report) => report,
        Err(e) => return out.fail(&e.to_string(), 1),
    };
    deleted_section(&mut out, "Deleted Containers:", &containers.containers_deleted);
    match prune_images(ctx, all).await {
        Ok((lines, reclaimed)) => {
            prune_report(
                &mut out,
                "Deleted Images:",
                &lines,
                reclaimed + containers.space_reclaimed,
            );
            out.done()
        }
        Err(e) => out.fail(&e, 1),
    }
}

/// The session's local images that no container uses, by name; an image (id) used under any name is kept
/// under all of them, as docker keeps an image a container refers to.
async fn unused_images<T: Transport>(ctx: &CommandContext<'_, T>) -> Result<Vec<LocalImage>, String> {
    let images = list_local(ctx).await.map_err(|e| e.to_string())?;
    let containers = Companion::new(ctx.transport, ctx.base)
        .containers(true)
        .await
        .map_err(|e: CompanionError| e.to_string())?;
    let used: BTreeSet<&str> = images
        .iter()
        .filter(|image| containers.iter().any(|c| refers_to(&c.image, image)))
        .map(|image| image.id.as_str())
        .collect();
    let mut unused: Vec<LocalImage> = images
        .iter()
        .filter(|image| !used.contains(image.id.as_str()))
        .cloned()
        .collect();
    unused.sort_by_key(LocalImage::name);
    Ok(unused)
}

/// Whether a container's image (as given to `docker run`: a name, a name and tag, or an id) is `image`.
fn refers_to(given: &str, image: &LocalImage) -> bool {
    if looks_like_id(given) {
        let hex = given.strip_prefix("sha256:").unwrap_or(given);
        if image
            .id
            .strip_prefix("sha256:")
            .is_some_and(|id| id.starts_with(hex))
        {
            return true;
        }
    }
    Reference::parse(given)
        .map(|r| r.with_default_tag().familiar() == image.name())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_refers_to_its_image_by_name_or_id() {
        let image = LocalImage {
            repository: "learner1/app".into(),
            tag: "latest".into(),
            digest: String::new(),
            id: format!("sha256:ab12{}", "0".repeat(60)),
            created: String::new(),
            size: 0,
        };
        assert!(refers_to("learner1/app", &image));
        assert!(refers_to("learner1/app:latest", &image));
        assert!(refers_to("ab12", &image));
        assert!(!refers_to("learner1/app:v2", &image));
        assert!(!refers_to("busybox", &image));
    }
}
