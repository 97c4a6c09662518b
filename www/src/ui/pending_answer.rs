//! The answer to a question the running command asked at the page's terminal (`docker login`'s prompts): the
//! terminal gives it once typed, the command's task waits for it.

use std::cell::RefCell;
use std::task::{Poll, Waker};

#[derive(Default)]
pub struct PendingAnswer {
    slot: RefCell<Slot>,
}

#[derive(Default)]
struct Slot {
    answer: Option<String>,
    waker: Option<Waker>,
}

impl PendingAnswer {
    /// A new question: an answer left from an earlier one (whose command Ctrl-C dropped) is forgotten.
    pub fn reset(&self) {
        *self.slot.borrow_mut() = Slot::default();
    }

    /// The typed answer: the waiting task wakes up with it.
    pub fn give(&self, answer: String) {
        let waker = {
            let mut slot = self.slot.borrow_mut();
            slot.answer = Some(answer);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The answer, once given.
    pub async fn wait(&self) -> String {
        std::future::poll_fn(|cx| {
            let mut slot = self.slot.borrow_mut();
            match slot.answer.take() {
                Some(answer) => Poll::Ready(answer),
                None => {
                    slot.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake};

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_waiting_command_wakes_with_the_answer_and_a_stale_one_is_forgotten() {
        let pending = PendingAnswer::default();
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        pending.give("left from a cancelled question".into());
        pending.reset();
        let mut waiting = Box::pin(pending.wait());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        pending.give("learner1".into());
        assert!(flag.0.load(Ordering::SeqCst), "woken");
        assert_eq!(
            waiting.as_mut().poll(&mut cx),
            Poll::Ready("learner1".to_string())
        );
    }
}
