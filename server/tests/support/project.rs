//! Projects the tests open in the page, written here so the server's tests never link the web app: a share link
//! (`#share=`, the format `www/src/ui/share.rs` documents and the page decodes) or a zip to upload (stored entries,
//! which the page's unzip reads like any other).

use std::collections::BTreeMap;
use std::io::Write;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::write::DeflateEncoder;

/// One file of a project: content and permission bits.
pub struct ProjectFile {
    data: Vec<u8>,
    mode: u32,
}

impl ProjectFile {
    /// A regular file, `0o644` as the page creates them.
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        ProjectFile {
            data: data.into(),
            mode: 0o644,
        }
    }
}

/// Files by path (relative, `/`-separated); their folders are implied.
pub struct Project {
    files: BTreeMap<String, ProjectFile>,
}

impl Project {
    /// The project of these files; a path named twice is an error, as in the page.
    pub fn from_files<P: AsRef<str>>(
        files: impl IntoIterator<Item = (P, ProjectFile)>,
    ) -> anyhow::Result<Self> {
        let mut project = Project {
            files: BTreeMap::new(),
        };
        for (path, file) in files {
            let path = path.as_ref().to_owned();
            anyhow::ensure!(!project.files.contains_key(&path), "{path} is named twice");
            project.files.insert(path, file);
        }
        Ok(project)
    }

    /// `page` + `#share=` + the project: format 1, a file entry per file, deflated, URL-safe base64.
    pub fn share_link(&self, page: &str) -> String {
        let mut raw = vec![1u8];
        for (path, file) in &self.files {
            raw.push(b'f');
            raw.extend_from_slice(&u16::try_from(path.len()).expect("short path").to_le_bytes());
            raw.extend_from_slice(path.as_bytes());
            raw.extend_from_slice(&file.mode.to_le_bytes());
            raw.extend_from_slice(&u32::try_from(file.data.len()).expect("small file").to_le_bytes());
            raw.extend_from_slice(&file.data);
        }
        let mut deflate = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        deflate.write_all(&raw).expect("deflate into memory");
        let payload = URL_SAFE_NO_PAD.encode(deflate.finish().expect("deflate into memory"));
        format!("{page}#share={payload}")
    }

    /// The project as a zip archive of stored (uncompressed) entries with their unix modes.
    pub fn to_zip(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for (path, file) in &self.files {
            let mut crc = flate2::Crc::new();
            crc.update(&file.data);
            let offset = u32::try_from(out.len()).expect("small zip");
            let size = u32::try_from(file.data.len()).expect("small file");
            let name_len = u16::try_from(path.len()).expect("short path");
            // Version 2.0, no flags, stored, 1980-01-01 00:00, then the CRC and both sizes.
            let common = [20u16, 0, 0, 0, 0x21]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .chain([crc.sum(), size, size].iter().flat_map(|v| v.to_le_bytes()))
                .collect::<Vec<u8>>();
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&common);
            out.extend_from_slice(&name_len.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(path.as_bytes());
            out.extend_from_slice(&file.data);
            directory.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            // Made by unix (3) with zip 2.0: the external attributes hold the mode.
            directory.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes());
            directory.extend_from_slice(&common);
            for field in [name_len, 0, 0, 0, 0] {
                directory.extend_from_slice(&field.to_le_bytes());
            }
            directory.extend_from_slice(&((0o100_000 | file.mode) << 16).to_le_bytes());
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(path.as_bytes());
        }
        let entries = u16::try_from(self.files.len()).expect("few files");
        let directory_offset = u32::try_from(out.len()).expect("small zip");
        let directory_size = u32::try_from(directory.len()).expect("small zip");
        out.extend_from_slice(&directory);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for field in [0u16, 0, entries, entries] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&directory_size.to_le_bytes());
        out.extend_from_slice(&directory_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}
