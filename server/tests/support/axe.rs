//! axe-core (npm, pinned in tools/package-lock.json) in the page under test: the accessibility check the e2e
//! tests hold the main page, the embeds and the layer explorer to (zero serious or critical violations).

use anyhow::anyhow;

use super::browser::Page;
use super::repo_root;

/// The axe-core check of the page as it is: its serious and critical violations, one line each (rule id and
/// the offending elements' markup).
pub async fn axe_violations(page: &Page) -> anyhow::Result<Vec<String>> {
    let axe = std::fs::read_to_string(repo_root().join("tools/node_modules/axe-core/axe.min.js"))
        .map_err(|e| anyhow!("axe-core from tools/ (cd tools && npm ci): {e}"))?;
    page.client.execute(&axe, vec![]).await?;
    let found = page
        .client
        .execute_async(
            "var done = arguments[arguments.length - 1]; \
             axe.run(document).then(r => done(r.passes.length === 0 ? ['axe checked nothing'] : \
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical') \
               .map(v => v.id + ': ' + v.nodes.map(n => n.html).join(' | '))));",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(found)?)
}
