//! Word expansion against the cases of BuildKit's shell lexer tests (`envVarTest`, `wordsTest`), plus
//! pattern trimming and replacement checked against bash.

use std::collections::BTreeMap;

use slipway::dockerfile::shell::Lexer;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `(input, expected)`; `None` means the lexer must reject the input.
const WORD_CASES: &[(&str, Option<&str>)] = &[
    ("hello", Some("hello")),
    ("he'll'o", Some("hello")),
    ("he'llo", None),
    ("he\\'llo", Some("he'llo")),
    ("he\\\\'llo", None),
    ("abc\\tdef", Some("abctdef")),
    ("\"abc\\tdef\"", Some("abc\\tdef")),
    ("\"abc\\\\tdef\"", Some("abc\\tdef")),
    ("'abc\\tdef'", Some("abc\\tdef")),
    ("hello\\", Some("hello")),
    ("hello\\\\", Some("hello\\")),
    ("\"hello", None),
    ("\"hello\\\"", None),
    ("\"hel'lo\"", Some("hel'lo")),
    ("'hello", None),
    ("'hello\\'", Some("hello\\")),
    ("'hello\\there'", Some("hello\\there")),
    ("\"''\"", Some("''")),
    ("$.", Some("$.")),
    ("he$1x", Some("hex")),
    ("he$.x", Some("he$.x")),
    ("he$pwd.", Some("he.")),
    ("he$PWD", Some("he/home")),
    ("he\\$PWD", Some("he$PWD")),
    ("he\\\\$PWD", Some("he\\/home")),
    ("\"he\\$PWD\"", Some("he$PWD")),
    ("\"he\\\\$PWD\"", Some("he\\/home")),
    ("\\${}", Some("${}")),
    ("he\\${}xx", Some("he${}xx")),
    ("${}", None),
    ("he${}xx", None),
    ("he${hi}xx", Some("hexx")),
    ("he${PWD}", Some("he/home")),
    ("he${.}", None),
    ("he${XXX:-000}xx", Some("he000xx")),
    ("he${PWD:-000}xx", Some("he/homexx")),
    ("he${XXX:-$PWD}xx", Some("he/homexx")),
    ("he${XXX:-${PWD:-yyy}}xx", Some("he/homexx")),
    ("he${XXX:-${YYY:-yyy}}xx", Some("heyyyxx")),
    ("he${XXX:YYY}", None),
    ("he${XXX?}", None),
    ("he${XXX:?}", None),
    ("he${PWD?}", Some("he/home")),
    ("he${PWD:?}", Some("he/home")),
    ("he${NULL?}", Some("he")),
    ("he${NULL:?}", None),
    ("he${XXX:+${PWD}}xx", Some("hexx")),
    ("he${PWD:+${XXX}}xx", Some("hexx")),
    ("he${PWD:+${SHELL}}xx", Some("hebashxx")),
    ("he${XXX:+000}xx", Some("hexx")),
    ("he${PWD:+000}xx", Some("he000xx")),
    ("he${NULL-def}", Some("he")),
    ("he${NULL:-def}", Some("hedef")),
    ("he${NULL+alt}", Some("healt")),
    ("he${NULL:+alt}", Some("he")),
    ("'he${XX}'", Some("he${XX}")),
    ("\"he${PWD}\"", Some("he/home")),
    ("\"he'$PWD'\"", Some("he'/home'")),
    ("'$PWD'", Some("$PWD")),
    ("'\\$PWD'", Some("\\$PWD")),
    ("he${PWD", None),
    ("he${PWD:=000}xx", None),
    ("he${PWD:+${PWD}:}xx", Some("he/home:xx")),
    ("he${XXX:-\\$PWD:}xx", Some("he$PWD:xx")),
    ("he${XXX:-\\${PWD}z}xx", Some("he${PWDz}xx")),
    ("안녕$KOREAN", Some("안녕한국어")),
    ("안'녕", None),
    ("${aaa}}", Some("}")),
    ("${{aaa}", None),
    ("${aaa:-bbb}}", Some("bbb}")),
    ("${aaa:-${bbb:-${ccc:-ddd}}}}", Some("ddd}")),
    ("${aaa:-${bbb:-${ccc:-ddd}", None),
];

#[test]
fn buildkit_word_cases() {
    let vars = env(&[
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]);
    let lex = Lexer::new('\\');
    for (input, want) in WORD_CASES {
        let got = lex.process_word(input, &vars);
        match want {
            Some(w) => assert_eq!(got.as_deref().ok(), Some(*w), "input {input:?}: {got:?}"),
            None => assert!(got.is_err(), "input {input:?} should be rejected, got {got:?}"),
        }
    }
}

#[test]
fn buildkit_words_cases() {
    let vars = env(&[
        ("hi", "hi"),
        ("space", "abc  def"),
        ("leading", "  ab c"),
        ("trailing", "ab c   "),
    ]);
    let lex = Lexer::new('\\');
    let cases: &[(&str, &[&str])] = &[
        ("hello", &["hello"]),
        ("hello${hi}bye", &["hellohibye"]),
        ("hello${space}bye", &["helloabc", "defbye"]),
        ("hello\"${space}\"bye", &["helloabc  defbye"]),
        ("hello \"${space}\"bye", &["hello", "abc  defbye"]),
        ("hello${leading}def", &["hello", "ab", "cdef"]),
        ("hello\"${leading}\" def", &["hello  ab c", "def"]),
        ("hello${trailing}d", &["helloab", "c", "d"]),
        ("hel\"lo${trailing}\"", &["helloab c   "]),
        ("hello\" there  \"", &["hello there  "]),
        ("hello there", &["hello", "there"]),
        ("hello\\ there", &["hello there"]),
        ("hello\\\" there", &["hello\"", "there"]),
        ("hello\"\\\\there\"", &["hello\\there"]),
        ("hello'$there'", &["hello$there"]),
    ];
    for (input, want) in cases {
        let got = lex.process_words(input, &vars).expect("expands");
        assert_eq!(&got, want, "input {input:?}");
    }
    assert!(lex.process_words("hello\" there", &vars).is_err());
}

#[test]
fn pattern_operators_match_bash() {
    // Expected values from bash 5: V=abcabc P=/usr/local/bin/tool.tar.gz
    let vars = env(&[("V", "abcabc"), ("P", "/usr/local/bin/tool.tar.gz"), ("S", "a*b")]);
    let lex = Lexer::new('\\');
    let cases = [
        ("${V#a*c}", "abc"),
        ("${V##a*c}", ""),
        ("${V%a*c}", "abc"),
        ("${V%%a*c}", ""),
        ("${V#?}", "bcabc"),
        ("${V%?}", "abcab"),
        ("${V#x}", "abcabc"),
        ("${P##*/}", "tool.tar.gz"),
        ("${P#*/}", "usr/local/bin/tool.tar.gz"),
        ("${P%.*}", "/usr/local/bin/tool.tar"),
        ("${P%%.*}", "/usr/local/bin/tool"),
        ("${V/b/X}", "aXcabc"),
        ("${V//b/X}", "aXcaXc"),
        ("${V/b*/X}", "aX"),
        ("${V//x/X}", "abcabc"),
        ("${S/\\*/-}", "a-b"),
        ("${UNSET#a}", ""),
        ("${UNSET/a/b}", ""),
    ];
    for (input, want) in cases {
        assert_eq!(
            lex.process_word(input, &vars).as_deref(),
            Ok(want),
            "input {input:?}"
        );
    }
}

#[test]
fn unset_variables_are_reported_and_can_be_kept() {
    let vars = env(&[("A", "1")]);
    let mut lex = Lexer::new('\\');
    let e = lex.process("$A ${B} ${C:-x}", &vars).expect("expands");
    assert_eq!(e.result, "1  x");
    assert!(e.matched.contains("A"));
    assert!(e.unmatched.contains("B") && e.unmatched.contains("C"));
    lex.skip_unset_env = true;
    assert_eq!(
        lex.process_word("$A $B ${C:-x} ${D/a/b}", &vars).as_deref(),
        Ok("1 $B ${C:-x} ${D/a/b}")
    );
}

#[test]
fn backtick_escape() {
    let lex = Lexer::new('`');
    let vars = env(&[("X", "x")]);
    assert_eq!(lex.process_word("a`$X\\b", &vars).as_deref(), Ok("a$X\\b"));
    assert_eq!(lex.process_word("\"`\"q\"", &vars).as_deref(), Ok("\"q"));
}

#[test]
fn error_messages_name_the_word() {
    let err = Lexer::new('\\')
        .process_word("${X:?must be set}", &env(&[]))
        .expect_err("unset");
    assert_eq!(
        err.to_string(),
        "failed to process \"${X:?must be set}\": X: must be set"
    );
}
