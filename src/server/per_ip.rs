//! `limits.max_connections_per_ip`: connections open at once per client address. Without it
//! one host can hold every slot of `limits.max_connections` at a few bytes a minute each,
//! and every other client (remote homeservers fetching the server document among them)
//! waits. IPv4 counts per address, IPv6 per /64 (one host commonly owns a whole /64, and
//! picks a fresh address in it at will); an IPv4 client on a dual-stack socket arrives as
//! `::ffff:a.b.c.d` and counts as its IPv4 address.
//!
//! The table holds only addresses with a connection open, so it is no bigger than the
//! connection limit however many addresses a client cycles through.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};

use crate::log;

/// The address a connection counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    V4(Ipv4Addr),
    /// The first 64 bits.
    V6(u64),
}

impl Key {
    pub fn of(ip: IpAddr) -> Key {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(v4) => Key::V4(v4),
            IpAddr::V6(v6) => Key::V6((v6.to_bits() >> 64) as u64),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::V4(v4) => v4.fmt(f),
            Key::V6(prefix) => write!(f, "{}/64", Ipv6Addr::from_bits(u128::from(*prefix) << 64)),
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    open: usize,
    /// Refused since the address reached the cap; logged once when this burst starts and
    /// summed up when the address's last connection closes.
    refused: u64,
}

/// Open connections by address. A short lock per connection opened or closed, never per
/// request.
#[derive(Debug, Default)]
pub(super) struct PerIp {
    open: Mutex<HashMap<Key, Entry>>,
}

/// One connection counted against its address, until dropped.
#[derive(Debug)]
pub(super) struct Slot {
    table: Arc<PerIp>,
    key: Key,
}

impl PerIp {
    /// Counts a connection from `ip` if it holds fewer than `max`; `None`: refuse it.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Slot> {
        let key = Key::of(ip);
        let first_refusal = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = open.entry(key).or_default();
            if entry.open < max {
                entry.open += 1;
                return Some(Slot {
                    table: self.clone(),
                    key,
                });
            }
            entry.refused += 1;
            entry.refused == 1
        };
        if first_refusal {
            log::warn(format_args!(
                "{key} holds {max} connections (limits.max_connections_per_ip): closing its new ones at once until some close; counted in wellknownd_connections_refused_total"
            ));
        }
        None
    }

    /// Connections open from `ip`'s address now.
    #[cfg(test)]
    fn count(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&Key::of(ip)).map_or(0, |e| e.open)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let refused = {
            let mut open = self
                .table
                .open
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let Some(entry) = open.get_mut(&self.key) else {
                return;
            };
            entry.open -= 1;
            if entry.open > 0 {
                return;
            }
            open.remove(&self.key).map_or(0, |e| e.refused)
        };
        if refused > 0 {
            log::info(format_args!(
                "{}: its last connection closed; {refused} were refused meanwhile",
                self.key
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn counts_per_address_and_per_v6_prefix() {
        let table = Arc::new(PerIp::default());
        let a = [
            table.admit(ip("192.0.2.1"), 2),
            table.admit(ip("::ffff:192.0.2.1"), 2),
        ];
        assert!(a.iter().all(Option::is_some));
        assert!(table.admit(ip("192.0.2.1"), 2).is_none());
        assert!(table.admit(ip("192.0.2.2"), 2).is_some());
        let b = table.admit(ip("2001:db8:1:2::1"), 1);
        assert!(b.is_some());
        assert!(table.admit(ip("2001:db8:1:2:ffff::9"), 1).is_none());
        assert!(table.admit(ip("2001:db8:1:3::1"), 1).is_some());
        drop(a);
        assert_eq!(table.count(ip("192.0.2.1")), 0);
        assert!(table.admit(ip("192.0.2.1"), 2).is_some());
        assert_eq!(
            Key::of(ip("2001:db8:1:2::1")).to_string(),
            "2001:db8:1:2::/64"
        );
    }
}
