//! Hostile and broken input: clear errors, never a panic, never a file outside the context.

use slipway::builder::{BuildError, BuildOptions, Builder, MemoryCache, MemorySink, NoCompanion, NoRegistry};
use slipway::layer::{FileTree, Meta};

fn build(ctx: &FileTree, dockerfile: &str, target: Option<&str>) -> Result<(), BuildError> {
    let clock = || 0;
    let progress = |_: &slipway::builder::Event| {};
    let builder = Builder {
        resolver: &NoRegistry,
        executor: &NoCompanion,
        cache: &MemoryCache::new(),
        packer: &slipway::builder::InlinePacker,
        clock: &clock,
        progress: &progress,
    };
    let options = BuildOptions {
        dockerfile: dockerfile.to_owned(),
        target: target.map(String::from),
        ..BuildOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime
        .block_on(builder.build(ctx, &options, &MemorySink::default()))
        .map(|_| ())
}

fn err(ctx: &FileTree, dockerfile: &str) -> String {
    build(ctx, dockerfile, None)
        .expect_err("the build must fail")
        .to_string()
}

fn context() -> FileTree {
    let mut t = FileTree::new();
    t.insert_file("app.py", b"print(1)\n".to_vec(), Meta::file())
        .unwrap();
    t.insert_symlink("passwd-link", "/etc/passwd", Meta::symlink())
        .unwrap();
    t.insert_symlink("up-link", "../../etc/shadow", Meta::symlink())
        .unwrap();
    t
}

#[test]
fn paths_never_leave_the_context() {
    let ctx = context();
    let e = err(&ctx, "FROM scratch\nCOPY ../etc/passwd /x\n");
    assert!(e.contains("outside the build context"), "{e}");
    // An absolute link target resolves inside the context, where nothing is at etc/passwd.
    let e = err(&ctx, "FROM scratch\nCOPY passwd-link /x\n");
    assert!(e.contains("not found"), "{e}");
    let e = err(&ctx, "FROM scratch\nCOPY up-link /x\n");
    assert!(
        e.contains("outside the build context") || e.contains("not found"),
        "{e}"
    );
}

#[test]
fn missing_stage_and_target_are_named() {
    let ctx = context();
    let e = err(&ctx, "FROM scratch\nCOPY --from=nope /a /b\n");
    assert!(e.contains("--from=nope"), "{e}");
    let e = build(&ctx, "FROM scratch AS one\nCOPY app.py /\n", Some("two"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("target stage \"two\" could not be found"), "{e}");
    let e = err(&ctx, "FROM scratch\nCPY app.py /\n");
    assert!(
        e.starts_with("dockerfile parse error on line 2: unknown instruction: CPY"),
        "{e}"
    );
    let e = err(&ctx, "FROM scratch\nCOPY --chmod=999 app.py /\n");
    assert!(e.contains("invalid chmod parameter"), "{e}");
    let e = err(&ctx, "FROM scratch\nCOPY --chown=app app.py /\n");
    assert!(e.contains("unable to find user app"), "{e}");
}

#[test]
fn broken_and_oversized_archives_are_refused() {
    let mut ctx = context();
    ctx.insert_file(
        "broken.tar.gz",
        vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1, 2, 3],
        Meta::file(),
    )
    .unwrap();
    let e = err(&ctx, "FROM scratch\nADD broken.tar.gz /x/\n");
    assert!(
        e.contains("not a tar archive") || e.contains("archive entry"),
        "{e}"
    );
    // A header that claims 10 GiB with no data behind it.
    let mut header = tar::Header::new_ustar();
    header.set_path("huge.bin").unwrap();
    header.set_size(10 << 30);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_cksum();
    let mut claim = header.as_bytes().to_vec();
    claim.extend_from_slice(&[0u8; 1024]);
    ctx.insert_file("claim.tar", claim, Meta::file()).unwrap();
    let e = err(&ctx, "FROM scratch\nADD claim.tar /x/\n");
    assert!(e.contains("over the limit"), "{e}");
}
