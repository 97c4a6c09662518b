//! What the docs embeds' runner (`runner.rs`) runs for a block: the `docker ...` lines of each kind, with
//! the block's line numbers, and the line a failure names. Plain functions, tested natively.

/// The lines a block runs, each with its 1-based line in the block: a Dockerfile block builds, a compose block
/// brings the project up, a shell block runs its `docker ...` lines (`$ ` prompts, comments and blank lines
/// skipped, `\` continuations joined).
/// Line 0: the block as a whole (a failure's line then comes from its message, [`failure_line`]).
pub fn block_lines(kind: &str, id: &str, tag: Option<&str>, text: &str) -> Vec<(usize, String)> {
    match kind {
        "dockerfile" => {
            let tag = tag.unwrap_or(id);
            vec![(0, format!("docker build -t {} .", tag.to_ascii_lowercase()))]
        }
        "compose" => vec![(0, "docker compose up -d".to_string())],
        _ => shell_lines(text),
    }
}

fn shell_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let line = line.strip_prefix("$ ").unwrap_or(line);
        let (number, mut joined) = pending.take().unwrap_or((n + 1, String::new()));
        if joined.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head.trim_end());
                joined.push(' ');
                pending = Some((number, joined));
            }
            None => {
                joined.push_str(line);
                lines.push((number, joined));
            }
        }
    }
    lines.extend(pending);
    lines
}

/// `dockerfile parse error on line N: ...` names the Dockerfile's line.
pub fn failure_line(stderr: &str) -> Option<usize> {
    let (_, rest) = stderr.split_once(" on line ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_blocks_skip_prompts_comments_and_blank_lines_and_join_continuations() {
        let text = "# build it\n$ docker build -t app .\n\ndocker run --rm \\\n  -e A=1 app\n";
        assert_eq!(
            block_lines("shell", "b", None, text),
            vec![
                (2, "docker build -t app .".to_string()),
                (4, "docker run --rm -e A=1 app".to_string()),
            ]
        );
    }

    #[test]
    fn dockerfile_and_compose_blocks_are_one_command_for_the_whole_block() {
        assert_eq!(
            block_lines("dockerfile", "App-Image", None, "FROM busybox"),
            vec![(0, "docker build -t app-image .".to_string())]
        );
        assert_eq!(
            block_lines("dockerfile", "x", Some("hello-app"), "FROM busybox"),
            vec![(0, "docker build -t hello-app .".to_string())]
        );
        assert_eq!(
            block_lines("compose", "c", None, "services: {}"),
            vec![(0, "docker compose up -d".to_string())]
        );
    }

    #[test]
    fn a_parse_error_names_its_line() {
        let stderr = "ERROR: failed to solve: dockerfile parse error on line 2: unknown instruction: RUNN\n";
        assert_eq!(failure_line(stderr), Some(2));
        assert_eq!(failure_line("ERROR: failed to solve: no such image\n"), None);
    }
}
