//! Helpers the benchmarks share (declared by `native_bench!`, see `main.rs` beside this file).

/// The machine's `/proc/loadavg` line, trimmed (empty where it cannot be read): the load a run was measured under.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The load averages over 1, 5 and 15 minutes, as `0.52 0.58 0.59`.
pub fn load_average() -> String {
    loadavg().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}
