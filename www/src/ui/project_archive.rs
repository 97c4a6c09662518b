//! Projects in and out of archives: a dropped `.zip`, `.tar` or `.tar.gz` becomes files; the project downloads
//! as a `.zip` or a `.tar` (the same deterministic tar our layers use).
//!
//! The zip side ([`unpack_zip`], [`zip`]) runs in the `archive-worker` module, not in the page's: the page posts
//! an [`ArchiveJob`](super::layer_pool_state::ArchiveJob) to that worker (`ui::archive_jobs`), so the page's
//! wasm holds no zip code. Tars are read and written in the page.

use std::io::{Cursor, Read, Write};

use serde::{Deserialize, Serialize};
use slipway::layer::{ExtractLimits, FileTree, Node, TarWriter};

use super::project::{Project, ProjectError, ProjectFile};

/// The most file content one dropped archive may unpack to in the page.
pub const MAX_IMPORT_BYTES: u64 = 64 << 20;
const MAX_IMPORT_ENTRIES: usize = 10_000;

/// The files of an archive, by path; folders that hold nothing are kept as folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: Vec<(String, ProjectFile)>,
    pub folders: Vec<String>,
}

/// One file in a message to or from a worker: its bytes are the next `size` bytes of the buffer beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveFile {
    pub path: String,
    pub mode: u32,
    pub size: u64,
}

/// The files' paths and modes, and their bytes one after another (one buffer to transfer to or from a worker).
pub fn files_to_buffer<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a ProjectFile)>,
) -> (Vec<ArchiveFile>, Vec<u8>) {
    let mut buffer = Vec::new();
    let listed = files
        .into_iter()
        .map(|(path, file)| {
            buffer.extend_from_slice(&file.data);
            ArchiveFile {
                path: path.to_string(),
                mode: file.mode,
                size: file.data.len() as u64,
            }
        })
        .collect();
    (listed, buffer)
}

/// The files [`files_to_buffer`] wrote; None when the sizes do not add up to the buffer's length.
pub fn files_from_buffer(listed: Vec<ArchiveFile>, buffer: &[u8]) -> Option<Vec<(String, ProjectFile)>> {
    let mut rest = buffer;
    let mut files = Vec::with_capacity(listed.len());
    for file in listed {
        let size = usize::try_from(file.size)
            .ok()
            .filter(|size| *size <= rest.len())?;
        let (data, after) = rest.split_at(size);
        rest = after;
        let data = data.to_vec();
        files.push((
            file.path,
            ProjectFile {
                data,
                mode: file.mode,
            },
        ));
    }
    rest.is_empty().then_some(files)
}

fn archive_error(name: &str, reason: impl ToString) -> ProjectError {
    ProjectError::Archive {
        name: name.to_string(),
        reason: reason.to_string(),
    }
}

/// Whether `bytes` are a zip (by its `PK` magic); anything else is read as a tar or tar.gz.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Reads the zip `name` (in the archive worker; natively in tests).
pub fn unpack_zip(name: &str, bytes: &[u8]) -> Result<Unpacked, ProjectError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| archive_error(name, e))?;
    if zip.len() > MAX_IMPORT_ENTRIES {
        return Err(archive_error(
            name,
            format!("more than {MAX_IMPORT_ENTRIES} entries"),
        ));
    }
    let mut out = Unpacked::default();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| archive_error(name, e))?;
        // `enclosed_name` refuses absolute paths and `..`: an archive never writes outside the project.
        let path = entry
            .enclosed_name()
            .and_then(|p| p.to_str().map(|s| s.replace('\\', "/")))
            .ok_or_else(|| archive_error(name, format!("unsafe entry name {:?}", entry.name())))?;
        if entry.is_dir() {
            out.folders.push(path.trim_end_matches('/').to_string());
            continue;
        }
        total += entry.size();
        if total > MAX_IMPORT_BYTES {
            return Err(archive_error(
                name,
                format!("over the limit of {MAX_IMPORT_BYTES} bytes"),
            ));
        }
        // The entry's size is a claim: reserve at most what the archive itself holds, then read what is there.
        let mut data = Vec::with_capacity(entry.size().min(bytes.len() as u64) as usize);
        entry
            .by_ref()
            .take(MAX_IMPORT_BYTES)
            .read_to_end(&mut data)
            .map_err(|e| archive_error(name, e))?;
        let mode = entry.unix_mode().map_or(0o644, |m| m & 0o7777);
        out.files.push((path, ProjectFile { data, mode }));
    }
    Ok(out)
}

/// Reads the tar or tar.gz `name` (in the page).
pub fn unpack_tar(name: &str, bytes: &[u8]) -> Result<Unpacked, ProjectError> {
    let mut tree = FileTree::new();
    let limits = ExtractLimits {
        max_bytes: MAX_IMPORT_BYTES,
        max_entries: MAX_IMPORT_ENTRIES,
    };
    tree.extract_tar(bytes, "", &limits)
        .map_err(|e| archive_error(name, e))?;
    let mut out = Unpacked::default();
    for (path, node) in tree.iter() {
        match node {
            Node::File { data, meta } => out.files.push((
                path.to_string(),
                ProjectFile {
                    data: data.to_vec(),
                    mode: meta.mode,
                },
            )),
            Node::Dir { .. } => out.folders.push(path.to_string()),
            // A project holds plain files: a link becomes a copy of what it points to, when that is a file.
            Node::HardLink { target } | Node::Symlink { target, .. } => {
                if let Some(Node::File { data, meta }) = tree.get(target) {
                    out.files.push((
                        path.to_string(),
                        ProjectFile {
                            data: data.to_vec(),
                            mode: meta.mode,
                        },
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// `myapp/Dockerfile`, `myapp/app.py` → `Dockerfile`, `app.py`: zipping a folder wraps it in its own name, but
/// the build context is what is inside.
fn strip_single_top_folder(out: &mut Unpacked) {
    let top = |p: &str| p.split('/').next().unwrap_or_default().to_string();
    let Some(first) = out.files.first().map(|(p, _)| top(p)) else {
        return;
    };
    let prefix = format!("{first}/");
    let all_inside = out.files.iter().all(|(p, _)| p.starts_with(&prefix))
        && out.folders.iter().all(|f| *f == first || f.starts_with(&prefix));
    if !all_inside {
        return;
    }
    for (path, _) in &mut out.files {
        *path = path[prefix.len()..].to_string();
    }
    out.folders.retain(|f| *f != first);
    for folder in &mut out.folders {
        *folder = folder[prefix.len()..].to_string();
    }
}

/// Zips `folders` and `files` (deflated; fixed 1980 timestamps, so the same files give the same bytes).
pub fn zip<'a>(folders: &[String], files: impl IntoIterator<Item = (&'a str, &'a ProjectFile)>) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = |mode: u32| {
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(mode)
    };
    let written: Result<(), zip::result::ZipError> = (|| {
        for folder in folders {
            zip.add_directory(folder.as_str(), options(0o755))?;
        }
        for (path, file) in files {
            zip.start_file(path, options(file.mode))?;
            zip.write_all(&file.data)?;
        }
        Ok(())
    })();
    // Writing to memory fails only on a bug (e.g. a duplicate name, which a BTreeMap cannot hold).
    written.expect("zip into memory");
    zip.finish().expect("zip into memory").into_inner()
}

impl Project {
    /// Adds a dropped archive's files below `folder` (`""` for the top), replacing files of the same name.
    /// Natively only: the page unzips in a worker and calls [`Project::import_unpacked`].
    pub fn import_archive(&mut self, folder: &str, name: &str, bytes: &[u8]) -> Result<usize, ProjectError> {
        let unpacked = if is_zip(bytes) {
            unpack_zip(name, bytes)?
        } else {
            unpack_tar(name, bytes)?
        };
        self.import_unpacked(folder, unpacked)
    }

    /// Adds an unpacked archive's files below `folder`, its single wrapping folder unwrapped.
    pub fn import_unpacked(&mut self, folder: &str, mut unpacked: Unpacked) -> Result<usize, ProjectError> {
        strip_single_top_folder(&mut unpacked);
        for dir in &unpacked.folders {
            let path = super::project::clean_path(&format!("{folder}/{dir}"))?;
            if !self.files.contains_key(&path) {
                self.folders.insert(path);
            }
        }
        let count = unpacked.files.len();
        for (path, file) in unpacked.files {
            self.put(&format!("{folder}/{path}"), file)?;
        }
        self.open_default();
        Ok(count)
    }

    /// The project as a zip (natively only: the page zips in a worker).
    pub fn to_zip(&self) -> Vec<u8> {
        let folders: Vec<String> = self.folders.iter().cloned().collect();
        zip(
            &folders,
            self.files.iter().map(|(path, file)| (path.as_str(), file)),
        )
    }

    /// The project as a plain tar (what `docker build -` would read as a context).
    pub fn to_tar(&self) -> Vec<u8> {
        let mut tar = TarWriter::new(Vec::new(), 0);
        self.context_tree()
            .write_tar(&mut tar)
            .and_then(|_| tar.finish())
            .expect("tar into memory")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Project {
        let mut p = Project::from_files([
            ("Dockerfile", ProjectFile::new("FROM busybox\nCOPY . /app\n")),
            ("app/main.py", ProjectFile::new("print('hi')\n")),
            (
                "run.sh",
                ProjectFile {
                    data: b"#!/bin/sh\n".to_vec(),
                    mode: 0o755,
                },
            ),
        ])
        .unwrap();
        p.create_folder("empty").unwrap();
        p
    }

    fn reimport(bytes: &[u8], name: &str) -> Project {
        let mut p = Project::default();
        p.import_archive("", name, bytes).unwrap();
        p
    }

    #[test]
    fn zip_round_trip_keeps_files_modes_and_empty_folders() {
        let p = sample();
        let zip = p.to_zip();
        assert_eq!(zip, p.to_zip(), "deterministic");
        let back = reimport(&zip, "project.zip");
        assert_eq!(back.files, p.files);
        assert_eq!(back.folders, p.folders);
        assert_eq!(back.active.as_deref(), Some("Dockerfile"));
    }

    #[test]
    fn tar_and_tar_gz_round_trip() {
        let p = sample();
        let tar = p.to_tar();
        let back = reimport(&tar, "project.tar");
        assert_eq!(back.files, p.files);
        assert!(back.folders.contains("empty"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let back = reimport(&gz.finish().unwrap(), "project.tar.gz");
        assert_eq!(back.files, p.files);
    }

    #[test]
    fn a_single_wrapping_folder_is_unwrapped() {
        let mut wrapped = Project::default();
        wrapped
            .put("myapp/Dockerfile", ProjectFile::new("FROM x"))
            .unwrap();
        wrapped.put("myapp/src/a.py", ProjectFile::new("")).unwrap();
        let back = reimport(&wrapped.to_zip(), "myapp.zip");
        assert_eq!(back.files.keys().collect::<Vec<_>>(), ["Dockerfile", "src/a.py"]);
        // Two top-level entries: nothing to unwrap.
        wrapped.put("other.txt", ProjectFile::new("")).unwrap();
        let back = reimport(&wrapped.to_zip(), "two.zip");
        assert!(back.files.contains_key("myapp/Dockerfile"));
    }

    #[test]
    fn garbage_and_unsafe_archives_are_refused_with_the_name() {
        let err = Project::default()
            .import_archive("", "notes.txt", b"hello")
            .unwrap_err();
        assert!(err.to_string().starts_with("cannot read notes.txt:"), "{err}");
        let mut evil = zip::ZipWriter::new(Cursor::new(Vec::new()));
        evil.start_file("../escape", zip::write::SimpleFileOptions::default())
            .unwrap();
        let evil = evil.finish().unwrap().into_inner();
        let err = Project::default()
            .import_archive("", "evil.zip", &evil)
            .unwrap_err();
        assert!(err.to_string().contains("unsafe entry name"), "{err}");
        // A dropped tar whose header claims 60 MiB (under the import limit) and holds 10 bytes.
        // An honest one-file tar from the core's writer, its header then made to claim more than it holds.
        let mut tar = slipway::layer::TarWriter::new(Vec::new(), 0);
        tar.append_bytes("big.bin", &slipway::layer::Meta::file(), b"0123456789")
            .unwrap();
        let mut lying = tar.finish().unwrap();
        let mut header = tar::Header::from_byte_slice(&lying[..512]).clone();
        header.set_size(60 << 20);
        header.set_cksum();
        lying[..512].copy_from_slice(header.as_bytes());
        lying.truncate(512 + 10);
        let err = Project::default()
            .import_archive("", "lying.tar", &lying)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("truncated: the header claims 62914560 bytes, the archive holds 10"),
            "{err}"
        );
    }

    #[test]
    fn import_into_a_folder() {
        let mut p = sample();
        let n = p.import_archive("vendor", "lib.zip", &sample().to_zip()).unwrap();
        assert_eq!(n, 3);
        assert!(p.files.contains_key("vendor/app/main.py"));
    }
}
