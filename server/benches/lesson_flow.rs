//! Lesson-flow benchmark (issue 8): wall time of the whole seed lesson in headless Chromium against a real
//! `slipway serve` (cold companion caches, then warm), beside the same steps with podman on the same machine in
//! the same run. Run with `scripts/bench.sh lesson`; prints a Markdown table for docs/performance.md.

#[cfg(not(target_arch = "wasm32"))]
#[path = "lesson_flow/peers.rs"]
mod peers;

include!("common/main.rs");
native_bench!();

/// The lesson's steps, in order; each side times the ones it has (`None` where it has no such step).
#[cfg(not(target_arch = "wasm32"))]
pub const STEPS: [&str; 7] = [
    "`docker login`",
    "build v1 (RUN executed in a container)",
    "`docker images`",
    "`run -d`, until the app answers on port 8000",
    "edit app.py, rebuild v2",
    "push v1 to the embedded registry",
    "push v1 to a second registry (`docker-registry`)",
];

/// Seconds per step of one pass through the lesson.
#[cfg(not(target_arch = "wasm32"))]
pub type StepTimes = [Option<f64>; STEPS.len()];

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::Path;
    use std::time::Instant;

    use anyhow::{bail, ensure, Context};
    use serde_json::json;

    use super::peers::{self, SecondRegistry};
    use super::support::browser::{Browser, Page};
    use super::support::server::{dist_dir, until_app_answers, users_file, with_python, Server};
    use super::support::{free_port, TempDir};
    use super::{StepTimes, STEPS};

    const GREETING: &str = "Hello from a container";
    const IMAGE: &str = "learner1/python-sample-app";

    /// Append a line to app.py in the page's editor, as typing at its end would (the app keeps working):
    /// through the code editor's handle, so the edit reaches the project like a keystroke.
    async fn append_to_app(page: &Page, line: &str) -> anyhow::Result<()> {
        page.click("Open app.py").await?;
        let editor = page.by_name("Editor for app.py").await?;
        page.client
            .execute(
                "const [field, line] = arguments;
                 const editor = window.SlipwayEditor.of(field);
                 editor.setDoc(editor.getDoc() + line, true);
                 return null;",
                vec![serde_json::to_value(&editor)?, json!(line)],
            )
            .await?;
        Ok(())
    }

    /// One pass through the lesson in the page, tagging `first` and `second`; seconds per step.
    async fn slipway_pass(page: &Page, remote: &str, first: &str, second: &str) -> anyhow::Result<StepTimes> {
        let mut times: StepTimes = [None; STEPS.len()];
        let clock = Instant::now();
        let lap = |times: &mut StepTimes, step: usize, since: Instant| {
            times[step] = Some(since.elapsed().as_secs_f64());
            Instant::now()
        };
        let mut since = clock;
        page.terminal_command("docker login -u learner1 -p pw-one", "Login Succeeded")
            .await?;
        since = lap(&mut times, 0, since);
        page.terminal_command(&format!("docker build -t {IMAGE}:{first} ."), "naming to")
            .await?;
        since = lap(&mut times, 1, since);
        page.terminal_command("docker images", IMAGE).await?;
        since = lap(&mut times, 2, since);
        let port = free_port();
        page.terminal_command(&format!("docker run -d -p {port}:8000 {IMAGE}:{first}"), "")
            .await?;
        until_app_answers(port, GREETING).await?;
        since = lap(&mut times, 3, since);
        append_to_app(page, &format!("\n# changed for {second}\n")).await?;
        let rebuild = page
            .terminal_command(&format!("docker build -t {IMAGE}:{second} ."), "naming to")
            .await?;
        ensure!(rebuild.contains("CACHED"), "{rebuild}");
        since = lap(&mut times, 4, since);
        page.terminal_command(&format!("docker push {IMAGE}:{first}"), "size:")
            .await?;
        since = lap(&mut times, 5, since);
        let target = format!("{remote}/{IMAGE}:{first}");
        page.terminal_command(&format!("docker tag {IMAGE}:{first} {target}"), "")
            .await?;
        page.terminal_command(&format!("docker push {target}"), "size:")
            .await?;
        lap(&mut times, 6, since);
        Ok(times)
    }

    /// Cold (fresh companion data dir with only the python base image, fresh browser profile), then warm (the same
    /// page and companion, new tags).
    /// Also returns the driver's own cost per command: `docker version` (answered in the page, no companion) typed and
    /// read back through chromedriver, median of 5.
    async fn slipway_side(work: &Path) -> anyhow::Result<(StepTimes, StepTimes, f64)> {
        let data = TempDir::new("bench-lesson-data");
        with_python(&data)?;
        let users = users_file(data.path())?;
        let remote = SecondRegistry::start(&work.join("slipway-remote")).await?;
        let server = Server::start_in(
            data,
            &dist_dir(),
            &[
                "--users",
                users.to_str().context("utf-8 path")?,
                "--proxy-host",
                &remote.addr,
            ],
        )?;
        let url = format!("{}/", server.url);
        let remote_addr = remote.addr.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        Browser::start()
            .await?
            .run("bench_lesson_flow", |page| async move {
                page.goto(&url).await?;
                page.by_name("Open app.py").await?;
                page.type_into("Your user name", "learner1").await?;
                let mut overhead = Vec::new();
                for _ in 0..5 {
                    let start = Instant::now();
                    page.terminal_command("docker version", "Slipway").await?;
                    overhead.push(start.elapsed().as_secs_f64());
                }
                overhead.sort_by(f64::total_cmp);
                let cold = slipway_pass(&page, &remote_addr, "v1", "v2").await?;
                let warm = slipway_pass(&page, &remote_addr, "v3", "v4").await?;
                tx.send((cold, warm, overhead[2]))?;
                Ok(())
            })
            .await?;
        drop(server);
        Ok(rx.recv()?)
    }

    fn cell(value: Option<f64>) -> String {
        value.map_or_else(|| "—".to_owned(), |s| format!("{s:.2}"))
    }

    /// The sum over the steps both sides have.
    fn comparable(ours: &StepTimes, theirs: &StepTimes) -> (f64, f64) {
        ours.iter()
            .zip(theirs)
            .filter_map(|(a, b)| Some((*a)?).zip(*b))
            .fold((0.0, 0.0), |(x, y), (a, b)| (x + a, y + b))
    }

    #[tokio::main]
    pub async fn main() -> anyhow::Result<()> {
        let work = TempDir::new("bench-lesson");
        let load_before = super::common::load_average();
        let (ours_cold, ours_warm, overhead) = slipway_side(work.path()).await?;
        let (theirs_cold, theirs_warm) = peers::podman_side(work.path()).await?;
        let load_after = super::common::load_average();
        println!(
            "Load average (1, 5, 15 min) before: {}; after: {}.\n",
            load_before, load_after
        );
        println!("| step (seconds) | slipway cold | slipway warm | podman cold | podman warm |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        for (i, step) in STEPS.iter().enumerate() {
            println!(
                "| {step} | {} | {} | {} | {} |",
                cell(ours_cold[i]),
                cell(ours_warm[i]),
                cell(theirs_cold[i]),
                cell(theirs_warm[i])
            );
        }
        let total = |t: &StepTimes| Some(t.iter().flatten().sum::<f64>());
        println!(
            "| **total, every step** | {} | {} | {} | {} |",
            cell(total(&ours_cold)),
            cell(total(&ours_warm)),
            cell(total(&theirs_cold)),
            cell(total(&theirs_warm))
        );
        let (ours_c, theirs_c) = comparable(&ours_cold, &theirs_cold);
        let (ours_w, theirs_w) = comparable(&ours_warm, &theirs_warm);
        println!(
            "| **total, steps both have** | {ours_c:.2} | {ours_w:.2} | {theirs_c:.2} | {theirs_w:.2} |"
        );
        println!(
            "\nslipway / podman over the steps both have: cold {:.2}×, warm {:.2}×.",
            ours_c / theirs_c,
            ours_w / theirs_w
        );
        println!(
            "Driver cost inside every slipway step: typing a command and waiting for the idle prompt through \
             chromedriver takes {overhead:.2} s (`docker version`, answered in the page, median of 5)."
        );
        if !ours_c.is_finite() || ours_c <= 0.0 {
            bail!("no comparable steps were timed");
        }
        Ok(())
    }
}
