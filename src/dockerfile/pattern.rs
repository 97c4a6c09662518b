//! Shell patterns of `${V#p}`, `${V%p}` and `${V/p/r}` (`*`, `?`, `\` escapes; no brackets), matched by a
//! state-set simulation: linear per start position, no backtracking.

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok {
    Star,
    Any,
    Lit(char),
}

/// A pattern that does not compile, as Go's regexp reports BuildKit's translation of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("invalid escape '\\{0}'")]
    InvalidEscape(char),
    #[error("invalid escape '\\'")]
    TrailingEscape,
}

/// Shell pattern (`*`, `?`, `\` escapes; no brackets) as BuildKit's `convertShellPatternToRegex` reads it.
pub(crate) fn compile_pattern(p: &str) -> Result<Vec<Tok>, PatternError> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::Any),
            '\\' => match chars.get(i) {
                Some('}' | '/') => {}
                Some(&n @ ('*' | '?' | '\\')) => {
                    out.push(Tok::Lit(n));
                    i += 1;
                }
                Some(&n) => return Err(PatternError::InvalidEscape(n)),
                None => return Err(PatternError::TrailingEscape),
            },
            c => out.push(Tok::Lit(c)),
        }
    }
    Ok(out)
}

/// Adds the states reachable without input (a `*` may match nothing).
fn closure(pat: &[Tok], set: &mut [bool]) {
    for t in 0..pat.len() {
        if set[t] && pat[t] == Tok::Star {
            set[t + 1] = true;
        }
    }
}

/// Every `e` such that `s[start..e]` matches all of `pat`, ascending (wildcards do not match newlines, as in
/// Go regexps). A state-set simulation: linear in the text for each start.
fn ends_from(pat: &[Tok], s: &[char], start: usize) -> Vec<usize> {
    let m = pat.len();
    let mut cur = vec![false; m + 1];
    cur[0] = true;
    closure(pat, &mut cur);
    let mut ends = Vec::new();
    let mut pos = start;
    loop {
        if cur[m] {
            ends.push(pos);
        }
        let Some(&c) = s.get(pos) else { break };
        let mut next = vec![false; m + 1];
        for t in (0..m).filter(|&t| cur[t]) {
            match pat[t] {
                Tok::Star if c != '\n' => next[t] = true,
                Tok::Any if c != '\n' => next[t + 1] = true,
                Tok::Lit(l) if l == c => next[t + 1] = true,
                _ => {}
            }
        }
        closure(pat, &mut next);
        if !next.contains(&true) {
            break;
        }
        cur = next;
        pos += 1;
    }
    ends
}

pub(crate) fn trim_prefix(pat: &[Tok], value: &str, greedy: bool) -> String {
    let s: Vec<char> = value.chars().collect();
    let ends = ends_from(pat, &s, 0);
    match if greedy { ends.last() } else { ends.first() } {
        Some(&e) => s[e..].iter().collect(),
        None => value.to_string(),
    }
}

pub(crate) fn trim_suffix(pat: &[Tok], value: &str, greedy: bool) -> String {
    let rev_pat: Vec<Tok> = pat.iter().rev().cloned().collect();
    let rev: Vec<char> = value.chars().rev().collect();
    let ends = ends_from(&rev_pat, &rev, 0);
    match if greedy { ends.last() } else { ends.first() } {
        Some(&len) => rev[len..].iter().rev().collect(),
        None => value.to_string(),
    }
}

/// Leftmost match at or after `from`, longest at that start.
fn find(pat: &[Tok], s: &[char], from: usize) -> Option<(usize, usize)> {
    (from..=s.len()).find_map(|start| ends_from(pat, s, start).last().map(|&end| (start, end)))
}

pub(crate) fn replace(pat: &[Tok], value: &str, replacement: &str, all: bool) -> String {
    let s: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut pos = 0;
    while let Some((start, end)) = find(pat, &s, pos) {
        out.extend(&s[pos..start]);
        out.push_str(replacement);
        if end == start {
            if let Some(c) = s.get(start) {
                out.push(*c);
            }
            pos = start + 1;
        } else {
            pos = end;
        }
        if !all || pos > s.len() {
            break;
        }
    }
    if pos <= s.len() {
        out.extend(&s[pos..]);
    }
    out
}
