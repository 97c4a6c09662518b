//! Splitting a terminal line into words the way a POSIX shell does for a simple command: quotes and backslashes.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WordsError {
    #[error("unterminated {quote} quote starting at column {column}")]
    UnterminatedQuote { quote: &'static str, column: usize },
    #[error("a backslash at the end of the line escapes nothing")]
    TrailingBackslash,
}

/// `docker run -e "A=b c" 'x y'` → `["docker", "run", "-e", "A=b c", "x y"]`. No expansion: `$X` stays as typed.
pub fn split_words(line: &str) -> Result<Vec<String>, WordsError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut chars = line.chars().enumerate().peekable();
    while let Some((column, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            '\\' => {
                let (_, next) = chars.next().ok_or(WordsError::TrailingBackslash)?;
                current.push(next);
                in_word = true;
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => current.push(c),
                        None => {
                            return Err(WordsError::UnterminatedQuote {
                                quote: "single",
                                column: column + 1,
                            })
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        // Inside double quotes a backslash escapes only these, as in sh.
                        Some((_, '\\')) if matches!(chars.peek(), Some((_, '"' | '\\' | '$' | '`'))) => {
                            let (_, escaped) = chars.next().expect("peeked");
                            current.push(escaped);
                        }
                        Some((_, c)) => current.push(c),
                        None => {
                            return Err(WordsError::UnterminatedQuote {
                                quote: "double",
                                column: column + 1,
                            })
                        }
                    }
                }
            }
            c => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_shell() {
        let cases: &[(&str, &[&str])] = &[
            (
                "docker build -t user/app:v1 .",
                &["docker", "build", "-t", "user/app:v1", "."],
            ),
            ("  docker   images  ", &["docker", "images"]),
            (
                r#"docker run -e "A=b c" 'x y'"#,
                &["docker", "run", "-e", "A=b c", "x y"],
            ),
            (r#"echo "a\"b" 'c\d' e\ f"#, &["echo", "a\"b", "c\\d", "e f"]),
            (r#"x "" ''"#, &["x", "", ""]),
            (
                "--format '{{.Repository}}:{{.Tag}}'",
                &["--format", "{{.Repository}}:{{.Tag}}"],
            ),
        ];
        for (line, want) in cases {
            assert_eq!(split_words(line).unwrap(), *want, "{line}");
        }
    }

    #[test]
    fn unterminated_quotes_say_where() {
        assert_eq!(
            split_words("docker run 'abc"),
            Err(WordsError::UnterminatedQuote {
                quote: "single",
                column: 12
            })
        );
        assert_eq!(split_words("x\\"), Err(WordsError::TrailingBackslash));
    }
}
