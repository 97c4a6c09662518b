//! A deterministic tar writer: ustar headers, PAX records when a field does not fit, no host metadata.
//!
//! Like Go's `archive/tar` (what BuildKit uses), a header is plain USTAR when every field fits and gets a
//! preceding PAX extended header (`x`) for long or non-ASCII names and link targets, big sizes, ids or times.
//! Owner and group names stay empty (numeric owners); the archive ends with two zero blocks, without the
//! 10 KiB record padding of GNU tar, so the bytes depend only on the entries written.

use std::io::{self, Read, Write};

use super::path::normalize;
use super::LayerError;

const BLOCK: usize = 512;

/// Owner, permissions and time of one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Meta {
    /// Permission bits plus setuid/setgid/sticky (`0o7777`); the file type comes from the entry kind.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Seconds since the epoch; `None` takes the writer's fixed time (`SOURCE_DATE_EPOCH` or 0).
    pub mtime: Option<u64>,
}

impl Meta {
    /// Root-owned with the given mode and the writer's fixed time.
    pub const fn root(mode: u32) -> Self {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime: None,
        }
    }

    /// `0o644`, root-owned: what a copied regular file gets by default.
    pub const fn file() -> Self {
        Self::root(0o644)
    }

    /// `0o755`, root-owned: directories and the parents that are created implicitly.
    pub const fn dir() -> Self {
        Self::root(0o755)
    }

    /// `0o777`, root-owned: symbolic links, as Linux reports them.
    pub const fn symlink() -> Self {
        Self::root(0o777)
    }
}

/// What a header describes, with the data the header itself carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind<'a> {
    /// A regular file of this many bytes (the bytes follow the header).
    File(u64),
    Dir,
    Symlink(&'a str),
    /// A hard link to an entry written earlier in the same archive.
    HardLink(&'a str),
    /// A named pipe (a container's upper dir can hold one; a layer made from a file tree never does).
    Fifo,
}

impl HeaderKind<'_> {
    fn typeflag(&self) -> u8 {
        match self {
            HeaderKind::File(_) => b'0',
            HeaderKind::HardLink(_) => b'1',
            HeaderKind::Symlink(_) => b'2',
            HeaderKind::Dir => b'5',
            HeaderKind::Fifo => b'6',
        }
    }
}

/// Writes tar entries to `W`; paths are normalized (relative, no `.` or `..`) and directories get a trailing `/`.
pub struct TarWriter<W: Write> {
    out: W,
    default_mtime: u64,
    finished: bool,
}

impl<W: Write> TarWriter<W> {
    /// `default_mtime` is used for every entry whose [`Meta::mtime`] is `None`.
    pub fn new(out: W, default_mtime: u64) -> Self {
        TarWriter {
            out,
            default_mtime,
            finished: false,
        }
    }

    pub fn append_dir(&mut self, path: &str, meta: &Meta) -> Result<(), LayerError> {
        self.header(path, meta, HeaderKind::Dir)
    }

    pub fn append_symlink(&mut self, path: &str, target: &str, meta: &Meta) -> Result<(), LayerError> {
        if target.is_empty() {
            return Err(LayerError::EmptyLinkTarget(path.to_owned()));
        }
        self.header(path, meta, HeaderKind::Symlink(target))
    }

    /// `target` is an archive path (normalized like `path`) of a regular file written before.
    pub fn append_hardlink(&mut self, path: &str, target: &str, meta: &Meta) -> Result<(), LayerError> {
        let target = normalize(target)?;
        if target.is_empty() {
            return Err(LayerError::EmptyLinkTarget(path.to_owned()));
        }
        self.header(path, meta, HeaderKind::HardLink(&target))
    }

    pub fn append_fifo(&mut self, path: &str, meta: &Meta) -> Result<(), LayerError> {
        self.header(path, meta, HeaderKind::Fifo)
    }

    /// Writes a regular file whose content is exactly `size` bytes read from `data`.
    pub fn append_file(
        &mut self,
        path: &str,
        meta: &Meta,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), LayerError> {
        self.header(path, meta, HeaderKind::File(size))?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        if copied != size {
            return Err(LayerError::SizeMismatch {
                path: path.to_owned(),
                expected: size,
                actual: copied,
            });
        }
        self.pad(size)
    }

    /// Writes a regular file from memory.
    pub fn append_bytes(&mut self, path: &str, meta: &Meta, data: &[u8]) -> Result<(), LayerError> {
        let mut reader = data;
        self.append_file(path, meta, data.len() as u64, &mut reader)
    }

    /// Writes the end-of-archive marker and returns the inner writer (flushed).
    pub fn finish(mut self) -> Result<W, LayerError> {
        self.write_end()?;
        Ok(self.out)
    }

    /// The inner writer, for callers that finish it themselves after [`TarWriter::finish`].
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn write_end(&mut self) -> Result<(), LayerError> {
        if !self.finished {
            self.out.write_all(&[0u8; 2 * BLOCK])?;
            self.out.flush()?;
            self.finished = true;
        }
        Ok(())
    }

    fn pad(&mut self, size: u64) -> Result<(), LayerError> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    fn header(&mut self, path: &str, meta: &Meta, kind: HeaderKind<'_>) -> Result<(), LayerError> {
        if self.finished {
            return Err(LayerError::Finished);
        }
        let mut name = normalize(path)?;
        if name.is_empty() {
            return Err(LayerError::InvalidPath {
                path: path.to_owned(),
                reason: "names the root",
            });
        }
        if kind == HeaderKind::Dir {
            name.push('/');
        }
        let mtime = meta.mtime.unwrap_or(self.default_mtime);
        let size = match kind {
            HeaderKind::File(size) => size,
            _ => 0,
        };
        let link = match kind {
            HeaderKind::Symlink(t) | HeaderKind::HardLink(t) => t,
            _ => "",
        };

        // PAX records, in key order as Go writes them.
        let mut pax: Vec<(&str, String)> = Vec::new();
        if !fits_string(link, 100) {
            pax.push(("linkpath", link.to_owned()));
        }
        if !fits_octal(mtime, 12) {
            pax.push(("mtime", mtime.to_string()));
        }
        if !fits_string(&name, 100) {
            pax.push(("path", name.clone()));
        }
        if !fits_octal(size, 12) {
            pax.push(("size", size.to_string()));
        }
        if !fits_octal(u64::from(meta.gid), 8) {
            pax.push(("gid", meta.gid.to_string()));
        }
        if !fits_octal(u64::from(meta.uid), 8) {
            pax.push(("uid", meta.uid.to_string()));
        }
        pax.sort_by(|a, b| a.0.cmp(b.0));
        if !pax.is_empty() {
            let mut body = Vec::new();
            for (key, value) in &pax {
                body.extend_from_slice(pax_record(key, value).as_bytes());
            }
            let pax_name = pax_header_name(&name);
            let block = Fields {
                name: &pax_name,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: body.len() as u64,
                mtime: 0,
                typeflag: b'x',
                link: "",
            }
            .encode();
            self.out.write_all(&block)?;
            self.out.write_all(&body)?;
            self.pad(body.len() as u64)?;
        }

        let block = Fields {
            name: &name,
            mode: meta.mode & 0o7777,
            uid: u64::from(meta.uid),
            gid: u64::from(meta.gid),
            size,
            mtime,
            typeflag: kind.typeflag(),
            link,
        }
        .encode();
        self.out.write_all(&block)?;
        Ok(())
    }
}

/// The fields of one USTAR header; values that do not fit were moved to PAX records and are clamped here.
struct Fields<'a> {
    name: &'a str,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: u64,
    typeflag: u8,
    link: &'a str,
}

impl Fields<'_> {
    fn encode(&self) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        put_string(&mut b[0..100], self.name);
        put_octal(&mut b[100..108], u64::from(self.mode));
        put_octal(&mut b[108..116], self.uid);
        put_octal(&mut b[116..124], self.gid);
        put_octal(&mut b[124..136], self.size);
        put_octal(&mut b[136..148], self.mtime);
        b[156] = self.typeflag;
        put_string(&mut b[157..257], self.link);
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        // uname/gname stay empty: owners are numeric.
        put_octal(&mut b[329..337], 0);
        put_octal(&mut b[337..345], 0);
        b[148..156].fill(b' ');
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
        let chk = format!("{sum:06o}\0 ");
        b[148..156].copy_from_slice(chk.as_bytes());
        b
    }
}

fn fits_string(s: &str, width: usize) -> bool {
    s.len() <= width && s.is_ascii() && !s.contains('\0')
}

/// An octal field holds `width - 1` digits and a NUL.
fn fits_octal(value: u64, width: usize) -> bool {
    let digits = width - 1;
    digits >= 22 || value < (1u64 << (3 * digits))
}

/// Writes `value` as zero-padded octal with a trailing NUL; values that do not fit become 0 (a PAX record has them).
fn put_octal(field: &mut [u8], value: u64) {
    let width = field.len();
    let value = if fits_octal(value, width) { value } else { 0 };
    let text = format!("{value:0w$o}\0", w = width - 1);
    field.copy_from_slice(text.as_bytes());
}

/// Copies the ASCII prefix of `s` that fits; a PAX record carries the full value when it does not fit.
fn put_string(field: &mut [u8], s: &str) {
    for (slot, byte) in field.iter_mut().zip(s.bytes()) {
        *slot = if byte.is_ascii() && byte != 0 { byte } else { b'_' };
    }
}

/// `"<len> <key>=<value>\n"` where `<len>` counts the whole record including its own digits.
fn pax_record(key: &str, value: &str) -> String {
    let base = key.len() + value.len() + 3;
    let mut len = base + base.to_string().len();
    if len.to_string().len() > base.to_string().len() {
        len += 1;
    }
    format!("{len} {key}={value}\n")
}

/// `dir/PaxHeaders.0/file`, as Go names the extended header of `dir/file`.
fn pax_header_name(name: &str) -> String {
    let trimmed = name.trim_end_matches('/');
    let (dir, file) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    let full = format!("{dir}PaxHeaders.0/{file}");
    let ascii: String = full
        .chars()
        .map(|c| if c.is_ascii() && c != '\0' { c } else { '_' })
        .collect();
    ascii.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        assert_eq!(pax_record("path", "a"), "9 path=a\n");
        for n in 85..100 {
            let rec = pax_record("k", &"v".repeat(n));
            assert_eq!(rec.len().to_string(), rec.split(' ').next().unwrap());
        }
        let long = "x".repeat(92);
        let rec = pax_record("path", &long);
        assert_eq!(rec.len().to_string(), rec.split(' ').next().unwrap());
        let rec = pax_record("path", &"y".repeat(91));
        assert_eq!(rec.len().to_string(), rec.split(' ').next().unwrap());
    }

    #[test]
    fn octal_fields_and_checksum() {
        let b = Fields {
            name: "a",
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 5,
            mtime: 0,
            typeflag: b'0',
            link: "",
        }
        .encode();
        assert_eq!(&b[100..108], b"0000755\0");
        assert_eq!(&b[124..136], b"00000000005\0");
        let mut copy = b;
        copy[148..156].fill(b' ');
        let sum: u32 = copy.iter().map(|&x| u32::from(x)).sum();
        let stored = std::str::from_utf8(&b[148..154]).unwrap();
        assert_eq!(u32::from_str_radix(stored, 8).unwrap(), sum);
    }

    #[test]
    fn octal_limits() {
        assert!(fits_octal(0o7777777, 8));
        assert!(!fits_octal(0o10000000, 8));
        assert!(fits_octal((1 << 33) - 1, 12));
        assert!(!fits_octal(1 << 33, 12));
    }

    #[test]
    fn pax_names() {
        assert_eq!(pax_header_name("a/b/c"), "a/b/PaxHeaders.0/c");
        assert_eq!(pax_header_name("dir/"), "PaxHeaders.0/dir");
    }

    #[test]
    fn fifos_are_typeflag_6_with_no_data() {
        let mut w = TarWriter::new(Vec::new(), 0);
        w.append_fifo("run/pipe", &Meta::root(0o600)).unwrap();
        let bytes = w.finish().unwrap();
        // One header and the two end blocks: a pipe carries no data.
        assert_eq!(bytes.len(), 3 * BLOCK);
        assert_eq!(&bytes[..8], b"run/pipe");
        assert_eq!(bytes[156], b'6');
        assert_eq!(&bytes[100..108], b"0000600\0");
    }
}
