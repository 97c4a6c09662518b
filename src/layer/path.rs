//! Archive paths: relative, `/`-separated, without `.`, `..` or empty components.

use super::LayerError;

/// Normalizes `path` to the form stored in a layer: `/a//b/./c/` becomes `a/b/c`; the root becomes `""`.
///
/// A `..` component is an error rather than being resolved: a layer must never name anything outside its root.
pub fn normalize(path: &str) -> Result<String, LayerError> {
    if path.contains('\0') {
        return Err(LayerError::InvalidPath {
            path: path.to_owned(),
            reason: "contains a NUL byte",
        });
    }
    let mut out = String::with_capacity(path.len());
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(LayerError::InvalidPath {
                    path: path.to_owned(),
                    reason: "contains `..`",
                });
            }
            part => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(part);
            }
        }
    }
    Ok(out)
}

/// The parent of a normalized path (`a/b` -> `a`, `a` -> `""`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize("/a//b/./c/").unwrap(), "a/b/c");
        assert_eq!(normalize("./x").unwrap(), "x");
        assert_eq!(normalize("/").unwrap(), "");
        assert!(normalize("a/../b").is_err());
        assert!(normalize("a\0b").is_err());
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }
}
