//! Responses built once per config load: status, every header, and the body as `Bytes`. The
//! request path only clones one of these.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

pub type Body = Full<Bytes>;

/// Methods the documents answer; also the `Allow` header of a 405.
pub const METHODS: &str = "GET, HEAD, OPTIONS";

/// Headers on every response, errors included: browsers fetch the client document
/// cross-origin, so a 404 or 405 without CORS is an opaque network error to Element Web.
fn common_headers() -> HeaderMap {
    let mut h = HeaderMap::with_capacity(8);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(METHODS),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("X-Requested-With, Content-Type, Authorization"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h
}

#[derive(Debug, Clone)]
pub struct Prepared {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Prepared {
    /// A JSON body with its one `Content-Type` and its `Content-Length` (which HEAD repeats).
    pub fn json(status: StatusCode, body: Vec<u8>, extra: &[(HeaderName, HeaderValue)]) -> Self {
        let mut p = Prepared::empty(status, extra);
        p.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        p.headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        p.body = Bytes::from(body);
        p
    }

    /// No body; `Content-Length: 0` except on 204, where RFC 9110 forbids it.
    pub fn empty(status: StatusCode, extra: &[(HeaderName, HeaderValue)]) -> Self {
        let mut headers = common_headers();
        if status != StatusCode::NO_CONTENT {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        for (k, v) in extra {
            headers.insert(k, v.clone());
        }
        Prepared {
            status,
            headers,
            body: Bytes::new(),
        }
    }

    /// A Matrix error body: `{"errcode":"M_UNRECOGNIZED","error":...}`.
    pub fn error(status: StatusCode, message: &str, extra: &[(HeaderName, HeaderValue)]) -> Self {
        Prepared::matrix_error(status, "M_UNRECOGNIZED", message, extra)
    }

    /// A Matrix error body with its own `errcode`.
    pub fn matrix_error(
        status: StatusCode,
        errcode: &str,
        message: &str,
        extra: &[(HeaderName, HeaderValue)],
    ) -> Self {
        let body = serde_json::json!({ "errcode": errcode, "error": message });
        Prepared::json(status, body.to_string().into_bytes(), extra)
    }

    /// This response as HTTP/1.1 bytes that end the connection, for writing without hyper:
    /// the status line and every header with `connection: close`, but no `date` and no blank
    /// line yet (the writer adds both), and the body.
    pub fn http1_closing(&self) -> (Bytes, Bytes) {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("")
        )
        .into_bytes();
        for (name, value) in &self.headers {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"connection: close\r\n");
        (Bytes::from(head), self.body.clone())
    }

    /// The response to send; `head` keeps every header, Content-Length included, and drops
    /// the body.
    pub fn response(&self, head: bool) -> Response<Body> {
        let body = if head {
            Bytes::new()
        } else {
            self.body.clone()
        };
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers.clone();
        r
    }
}
