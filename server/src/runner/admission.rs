//! The admission queue: RUN steps (and, in a queue of their own, container starts) wait for their turn, one at a
//! time per owner and at most `limit` at once across the server, taking turns between owners.
//!
//! Fairness: whenever a turn is free it goes to the owner served least recently (an owner never served, or
//! back after everything of theirs finished, first; ties by who queued first), and within an owner in the order
//! asked. An owner who queues ten steps therefore gets one turn in each round, like everyone else waiting: a
//! step queued by another owner waits for at most one of theirs. An owner with a turn in progress is passed
//! over (one at a time each), so free turns never sit idle while someone else waits.
//!
//! Nothing blocks: the queue is a short critical section under a std mutex, the waiting is a tokio oneshot, and
//! how many are ahead of a waiter is a tokio watch the steps API streams to the page.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, watch};

/// A queue with its bound.
#[derive(Debug, Clone)]
pub struct Admission {
    queue: Arc<Mutex<Queue>>,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    grant: oneshot::Sender<()>,
    ahead: watch::Sender<usize>,
}

#[derive(Debug, Default)]
struct Queue {
    limit: usize,
    running: usize,
    /// Turns in progress per owner (0 or 1; absent when 0).
    running_of: HashMap<String, usize>,
    /// Who waits, per owner, in the order asked.
    waiting: HashMap<String, VecDeque<Waiter>>,
    /// When each owner with something waiting or running was last given a turn (a count of turns given).
    last_served: HashMap<String, u64>,
    turns: u64,
    next_id: u64,
}

/// A place in the queue: [`Waiting::admitted`] resolves when its turn comes. Dropped before that, it leaves the
/// queue (and gives back a turn it was handed but never took).
#[derive(Debug)]
pub struct Waiting {
    queue: Arc<Mutex<Queue>>,
    owner: String,
    id: u64,
    granted: oneshot::Receiver<()>,
    ahead: watch::Receiver<usize>,
    settled: bool,
}

/// A turn: held while the step (or the start) runs; dropping it hands the turn to the next waiter.
#[derive(Debug)]
pub struct Permit {
    queue: Arc<Mutex<Queue>>,
    owner: String,
}

impl Admission {
    /// A queue letting `limit` (at least 1) hold a turn at once, one per owner.
    pub fn new(limit: usize) -> Self {
        Admission {
            queue: Arc::new(Mutex::new(Queue {
                limit: limit.max(1),
                ..Queue::default()
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// Join the queue as `owner`; admitted at once when a turn is free for them.
    pub fn enqueue(&self, owner: &str) -> Waiting {
        let mut queue = self.lock();
        let id = queue.next_id;
        queue.next_id += 1;
        let (grant, granted) = oneshot::channel();
        let (ahead_tx, ahead) = watch::channel(0);
        queue
            .waiting
            .entry(owner.to_string())
            .or_default()
            .push_back(Waiter {
                id,
                grant,
                ahead: ahead_tx,
            });
        queue.last_served.entry(owner.to_string()).or_insert(0);
        queue.dispatch();
        queue.publish();
        Waiting {
            queue: self.queue.clone(),
            owner: owner.to_string(),
            id,
            granted,
            ahead,
            settled: false,
        }
    }

    /// Turns in progress and waiters, server-wide (for tests and logs).
    pub fn load(&self) -> (usize, usize) {
        let queue = self.lock();
        (queue.running, queue.waiting.values().map(VecDeque::len).sum())
    }
}

fn lock(queue: &Mutex<Queue>) -> std::sync::MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(|e| e.into_inner())
}

impl Queue {
    /// The owners with someone waiting, in the order their turns come: least recently served first, then who
    /// queued first.
    fn order(&self) -> Vec<&String> {
        let mut owners: Vec<(&String, (u64, u64))> = self
            .waiting
            .iter()
            .filter_map(|(owner, q)| {
                let first = q.front()?.id;
                Some((owner, (self.last_served.get(owner).copied().unwrap_or(0), first)))
            })
            .collect();
        owners.sort_by_key(|(_, key)| *key);
        owners.into_iter().map(|(owner, _)| owner).collect()
    }

    /// Hand out free turns: to the first owner in [`Queue::order`] without a turn in progress.
    fn dispatch(&mut self) {
        while self.running < self.limit {
            let Some(owner) = self
                .order()
                .into_iter()
                .find(|o| !self.running_of.contains_key(*o))
                .cloned()
            else {
                return;
            };
            let Some(queue) = self.waiting.get_mut(&owner) else {
                return;
            };
            let Some(waiter) = queue.pop_front() else {
                return;
            };
            if queue.is_empty() {
                self.waiting.remove(&owner);
            }
            self.running += 1;
            *self.running_of.entry(owner.clone()).or_default() += 1;
            self.turns += 1;
            self.last_served.insert(owner, self.turns);
            // A receiver already gone (its request dropped this instant) gives the turn back through its Drop.
            let _ = waiter.grant.send(());
        }
    }

    /// Tell every waiter how many will be admitted before it: in round k each waiting owner, in turn order, gets
    /// its k-th waiter in.
    fn publish(&self) {
        let order = self.order();
        let counts: Vec<usize> = order.iter().map(|o| self.waiting[*o].len()).collect();
        for (p, owner) in order.iter().enumerate() {
            for (k, waiter) in self.waiting[*owner].iter().enumerate() {
                let before: usize = counts[..p].iter().map(|&n| n.min(k + 1)).sum();
                let after: usize = counts[p + 1..].iter().map(|&n| n.min(k)).sum();
                let ahead = before + after + k;
                waiter
                    .ahead
                    .send_if_modified(|a| std::mem::replace(a, ahead) != ahead);
            }
        }
    }

    /// A turn of `owner` ended.
    fn release(&mut self, owner: &str) {
        self.running = self.running.saturating_sub(1);
        if let Some(n) = self.running_of.get_mut(owner) {
            *n -= 1;
            if *n == 0 {
                self.running_of.remove(owner);
            }
        }
        if !self.running_of.contains_key(owner) && !self.waiting.contains_key(owner) {
            self.last_served.remove(owner);
        }
        self.dispatch();
        self.publish();
    }

    /// Waiter `id` of `owner` left: out of the queue, or its turn given back if it had been handed one.
    fn cancel(&mut self, owner: &str, id: u64) {
        let Some(queue) = self.waiting.get_mut(owner) else {
            return self.release(owner);
        };
        let Some(at) = queue.iter().position(|w| w.id == id) else {
            return self.release(owner);
        };
        queue.remove(at);
        if queue.is_empty() {
            self.waiting.remove(owner);
            if !self.running_of.contains_key(owner) {
                self.last_served.remove(owner);
            }
        }
        self.dispatch();
        self.publish();
    }
}

impl Waiting {
    /// How many will be admitted before this waiter, updated as the queue moves: marked changed while it
    /// waits (so the first `changed()` shows where it stands), closed once admitted.
    pub fn ahead(&self) -> watch::Receiver<usize> {
        let mut ahead = self.ahead.clone();
        if ahead.has_changed().is_ok() {
            ahead.mark_changed();
        }
        ahead
    }

    /// Wait for the turn.
    pub async fn admitted(mut self) -> Permit {
        // The sender goes only with the grant (or with the queue, which this waiter keeps alive).
        let _ = (&mut self.granted).await;
        self.settled = true;
        Permit {
            queue: self.queue.clone(),
            owner: self.owner.clone(),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.settled {
            lock(&self.queue).cancel(&self.owner, self.id);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        lock(&self.queue).release(&self.owner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `w` has its turn already (without waiting).
    fn admitted_now(w: &mut Waiting) -> bool {
        w.granted.try_recv().is_ok()
    }

    async fn take(w: Waiting) -> Permit {
        tokio::time::timeout(std::time::Duration::from_secs(1), w.admitted())
            .await
            .expect("admitted")
    }

    #[tokio::test]
    async fn one_turn_per_owner_and_limit_turns_in_all() {
        let queue = Admission::new(2);
        let a1 = take(queue.enqueue("a")).await;
        let mut a2 = queue.enqueue("a");
        assert!(
            !admitted_now(&mut a2),
            "a has a turn already: its second waits though one is free"
        );
        let b1 = take(queue.enqueue("b")).await;
        let mut c1 = queue.enqueue("c");
        assert!(!admitted_now(&mut c1), "two turns in progress: the limit");
        assert_eq!(queue.load(), (2, 2));
        drop(b1);
        // The free turn passes over a (its first still runs) to c.
        let c1 = take(c1).await;
        drop(a1);
        let a2 = take(a2).await;
        drop((a2, c1));
        assert_eq!(queue.load(), (0, 0));
    }

    #[tokio::test]
    async fn an_owner_queueing_many_waits_its_turn_behind_one_of_anothers() {
        let queue = Admission::new(1);
        let a1 = take(queue.enqueue("a")).await;
        let a2 = queue.enqueue("a");
        let a3 = queue.enqueue("a");
        let (ahead2, ahead3) = (a2.ahead(), a3.ahead());
        assert_eq!((*ahead2.borrow(), *ahead3.borrow()), (0, 1));
        let b1 = queue.enqueue("b");
        let ahead_b = b1.ahead();
        // b was never served, a just was: b's one goes first, then a's in turn.
        assert_eq!((*ahead_b.borrow(), *ahead2.borrow(), *ahead3.borrow()), (0, 1, 2));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (name, w) in [("a2", a2), ("a3", a3), ("b1", b1)] {
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let permit = w.admitted().await;
                order.lock().unwrap().push(name);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                drop(permit);
            }));
        }
        tokio::task::yield_now().await;
        drop(a1);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["b1", "a2", "a3"]);
        assert_eq!(queue.load(), (0, 0));
    }

    #[tokio::test]
    async fn the_count_ahead_follows_the_queue_and_a_waiter_that_leaves_gives_its_place_up() {
        let queue = Admission::new(1);
        let first = take(queue.enqueue("x")).await;
        let waiters: Vec<Waiting> = ["a", "b", "c"].iter().map(|o| queue.enqueue(o)).collect();
        let mut ahead_c = waiters[2].ahead();
        assert_eq!(*ahead_c.borrow_and_update(), 2);
        let mut waiters = waiters.into_iter();
        let a = waiters.next().unwrap();
        let b = waiters.next().unwrap();
        let c = waiters.next().unwrap();
        drop(a);
        assert!(ahead_c.has_changed().unwrap());
        assert_eq!(*ahead_c.borrow_and_update(), 1);
        drop(first);
        let b = take(b).await;
        assert_eq!(*ahead_c.borrow_and_update(), 0);
        drop(b);
        let c = take(c).await;
        assert!(ahead_c.changed().await.is_err(), "closed once admitted");
        drop(c);
        assert_eq!(queue.load(), (0, 0));
    }

    #[tokio::test]
    async fn a_turn_handed_to_a_waiter_that_left_goes_to_the_next() {
        let queue = Admission::new(1);
        let first = take(queue.enqueue("a")).await;
        let b = queue.enqueue("b");
        let c = queue.enqueue("c");
        drop(first);
        // b has been handed the turn but never takes it.
        drop(b);
        let c = take(c).await;
        assert_eq!(queue.load(), (1, 0));
        drop(c);
        assert_eq!(queue.load(), (0, 0));
        assert!(
            lock(&queue.queue).last_served.is_empty(),
            "owners are forgotten when done"
        );
    }
}
