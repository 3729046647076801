//! The client behind a trusted reverse proxy (`listen.trusted_proxies`), from the headers the
//! proxy adds: `X-Forwarded-For` (every proxy appends the address it saw), else RFC 7239's
//! `Forwarded: for=`. Read from the right, skipping the trusted proxies themselves: the first
//! other address is the one the outermost trusted proxy saw, and whatever a client wrote into
//! the header itself lies to the left of it, ignored.

use std::net::IpAddr;

use http::Request;
use http::header::HeaderName;

use crate::config::net::IpNet;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

pub fn client<B>(req: &Request<B>, trusted: &[IpNet]) -> Option<IpAddr> {
    let untrusted = |ip: &IpAddr| !trusted.iter().any(|n| n.contains(*ip));
    let xff = req.headers().get_all(&X_FORWARDED_FOR);
    let from_xff: Vec<IpAddr> = xff
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(address)
        .collect();
    if !from_xff.is_empty() {
        return from_xff.into_iter().rev().find(untrusted);
    }
    let forwarded = req.headers().get_all(http::header::FORWARDED);
    let from_forwarded: Vec<IpAddr> = forwarded
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            let pair = element.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                k.eq_ignore_ascii_case("for").then_some(v)
            })?;
            address(pair.trim_matches('"'))
        })
        .collect();
    from_forwarded.into_iter().rev().find(untrusted)
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn address(item: &str) -> Option<IpAddr> {
    let item = item.trim();
    if let Ok(ip) = item.parse() {
        return Some(ip);
    }
    if let Some(rest) = item.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    item.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::get("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn the_rightmost_address_that_is_not_a_trusted_proxy_is_the_client() {
        let trusted = [
            IpNet::parse("127.0.0.1").unwrap(),
            IpNet::parse("10.0.0.0/8").unwrap(),
        ];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let spoofed = req(&[("x-forwarded-for", "203.0.113.7, 198.51.100.2, 10.1.1.1")]);
        assert_eq!(client(&spoofed, &trusted), ip("198.51.100.2"));
        let two_lines = req(&[
            ("x-forwarded-for", "198.51.100.2"),
            ("x-forwarded-for", "10.0.0.9"),
        ]);
        assert_eq!(client(&two_lines, &trusted), ip("198.51.100.2"));
        let forwarded = req(&[(
            "forwarded",
            r#"for=198.51.100.2;proto=https, for="[2001:db8::1]:4711""#,
        )]);
        assert_eq!(client(&forwarded, &trusted), ip("2001:db8::1"));
        let only_proxies = req(&[("x-forwarded-for", "127.0.0.1, 10.2.3.4")]);
        assert_eq!(client(&only_proxies, &trusted), None);
        assert_eq!(client(&req(&[]), &trusted), None);
        assert_eq!(
            client(&req(&[("x-forwarded-for", "garbage")]), &trusted),
            None
        );
    }
}
