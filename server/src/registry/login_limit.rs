//! Login attempts rate-limited per user name and per client address: a token bucket for each, a failed login
//! spends a token from both, a right password gives its token back. An empty bucket answers 429 before any
//! password is checked, so a flood of guesses costs the server no argon2 work once it is noticed.
//!
//! The table is bounded: a bucket that has refilled is the same as no bucket and is dropped, and past
//! [`MAX_TRACKED`] keys new ones are refused (fail closed) until old ones refill.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// How many user names and addresses are tracked at once.
const MAX_TRACKED: usize = 16 * 1024;

/// The bytes of a user name a bucket is kept under: longer names are no user's, and a stranger's megabyte-long
/// names must not make the table big.
const MAX_NAME_KEPT: usize = 128;

/// Attempts allowed per minute (the burst too): a bucket holds this many tokens and refills in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    pub per_user: u32,
    pub per_address: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_user: 10,
            per_address: 30,
        }
    }
}

/// What a bucket is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Why a login is not even checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins {who}: try again in {retry_after} seconds")]
pub struct TooManyLogins {
    /// `for "learner1"` or `from 192.0.2.1`.
    pub who: String,
    /// Whole seconds until one attempt is allowed again (at least 1).
    pub retry_after: u64,
}

/// A login attempt that holds a token from its user's bucket and its address's: give it back with
/// [`LoginLimiter::succeeded`] when the password was right; dropped otherwise (the attempt counts).
#[derive(Debug)]
#[must_use = "a right password gives its attempt back with LoginLimiter::succeeded"]
pub struct Attempt {
    keys: Vec<Key>,
}

/// The buckets of every user name and client address with recent failed logins.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one attempt for `user` from `address` (`None` when the caller is not a socket, as in-process
    /// tests): `Err` when either bucket is empty, saying when to come back.
    pub fn attempt(&self, user: &str, address: Option<IpAddr>) -> Result<Attempt, TooManyLogins> {
        self.attempt_at(user, address, Instant::now())
    }

    fn attempt_at(
        &self,
        user: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, TooManyLogins> {
        let mut kept = user.len().min(MAX_NAME_KEPT);
        while !user.is_char_boundary(kept) {
            kept -= 1;
        }
        let mut keys = vec![Key::User(user[..kept].to_string())];
        keys.extend(address.map(|a| Key::Address(crate::connections::client_key(a))));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        // Check every bucket before spending from any: a refused attempt costs nothing.
        for key in &keys {
            let capacity = self.capacity(key);
            let tokens = buckets
                .get(key)
                .map_or(capacity, |bucket| refilled(bucket, capacity, now).tokens);
            if tokens < 1.0 {
                return Err(TooManyLogins {
                    who: match key {
                        Key::User(user) => format!("for {user:?}"),
                        Key::Address(address) => format!("from {address}"),
                    },
                    retry_after: seconds_until_one_token(tokens, capacity),
                });
            }
        }
        let new_keys = keys.iter().filter(|key| !buckets.contains_key(*key)).count();
        if buckets.len() + new_keys > MAX_TRACKED {
            buckets
                .retain(|key, bucket| refilled(bucket, self.capacity(key), now).tokens < self.capacity(key));
            if buckets.len() + new_keys > MAX_TRACKED {
                return Err(TooManyLogins {
                    who: "to this server".to_string(),
                    retry_after: 60,
                });
            }
        }
        for key in &keys {
            let capacity = self.capacity(key);
            let bucket = buckets.entry(key.clone()).or_insert(Bucket {
                tokens: capacity,
                updated: now,
            });
            *bucket = refilled(bucket, capacity, now);
            bucket.tokens -= 1.0;
        }
        Ok(Attempt { keys })
    }

    /// The password was right: the attempt's tokens go back (a learner who logs in often is never limited).
    pub fn succeeded(&self, attempt: Attempt) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        for key in attempt.keys {
            let capacity = self.capacity(&key);
            if let Some(bucket) = buckets.get_mut(&key) {
                *bucket = refilled(bucket, capacity, now);
                bucket.tokens = (bucket.tokens + 1.0).min(capacity);
                if bucket.tokens >= capacity {
                    buckets.remove(&key);
                }
            }
        }
    }

    /// How many user names and addresses are tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn capacity(&self, key: &Key) -> f64 {
        f64::from(match key {
            Key::User(_) => self.limits.per_user,
            Key::Address(_) => self.limits.per_address,
        })
    }
}

/// The bucket as it is at `now`: `capacity` tokens come back per minute, up to `capacity`.
fn refilled(bucket: &Bucket, capacity: f64, now: Instant) -> Bucket {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    Bucket {
        tokens: (bucket.tokens + elapsed * capacity / 60.0).min(capacity),
        updated: now,
    }
}

fn seconds_until_one_token(tokens: f64, capacity: f64) -> u64 {
    if capacity <= 0.0 {
        return 60;
    }
    ((1.0 - tokens) * 60.0 / capacity).ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ADDRESS: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));

    fn limiter(per_user: u32, per_address: u32) -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            per_user,
            per_address,
        })
    }

    #[test]
    fn a_user_name_runs_out_of_attempts_and_gets_them_back_over_a_minute() {
        let limiter = limiter(3, 100);
        let start = Instant::now();
        for _ in 0..3 {
            drop(limiter.attempt_at("learner1", ADDRESS, start).unwrap());
        }
        let refused = limiter.attempt_at("learner1", ADDRESS, start).unwrap_err();
        assert_eq!(refused.who, "for \"learner1\"");
        assert_eq!(refused.retry_after, 20, "one of three tokens a minute");
        // Another user from the same address is not held back by learner1's bucket.
        drop(limiter.attempt_at("learner2", ADDRESS, start).unwrap());
        let later = start + Duration::from_secs(21);
        drop(limiter.attempt_at("learner1", ADDRESS, later).unwrap());
        assert!(limiter.attempt_at("learner1", ADDRESS, later).is_err());
    }

    #[test]
    fn an_address_runs_out_of_attempts_whatever_names_it_tries() {
        let limiter = limiter(100, 4);
        let start = Instant::now();
        for i in 0..4 {
            drop(limiter.attempt_at(&format!("user{i}"), ADDRESS, start).unwrap());
        }
        let refused = limiter.attempt_at("someone-else", ADDRESS, start).unwrap_err();
        assert_eq!(refused.who, "from 192.0.2.1");
        // The refused attempt spent nothing from the new name's bucket.
        let other = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));
        for _ in 0..4 {
            drop(limiter.attempt_at("someone-else", other, start).unwrap());
        }
    }

    #[test]
    fn a_right_password_gives_its_attempt_back_and_full_buckets_are_forgotten() {
        let limiter = limiter(2, 2);
        for _ in 0..10 {
            let attempt = limiter.attempt("learner1", ADDRESS).unwrap();
            limiter.succeeded(attempt);
        }
        assert_eq!(limiter.tracked(), 0, "nothing is kept for logins that succeed");
        drop(limiter.attempt("learner1", ADDRESS).unwrap());
        assert_eq!(limiter.tracked(), 2);
    }

    #[test]
    fn long_names_are_kept_short_and_share_a_bucket() {
        let limiter = limiter(1, 100);
        let long = "é".repeat(1000);
        drop(limiter.attempt(&long, None).unwrap());
        let refused = limiter.attempt(&format!("{long}x"), None).unwrap_err();
        assert!(refused.who.len() < 2 * MAX_NAME_KEPT, "{}", refused.who);
    }

    #[test]
    fn the_table_is_bounded_and_refilled_entries_make_room() {
        let limiter = limiter(1, 1_000_000);
        let start = Instant::now();
        for i in 0..MAX_TRACKED {
            drop(limiter.attempt_at(&format!("user{i}"), None, start).unwrap());
        }
        assert!(limiter.attempt_at("one-too-many", None, start).is_err());
        assert_eq!(limiter.tracked(), MAX_TRACKED);
        let refilled = start + Duration::from_secs(61);
        drop(limiter.attempt_at("one-too-many", None, refilled).unwrap());
        assert_eq!(limiter.tracked(), 1, "refilled buckets were dropped");
    }
}
