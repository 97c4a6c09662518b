//! Registry errors, and their wire form: the OCI error envelope with the spec's codes and status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(String),
    #[error("blob upload unknown to registry: {0}")]
    UploadUnknown(String),
    #[error("blob upload invalid: {0}")]
    UploadInvalid(String),
    #[error("upload out of order: the session holds {current} bytes, the chunk starts at {start}")]
    RangeInvalid { current: u64, start: u64 },
    #[error("requested range not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("digest invalid: {0}")]
    DigestInvalid(String),
    #[error("manifest references a blob unknown to this repository: {0}")]
    ManifestBlobUnknown(String),
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest unknown: {0}")]
    ManifestUnknown(String),
    #[error("invalid repository name {0:?}")]
    NameInvalid(String),
    #[error("repository name not known to registry: {0}")]
    NameUnknown(String),
    #[error("invalid tag {0:?}")]
    TagInvalid(String),
    #[error("size invalid: {0}")]
    SizeInvalid(String),
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        what: &'static str,
        size: u64,
        limit: u64,
    },
    #[error("quota exceeded: {namespace} would use {needed} bytes, over its quota of {quota} bytes")]
    QuotaExceeded {
        namespace: String,
        needed: u64,
        quota: u64,
    },
    #[error(transparent)]
    DiskFull(#[from] super::quota::DiskFull),
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("access denied: {0}")]
    Denied(String),
    #[error(transparent)]
    TooManyLogins(#[from] super::login_limit::TooManyLogins),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid parameter: {0}")]
    BadParameter(String),
    #[error("request body failed: {0}")]
    Body(String),
    #[error("storage failed: {0}")]
    Io(#[from] std::io::Error),
}

impl RegistryError {
    /// The spec's error code and HTTP status for this error.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        use RegistryError::*;
        match self {
            BlobUnknown(_) => ("BLOB_UNKNOWN", StatusCode::NOT_FOUND),
            UploadUnknown(_) => ("BLOB_UPLOAD_UNKNOWN", StatusCode::NOT_FOUND),
            UploadInvalid(_) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
            RangeInvalid { .. } => ("BLOB_UPLOAD_INVALID", StatusCode::RANGE_NOT_SATISFIABLE),
            RangeNotSatisfiable { .. } => ("SIZE_INVALID", StatusCode::RANGE_NOT_SATISFIABLE),
            DigestInvalid(_) => ("DIGEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestBlobUnknown(_) => ("MANIFEST_BLOB_UNKNOWN", StatusCode::BAD_REQUEST),
            ManifestInvalid(_) => ("MANIFEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestUnknown(_) => ("MANIFEST_UNKNOWN", StatusCode::NOT_FOUND),
            NameInvalid(_) => ("NAME_INVALID", StatusCode::BAD_REQUEST),
            NameUnknown(_) => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
            TagInvalid(_) => ("MANIFEST_INVALID", StatusCode::BAD_REQUEST),
            SizeInvalid(_) => ("SIZE_INVALID", StatusCode::BAD_REQUEST),
            TooLarge { .. } => ("SIZE_INVALID", StatusCode::PAYLOAD_TOO_LARGE),
            QuotaExceeded { .. } => ("DENIED", StatusCode::INSUFFICIENT_STORAGE),
            DiskFull(_) => ("DENIED", StatusCode::INSUFFICIENT_STORAGE),
            Unauthorized(_) => ("UNAUTHORIZED", StatusCode::UNAUTHORIZED),
            Denied(_) => ("DENIED", StatusCode::FORBIDDEN),
            TooManyLogins(_) => ("TOOMANYREQUESTS", StatusCode::TOO_MANY_REQUESTS),
            Unsupported(_) => ("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED),
            NotFound(_) => ("UNSUPPORTED", StatusCode::NOT_FOUND),
            BadParameter(_) => ("UNSUPPORTED", StatusCode::BAD_REQUEST),
            Body(_) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
            Io(_) => ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        match self {
            // A refusal working as meant, not a failure of the server.
            RegistryError::QuotaExceeded { .. } | RegistryError::DiskFull(_) => {
                tracing::warn!(error = %self, "registry write refused")
            }
            _ if status.is_server_error() => tracing::error!(error = %self, "registry request failed"),
            _ => {}
        }
        let body = serde_json::json!({
            "errors": [{ "code": code, "message": self.to_string(), "detail": {} }]
        })
        .to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match &self {
            RegistryError::RangeInvalid { current, .. } => {
                let range = format!("0-{}", current.saturating_sub(1));
                if let Ok(value) = HeaderValue::from_str(&range) {
                    headers.insert(header::RANGE, value);
                }
            }
            RegistryError::RangeNotSatisfiable { size } => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            RegistryError::TooManyLogins(refused) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(refused.retry_after));
            }
            _ => {}
        }
        response
    }
}
