//! hyper answers some malformed HTTP/1.1 requests itself, before any service sees them: 400
//! (a bad request line or header), 414 (URI too long) and 431 (a head over
//! `limits.max_header_bytes`). Its answers carry no CORS headers, so a browser sees an opaque
//! network error instead of a status. hyper has no hook for them, so the connection's stream
//! recognises them as they are written (one of those status lines, and no CORS header, which
//! every answer of ours has) and sends ours instead: the same status, every header of
//! [`super::Prepared`], a Matrix error body, and `connection: close`, as hyper's would end
//! the connection too.

use bytes::{Bytes, BytesMut};
use http::StatusCode;

use super::prepared::Prepared;

/// The statuses hyper sends on its own (`Server::on_error` in hyper's `proto/h1/role.rs`).
const AUTOMATIC: [(StatusCode, &str, &str); 3] = [
    (
        StatusCode::BAD_REQUEST,
        "M_UNRECOGNIZED",
        "Malformed HTTP request",
    ),
    (
        StatusCode::URI_TOO_LONG,
        "M_TOO_LARGE",
        "Request URI too long",
    ),
    (
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "M_TOO_LARGE",
        "Request head too large",
    ),
];

/// Our answers for hyper's automatic ones: head (without `date` and the blank line) and body.
#[derive(Debug, Clone)]
pub struct Automatic {
    answers: Vec<(StatusCode, Bytes, Bytes)>,
}

impl Default for Automatic {
    fn default() -> Self {
        Automatic::new()
    }
}

impl Automatic {
    pub fn new() -> Automatic {
        let answers = AUTOMATIC
            .iter()
            .map(|(status, errcode, message)| {
                let (head, body) =
                    Prepared::matrix_error(*status, errcode, message, &[]).http1_closing();
                (*status, head, body)
            })
            .collect();
        Automatic { answers }
    }

    /// If `written` (what hyper is writing, from the start of a response) is one of its
    /// automatic answers, ours to write instead, with `date` as its `Date` header.
    pub fn replacement(&self, written: &[u8], date: impl FnOnce() -> String) -> Option<Bytes> {
        // Every write of every response comes here: most leave at the first byte compared.
        if written.get(9) != Some(&b'4') {
            return None;
        }
        let status = written.strip_prefix(b"HTTP/1.")?.get(2..6)?;
        let (_, head, body) = self
            .answers
            .iter()
            .find(|(s, _, _)| status[..3] == *s.as_str().as_bytes() && status[3] == b' ')?;
        let end = find(written, b"\r\n\r\n").unwrap_or(written.len());
        if find(&written[..end], b"\r\naccess-control-allow-origin:").is_some() {
            return None;
        }
        let date = date();
        let mut out = BytesMut::with_capacity(head.len() + date.len() + 12 + body.len());
        out.extend_from_slice(head);
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(date.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(body);
        Some(out.freeze())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replaced(written: &str) -> Option<String> {
        Automatic::new()
            .replacement(written.as_bytes(), || {
                "Tue, 01 Dec 2026 00:00:00 GMT".into()
            })
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[test]
    fn hypers_own_answers_are_replaced_and_ours_are_not() {
        let ours = replaced(
            "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n",
        )
        .unwrap();
        assert!(ours.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(ours.contains("\r\naccess-control-allow-origin: *\r\n"));
        assert!(ours.contains("\r\nconnection: close\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\n{\"errcode\":\"M_TOO_LARGE\""));
        assert!(replaced("HTTP/1.1 400 Bad Request\r\n\r\n").is_some());
        assert!(replaced("HTTP/1.1 414 URI Too Long\r\n\r\n").is_some());
        for untouched in [
            "HTTP/1.1 400 Bad Request\r\naccess-control-allow-origin: *\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 4001\r\n\r\n",
            "{\"m.server\":\"HTTP/1.1 400 \"}",
            "HTTP/1.1 40",
            "",
        ] {
            assert_eq!(replaced(untouched), None, "{untouched:?}");
        }
    }
}
