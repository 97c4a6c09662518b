//! A generator of realistic Dockerfiles of any length, for benchmarks (native and in the browser).

/// A multi-stage Dockerfile of about `lines` lines: continuations, heredocs, ARG/ENV expansion, flags, comments.
pub fn generate(lines: usize) -> String {
    let mut out = String::from("# syntax=docker/dockerfile:1\nARG BASE=debian:12-slim\n");
    let mut n = 2;
    let mut stage = 0;
    while n < lines {
        // A valid port for every stage (BuildKit refuses one over 65535): 8000, 8001, ... as before, then round.
        let port = 8000 + stage % 1000;
        out.push_str(&format!(
            "\n# stage {stage}\nFROM ${{BASE}} AS stage{stage}\nARG BASE\nENV APP_HOME=/srv/app{stage} LANG=C.UTF-8\nWORKDIR $APP_HOME\n\
             RUN apt-get update \\\n    && apt-get install -y --no-install-recommends \\\n       ca-certificates curl \\\n    && rm -rf /var/lib/apt/lists/*\n\
             COPY --chown=app:app --chmod=644 requirements.txt ./\nRUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt\n\
             COPY <<EOF /etc/app{stage}.conf\nname = \"app{stage}\"\nhome = ${{APP_HOME}}\nEOF\n\
             LABEL org.opencontainers.image.title=\"app {stage}\" version=\"1.{stage}\"\nEXPOSE {port}/tcp\n\
             HEALTHCHECK --interval=30s --timeout=3s CMD [\"curl\", \"-f\", \"http://localhost/\"]\nUSER app\nCMD [\"python\", \"-m\", \"app{stage}\"]\n"
        ));
        n += 22;
        stage += 1;
    }
    out
}
