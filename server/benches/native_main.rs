// Included by every benchmark of this crate (`include!`): they drive native tools (the server binary, Chromium,
// podman, buildah), so `main` runs `native::main` on the host; the workspace's wasm32 clippy builds every target,
// and there a benchmark is an empty `main`.
macro_rules! native_bench_main {
    () => {
        #[cfg(not(target_arch = "wasm32"))]
        fn main() -> anyhow::Result<()> {
            native::main()
        }

        #[cfg(target_arch = "wasm32")]
        fn main() {}
    };
}
