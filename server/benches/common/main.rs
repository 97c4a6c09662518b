// Included by every benchmark of this crate (`include!("common/main.rs")`, then `native_bench!();`): they drive
// native tools (the server binary, Chromium, podman, buildah), so `main` runs `native::main` on the host; the
// workspace's wasm32 clippy builds every target, and there a benchmark is an empty `main`. It also declares what
// the benchmarks share: the end-to-end tests' `support` (the server, its binary, Chromium) and `common` (below).
macro_rules! native_bench {
    () => {
        #[cfg(not(target_arch = "wasm32"))]
        #[path = "../tests/support/mod.rs"]
        mod support;

        // Not every benchmark uses every helper.
        #[cfg(not(target_arch = "wasm32"))]
        #[allow(dead_code)]
        #[path = "common/mod.rs"]
        mod common;

        #[cfg(not(target_arch = "wasm32"))]
        fn main() -> anyhow::Result<()> {
            native::main()
        }

        #[cfg(target_arch = "wasm32")]
        fn main() {}
    };
}
