//! The PROXY protocol (v1 text and v2 binary) that load balancers send before anything else,
//! carrying the real client address. Only read on listeners that opt in: anyone could send
//! one, so it is never trusted elsewhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// v1 headers are at most 107 bytes, CRLF included (the specification's own bound).
const V1_MAX: usize = 107;
/// v2 address blocks with TLVs (AWS and GCP add a few) stay far below this; a longer one is
/// refused rather than buffered.
const V2_MAX_PAYLOAD: usize = 2048;

/// The outcome of looking at the first bytes of a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not enough bytes yet.
    Incomplete,
    /// A whole header of `len` bytes; `source` is the client (`None`: keep the socket's peer,
    /// as for v2 LOCAL health checks and `UNKNOWN`).
    Done {
        source: Option<SocketAddr>,
        len: usize,
    },
    Invalid(&'static str),
}

/// Parses a PROXY header at the start of `buf`. Pure, so it is unit-tested and fuzzed.
pub fn parse(buf: &[u8]) -> Parsed {
    let n = buf.len().min(V2_SIGNATURE.len());
    if buf[..n] == V2_SIGNATURE[..n] {
        return parse_v2(buf);
    }
    let n = buf.len().min(6);
    if buf[..n] == b"PROXY "[..n] {
        return parse_v1(buf);
    }
    Parsed::Invalid("no PROXY protocol header")
}

fn parse_v1(buf: &[u8]) -> Parsed {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Parsed::Invalid("PROXY v1 header longer than 107 bytes")
        } else {
            Parsed::Incomplete
        };
    };
    let Ok(line) = std::str::from_utf8(&buf[..end]) else {
        return Parsed::Invalid("PROXY v1 header is not text");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let source = match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => None,
        [
            "PROXY",
            family @ ("TCP4" | "TCP6"),
            src,
            _dst,
            sport,
            _dport,
        ] => {
            let ip = match *family {
                "TCP4" => src.parse::<Ipv4Addr>().map(IpAddr::V4).ok(),
                _ => src.parse::<Ipv6Addr>().map(IpAddr::V6).ok(),
            };
            let port = sport
                .parse::<u16>()
                .ok()
                .filter(|_| sport.bytes().all(|b| b.is_ascii_digit()));
            match (ip, port) {
                (Some(ip), Some(port)) => Some(SocketAddr::new(ip, port)),
                _ => return Parsed::Invalid("PROXY v1 header with a malformed address or port"),
            }
        }
        _ => return Parsed::Invalid("malformed PROXY v1 header"),
    };
    Parsed::Done {
        source,
        len: end + 2,
    }
}

fn parse_v2(buf: &[u8]) -> Parsed {
    if buf.len() < 16 {
        return Parsed::Incomplete;
    }
    let (version, command) = (buf[12] >> 4, buf[12] & 0x0f);
    if version != 2 || command > 1 {
        return Parsed::Invalid("PROXY v2 header with an unknown version or command");
    }
    let payload = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if payload > V2_MAX_PAYLOAD {
        return Parsed::Invalid("PROXY v2 header too long");
    }
    let len = 16 + payload;
    if buf.len() < len {
        return Parsed::Incomplete;
    }
    let a = &buf[16..len];
    let source = match (command, buf[13] >> 4) {
        (0, _) => None, // LOCAL: the balancer's own health check
        (_, 0x1) if a.len() >= 12 => {
            let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            Some(SocketAddr::new(
                IpAddr::V4(ip),
                u16::from_be_bytes([a[8], a[9]]),
            ))
        }
        (_, 0x2) if a.len() >= 36 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&a[..16]);
            Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(octets)),
                u16::from_be_bytes([a[32], a[33]]),
            ))
        }
        (_, 0x1 | 0x2) => return Parsed::Invalid("PROXY v2 address block too short"),
        _ => None, // UNSPEC or UNIX: no IP address to report
    };
    Parsed::Done { source, len }
}

/// Reads the header from `stream`. Returns the client address it names (if any) and the
/// bytes read past it, which belong to the TLS handshake or HTTP request that follows.
pub async fn read_header(
    stream: &mut TcpStream,
) -> Result<(Option<SocketAddr>, Bytes), &'static str> {
    let mut buf = Vec::with_capacity(256);
    loop {
        match parse(&buf) {
            Parsed::Done { source, len } => {
                return Ok((source, Bytes::copy_from_slice(&buf[len..])));
            }
            Parsed::Invalid(why) => return Err(why),
            Parsed::Incomplete => {
                buf.reserve(256);
                match stream.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return Err("connection closed inside the PROXY header"),
                    Ok(_) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> (Option<SocketAddr>, usize) {
        match parse(buf) {
            Parsed::Done { source, len } => (source, len),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v1_tcp4_tcp6_unknown() {
        let h = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET";
        assert_eq!(
            done(h),
            (Some("192.0.2.7:56324".parse().unwrap()), h.len() - 3)
        );
        let h = b"PROXY TCP6 2001:db8::7 2001:db8::1 56324 443\r\n";
        assert_eq!(
            done(h),
            (Some("[2001:db8::7]:56324".parse().unwrap()), h.len())
        );
        assert_eq!(done(b"PROXY UNKNOWN\r\n"), (None, 15));
        assert_eq!(parse(b"PROXY TCP4 192.0.2.7"), Parsed::Incomplete);
        assert_eq!(parse(b"PROX"), Parsed::Incomplete);
    }

    #[test]
    fn v1_malformed() {
        for bad in [
            &b"PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n"[..],
            b"PROXY TCP4 2001:db8::7 198.51.100.1 1 443\r\n",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n",
            b"PROXY TCP5 192.0.2.7 198.51.100.1 1 443\r\n",
            b"GET / HTTP/1.1\r\n",
            b"PROXY \x00\xff\r\n",
        ] {
            assert!(
                matches!(parse(bad), Parsed::Invalid(_)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = [b"PROXY ".as_slice(), &[b'x'; 120]].concat();
        assert_eq!(
            parse(&long),
            Parsed::Invalid("PROXY v1 header longer than 107 bytes")
        );
    }

    fn v2(command: u8, family: u8, address: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.extend([0x20 | command, family]);
        h.extend((address.len() as u16).to_be_bytes());
        h.extend(address);
        h
    }

    #[test]
    fn v2_proxy_local_and_lengths() {
        let v4 = [192, 0, 2, 7, 198, 51, 100, 1, 0xdc, 0x04, 0x01, 0xbb];
        assert_eq!(
            done(&v2(1, 0x11, &v4)),
            (Some("192.0.2.7:56324".parse().unwrap()), 28)
        );
        let mut v6 = [0u8; 36];
        v6[..16].copy_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
        v6[32..34].copy_from_slice(&56324u16.to_be_bytes());
        assert_eq!(
            done(&v2(1, 0x21, &v6)),
            (Some("[2001:db8::7]:56324".parse().unwrap()), 52)
        );
        assert_eq!(done(&v2(0, 0x00, &[])), (None, 16));
        let with_tlv = [&v4[..], &[0x04, 0x00, 0x01, 0x00]].concat();
        assert_eq!(done(&v2(1, 0x11, &with_tlv)).1, 32);
        assert_eq!(parse(&v2(1, 0x11, &v4)[..20]), Parsed::Incomplete);
        assert!(matches!(parse(&v2(1, 0x11, &v4[..8])), Parsed::Invalid(_)));
        assert!(matches!(parse(&v2(2, 0x11, &v4)), Parsed::Invalid(_)));
        let mut long = v2(1, 0x11, &v4);
        long[14..16].copy_from_slice(&4000u16.to_be_bytes());
        assert_eq!(parse(&long), Parsed::Invalid("PROXY v2 header too long"));
    }
}
