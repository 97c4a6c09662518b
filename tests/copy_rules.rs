//! COPY destination rules on in-memory trees: what lands where, with which owner and mode.

use anyhow::{ensure, Result};
use slipway::layer::copy::{copy_into, CopyError, CopyOptions, Scratch};
use slipway::layer::{FileTree, LayerOptions, Meta, Node};

fn context() -> Result<FileTree> {
    let mut c = FileTree::new();
    c.insert_file("app.py", b"print('hi')\n".to_vec(), Meta::file())?;
    c.insert_file("requirements.txt", b"flask\n".to_vec(), Meta::file())?;
    c.insert_file("notes.txt", b"n\n".to_vec(), Meta::file())?;
    c.insert_file("src/main.py", b"main\n".to_vec(), Meta::file())?;
    c.insert_file("src/pkg/mod.py", b"mod\n".to_vec(), Meta::root(0o755))?;
    c.insert_symlink("current", "src/main.py", Meta::symlink())?;
    c.insert_symlink("src/link", "../app.py", Meta::symlink())?;
    Ok(c)
}

fn copy(
    sources: &[&str],
    dest: &str,
    workdir: &str,
    options: CopyOptions,
    base: &FileTree,
) -> Result<FileTree> {
    let mut layer = FileTree::new();
    copy_into(&context()?, sources, dest, workdir, &options, base, &mut layer)?;
    Ok(layer)
}

fn paths(t: &FileTree) -> Vec<&str> {
    t.iter().map(|(p, _)| p).collect()
}

fn meta(t: &FileTree, path: &str) -> Meta {
    match t.get(path) {
        Some(Node::File { meta, .. } | Node::Dir { meta } | Node::Symlink { meta, .. }) => *meta,
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn file_to_directory_or_file_path() -> Result<()> {
    let none = FileTree::new();
    ensure!(paths(&copy(&["app.py"], "/app/", "/", CopyOptions::default(), &none)?) == ["app", "app/app.py"]);
    // No trailing slash and no such directory below: the destination is the file's new name.
    ensure!(paths(&copy(&["app.py"], "/app", "/", CopyOptions::default(), &none)?) == ["app"]);
    // ... unless the base image has that directory.
    let mut base = FileTree::new();
    base.insert_dir("tmp", Meta::root(0o1777))?;
    let layer = copy(&["app.py"], "/tmp", "/", CopyOptions::default(), &base)?;
    ensure!(paths(&layer) == ["tmp", "tmp/app.py"]);
    ensure!(meta(&layer, "tmp").mode == 0o1777, "base directory metadata kept");
    // Relative to WORKDIR.
    ensure!(
        paths(&copy(
            &["requirements.txt"],
            ".",
            "/app",
            CopyOptions::default(),
            &none
        )?) == ["app", "app/requirements.txt"]
    );
    ensure!(
        paths(&copy(
            &["app.py"],
            "../x/",
            "/srv/web",
            CopyOptions::default(),
            &none
        )?) == ["srv", "srv/x", "srv/x/app.py"]
    );
    Ok(())
}

#[test]
fn directory_contributes_its_contents() -> Result<()> {
    let none = FileTree::new();
    let layer = copy(&["src"], "/app", "/", CopyOptions::default(), &none)?;
    ensure!(
        paths(&layer) == ["app", "app/link", "app/main.py", "app/pkg", "app/pkg/mod.py"],
        "{:?}",
        paths(&layer)
    );
    ensure!(meta(&layer, "app/pkg/mod.py").mode == 0o755);
    ensure!(matches!(layer.get("app/link"), Some(Node::Symlink { target, .. }) if target == "../app.py"));
    let all = copy(&["."], ".", "/app", CopyOptions::default(), &none)?;
    ensure!(all.get("app/src/pkg/mod.py").is_some() && all.get("app/app.py").is_some());
    Ok(())
}

#[test]
fn several_sources_and_wildcards() -> Result<()> {
    let none = FileTree::new();
    let err = copy(
        &["app.py", "notes.txt"],
        "/dest",
        "/",
        CopyOptions::default(),
        &none,
    )
    .unwrap_err();
    ensure!(
        matches!(err.downcast_ref::<CopyError>(), Some(CopyError::DestNotDir)),
        "{err}"
    );
    ensure!(
        paths(&copy(
            &["app.py", "notes.txt"],
            "/dest/",
            "/",
            CopyOptions::default(),
            &none
        )?) == ["dest", "dest/app.py", "dest/notes.txt"]
    );
    // A wildcard matching two files makes the destination a directory.
    ensure!(
        paths(&copy(&["*.txt"], "/dest", "/", CopyOptions::default(), &none)?)
            == ["dest", "dest/notes.txt", "dest/requirements.txt"]
    );
    ensure!(paths(&copy(&["src/*.py"], "/d/", "/", CopyOptions::default(), &none)?) == ["d", "d/main.py"]);
    Ok(())
}

#[test]
fn symlink_sources_are_followed() -> Result<()> {
    let layer = copy(&["current"], "/x", "/", CopyOptions::default(), &FileTree::new())?;
    ensure!(matches!(layer.get("x"), Some(Node::File { data, .. }) if &data[..] == b"main\n"));
    Ok(())
}

#[test]
fn chown_and_chmod() -> Result<()> {
    let mut base = FileTree::new();
    base.insert_dir("srv", Meta::dir())?;
    let options = CopyOptions {
        chown: Some((1000, 1000)),
        chmod: Some(0o600),
    };
    let layer = copy(&["src"], "/srv/app/code", "/", options, &base)?;
    ensure!(meta(&layer, "srv").uid == 0, "existing base dir untouched");
    ensure!(
        meta(&layer, "srv/app").uid == 1000 && meta(&layer, "srv/app").mode == 0o755,
        "created parent chowned"
    );
    let file = meta(&layer, "srv/app/code/pkg/mod.py");
    ensure!(file.uid == 1000 && file.gid == 1000 && file.mode == 0o600);
    Ok(())
}

#[test]
fn hostile_and_missing_sources() -> Result<()> {
    let none = FileTree::new();
    let mut layer = FileTree::new();
    let ctx = context()?;
    let opts = CopyOptions::default();
    let err = copy_into(&ctx, &["missing.txt"], "/x", "/", &opts, &Scratch, &mut layer).unwrap_err();
    ensure!(err.to_string() == "\"missing.txt\": not found", "{err}");
    let err = copy_into(&ctx, &["../etc/passwd"], "/x", "/", &opts, &Scratch, &mut layer).unwrap_err();
    ensure!(matches!(err, CopyError::OutsideContext(_)), "{err}");
    let err = copy_into(&ctx, &["*.none"], "/x/", "/", &opts, &none, &mut layer).unwrap_err();
    ensure!(matches!(err, CopyError::NotFound(_)), "{err}");
    let err = copy_into(&ctx, &["[a-"], "/x/", "/", &opts, &none, &mut layer).unwrap_err();
    ensure!(matches!(err, CopyError::BadPattern(_)), "{err}");
    Ok(())
}

#[test]
fn copy_layer_is_reproducible() -> Result<()> {
    let none = FileTree::new();
    let a = copy(&["."], "/app/", "/", CopyOptions::default(), &none)?
        .to_layer(&LayerOptions::default())?
        .1;
    let b = copy(&["."], "/app/", "/", CopyOptions::default(), &none)?
        .to_layer(&LayerOptions::default())?
        .1;
    ensure!(a == b);
    Ok(())
}
