//! `docker export [-o FILE] CONTAINER` (docker/cli `cli/command/container/export.go`): the container's whole
//! root filesystem as a tar, into a file of the project or (natively) on stdout; never onto a terminal. And
//! `docker save [-o FILE] IMAGE` as `slipway docker` runs it: the image's `docker load` tar
//! ([`crate::builder::archive`]), written the same way; the page takes the archive from its own store or the
//! companion (`src/cli/offline.rs` plans the line) and writes it with [`save_into_project`].

use super::context::CommandContext;
use super::cp::local_path;
use super::images::find;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::project_files::ProjectFiles;
use super::spec::Flag;
use crate::api::{Companion, MAX_COPY_BYTES};
use crate::builder::{archive, StoreError};
use crate::image::Reference;
use crate::layer::{FileTree, Meta};
use crate::registry::Transport;

/// docker's refusal when the tar would land on a terminal (`export.go`, as `docker save` says it).
pub const TO_A_TERMINAL: &str = "cowardly refusing to save to a terminal. Use the -o flag or redirect";

pub async fn export<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    match export_to(ctx, &inv.args[0], inv.flags.value(Flag::OUTPUT)).await {
        Ok(()) => Outcome::default(),
        Err(message) => Outcome::failure(format!("{message}\n"), 1),
    }
}

async fn export_to<T: Transport>(
    ctx: &CommandContext<'_, T>,
    container: &str,
    output: Option<&str>,
) -> Result<(), String> {
    let Some(files) = ctx.files else {
        return Err(
            "docker export needs the project's files: run it in the page's terminal or with slipway docker"
                .into(),
        );
    };
    // A terminal (the page's, or a native one): docker refuses before asking the daemon.
    if output.is_none() && ctx.status.is_some() {
        return Err(TO_A_TERMINAL.into());
    }
    let tar = Companion::new(ctx.transport, ctx.base)
        .export(container)
        .await
        .map_err(|e| e.to_string())?;
    write_output(files, output, tar)
}

/// `docker save [-o FILE] IMAGE`: one image per archive, as the page saves.
pub async fn save<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let output = inv.flags.value(Flag::OUTPUT);
    let saved = async {
        let Some(files) = ctx.files else {
            return Err("docker save needs the project's files: run it with slipway docker".to_string());
        };
        if output.is_none() && ctx.status.is_some() {
            return Err(TO_A_TERMINAL.into());
        }
        if inv.args.len() > 1 {
            return Err(
                "slipway: docker save writes one image per archive here: save them one at a time".into(),
            );
        }
        let tar = image_archive(ctx, &inv.args[0])
            .await
            .map_err(|e| format!("Error response from daemon: {e}"))?;
        write_output(files, output, tar)?;
        // The graph-driver store's `save` (image/tarexport/save.go): the image ID as ID and name.
        if let Ok(found) = find(ctx, &inv.args[0]).await {
            super::image_events::record_image(ctx, "save", &found.image.id, &found.image.id).await;
        }
        Ok(())
    };
    match saved.await {
        Ok(()) => Outcome::default(),
        Err(message) => Outcome::failure(format!("{message}\n"), 1),
    }
}

/// The `docker load` tar of the session's image `name` (of a multi-platform one, its linux/amd64 image, as
/// docker save on that platform takes).
pub async fn image_archive<T: Transport>(ctx: &CommandContext<'_, T>, name: &str) -> Result<Vec<u8>, String> {
    let found = find(ctx, name).await.map_err(|e| e.to_string())?;
    let client = ctx.local_client();
    let mut manifest = found.manifest;
    let value: serde_json::Value = serde_json::from_slice(&manifest).unwrap_or_default();
    if let Some(list) = value["manifests"].as_array() {
        let chosen = list
            .iter()
            .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == "amd64")
            .and_then(|m| m["digest"].as_str())
            .ok_or_else(|| format!("{name} has no linux/amd64 image"))?;
        manifest = client
            .pull_manifest(&found.repository, chosen)
            .await
            .map_err(|e| e.to_string())?
            .bytes;
    }
    let reference = Reference::parse(&found.image.name()).map_err(|e| e.to_string())?;
    let fetch = async |digest: &str| {
        client
            .pull_blob(&found.repository, digest)
            .await
            .map_err(|e| StoreError::Refused(e.to_string()))
    };
    archive(&reference, manifest, fetch)
        .await
        .map_err(|e| e.to_string())
}

/// The page's `docker save -o FILE` (and `> FILE`): the image's archive `tar` into the project's file `path`
/// (the file tree shows it; `docker load -i FILE` reads it back). An archive over [`MAX_COPY_BYTES`], the most
/// a command writes into the project (`docker cp`, `docker export`), is refused before anything is written.
pub fn save_into_project(files: &dyn ProjectFiles, path: &str, tar: Vec<u8>) -> Result<(), String> {
    if tar.len() as u64 > MAX_COPY_BYTES {
        return Err(format!(
            "slipway: the archive is {} bytes, over the {} MiB a file of the project may hold: save a smaller image (or natively, slipway docker save -o {path})",
            tar.len(),
            MAX_COPY_BYTES >> 20
        ));
    }
    write_output(files, Some(path), tar)
}

/// A tar into the project's file `output`, or onto stdout without one.
fn write_output(files: &dyn ProjectFiles, output: Option<&str>, tar: Vec<u8>) -> Result<(), String> {
    let Some(output) = output else {
        return files.stdout_tar(&tar);
    };
    let path = local_path(&files.root(), output)?;
    let (dir, name) = match path.rel.rsplit_once('/') {
        Some((dir, name)) => (dir.to_string(), name.to_string()),
        None => (String::new(), path.rel.clone()),
    };
    if name.is_empty() || files.kind(&path.rel) == Some(true) {
        return Err(format!("open {}: is a directory", path.shown));
    }
    if files.kind(&dir) != Some(true) {
        return Err(format!("open {}: no such file or directory", path.shown));
    }
    let mut tree = FileTree::new();
    tree.insert_file(&name, tar, Meta::root(0o644))
        .map_err(|e| e.to_string())?;
    files.write(&dir, &tree)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A project of one folder, `out`, recording what is written.
    #[derive(Default)]
    struct Written(RefCell<Vec<(String, Vec<String>)>>);

    impl ProjectFiles for Written {
        fn root(&self) -> String {
            "/project".into()
        }
        fn kind(&self, path: &str) -> Option<bool> {
            (path.is_empty() || path == "out").then_some(true)
        }
        fn read(&self, _: &str, _: &str, _: bool) -> Result<FileTree, String> {
            unreachable!()
        }
        fn write(&self, dir: &str, tree: &FileTree) -> Result<(), String> {
            let names = tree.iter().map(|(path, _)| path.to_string()).collect();
            self.0.borrow_mut().push((dir.to_string(), names));
            Ok(())
        }
        fn stdin_tar(&self) -> Result<Vec<u8>, String> {
            unreachable!()
        }
        fn stdout_tar(&self, _: &[u8]) -> Result<(), String> {
            unreachable!()
        }
    }

    #[test]
    fn a_save_into_the_project_is_refused_past_its_bound() {
        let files = Written::default();
        save_into_project(&files, "out/app.tar", vec![0; 1024]).unwrap();
        assert_eq!(
            files.0.borrow().as_slice(),
            [("out".to_string(), vec!["app.tar".to_string()])]
        );
        assert_eq!(
            save_into_project(&files, "nowhere/app.tar", vec![0; 10]).unwrap_err(),
            "open /project/nowhere/app.tar: no such file or directory"
        );
        let refused = save_into_project(&files, "big.tar", vec![0; MAX_COPY_BYTES as usize + 1]).unwrap_err();
        assert!(
            refused.contains("over the 256 MiB a file of the project may hold"),
            "{refused}"
        );
        assert_eq!(files.0.borrow().len(), 1, "nothing more was written");
    }
}
