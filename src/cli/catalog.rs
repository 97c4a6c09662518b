//! `docker search TERM` (the companion's registry's catalog, docker's table) and `docker manifest inspect REF`
//! (the manifest or index as docker prints it), docker 28's output and errors (docker/cli's
//! `cli/command/registry/search.go`, `manifest/inspect.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::context::CommandContext;
use super::format::tabwrite;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::image::Reference;
use crate::registry::Transport;

/// The repositories of the companion's registry whose name holds `term`, as `docker search` lists Docker Hub's:
/// official images (`library/`) by their short name, marked `[OK]`. The registry keeps no descriptions or stars.
pub async fn search<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let limit = match inv.flags.value(Flag::LIMIT).map(str::parse::<i64>).transpose() {
        Ok(limit) => limit.unwrap_or(25),
        Err(_) => {
            let text = inv.flags.value(Flag::LIMIT).unwrap_or_default();
            return Outcome::failure(
                format!(
                    "invalid argument \"{text}\" for \"--limit\" flag: strconv.ParseInt: parsing \"{text}\": invalid \
                     syntax\nSee 'docker search --help'.\n"
                ),
                125,
            );
        }
    };
    if !(1..=100).contains(&limit) {
        return Outcome::failure(format!("limit {limit} is outside the range of [1, 100]\n"), 1);
    }
    let repositories = match ctx.local_client().catalog().await {
        Ok(repositories) => repositories,
        Err(e) => return Outcome::failure(format!("Error response from daemon: {e}\n"), 1),
    };
    let term = inv.args[0].to_ascii_lowercase();
    let mut rows = vec![["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
        .map(String::from)
        .to_vec()];
    let found = repositories
        .iter()
        .filter(|r| !r.starts_with("slipway-local/"))
        .map(|r| match r.strip_prefix("library/") {
            Some(official) => (official.to_string(), "[OK]"),
            None => (r.clone(), ""),
        })
        .filter(|(name, _)| name.contains(&term))
        .take(limit as usize);
    rows.extend(found.map(|(name, official)| vec![name, String::new(), "0".into(), official.into()]));
    Outcome::success(tabwrite(&rows))
}

/// A descriptor as docker's manifest structs print it (distribution's and the OCI image spec's field order).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    media_type: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    digest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    urls: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    platform: Option<Platform>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Platform {
    architecture: String,
    os: String,
    #[serde(default, rename = "os.version", skip_serializing_if = "String::is_empty")]
    os_version: String,
    #[serde(default, rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    variant: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    features: Vec<String>,
}

/// An image manifest or an index (manifest list), in docker's field order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    schema_version: i64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<Descriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

/// Go's `json.MarshalIndent(v, "", "\t")`, as `docker manifest inspect` prints.
fn tab_indented<V: Serialize>(value: &V) -> String {
    super::image_info::json_indented(value, b"\t")
}

/// `docker manifest inspect REF`: the manifest (or index) the registry holds for REF.
pub async fn manifest_inspect<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let reference = match Reference::parse(&inv.args[0]) {
        Ok(r) => r.with_default_tag(),
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    let client = ctx.client(&ctx.target(reference.registry()));
    let pulled = client
        .pull_manifest(reference.repository(), &reference.tag_or_digest())
        .await;
    let Ok(pulled) = pulled else {
        return Outcome::failure(format!("no such manifest: {reference}\n"), 1);
    };
    match serde_json::from_slice::<Manifest>(&pulled.bytes) {
        Ok(manifest) => Outcome::success(format!("{}\n", tab_indented(&manifest))),
        Err(e) => Outcome::failure(format!("unreadable manifest {reference}: {e}\n"), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_print_in_dockers_order_with_tabs() {
        let raw = r#"{"layers":[{"size":3,"digest":"sha256:bb","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}],
            "config":{"digest":"sha256:aa","size":2,"mediaType":"application/vnd.oci.image.config.v1+json"},
            "mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#;
        let manifest: Manifest = serde_json::from_str(raw).unwrap();
        assert_eq!(
            tab_indented(&manifest),
            "{\n\t\"schemaVersion\": 2,\n\t\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n\t\
             \"config\": {\n\t\t\"mediaType\": \"application/vnd.oci.image.config.v1+json\",\n\t\t\"size\": 2,\n\t\t\
             \"digest\": \"sha256:aa\"\n\t},\n\t\"layers\": [\n\t\t{\n\t\t\t\"mediaType\": \
             \"application/vnd.oci.image.layer.v1.tar+gzip\",\n\t\t\t\"size\": 3,\n\t\t\t\"digest\": \"sha256:bb\"\n\t\t}\n\t]\n}"
        );
        let index = r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:cc","size":5,
            "platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        let text = tab_indented(&serde_json::from_str::<Manifest>(index).unwrap());
        assert!(
            text.contains("\"platform\": {\n\t\t\t\t\"architecture\": \"arm64\",\n\t\t\t\t\"os\": \"linux\",\n\t\t\t\t\"variant\": \"v8\""),
            "{text}"
        );
    }
}
