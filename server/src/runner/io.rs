//! A runtime process's stdio, shared by containers and execs: output into [`Logs`], stdin as a pipe (`-i`) or the
//! TTY's master (`-t`, received over the console socket), window resize, and reaping the process.
//!
//! Everything here is bounded against a hostile process: an output line is cut at [`MAX_LINE`] bytes (a process
//! that writes without newlines cannot grow the server's memory), and input is written by a thread of its own
//! behind a small queue (a process that never reads its stdin blocks that thread, never an async worker, and the
//! full queue pushes back on whoever sends). Output is paced (`pace.rs`) per stream, so a flood
//! blocks the process that floods rather than costing the server a core.

use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::logs::{Logs, Stream};
use super::pace::OutputPace;
use super::runc::RuncError;
use super::tty::{ConsoleSocket, Tty};
use super::{io_ctx, RunnerError};

/// The longest output line kept whole; a longer one becomes several log entries, as Docker's log copier splits
/// lines at 16 KiB (`daemon/logger/copier.go`) and marks them partial.
pub const MAX_LINE: usize = 16 * 1024;

/// Input chunks queued for the writer thread before the sender waits.
const INPUT_QUEUE: usize = 16;

#[derive(Debug)]
pub struct ProcessIo {
    pub logs: Arc<Logs>,
    /// The queue to the thread writing stdin (`-i`) or the TTY's master (`-t`).
    input: Mutex<Option<tokio::sync::mpsc::Sender<Vec<u8>>>>,
    tty: Mutex<Option<Tty>>,
}

/// A close-on-exec pipe (read end, write end).
fn pipe() -> Result<(OwnedFd, OwnedFd), RunnerError> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| io_ctx("pipe")(e.into()))
}

fn pump(reader: OwnedFd, stream: Stream, logs: Arc<Logs>, done: std::sync::mpsc::Sender<()>) {
    let _ = std::thread::Builder::new()
        .name("log-pump".into())
        .spawn(move || {
            let mut reader = BufReader::new(std::fs::File::from(reader));
            let mut pace = OutputPace::new();
            loop {
                let mut line = Vec::new();
                match (&mut reader).take(MAX_LINE as u64).read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        logs.push(stream, line);
                        pace.took(n);
                    }
                }
            }
            let _ = done.send(());
        });
}

/// A thread that writes what the queue brings to `sink` until the queue closes or the process stops reading
/// for good (EPIPE, EIO); dropping the sender closes `sink` (EOF for a pipe).
fn input_writer(mut sink: std::fs::File) -> std::io::Result<tokio::sync::mpsc::Sender<Vec<u8>>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(INPUT_QUEUE);
    std::thread::Builder::new()
        .name("input-writer".into())
        .spawn(move || {
            while let Some(bytes) = rx.blocking_recv() {
                if sink.write_all(&bytes).is_err() {
                    break;
                }
            }
        })?;
    Ok(tx)
}

impl ProcessIo {
    pub fn new(max_log_bytes: usize) -> Self {
        ProcessIo {
            logs: Arc::new(Logs::new(max_log_bytes)),
            input: Mutex::new(None),
            tty: Mutex::new(None),
        }
    }

    /// Queue bytes for stdin (`-i`) or the TTY; waits while the queue is full (the process reads slowly or not
    /// at all), without blocking the caller's thread.
    pub async fn write_input(&self, bytes: Vec<u8>) -> std::io::Result<()> {
        let input = self.input.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(input) = input else {
            return Err(std::io::Error::other("stdin is not open (run with -i)"));
        };
        input
            .send(bytes)
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }

    /// Close stdin (EOF for the process once what is queued is written). A TTY stays open: EOF there is the
    /// line discipline's (Ctrl-D), and it closes with the process.
    pub fn close_input(&self) {
        if self.tty.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            self.input.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
    }

    pub fn resize(&self, cols: u16, rows: u16) -> std::io::Result<()> {
        match self.tty.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(tty) => tty.resize(cols, rows),
            None => Err(std::io::Error::other("not a TTY")),
        }
    }

    /// Start a detached runtime process (`create` or `exec`) wired to this io; `spawn` gets the console socket
    /// path (TTY) and the stdio handles, and returns the process's host pid.
    pub async fn launch<F, Fut>(
        &self,
        tty: bool,
        interactive: bool,
        sock_path: &Path,
        spawn: F,
    ) -> Result<i32, RunnerError>
    where
        F: FnOnce(Option<PathBuf>, (Stdio, Stdio, Stdio)) -> Fut,
        Fut: Future<Output = Result<i32, RuncError>>,
    {
        if tty {
            let sock = ConsoleSocket::bind(sock_path).map_err(io_ctx("console socket"))?;
            let accept = tokio::task::spawn_blocking(move || sock.accept_master(Duration::from_secs(10)));
            let created = spawn(
                Some(sock_path.to_path_buf()),
                (Stdio::null(), Stdio::null(), Stdio::null()),
            )
            .await;
            let master = accept
                .await
                .map_err(|e| io_ctx("console")(std::io::Error::other(e)))?;
            let _ = std::fs::remove_file(sock_path);
            let pid = created?;
            let master = master.map_err(io_ctx("receiving the pty master"))?;
            let tty = Tty::start(master, self.logs.clone()).map_err(io_ctx("tty"))?;
            let writer = tty.writer().and_then(input_writer).map_err(io_ctx("tty input"))?;
            *self.input.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
            *self.tty.lock().unwrap_or_else(|e| e.into_inner()) = Some(tty);
            return Ok(pid);
        }
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let stdin = if interactive {
            let (in_r, in_w) = pipe()?;
            let writer = input_writer(std::fs::File::from(in_w)).map_err(io_ctx("stdin"))?;
            *self.input.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
            Stdio::from(in_r)
        } else {
            Stdio::null()
        };
        pump(out_r, Stream::Stdout, self.logs.clone(), done_tx.clone());
        pump(err_r, Stream::Stderr, self.logs.clone(), done_tx);
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            let _ = done_rx.recv();
            let _ = done_rx.recv();
            logs.close();
        });
        Ok(spawn(None, (stdin, Stdio::from(out_w), Stdio::from(err_w))).await?)
    }

    /// After the process ended: close the input, give the output a moment to drain, drop the TTY.
    pub async fn finish(&self) {
        self.input.lock().unwrap_or_else(|e| e.into_inner()).take();
        for _ in 0..100 {
            if self.logs.is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.tty.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// Wait for `pid` (a child of ours: we are the subreaper) and return its exit code, 128 + signal when killed.
pub async fn reap(pid: i32) -> Option<i32> {
    tokio::task::spawn_blocking(move || {
        let pid = rustix::process::Pid::from_raw(pid)?;
        loop {
            match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
                Ok(Some((_, status))) => {
                    return Some(match (status.exit_status(), status.terminating_signal()) {
                        (Some(code), _) => code,
                        (None, Some(sig)) => 128 + sig,
                        _ => 255,
                    });
                }
                Err(rustix::io::Errno::INTR) => continue,
                _ => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}
