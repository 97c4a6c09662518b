//! The rule table: every build check's name, default severity, one-line description and the explanation
//! shown to learners.

use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// A check: BuildKit's (same name as `docker build --check`) or one of Slipway's learner rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub name: &'static str,
    pub severity: Severity,
    /// Whether BuildKit has this rule (the others explain the tutorial's lessons).
    pub buildkit: bool,
    pub explanation: &'static str,
}

const fn bk(name: &'static str, explanation: &'static str) -> Rule {
    Rule {
        name,
        severity: Severity::Warning,
        buildkit: true,
        explanation,
    }
}

const fn learner(name: &'static str, severity: Severity, explanation: &'static str) -> Rule {
    Rule {
        name,
        severity,
        buildkit: false,
        explanation,
    }
}

pub const RULES: &[Rule] = &[
    bk("StageNameCasing", "Stage names are case-insensitive and stored in lower case; write them in lower case so FROM and COPY --from references read the same."),
    bk("FromAsCasing", "Write FROM and AS in the same case (both upper or both lower) so the file reads consistently."),
    bk("NoEmptyContinuation", "An empty line inside a continued instruction is silently dropped today and will be an error in a future release; remove it or end the previous line without a backslash."),
    bk("ConsistentInstructionCasing", "Instructions are case-insensitive, but mixing cases makes a Dockerfile hard to scan; use the casing most of the file uses (upper case is the convention)."),
    bk("DuplicateStageName", "Two stages with one name make COPY --from and --target ambiguous; give each stage its own name."),
    bk("ReservedStageName", "'scratch' and 'context' have special meaning in FROM and COPY --from; a stage with that name cannot be referenced."),
    bk("JSONArgsRecommended", "In shell form the command runs under /bin/sh -c, which does not pass signals such as SIGTERM on; `docker stop` then waits and kills it. The JSON (exec) form runs the program directly: CMD [\"python\", \"app.py\"]."),
    bk("MaintainerDeprecated", "MAINTAINER is deprecated; record the author with LABEL org.opencontainers.image.authors=\"name <mail>\"."),
    bk("UndefinedArgInFrom", "FROM can only use ARGs declared before the first FROM (global ARGs) and the predefined platform args; declare it there, with a default if the build needs one."),
    bk("WorkdirRelativePath", "A relative WORKDIR is resolved against the base image's working directory, which can change when the base image changes; use an absolute path."),
    bk("UndefinedVar", "The variable is neither declared with ARG or ENV in this stage nor a predefined arg, so it expands to an empty string. Inside a stage, global ARGs must be re-declared with `ARG NAME`."),
    bk("MultipleInstructionsDisallowed", "Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect; the earlier ones are dead code."),
    bk("LegacyKeyValueFormat", "`ENV key value` can only set one variable and is ambiguous with spaces; write `ENV key=value` (quote values with spaces)."),
    bk("InvalidBaseImagePlatform", "The base image was pulled for a different platform than the build targets; pick an image or tag that provides the target platform."),
    bk("RedundantTargetPlatform", "FROM already uses the target platform by default; --platform=$TARGETPLATFORM changes nothing."),
    bk("SecretsUsedInArgOrEnv", "ARG and ENV values are stored in the image metadata and history, where anyone with the image can read them; pass secrets with RUN --mount=type=secret instead."),
    bk("InvalidDefaultArgInFrom", "With the ARG defaults the FROM image name is empty or invalid, so a build without --build-arg fails; give the ARG a default that forms a valid image name."),
    bk("FromPlatformFlagConstDisallowed", "A constant --platform pins the stage to one platform even in multi-platform builds; use $BUILDPLATFORM or $TARGETPLATFORM, or drop the flag."),
    bk("CopyIgnoredFile", "The path is excluded by .dockerignore, so it is not in the build context and the COPY/ADD fails or copies less than expected."),
    bk("ExposeProtoCasing", "Protocols in EXPOSE are lower case: 80/tcp, 53/udp."),
    bk("ExposeInvalidFormat", "EXPOSE only documents container ports (80, 80/tcp); IP addresses and host ports belong to `docker run -p`."),
    learner("AptGetInstallWithoutYes", Severity::Warning, "A build cannot answer apt-get's confirmation prompt, so `apt-get install` without -y aborts the build. Write `apt-get install -y package`."),
    learner("AptGetUpdateAlone", Severity::Info, "A RUN with only `apt-get update` is cached on its own: later builds reuse the old package index while the install step changes, and installs fail or get stale versions. Combine them: `RUN apt-get update && apt-get install -y ...`."),
    learner("InstallAfterCopyAll", Severity::Info, "Dependencies are installed after `COPY . .`, so any source change invalidates the cache and reinstalls everything. Copy the dependency manifest first (e.g. COPY requirements.txt .), install, then copy the rest."),
    learner("LatestOrUntaggedBase", Severity::Info, "Without a tag the base image is `latest`, which moves over time: the same Dockerfile builds different images. Pin a version, e.g. python:3.12-slim."),
    learner("RunningAsRoot", Severity::Info, "The final image runs its process as root; if the process is compromised, so is the container. Create a user and switch to it with USER."),
    learner("AddInsteadOfCopy", Severity::Info, "ADD also fetches URLs and unpacks archives; for plain local files COPY says exactly what happens."),
    learner("CdInRun", Severity::Info, "`cd` only lasts for one RUN; the next instruction starts in the WORKDIR again. Use WORKDIR to change directory for the following instructions."),
];

/// The rule named `name`.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// BuildKit's documentation page for a rule (learner rules have none).
pub fn url(rule: &Rule) -> Option<String> {
    if !rule.buildkit {
        return None;
    }
    let mut kebab = String::new();
    let c: Vec<char> = rule.name.chars().collect();
    for i in 0..c.len() {
        let boundary = i > 0
            && c[i].is_ascii_uppercase()
            && (c[i - 1].is_ascii_lowercase() || c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase()));
        if boundary {
            kebab.push('-');
        }
        kebab.push(c[i].to_ascii_lowercase());
    }
    Some(format!("https://docs.docker.com/go/dockerfile/rule/{kebab}/"))
}
