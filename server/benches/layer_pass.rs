//! Layer-pass benchmark: tar + gzip + sha256 of 64 MiB of mixed files in one streaming pass natively, beside
//! `tar -c | tee >(sha256sum) | gzip | sha256sum` on the same files, each stage alone, and the page's
//! `layer-worker` Web Workers in headless Chromium over the same files cut into several layers, in one run.
//! Run with `scripts/bench.sh layers` (it builds the app and the server first). Prints a Markdown table for
//! docs/performance.md and the ratios it is read for.

#[cfg(not(target_arch = "wasm32"))]
#[path = "layer_pass_browser.rs"]
mod browser;

include!("common/main.rs");
native_bench!();

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::io::{self, Write};
    use std::process::Command;
    use std::time::Instant;

    use sha2::{Digest, Sha256};
    use slipway::layer::{FileTree, LayerOptions, LayerWriter, Meta};

    use super::support::TempDir;

    const TOTAL: usize = 64 << 20;
    const RUNS: usize = 3;
    /// The browser pass cuts the files into this many layers (consecutive files, ~8 MiB each).
    const LAYERS: usize = 8;

    /// xorshift64*: fast deterministic bytes.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// About 64 MiB in ~1,500 files: 45% source-like text, 35% random (already compressed), 20% sparse binary.
    fn mixed_files() -> Vec<(String, Vec<u8>)> {
        const WORDS: &[&str] = &[
            "fn", "let", "mut", "self", "return", "import", "def", "class", "if", "else", "for", "in",
            "while", "print", "value", "result", "error", "config", "layer", "image", "(", ")", "{", "}",
            "=", "+", ";",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut files = Vec::new();
        let mut total = 0;
        let mut i = 0;
        while total < TOTAL {
            let size = (4 << 10) + (rng.next() as usize % (80 << 10));
            let size = size.min(TOTAL - total);
            let mut data = Vec::with_capacity(size);
            match i % 20 {
                0..=8 => {
                    while data.len() < size {
                        data.extend_from_slice(WORDS[rng.next() as usize % WORDS.len()].as_bytes());
                        data.push(if rng.next() % 9 == 0 { b'\n' } else { b' ' });
                    }
                    data.truncate(size);
                }
                9..=15 => {
                    while data.len() < size {
                        data.extend_from_slice(&rng.next().to_le_bytes());
                    }
                    data.truncate(size);
                }
                _ => {
                    data.resize(size, 0);
                    for _ in 0..size / 64 {
                        let at = rng.next() as usize % size;
                        data[at] = rng.next() as u8;
                    }
                }
            }
            total += size;
            files.push((format!("src/dir{:02}/file{i:05}.dat", i % 37), data));
            i += 1;
        }
        files
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// CPU seconds of this process and its waited-for children (utime + stime + cutime + cstime, 10 ms ticks).
    fn cpu_secs() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<f64> = after_name
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0.0))
            .collect();
        // Fields 14-17 of the man page are indexes 11-14 after the name.
        fields.get(11..15).map_or(0.0, |f| f.iter().sum::<f64>() / 100.0)
    }

    /// Median wall seconds and median CPU seconds over `runs` runs after a warm-up.
    fn time(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<(f64, f64)> {
        f()?; // warm-up
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (start, cpu_start) = (Instant::now(), cpu_secs());
            f()?;
            wall.push(start.elapsed().as_secs_f64());
            cpu.push(cpu_secs() - cpu_start);
        }
        Ok((median(wall), median(cpu)))
    }

    pub fn main() -> anyhow::Result<()> {
        let files = mixed_files();
        let mut tree = FileTree::new();
        let dir = TempDir::new("bench-layer");
        for (path, data) in &files {
            tree.insert_file(path, data.clone(), Meta::file())?;
            let on_disk = dir.path().join("ctx").join(path);
            std::fs::create_dir_all(on_disk.parent().expect("has a parent"))?;
            std::fs::write(&on_disk, data)?;
        }
        let (gz, info) = tree.to_layer(&LayerOptions::default())?;
        let mb = info.tar_size as f64 / 1e6;
        println!(
            "{} files, tar {:.1} MB, gzip-6 {:.1} MB ({:.0}%), median of {RUNS} runs after a warm-up; MB/s of tar bytes\n",
            files.len(),
            mb,
            gz.len() as f64 / 1e6,
            100.0 * gz.len() as f64 / info.tar_size as f64
        );
        println!("load average at start: {}\n", super::common::load_average());
        println!("| what | MB/s (wall) | MB per CPU-second |\n| --- | ---: | ---: |");
        // Each row prints at once (a long run shows progress) and is kept for the ratios at the end.
        let rows = std::cell::RefCell::new(Vec::<(String, f64, f64)>::new());
        let row = |what: &str, (wall, cpu): (f64, f64)| {
            let per_cpu = if cpu > 0.0 {
                format!("{:.0}", mb / cpu)
            } else {
                "-".into()
            };
            println!("| {what} | {:.0} | {per_cpu} |", mb / wall);
            rows.borrow_mut().push((what.to_owned(), mb / wall, mb / cpu));
        };

        // `BENCH_BROWSER_ONLY=1`: only the browser rows, to compare builds of the app made with other flags.
        if std::env::var_os("BENCH_BROWSER_ONLY").is_none() {
            for level in [6, 1] {
                let opts = LayerOptions {
                    level,
                    ..LayerOptions::default()
                };
                let secs = time(RUNS, || {
                    let mut w = LayerWriter::new(io::sink(), &opts);
                    tree.write_layer(&mut w)?;
                    w.finish()?;
                    Ok(())
                })?;
                row(
                    &format!("slipway layer pass: tar + sha256 + gzip-{level} + sha256, one thread"),
                    secs,
                );
            }
            let mut tar = Vec::new();
            {
                let mut t = slipway::layer::TarWriter::new(&mut tar, 0);
                tree.write_tar(&mut t)?;
                t.finish()?;
            }
            row(
                "tar only (from memory)",
                time(RUNS, || {
                    let mut t = slipway::layer::TarWriter::new(io::sink(), 0);
                    tree.write_tar(&mut t)?;
                    t.finish()?;
                    Ok(())
                })?,
            );
            row(
                "sha256 only",
                time(RUNS, || {
                    std::hint::black_box(Sha256::digest(&tar));
                    Ok(())
                })?,
            );
            for level in [6, 1] {
                row(
                    &format!("gzip-{level} only (flate2, zlib-rs)"),
                    time(RUNS, || {
                        let mut e =
                            flate2::write::GzEncoder::new(io::sink(), flate2::Compression::new(level));
                        e.write_all(&tar)?;
                        e.finish()?;
                        Ok(())
                    })?,
                );
            }
            let ctx = dir.path().join("ctx");
            for level in [6, 1] {
                let script = format!(
                    "tar -c --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C {} . \
                 | tee >(sha256sum > /dev/null) | gzip -{level} -n | sha256sum > /dev/null",
                    ctx.display()
                );
                row(&format!("shell: `tar -c | tee >(sha256sum) | gzip -{level} | sha256sum` (files on disk, page cache warm)"), time(RUNS, || {
                let status = Command::new("bash").arg("-c").arg(&script).status()?;
                anyhow::ensure!(status.success(), "shell pipeline failed");
                Ok(())
            })?);
            }
        }
        // The same files as several layers, as a multi-COPY build gives the page's worker pool.
        let mut layers = vec![FileTree::new(); LAYERS];
        for (i, (path, data)) in files.iter().enumerate() {
            layers[i * LAYERS / files.len()].insert_file(path, data.clone(), Meta::file())?;
        }
        let opts = LayerOptions::default();
        let tars = layers
            .iter()
            .map(|l| l.to_tar(opts.mtime))
            .collect::<Result<Vec<_>, _>>()?;
        let expected = layers
            .iter()
            .map(|l| l.to_layer(&opts).map(|(_, info)| info))
            .collect::<Result<Vec<_>, _>>()?;
        let browser_mb = tars.iter().map(|t| t.len()).sum::<usize>() as f64 / 1e6;
        let browser_rows = tokio::runtime::Runtime::new()?
            .block_on(super::browser::run(&tars, &expected, opts.level, RUNS))?;
        for (what, wall, cpu) in browser_rows {
            println!("| {what} | {:.0} | {:.0} |", browser_mb / wall, browser_mb / cpu);
            rows.borrow_mut()
                .push((what, browser_mb / wall, browser_mb / cpu));
        }

        let rows = rows.into_inner();
        let find = |part: &str| {
            rows.iter()
                .find(|(what, _, _)| what.contains(part))
                .map(|&(_, wall, cpu)| (wall, cpu))
                .unwrap_or((f64::NAN, f64::NAN))
        };
        let native = find("slipway layer pass: tar + sha256 + gzip-6");
        let shell = find("shell: `tar -c | tee >(sha256sum) | gzip -6");
        let one_worker = find("in 1 layer-worker,");
        let all_workers = find("(one per core)");
        println!("\nRatios (gzip-6; per core = MB per CPU-second):");
        println!(
            "- browser per core / native per core: {:.2}",
            one_worker.1 / native.1
        );
        println!(
            "- browser, all workers / 1 worker, wall: {:.2}",
            all_workers.0 / one_worker.0
        );
        println!(
            "- native / shell: {:.2} per core, {:.2} wall",
            native.1 / shell.1,
            native.0 / shell.0
        );
        Ok(())
    }
}
