//! Images and layers as directories on disk: a layer from a directory (a debootstrap rootfs, a container's
//! upper dir), a layer of what a directory changed against a base, and OCI image layouts.

pub mod dir_diff;
pub mod dir_layer;
pub mod oci_layout;
