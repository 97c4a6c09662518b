//! A container's output: a bounded in-memory buffer of chunks (one per line for pipes, raw reads for a TTY),
//! each with its stream, time and sequence number, plus a broadcast channel for followers.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::broadcast;

/// Which output a chunk is: the protocol's.
pub use slipway::api::LogStream as Stream;

#[derive(Debug, Clone, Serialize)]
pub struct Chunk {
    pub seq: u64,
    pub stream: Stream,
    /// Nanoseconds since the Unix epoch.
    pub time_ns: u128,
    #[serde(serialize_with = "lossy")]
    pub data: Vec<u8>,
}

fn lossy<S: serde::Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(data))
}

#[derive(Debug)]
struct Inner {
    chunks: VecDeque<Chunk>,
    bytes: usize,
    next_seq: u64,
    closed: bool,
}

/// Bounded log storage; the oldest chunks go first when `max_bytes` is exceeded.
#[derive(Debug)]
pub struct Logs {
    inner: Mutex<Inner>,
    max_bytes: usize,
    tx: broadcast::Sender<Chunk>,
}

impl Logs {
    pub fn new(max_bytes: usize) -> Self {
        Logs {
            inner: Mutex::new(Inner {
                chunks: VecDeque::new(),
                bytes: 0,
                next_seq: 0,
                closed: false,
            }),
            max_bytes,
            tx: broadcast::channel(1024).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, stream: Stream, data: Vec<u8>) {
        let time_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut inner = self.lock();
        let chunk = Chunk {
            seq: inner.next_seq,
            stream,
            time_ns,
            data,
        };
        inner.next_seq += 1;
        inner.bytes += chunk.data.len();
        inner.chunks.push_back(chunk.clone());
        while inner.bytes > self.max_bytes {
            match inner.chunks.pop_front() {
                Some(old) => inner.bytes -= old.data.len(),
                None => break,
            }
        }
        let _ = self.tx.send(chunk);
    }

    /// No more output will come (all writers closed).
    pub fn close(&self) {
        self.lock().closed = true;
        // Wake followers with an empty marker they recognise by `is_closed`.
        let _ = self.tx.send(Chunk {
            seq: u64::MAX,
            stream: Stream::Stdout,
            time_ns: 0,
            data: Vec::new(),
        });
    }

    /// More output will come after all (a stopped container started again): followers from now on wait for it.
    pub fn reopen(&self) {
        self.lock().closed = false;
    }

    /// How many followers (`logs -f`, attaches) are subscribed right now.
    pub fn followers(&self) -> usize {
        self.tx.receiver_count()
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// The last `tail` chunks (all when None), and a receiver for what comes after them.
    pub fn snapshot(&self, tail: Option<usize>) -> (Vec<Chunk>, broadcast::Receiver<Chunk>, bool) {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        let skip = tail.map_or(0, |t| inner.chunks.len().saturating_sub(t));
        (
            inner.chunks.iter().skip(skip).cloned().collect(),
            rx,
            inner.closed,
        )
    }

    /// The chunks still buffered that came after `after` (all of them for None): a follower that lagged behind
    /// the broadcast channel catches up from here.
    pub fn since(&self, after: Option<u64>) -> Vec<Chunk> {
        self.lock()
            .chunks
            .iter()
            .filter(|c| after.is_none_or(|a| c.seq > a))
            .cloned()
            .collect()
    }

    /// Everything as one byte string (for RUN step output).
    pub fn all_bytes(&self) -> Vec<u8> {
        self.lock()
            .chunks
            .iter()
            .flat_map(|c| c.data.iter().copied())
            .collect()
    }
}

/// Follows a container's output past a snapshot: each call gives what came next, in order and without gaps (a
/// reader too slow for the live feed catches up from the buffer), until the output has ended.
pub struct Follower {
    logs: std::sync::Arc<Logs>,
    rx: broadcast::Receiver<Chunk>,
    last: Option<u64>,
}

impl Follower {
    /// A follower of `logs` past the chunk `last` (from [`Logs::snapshot`], with its receiver).
    pub fn new(logs: std::sync::Arc<Logs>, rx: broadcast::Receiver<Chunk>, last: Option<u64>) -> Self {
        Follower { logs, rx, last }
    }

    /// The next chunks; None once the output has ended and everything was given.
    pub async fn next(&mut self) -> Option<Vec<Chunk>> {
        loop {
            let chunks = match self.rx.recv().await {
                Ok(ch) if ch.seq == u64::MAX => return None,
                Ok(ch) if self.last.is_some_and(|s| ch.seq <= s) => continue,
                Ok(ch) => vec![ch],
                Err(broadcast::error::RecvError::Lagged(_)) => self.logs.since(self.last),
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            match chunks.last() {
                Some(last) => {
                    self.last = Some(last.seq);
                    return Some(chunks);
                }
                // The end marker may have been among the missed broadcasts.
                None if self.logs.is_closed() => return None,
                None => continue,
            }
        }
    }
}

/// `2026-11-28T05:05:13.123456789Z` from nanoseconds since the epoch (Docker's `--timestamps` format).
pub use slipway::image::rfc3339_nanos as rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_like_docker() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_795_842_313_000_000_001),
            "2026-11-28T05:05:13.000000001Z"
        );
    }

    #[tokio::test]
    async fn a_follower_that_lagged_catches_up_from_the_buffer() {
        let logs = std::sync::Arc::new(Logs::new(1 << 20));
        let (past, rx, _) = logs.snapshot(None);
        let mut follower = Follower::new(logs.clone(), rx, past.last().map(|c| c.seq));
        // More than the live feed holds, before the follower reads anything.
        for i in 0..1500 {
            logs.push(Stream::Stdout, format!("{i}\n").into_bytes());
        }
        logs.close();
        let mut seen = Vec::new();
        while let Some(chunks) = follower.next().await {
            seen.extend(chunks.into_iter().map(|c| String::from_utf8(c.data).unwrap()));
        }
        let expected: Vec<String> = (0..1500).map(|i| format!("{i}\n")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn buffer_is_bounded_and_tail_counts_chunks() {
        let logs = Logs::new(10);
        for i in 0..5 {
            logs.push(Stream::Stdout, format!("{i}abc\n").into_bytes());
        }
        let (all, _, closed) = logs.snapshot(None);
        assert!(!closed);
        assert_eq!(all.len(), 2, "only the newest 10 bytes are kept");
        assert_eq!(all[1].data, b"4abc\n");
        assert_eq!(logs.snapshot(Some(1)).0.len(), 1);
        assert_eq!(logs.since(Some(all[0].seq)).len(), 1, "only what came after");
        assert_eq!(logs.since(None).len(), 2);
        logs.close();
        assert!(logs.is_closed());
    }
}
