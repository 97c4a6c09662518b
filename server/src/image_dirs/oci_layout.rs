//! OCI image layouts on disk (`oci-layout`, `index.json`, `blobs/sha256/`): written atomically, verified on read.

use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use slipway::image::{ref_name, Blob, Descriptor, Digest, ImageError, ImageIndex, ImageManifest};
use slipway::image::{Format, ImageConfiguration};
use slipway::layer::{HashWriter, LayerError, LayerInfo, LayerOptions, LayerWriter};

const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_JSON: &str = "{\"imageLayoutVersion\":\"1.0.0\"}";

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}: not an OCI image layout (no oci-layout file)")]
    NotALayout(PathBuf),
    #[error("no manifest named {0:?} in index.json")]
    NoSuchRef(String),
    #[error("blob {digest}: expected {expected_size} bytes with that digest, found {actual_size} bytes of {actual}")]
    BadBlob {
        digest: String,
        expected_size: u64,
        actual: String,
        actual_size: u64,
    },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("JSON in {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LayoutError + '_ {
    move |source| LayoutError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An OCI image layout directory.
#[derive(Debug, Clone)]
pub struct OciLayout {
    root: PathBuf,
}

/// An image read back from a layout, every blob checked against its digest.
#[derive(Debug, Clone)]
pub struct VerifiedImage {
    pub manifest_descriptor: Descriptor,
    pub manifest: ImageManifest,
    pub config: ImageConfiguration,
}

impl OciLayout {
    /// Creates the directory, `blobs/sha256/` and the `oci-layout` file (keeps existing content).
    pub fn create(root: &Path) -> Result<Self, LayoutError> {
        let blobs = root.join("blobs/sha256");
        fs::create_dir_all(&blobs).map_err(io_err(&blobs))?;
        let file = root.join(LAYOUT_FILE);
        fs::write(&file, LAYOUT_JSON).map_err(io_err(&file))?;
        Ok(OciLayout {
            root: root.to_owned(),
        })
    }

    /// Opens an existing layout.
    pub fn open(root: &Path) -> Result<Self, LayoutError> {
        if !root.join(LAYOUT_FILE).is_file() {
            return Err(LayoutError::NotALayout(root.to_owned()));
        }
        Ok(OciLayout {
            root: root.to_owned(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_ref())
            .join(digest.digest())
    }

    /// Stores a JSON blob (config, manifest) under its digest.
    pub fn write_blob(&self, blob: &Blob) -> Result<(), LayoutError> {
        let path = self.blob_path(blob.descriptor.digest());
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        fs::write(&tmp, &blob.bytes).map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    /// Streams a layer into the blob store: `fill` appends entries; the blob lands under its digest.
    pub fn write_layer<E>(
        &self,
        options: &LayerOptions,
        fill: impl FnOnce(&mut LayerWriter<BufWriter<File>>) -> Result<(), E>,
    ) -> Result<LayerInfo, E>
    where
        E: From<LayoutError>,
    {
        // Unique per process and call, so concurrent writers into one layout never share a temp file.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!(".layer-{}-{n}.tmp", std::process::id());
        let tmp = self.root.join("blobs/sha256").join(name);
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut layer = LayerWriter::new(BufWriter::with_capacity(1 << 20, file), options);
        fill(&mut layer)?;
        let (out, info) = layer.finish().map_err(LayoutError::from)?;
        out.into_inner()
            .map_err(|e| io_err(&tmp)(e.into_error()))?
            .sync_all()
            .map_err(io_err(&tmp))?;
        let path = self.blob_path(&info.digest);
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        Ok(info)
    }

    /// Writes `index.json` listing these manifests (each with its ref name annotation).
    pub fn write_index(&self, manifests: Vec<Descriptor>) -> Result<(), LayoutError> {
        let index = slipway::image::index_blob(manifests, Format::Oci)?;
        let path = self.root.join("index.json");
        let tmp = self.root.join("index.json.tmp");
        fs::write(&tmp, &index.bytes).map_err(io_err(&tmp))?;
        fs::rename(&tmp, &path).map_err(io_err(&path))
    }

    pub fn read_index(&self) -> Result<ImageIndex, LayoutError> {
        let path = self.root.join("index.json");
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| LayoutError::Json { path, source })
    }

    /// Reads a blob, checking its size and digest.
    pub fn read_blob(&self, descriptor: &Descriptor) -> Result<Vec<u8>, LayoutError> {
        let path = self.blob_path(descriptor.digest());
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let actual = slipway::layer::sha256(&bytes);
        if &actual != descriptor.digest() || bytes.len() as u64 != descriptor.size() {
            return Err(LayoutError::BadBlob {
                digest: descriptor.digest().to_string(),
                expected_size: descriptor.size(),
                actual: actual.to_string(),
                actual_size: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// Checks a large blob by streaming it through the hasher.
    pub fn check_blob(&self, descriptor: &Descriptor) -> Result<(), LayoutError> {
        let path = self.blob_path(descriptor.digest());
        let mut file = File::open(&path).map_err(io_err(&path))?;
        let mut hasher = HashWriter::new(std::io::sink());
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(io_err(&path))?;
            if n == 0 {
                break;
            }
            hasher.write_all(&buf[..n]).map_err(io_err(&path))?;
        }
        let (_, actual, size) = hasher.finish();
        if &actual != descriptor.digest() || size != descriptor.size() {
            return Err(LayoutError::BadBlob {
                digest: descriptor.digest().to_string(),
                expected_size: descriptor.size(),
                actual: actual.to_string(),
                actual_size: size,
            });
        }
        Ok(())
    }

    /// Finds the manifest named `name` in `index.json` and verifies it, its config and every layer.
    pub fn verify(&self, name: &str) -> Result<VerifiedImage, LayoutError> {
        let index = self.read_index()?;
        let descriptor = index
            .manifests()
            .iter()
            .find(|d| ref_name(d) == Some(name))
            .cloned()
            .ok_or_else(|| LayoutError::NoSuchRef(name.to_owned()))?;
        let bytes = self.read_blob(&descriptor)?;
        let manifest = ImageManifest::from_reader(&bytes[..]).map_err(ImageError::from)?;
        let config_bytes = self.read_blob(manifest.config())?;
        let config = ImageConfiguration::from_reader(&config_bytes[..]).map_err(ImageError::from)?;
        for layer in manifest.layers() {
            self.check_blob(layer)?;
        }
        Ok(VerifiedImage {
            manifest_descriptor: descriptor,
            manifest,
            config,
        })
    }
}
