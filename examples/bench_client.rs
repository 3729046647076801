//! Helpers for `bench/run.sh` that curl, wrk and h2load cannot do precisely:
//!
//! `bench_client hold ADDR N CA`: opens N TLS keep-alive connections to ADDR (one request each,
//! so they are fully established), prints `holding N`, and keeps them until stdin closes.
//!
//! `bench_client startup ADDR CA -- CMD ARGS...`: runs CMD and prints the milliseconds from exec
//! to the first `200` over TLS from ADDR, then stops CMD with SIGTERM.
//!
//! `bench_client roundrobin LISTEN A B`: a TCP proxy on LISTEN sending each new connection to
//! A, then B, then A..., as a load balancer in front of two instances; until killed.
//!
//! `bench_client resume ADDR N CA`: N connections one after another, one request each, all
//! from one client keeping its session tickets, as a returning browser; prints how many
//! handshakes were resumed and the handshakes per second.

use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const REQUEST: &[u8] = b"GET /.well-known/matrix/server HTTP/1.1\r\nHost: example.com\r\n\r\n";

fn connector(ca: &str) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{ca}: {e}"))? {
        roots
            .add(cert.map_err(|e| format!("{ca}: {e}"))?)
            .map_err(|e| e.to_string())?;
    }
    let provider = Arc::new(wellknownd_shared::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// One TLS connection with one answered request; the stream stays open.
async fn open(
    addr: SocketAddr,
    tls: &TlsConnector,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("example.com").map_err(std::io::Error::other)?;
    let mut stream = tls.connect(name, tcp).await?;
    stream.write_all(REQUEST).await?;
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).await?;
    if !buf[..n].starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other("no 200"));
    }
    Ok(stream)
}

async fn hold(addr: SocketAddr, n: usize, tls: TlsConnector) -> Result<(), String> {
    let mut held = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(100) {
        let batch = (chunk * 100..n.min(chunk * 100 + 100)).map(|_| {
            let tls = tls.clone();
            async move { open(addr, &tls).await }
        });
        for r in futures_join(batch).await {
            held.push(r.map_err(|e| format!("connection {}: {e}", held.len()))?);
        }
    }
    println!("holding {}", held.len());
    // Until the script closes our stdin.
    tokio::task::spawn_blocking(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
    })
    .await
    .map_err(|e| e.to_string())?;
    drop(held);
    Ok(())
}

async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

async fn startup(addr: SocketAddr, tls: TlsConnector, command: &[String]) -> Result<(), String> {
    let (program, args) = command.split_first().ok_or("startup needs a command")?;
    let started = Instant::now();
    let mut child = std::process::Command::new(program)
        .args(args)
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let deadline = started + Duration::from_secs(10);
    let result = loop {
        if open(addr, &tls).await.is_ok() {
            break Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            break Err("no 200 within 10 s".to_string());
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
    println!("{:.1}", result?.as_secs_f64() * 1000.0);
    Ok(())
}

async fn roundrobin(listen: SocketAddr, backends: [SocketAddr; 2]) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    for turn in 0usize.. {
        let (mut client, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let backend = backends[turn % 2];
        tokio::spawn(async move {
            if let Ok(mut server) = TcpStream::connect(backend).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
    }
    Ok(())
}

async fn resume(addr: SocketAddr, n: usize, tls: TlsConnector) -> Result<(), String> {
    let started = Instant::now();
    let mut resumed = 0;
    for i in 0..n {
        let mut stream = open(addr, &tls)
            .await
            .map_err(|e| format!("connection {i}: {e}"))?;
        if stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
            resumed += 1;
        }
        // Read on until the server closes, so the ticket it sent is taken.
        let _ = stream.shutdown().await;
        let _ = stream.read_to_end(&mut Vec::new()).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    println!("{n} connections, {resumed} resumed, {rate:.0} handshakes/s");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench_client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["hold", addr, n, ca] => {
                hold(
                    addr.parse().map_err(|_| "bad address")?,
                    n.parse().map_err(|_| "bad count")?,
                    connector(ca)?,
                )
                .await
            }
            ["startup", addr, ca, "--", ..] => {
                startup(
                    addr.parse().map_err(|_| "bad address")?,
                    connector(ca)?,
                    &args[4..],
                )
                .await
            }
            ["roundrobin", listen, a, b] => {
                let addr = |s: &str| s.parse::<SocketAddr>().map_err(|_| "bad address");
                roundrobin(addr(listen)?, [addr(a)?, addr(b)?]).await
            }
            ["resume", addr, n, ca] => {
                resume(
                    addr.parse().map_err(|_| "bad address")?,
                    n.parse().map_err(|_| "bad count")?,
                    connector(ca)?,
                )
                .await
            }
            _ => Err(
                "usage: bench_client hold ADDR N CA | startup ADDR CA -- CMD ARGS... \
                      | roundrobin LISTEN A B | resume ADDR N CA"
                    .to_string(),
            ),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_client: {e}");
            ExitCode::FAILURE
        }
    }
}
