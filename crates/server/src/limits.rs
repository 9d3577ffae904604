//! Rate limits on guesses: sign-in, activation codes, e-mail codes. In
//! memory, per server instance (a fixed window per key).

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Limiter(Mutex<HashMap<String, (i64, u32)>>);

impl Limiter {
    /// Counts one attempt for `key`; false when `max` attempts were already
    /// made within `window` seconds.
    pub fn allow(&self, key: &str, max: u32, window: i64, now: i64) -> bool {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now - *start < window);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= max
    }

    /// Forgets `key` (after a success).
    pub fn reset(&self, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_max_per_window() {
        let l = Limiter::default();
        assert!((0..3).all(|_| l.allow("k", 3, 60, 0)));
        assert!(!l.allow("k", 3, 60, 10));
        assert!(l.allow("other", 3, 60, 10));
        assert!(l.allow("k", 3, 60, 61));
    }
}
