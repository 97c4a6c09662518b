//! `slipway classroom cards`: a printable HTML page of sign-in cards, one per member (name, code, the server's
//! address), everything escaped.

use slipway::api::Role;

use super::Roster;

/// Text for HTML content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1cm}\
.cards{display:grid;grid-template-columns:repeat(2,1fr);gap:0.5cm}\
.card{border:1px dashed #555;padding:0.6cm;break-inside:avoid}\
.card h2{margin:0 0 0.3cm}.code{font:bold 1.6em ui-monospace,monospace;letter-spacing:0.1em}\
@media print{body{margin:0}.note{display:none}}";

/// The page of cards for `roster`, signing in at `url`.
pub fn cards_html(roster: &Roster, url: &str) -> String {
    let class = roster.config.name.as_deref().unwrap_or("Slipway class");
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — sign-in cards</title>\
         <style>{STYLE}</style></head><body>\n<p class=\"note\">Print this page and cut along the dashes.</p>\n\
         <div class=\"cards\">\n",
        escape(class)
    );
    for member in roster.members() {
        let (role, code) = match (member.role, member.code()) {
            (Role::Teacher, Some(code)) => ("Teacher", code),
            (Role::Teacher, None) => ("Teacher", "(your password)".to_string()),
            (Role::Learner, code) => ("Learner", code.unwrap_or_default()),
        };
        html.push_str(&format!(
            "<section class=\"card\"><h2>{name}</h2><p>{role} · {class}</p>\
             <p>Open <a href=\"{url}\">{url}</a> and type your code:</p><p class=\"code\">{code}</p>\
             <p>For <code>docker login</code>: user <code>{name}</code>, password: the code.</p></section>\n",
            name = escape(&member.name),
            class = escape(class),
            url = escape(url),
            code = escape(&code),
        ));
    }
    html.push_str("</div>\n</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_has_a_card_and_nothing_escapes() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[class]\nname = \"<b>Docker</b> & co\"\n[learners]\ncount = 2\n",
        )
        .unwrap();
        let classroom = super::super::Classroom::open(&file, dir.path()).unwrap();
        let roster = classroom.roster();
        let html = cards_html(&roster, "http://x/?a=1&b=\"2\"");
        assert!(!html.contains("<b>Docker"), "{html}");
        assert!(html.contains("&lt;b&gt;Docker&lt;/b&gt; &amp; co"));
        assert!(html.contains("http://x/?a=1&amp;b=&quot;2&quot;"));
        for member in roster.members() {
            assert!(html.contains(&member.name) && html.contains(&member.code().unwrap()));
        }
    }
}
