//! Per-instruction argument splitting of the syntax layer, as BuildKit's `line_parsers.go` and
//! `split_command.go`: keyword, `--flags`, and the arguments in shell, JSON, key=value or word form.
//!
//! Everything works on one logical line (continuations joined) and reports byte ranges within it.

/// A token of a logical line: its text and the byte range it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tok {
    pub value: String,
    pub start: usize,
    pub end: usize,
}

impl Tok {
    fn new(value: impl Into<String>, start: usize, end: usize) -> Self {
        Tok {
            value: value.into(),
            start,
            end,
        }
    }
}

/// How the arguments of an instruction are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    MaybeJsonToList,
    NameOrNameVal,
    MaybeJson,
    Env,
    Label,
    Whitespace,
    Health,
    String,
    SubCommand,
    Ignore,
}

pub(crate) fn shape_of(keyword_lower: &str) -> Shape {
    match keyword_lower {
        "add" | "copy" | "volume" => Shape::MaybeJsonToList,
        "arg" => Shape::NameOrNameVal,
        "cmd" | "entrypoint" | "run" | "shell" => Shape::MaybeJson,
        "env" => Shape::Env,
        "label" => Shape::Label,
        "expose" | "from" => Shape::Whitespace,
        "healthcheck" => Shape::Health,
        "maintainer" | "stopsignal" | "user" | "workdir" => Shape::String,
        "onbuild" => Shape::SubCommand,
        _ => Shape::Ignore,
    }
}

/// Go's `regexp` class `[\t\v\f\r ]`.
pub(crate) fn is_reg_ws(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// `line` trimmed of Unicode whitespace on both sides, with the offset of what is left.
pub(crate) fn trim_with_offset(line: &str, off: usize) -> (&str, usize) {
    let left = line.trim_start();
    let start = off + (line.len() - left.len());
    (left.trim_end(), start)
}

/// Splits `line` into keyword, flags and the rest, like BuildKit's `splitCommand`.
/// Returns (keyword token, flags, rest text, rest offset).
pub(crate) fn split_command(line: &str, off: usize) -> (Tok, Vec<Tok>, &str, usize) {
    let (t, t_off) = trim_with_offset(line, off);
    let kw_end = t.find(is_reg_ws).unwrap_or(t.len());
    let keyword = Tok::new(&t[..kw_end], t_off, t_off + kw_end);
    if kw_end == t.len() {
        return (keyword, Vec::new(), "", t_off + t.len());
    }
    let after = &t[kw_end..];
    let ws = after.len() - after.trim_start_matches(is_reg_ws).len();
    let rest_off = t_off + kw_end + ws;
    let (flags, args_rel) = extract_builder_flags(&after[ws..], rest_off);
    let args_text = &after[ws..][args_rel..];
    let (args, args_off) = trim_with_offset(args_text, rest_off + args_rel);
    (keyword, flags, args, args_off)
}

/// Leading `--flag[=value]` words (quotes removed), and where the rest begins (relative to `line`).
fn extract_builder_flags(line: &str, off: usize) -> (Vec<Tok>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let b = line.as_bytes();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word: Vec<u8> = Vec::new();
    let mut word_start = 0;
    let mut quote = 0u8;
    let mut blank_ok = false;
    let mut pos = 0;
    let finish = |w: &[u8]| String::from_utf8_lossy(w).into_owned();
    while pos <= b.len() {
        let ch = b.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == b.len() {
                break;
            }
            if (ch as char).is_ascii_whitespace() || ch == 0x0b {
                pos += 1;
                continue;
            }
            if ch != b'-' || pos + 1 == b.len() || b[pos + 1] != b'-' {
                return (words, pos);
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if pos == b.len() {
            if word != b"--" && (blank_ok || !word.is_empty()) {
                words.push(Tok::new(finish(&word), off + word_start, off + pos));
            }
            break;
        }
        if phase == Phase::Word {
            if (ch as char).is_ascii_whitespace() || ch == 0x0b {
                phase = Phase::Spaces;
                if word == b"--" {
                    return (words, pos);
                }
                if blank_ok || !word.is_empty() {
                    words.push(Tok::new(finish(&word), off + word_start, off + pos));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if c == b'\\' {
                if pos + 1 == b.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = b[pos];
            }
            word.push(c);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if c == b'\\' {
            if pos + 1 == b.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = b[pos];
        }
        word.push(c);
        pos += 1;
    }
    (words, line.len())
}

/// Words separated by whitespace, quotes and escapes kept (BuildKit's `parseWords`).
pub(crate) fn parse_words(rest: &str, off: usize, escape: char) -> Vec<Tok> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut start = 0;
    // Walked in place (no collected `Vec<(usize, char)>`): this runs for every ENV, LABEL and ARG.
    let mut chars = rest.char_indices().peekable();
    loop {
        let current = chars.peek().copied();
        let at_end = current.is_none();
        let (pos, ch) = current.unwrap_or((rest.len(), '\0'));
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if ch.is_whitespace() {
                chars.next();
                continue;
            }
            phase = Phase::Word;
            start = pos;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(Tok::new(std::mem::take(&mut word), off + start, off + pos));
            }
            break;
        }
        chars.next();
        if phase == Phase::Word {
            if ch.is_whitespace() {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(Tok::new(std::mem::take(&mut word), off + start, off + pos));
                }
                word.clear();
                blank_ok = false;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            let mut c = ch;
            if ch == escape {
                let Some((_, next)) = chars.next() else {
                    continue;
                };
                word.push(ch);
                c = next;
            }
            word.push(c);
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        let mut c = ch;
        if ch == escape && quote != '\'' {
            let Some((_, next)) = chars.next() else {
                phase = Phase::Word;
                continue;
            };
            word.push(ch);
            c = next;
        }
        word.push(c);
    }
    words
}

/// Splits on runs of `[\t\v\f\r ]` (Go's `reWhitespace.Split(rest, -1)`).
pub(crate) fn split_whitespace(rest: &str, off: usize) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_sep = false;
    for (i, c) in rest.char_indices() {
        if is_reg_ws(c) {
            if !in_sep {
                out.push(Tok::new(&rest[start..i], off + start, off + i));
                in_sep = true;
            }
        } else if in_sep {
            start = i;
            in_sep = false;
        }
    }
    if in_sep {
        out.push(Tok::new("", off + rest.len(), off + rest.len()));
    } else {
        out.push(Tok::new(&rest[start..], off + start, off + rest.len()));
    }
    out
}

/// The outcome of trying to read the arguments as a JSON array (`Shell`: not JSON, shell form).
pub(crate) enum Json {
    Array(Vec<Tok>),
    Shell,
    NotStringArray,
}

/// BuildKit's `parseJSON`: a JSON array of strings, or not JSON (shell form), or an error.
pub(crate) fn parse_json(rest: &str, off: usize) -> Json {
    let t = rest.trim_start();
    let t_off = off + (rest.len() - t.len());
    if !t.starts_with('[') {
        return Json::Shell;
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(t) else {
        return Json::Shell;
    };
    let mut strings = Vec::with_capacity(values.len());
    for v in values {
        match v {
            serde_json::Value::String(s) => strings.push(s),
            _ => return Json::NotStringArray,
        }
    }
    // Locate each string literal: the array is flat, so string tokens appear in order.
    let b = t.as_bytes();
    let mut ranges = Vec::with_capacity(strings.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let s = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            ranges.push((s, (i + 1).min(b.len())));
        }
        i += 1;
    }
    let toks = strings
        .into_iter()
        .enumerate()
        .map(|(k, s)| {
            let (a, z) = ranges.get(k).copied().unwrap_or((0, t.len()));
            Tok::new(s, t_off + a, t_off + z)
        })
        .collect();
    Json::Array(toks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(t: &[Tok]) -> Vec<&str> {
        t.iter().map(|t| t.value.as_str()).collect()
    }

    #[test]
    fn flags_stop_at_first_non_flag() {
        let (kw, flags, rest, off) = split_command("COPY --from=a --chown=\"x y\" src dst", 0);
        assert_eq!(kw.value, "COPY");
        assert_eq!(vals(&flags), ["--from=a", "--chown=x y"]);
        assert_eq!(rest, "src dst");
        assert_eq!(off, 28);
        let (_, flags, rest, _) = split_command("CMD --doit -- [ ]", 0);
        assert_eq!(vals(&flags), ["--doit"]);
        assert_eq!(rest, "[ ]");
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        let w = parse_words(r#"a="b c" d\ e 'f'"#, 0, '\\');
        assert_eq!(vals(&w), [r#"a="b c""#, r"d\ e", "'f'"]);
        assert_eq!((w[1].start, w[1].end), (8, 12));
    }

    #[test]
    fn json_arrays_and_spans() {
        match parse_json(r#" [ "a", "b\"c" ]"#, 10) {
            Json::Array(t) => {
                assert_eq!(vals(&t), ["a", "b\"c"]);
                assert_eq!((t[1].start, t[1].end), (18, 24));
            }
            _ => panic!("expected a JSON array"),
        }
        assert!(matches!(parse_json("[1]", 0), Json::NotStringArray));
        assert!(matches!(parse_json("['a']", 0), Json::Shell));
    }
}
