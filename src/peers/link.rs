//! A section's connections: the listener that takes sessions from the
//! other nodes, and one dialer per node that keeps a session up when
//! none came in. Everything a section starts lives in two tasks; aborting
//! them ends every session of the section.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::session::{self, End};
use super::wire::{Hello, Status};
use super::{Running, Section};
use crate::runtime::peers::PeersSection;

/// How long a dial may take (HAProxy's default `timeout connect` for peers).
const CONNECT: Duration = Duration::from_secs(1);
/// How long the hello or the status may take.
const HANDSHAKE: Duration = Duration::from_secs(5);
/// Pause between two dials of the same peer (plus up to half a second,
/// so that two nodes dialing each other do not keep meeting).
const REDIAL: Duration = Duration::from_secs(1);

static SESSION_IDS: AtomicU64 = AtomicU64::new(1);

/// Binds the section's listener and starts its tasks. Returns the handle
/// that passes it a changed section (same address) and the tasks.
pub fn start(spec: Arc<PeersSection>) -> std::io::Result<Running> {
    let listener = bind(spec.listen)?;
    let section = Arc::new(Section::default());
    section.learning.store(!spec.remotes.is_empty(), Relaxed);
    let (tx, rx) = watch::channel(spec);
    let accept = tokio::spawn(accept_loop(listener, section.clone(), rx.clone()));
    let dial = tokio::spawn(dialers(section.clone(), rx));
    let alone = tokio::spawn(async move {
        // With nobody to learn from within 5 s, this node's tables are the
        // reference (HAProxy's resync timeout).
        tokio::time::sleep(Duration::from_secs(5)).await;
        if !section.asking.load(Relaxed) {
            section.learning.store(false, Relaxed);
        }
    });
    Ok(Running {
        spec: tx,
        tasks: vec![accept, dial, alone],
    })
}

/// A master-worker reload starts the new worker while the old one still
/// runs: both may listen until the old one leaves (it closes its peers
/// listener as soon as it stops accepting).
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::from_std(crate::listen::socket::control_listener(addr, 64)?)
}

async fn accept_loop(
    listener: TcpListener,
    section: Arc<Section>,
    spec: watch::Receiver<Arc<PeersSection>>,
) {
    let mut sessions = JoinSet::new();
    loop {
        while sessions.try_join_next().is_some() {}
        let Ok((sock, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let (section, spec) = (section.clone(), spec.clone());
        sessions.spawn(async move {
            if let Err(e) = incoming(sock, from, &section, spec).await {
                tracing::debug!(%from, error = %e, "peers: incoming session ended");
            }
        });
    }
}

/// Reads a hello, answers it, and runs the session.
async fn incoming(
    sock: TcpStream,
    from: SocketAddr,
    section: &Section,
    spec: watch::Receiver<Arc<PeersSection>>,
) -> Result<(), End> {
    let _ = sock.set_nodelay(true);
    let mut io = BufReader::new(sock);
    let current = spec.borrow().clone();
    let mut lines = Vec::new();
    let read = async {
        for _ in 0..3 {
            let mut l = String::new();
            // A hello line is short; a peer that sends more is not one.
            let n = (&mut io).take(512).read_line(&mut l).await?;
            if n == 0 || !l.ends_with('\n') {
                return Err(std::io::Error::from(std::io::ErrorKind::InvalidData));
            }
            lines.push(l.trim_end_matches(['\r', '\n']).to_string());
        }
        Ok::<(), std::io::Error>(())
    };
    let got = tokio::time::timeout(HANDSHAKE, read).await;
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let verdict = match got {
        Ok(Ok(())) => Hello::decode(&refs).and_then(|h| {
            if h.to != current.local {
                Err(Status::WrongHost)
            } else if !current.remotes.iter().any(|(n, _)| *n == h.from) {
                Err(Status::UnknownPeer)
            } else {
                Ok(h)
            }
        }),
        _ => Err(Status::Protocol),
    };
    let hello = match verdict {
        Ok(h) => h,
        Err(st) => {
            let _ = io.write_all(format!("{}\n", st.code()).as_bytes()).await;
            tracing::warn!(peers = %current.name, %from, status = %st, "peers: handshake refused");
            return Ok(());
        }
    };
    io.write_all(b"200\n").await?;
    run_claimed(io, current, section, &hello.from, false, spec).await
}

/// Keeps a session with `peer` up while the section runs.
async fn dialers(section: Arc<Section>, mut spec: watch::Receiver<Arc<PeersSection>>) {
    loop {
        let current = spec.borrow_and_update().clone();
        let mut links = JoinSet::new();
        for (name, addr) in current.remotes.clone() {
            let (section, spec) = (section.clone(), spec.clone());
            links.spawn(async move { dial_loop(&section, &name, addr, spec).await });
        }
        // A changed section may name other nodes: start over.
        if spec.changed().await.is_err() {
            return;
        }
    }
}

async fn dial_loop(
    section: &Section,
    peer: &str,
    addr: SocketAddr,
    spec: watch::Receiver<Arc<PeersSection>>,
) {
    loop {
        // Wait while a session with this peer is up.
        loop {
            let ended = section.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if !section.has_link(peer) {
                break;
            }
            ended.await;
        }
        if let Err(e) = dial(section, peer, addr, spec.clone()).await {
            tracing::debug!(peer, %addr, error = %e, "peers: session ended");
        }
        let jitter = u64::from(std::process::id() ^ SESSION_IDS.load(Relaxed) as u32) % 500;
        tokio::time::sleep(REDIAL + Duration::from_millis(jitter)).await;
    }
}

async fn dial(
    section: &Section,
    peer: &str,
    addr: SocketAddr,
    spec: watch::Receiver<Arc<PeersSection>>,
) -> Result<(), End> {
    let current = spec.borrow().clone();
    let sock = tokio::time::timeout(CONNECT, TcpStream::connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let _ = sock.set_nodelay(true);
    let mut io = BufReader::new(sock);
    let hello = Hello {
        to: peer.to_string(),
        from: current.local.clone(),
    };
    io.write_all(&hello.encode()).await?;
    let mut status = String::new();
    tokio::time::timeout(HANDSHAKE, (&mut io).take(16).read_line(&mut status))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let code = status.trim().parse::<u16>().ok();
    match code.and_then(Status::from_code) {
        Some(Status::Success) => {}
        other => {
            let what = other.map_or_else(|| format!("'{}'", status.trim()), |s| s.to_string());
            tracing::warn!(peers = %current.name, peer, %addr, status = %what, "peers: the peer refused the session");
            return Ok(());
        }
    }
    run_claimed(io, current, section, peer, true, spec).await
}

/// Runs a session once it holds the link to `peer`.
async fn run_claimed(
    io: BufReader<TcpStream>,
    current: Arc<PeersSection>,
    section: &Section,
    peer: &str,
    dialed: bool,
    spec: watch::Receiver<Arc<PeersSection>>,
) -> Result<(), End> {
    let id = SESSION_IDS.fetch_add(1, Relaxed);
    let kill = Arc::new(tokio::sync::Notify::new());
    if !section.claim(peer, id, dialed, &current.local, kill.clone()) {
        return Ok(());
    }
    tracing::info!(peers = %current.name, peer, dialed, "peers: session up");
    let end = tokio::select! {
        end = session::run(io, current.clone(), section, peer, spec) => end,
        _ = kill.notified() => End::Replaced,
    };
    section.release(peer, id);
    tracing::info!(peers = %current.name, peer, reason = %end, "peers: session closed");
    match end {
        End::Replaced | End::Reconfigured => Ok(()),
        e => Err(e),
    }
}
