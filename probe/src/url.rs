//! The few URLs the probe follows: `https://` and `http://` with host, optional port and
//! path, as found in `Location` headers and `m.homeserver.base_url`.

use std::fmt;

use super::fetch::Site;
use wellknownd_shared::names;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    /// As written, IPv6 in brackets, lowercase.
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    pub fn parse(s: &str) -> Result<Url, String> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("`{s}` is not an absolute URL"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => {
                return Err(format!(
                    "`{s}`: only https:// and http:// URLs can be followed"
                ));
            }
        };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = path.split('#').next().unwrap_or_default();
        let hp = names::host_port(authority).map_err(|e| format!("host of `{s}`: {e}"))?;
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        Ok(Url {
            tls,
            host: hp.host.to_ascii_lowercase(),
            port: hp.port.unwrap_or(if tls { 443 } else { 80 }),
            path,
        })
    }

    pub fn https(host: &str, path: &str) -> Url {
        Url {
            tls: true,
            host: host.to_ascii_lowercase(),
            port: 443,
            path: path.to_owned(),
        }
    }

    /// A `Location` value: absolute, scheme-relative (`//host/path`) or a path.
    pub fn join(&self, location: &str) -> Result<Url, String> {
        if location.contains("://") {
            return Url::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            let scheme = if self.tls { "https" } else { "http" };
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let path = if location.starts_with('/') {
            location.to_owned()
        } else {
            let dir = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Ok(Url {
            path,
            ..self.clone()
        })
    }

    /// The `Host` header: the port only when it is not the scheme's default.
    pub fn authority(&self) -> String {
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            (_, port) => format!("{}:{port}", self.host),
        }
    }

    /// Whom a request for this URL is for: TLS verifies the host, `Host` names it.
    pub fn site(&self) -> Site {
        Site {
            tls: self.tls,
            name: self.host.clone(),
            host_header: self.authority(),
        }
    }

    /// This URL with `suffix` appended to its path (base URL + API path).
    pub fn with_path(&self, suffix: &str) -> Url {
        Url {
            path: format!("{}{suffix}", self.path.trim_end_matches('/')),
            ..self.clone()
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::Url;

    #[test]
    fn parses_and_joins() {
        let u = Url::parse("https://Matrix.Example.com:8448/x/y?q=1#frag").unwrap();
        assert_eq!(u.host, "matrix.example.com");
        assert_eq!((u.port, u.path.as_str()), (8448, "/x/y?q=1"));
        assert_eq!(u.to_string(), "https://matrix.example.com:8448/x/y?q=1");
        let b = Url::parse("http://[::1]").unwrap();
        assert_eq!(
            (b.host.as_str(), b.port, b.path.as_str()),
            ("[::1]", 80, "/")
        );
        assert_eq!(
            u.join("/a").unwrap().to_string(),
            "https://matrix.example.com:8448/a"
        );
        assert_eq!(u.join("z").unwrap().path, "/x/z");
        assert_eq!(
            u.join("//other.test/p").unwrap().to_string(),
            "https://other.test/p"
        );
        assert_eq!(
            Url::parse("https://m.test/base/")
                .unwrap()
                .with_path("/_matrix/client/versions")
                .path,
            "/base/_matrix/client/versions"
        );
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("example.com").is_err());
    }
}
