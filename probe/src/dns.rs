//! Name resolution for the probe: SRV, A and AAAA through a [`Resolve`] (the system's
//! resolver in the binary, a fixed table in tests), with `--resolve` overrides applied first.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

/// One SRV answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Without the trailing dot.
    pub target: String,
}

/// What the probe asks of DNS. An empty answer is `Ok(vec![])`; `Err` is a failure to ask
/// (timeout, SERVFAIL), worded for the report.
pub trait Resolve: Sync {
    fn srv(&self, name: &str) -> impl Future<Output = Result<Vec<Srv>, String>> + Send;
    fn ips(&self, host: &str) -> impl Future<Output = Result<Vec<IpAddr>, String>> + Send;
}

/// The system resolver (`/etc/resolv.conf`). Without a usable configuration every look-up
/// fails with the reason, so names given with `--resolve` still work.
pub struct System(Result<TokioResolver, String>);

impl Default for System {
    fn default() -> System {
        System(
            TokioResolver::builder_tokio()
                .and_then(|b| b.build())
                .map_err(|e| format!("cannot use the system's DNS configuration: {e}")),
        )
    }
}

impl System {
    /// Asks only the DNS server at `addr` (UDP), without reading the system's configuration:
    /// for a resolver of one's choosing, and for tests with a DNS server on loopback.
    pub fn with_nameserver(addr: SocketAddr) -> System {
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let server = NameServerConfig::new(addr.ip(), true, vec![udp]);
        let config = ResolverConfig::from_parts(None, vec![], vec![server]);
        let builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        System(builder.build().map_err(|e| e.to_string()))
    }

    fn resolver(&self) -> Result<&TokioResolver, String> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

impl Resolve for System {
    async fn srv(&self, name: &str) -> Result<Vec<Srv>, String> {
        match self.resolver()?.srv_lookup(fqdn(name)).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::SRV(s) => Some(Srv {
                        priority: s.priority,
                        weight: s.weight,
                        port: s.port,
                        target: s.target.to_ascii().trim_end_matches('.').to_owned(),
                    }),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(vec![]),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        match self.resolver()?.lookup_ip(fqdn(host)).await {
            Ok(lookup) => Ok(lookup.iter().collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(vec![]),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A trailing dot stops the resolver from trying the search domains first.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// `--resolve HOST:PORT:ADDR[,ADDR...]`: connections to HOST:PORT go to these addresses
/// instead. An ADDR is an IP address (same port) or, beyond curl, `IP:PORT` / `[IPv6]:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<SocketAddr>,
}

impl std::str::FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Override, String> {
        let bad = || format!("`{s}` is not HOST:PORT:ADDR[,ADDR...]");
        let (host, rest) = s.split_once(':').ok_or_else(bad)?;
        let (port, addrs) = rest.split_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let addrs = addrs
            .split(',')
            .map(|a| {
                let a = a.trim();
                a.parse::<IpAddr>()
                    .map(|ip| SocketAddr::new(ip, port))
                    .or_else(|_| a.parse::<SocketAddr>())
                    .map_err(|_| format!("`{a}` in `{s}` is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Override {
            host: host.to_ascii_lowercase(),
            port,
            addrs,
        })
    }
}

/// A resolver with the overrides in front of it.
pub struct Dns<R> {
    pub resolver: R,
    pub overrides: Vec<Override>,
    /// Every `host:port` asked for, to tell which overrides went unused.
    asked: std::sync::Mutex<Vec<(String, u16)>>,
}

impl<R> Dns<R> {
    pub fn new(resolver: R, overrides: Vec<Override>) -> Dns<R> {
        Dns {
            resolver,
            overrides,
            asked: std::sync::Mutex::default(),
        }
    }

    /// The overrides no connection went to, each with the ports its host was asked for
    /// instead (a `--resolve` with the wrong port is silently unused otherwise).
    pub fn unused(&self) -> Vec<(&Override, Vec<u16>)> {
        let asked = self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.overrides
            .iter()
            .filter(|o| {
                !asked
                    .iter()
                    .any(|(h, p)| *p == o.port && h.eq_ignore_ascii_case(&o.host))
            })
            .map(|o| {
                let mut ports: Vec<u16> = asked
                    .iter()
                    .filter(|(h, _)| h.eq_ignore_ascii_case(&o.host))
                    .map(|(_, p)| *p)
                    .collect();
                ports.sort_unstable();
                ports.dedup();
                (o, ports)
            })
            .collect()
    }
}

impl<R: Resolve> Dns<R> {
    /// Where a connection to `host:port` goes: an IP literal as it is, an override, or the
    /// A and AAAA answers. `Ok(vec![])` means the name has no addresses.
    pub async fn addrs(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((host.to_owned(), port));
        if let Some(o) = self
            .overrides
            .iter()
            .find(|o| o.port == port && o.host.eq_ignore_ascii_case(host))
        {
            return Ok(o.addrs.clone());
        }
        let ips = self.resolver.ips(host).await?;
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }

    /// SRV answers sorted as a client tries them: lowest priority, then highest weight.
    pub async fn srv(&self, name: &str) -> Result<Vec<Srv>, String> {
        let mut records = self.resolver.srv(name).await?;
        records.sort_by_key(|r| (r.priority, std::cmp::Reverse(r.weight)));
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::Override;

    #[test]
    fn parses_resolve_like_curl() {
        let o: Override = "Example.com:443:127.0.0.1,::1".parse().unwrap();
        assert_eq!(o.host, "example.com");
        assert_eq!(
            o.addrs,
            vec![
                "127.0.0.1:443".parse().unwrap(),
                "[::1]:443".parse().unwrap()
            ]
        );
        let o: Override = "a.test:443:127.0.0.2:8443,[::1]:9".parse().unwrap();
        assert_eq!(
            o.addrs,
            vec![
                "127.0.0.2:8443".parse().unwrap(),
                "[::1]:9".parse().unwrap()
            ]
        );
        assert!("a.test:443".parse::<Override>().is_err());
        assert!("a.test:x:127.0.0.1".parse::<Override>().is_err());
        assert!(
            "a.test:443:nope"
                .parse::<Override>()
                .unwrap_err()
                .contains("`nope`")
        );
    }
}
