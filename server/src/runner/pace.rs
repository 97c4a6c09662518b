//! Pacing of a process's output: a reader thread counts what it reads and sleeps once a stream has had its
//! share of a tenth of a second, so a flood blocks the process that floods (its pipe or TTY fills).

use std::time::{Duration, Instant};

/// The most output a process's stream may hand the server per second. Past it the reader pauses, the pipe (or
/// TTY) fills and the process blocks in `write`, as under Docker's blocking log mode: `cat /dev/zero` then costs
/// neither the server's CPU (a line copied per 16 KiB) nor its own core. Far above what any lesson prints.
pub const MAX_OUTPUT_PER_SECOND: usize = 32 << 20;

/// Paces a reader to [`MAX_OUTPUT_PER_SECOND`], counted in tenths of a second.
#[derive(Debug)]
pub(crate) struct OutputPace {
    window: Instant,
    bytes: usize,
}

impl OutputPace {
    const WINDOW: Duration = Duration::from_millis(100);

    pub(crate) fn new() -> Self {
        OutputPace {
            window: Instant::now(),
            bytes: 0,
        }
    }

    /// Count `bytes` just read; sleeps out the window once it has had its share. Blocking: reader threads only.
    pub(crate) fn took(&mut self, bytes: usize) {
        self.bytes += bytes;
        let elapsed = self.window.elapsed();
        if self.bytes >= MAX_OUTPUT_PER_SECOND / 10 {
            std::thread::sleep(Self::WINDOW.saturating_sub(elapsed));
        } else if elapsed < Self::WINDOW {
            return;
        }
        *self = OutputPace::new();
    }
}
