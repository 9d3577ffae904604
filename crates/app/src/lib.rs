//! The student's Coffre app without its window: the session (its token in
//! the OS keyring), the finalisation wizard, the Coffre and Organismes
//! tabs, documents with their seal checked offline against pinned roots
//! and cached CRLs, and the settings. `src-tauri` puts a window around it;
//! everything here is tested with plain `cargo test` against a real
//! server.
//!
//! Calls that touch the keyring may block (an unlock prompt): they run on
//! blocking threads, never the caller's.

#![forbid(unsafe_code)]

mod error;
mod seal;
mod settings;
mod trust;
mod vault;
pub mod view;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use coffre_api::{Client, ClientOptions};
use coffre_seal::UnixTime;

pub use error::{code, AppError, AppResult};
pub use settings::{Settings, DEFAULT_SERVER_URL};
pub use trust::fingerprint;
pub use vault::Vault;
use view::*;

/// How the app is set up by its shell.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// Settings, pinned roots and cached CRLs live here (never the token).
    pub data_dir: PathBuf,
    /// `COFFRE_SERVER_URL`: decides over the setting when set.
    pub server_url_env: Option<String>,
    /// The operator's root shipped with the app, if any (PEM).
    pub bundled_roots_pem: Option<String>,
    /// How the app names itself in the student's list of sessions.
    pub user_agent: String,
}

/// The app's state; every method is safe to call from any thread.
#[derive(Debug)]
pub struct App {
    config: AppConfig,
    vault: Vault,
    settings: Mutex<Settings>,
    trust: Mutex<trust::Trust>,
    /// The session token of this run (also in the keyring).
    token: Mutex<Option<String>>,
    /// The finalisation under way: its activation token and chosen e-mail.
    wizard: Mutex<Option<Wizard>>,
    /// The last documents opened, so that viewing, validating and saving
    /// one fetches it once.
    recent: Mutex<VecDeque<(String, Arc<Vec<u8>>)>>,
}

#[derive(Clone, Debug)]
struct Wizard {
    activation_token: String,
    email: Option<String>,
}

const RECENT: usize = 4;

impl App {
    /// Reads the settings and trust material in `config.data_dir`. The
    /// keyring is not touched: call [`App::probe_keyring`] off the window's
    /// thread.
    pub fn open(config: AppConfig) -> AppResult<App> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            AppError::new(
                code::FILE,
                format!("creating {}: {e}", config.data_dir.display()),
            )
        })?;
        let settings = Settings::load(&config.data_dir);
        let trust = trust::Trust::open(
            &config.data_dir.join("trust"),
            config.bundled_roots_pem.as_deref(),
        )?;
        Ok(App {
            config,
            vault: Vault::default(),
            settings: Mutex::new(settings),
            trust: Mutex::new(trust),
            token: Mutex::new(None),
            wizard: Mutex::new(None),
            recent: Mutex::new(VecDeque::new()),
        })
    }

    /// Finds a keyring that works (may block); the session lives in memory
    /// without one.
    pub fn probe_keyring(&self) -> KeyringState {
        self.vault.probe()
    }

    /// Keeps the session in memory only (tests; systems without keyring).
    pub fn use_memory_only(&self, reason: &str) -> KeyringState {
        self.vault.use_memory(reason)
    }

    pub fn startup(&self) -> Startup {
        Startup {
            settings: self.settings(),
            keyring: self.vault.state(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    pub fn server_url(&self) -> String {
        self.config
            .server_url_env
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| lock(&self.settings).server_url.clone())
    }

    fn client(&self) -> AppResult<Client> {
        Client::with_options(
            &self.server_url(),
            &ClientOptions {
                user_agent: Some(self.config.user_agent.clone()),
                extra_roots_pem: Vec::new(),
            },
        )
        .map_err(AppError::from)
    }

    fn session_client(&self) -> AppResult<Client> {
        let token = lock(&self.token).clone().ok_or_else(not_signed_in)?;
        Ok(self.client()?.with_token(&token))
    }

    /// Asks the server who the kept session belongs to: signed in, signed
    /// out (no session, or one the server ended), or offline.
    pub async fn session(&self) -> AppResult<SessionState> {
        let server = self.server_url();
        let cached = lock(&self.token).clone();
        let token = match cached {
            Some(t) => Some(t),
            None => {
                let vault = self.vault.clone();
                let kept =
                    blocking(code::KEYRING_UNAVAILABLE, move || vault.token(&server)).await?;
                kept.inspect(|t| *lock(&self.token) = Some(t.clone()))
            }
        };
        if token.is_none() {
            return Ok(SessionState::SignedOut);
        }
        match self.me().await {
            Ok(me) => {
                let _ = self.refresh_trust().await;
                Ok(SessionState::SignedIn { me })
            }
            Err(e) if e.code == "unauthorized" => {
                self.forget_session().await?;
                Ok(SessionState::SignedOut)
            }
            Err(e) if e.code == code::OFFLINE => Ok(SessionState::Offline { email: None }),
            Err(e) => Err(e),
        }
    }

    pub fn password_rules() -> PasswordRules {
        PasswordRules {
            min_chars: coffre_api::PASSWORD_MIN_CHARS as u32,
            max_bytes: coffre_api::PASSWORD_MAX_BYTES as u32,
        }
    }

    // ---- Finalisation ----

    /// Step 1: student number and activation code; greets the student.
    pub async fn identify(&self, args: &IdentifyArgs) -> AppResult<IdentifiedView> {
        let who = self
            .client()?
            .identify(&coffre_api::Identify {
                student_number: args.student_number.trim().to_owned(),
                activation_code: args.activation_code.trim().to_owned(),
            })
            .await?;
        *lock(&self.wizard) = Some(Wizard {
            activation_token: who.activation_token,
            email: None,
        });
        Ok(IdentifiedView {
            first_name: who.first_name,
            last_name: who.last_name,
            organisation: who.organisation,
        })
    }

    fn wizard(&self) -> AppResult<Wizard> {
        lock(&self.wizard).clone().ok_or_else(|| {
            AppError::new(
                code::NO_FINALISATION,
                "start the finalisation with your student number",
            )
        })
    }

    /// Step 2: the personal address; a 6-digit code is e-mailed to it.
    pub async fn choose_email(&self, email: &str) -> AppResult<EmailSentView> {
        let w = self.wizard()?;
        let sent = self
            .client()?
            .choose_email(&coffre_api::ChooseEmail {
                activation_token: w.activation_token.clone(),
                email: email.trim().to_owned(),
            })
            .await?;
        let email = email.trim().to_ascii_lowercase();
        if let Some(w) = lock(&self.wizard).as_mut() {
            w.email = Some(email.clone());
        }
        Ok(EmailSentView {
            email,
            work_like: sent.warning.is_some(),
            expires_in: u32::try_from(sent.expires_in).unwrap_or(u32::MAX),
        })
    }

    pub async fn verify_email(&self, code: &str) -> AppResult<()> {
        let w = self.wizard()?;
        self.client()?
            .verify_email(&coffre_api::VerifyEmail {
                activation_token: w.activation_token,
                code: code.trim().to_owned(),
            })
            .await?;
        Ok(())
    }

    /// Step 3: an existing safe (signed in) or a new one; then signed in.
    pub async fn complete(&self, choice: &SafeChoiceArgs) -> AppResult<MeView> {
        let w = self.wizard()?;
        let safe = match choice {
            SafeChoiceArgs::Existing { email, password } => coffre_api::SafeChoice::Existing {
                email: email.trim().to_owned(),
                password: password.clone(),
            },
            SafeChoiceArgs::New { password } => coffre_api::SafeChoice::New {
                password: password.clone(),
            },
        };
        let session = self
            .client()?
            .complete(&coffre_api::Complete {
                activation_token: w.activation_token,
                safe,
            })
            .await?;
        *lock(&self.wizard) = None;
        self.keep_session(session.token).await?;
        self.me().await
    }

    /// Forgets a finalisation under way ("Vous n'êtes pas … ?").
    pub fn cancel_finalisation(&self) {
        *lock(&self.wizard) = None;
    }

    // ---- Session ----

    pub async fn sign_in(&self, email: &str, password: &str) -> AppResult<MeView> {
        let session = self
            .client()?
            .sign_in(&coffre_api::SignIn {
                email: email.trim().to_owned(),
                password: password.to_owned(),
            })
            .await?;
        self.keep_session(session.token).await?;
        let me = self.me().await?;
        let _ = self.refresh_trust().await;
        Ok(me)
    }

    async fn keep_session(&self, token: String) -> AppResult<()> {
        *lock(&self.token) = Some(token.clone());
        let (vault, server) = (self.vault.clone(), self.server_url());
        blocking(code::KEYRING_UNAVAILABLE, move || {
            vault.keep(&server, &token)
        })
        .await
    }

    async fn forget_session(&self) -> AppResult<()> {
        *lock(&self.token) = None;
        lock(&self.recent).clear();
        let (vault, server) = (self.vault.clone(), self.server_url());
        blocking(code::KEYRING_UNAVAILABLE, move || vault.forget(&server)).await
    }

    /// Ends the session on the server (when it can be reached) and here.
    pub async fn sign_out(&self) -> AppResult<()> {
        if let Ok(c) = self.session_client() {
            match c.sign_out().await {
                Ok(()) => {}
                // Ended already, or offline: forgotten here all the same.
                Err(e) => tracing::info!("signing out on the server: {e}"),
            }
        }
        self.forget_session().await
    }

    pub async fn me(&self) -> AppResult<MeView> {
        let me = self.session_client()?.me().await?;
        Ok(MeView {
            email: me.email,
            first_name: me.first_name,
            last_name: me.last_name,
            initials: me.initials,
            used_bytes: me.used_bytes,
            quota_bytes: me.quota_bytes,
        })
    }

    // ---- Help without a session ----

    pub async fn request_reset(&self, email: &str) -> AppResult<()> {
        self.client()?
            .request_password_reset(&coffre_api::RequestPasswordReset {
                email: email.trim().to_owned(),
            })
            .await?;
        Ok(())
    }

    pub async fn confirm_reset(&self, args: &ConfirmResetArgs) -> AppResult<()> {
        self.client()?
            .confirm_password_reset(&coffre_api::ConfirmPasswordReset {
                email: args.email.trim().to_owned(),
                code: args.code.trim().to_owned(),
                new_password: args.new_password.clone(),
            })
            .await?;
        Ok(())
    }

    /// The lost-address support request; its reference.
    pub async fn support(&self, args: &SupportArgs) -> AppResult<i64> {
        let ticket = self
            .client()?
            .support(&coffre_api::SupportRequest {
                last_name: args.last_name.trim().to_owned(),
                first_name: args.first_name.trim().to_owned(),
                birth_date: args.birth_date.trim().to_owned(),
                university: args.university.trim().to_owned(),
                student_number: args.student_number.trim().to_owned(),
                possible_emails: args
                    .possible_emails
                    .iter()
                    .map(|e| e.trim().to_owned())
                    .filter(|e| !e.is_empty())
                    .collect(),
                message: args.message.trim().to_owned(),
            })
            .await?;
        Ok(ticket.reference)
    }

    pub async fn account_status(&self, args: &StatusArgs) -> AppResult<Vec<StatusView>> {
        let found = self
            .client()?
            .account_status(&coffre_api::StatusQuery {
                student_number: args.student_number.trim().to_owned(),
                last_name: args.last_name.trim().to_owned(),
                birth_date: args.birth_date.trim().to_owned(),
            })
            .await?;
        Ok(found
            .into_iter()
            .map(|s| StatusView {
                organisation: s.organisation,
                status: match s.status {
                    coffre_api::AccountState::NotProvisioned => AccountStateView::NotProvisioned,
                    coffre_api::AccountState::PreCreated => AccountStateView::PreCreated,
                    coffre_api::AccountState::Refused => AccountStateView::Refused,
                    coffre_api::AccountState::Finalised => AccountStateView::Finalised,
                },
                masked_email: s.masked_email,
                former: s.former,
            })
            .collect())
    }

    // ---- Coffre and Organismes ----

    pub async fn documents(&self, args: &ListArgs) -> AppResult<DocumentsPage> {
        let page = self
            .session_client()?
            .documents(&coffre_api::DocumentQuery {
                organisation: args.organisation.clone().filter(|o| !o.is_empty()),
                kind: args.kind.map(kind_to_api),
                year: args.year.clone().filter(|y| !y.is_empty()),
                q: args.q.clone().filter(|q| !q.trim().is_empty()),
                sort: Some(match args.sort.unwrap_or_default() {
                    Sort::Newest => coffre_api::DocumentSort::Newest,
                    Sort::Oldest => coffre_api::DocumentSort::Oldest,
                    Sort::Title => coffre_api::DocumentSort::Title,
                }),
                page: Some(args.page.max(1)),
                per_page: Some(args.per_page.clamp(1, 200)),
            })
            .await?;
        Ok(DocumentsPage {
            documents: page.documents.into_iter().map(row).collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        })
    }

    pub async fn facets(&self) -> AppResult<FacetsView> {
        let f = self.session_client()?.document_facets().await?;
        let view = |v: Vec<coffre_api::Facet>| {
            v.into_iter()
                .map(|f| FacetView {
                    value: f.value,
                    count: f.count,
                })
                .collect()
        };
        Ok(FacetsView {
            organisations: view(f.organisations),
            kinds: view(f.kinds),
            years: view(f.years),
            personal: f.personal,
        })
    }

    /// *Organismes*: current first, then former, each with its documents.
    pub async fn organisations(&self) -> AppResult<Vec<OrganisationView>> {
        let client = self.session_client()?;
        let (orgs, facets) = tokio::try_join!(client.organisations(), client.document_facets())?;
        let mut out: Vec<OrganisationView> = orgs
            .into_iter()
            .map(|o| OrganisationView {
                documents: facets
                    .organisations
                    .iter()
                    .find(|f| f.value == o.name)
                    .map_or(0, |f| f.count),
                name: o.name,
                current: o.current,
            })
            .collect();
        out.sort_by(|a, b| b.current.cmp(&a.current).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    // ---- A document ----

    /// The document's bytes (fetched once for the last few opened).
    pub async fn document_bytes(&self, id: &str) -> AppResult<Arc<Vec<u8>>> {
        if let Some((_, b)) = lock(&self.recent).iter().find(|(i, _)| i == id) {
            return Ok(Arc::clone(b));
        }
        let bytes = Arc::new(self.session_client()?.document_content(id).await?.to_vec());
        let mut recent = lock(&self.recent);
        recent.push_front((id.to_owned(), Arc::clone(&bytes)));
        recent.truncate(RECENT);
        Ok(bytes)
    }

    /// The document and its certificate of originality, validated here
    /// with the trusted roots and the cached revocation lists.
    pub async fn open_document(&self, id: &str, now: UnixTime) -> AppResult<DocumentView> {
        let client = self.session_client()?;
        let info = client.document(id).await?;
        let bytes = self.document_bytes(id).await?;
        // Fresh revocation lists when the server gives them; the cached
        // ones otherwise (a changed root is refused, not taken).
        let _ = self.refresh_trust().await;
        let seal = {
            let trust = lock(&self.trust);
            seal::check(&bytes, &trust, now)?
        };
        Ok(DocumentView {
            document: row(info),
            seal,
        })
    }

    /// Writes the document to `path` (the shell asked where).
    pub async fn save_document(&self, id: &str, path: &Path) -> AppResult<()> {
        let bytes = self.document_bytes(id).await?;
        let path = path.to_owned();
        blocking(code::FILE, move || {
            std::fs::write(&path, bytes.as_slice())
                .map_err(|e| format!("writing {}: {e}", path.display()))
        })
        .await
    }

    /// The file name the save dialog proposes.
    pub async fn suggested_name(&self, id: &str) -> AppResult<String> {
        let info = self.session_client()?.document(id).await?;
        let bytes = self.document_bytes(id).await?;
        let ext = if bytes.starts_with(b"%PDF-") {
            "pdf"
        } else if bytes.starts_with(b"\x89PNG") {
            "png"
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            "jpg"
        } else {
            "bin"
        };
        Ok(file_name(&info.title, ext))
    }

    // ---- Settings and trust ----

    pub fn settings(&self) -> SettingsView {
        let s = lock(&self.settings).clone();
        let trust = lock(&self.trust);
        SettingsView {
            lang: s.lang,
            lang_chosen: s.lang_chosen,
            server_url: self.server_url(),
            server_url_from_env: self
                .config
                .server_url_env
                .as_ref()
                .is_some_and(|u| !u.trim().is_empty()),
            anchors: trust.views(),
            crls_fetched_at: trust.fetched_at(),
            trust_changed: trust.changed,
        }
    }

    pub fn set_language(&self, lang: Lang) -> AppResult<SettingsView> {
        {
            let mut s = lock(&self.settings);
            s.lang = lang;
            s.lang_chosen = true;
            s.save(&self.config.data_dir)?;
        }
        Ok(self.settings())
    }

    /// Another server: the session of this one is kept in the keyring for
    /// when it comes back, and the app starts signed out.
    pub async fn set_server_url(&self, url: &str) -> AppResult<SettingsView> {
        let url = settings::check_server_url(url)?;
        {
            let mut s = lock(&self.settings);
            s.server_url = url;
            s.save(&self.config.data_dir)?;
        }
        *lock(&self.token) = None;
        lock(&self.recent).clear();
        Ok(self.settings())
    }

    /// Fetches the server's roots and CRLs: CRLs cached, roots pinned on
    /// first contact and compared afterwards.
    pub async fn refresh_trust(&self) -> AppResult<SettingsView> {
        let offered = self.client()?.trust().await?;
        let now = now();
        lock(&self.trust).update(&offered, now)?;
        Ok(self.settings())
    }
}

fn not_signed_in() -> AppError {
    AppError::new(code::NOT_SIGNED_IN, "sign in first")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a call that may block (the keyring, files) on a blocking thread;
/// its failure gets the code `failure`.
async fn blocking<T, F>(failure: &'static str, work: F) -> AppResult<T>
where
    F: FnOnce() -> Result<T, String> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::new(failure, e))
}

/// Now, from the system clock (the seal crate takes the time as given).
pub fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn kind_to_api(k: Kind) -> coffre_api::DocumentKind {
    use coffre_api::DocumentKind as K;
    match k {
        Kind::Transcript => K::Transcript,
        Kind::CertificateOfAchievement => K::CertificateOfAchievement,
        Kind::Diploma => K::Diploma,
        Kind::Identity => K::Identity,
        Kind::Invoice => K::Invoice,
        Kind::Other => K::Other,
    }
}

fn kind_of_api(k: coffre_api::DocumentKind) -> Kind {
    use coffre_api::DocumentKind as K;
    match k {
        K::Transcript => Kind::Transcript,
        K::CertificateOfAchievement => Kind::CertificateOfAchievement,
        K::Diploma => Kind::Diploma,
        K::Identity => Kind::Identity,
        K::Invoice => Kind::Invoice,
        _ => Kind::Other,
    }
}

fn row(d: coffre_api::DocumentInfo) -> DocumentRow {
    DocumentRow {
        id: d.id,
        title: d.title,
        kind: kind_of_api(d.kind),
        organisation: d.organisation,
        academic_year: d.academic_year,
        size: d.size,
        created_at: d.created_at,
        sealed: d.sealed,
    }
}

/// A title as a file name with `ext`, cleaned of what file systems refuse.
pub fn file_name(title: &str, ext: &str) -> String {
    let clean: String = title
        .chars()
        .map(|c| {
            if c.is_control() || "/\\\":*?<>|".contains(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let clean = clean
        .trim_matches('.')
        .chars()
        .take(120)
        .collect::<String>();
    let clean = if clean.is_empty() {
        "document".to_owned()
    } else {
        clean
    };
    if clean.to_ascii_lowercase().ends_with(&format!(".{ext}")) {
        clean
    } else {
        format!("{clean}.{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_words_and_gain_their_extension() {
        assert_eq!(
            file_name("Relevé de notes / Transcript 2025-2026", "pdf"),
            "Relevé de notes Transcript 2025-2026.pdf"
        );
        assert_eq!(file_name("scan.PDF", "pdf"), "scan.PDF");
        assert_eq!(file_name("..", "pdf"), "document.pdf");
        assert_eq!(file_name("a\u{1b}b", "png"), "a b.png");
    }
}
