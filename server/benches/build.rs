//! Build benchmark (native): a COPY-only Dockerfile over a small web-app context (~300 files, ~6 MB), built
//! cold (empty cache) and fully cached, in-process through `slipway::builder` and end to end through the
//! `slipway build --oci-layout` binary; `buildah bud` of the same Dockerfile beside it when installed.
//! Run with `scripts/bench.sh build`. Prints a Markdown table for docs/performance.md.

include!("common/main.rs");
native_bench!();

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::process::Command;
    use std::time::Instant;

    use slipway::builder::{BuildOptions, Builder, MemoryCache, MemorySink, NoCompanion, NoRegistry};
    use slipway::layer::{FileTree, Meta};

    use super::support::TempDir;

    const RUNS: usize = 5;
    const DOCKERFILE: &str = "FROM scratch\nWORKDIR /app\nCOPY requirements.txt /app/\nCOPY static /app/static\nCOPY src /app/src\nENV PORT=8000\nEXPOSE 8000\nCMD [\"python3\", \"-m\", \"app\"]\n";

    /// ~300 files: source-like text and some incompressible "images".
    fn files() -> Vec<(String, Vec<u8>)> {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut out = vec![("requirements.txt".to_owned(), b"flask==3.0\ngunicorn\n".to_vec())];
        for i in 0..250 {
            let line =
                format!("def handler_{i}(request):\n    return render('page_{i}.html', user=request.user)\n");
            out.push((
                format!("src/module_{:02}/view_{i}.py", i % 20),
                line.repeat(40).into_bytes(),
            ));
        }
        for i in 0..40 {
            let data: Vec<u8> = (0..100_000 / 8).flat_map(|_| next().to_le_bytes()).collect();
            out.push((format!("static/img/photo_{i}.jpg"), data));
        }
        out
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    fn in_process(tree: &FileTree, cache: &MemoryCache) -> f64 {
        let clock = || 0;
        let progress = |_: &slipway::builder::Event| {};
        let builder = Builder {
            resolver: &NoRegistry,
            executor: &NoCompanion,
            cache,
            packer: &slipway::builder::InlinePacker,
            clock: &clock,
            progress: &progress,
        };
        let options = BuildOptions {
            dockerfile: DOCKERFILE.to_owned(),
            tags: vec![slipway::image::Reference::parse("bench/app:v1").expect("reference")],
            ..BuildOptions::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let start = Instant::now();
        runtime
            .block_on(builder.build(tree, &options, &MemorySink::default()))
            .expect("build");
        start.elapsed().as_secs_f64() * 1000.0
    }

    fn timed(cmd: &mut Command) -> f64 {
        let start = Instant::now();
        let out = cmd.output().expect("run");
        assert!(
            out.status.success(),
            "{:?}: {}",
            cmd,
            String::from_utf8_lossy(&out.stderr)
        );
        start.elapsed().as_secs_f64() * 1000.0
    }

    fn on_path(tool: &str) -> bool {
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    }

    pub fn main() -> anyhow::Result<()> {
        let files = files();
        let bytes: usize = files.iter().map(|(_, d)| d.len()).sum();
        let dir = TempDir::new("bench-build");
        let ctx = dir.path().join("ctx");
        let mut tree = FileTree::new();
        for (path, data) in &files {
            let p = ctx.join(path);
            std::fs::create_dir_all(p.parent().expect("parent"))?;
            std::fs::write(&p, data)?;
            tree.insert_file(path, data.clone(), Meta::file())?;
        }
        std::fs::write(ctx.join("Dockerfile"), DOCKERFILE)?;
        println!(
            "Context: {} files, {:.1} MB; 4 layers (WORKDIR + 3 COPY); {} runs, medians in ms.\n",
            files.len(),
            bytes as f64 / 1e6,
            RUNS
        );
        println!("| build | cold | fully cached |\n| --- | ---: | ---: |");
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let cache = MemoryCache::new();
            cold.push(in_process(&tree, &cache));
            warm.push(in_process(&tree, &cache));
        }
        println!(
            "| slipway::builder in process (memory cache) | {:.0} | {:.1} |",
            median(cold),
            median(warm)
        );
        let bin = super::support::server::slipway_bin();
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for i in 0..RUNS {
            let cache = dir.path().join(format!("cache-{i}"));
            let layout = dir.path().join(format!("layout-{i}"));
            let mut cmd = Command::new(&bin);
            cmd.arg("build")
                .args(["-q", "-t", "bench/app:v1", "--cache-dir"])
                .arg(&cache)
                .arg("--oci-layout")
                .arg(&layout)
                .arg(&ctx);
            cold.push(timed(&mut cmd));
            warm.push(timed(&mut cmd));
        }
        println!(
            "| `slipway build --oci-layout` (directory cache, process start included) | {:.0} | {:.0} |",
            median(cold),
            median(warm)
        );
        if on_path("buildah") {
            let (mut cold, mut warm) = (Vec::new(), Vec::new());
            for i in 0..RUNS {
                let root = dir.path().join(format!("buildah-{i}"));
                let mut cmd = Command::new("buildah");
                cmd.args(["--storage-driver", "vfs", "--root"])
                    .arg(&root)
                    .arg("--runroot")
                    .arg(root.join("run"))
                    .args(["bud", "--layers", "-q", "-t", "bench/app:v1"])
                    .arg(&ctx);
                cold.push(timed(&mut cmd));
                warm.push(timed(&mut cmd));
            }
            println!(
                "| `buildah bud --layers` (vfs) | {:.0} | {:.0} |",
                median(cold),
                median(warm)
            );
        } else {
            println!("| `buildah bud` | not installed | not installed |");
        }
        Ok(())
    }
}
