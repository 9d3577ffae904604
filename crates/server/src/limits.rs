//! Rate limits that slow an attacker down without locking the owner out.
//!
//! Each [`Rule`] is a token bucket (GCRA): `burst` attempts at once, then
//! one more every `every` seconds. Keys are per account, per client
//! address ([`Source`]) or per pair of both, so that a stranger's failures
//! from one address do not stop the student signing in from another.
//! Keys are the SHA-256 of the rule's name and the normalised inputs,
//! truncated to 128 bits: memory per key is fixed whatever the input's
//! length. They live in a bounded structure: 16 shards, each with two
//! generations of at most [`GENERATION`] keys; when the young one is full
//! the old one is dropped whole (no scan under a lock). A key untouched
//! for two generations is forgotten, which only ever forgives.
//! In memory, per server instance; what must last a day (guesses at
//! e-mailed codes) is counted in the database (`codes.rs`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

use crate::error::{ApiError, ApiResult};

/// A limit: `burst` at once, then one every `every` seconds.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub name: &'static str,
    pub burst: u32,
    pub every: i64,
}

/// Keys per shard and generation.
pub const GENERATION: usize = 8192;
const SHARDS: usize = 16;

/// Password checks per client address, right or wrong: bounds the hashing
/// one address can make us do.
pub const PASSWORD_CHECKS_PER_SOURCE: Rule = Rule {
    name: "password-checks/source",
    burst: 60,
    every: 1,
};
/// Wrong passwords per client address, whatever the account: password
/// spraying (one guess at many accounts) is slowed.
pub const WRONG_PASSWORDS_PER_SOURCE: Rule = Rule {
    name: "wrong-passwords/source",
    burst: 20,
    every: 4,
};
/// Wrong passwords for one account from one address.
pub const WRONG_PASSWORDS_PER_PAIR: Rule = Rule {
    name: "wrong-passwords/pair",
    burst: 5,
    every: 60,
};
/// Wrong passwords for one account from everywhere: a distributed guesser
/// is slowed to one try in 30 s. Addresses the owner signed in from
/// recently are exempt ([`KNOWN_SOURCE`]), so the owner is not locked out.
pub const WRONG_PASSWORDS_PER_ACCOUNT: Rule = Rule {
    name: "wrong-passwords/account",
    burst: 20,
    every: 30,
};
/// A successful sign-in to an account from an address (a marker).
pub const KNOWN_SOURCE: Rule = Rule {
    name: "known-source",
    burst: 1,
    every: 30 * 86_400,
};
/// Wrong activation codes for one student number from one address.
pub const WRONG_ACTIVATION_PER_PAIR: Rule = Rule {
    name: "wrong-activation/pair",
    burst: 10,
    every: 60,
};
/// Wrong activation codes per address, whatever the student number.
pub const WRONG_ACTIVATION_PER_SOURCE: Rule = Rule {
    name: "wrong-activation/source",
    burst: 30,
    every: 10,
};
/// Status checks (they tell whether a safe exists) per address.
pub const STATUS_PER_SOURCE: Rule = Rule {
    name: "status/source",
    burst: 20,
    every: 30,
};
/// Status checks for one student number from one address.
pub const STATUS_PER_PAIR: Rule = Rule {
    name: "status/pair",
    burst: 10,
    every: 60,
};
/// Support requests per address.
pub const SUPPORT_PER_SOURCE: Rule = Rule {
    name: "support/source",
    burst: 10,
    every: 3600,
};
/// Support requests for one student number from one address.
pub const SUPPORT_PER_PAIR: Rule = Rule {
    name: "support/pair",
    burst: 3,
    every: 8 * 3600,
};
/// Password-reset requests per address asked about, whether or not a safe
/// uses it (so the limit tells nothing).
pub const RESETS_PER_ADDRESS: Rule = Rule {
    name: "resets/address",
    burst: 3,
    every: 20 * 60,
};
/// Password-reset requests per client address.
pub const RESETS_PER_SOURCE: Rule = Rule {
    name: "resets/source",
    burst: 10,
    every: 60,
};
/// Wrong e-mailed codes per client address, whatever the subject.
pub const WRONG_CODES_PER_SOURCE: Rule = Rule {
    name: "wrong-codes/source",
    burst: 20,
    every: 30,
};
/// E-mailed codes sent per purpose and subject (about five an hour).
pub const CODES_SENT: Rule = Rule {
    name: "codes-sent",
    burst: 5,
    every: 12 * 60,
};
/// Undo codes tried per client address.
pub const UNDO_PER_SOURCE: Rule = Rule {
    name: "undo/source",
    burst: 10,
    every: 60,
};

/// Where a request comes from, as the limits see it: the client's IP
/// address (behind a trusted proxy, the one it forwarded); IPv6 addresses
/// by their /64, which one subscriber usually holds whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    pub fn new(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Source(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
            v4 => Source(v4),
        }
    }

    /// For calls that did not come over the network (tests, tools).
    pub fn local() -> Source {
        Source(IpAddr::from([127, 0, 0, 1]))
    }

    pub fn key(&self) -> String {
        self.0.to_string()
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

type Key = [u8; 16];

#[derive(Debug, Default)]
struct Shard {
    young: HashMap<Key, i64>,
    old: HashMap<Key, i64>,
}

/// The buckets: for each key, the time at which it is full again
/// (GCRA's "theoretical arrival time").
#[derive(Debug)]
pub struct Limiter {
    shards: Vec<Mutex<Shard>>,
    generation: usize,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::with_generation(GENERATION)
    }
}

impl Limiter {
    pub fn with_generation(generation: usize) -> Limiter {
        Limiter {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            generation: generation.max(1),
        }
    }

    /// Counts one attempt; `TooManyAttempts` (with the wait) when the
    /// bucket is empty, and then nothing is counted.
    pub fn check(&self, rule: &Rule, parts: &[&str], now: i64) -> ApiResult<()> {
        self.update(rule, parts, now, true)
    }

    /// Whether an attempt would be allowed, counting nothing: asked before
    /// costly work whose failure is what is counted.
    pub fn peek(&self, rule: &Rule, parts: &[&str], now: i64) -> ApiResult<()> {
        self.update(rule, parts, now, false)
    }

    /// Counts one failure, even past the limit (it is already refused).
    pub fn count(&self, rule: &Rule, parts: &[&str], now: i64) {
        let key = key(rule, parts);
        let mut shard = self.shard(&key);
        let tat = shard.get(&key).unwrap_or(now).max(now);
        shard.insert(key, tat + rule.every, self.generation);
    }

    /// Forgets a key (after a success).
    pub fn forgive(&self, rule: &Rule, parts: &[&str]) {
        let key = key(rule, parts);
        self.shard(&key).remove(&key);
    }

    /// Whether [`Limiter::count`] was called for this key within the
    /// rule's `every` (a marker such as [`KNOWN_SOURCE`]).
    pub fn marked(&self, rule: &Rule, parts: &[&str], now: i64) -> bool {
        let key = key(rule, parts);
        self.shard(&key).get(&key).is_some_and(|tat| tat > now)
    }

    /// Keys held (for tests and the abuse benchmark's reading).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.young.len() + s.old.len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn update(&self, rule: &Rule, parts: &[&str], now: i64, take: bool) -> ApiResult<()> {
        let key = key(rule, parts);
        let mut shard = self.shard(&key);
        let tat = shard.get(&key).unwrap_or(now).max(now);
        let allowed_until = now + i64::from(rule.burst.saturating_sub(1)) * rule.every;
        if tat > allowed_until {
            return Err(ApiError::TooManyAttempts {
                retry_after: u64::try_from(tat - allowed_until).unwrap_or(1).max(1),
            });
        }
        if take {
            shard.insert(key, tat + rule.every, self.generation);
        }
        Ok(())
    }

    fn shard(&self, key: &Key) -> ShardGuard<'_> {
        let i = usize::from(key[0]) % self.shards.len();
        ShardGuard(self.shards[i].lock().unwrap_or_else(|e| e.into_inner()))
    }
}

struct ShardGuard<'a>(std::sync::MutexGuard<'a, Shard>);

impl ShardGuard<'_> {
    fn get(&self, key: &Key) -> Option<i64> {
        self.0
            .young
            .get(key)
            .or_else(|| self.0.old.get(key))
            .copied()
    }

    fn insert(&mut self, key: Key, tat: i64, generation: usize) {
        let shard = &mut *self.0;
        shard.old.remove(&key);
        if shard.young.len() >= generation && !shard.young.contains_key(&key) {
            shard.old = std::mem::take(&mut shard.young);
        }
        shard.young.insert(key, tat);
    }

    fn remove(&mut self, key: &Key) {
        self.0.young.remove(key);
        self.0.old.remove(key);
    }
}

fn key(rule: &Rule, parts: &[&str]) -> Key {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(rule.name.as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Rule = Rule {
        name: "t",
        burst: 3,
        every: 10,
    };

    #[test]
    fn a_burst_then_one_per_period() {
        let l = Limiter::default();
        assert!((0..3).all(|_| l.check(&R, &["k"], 0).is_ok()));
        match l.check(&R, &["k"], 0) {
            Err(ApiError::TooManyAttempts { retry_after }) => assert_eq!(retry_after, 10),
            other => panic!("{other:?}"),
        }
        assert!(l.check(&R, &["other"], 0).is_ok());
        assert!(l.check(&R, &["k"], 10).is_ok());
        assert!(l.check(&R, &["k"], 10).is_err());
        assert!(l.check(&R, &["k"], 40).is_ok());
        assert!(l.peek(&R, &["k"], 40).is_ok());
        l.forgive(&R, &["k"]);
        assert!((0..3).all(|_| l.check(&R, &["k"], 40).is_ok()));
    }

    #[test]
    fn parts_are_separate() {
        let l = Limiter::default();
        for _ in 0..3 {
            l.count(&R, &["a", "bc"], 0);
        }
        assert!(l.peek(&R, &["a", "bc"], 0).is_err());
        assert!(l.peek(&R, &["ab", "c"], 0).is_ok());
    }

    #[test]
    fn memory_is_bounded_whatever_the_keys() {
        let l = Limiter::with_generation(100);
        let long = "x".repeat(1 << 16);
        for i in 0..100_000 {
            let k = format!("{long}{i}");
            let _ = l.check(&R, &[&k], 0);
        }
        assert!(l.len() <= SHARDS * 2 * 100, "{}", l.len());
        // A key still in use survives the turnover of others.
        let l = Limiter::with_generation(10);
        for i in 0..1000 {
            l.count(&R, &["kept"], 0);
            let _ = l.check(&R, &[&i.to_string()], 0);
        }
        assert!(l.peek(&R, &["kept"], 0).is_err());
    }

    #[test]
    fn sources_group_ipv6_by_64() {
        let a = Source::new("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = Source::new("2001:db8:1:2:bbbb::2".parse().unwrap());
        let c = Source::new("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            Source::new("::ffff:192.0.2.1".parse().unwrap()),
            Source::new("192.0.2.1".parse().unwrap())
        );
    }
}
