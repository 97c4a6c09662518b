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

/// Seconds since the epoch of an RFC 3339 time (`2026-11-28T07:00:00.5+01:00`), the inverse of [`rfc3339`];
/// fractions are dropped. `None` when the text is not such a time.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let number = |s: &str| s.parse::<i64>().ok();
    let (date, time) = text.split_once(['T', 't', ' '])?;
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    let (clock, offset) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => (&time[..at], &time[at..]),
        None => (time, "Z"),
    };
    let clock = clock.split('.').next()?;
    let mut hms = clock.splitn(3, ':');
    let (hour, minute, second) = (number(hms.next()?)?, number(hms.next()?)?, number(hms.next()?)?);
    let offset_secs = match offset.as_bytes().first() {
        Some(b'+' | b'-') => {
            let (h, m) = offset[1..].split_once(':')?;
            let secs = number(h)? * 3600 + number(m)? * 60;
            if offset.starts_with('-') {
                -secs
            } else {
                secs
            }
        }
        _ => 0,
    };
    // Howard Hinnant's days_from_civil, the inverse of `civil` below.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs)
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
        for secs in [0, 951_782_400, 1_700_000_000, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs as i64));
        }
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.123456789+01:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
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
