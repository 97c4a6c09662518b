//! Sizes as docker and BuildKit print them (go-units), shared by the builder's progress, the terminal's
//! tables and the page's panels.

/// go-units `HumanSizeWithPrecision(size, 3)`, what the docker CLI's tables print: decimal units, three
/// significant digits (`4.26MB`, `528B`, `184MB`).
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 3)
}

/// go-units `HumanSize` (precision 4), what BuildKit's progress and docker's pull progress print
/// (`transferring context: 1.234kB`, `1.049MB`).
pub fn progress_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 4)
}

/// go-units `HumanSizeWithPrecision`: decimal units, `precision` significant digits, rounded as Go's `%.*g`.
pub fn human_size_with_precision(bytes: u64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    scaled(bytes, 1000.0, &UNITS, precision)
}

/// go-units `BytesSize`: binary units, four significant digits (`1.5MiB`, `15.08GiB`), what `docker stats` and
/// `docker info` print memory in.
pub fn bytes_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    scaled(bytes, 1024.0, &UNITS, 4)
}

/// `bytes` in the largest of `units` (each `base` times the one before) that keeps it at least 1, with
/// `precision` significant digits as Go's `%.*g` prints them.
fn scaled(bytes: u64, base: f64, units: &[&str], precision: usize) -> String {
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= base && unit < units.len() - 1 {
        size /= base;
        unit += 1;
    }
    let whole_digits = match size {
        s if s >= 1000.0 => 4,
        s if s >= 100.0 => 3,
        s if s >= 10.0 => 2,
        _ => 1,
    };
    let decimals = precision.saturating_sub(whole_digits);
    let mut text = format!("{size:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text}{}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_three_significant_digits() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(528), "528B");
        assert_eq!(human_size(1234), "1.23kB");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(4_261_234), "4.26MB");
        assert_eq!(human_size(12_300_000), "12.3MB");
        assert_eq!(human_size(35_240_000), "35.2MB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(human_size(184_000_000), "184MB");
        assert_eq!(human_size(4_000_000), "4MB");
    }

    #[test]
    fn memory_is_in_binary_units_with_four_digits() {
        assert_eq!(bytes_size(0), "0B");
        assert_eq!(bytes_size(1536), "1.5KiB");
        assert_eq!(bytes_size(1 << 30), "1GiB");
        assert_eq!(bytes_size(16_192_000_000), "15.08GiB");
        assert_eq!(bytes_size(1023 << 20), "1023MiB");
    }

    #[test]
    fn progress_has_four_rounded_digits() {
        assert_eq!(progress_size(150), "150B");
        assert_eq!(progress_size(1234), "1.234kB");
        assert_eq!(progress_size(2_000_000), "2MB");
        assert_eq!(progress_size(1_048_576), "1.049MB");
        assert_eq!(progress_size(262_144), "262.1kB");
        // Rounded as go-units does, not cut off.
        assert_eq!(progress_size(1_234_567), "1.235MB");
    }
}
