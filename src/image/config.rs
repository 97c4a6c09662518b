//! Image configs: a fresh config for a platform, layers and history entries appended in order.

use oci_spec::image::{Arch, Config, ImageConfiguration, ImageConfigurationBuilder, Os, RootFs};
use oci_spec::image::{Digest, History, HistoryBuilder};

use super::ImageError;

/// An empty config (no layers, no history) for `os`/`architecture`, e.g. `linux`/`amd64`.
pub fn new_config(os: &str, architecture: &str, created: Option<String>) -> ImageConfiguration {
    let mut builder = ImageConfigurationBuilder::default()
        .architecture(Arch::from(architecture))
        .os(Os::from(os))
        .rootfs(RootFs::default())
        .config(Config::default());
    if let Some(created) = created {
        builder = builder.created(created);
    }
    builder.build().expect("every required field is set")
}

/// A history entry; `empty_layer` is written only when true, as BuildKit does.
pub fn history(created: Option<&str>, created_by: &str, comment: Option<&str>, empty_layer: bool) -> History {
    let mut h = HistoryBuilder::default().created_by(created_by);
    if let Some(created) = created {
        h = h.created(created);
    }
    if let Some(comment) = comment {
        h = h.comment(comment);
    }
    if empty_layer {
        h = h.empty_layer(true);
    }
    h.build().expect("history has no required fields")
}

/// Appends a layer's diff_id and the history entry that made it.
pub fn push_layer(
    config: &mut ImageConfiguration,
    diff_id: &Digest,
    entry: History,
) -> Result<(), ImageError> {
    if entry.empty_layer() == Some(true) {
        return Err(ImageError::Invalid(
            "a layer's history entry cannot be marked empty_layer".into(),
        ));
    }
    let mut rootfs = config.rootfs().clone();
    rootfs.diff_ids_mut().push(diff_id.to_string());
    config.set_rootfs(rootfs);
    push_history(config, entry);
    Ok(())
}

/// Appends a history entry that changes only metadata (ENV, CMD, ...): `empty_layer: true`.
pub fn push_empty(config: &mut ImageConfiguration, created: Option<&str>, created_by: &str) {
    push_history(config, history(created, created_by, None, true));
}

fn push_history(config: &mut ImageConfiguration, entry: History) {
    let mut all = config.history().clone().unwrap_or_default();
    all.push(entry);
    config.set_history(Some(all));
}

/// Checks that the history's non-empty entries match the diff_ids one to one, as the spec requires.
pub fn check_history(config: &ImageConfiguration) -> Result<(), ImageError> {
    let layers = config
        .history()
        .as_ref()
        .map_or(0, |h| h.iter().filter(|e| e.empty_layer() != Some(true)).count());
    let diff_ids = config.rootfs().diff_ids().len();
    if config.history().is_some() && layers != diff_ids {
        return Err(ImageError::Invalid(format!(
            "history has {layers} layer entries but rootfs has {diff_ids} diff_ids"
        )));
    }
    Ok(())
}

/// Seconds since the epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z`), without a date library.
pub fn rfc3339(secs: u64) -> String {
    let (date, time) = civil(secs as i64);
    format!("{date}T{time}Z")
}

/// Nanoseconds since the epoch as RFC 3339 UTC with nanoseconds (`2026-11-28T05:05:13.123456789Z`), the format
/// of `docker logs --timestamps`.
pub fn rfc3339_nanos(time_ns: u128) -> String {
    let (date, time) = civil((time_ns / 1_000_000_000) as i64);
    format!("{date}T{time}.{:09}Z", time_ns % 1_000_000_000)
}

/// `("YYYY-MM-DD", "hh:mm:ss")` for seconds since the epoch (Howard Hinnant's civil_from_days).
fn civil(secs: i64) -> (String, String) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::sha256;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn layers_and_history_line_up() {
        let mut c = new_config("linux", "amd64", Some(rfc3339(0)));
        push_layer(&mut c, &sha256(b"a"), history(None, "COPY a /", None, false)).unwrap();
        push_empty(&mut c, None, "CMD [\"sh\"]");
        assert_eq!(c.rootfs().diff_ids().len(), 1);
        assert_eq!(c.history().as_ref().unwrap().len(), 2);
        check_history(&c).unwrap();
        let json = c.to_string().unwrap();
        assert!(json.contains("\"empty_layer\":true"), "{json}");
        assert!(json.contains("\"architecture\":\"amd64\""), "{json}");
        assert!(push_layer(&mut c, &sha256(b"b"), history(None, "x", None, true)).is_err());
    }
}
