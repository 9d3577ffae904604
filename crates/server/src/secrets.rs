//! Tokens, codes and passwords. Tokens and codes are random and stored
//! only as HMAC-SHA-256 under the server's secret, a key kept apart from
//! the database: a copy of the database alone does not let anyone try
//! 6-digit codes offline. Passwords are Argon2id, hashed by a bounded
//! number of workers with a short queue.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use hmac::{Hmac, Mac};
use rand::Rng;

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

/// Argon2id hashing on `workers` threads of its own, each with its 19 MiB
/// of Argon2 memory allocated once: up to `queue` more hashes wait, and
/// beyond that the answer is [`ApiError::Busy`] at once. Memory for
/// passwords is `workers × 19 MiB`, whatever arrives (a fresh 19 MiB per
/// hash left up to three copies in each allocator arena: 190 MB after
/// 1,000 sign-ins).
pub struct Passwords {
    jobs: std::sync::mpsc::SyncSender<Job>,
    /// Verified when the account does not exist, so that the answer takes
    /// as long either way.
    dummy: String,
}

/// A job runs on a worker with that worker's Argon2 memory.
type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    pub fn new(workers: usize, queue: usize) -> Result<Passwords> {
        let dummy = {
            let mut memory = argon2_memory();
            hash_now("not a password of anyone's", &mut memory)?
        };
        let (jobs, waiting) = std::sync::mpsc::sync_channel::<Job>(queue);
        let waiting = Arc::new(std::sync::Mutex::new(waiting));
        for i in 0..workers.max(1) {
            let waiting = Arc::clone(&waiting);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory = argon2_memory();
                    loop {
                        let job = waiting.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(&mut memory),
                            // The service is gone.
                            Err(_) => return,
                        }
                    }
                })
                .context("starting a password-hashing thread")?;
        }
        Ok(Passwords { jobs, dummy })
    }

    /// One worker per core, and a queue of eight per worker.
    pub fn for_this_machine() -> Result<Passwords> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Passwords::new(cores, 8 * cores)
    }

    pub async fn hash(&self, password: &str) -> ApiResult<String> {
        let password = password.to_owned();
        self.run(move |memory| hash_now(&password, memory))
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
        let ok = self
            .run(move |memory| verify_now(&password, &stored, memory))
            .await?;
        Ok(ok && real)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> ApiResult<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = done.send(work(memory));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                tracing::warn!(event = "busy", "password hashing queue full: answered busy");
                return Err(ApiError::Busy);
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                return Err(ApiError::Internal(anyhow::anyhow!(
                    "the password-hashing threads stopped"
                )))
            }
        }
        result
            .await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a password hash was lost")))
    }
}

/// Argon2 memory for the crate's recommended parameters (19 MiB).
fn argon2_memory() -> Vec<Block> {
    vec![Block::default(); Params::default().block_count()]
}

/// Argon2id with the crate's recommended parameters (19 MiB, 2 passes),
/// in `memory`, as a PHC string.
fn hash_now(password: &str, memory: &mut [Block]) -> Result<String> {
    let argon2 = Argon2::default();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("a password salt: {e}"))?;
    let hash = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut *memory)
            .map_err(|_| password_hash::Error::Password)
    })
    .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(hash),
    };
    Ok(phc.to_string())
}

/// Whether `password` hashes to the PHC string `stored`, in `memory` when
/// its parameters fit there (they are ours), else in memory of its own.
fn verify_now(password: &str, stored: &str, memory: &mut [Block]) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (Params::try_from(&phc), Algorithm::try_from(phc.algorithm))
    else {
        return false;
    };
    let version = match phc.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        let done = if blocks <= memory.len() {
            argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                out,
                &mut *memory,
            )
        } else {
            argon2.hash_password_into(password.as_bytes(), salt_bytes, out)
        };
        done.map_err(|_| password_hash::Error::Password)
    });
    // Output compares in constant time.
    computed.is_ok_and(|c| c == expected)
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

    #[test]
    fn hashes_are_standard_phc_strings() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = argon2_memory();
        // Ours verify with the crate's own verifier, and the crate's with ours.
        let ours = hash_now("correct horse", &mut memory).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify_now("battery staple", &theirs, &mut memory));
        assert!(!verify_now("battery stable", &theirs, &mut memory));
        // Stronger parameters than ours still verify, in memory of their own.
        let strong = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"strong", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(verify_now("strong", &strong, &mut memory));
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
        assert!(busy <= 10, "{busy} of 12 refused with room for 2 or 3");
        // The queue empties again.
        p.hash("after the rush").await.unwrap();
    }
}
