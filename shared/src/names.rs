//! Grammar checks for what the documents contain: server names (spec appendix "Server
//! names"), the domain names we answer for, base URLs, Matrix IDs. Each error is a sentence
//! that says what to write instead.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A server name split into host and optional port, both checked.
#[derive(Debug, PartialEq, Eq)]
pub struct HostPort<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
}

/// `m.server`: `hostname [":" port]`, hostname an IPv4 address, a bracketed IPv6 address or a
/// DNS name.
pub fn server_name(s: &str) -> Result<HostPort<'_>, String> {
    if s.is_empty() {
        return Err(EMPTY.into());
    }
    if let Some((scheme, fixed)) = without_scheme(s) {
        return Err(format!(
            "`{s}` contains a scheme (`{scheme}://`): m.server is a host and port only; write `{fixed}`"
        ));
    }
    if let Some((host, _)) = s.split_once('/') {
        return Err(format!(
            "`{s}` contains a path or slash: m.server is a host and port only; write `{host}`"
        ));
    }
    host_port(s)
}

/// What an empty optional value is told: an empty string is not "unset" in TOML.
pub const EMPTY: &str = "is empty: delete the line to leave it out";

/// For a server name written as a URL (`https://matrix.example.com/`), its scheme and what
/// to write instead (`matrix.example.com:443`).
pub fn without_scheme(s: &str) -> Option<(&str, String)> {
    let (scheme, rest) = s.split_once("://")?;
    let host = rest.split('/').next().unwrap_or(rest);
    let port = if scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        443
    };
    let fixed = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    Some((scheme, fixed))
}

/// Splits and checks `host[:port]` as used in server names and URL authorities.
pub fn host_port(s: &str) -> Result<HostPort<'_>, String> {
    if s.is_empty() {
        return Err("is empty".into());
    }
    if let Some(rest) = s.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return Err(format!("`{s}`: `[` without a closing `]`"));
        };
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`{inner}` in `{s}` is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(port(p.strip_prefix(':').ok_or_else(|| {
                format!("`{s}`: expected `:port` after `]`, found `{p}`")
            })?)?),
        };
        return Ok(HostPort {
            host: &s[..inner.len() + 2],
            port,
        });
    }
    if s.matches(':').count() > 1 {
        return Err(format!(
            "`{s}` looks like an IPv6 address without brackets: write `[{s}]` (with a port: `[{s}]:8448`)"
        ));
    }
    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(port(p)?)),
        None => (s, None),
    };
    hostname(host)?;
    Ok(HostPort { host, port })
}

fn port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("port `{p}` is not a number from 1 to 65535")),
    }
}

/// An IPv4 address or a DNS name of letters, digits, `-` and `.`.
fn hostname(h: &str) -> Result<(), String> {
    if h.is_empty() {
        return Err("has an empty host name".into());
    }
    if h.bytes().all(|b| b.is_ascii_digit() || b == b'.') && h.parse::<Ipv4Addr>().is_err() {
        return Err(format!("`{h}` is not a valid IPv4 address"));
    }
    dns_name(h)
}

/// A DNS name: labels of letters, digits and `-`, at most 63 bytes each, 255 in all.
pub fn dns_name(h: &str) -> Result<(), String> {
    if let Some(bad) = h
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        let idn = if bad.is_alphabetic() {
            " (write internationalised names in punycode, `xn--...`)"
        } else {
            ""
        };
        return Err(format!(
            "`{h}` contains `{bad}`: host names may contain only letters, digits, `-` and `.`{idn}"
        ));
    }
    if h.ends_with('.') {
        return Err(format!(
            "`{h}` ends with a dot: write `{}`",
            h.trim_end_matches('.')
        ));
    }
    if h.len() > 255 || h.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(format!(
            "`{h}` is not a valid DNS name (empty or over-long label)"
        ));
    }
    Ok(())
}

/// The name of a `[[domain]]`: a DNS name without port, returned lowercase.
pub fn domain_name(s: &str) -> Result<String, String> {
    if s.contains("://") || s.contains('/') || s.contains(':') {
        return Err(format!(
            "`{s}` must be a bare DNS name such as `example.com` (no scheme, port or path)"
        ));
    }
    if s.parse::<Ipv4Addr>().is_ok() {
        return Err(format!(
            "`{s}` is an IP address: servers never look up well-known documents for IP literals"
        ));
    }
    hostname(s)?;
    Ok(s.to_ascii_lowercase())
}

/// An absolute `https://` (or, with `allow_http`, `http://`) URL without query or fragment,
/// returned with a lowercase scheme and without trailing slashes.
pub fn base_url(s: &str, allow_http: bool) -> Result<String, String> {
    if s.is_empty() {
        return Err(EMPTY.into());
    }
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(format!("`{s}` is not an absolute URL: write `https://{s}`"));
    };
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(format!(
                "`{s}` uses http://: clients need https:// (set `allow_http_urls = true` on this domain to allow it)"
            ));
        }
        _ => return Err(format!("`{s}` must start with `https://`")),
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{s}` contains the whitespace or control character {c:?}"
        ));
    }
    if s.contains(['?', '#']) {
        return Err(format!(
            "`{s}` has a query or fragment: a base URL takes neither"
        ));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(format!("`{s}` contains user info (`...@`): remove it"));
    }
    host_port(authority).map_err(|e| format!("host of `{s}`: {e}"))?;
    if !path.is_ascii() {
        return Err(format!(
            "`{s}`: percent-encode non-ASCII characters in the path"
        ));
    }
    Ok(format!(
        "{scheme}://{authority}{}",
        path.trim_end_matches('/')
    ))
}

/// For a client base URL that ends in `/_matrix` (clients append `/_matrix/client/...`
/// themselves), the base URL to write instead.
pub fn without_matrix_suffix(url: &str) -> Option<&str> {
    url.trim_end_matches('/').strip_suffix("/_matrix")
}

/// A Matrix user ID: `@localpart:server.name`.
pub fn user_id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(EMPTY.into());
    }
    let Some((local, server)) = s.strip_prefix('@').and_then(|r| r.split_once(':')) else {
        return Err(format!(
            "`{s}` is not a Matrix user ID: write `@name:example.com`"
        ));
    };
    if local.is_empty() {
        return Err(format!("`{s}` has an empty localpart"));
    }
    host_port(server).map_err(|e| format!("server name of `{s}`: {e}"))?;
    Ok(())
}

/// A plausible email address: `local@domain`, no whitespace.
pub fn email(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(EMPTY.into());
    }
    match s.split_once('@') {
        Some((l, d))
            if !l.is_empty()
                && d.contains('.')
                && !d.contains('@')
                && !s.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!("`{s}` is not an email address")),
    }
}
