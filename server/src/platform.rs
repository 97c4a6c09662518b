//! The platform this server's containers run on, as moby's `maximumSpec()` (`daemon/create.go`) names the
//! host's: containerd's default spec (`linux`, Go's architecture name) with, on x86-64, the CPU's
//! microarchitecture level as go-archvariant's `AMD64Variant()` finds it (`v1` to `v4`), and on arm64 `v8`.
//! `GET /api/info` reports it; the runner warns when an image of another platform is run without `--platform`.

use slipway::api::PlatformInfo;

/// The host's platform (see the module's words).
pub fn host() -> PlatformInfo {
    let (architecture, variant) = match std::env::consts::ARCH {
        "x86_64" => ("amd64", Some(amd64_variant().to_string())),
        "aarch64" => ("arm64", Some("v8".to_string())),
        "x86" => ("386", None),
        other => (other, None),
    };
    PlatformInfo {
        os: std::env::consts::OS.to_string(),
        architecture: architecture.to_string(),
        variant,
    }
}

/// The x86-64 microarchitecture level of this CPU (and OS: the AVX checks include the OS's support), as
/// go-archvariant's `detectVersion` counts: the v2, v3 and v4 feature sets, each on top of the one before.
#[cfg(target_arch = "x86_64")]
fn amd64_variant() -> &'static str {
    macro_rules! all {
        ($($feature:tt),*) => { true $(&& std::arch::is_x86_feature_detected!($feature))* };
    }
    let v2 = all!("sse3", "ssse3", "cmpxchg16b", "sse4.1", "sse4.2", "popcnt");
    let v3 = v2 && all!("fma", "movbe", "xsave", "avx", "f16c", "bmi1", "avx2", "bmi2", "lzcnt");
    let v4 = v3 && all!("avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl");
    match (v2, v3, v4) {
        (_, _, true) => "v4",
        (_, true, _) => "v3",
        (true, _, _) => "v2",
        _ => "v1",
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn amd64_variant() -> &'static str {
    "v1"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_linux_on_gos_name_for_its_architecture_with_a_variant() {
        let host = host();
        assert_eq!(host.os, "linux");
        match std::env::consts::ARCH {
            "x86_64" => {
                assert_eq!(host.architecture, "amd64");
                let variant = host.variant.unwrap();
                assert!(["v1", "v2", "v3", "v4"].contains(&variant.as_str()), "{variant}");
            }
            "aarch64" => assert_eq!(host.to_string(), "linux/arm64/v8"),
            _ => {}
        }
    }
}
