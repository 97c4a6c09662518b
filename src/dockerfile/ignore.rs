//! `.dockerignore` with Docker's semantics (moby/patternmatcher): patterns in order, `!` exceptions, `**`,
//! `*`, `?`, `[...]`, `\` escapes, leading `/` and trailing `/` ignored, and a match on a parent directory
//! excluding everything below it.

/// One pattern of a `.dockerignore` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The cleaned pattern text.
    pub text: String,
    /// A `!` line: re-includes what earlier patterns excluded.
    pub exclusion: bool,
    /// 1-based line in the file.
    pub line: usize,
    toks: Vec<Tok>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run without `/`.
    Star,
    /// `**`: anything.
    Any,
    /// `**/`: zero or more whole directories.
    AnyDirs,
    Class {
        negated: bool,
        items: Vec<(char, char)>,
    },
}

/// A compiled `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerignore {
    pub patterns: Vec<Pattern>,
}

/// `filepath.Clean` for slash paths.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

impl Dockerignore {
    /// Reads a `.dockerignore` file.
    pub fn parse(text: &str) -> Dockerignore {
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let mut p = raw.trim();
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
                if p.is_empty() {
                    continue;
                }
            }
            let mut text = clean(p);
            if text.len() > 1 && text.starts_with('/') {
                text.remove(0);
            }
            let toks = compile(&text);
            patterns.push(Pattern {
                text,
                exclusion,
                line: i + 1,
                toks,
            });
        }
        Dockerignore { patterns }
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded from the build context.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.matching_pattern(path).is_some()
    }

    /// The last pattern that decides `path` is excluded, if it is.
    pub fn matching_pattern(&self, path: &str) -> Option<&Pattern> {
        let file = clean(path.trim_start_matches('/'));
        let chars: Vec<char> = file.chars().collect();
        let mut decided: Option<&Pattern> = None;
        for p in &self.patterns {
            if p.exclusion != decided.is_some() {
                continue;
            }
            // The file itself, or one of its parent directories (a prefix ending before a `/`).
            let prefixes = matching_prefixes(&p.toks, &chars);
            let m = prefixes[chars.len()] || (1..chars.len()).any(|k| prefixes[k] && chars[k] == '/');
            if m {
                decided = if p.exclusion { None } else { Some(p) };
            }
        }
        decided
    }
}

fn compile(p: &str) -> Vec<Tok> {
    let c: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '*' if c.get(i + 1) == Some(&'*') => {
                i += 2;
                if c.get(i) == Some(&'/') {
                    i += 1;
                    out.push(if i == c.len() { Tok::Any } else { Tok::AnyDirs });
                } else {
                    out.push(Tok::Any);
                }
                continue;
            }
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::One),
            '\\' if i + 1 < c.len() => {
                i += 1;
                out.push(Tok::Lit(c[i]));
            }
            '[' => {
                let mut j = i + 1;
                let negated = matches!(c.get(j), Some('^' | '!'));
                if negated {
                    j += 1;
                }
                let mut items = Vec::new();
                let mut closed = false;
                while j < c.len() {
                    if c[j] == ']' && !items.is_empty() {
                        closed = true;
                        break;
                    }
                    let mut lo = c[j];
                    if lo == '\\' && j + 1 < c.len() {
                        j += 1;
                        lo = c[j];
                    }
                    let mut hi = lo;
                    if c.get(j + 1) == Some(&'-') && c.get(j + 2).is_some_and(|x| *x != ']') {
                        hi = c[j + 2];
                        j += 2;
                    }
                    items.push((lo, hi));
                    j += 1;
                }
                if closed {
                    out.push(Tok::Class { negated, items });
                    i = j + 1;
                    continue;
                }
                out.push(Tok::Lit('['));
            }
            ch => out.push(Tok::Lit(ch)),
        }
        i += 1;
    }
    out
}

/// Which prefixes `s[..k]` match the whole pattern (one pass; the state at `k` only depends on `s[..k]`).
fn matching_prefixes(toks: &[Tok], s: &[char]) -> Vec<bool> {
    let n = s.len();
    let mut cur = vec![false; n + 1];
    cur[0] = true;
    for tok in toks {
        let mut next = vec![false; n + 1];
        match tok {
            Tok::Lit(c) => {
                for j in 0..n {
                    next[j + 1] = cur[j] && s[j] == *c;
                }
            }
            Tok::One => {
                for j in 0..n {
                    next[j + 1] = cur[j] && s[j] != '/';
                }
            }
            Tok::Class { negated, items } => {
                for j in 0..n {
                    let c = s[j];
                    let inside = items.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
                    next[j + 1] = cur[j] && c != '/' && inside != *negated;
                }
            }
            Tok::Star => {
                for k in 0..=n {
                    next[k] = cur[k] || (k > 0 && next[k - 1] && s[k - 1] != '/');
                }
            }
            Tok::Any => {
                let mut seen = false;
                for k in 0..=n {
                    seen |= cur[k];
                    next[k] = seen;
                }
            }
            Tok::AnyDirs => {
                let mut seen = false;
                for k in 0..=n {
                    if k > 0 && seen && s[k - 1] == '/' {
                        next[k] = true;
                    }
                    if cur[k] {
                        next[k] = true;
                        seen = true;
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_semantics() {
        let di =
            Dockerignore::parse("# comment\n*.md\n!README.md\n/build/\n**/*.tmp\nnode_modules\ndocs/**\n");
        assert!(di.is_excluded("CHANGES.md"));
        assert!(!di.is_excluded("README.md"));
        assert!(!di.is_excluded("sub/notes.md"), "* does not cross directories");
        assert!(
            di.is_excluded("build/out.o"),
            "a matching parent directory excludes its content"
        );
        assert!(di.is_excluded("a/b/c.tmp"));
        assert!(di.is_excluded("x.tmp"), "**/ matches zero directories");
        assert!(di.is_excluded("node_modules/left-pad/index.js"));
        assert!(!di.is_excluded("src/node_modules.txt"));
        assert!(di.is_excluded("docs/a/b.txt"));
        assert!(!di.is_excluded("main.rs"));
    }

    #[test]
    fn exceptions_and_order() {
        let di = Dockerignore::parse("*\n!src\nsrc/*.log\n");
        assert!(di.is_excluded("Dockerfile"));
        assert!(!di.is_excluded("src/main.rs"));
        assert!(di.is_excluded("src/debug.log"));
        let di = Dockerignore::parse("[a-c]?.txt\n\\*star\n");
        assert!(di.is_excluded("b1.txt"));
        assert!(!di.is_excluded("d1.txt"));
        assert!(di.is_excluded("*star"));
        assert_eq!(clean("./a//b/../c/"), "a/c");
    }
}
