//! The embedded DNS resolver of a user network (Docker's `127.0.0.11`, here at the network's gateway address):
//! UDP and TCP sockets bound inside the network's own namespace, so only containers on that network can ask it
//! anything. It answers A records from the server's live table (a container started later resolves at once) for
//! container names, short ids and aliases; any other name gets NXDOMAIN, or REFUSED when outbound DNS is on (the
//! container's resolver then asks slirp4netns's forwarder, listed second in its `resolv.conf`).
//!
//! Only the question is parsed (no compression in a question, labels of at most 63 bytes, at most 255 in all),
//! with every length checked against the bytes present: a hostile container gets FORMERR, never a panic. The
//! whole format is a few lines, so no DNS crate is linked for it.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::networks_ns::Netns;

/// What the resolver answers from: the addresses of the running containers a name means on this network.
pub trait Names: Send + Sync + 'static {
    /// None: no container of the network has that name (lower case, no trailing dot).
    fn lookup(&self, name: &str) -> Option<Vec<Ipv4Addr>>;
}

/// Seconds a client may keep an answer (Docker's embedded DNS answers with 600).
const TTL: u32 = 600;
/// TCP connections served at once per network; more are closed at once.
const MAX_TCP: usize = 16;
/// How long a TCP client may take to send its next query.
const TCP_IDLE: Duration = Duration::from_secs(10);

const RCODE_FORMERR: u8 = 1;
const RCODE_NXDOMAIN: u8 = 3;
const RCODE_NOTIMP: u8 = 4;
const RCODE_REFUSED: u8 = 5;

/// A network's resolver: its two serving tasks end when it is dropped (their sockets with them).
#[derive(Debug)]
pub struct Resolver {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Resolver {
    fn drop(&mut self) {
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl Resolver {
    /// Bind `at:53` (UDP and TCP) inside `ns` and serve `names`. Blocking for the bind; call inside a runtime.
    pub fn start(
        ns: &Netns,
        at: Ipv4Addr,
        names: Arc<dyn Names>,
        refuse_unknown: bool,
    ) -> io::Result<Resolver> {
        let addr = SocketAddr::from((at, 53));
        let (udp, tcp) = ns.run(move || {
            let udp = std::net::UdpSocket::bind(addr)?;
            let tcp = std::net::TcpListener::bind(addr)?;
            udp.set_nonblocking(true)?;
            tcp.set_nonblocking(true)?;
            Ok((udp, tcp))
        })?;
        let udp = tokio::net::UdpSocket::from_std(udp)?;
        let tcp = tokio::net::TcpListener::from_std(tcp)?;
        let names2 = names.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            loop {
                let Ok((len, from)) = udp.recv_from(&mut buf).await else {
                    continue;
                };
                if let Some(reply) = answer(&buf[..len], names2.as_ref(), refuse_unknown) {
                    let _ = udp.send_to(&reply, from).await;
                }
            }
        });
        let tcp_task = tokio::spawn(serve_tcp(tcp, names, refuse_unknown));
        Ok(Resolver {
            tasks: vec![udp_task, tcp_task],
        })
    }
}

async fn serve_tcp(listener: tokio::net::TcpListener, names: Arc<dyn Names>, refuse_unknown: bool) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_TCP));
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let names = names.clone();
        tokio::spawn(async move {
            let _slot = slot;
            loop {
                let mut len = [0u8; 2];
                let read = tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await;
                if !matches!(read, Ok(Ok(_))) {
                    return;
                }
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if !matches!(
                    tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut query)).await,
                    Ok(Ok(_))
                ) {
                    return;
                }
                let Some(reply) = answer(&query, names.as_ref(), refuse_unknown) else {
                    return;
                };
                let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                if stream.write_all(&framed).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// The question of a query: where it ends in the message, its name (lower case, no trailing dot) and type.
struct Question {
    end: usize,
    name: String,
    qtype: u16,
}

/// Read the question starting at byte 12; None when it is malformed or cut short.
fn question(msg: &[u8]) -> Option<Question> {
    let mut at = 12;
    let mut labels: Vec<String> = Vec::new();
    let mut total = 0usize;
    loop {
        let len = usize::from(*msg.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        total += len + 1;
        if total > 255 {
            return None;
        }
        let label = msg.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]);
    msg.get(at + 2..at + 4)?;
    Some(Question {
        end: at + 4,
        name: labels.join("."),
        qtype,
    })
}

/// The reply to one query message, or None for a message that is not a query (never answered).
pub fn answer(msg: &[u8], names: &dyn Names, refuse_unknown: bool) -> Option<Vec<u8>> {
    if msg.len() < 12 || msg[2] & 0x80 != 0 {
        return None;
    }
    let (id, rd) = ([msg[0], msg[1]], msg[2] & 0x01);
    let opcode = (msg[2] >> 3) & 0x0f;
    let header = |rcode: u8, qd: u16, an: u16| {
        let mut h = vec![id[0], id[1], 0x84 | (opcode << 3) | rd, 0x80 | rcode];
        for count in [qd, an, 0, 0] {
            h.extend_from_slice(&count.to_be_bytes());
        }
        h
    };
    if opcode != 0 {
        return Some(header(RCODE_NOTIMP, 0, 0));
    }
    let qdcount = u16::from_be_bytes([msg[4], msg[5]]);
    let Some(q) = question(msg).filter(|_| qdcount == 1) else {
        return Some(header(RCODE_FORMERR, 0, 0));
    };
    let asked = &msg[12..q.end];
    let Some(addresses) = names.lookup(&q.name) else {
        let rcode = if refuse_unknown {
            RCODE_REFUSED
        } else {
            RCODE_NXDOMAIN
        };
        let mut reply = header(rcode, 1, 0);
        reply.extend_from_slice(asked);
        return Some(reply);
    };
    // A and ANY get the addresses; any other type of a known name: no error, no records (so AAAA lookups of a
    // dual-stack resolver end at once).
    let records: Vec<Ipv4Addr> = match q.qtype {
        1 | 255 => addresses,
        _ => Vec::new(),
    };
    let mut reply = header(0, 1, records.len() as u16);
    reply.extend_from_slice(asked);
    for ip in records {
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        reply.extend_from_slice(&TTL.to_be_bytes());
        reply.extend_from_slice(&[0, 4]);
        reply.extend_from_slice(&ip.octets());
    }
    Some(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct One;

    impl Names for One {
        fn lookup(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
            (name == "web").then(|| vec![Ipv4Addr::new(172, 18, 0, 2)])
        }
    }

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&[0, 1]);
        q
    }

    #[test]
    fn a_known_name_gets_its_address_and_others_nxdomain_or_refused() {
        let reply = answer(&query("WEB", 1), &One, false).unwrap();
        assert_eq!(&reply[..2], &[0x12, 0x34]);
        assert_eq!(reply[3] & 0x0f, 0, "NOERROR");
        assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 1, "one answer");
        assert_eq!(&reply[reply.len() - 4..], &[172, 18, 0, 2]);
        let aaaa = answer(&query("web", 28), &One, false).unwrap();
        assert_eq!((aaaa[3] & 0x0f, aaaa[7]), (0, 0), "no error, no record");
        let unknown = answer(&query("db", 1), &One, false).unwrap();
        assert_eq!(unknown[3] & 0x0f, RCODE_NXDOMAIN);
        let refused = answer(&query("example.com", 1), &One, true).unwrap();
        assert_eq!(refused[3] & 0x0f, RCODE_REFUSED);
    }

    #[test]
    fn hostile_messages_get_formerr_or_nothing_never_a_panic() {
        assert!(answer(&[0; 5], &One, false).is_none(), "too short");
        let mut reply = query("web", 1);
        reply[2] |= 0x80;
        assert!(answer(&reply, &One, false).is_none(), "a reply is not answered");
        let mut cut = query("web", 1);
        cut.truncate(cut.len() - 3);
        assert_eq!(answer(&cut, &One, false).unwrap()[3] & 0x0f, RCODE_FORMERR);
        let mut pointer = query("web", 1);
        pointer[12] = 0xc0;
        assert_eq!(answer(&pointer, &One, false).unwrap()[3] & 0x0f, RCODE_FORMERR);
        let long = [b'a'; 63].repeat(5);
        let mut msg = vec![0u8; 12];
        msg[5] = 1;
        for chunk in long.chunks(63) {
            msg.push(63);
            msg.extend_from_slice(chunk);
        }
        msg.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(
            answer(&msg, &One, false).unwrap()[3] & 0x0f,
            RCODE_FORMERR,
            "name over 255 bytes"
        );
        for len in 0..40 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let _ = answer(&junk, &One, false);
        }
    }
}
