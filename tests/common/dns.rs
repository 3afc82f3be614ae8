//! A small authoritative DNS server for the tests: UDP on 127.0.0.1, a
//! zone the test edits while it runs (A, AAAA and SRV records, NXDOMAIN or
//! REFUSED per name), and a count of the questions it was asked.
//! Messages are encoded and decoded with hickory-proto; the answers are
//! whatever the zone holds at the moment a question arrives.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// What the zone says about one name.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Records: addresses and SRV targets (priority, weight, port, target).
    Records {
        /// A and AAAA records.
        addrs: Vec<IpAddr>,
        /// SRV records.
        srv: Vec<(u16, u16, u16, String)>,
    },
    /// The server refuses to answer for this name.
    Refused,
}

/// The zone: names (lower case, no final dot) to entries. A name that is
/// not there is answered NXDOMAIN.
#[derive(Debug, Default)]
pub struct Zone {
    names: HashMap<String, Entry>,
    /// Questions received, by (name, type).
    pub asked: HashMap<(String, RecordType), usize>,
}

/// The running server; it stops when dropped.
pub struct DnsServer {
    /// Where it answers.
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl DnsServer {
    /// Starts answering on a free UDP port of 127.0.0.1.
    pub fn start() -> DnsServer {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind dns");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let addr = sock.local_addr().expect("addr");
        let zone = Arc::new(Mutex::new(Zone::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (z, st) = (zone.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !st.load(Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(answer) = answer(&buf[..n], &z) {
                    let _ = sock.send_to(&answer, peer);
                }
            }
        });
        DnsServer {
            addr,
            zone,
            stop,
            thread: Some(thread),
        }
    }

    /// Sets the A/AAAA records of `name` (an empty list: the name exists
    /// with no address).
    pub fn set_addrs(&self, name: &str, addrs: &[IpAddr]) {
        let mut z = self.zone.lock().expect("zone");
        let srv = match z.names.remove(&key(name)) {
            Some(Entry::Records { srv, .. }) => srv,
            _ => Vec::new(),
        };
        z.names.insert(
            key(name),
            Entry::Records {
                addrs: addrs.to_vec(),
                srv,
            },
        );
    }

    /// Sets the SRV records of `name`.
    pub fn set_srv(&self, name: &str, records: &[(u16, u16, u16, &str)]) {
        let mut z = self.zone.lock().expect("zone");
        let addrs = match z.names.remove(&key(name)) {
            Some(Entry::Records { addrs, .. }) => addrs,
            _ => Vec::new(),
        };
        let srv = records
            .iter()
            .map(|(p, w, port, t)| (*p, *w, *port, t.to_string()))
            .collect();
        z.names.insert(key(name), Entry::Records { addrs, srv });
    }

    /// Makes `name` refused.
    pub fn refuse(&self, name: &str) {
        let mut z = self.zone.lock().expect("zone");
        z.names.insert(key(name), Entry::Refused);
    }

    /// Removes `name`: it is answered NXDOMAIN.
    pub fn remove(&self, name: &str) {
        self.zone.lock().expect("zone").names.remove(&key(name));
    }

    /// How many questions of `kind` about `name` arrived.
    pub fn asked(&self, name: &str, kind: RecordType) -> usize {
        let z = self.zone.lock().expect("zone");
        z.asked.get(&(key(name), kind)).copied().unwrap_or(0)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answer to one datagram, or nothing for a datagram that is not a
/// question.
fn answer(datagram: &[u8], zone: &Mutex<Zone>) -> Option<Vec<u8>> {
    let q = Message::from_vec(datagram).ok()?;
    if q.metadata.message_type != MessageType::Query {
        return None;
    }
    let question = q.queries.first()?.clone();
    let name = key(&question.name().to_ascii());
    let kind = question.query_type();
    let mut z = zone.lock().ok()?;
    *z.asked.entry((name.clone(), kind)).or_default() += 1;
    let mut m = Message::response(q.metadata.id, q.metadata.op_code);
    m.metadata.recursion_desired = q.metadata.recursion_desired;
    m.metadata.authoritative = true;
    m.add_query(question.clone());
    if q.edns.is_some() {
        let mut e = Edns::new();
        e.set_max_payload(4096);
        m.set_edns(e);
    }
    let qname = question.name().clone();
    match z.names.get(&name) {
        None => m.metadata.response_code = ResponseCode::NXDomain,
        Some(Entry::Refused) => m.metadata.response_code = ResponseCode::Refused,
        Some(Entry::Records { addrs, srv }) => {
            for r in records(&qname, kind, addrs, srv) {
                m.add_answer(r);
            }
            if kind == RecordType::SRV {
                for (_, _, _, target) in srv {
                    if let Some(Entry::Records { addrs, .. }) = z.names.get(&key(target)) {
                        let t = Name::from_ascii(format!("{target}.")).ok()?;
                        for r in records(&t, RecordType::A, addrs, &[]) {
                            m.add_additional(r);
                        }
                        for r in records(&t, RecordType::AAAA, addrs, &[]) {
                            m.add_additional(r);
                        }
                    }
                }
            }
        }
    }
    m.to_vec().ok()
}

fn records(
    name: &Name,
    kind: RecordType,
    addrs: &[IpAddr],
    srv: &[(u16, u16, u16, String)],
) -> Vec<Record> {
    let mut out = Vec::new();
    for a in addrs {
        let data = match (kind, a) {
            (RecordType::A, IpAddr::V4(v4)) => RData::A(A(Ipv4Addr::from(v4.octets()))),
            (RecordType::AAAA, IpAddr::V6(v6)) => RData::AAAA(AAAA(Ipv6Addr::from(v6.octets()))),
            _ => continue,
        };
        out.push(Record::from_rdata(name.clone(), 1, data));
    }
    if kind == RecordType::SRV {
        for (p, w, port, t) in srv {
            if let Ok(target) = Name::from_ascii(format!("{t}.")) {
                out.push(Record::from_rdata(
                    name.clone(),
                    1,
                    RData::SRV(SRV::new(*p, *w, *port, target)),
                ));
            }
        }
    }
    out
}
