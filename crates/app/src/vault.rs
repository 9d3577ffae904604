//! Where the session token lives: the OS keyring, each platform's store
//! named explicitly (macOS Keychain, Windows Credential Manager, on Linux
//! the Secret Service, else the kernel's keyutils), never a plain file and
//! never a mock. When no store works, the token is held in memory for this
//! run and the window says it will ask again next time.
//!
//! Every call may block (a locked keyring opens an unlock prompt and
//! waits): callers run them off the window's thread.

use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry};

use crate::view::KeyringState;

const SERVICE: &str = "Coffre";

/// The keyring chosen at start, or memory.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Mutex<Inner>>,
}

enum Inner {
    Probing,
    Store {
        store: Arc<CredentialStore>,
        name: &'static str,
    },
    Memory {
        reason: String,
        tokens: std::collections::HashMap<String, String>,
    },
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({:?})", self.state())
    }
}

impl Default for Vault {
    fn default() -> Self {
        Vault {
            inner: Arc::new(Mutex::new(Inner::Probing)),
        }
    }
}

impl Vault {
    /// Tries this platform's stores in order, with a write, a read and a
    /// delete of a probe entry; keeps the first that works.
    pub fn probe(&self) -> KeyringState {
        let mut reasons = Vec::new();
        for (name, open) in stores() {
            match open().and_then(|store| try_store(&store).map(|()| store)) {
                Ok(store) => {
                    *self.lock() = Inner::Store { store, name };
                    tracing::info!(store = name, "keyring available");
                    return self.state();
                }
                Err(e) => reasons.push(format!("{name}: {e}")),
            }
        }
        let reason = if reasons.is_empty() {
            "no keyring on this system".to_owned()
        } else {
            reasons.join("; ")
        };
        tracing::warn!("no keyring: the session stays in memory ({reason})");
        self.use_memory(&reason)
    }

    /// Holds tokens in memory only (no keyring, or tests that want none).
    pub fn use_memory(&self, reason: &str) -> KeyringState {
        *self.lock() = Inner::Memory {
            reason: reason.to_owned(),
            tokens: Default::default(),
        };
        self.state()
    }

    pub fn state(&self) -> KeyringState {
        match &*self.lock() {
            Inner::Probing => KeyringState::Probing,
            Inner::Store { name, .. } => KeyringState::Available {
                store: (*name).to_owned(),
            },
            Inner::Memory { reason, .. } => KeyringState::MemoryOnly {
                reason: reason.clone(),
            },
        }
    }

    /// The token kept for `server`, if any.
    pub fn token(&self, server: &str) -> Result<Option<String>, String> {
        match &*self.lock() {
            Inner::Probing => Ok(None),
            Inner::Memory { tokens, .. } => Ok(tokens.get(server).cloned()),
            Inner::Store { store, .. } => match entry(store, server)?.get_password() {
                Ok(t) => Ok(Some(t)),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    pub fn keep(&self, server: &str, token: &str) -> Result<(), String> {
        match &mut *self.lock() {
            Inner::Probing => Err("the keyring is not ready yet".into()),
            Inner::Memory { tokens, .. } => {
                tokens.insert(server.to_owned(), token.to_owned());
                Ok(())
            }
            Inner::Store { store, .. } => entry(store, server)?
                .set_password(token)
                .map_err(|e| e.to_string()),
        }
    }

    pub fn forget(&self, server: &str) -> Result<(), String> {
        match &mut *self.lock() {
            Inner::Probing => Ok(()),
            Inner::Memory { tokens, .. } => {
                tokens.remove(server);
                Ok(())
            }
            Inner::Store { store, .. } => match entry(store, server)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn entry(store: &Arc<CredentialStore>, server: &str) -> Result<Entry, String> {
    Entry::new_in_store(store, SERVICE, server).map_err(|e| e.to_string())
}

fn try_store(store: &Arc<CredentialStore>) -> Result<(), String> {
    let user = format!("probe-{}", std::process::id());
    let probe = Entry::new_in_store(store, SERVICE, &user).map_err(|e| e.to_string())?;
    probe.set_password("probe").map_err(|e| e.to_string())?;
    let back = probe.get_password().map_err(|e| e.to_string())?;
    let _ = probe.delete_credential();
    if back != "probe" {
        return Err("the keyring gave back another secret".into());
    }
    Ok(())
}

type Open = fn() -> Result<Arc<CredentialStore>, String>;

/// This platform's stores, best first.
fn stores() -> Vec<(&'static str, Open)> {
    let mut out: Vec<(&'static str, Open)> = Vec::new();
    #[cfg(target_os = "linux")]
    {
        out.push(("Secret Service", || {
            zbus_secret_service_keyring_store::Store::new()
                .map(|s| s as Arc<CredentialStore>)
                .map_err(|e| e.to_string())
        }));
        out.push(("kernel keyutils", || {
            linux_keyutils_keyring_store::Store::new()
                .map(|s| s as Arc<CredentialStore>)
                .map_err(|e| e.to_string())
        }));
    }
    #[cfg(target_os = "macos")]
    out.push(("macOS Keychain", || {
        apple_native_keyring_store::keychain::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| e.to_string())
    }));
    #[cfg(target_os = "windows")]
    out.push(("Windows Credential Manager", || {
        windows_native_keyring_store::Store::new()
            .map(|s| s as Arc<CredentialStore>)
            .map_err(|e| e.to_string())
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_keeps_tokens_per_server_for_this_run() {
        let v = Vault::default();
        assert_eq!(v.state(), KeyringState::Probing);
        v.use_memory("tests");
        v.keep("http://a", "t1").unwrap();
        assert_eq!(v.token("http://a").unwrap().as_deref(), Some("t1"));
        assert_eq!(v.token("http://b").unwrap(), None);
        v.forget("http://a").unwrap();
        assert_eq!(v.token("http://a").unwrap(), None);
        assert!(matches!(v.state(), KeyringState::MemoryOnly { .. }));
    }
}
