//! A DNS server on loopback for the probe's real resolver: answers SRV, A and AAAA questions
//! from a fixed table over UDP, NXDOMAIN for anything else. Stops when dropped.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

const SRV: u16 = 33;
const A: u16 = 1;
const AAAA: u16 = 28;

/// Answers by (name without trailing dot, lowercase, record type).
#[derive(Default)]
pub struct Zone {
    /// `_matrix-fed._tcp.example.test` to (priority, weight, port, target).
    pub srv: HashMap<String, Vec<(u16, u16, u16, String)>>,
    pub ips: HashMap<String, Vec<IpAddr>>,
}

pub struct DnsServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DnsServer {
    pub async fn start(zone: Zone) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(zone);
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                if let Some(reply) = answer(&zone, &buf[..n]) {
                    let _ = socket.send_to(&reply, from).await;
                }
            }
        });
        DnsServer { addr, task }
    }
}

/// The reply to one query: the question echoed, then the answers.
fn answer(zone: &Zone, query: &[u8]) -> Option<Vec<u8>> {
    let (name, end) = read_name(query, 12)?;
    let qtype = u16::from_be_bytes([*query.get(end)?, *query.get(end + 1)?]);
    let question = query.get(12..end + 4)?;
    let mut records: Vec<(u16, Vec<u8>)> = Vec::new();
    let known = zone.srv.contains_key(&name) || zone.ips.contains_key(&name);
    match qtype {
        SRV => {
            for (priority, weight, port, target) in zone.srv.get(&name).into_iter().flatten() {
                let mut rdata = [*priority, *weight, *port].map(u16::to_be_bytes).concat();
                rdata.extend(encode_name(target));
                records.push((SRV, rdata));
            }
        }
        A | AAAA => {
            for ip in zone.ips.get(&name).into_iter().flatten() {
                match (qtype, ip) {
                    (A, IpAddr::V4(v4)) => records.push((A, v4.octets().to_vec())),
                    (AAAA, IpAddr::V6(v6)) => records.push((AAAA, v6.octets().to_vec())),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    // Response, recursion desired and available; NXDOMAIN for names not in the zone.
    let flags: u16 = if known { 0x8180 } else { 0x8183 };
    let mut out = query[..2].to_vec();
    out.extend(flags.to_be_bytes());
    out.extend(
        [1u16, records.len() as u16, 0, 0]
            .map(u16::to_be_bytes)
            .concat(),
    );
    out.extend(question);
    for (rtype, rdata) in records {
        out.extend([0xc0, 12]); // the question's name
        out.extend([rtype, 1].map(u16::to_be_bytes).concat());
        out.extend(60u32.to_be_bytes());
        out.extend((rdata.len() as u16).to_be_bytes());
        out.extend(rdata);
    }
    Some(out)
}

fn read_name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*msg.get(at)?);
        at += 1;
        if len == 0 {
            return Some((labels.join(".").to_ascii_lowercase(), at));
        }
        labels.push(String::from_utf8_lossy(msg.get(at..at + len)?).into_owned());
        at += len;
    }
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend(label.as_bytes());
    }
    out.push(0);
    out
}
