//! The page's image store over a memory store: build into it, list, find, save as a tar, build FROM it.

use super::*;
use crate::builder::tests::context;
use crate::builder::{block_on, BuildOptions, Builder, MemoryCache, NoCompanion, NoRegistry};

fn build_into(
    kv: &MemoryCache,
    resolver: &impl BaseResolver,
    dockerfile: &str,
    tag: &str,
) -> Result<BuiltImage, BuildError> {
    let ctx = context(&[("app.py", "print('hi')\n"), ("Dockerfile", dockerfile)]);
    let progress = |_: &crate::builder::Event| {};
    let clock = || 0;
    let cache = MemoryCache::new();
    let builder = Builder {
        resolver,
        executor: &NoCompanion,
        cache: &cache,
        packer: &crate::builder::InlinePacker,
        clock: &clock,
        progress: &progress,
    };
    let options = BuildOptions {
        dockerfile: dockerfile.to_owned(),
        tags: vec![Reference::parse(tag).unwrap()],
        ..BuildOptions::default()
    };
    let sink = StoreSink {
        store: LocalStore { kv },
        created: "2026-11-28T10:00:00Z".into(),
    };
    block_on(builder.build(&ctx, &options, &sink))
}

/// `learner1/app:v1` from scratch with one COPY, into `kv`.
fn app_v1(kv: &MemoryCache) -> BuiltImage {
    build_into(
        kv,
        &NoRegistry,
        "FROM scratch\nCOPY app.py /app/\n",
        "learner1/app:v1",
    )
    .unwrap()
}

#[test]
fn built_images_list_and_find_by_tag_or_id() {
    let kv = MemoryCache::new();
    let image = app_v1(&kv);
    let store = LocalStore { kv: &kv };
    let listed = block_on(store.list()).unwrap();
    assert_eq!(listed.len(), 1);
    let row = &listed[0];
    assert_eq!(
        (row.repository.as_str(), row.tag.as_str()),
        ("learner1/app", "v1")
    );
    assert_eq!(row.id, image.id());
    assert_eq!(row.digest, image.manifest.descriptor.digest().to_string());
    assert_eq!(row.created, "2026-11-28T10:00:00Z");
    let layer_sizes: u64 = image.layers.iter().map(|l| l.descriptor.size()).sum();
    assert_eq!(row.size, image.config.descriptor.size() + layer_sizes);
    assert_eq!(block_on(store.find(&row.id[7..19])).unwrap(), *row);
    let err = block_on(store.find("learner1/app")).unwrap_err();
    assert_eq!(err.to_string(), "No such image: learner1/app:latest");
    // A rebuild under the same tag replaces the row, it does not add one.
    build_into(
        &kv,
        &NoRegistry,
        "FROM scratch\nCOPY app.py /\n",
        "learner1/app:v1",
    )
    .unwrap();
    assert_eq!(block_on(store.list()).unwrap().len(), 1);
}

#[test]
fn save_writes_a_docker_load_tar_with_every_blob() {
    let kv = MemoryCache::new();
    let image = app_v1(&kv);
    let tar_bytes = block_on(LocalStore { kv: &kv }.save("learner1/app:v1")).unwrap();
    let mut names = Vec::new();
    let mut legacy = serde_json::Value::Null;
    for entry in tar::Archive::new(&tar_bytes[..]).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "manifest.json" {
            legacy = serde_json::from_reader(&mut entry).unwrap();
        }
        names.push(path);
    }
    for digest in [
        image.id(),
        image.manifest.descriptor.digest().to_string(),
        image.layers[0].descriptor.digest().to_string(),
    ] {
        let path = format!("blobs/sha256/{}", &digest[7..]);
        assert!(names.contains(&path), "{path} missing from {names:?}");
    }
    assert!(names.iter().any(|n| n == "index.json") && names.iter().any(|n| n == "oci-layout"));
    assert_eq!(legacy[0]["RepoTags"][0], "learner1/app:v1");
    let err = block_on(LocalStore { kv: &kv }.save("nope:v9")).unwrap_err();
    assert_eq!(err, StoreError::NoSuchImage("nope:v9".into()));
}

#[test]
fn a_stored_image_is_a_base_without_any_registry() {
    let kv = MemoryCache::new();
    let base = build_into(
        &kv,
        &NoRegistry,
        "FROM scratch\nCOPY app.py /app/\n",
        "learner1/base:v1",
    )
    .unwrap();
    let store = LocalStore { kv: &kv };
    let child = build_into(
        &kv,
        &store,
        "FROM learner1/base:v1\nCOPY app.py /again/\n",
        "learner1/app:v2",
    )
    .unwrap();
    assert_eq!(child.layers.len(), 2);
    assert_eq!(child.layers[0].descriptor, base.layers[0].descriptor);
    // The child's tar carries the base layer too.
    assert!(block_on(store.save("learner1/app:v2")).is_ok());
    let missing = build_into(&kv, &store, "FROM busybox\n", "x:1")
        .unwrap_err()
        .to_string();
    assert!(missing.contains("not in this browser's image store"), "{missing}");
}

#[test]
fn layers_of_the_companion_stay_there() {
    let mut image = app_v1(&MemoryCache::new());
    image.layers[0].blob = None;
    image.layers[0].repository = Some("library/busybox".into());
    let kv = MemoryCache::new();
    let store = LocalStore { kv: &kv };
    let tag = Reference::parse("learner1/app:v1").unwrap();
    block_on(store.add(&image, &[tag], "2026-11-28T10:00:00Z")).unwrap();
    assert_eq!(block_on(store.list()).unwrap().len(), 1);
    let missing = block_on(store.save("learner1/app:v1")).unwrap_err();
    assert_eq!(
        missing,
        StoreError::MissingBlob(image.layers[0].descriptor.digest().to_string())
    );
    assert!(
        missing.to_string().contains("stay in the companion's registry"),
        "{missing}"
    );
}
