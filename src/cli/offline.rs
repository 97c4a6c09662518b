//! The page without its companion, and `docker save` in the page: which commands the page answers from its own
//! image store, the one-line answer of those that need the companion, and where a saved tar goes (`-o FILE` or
//! `> FILE`: a browser download of that name).

use super::images::list_these;
use super::outcome::Outcome;
use super::parse::{parse, Invocation, Parsed};
use super::spec::{CommandId, Flag};
use super::words::split_words;
use crate::builder::{KeyValueStore, LocalStore};

/// What a command that needs the companion says when it is unreachable: one line, exit code 1.
pub fn needs_companion(inv: &Invocation) -> Outcome {
    Outcome::failure(
        format!(
            "docker: 'docker {}' needs the Slipway companion server, which is unreachable (offline): only building \
             COPY-only images, docker images and docker save work without it\n",
            inv.typed.join(" ")
        ),
        1,
    )
}

/// A command while the companion is unreachable: `docker images` from the page's store, the rest say what they
/// need.
pub async fn run_offline<S: KeyValueStore>(store: &LocalStore<'_, S>, inv: &Invocation, now: u64) -> Outcome {
    match inv.command.id {
        CommandId::ImageLs => match store.list().await {
            Ok(images) => list_these(images, inv, now),
            Err(e) => Outcome::failure(format!("Error: {e}\n"), 1),
        },
        _ => needs_companion(inv),
    }
}

/// `docker save` as the page runs it: one image, into the project's file `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveRequest {
    pub image: String,
    /// The file as given (`-o out/app.tar`, `> app.tar`), relative to the project's root
    /// ([`super::export_load::save_into_project`]).
    pub path: String,
}

/// A `docker save` line (with `-o FILE`, or redirected with `> FILE`: both write the project's file) as a request, the error docker gives, or
/// `None` for any other line (and for `--help` and parse errors, answered as usual).
pub fn plan_save(line: &str) -> Option<Result<SaveRequest, Outcome>> {
    let mut words = split_words(line).ok()?;
    let mut redirect = None;
    if let Some(at) = words.iter().position(|w| w.starts_with('>')) {
        let word = words.remove(at);
        let target = match word.strip_prefix('>').filter(|rest| !rest.is_empty()) {
            Some(rest) => Some(rest.to_owned()),
            None if at < words.len() => Some(words.remove(at)),
            None => None,
        };
        match target {
            Some(t) => redirect = Some(t),
            None => {
                return Some(Err(Outcome::failure(
                    "slipway: syntax error near unexpected token `newline'\n".into(),
                    2,
                )))
            }
        }
    }
    let Ok(Parsed::Run(inv)) = parse(&words) else {
        return None;
    };
    if inv.command.id != CommandId::ImageSave {
        return redirect.map(|_| {
            Err(Outcome::failure(
                "slipway: this terminal redirects only docker save's output (> FILE)\n".into(),
                2,
            ))
        });
    }
    let Some(path) = inv.flags.value(Flag::OUTPUT).map(str::to_owned).or(redirect) else {
        return Some(Err(Outcome::failure(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect\n".into(),
            1,
        )));
    };
    if inv.args.len() > 1 {
        return Some(Err(Outcome::failure(
            "slipway: docker save writes one image per archive here: save them one at a time\n".into(),
            1,
        )));
    }
    Some(Ok(SaveRequest {
        image: inv.args[0].clone(),
        path,
    }))
}

/// The download name of an image's tar: `learner1_app_v1.tar` for `learner1/app:v1`.
pub fn tar_name(repository: &str, tag: &str) -> String {
    let safe = |s: &str| s.replace(['/', ':'], "_");
    format!("{}_{}.tar", safe(repository), safe(tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{block_on, MemoryCache};
    use crate::cli::interpret::plan_line;
    use crate::cli::outcome::Step;

    fn request(image: &str, path: &str) -> Option<Result<SaveRequest, Outcome>> {
        Some(Ok(SaveRequest {
            image: image.into(),
            path: path.into(),
        }))
    }

    #[test]
    fn save_targets_come_from_dash_o_or_a_redirect() {
        assert_eq!(
            plan_save("docker save -o app.tar learner1/app:v1"),
            request("learner1/app:v1", "app.tar")
        );
        assert_eq!(
            plan_save("docker save --output=out/app.tar app"),
            request("app", "out/app.tar")
        );
        assert_eq!(
            plan_save("docker save learner1/app:v1 > app.tar"),
            request("learner1/app:v1", "app.tar")
        );
        assert_eq!(
            plan_save("docker image save app >app.tar"),
            request("app", "app.tar")
        );
        let refused = plan_save("docker save app").unwrap().unwrap_err();
        assert_eq!(
            refused.stderr,
            "cowardly refusing to save to a terminal. Use the -o flag or redirect\n"
        );
        assert!(plan_save("docker save app >").unwrap().is_err());
        assert!(plan_save("docker save -o x.tar a b").unwrap().is_err());
        assert!(plan_save("docker images > list.txt").unwrap().is_err());
        assert_eq!(plan_save("docker images"), None);
        assert_eq!(
            tar_name("127.0.0.1:5000/x/app", "v1"),
            "127.0.0.1_5000_x_app_v1.tar"
        );
    }

    #[test]
    fn offline_commands_list_the_page_store_or_name_the_companion() {
        let inv = |line: &str| match plan_line(line) {
            Step::Companion(inv) | Step::Attach(inv) | Step::Build(inv) => inv,
            other => panic!("{line}: {other:?}"),
        };
        let kv = MemoryCache::new();
        let store = LocalStore { kv: &kv };
        let listed = block_on(run_offline(&store, &inv("docker images"), 0));
        assert_eq!(listed.exit_code, 0);
        assert!(listed.stdout.starts_with("REPOSITORY"), "{listed:?}");
        for line in [
            "docker run --rm app",
            "docker ps",
            "docker push app",
            "docker pull busybox",
            "docker login",
        ] {
            let out = block_on(run_offline(&store, &inv(line), 0));
            assert_eq!(out.exit_code, 1);
            assert_eq!(out.stderr.lines().count(), 1, "{line}: {out:?}");
            assert!(
                out.stderr
                    .contains("needs the Slipway companion server, which is unreachable"),
                "{out:?}"
            );
        }
    }
}
