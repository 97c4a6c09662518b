//! The build checks a build runs once its base images are resolved, as BuildKit's `dockerfile2llb` does: the
//! platform each base image's config names goes to the checks (so InvalidBaseImagePlatform can fire), and
//! under `# check=error=true` any warning of BuildKit's rules fails the build before a step runs.

use std::collections::BTreeMap;

use super::resolve::ResolvedImage;
use super::{BuildError, BuildOptions};
use crate::dockerfile::ignore::Dockerignore;
use crate::dockerfile::lint::{self, LintOptions, Report};
use crate::dockerfile::Dockerfile;
use crate::image::Reference;
use crate::layer::{FileTree, Node};

/// The platform of each resolved base image (`os/arch[/variant]` from its config), by the name the Dockerfile
/// gives it after expansion.
pub(super) fn base_platforms(
    df: &Dockerfile,
    bases: &BTreeMap<usize, (Reference, ResolvedImage)>,
) -> BTreeMap<String, String> {
    bases
        .iter()
        .filter_map(|(&i, (_, image))| {
            let c = &image.config;
            let mut platform = format!("{}/{}", c.os(), c.architecture());
            if let Some(v) = c.variant() {
                platform = format!("{platform}/{v}");
            }
            Some((df.stages.stages.get(i)?.base_expanded.clone(), platform))
        })
        .collect()
}

/// The checks of a build: its args, target, `.dockerignore` and the resolved base images' platforms.
pub(super) fn check(
    df: &Dockerfile,
    context: &FileTree,
    options: &BuildOptions,
    base_platforms: BTreeMap<String, String>,
) -> Report {
    let dockerignore = match context.get(".dockerignore") {
        Some(Node::File { data, .. }) => Some(Dockerignore::parse(&String::from_utf8_lossy(data))),
        _ => None,
    };
    lint::check(
        df,
        &LintOptions {
            build_args: options.build_args.clone(),
            target: options.target.clone(),
            dockerignore,
            base_platforms,
            target_platform: Some(options.platform.to_string()),
        },
    )
}

/// The warnings of BuildKit's rules as a build's end lists them ([`super::progress::warnings_summary`]):
/// `linter.LintFormatShort`, `Rule: message (line N)` at the instruction's first line.
pub(super) fn warning_lines(report: &Report) -> Vec<String> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.severity == lint::Severity::Warning)
        .filter(|d| lint::rules::rule(d.rule).is_some_and(|r| r.buildkit))
        .map(|d| format!("{}: {} (line {})", d.rule, d.message, d.line))
        .collect()
}

/// `# check=error=true`: BuildKit's `lint violation found for rules: A, B` when any of its rules warned.
pub(super) fn refuse_violations(report: &Report) -> Result<(), BuildError> {
    if !report.check.error {
        return Ok(());
    }
    let mut rules: Vec<&str> = report
        .diagnostics
        .iter()
        .filter(|d| lint::rules::rule(d.rule).is_some_and(|r| r.buildkit))
        .map(|d| d.rule)
        .collect();
    rules.sort_unstable();
    rules.dedup();
    if rules.is_empty() {
        Ok(())
    } else {
        Err(BuildError::LintViolation(rules.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(platform: &str) -> ResolvedImage {
        let (os, arch) = platform.split_once('/').unwrap();
        let config =
            format!(r#"{{"os":"{os}","architecture":"{arch}","rootfs":{{"type":"layers","diff_ids":[]}}}}"#);
        ResolvedImage {
            pinned: "docker.io/library/alpine:3.19@sha256:00".into(),
            manifest_digest: String::new(),
            config: serde_json::from_str(&config).unwrap(),
            config_json: serde_json::Value::Null,
            layers: Vec::new(),
        }
    }

    /// What a build's checks say with the base image resolved for `pulled`.
    fn checked(src: &str, pulled: &str, tweak: impl FnOnce(&mut BuildOptions)) -> Report {
        let df = crate::dockerfile::parse(src).unwrap();
        let reference = Reference::parse("alpine:3.19").unwrap();
        let bases = BTreeMap::from([(0, (reference, resolved(pulled)))]);
        let mut options = BuildOptions::default();
        tweak(&mut options);
        check(&df, &FileTree::new(), &options, base_platforms(&df, &bases))
    }

    #[test]
    fn the_base_images_platform_reaches_the_checks() {
        let src = "FROM alpine:3.19\nUSER app\n";
        let report = checked(src, "linux/arm64", |_| {});
        let found: Vec<(&str, usize, &str)> = report
            .diagnostics
            .iter()
            .map(|d| (d.rule, d.line, d.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [(
                "InvalidBaseImagePlatform",
                1,
                "Base image alpine:3.19 was pulled with platform \"linux/arm64\", expected \"linux/amd64\" for current build"
            )]
        );
        assert!(
            refuse_violations(&report).is_ok(),
            "a warning alone does not fail the build"
        );
        // The platform the build asks for, or the stage's own --platform, is what the image is compared with.
        let arm = crate::builder::Platform::parse("linux/arm64").unwrap();
        assert!(checked(src, "linux/arm64", |o| o.platform = arm)
            .diagnostics
            .is_empty());
        let pinned = "FROM --platform=linux/arm64 alpine:3.19 AS arm64\nUSER app\n";
        assert!(checked(pinned, "linux/arm64", |_| {}).diagnostics.is_empty());
        // Under check=error=true it fails the build, in BuildKit's words.
        let strict = checked(
            "# check=error=true\nFROM alpine:3.19\nUSER app\n",
            "linux/arm64",
            |_| {},
        );
        let err = refuse_violations(&strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lint violation found for rules: InvalidBaseImagePlatform"
        );
    }
}
