//! Parse + check throughput of the Dockerfile front end (native). `cargo bench -p slipway --bench dockerfile`.
//! The same workloads run in headless Chromium from `tests/browser` (see docs/performance.md).

#[cfg(target_arch = "wasm32")]
fn main() {}

/// Nanoseconds this thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`): on a machine shared with other
/// jobs, wall time counts their turns too, this does not.
#[cfg(not(target_arch = "wasm32"))]
fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use std::time::Instant;

    use slipway::dockerfile::lint::{self, LintOptions};
    use slipway::dockerfile::sample;

    let seed = include_str!("../tests/golden/dockerfile/seed-python-web-app/Dockerfile");
    let workloads = [
        ("generated 10,000 lines", sample::generate(10_000)),
        ("generated 300 lines", sample::generate(300)),
        ("seed tutorial Dockerfile", seed.to_string()),
    ];
    let opts = LintOptions::default();
    if std::env::var_os("BENCH_PHASES").is_some() {
        // Where the time goes, on the largest input (best of 10 runs per phase, on-CPU time where known).
        let src = &workloads[0].1;
        let best = |f: &dyn Fn()| {
            (0..10)
                .map(|_| {
                    let t = Instant::now();
                    let c = thread_cpu_ns();
                    f();
                    match (c, thread_cpu_ns()) {
                        (Some(a), Some(b)) => std::time::Duration::from_nanos(b - a),
                        _ => t.elapsed(),
                    }
                })
                .min()
                .unwrap_or_default()
        };
        let tree = slipway::dockerfile::syntax::parse(src).expect("parses");
        let df = slipway::dockerfile::parse(src).expect("parses");
        println!(
            "syntax {:?}",
            best(&|| drop(std::hint::black_box(slipway::dockerfile::syntax::parse(src))))
        );
        println!(
            "typed  {:?}",
            best(&|| {
                for n in &tree.nodes {
                    drop(std::hint::black_box(
                        slipway::dockerfile::instructions::parse_node(n),
                    ));
                }
            })
        );
        println!(
            "parse  {:?}",
            best(&|| drop(std::hint::black_box(slipway::dockerfile::parse(src))))
        );
        println!(
            "checks {:?}",
            best(&|| drop(std::hint::black_box(lint::check(&df, &opts))))
        );
    }
    for (name, src) in &workloads {
        // Warm up, then time batches of at least ~50 ms; report the median batch.
        let _ = lint::lint(src, &opts).expect("benchmark input parses");
        let mut iters = 1usize;
        loop {
            let t = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(lint::lint(std::hint::black_box(src), &opts).ok());
            }
            if t.elapsed().as_millis() >= 50 {
                break;
            }
            iters *= 2;
        }
        let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..11)
            .map(|_| {
                let t = Instant::now();
                let c = thread_cpu_ns();
                for _ in 0..iters {
                    std::hint::black_box(lint::lint(std::hint::black_box(src), &opts).ok());
                }
                let cpu = match (c, thread_cpu_ns()) {
                    (Some(a), Some(b)) => (b - a) as f64 / 1e9 / iters as f64,
                    _ => f64::NAN,
                };
                (t.elapsed().as_secs_f64() / iters as f64, cpu)
            })
            .unzip();
        wall.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let median = wall[wall.len() / 2];
        let median_cpu = cpu[cpu.len() / 2];
        println!(
            "{name:<26} {:>9} bytes {:>5} lines  {:>9.3} ms/parse+check  {:>7.1} MB/s  (on-CPU {:.3} ms, {:.1} MB/s)",
            src.len(),
            src.lines().count(),
            median * 1e3,
            src.len() as f64 / median / 1e6,
            median_cpu * 1e3,
            src.len() as f64 / median_cpu / 1e6
        );
    }
}
