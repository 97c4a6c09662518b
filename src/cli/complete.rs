//! Tab completion for the terminal: command names, flags, image names and project paths, from the same command
//! table the parser uses (so completion never offers what the interpreter would reject).

use super::spec::{CommandId, CommandSpec, Operands, COMMANDS, COMPOSE_COMMANDS, GLOBAL_FLAGS};

/// What Tab does to the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The line after completion (unchanged when nothing or several things match without a longer common prefix).
    pub line: String,
    /// The candidates to show when more than one matches (bash's second Tab, shown at once).
    pub choices: Vec<String>,
}

/// Complete the last word of `line`. `images` are `repository:tag` names the learner has; `paths` the project's files
/// and folders (for `docker build` contexts and `-f`).
pub fn complete(line: &str, images: &[String], paths: &[String]) -> Completion {
    let (done, current) = match line.rfind(char::is_whitespace) {
        Some(at) => (&line[..=at], &line[at + 1..]),
        None => ("", line),
    };
    let words: Vec<&str> = done.split_whitespace().collect();
    let candidates = candidates(&words, current, images, paths);
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.starts_with(current))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    match matching.as_slice() {
        [] => Completion {
            line: line.to_string(),
            choices: Vec::new(),
        },
        [only] => Completion {
            line: format!("{done}{only} "),
            choices: Vec::new(),
        },
        several => {
            let prefix = common_prefix(several);
            Completion {
                line: format!(
                    "{done}{}",
                    if prefix.len() > current.len() {
                        prefix
                    } else {
                        current
                    }
                ),
                choices: several.to_vec(),
            }
        }
    }
}

fn candidates(words: &[&str], current: &str, images: &[String], paths: &[String]) -> Vec<String> {
    let Some((&first, rest)) = words.split_first() else {
        return vec!["docker".into()];
    };
    if first != "docker" {
        return Vec::new();
    }
    // Global flags come before the command; skip them (and the value of those that take one).
    let mut rest = rest;
    while let Some((word, tail)) = rest.split_first() {
        let Some(name) = word.strip_prefix("--") else {
            break;
        };
        let takes_value = GLOBAL_FLAGS.iter().any(|f| f.long() == name && f.takes_value);
        rest = if takes_value && !tail.is_empty() {
            &tail[1..]
        } else {
            tail
        };
    }
    match command_of(rest) {
        None => {
            // Still naming the command: the next word of every path that starts with what is typed.
            let typed = rest;
            let mut next: Vec<String> = COMMANDS
                .iter()
                .flat_map(CommandSpec::names)
                .filter(|path| path.len() > typed.len() && path[..typed.len()] == *typed)
                .map(|path| path[typed.len()].to_string())
                .collect();
            if typed.is_empty() && current.starts_with('-') {
                next = GLOBAL_FLAGS.iter().map(|f| format!("--{}", f.long())).collect();
            }
            next
        }
        Some((command, args)) if command.id == CommandId::Compose => {
            compose_candidates(command, args, current, paths)
        }
        Some((command, args)) => {
            if current.starts_with('-') {
                return command.flags.iter().map(|f| format!("--{}", f.long())).collect();
            }
            let previous = args.last().copied().unwrap_or_default();
            let wants_path = command.operands == Operands::Path
                && (previous == "-f" || previous == "--file" || !previous.starts_with('-'));
            if wants_path {
                let mut all = vec![".".to_string()];
                all.extend(paths.iter().cloned());
                all
            } else if command.operands == Operands::Images {
                images.to_vec()
            } else {
                Vec::new()
            }
        }
    }
}

/// `docker compose [FLAGS] SUBCOMMAND [FLAGS]`: its flags, its subcommands, then the subcommand's flags; project
/// files after `-f` and `--env-file`.
fn compose_candidates(compose: &CommandSpec, args: &[&str], current: &str, paths: &[String]) -> Vec<String> {
    let takes_value = |word: &str| {
        compose.flags.iter().any(|f| {
            f.takes_value
                && (word == format!("--{}", f.long()) || f.short.is_some_and(|s| word == format!("-{s}")))
        })
    };
    if args.last().is_some_and(|w| takes_value(w)) {
        return paths.to_vec();
    }
    let mut words = args.iter();
    let mut sub = None;
    while let Some(word) = words.next() {
        if !word.starts_with('-') {
            sub = Some(*word);
            break;
        }
        if takes_value(word) {
            words.next();
        }
    }
    let flags = |spec: &CommandSpec| spec.flags.iter().map(|f| format!("--{}", f.long())).collect();
    match sub.map(|word| COMPOSE_COMMANDS.iter().find(|c| c.names().any(|n| n[1] == word))) {
        None if current.starts_with('-') => flags(compose),
        None => COMPOSE_COMMANDS
            .iter()
            .flat_map(CommandSpec::names)
            .map(|n| n[1].to_string())
            .collect(),
        Some(Some(spec)) if current.starts_with('-') => flags(spec),
        Some(_) => Vec::new(),
    }
}

/// The command named by the first words of `words` (longest path first), and the words after it.
fn command_of<'a, 'w>(words: &'a [&'w str]) -> Option<(&'static CommandSpec, &'a [&'w str])> {
    COMMANDS
        .iter()
        .flat_map(|c| c.names().map(move |path| (c, path)))
        .filter(|(_, path)| words.len() >= path.len() && words[..path.len()] == **path)
        .max_by_key(|(_, path)| path.len())
        .map(|(c, path)| (c, &words[path.len()..]))
}

fn common_prefix(words: &[String]) -> &str {
    let first = &words[0];
    let mut end = first.len();
    for w in &words[1..] {
        end = end.min(
            first
                .char_indices()
                .zip(w.chars())
                .take_while(|((_, a), b)| a == b)
                .map(|((i, a), _)| i + a.len_utf8())
                .last()
                .unwrap_or(0),
        );
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(line: &str) -> Completion {
        let images = [
            "learner1/app:v1".to_string(),
            "learner1/app:v2".into(),
            "busybox:latest".into(),
        ];
        let paths = ["Dockerfile".to_string(), "app.py".into(), "src".into()];
        complete(line, &images, &paths)
    }

    #[test]
    fn commands_and_subcommands() {
        assert_eq!(tab("dock").line, "docker ");
        assert_eq!(tab("docker hist").line, "docker history ");
        let build = tab("docker bui");
        assert_eq!(
            (build.line.as_str(), build.choices.len()),
            ("docker build", 2),
            "build, buildx"
        );
        assert_eq!(tab("docker image ins").line, "docker image inspect ");
        assert!(tab("docker image l").choices.contains(&"ls".to_string()));
        let many = tab("docker p");
        assert_eq!(many.line, "docker p");
        assert!(many.choices.contains(&"push".to_string()) && many.choices.contains(&"ps".to_string()));
        assert!(tab("docker ima").choices.contains(&"images".to_string()));
    }

    #[test]
    fn flags_of_the_command() {
        assert_eq!(tab("docker run --rm --na").line, "docker run --rm --name ");
        assert_eq!(tab("docker build --no-c").line, "docker build --no-cache ");
        assert!(tab("docker --").choices.iter().all(|c| c.starts_with("--")));
    }

    #[test]
    fn images_and_paths() {
        assert_eq!(
            tab("docker push learner1/app:").line,
            "docker push learner1/app:v"
        );
        assert_eq!(tab("docker run --rm bu").line, "docker run --rm busybox:latest ");
        assert_eq!(
            tab("docker build -t x:v1 ").choices,
            [".", "Dockerfile", "app.py", "src"]
        );
        assert_eq!(tab("docker build -f Dock").line, "docker build -f Dockerfile ");
        assert_eq!(tab("ls ").line, "ls ");
        assert!(tab("docker version ").choices.is_empty());
    }

    #[test]
    fn compose_completes_its_subcommands_flags_and_files() {
        let paths = vec!["compose.yaml".to_string(), "other.yaml".to_string()];
        assert_eq!(complete("docker comp", &[], &[]).line, "docker compose ");
        assert_eq!(
            complete("docker compose con", &[], &paths).choices,
            vec!["config", "convert"]
        );
        assert_eq!(
            complete("docker compose -f other.yaml conf", &[], &paths).line,
            "docker compose -f other.yaml config "
        );
        assert_eq!(
            complete("docker compose -f oth", &[], &paths).line,
            "docker compose -f other.yaml "
        );
        assert_eq!(
            complete("docker compose --prof", &[], &paths).line,
            "docker compose --profile "
        );
        assert_eq!(
            complete("docker compose config --serv", &[], &paths).line,
            "docker compose config --services "
        );
    }
}
