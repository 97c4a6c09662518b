//! Ctrl-C for a command that catches it (attached `docker compose up`, through
//! [`slipway::cli::context::InterruptSource`]): the terminal counts the presses and wakes whoever waits for the
//! next one, instead of dropping the command.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// The presses of Ctrl-C, and whether the command in flight waits for them.
#[derive(Default)]
pub struct Interrupts {
    pressed: Cell<u32>,
    caught: Cell<bool>,
    waiting: RefCell<Vec<Waker>>,
}

impl Interrupts {
    /// A new command: it catches Ctrl-C only once it asks.
    pub fn reset(&self) {
        self.caught.set(false);
        self.waiting.borrow_mut().clear();
    }

    /// Whether the command in flight asked for Ctrl-C (then it gets them, rather than being dropped).
    pub fn caught(&self) -> bool {
        self.caught.get()
    }

    /// Ctrl-C: whoever waits for it wakes.
    pub fn press(&self) {
        self.pressed.set(self.pressed.get() + 1);
        let waiting = std::mem::take(&mut *self.waiting.borrow_mut());
        waiting.into_iter().for_each(Waker::wake);
    }

    /// The next Ctrl-C from now; `first_ask` is called when the command first waits for one.
    pub fn next<'a>(&'a self, first_ask: &'a dyn Fn()) -> NextInterrupt<'a> {
        NextInterrupt {
            interrupts: self,
            after: self.pressed.get(),
            first_ask,
        }
    }
}

/// Resolves at the next Ctrl-C after it was made.
pub struct NextInterrupt<'a> {
    interrupts: &'a Interrupts,
    after: u32,
    first_ask: &'a dyn Fn(),
}

impl Future for NextInterrupt<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let interrupts = self.interrupts;
        if interrupts.pressed.get() > self.after {
            return Poll::Ready(());
        }
        if !interrupts.caught.replace(true) {
            (self.first_ask)();
        }
        interrupts.waiting.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    #[test]
    fn each_future_resolves_at_the_next_press_and_the_first_wait_says_so() {
        let interrupts = Interrupts::default();
        let asked = Cell::new(0);
        let ask = || asked.set(asked.get() + 1);
        let waker = Waker::from(std::sync::Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut first = Box::pin(interrupts.next(&ask));
        assert!(!interrupts.caught());
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(interrupts.caught());
        interrupts.press();
        assert!(first.as_mut().poll(&mut cx).is_ready());
        let mut second = Box::pin(interrupts.next(&ask));
        assert!(second.as_mut().poll(&mut cx).is_pending());
        interrupts.press();
        assert!(second.as_mut().poll(&mut cx).is_ready());
        assert_eq!(asked.get(), 1);
        interrupts.reset();
        assert!(!interrupts.caught());
    }
}
