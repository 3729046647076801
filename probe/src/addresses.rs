//! Every A and AAAA address of the domain, asked separately (SNI and Host set to the domain)
//! for the three documents: a backend that does not answer, or answers differently, breaks
//! some users and not others, the hardest failure to see from one browser.

use std::net::SocketAddr;
use std::sync::Arc;

use http::Method;

use super::dns::Resolve;
use super::report::Check;
use super::wellknown::{CLIENT, ORIGIN, SERVER, SUPPORT};
use super::{Probe, fetch};

const GROUP: &str = "addresses";

/// What one address serves: per document, status, Content-Type and body, or the error.
type Answers = Vec<Result<(u16, Vec<String>, bytes::Bytes), fetch::Error>>;

pub async fn check<R: Resolve + Send + Sync + 'static>(p: Arc<Probe<R>>) -> Vec<Check> {
    let addrs = match p.addrs(&p.domain, 443).await {
        Ok(a) => a,
        Err(e) => {
            let hint = "the domain needs A or AAAA records pointing at the server of its documents";
            let agree = Check::skip(GROUP, "addresses.agree", "not checked: no address");
            return vec![
                Check::fail(GROUP, "addresses.reachable", e.to_string(), hint),
                agree,
            ];
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (i, addr) in addrs.iter().enumerate() {
        let p = p.clone();
        let addr = *addr;
        tasks.spawn(async move { (i, answers(&p, addr).await) });
    }
    let mut all: Vec<(usize, Answers)> = tasks.join_all().await;
    all.sort_by_key(|(i, _)| *i);
    let all: Vec<(SocketAddr, Answers)> = all.into_iter().map(|(i, a)| (addrs[i], a)).collect();
    vec![reachable(&all), agree(&all)]
}

async fn answers<R: Resolve>(p: &Probe<R>, addr: SocketAddr) -> Answers {
    let site = fetch::Site {
        tls: true,
        name: p.domain.clone(),
        host_header: p.domain.clone(),
    };
    let mut out = Vec::new();
    for doc in [SERVER, CLIENT, SUPPORT] {
        let reply = p
            .client
            .request(addr, &site, Method::GET, doc.path(), &[ORIGIN])
            .await;
        out.push(reply.map(|r| (r.status.as_u16(), r.all("content-type"), r.body)));
    }
    out
}

const HINT_DEAD: &str = "every A and AAAA record must reach a working server: fix that backend or remove its address from DNS";
const HINT_SPLIT: &str =
    "every backend must serve the same documents: deploy the same wellknownd config to all of them";

fn reachable(all: &[(SocketAddr, Answers)]) -> Check {
    let id = "addresses.reachable";
    let broken: Vec<String> = all
        .iter()
        .filter_map(|(addr, a)| {
            a.iter().find_map(|r| r.as_ref().err()).map(|e| match e {
                fetch::Error::Connect(..) => e.to_string(),
                _ => format!("{addr}: {e}"),
            })
        })
        .collect();
    let list: Vec<String> = all.iter().map(|(a, _)| a.to_string()).collect();
    let n = all.len();
    match broken.is_empty() {
        true => Check::pass(
            GROUP,
            id,
            format!("{n} address(es) answer: {}", list.join(", ")),
        ),
        false => {
            let detail = format!(
                "{} of {n} address(es) fail: {}",
                broken.len(),
                broken.join("; ")
            );
            Check::fail(GROUP, id, detail, HINT_DEAD)
        }
    }
}

fn agree(all: &[(SocketAddr, Answers)]) -> Check {
    let id = "addresses.agree";
    let answering: Vec<&(SocketAddr, Answers)> = all
        .iter()
        .filter(|(_, a)| a.iter().all(Result::is_ok))
        .collect();
    let Some((first_addr, first)) = answering.first() else {
        return Check::skip(GROUP, id, "not checked: no address answered");
    };
    for (addr, answers) in &answering[1..] {
        for (i, doc) in [SERVER, CLIENT, SUPPORT].into_iter().enumerate() {
            if answers[i] != first[i] {
                let detail = format!(
                    "split brain: the load balancer's backends disagree: {first_addr} and {addr} serve different {} documents ({} vs {})",
                    doc.name(),
                    describe(&first[i]),
                    describe(&answers[i])
                );
                return Check::fail(GROUP, id, detail, HINT_SPLIT);
            }
        }
    }
    let detail = format!("{} address(es) serve the same documents", answering.len());
    Check::pass(GROUP, id, detail)
}

fn describe(r: &Result<(u16, Vec<String>, bytes::Bytes), fetch::Error>) -> String {
    match r {
        Ok((status, _, body)) => {
            let text = String::from_utf8_lossy(body);
            let short: String = text.chars().take(60).collect();
            format!("{status} {short}")
        }
        Err(e) => e.to_string(),
    }
}
