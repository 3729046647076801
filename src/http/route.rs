//! The routing function: from a request to one of the prepared responses. Pure, so unit tests
//! call it without sockets.

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, Version};

use super::prepared::Body;
use super::router::Router;
use crate::config::Document;

pub fn route<B>(router: &Router, req: &Request<B>) -> Response<Body> {
    // The unit tests' stand-in for a bug: `server`'s tests check that one costs a 500, not
    // the connection. Not compiled into the daemon.
    #[cfg(test)]
    if req.uri().path() == "/test/panic" {
        panic!("a bug in routing");
    }
    let fixed = &router.fixed;
    let method = req.method();
    let head = method == Method::HEAD;
    if let Err(bad) = well_formed(router, req) {
        return bad.response(head);
    }
    if method == Method::OPTIONS {
        return fixed.preflight.response(false);
    }
    let path = req.uri().path();
    if router.is_health(path) {
        return match (head || method == Method::GET, router.is_draining()) {
            (false, _) => fixed.method_not_allowed.response(false),
            (true, false) => fixed.health_ok.response(head),
            (true, true) => fixed.health_stopping.response(head),
        };
    }
    let Some(site) = router.site(|| host(req)) else {
        return fixed.unknown_host.response(head);
    };
    let document = match Document::from_path(path) {
        Some(doc) => Some(site.documents[doc as usize].as_ref()),
        None => site.file(path).map(Some),
    };
    if let Some(document) = document {
        return match document {
            Some(p) if head || method == Method::GET => p.response(head),
            Some(_) => fixed.method_not_allowed.response(false),
            None => fixed.not_found.response(head),
        };
    }
    match &site.redirect {
        Some(base) if !Document::is_reserved(path) => redirect(router, base, req),
        _ => fixed.not_found.response(head),
    }
}

/// The request rules every answer needs first, as the prepared 400 or 431 that breaks them:
/// - RFC 9112 §3.2: an HTTP/1.1 request without `Host`, any request with two, or with one
///   that is not a host and port, is a 400 (guessing a domain for it would answer for the
///   wrong one).
/// - Only `OPTIONS` may ask for `*`, and no method for an authority (CONNECT): what is not
///   a path has no document and nowhere to be redirected.
/// - An HTTP/2 header list above `limits.max_header_bytes` gets our 431, with CORS (HTTP/1.1
///   heads are bounded by hyper, whose own 431 is replaced: [`super::Automatic`]).
pub(super) fn well_formed<'r, B>(
    router: &'r Router,
    req: &Request<B>,
) -> Result<(), &'r super::Prepared> {
    let fixed = &router.fixed;
    let headers = req.headers();
    match headers.get(header::HOST) {
        None if req.version() == Version::HTTP_11 => return Err(&fixed.no_host),
        // Some header name appears twice: only then count the Hosts.
        Some(_)
            if headers.len() > headers.keys_len()
                && headers.get_all(header::HOST).iter().nth(1).is_some() =>
        {
            return Err(&fixed.two_hosts);
        }
        Some(h) if !is_host_value(h.as_bytes()) => return Err(&fixed.bad_host),
        _ => {}
    }
    if !req.uri().path().starts_with('/') && req.method() != Method::OPTIONS {
        return Err(&fixed.bad_target);
    }
    if req.version() == Version::HTTP_2 && header_list_size(req) > router.max_header_bytes() {
        return Err(&fixed.too_large);
    }
    Ok(())
}

/// `uri-host [":" port]`: the bytes RFC 3986 allows in a reg-name, an IP literal and a port.
fn is_host_value(v: &[u8]) -> bool {
    !v.is_empty() && v.iter().all(|&b| HOST_BYTES[usize::from(b)])
}

/// [`is_host_value`]'s bytes as a table: one load per byte of every request's `Host`.
static HOST_BYTES: [bool; 256] = {
    let allowed = b"-._~!$&'()*+,;=%:[]";
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < allowed.len() {
        table[allowed[i] as usize] = true;
        i += 1;
    }
    table
};

/// RFC 9113 §6.5.2's size of a header list: each field's name and value plus 32 bytes.
fn header_list_size<B>(req: &Request<B>) -> usize {
    let pseudo = req.method().as_str().len()
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + req.uri().authority().map_or(0, |a| a.as_str().len())
        + 5 // https
        + 4 * 32;
    req.headers()
        .iter()
        .fold(pseudo, |n, (k, v)| n + k.as_str().len() + v.len() + 32)
}

/// 308 to the same path and query on the domain's website.
fn redirect<B>(router: &Router, base: &str, req: &Request<B>) -> Response<Body> {
    let target = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let Ok(location) = HeaderValue::try_from(format!("{base}{}", percent_encoded(target))) else {
        return router
            .fixed
            .not_found
            .response(req.method() == Method::HEAD);
    };
    let mut r = router.fixed.redirect.response(false);
    r.headers_mut().insert(header::LOCATION, location);
    r
}

/// `target` with every byte a URI may not carry raw percent-encoded: non-ASCII (a raw UTF-8
/// path), controls, space and `"<>\^`{|}`. `%` stays: the target is already encoded.
pub(super) fn percent_encoded(target: &str) -> std::borrow::Cow<'_, str> {
    let raw = |b: u8| !b.is_ascii_graphic() || b"\"<>\\^`{|}".contains(&b);
    if !target.bytes().any(raw) {
        return target.into();
    }
    let mut out = String::with_capacity(target.len() * 3);
    for b in target.bytes() {
        if raw(b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out.into()
}

/// The requested host: HTTP/2 `:authority` (or an absolute-form URI), else `Host`; without
/// port and trailing dot. Borrowed, never lowercased: [`Router::site`] compares ignoring case.
pub fn host<B>(req: &Request<B>) -> Option<&str> {
    let raw = match req.uri().authority() {
        Some(a) => a.as_str(),
        None => req.headers().get(header::HOST)?.to_str().ok()?,
    };
    let raw = raw.rsplit_once('@').map_or(raw, |(_, h)| h);
    let host = match raw.strip_prefix('[') {
        Some(v6) => &raw[..v6.find(']').map_or(raw.len(), |i| i + 2)],
        None => raw.split(':').next().unwrap_or(raw),
    };
    Some(host.strip_suffix('.').unwrap_or(host))
}

#[cfg(test)]
mod tests {
    use super::percent_encoded;

    #[test]
    fn locations_carry_no_raw_bytes() {
        assert_eq!(percent_encoded("/a/b?c=d%20e"), "/a/b?c=d%20e");
        assert_eq!(percent_encoded("/caf\u{e9}"), "/caf%C3%A9");
        assert_eq!(percent_encoded("/a\"b{c}"), "/a%22b%7Bc%7D");
    }
}
