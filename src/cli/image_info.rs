//! `docker image inspect`, `docker history` and `docker system df`: what the local store knows about an
//! image, in docker's JSON shape and columns.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::context::CommandContext;
use super::format::{go_time, human_duration, human_size, tabwrite};
use super::images::{find, list_local, render_template, Found};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::image::local_store::{LocalImage, ManifestParts};
use crate::image::parse_rfc3339;
use crate::registry::Transport;

/// `RootFS` of `docker image inspect`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Value,
}

/// docker's `image inspect` object for the common fields, in docker's field order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectedImage {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: Value,
    pub docker_version: String,
    pub author: String,
    pub config: Value,
    pub architecture: Value,
    pub os: Value,
    pub size: u64,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFs,
    pub metadata: Metadata,
}

/// `Metadata` of `docker image inspect`: an image that was never tagged locally shows Go's zero time.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    pub last_tag_time: String,
}

pub fn inspect_json(found: &Found, all: &[LocalImage]) -> InspectedImage {
    let config = &found.config;
    let mut repo_tags: Vec<String> = all
        .iter()
        .filter(|i| i.id == found.image.id)
        .map(LocalImage::name)
        .collect();
    if repo_tags.is_empty() {
        repo_tags.push(found.image.name());
    }
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let inspected = InspectedImage {
        id: found.image.id.clone(),
        repo_tags,
        repo_digests: vec![format!("{}@{}", found.image.repository, found.image.digest)],
        parent: String::new(),
        comment: config["history"]
            .as_array()
            .and_then(|h| h.last())
            .map(|h| text(&h["comment"]))
            .unwrap_or_default(),
        created: config["created"].clone(),
        docker_version: String::new(),
        author: text(&config["author"]),
        config: config["config"].clone(),
        architecture: config["architecture"].clone(),
        os: config["os"].clone(),
        size: found.image.size,
        root_fs: RootFs {
            kind: config["rootfs"]["type"].as_str().unwrap_or("layers").to_string(),
            layers: config["rootfs"]["diff_ids"].clone(),
        },
        metadata: Metadata {
            last_tag_time: "0001-01-01T00:00:00Z".into(),
        },
    };
    inspected
}

/// JSON indented as docker prints it (four spaces).
pub fn docker_json<V: Serialize>(value: &V) -> String {
    json_indented(value, b"    ")
}

/// Go's `json.MarshalIndent(v, "", indent)`.
pub fn json_indented<V: Serialize>(value: &V, indent: &[u8]) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).expect("JSON values serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// `docker image inspect NAME...`: a JSON array; unknown names are errors after it.
pub async fn inspect<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let all = list_local(ctx).await.unwrap_or_default();
    let mut objects = Vec::new();
    let mut errors = String::new();
    for name in &inv.args {
        match find(ctx, name).await {
            Ok(found) => objects.push(inspect_json(&found, &all)),
            Err(e) => errors.push_str(&format!("Error: {e}\n")),
        }
    }
    let stdout = match inv.flags.value(Flag::FORMAT) {
        Some(format) => {
            let rows: Vec<BTreeMap<&'static str, String>> = objects
                .iter()
                .map(|o| serde_json::to_value(o).unwrap_or_default())
                .map(|o| {
                    ["Id", "Created", "Architecture", "Os", "Size"]
                        .into_iter()
                        .map(|k| {
                            (
                                k,
                                o[k].as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| o[k].to_string()),
                            )
                        })
                        .collect()
                })
                .collect();
            match render_template(format, &rows, &[], "image.InspectResponse") {
                Ok(text) => text,
                Err(e) => return Outcome::failure(e.to_string(), 1),
            }
        }
        None => format!("{}\n", docker_json(&objects)),
    };
    Outcome {
        stdout,
        exit_code: i32::from(!errors.is_empty()),
        stderr: errors,
    }
}

/// `docker history IMAGE`: the config's history, newest first; layer sizes are the stored (compressed) ones.
pub async fn history<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let found = match find(ctx, &inv.args[0]).await {
        Ok(found) => found,
        Err(e) => return Outcome::failure(format!("Error response from daemon: {e}"), 1),
    };
    let no_trunc = inv.flags.is_set(Flag::NO_TRUNC);
    let mut sizes = ManifestParts::parse(&found.manifest)
        .map(|p| p.layers.into_iter().map(|(_, s)| s).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter();
    let entries = found.config["history"].as_array().cloned().unwrap_or_default();
    let mut rows: Vec<BTreeMap<&'static str, String>> = entries
        .iter()
        .map(|entry| {
            let size = if entry["empty_layer"].as_bool().unwrap_or(false) {
                0
            } else {
                sizes.next().unwrap_or(0)
            };
            let created = entry["created"].as_str().and_then(parse_rfc3339).unwrap_or(0);
            let created_by = entry["created_by"].as_str().unwrap_or("").replace('\t', " ");
            let shown = if !no_trunc && created_by.chars().count() > 45 {
                format!("{}…", created_by.chars().take(44).collect::<String>())
            } else {
                created_by
            };
            BTreeMap::from([
                ("ID", "<missing>".to_string()),
                (
                    "CreatedSince",
                    format!(
                        "{} ago",
                        human_duration(ctx.now.saturating_sub(created.max(0) as u64))
                    ),
                ),
                ("CreatedAt", go_time(created)),
                ("CreatedBy", shown),
                ("Size", human_size(size)),
                ("Comment", entry["comment"].as_str().unwrap_or("").to_string()),
            ])
        })
        .collect();
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        let id = if no_trunc {
            found.image.id.clone()
        } else {
            found.image.short_id().to_string()
        };
        top.insert("ID", id);
    }
    if inv.flags.is_set(Flag::QUIET) {
        return Outcome::success(rows.iter().map(|r| format!("{}\n", r["ID"])).collect());
    }
    let format = inv
        .flags
        .value(Flag::FORMAT)
        .unwrap_or("table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}");
    let titles = [
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ];
    match render_template(format, &rows, &titles, "formatter.historyContext") {
        Ok(text) => Outcome::success(text),
        Err(e) => Outcome::failure(e.to_string(), 1),
    }
}

/// `docker system df`: the images line from the local store; containers and volumes are the companion's.
pub async fn system_df<T: Transport>(ctx: &CommandContext<'_, T>, _inv: &Invocation) -> Outcome {
    let images = match list_local(ctx).await {
        Ok(images) => images,
        Err(e) => return Outcome::failure(e.to_string(), 1),
    };
    let mut unique: BTreeMap<&str, u64> = BTreeMap::new();
    for image in &images {
        unique.insert(&image.id, image.size);
    }
    let total: u64 = unique.values().sum();
    let table = vec![
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
            .map(String::from)
            .to_vec(),
        vec![
            "Images".into(),
            unique.len().to_string(),
            "0".into(),
            human_size(total),
            format!("{} (100%)", human_size(total)),
        ],
    ];
    Outcome::success(tabwrite(&table))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inspect_json_is_indented_like_docker() {
        let text = docker_json(&json!([{"Id": "sha256:1"}]));
        assert_eq!(text, "[\n    {\n        \"Id\": \"sha256:1\"\n    }\n]");
    }
}
