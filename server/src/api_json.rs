//! The companion API's JSON request bodies: axum's `Json` with the protocol's error shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use slipway::api::ErrorBody;

/// A JSON request body of the protocol (`slipway::api`). Unlike axum's `Json`, a body that does not fit the
/// type (an unknown or misspelt field, a wrong type) is a 400 whose [`ErrorBody`] names the field, the way
/// every other refusal of the API reads; a missing `Content-Type` stays axum's 415.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let status = match rejection {
                    JsonRejection::MissingJsonContentType(_) => rejection.status(),
                    _ => StatusCode::BAD_REQUEST,
                };
                Err((status, Json(ErrorBody::new(rejection.body_text()))).into_response())
            }
        }
    }
}
