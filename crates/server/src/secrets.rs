//! Tokens, codes and passwords. Tokens and codes are random and stored
//! only as HMAC-SHA-256 under the server's secret, a key kept apart from
//! the database: a copy of the database alone does not let anyone try
//! 6-digit codes offline. Passwords are Argon2id, hashed by a bounded
//! number of workers with a short queue.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

/// The key under which tokens and codes are stored.
#[derive(Clone)]
pub struct ServerSecret([u8; 32]);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(…)")
    }
}

impl ServerSecret {
    /// From 64 hex digits (`COFFRE_SECRET`).
    pub fn from_hex(hex: &str) -> Result<ServerSecret> {
        let hex = hex.trim();
        anyhow::ensure!(
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "the server secret is 64 hexadecimal digits (32 random bytes)"
        );
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
        }
        Ok(ServerSecret(key))
    }

    /// Reads the secret file, creating it (0600, random) on the first start.
    pub fn load_or_create(path: &Path) -> Result<ServerSecret> {
        match std::fs::read_to_string(path) {
            Ok(text) => ServerSecret::from_hex(&text)
                .with_context(|| format!("reading the server secret {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::thread_rng().gen();
                let hex = format!("{}\n", coffre_seal::hex(&key));
                if crate::private::write_new(path, hex.as_bytes())? {
                    Ok(ServerSecret(key))
                } else {
                    // Another process (a server starting, an operator's
                    // command) made it first: theirs it is.
                    Self::load_or_create(path)
                }
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// How a token or code is stored: HMAC-SHA-256 under the secret, hex.
    pub fn hash(&self, secret: &str) -> String {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(secret.as_bytes());
        coffre_seal::hex(&mac.finalize().into_bytes())
    }
}

/// How API keys and activation codes were stored before the server had a
/// secret (plain SHA-256): still accepted for those two, which were handed
/// out and live long, and rewritten under the secret on first use.
pub fn legacy_hash(secret: &str) -> String {
    coffre_seal::hex(&coffre_seal::sha256(secret.as_bytes()))
}

/// A 256-bit random token, hex.
pub fn token() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    coffre_seal::hex(&bytes)
}

/// A short random id for what a person may see (a session), hex.
pub fn public_id() -> String {
    let bytes: [u8; 8] = rand::thread_rng().gen();
    coffre_seal::hex(&bytes)
}

/// A single-use code a person types: 12 characters with no look-alikes,
/// `XXXX-XXXX-XXXX` (about 60 bits). Activation codes and undo codes.
pub fn activation_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let chars: Vec<char> = (0..12)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    format!(
        "{}-{}-{}",
        chars[..4].iter().collect::<String>(),
        chars[4..8].iter().collect::<String>(),
        chars[8..].iter().collect::<String>()
    )
}

/// Codes are compared without dashes, spaces or case (and are short).
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A 6-digit e-mail code.
pub fn email_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
}

/// Argon2id hashing with a bounded number of hashes at a time (each takes
/// 19 MiB): `workers` run, up to `queue` more wait, and beyond that the
/// answer is [`ApiError::Busy`] at once. Memory for passwords is then at
/// most `workers × 19 MiB`, whatever arrives.
#[derive(Debug)]
pub struct Passwords {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    /// Verified when the account does not exist, so that the answer takes
    /// as long either way.
    dummy: String,
}

impl Passwords {
    pub fn new(workers: usize, queue: usize) -> Result<Passwords> {
        let dummy = hash_now("not a password of anyone's")?;
        Ok(Passwords {
            running: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            dummy,
        })
    }

    /// One worker per core, and a queue of eight per worker.
    pub fn for_this_machine() -> Result<Passwords> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Passwords::new(cores, 8 * cores)
    }

    pub async fn hash(&self, password: &str) -> ApiResult<String> {
        let password = password.to_owned();
        self.run(move || hash_now(&password))
            .await?
            .map_err(ApiError::Internal)
    }

    /// Whether `password` is the one `stored` hashes; `None` (no such
    /// account) takes the same time and is `false`.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> ApiResult<bool> {
        let password = password.to_owned();
        let (stored, real) = match stored {
            Some(s) => (s, true),
            None => (self.dummy.clone(), false),
        };
        let ok = self.run(move || verify_now(&password, &stored)).await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let permit = match Arc::clone(&self.running).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let _in_queue = QueuePlace::take(&self.waiting, self.queue)?;
                Arc::clone(&self.running)
                    .acquire_owned()
                    .await
                    .map_err(|e| ApiError::Internal(e.into()))?
            }
        };
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))
    }
}

/// A place in the queue, given back when dropped (also when the caller
/// goes away while waiting).
struct QueuePlace<'a>(&'a AtomicUsize);

impl<'a> QueuePlace<'a> {
    fn take(waiting: &'a AtomicUsize, max: usize) -> ApiResult<QueuePlace<'a>> {
        if waiting.fetch_add(1, Ordering::SeqCst) >= max {
            waiting.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(event = "busy", "password hashing queue full: answered busy");
            return Err(ApiError::Busy);
        }
        Ok(QueuePlace(waiting))
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Argon2id with the crate's recommended parameters (19 MiB, 2 passes).
fn hash_now(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

fn verify_now(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_shape() {
        let c = activation_code();
        assert_eq!(c.len(), 14);
        assert_eq!(normalise_code(&c.to_lowercase()).len(), 12);
        assert_eq!(email_code().len(), 6);
        assert_ne!(token(), token());
        assert_eq!(normalise_code(&"a".repeat(1 << 20)).len(), 64);
    }

    #[test]
    fn stored_codes_depend_on_the_secret() {
        let a = ServerSecret::from_hex(&"11".repeat(32)).unwrap();
        let b = ServerSecret::from_hex(&"22".repeat(32)).unwrap();
        assert_eq!(a.hash("123456"), a.hash("123456"));
        assert_ne!(a.hash("123456"), b.hash("123456"));
        assert_ne!(a.hash("123456"), legacy_hash("123456"));
        assert!(ServerSecret::from_hex("abc").is_err());
    }

    #[tokio::test]
    async fn passwords_verify_only_themselves() {
        let p = Passwords::new(1, 1).unwrap();
        let h = p.hash("correct horse").await.unwrap();
        assert!(p.verify("correct horse", Some(h.clone())).await.unwrap());
        assert!(!p.verify("correct horse!", Some(h)).await.unwrap());
        assert!(!p.verify("x", Some("not a hash".into())).await.unwrap());
        assert!(!p.verify("not a password of anyone's", None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn beyond_the_queue_the_answer_is_busy() {
        let p = Arc::new(Passwords::new(1, 2).unwrap());
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let p = Arc::clone(&p);
                tokio::spawn(async move { p.hash(&format!("password {i}")).await })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => {}
                Err(ApiError::Busy) => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(busy >= 1, "no busy answer with 1 worker and 2 places");
        assert!(busy <= 9);
        assert_eq!(p.waiting.load(Ordering::SeqCst), 0);
    }
}
