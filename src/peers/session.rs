//! One session with one peer, after the handshake: both sides push their
//! changes, answer a resync request with everything they hold, acknowledge
//! what they received, and say something at least every 3 seconds. A
//! session that hears nothing for 5 seconds is closed, as HAProxy closes
//! it, and the link is made again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::data;
use super::wire::{self, Layout, Message};
use super::Section;
use crate::runtime::peers::{PeersSection, SharedTable};
use crate::state::stick::{now_ms, CHANGED};

/// Send a heartbeat after this long without sending anything.
const HEARTBEAT: Duration = Duration::from_secs(3);
/// Close a session that received nothing for this long.
const SILENCE: Duration = Duration::from_secs(5);
/// Updates sent per table before looking at the socket again.
const BATCH: usize = 256;

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum End {
    /// The connection failed or closed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(#[from] wire::WireError),
    /// The peer reported an error.
    #[error("the peer reported error {0}")]
    PeerError(u8),
    /// Nothing heard for [`SILENCE`].
    #[error("no message for 5 s")]
    Silent,
    /// The section changed (a reload): the session starts over.
    #[error("configuration changed")]
    Reconfigured,
    /// Another session took the link to this peer.
    #[error("replaced by a newer session")]
    Replaced,
}

/// What this side pushes of one local table.
#[derive(Debug, Default)]
struct Out {
    defined: bool,
    last_pushed: u64,
}

/// What this side knows of one table of the peer's.
#[derive(Debug)]
struct In {
    layout: Layout,
    /// The local table it feeds, if it is one of ours.
    local: Option<usize>,
    last_get: u32,
    acked: u32,
}

struct Session<'a> {
    spec: &'a PeersSection,
    section: &'a Section,
    peer: &'a str,
    out: Vec<Out>,
    /// Our table id in force on the wire (the last definition or switch).
    switched: Option<usize>,
    ins: HashMap<u64, In>,
    current_in: Option<u64>,
    /// This session asked the peer for everything it holds.
    learning: bool,
    wbuf: Vec<u8>,
    teach_id: u32,
}

/// Runs a session on an established connection until it ends.
pub async fn run<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    spec: Arc<PeersSection>,
    section: &Section,
    peer: &str,
    mut changed: tokio::sync::watch::Receiver<Arc<PeersSection>>,
) -> End {
    let mut s = Session {
        out: spec.tables.iter().map(|_| Out::default()).collect(),
        spec: &spec,
        section,
        peer,
        switched: None,
        ins: HashMap::new(),
        current_in: None,
        learning: false,
        wbuf: Vec::new(),
        teach_id: 0,
    };
    if section.take_learning() {
        s.learning = true;
        wire::encode(&Message::ResyncRequest, None, &mut s.wbuf);
    }
    let end = s.serve(&mut io, &mut changed).await;
    if s.learning {
        // The lesson was cut short: another session may ask.
        section.give_back_learning();
    }
    end
}

impl Session<'_> {
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        changed: &mut tokio::sync::watch::Receiver<Arc<PeersSection>>,
    ) -> End {
        let mut rbuf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 4096];
        let mut last_rx = Instant::now();
        let mut last_tx = Instant::now();
        loop {
            // Register interest in changes before looking at the logs, so
            // that a change made in between wakes us.
            let notified = CHANGED.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.push_changes();
            if !self.wbuf.is_empty() {
                if let Err(e) = io.write_all(&self.wbuf).await {
                    return End::Io(e);
                }
                self.wbuf.clear();
                last_tx = Instant::now();
            }
            let beat = last_tx + HEARTBEAT;
            let silence = last_rx + SILENCE;
            tokio::select! {
                r = io.read(&mut chunk) => match r {
                    Ok(0) => return End::Io(std::io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => {
                        last_rx = Instant::now();
                        rbuf.extend_from_slice(&chunk[..n]);
                        if let Err(e) = self.take_messages(&mut rbuf) {
                            let mut bye = Vec::new();
                            if matches!(e, End::Protocol(_)) {
                                wire::encode(&Message::Error(0), None, &mut bye);
                                let _ = io.write_all(&bye).await;
                            }
                            return e;
                        }
                        self.send_acks();
                    }
                    Err(e) => return End::Io(e),
                },
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(beat) => {
                    wire::encode(&Message::Heartbeat, None, &mut self.wbuf);
                }
                _ = tokio::time::sleep_until(silence) => return End::Silent,
                _ = changed.changed() => return End::Reconfigured,
            }
        }
    }

    /// Handles every whole message in `rbuf`, leaving a partial one.
    fn take_messages(&mut self, rbuf: &mut Vec<u8>) -> Result<(), End> {
        let mut at = 0;
        while let Some(f) = wire::frame(&rbuf[at..])? {
            let layout = self
                .current_in
                .and_then(|id| self.ins.get(&id))
                .map(|i| &i.layout);
            let m = wire::decode(f, layout)?;
            at += f.len;
            self.handle(m)?;
        }
        rbuf.drain(..at);
        Ok(())
    }

    fn handle(&mut self, m: Message) -> Result<(), End> {
        match m {
            Message::ResyncRequest => self.teach(),
            Message::ResyncFinished | Message::ResyncPartial => {
                if self.learning {
                    self.learning = false;
                    self.section.learned();
                    tracing::info!(peers = %self.spec.name, peer = %self.peer, "learned the tables from the peer");
                }
                wire::encode(&Message::ResyncConfirm, None, &mut self.wbuf);
            }
            Message::ResyncConfirm | Message::Heartbeat | Message::Other(..) => {}
            Message::Error(k) => return Err(End::PeerError(k)),
            Message::Define(d) => {
                let local = self
                    .spec
                    .tables
                    .iter()
                    .position(|t| t.wire_name.as_bytes() == d.name.as_slice())
                    .filter(|&i| {
                        let t = &self.spec.tables[i];
                        t.key_type == d.key_type.code() && t.key_len == d.key_len
                    });
                if let Some(layout) = Layout::of(&d) {
                    self.ins.insert(
                        d.id,
                        In {
                            layout,
                            local,
                            last_get: 0,
                            acked: 0,
                        },
                    );
                    self.current_in = Some(d.id);
                } else {
                    // A data type we cannot even skip: its updates cannot
                    // be read, so the session cannot go on.
                    return Err(End::Protocol(wire::WireError::Reserved(10)));
                }
            }
            Message::Switch(id) => self.current_in = self.ins.contains_key(&id).then_some(id),
            Message::Update(u) => {
                let Some(i) = self.current_in.and_then(|id| self.ins.get_mut(&id)) else {
                    return Ok(());
                };
                i.last_get = u.id.unwrap_or(i.last_get.wrapping_add(1));
                let Some(t) = i.local.and_then(|l| self.spec.tables.get(l)) else {
                    return Ok(());
                };
                if let Some(key) = data::key_of(t.table.spec().key, &u.key) {
                    let expire = u.expire.map(u64::from).filter(|&e| e > 0);
                    t.table.apply_remote(key, &data::fields(&u), expire);
                }
            }
            Message::Ack { .. } => {}
        }
        Ok(())
    }

    /// Acknowledges what was received, per table.
    fn send_acks(&mut self) {
        for (&id, i) in self.ins.iter_mut() {
            if i.last_get != i.acked {
                i.acked = i.last_get;
                wire::encode(
                    &Message::Ack {
                        table: id,
                        update: i.last_get,
                    },
                    None,
                    &mut self.wbuf,
                );
            }
        }
    }

    /// Makes table `i` the one the next updates are for.
    fn select(&mut self, i: usize, t: &SharedTable) {
        let id = i as u64 + 1;
        if !self.out[i].defined {
            self.out[i].defined = true;
            wire::encode(&Message::Define(data::define(id, t)), None, &mut self.wbuf);
        } else if self.switched != Some(i) {
            wire::encode(&Message::Switch(id), None, &mut self.wbuf);
        }
        self.switched = Some(i);
    }

    /// Queues what changed here since the last push.
    fn push_changes(&mut self) {
        let spec = self.spec;
        for (i, t) in spec.tables.iter().enumerate() {
            let after = self.out[i].last_pushed;
            if t.table.last_update() <= after {
                continue;
            }
            let now = now_ms();
            let layout = layout_of(i, t);
            for (n, e) in t.table.updates_after(after, BATCH) {
                self.select(i, t);
                let (fields, left) = t.table.fields(&e, now);
                // The protocol numbers updates on 32 bits.
                let u = data::update(n as u32, e.key(), &fields, left);
                wire::encode(&Message::Update(u), Some(&layout), &mut self.wbuf);
                self.out[i].last_pushed = n;
            }
        }
    }

    /// Answers a resync request: every entry of every shared table, then
    /// "finished" (or "partial" while this node is still learning).
    fn teach(&mut self) {
        let spec = self.spec;
        let now = now_ms();
        for (i, t) in spec.tables.iter().enumerate() {
            let layout = layout_of(i, t);
            for e in t.table.entries() {
                self.select(i, t);
                self.teach_id = self.teach_id.wrapping_add(1);
                let (fields, left) = t.table.fields(&e, now);
                let u = data::update(self.teach_id, e.key(), &fields, left);
                wire::encode(&Message::Update(u), Some(&layout), &mut self.wbuf);
            }
            // Later changes follow from here.
            self.out[i].last_pushed = self.out[i].last_pushed.max(t.table.last_update());
        }
        let done = if self.section.is_learning() {
            Message::ResyncPartial
        } else {
            Message::ResyncFinished
        };
        wire::encode(&done, None, &mut self.wbuf);
    }
}

fn layout_of(i: usize, t: &SharedTable) -> Layout {
    let d = data::define(i as u64 + 1, t);
    // Our own definitions only use types we know.
    Layout::of(&d).unwrap_or(Layout {
        key_type: d.key_type,
        key_len: d.key_len,
        data: Vec::new(),
    })
}
