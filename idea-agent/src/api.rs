//! What the SDK's HTTP/JSON interfaces have in common, without I/O: one request as a route sees it, and the
//! shape of an error. The owner's interface ([`crate::owner`]), the TE node operator's
//! ([`crate::te_node::operator`]) and the demand-response operator's ([`crate::demand_response::operator`])
//! answer these; [`crate::json_http`] (feature `http`) serves them.

use serde_json::{Value, json};

/// One request.
#[derive(Debug, Clone, Copy)]
pub struct ApiRequest<'a> {
    /// `GET`, `PUT`, `POST` or `DELETE`.
    pub method: &'a str,
    /// The path, with its query (`/events?since=3`).
    pub path: &'a str,
    /// The body (JSON where one is expected).
    pub body: &'a [u8],
}

impl ApiRequest<'_> {
    /// The path without its query or a trailing `/`.
    pub fn resource(&self) -> &str {
        self.path
            .split('?')
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
    }
}

/// An error answer: `status` and `{"error": message}`.
pub fn api_error(status: u16, message: impl Into<String>) -> (u16, Value) {
    (status, json!({ "error": message.into() }))
}
