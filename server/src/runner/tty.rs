//! Interactive TTYs: receive the pty master from the runtime over `--console-socket` (SCM_RIGHTS), pump its
//! output into the container's logs, write keystrokes to it, and resize it.

use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

use super::logs::{Logs, Stream};

/// A listening console socket; `accept_master` waits for the runtime to hand over the pty master.
pub struct ConsoleSocket {
    listener: UnixListener,
}

impl ConsoleSocket {
    pub fn bind(path: &Path) -> io::Result<Self> {
        let _ = std::fs::remove_file(path);
        Ok(ConsoleSocket {
            listener: UnixListener::bind(path)?,
        })
    }

    /// Blocking: accept one connection and receive one file descriptor (within `timeout`).
    pub fn accept_master(self, timeout: Duration) -> io::Result<OwnedFd> {
        self.listener.set_nonblocking(true)?;
        let deadline = std::time::Instant::now() + timeout;
        let conn = loop {
            match self.listener.accept() {
                Ok((conn, _)) => break conn,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e),
            }
        };
        conn.set_nonblocking(false)?;
        conn.set_read_timeout(Some(timeout))?;
        let mut payload = [0u8; 4096];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        rustix::net::recvmsg(
            &conn,
            &mut [io::IoSliceMut::new(&mut payload)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        )?;
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(mut fds) = message {
                if let Some(fd) = fds.next() {
                    return Ok(fd);
                }
            }
        }
        Err(io::Error::other("console socket: no file descriptor received"))
    }
}

/// The pty master of a running container.
#[derive(Debug)]
pub struct Tty {
    master: Arc<OwnedFd>,
}

impl Tty {
    /// Start pumping the master's output into `logs` (stream `tty`) on a thread; it ends at EIO (the container
    /// side closed) and closes the logs.
    pub fn start(master: OwnedFd, logs: Arc<Logs>) -> io::Result<Tty> {
        let master = Arc::new(master);
        let reader = master.try_clone()?;
        std::thread::Builder::new()
            .name("tty-reader".into())
            .spawn(move || {
                let mut file = std::fs::File::from(reader);
                let mut buf = [0u8; 8192];
                let mut pace = super::pace::OutputPace::new();
                loop {
                    match file.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            logs.push(Stream::Tty, buf[..n].to_vec());
                            pace.took(n);
                        }
                    }
                }
                logs.close();
            })?;
        Ok(Tty { master })
    }

    /// A handle to write keystrokes to (the input writer thread owns it).
    pub fn writer(&self) -> io::Result<std::fs::File> {
        Ok(std::fs::File::from(self.master.try_clone()?))
    }

    pub fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        let size = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&*self.master, size).map_err(Into::into)
    }
}
