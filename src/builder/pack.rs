//! "Compress and hash this layer" behind a narrow trait: natively the builder's own thread does it
//! ([`InlinePacker`]); in the page a pool of Web Workers does (`ui::layer_pool`), several layers at once.
//!
//! A packer starts the work when [`LayerPacker::pack`] is called and the future only collects the result, so
//! the builder can go on with the next steps while layers compress and wait for them where it needs their
//! digests ([`PendingLayers`]).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::cache::PlaceRecord;
use super::rootfs::LayerRef;
use crate::layer::{FileTree, LayerError, LayerInfo, LayerOptions};

/// The gzip blob of a layer and its digests and sizes.
pub type Packed = (Vec<u8>, LayerInfo);

/// A layer being packed. `'static`: it owns what it needs, so the builder can keep it while it goes on.
pub type PackFuture = Pin<Box<dyn Future<Output = Result<Packed, LayerError>>>>;

/// Turns a layer's file tree into its gzip blob, diff_id, digest and sizes, with the bytes of
/// [`FileTree::to_layer`] whoever does the work.
pub trait LayerPacker {
    /// Starts packing `tree` now; the future resolves when it is done. Several may be in flight.
    fn pack(&self, tree: Arc<FileTree>, options: LayerOptions) -> PackFuture;
}

/// Packs on the calling thread, in [`LayerPacker::pack`] itself (native builds, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct InlinePacker;

impl LayerPacker for InlinePacker {
    fn pack(&self, tree: Arc<FileTree>, options: LayerOptions) -> PackFuture {
        let packed = tree.to_layer(&options);
        Box::pin(std::future::ready(packed))
    }
}

/// A layer step whose layer is still being packed: where its placeholder sits and what to record once the
/// digests are known.
pub(super) struct PendingLayer {
    /// The step's progress id (for its byte count).
    pub id: usize,
    /// Position of the layer in the stage's rootfs and in its config's `rootfs.diff_ids`.
    pub index: usize,
    /// The step's cache key and place, and the files it read, remembered once the layer exists.
    pub key: String,
    pub place: String,
    pub files: PlaceRecord,
    pub job: PackFuture,
}

/// The layers of the current stage still being packed, oldest first.
#[derive(Default)]
pub(super) struct PendingLayers {
    jobs: RefCell<Vec<PendingLayer>>,
}

impl PendingLayers {
    pub fn push(&self, pending: PendingLayer) {
        self.jobs.borrow_mut().push(pending);
    }

    /// Every pending layer, oldest first, leaving none.
    pub fn take(&self) -> Vec<PendingLayer> {
        std::mem::take(&mut *self.jobs.borrow_mut())
    }
}

/// The descriptor-less stand-in a pending layer has in the rootfs until [`PendingLayers`] are settled: the
/// digest of no bytes, never a real gzip layer's.
pub(super) fn placeholder() -> LayerRef {
    let empty = crate::layer::sha256(b"");
    LayerRef {
        descriptor: crate::image::Descriptor::new(
            oci_spec::image::MediaType::ImageLayerGzip,
            0,
            empty.clone(),
        ),
        diff_id: empty,
        blob: None,
        repository: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::block_on;
    use crate::layer::Meta;

    #[test]
    fn inline_packer_gives_the_one_pass_bytes() {
        let mut tree = FileTree::new();
        tree.insert_file("a/b.txt", b"hello\n".to_vec(), Meta::file())
            .unwrap();
        let tree = Arc::new(tree);
        let options = LayerOptions { mtime: 7, level: 6 };
        let packed = block_on(InlinePacker.pack(tree.clone(), options)).unwrap();
        assert_eq!(packed, tree.to_layer(&options).unwrap());
    }

    #[test]
    fn pending_layers_come_back_in_order_once() {
        let pending = PendingLayers::default();
        for index in [3, 5] {
            pending.push(PendingLayer {
                id: index,
                index,
                key: format!("k{index}"),
                place: String::new(),
                files: PlaceRecord::default(),
                job: InlinePacker.pack(Arc::new(FileTree::new()), LayerOptions::default()),
            });
        }
        let taken: Vec<usize> = pending.take().iter().map(|p| p.index).collect();
        assert_eq!(taken, [3, 5]);
        assert!(pending.take().is_empty());
    }
}
