//! Golden images: `tests/golden/build/<case>/context/` is built with `slipway build --oci-layout` (build args
//! from `build-args`, the target from `target`); `image.txt` holds the manifest, the config (history included)
//! and each layer's file list, `progress.txt` the plain progress of a cold build. The expected files were
//! checked against BuildKit's Dockerfile front end (`dockerfile2llb/convert.go`) rule by rule; deliberate
//! differences are listed in docs/building.md. `UPDATE_GOLDEN=1` rewrites them (review the diff).

use std::path::{Path, PathBuf};

use super::layout::{describe, slipway_build, stable_progress};
use crate::support::TempDir;

fn cases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/build");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden/build")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("context/Dockerfile").is_file())
        .collect();
    v.sort();
    v
}

/// The fixture context with modes that do not depend on the checkout's umask (files 0644, directories 0755):
/// layers keep the context's modes, as Docker's do.
fn copy_with_fixed_modes(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).expect("mkdir");
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_with_fixed_modes(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
}

fn check(case: &Path, file: &str, actual: &str, failures: &mut Vec<String>) {
    let path = case.join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        ));
    }
}

#[test]
fn golden_images_match() {
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 3, "tests/golden/build has {} cases", cases.len());
    for case in cases {
        let tmp = TempDir::new("golden-build");
        let layout = tmp.path().join("layout");
        let cache = tmp.path().join("cache");
        let mut args = vec![
            "-t".to_owned(),
            "learner1/app:v1".to_owned(),
            "--oci-layout".to_owned(),
            layout.display().to_string(),
            "--cache-dir".to_owned(),
            cache.display().to_string(),
        ];
        for line in std::fs::read_to_string(case.join("build-args"))
            .unwrap_or_default()
            .lines()
        {
            args.extend(["--build-arg".to_owned(), line.to_owned()]);
        }
        if let Ok(target) = std::fs::read_to_string(case.join("target")) {
            args.extend(["--target".to_owned(), target.trim().to_owned()]);
        }
        args.push(".".into());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let context = tmp.path().join("context");
        copy_with_fixed_modes(&case.join("context"), &context);
        let out = slipway_build(&context, &arg_refs);
        assert!(
            out.status.success(),
            "{}: {}",
            case.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        check(&case, "image.txt", &describe(&layout, "v1"), &mut failures);
        check(
            &case,
            "progress.txt",
            &stable_progress(&out.stderr),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
