//! What the app hands its window, and what the window hands back: plain
//! serialisable types (camelCase in JSON), from which the UI's TypeScript
//! types are generated (`typescript()`, compared with
//! `ui/src/lib/bindings.ts` by a test). Times are Unix seconds; sizes bytes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The app's languages: French first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Fr,
    En,
}

/// What the window needs first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Startup {
    pub settings: SettingsView,
    /// Where the session token is kept.
    pub keyring: KeyringState,
}

/// Whether an OS keyring holds the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum KeyringState {
    /// Not known yet (the probe runs off the window's thread).
    Probing,
    /// The token goes into the named store (Secret Service, Keychain, …).
    Available { store: String },
    /// None works: the session lives in memory for this run only.
    MemoryOnly { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub lang: Lang,
    /// Whether the student chose the language (else the system's is used).
    pub lang_chosen: bool,
    pub server_url: String,
    /// `COFFRE_SERVER_URL` decides, not the setting.
    pub server_url_from_env: bool,
    pub anchors: Vec<AnchorView>,
    /// When the revocation lists were last fetched, if ever.
    pub crls_fetched_at: Option<i64>,
    /// The server last offered a root other than the trusted one: refused.
    pub trust_changed: bool,
}

/// A root the app trusts for seals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AnchorView {
    pub subject: String,
    /// SHA-256 of the certificate, in groups of four hex digits.
    pub fingerprint: String,
    pub not_after: i64,
    /// Shipped with the app, or pinned on first contact with the server.
    pub source: AnchorSource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum AnchorSource {
    Bundled,
    Pinned,
}

/// The account menu (the circle with the initials).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MeView {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub initials: String,
    pub used_bytes: u64,
    pub quota_bytes: u64,
}

/// Where the app stands when the window asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SessionState {
    SignedOut,
    SignedIn {
        me: MeView,
    },
    /// A session is kept but the server cannot be reached to check it.
    Offline {
        email: Option<String>,
    },
}

/// What the server asks of a new password, shown before it is typed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PasswordRules {
    pub min_chars: u32,
    pub max_bytes: u32,
}

// ---- Finalisation ----

/// Step 1, *Identifiez-vous*.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdentifyArgs {
    pub student_number: String,
    pub activation_code: String,
}

/// "Bonjour Prénom Nom".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdentifiedView {
    pub first_name: String,
    pub last_name: String,
    pub organisation: String,
}

/// Step 2, *Vérifiez votre adresse e-mail*: the code was sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EmailSentView {
    pub email: String,
    /// The address looks like a work one: the seed's warning is shown.
    pub work_like: bool,
    pub expires_in: u32,
}

/// Step 3, *Associez votre coffre*: "Avez-vous déjà un coffre ?"
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "choice")]
pub enum SafeChoiceArgs {
    /// Yes: sign in to it.
    Existing { email: String, password: String },
    /// No: create it with this password.
    New { password: String },
}

// ---- Help without a session ----

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmResetArgs {
    pub email: String,
    pub code: String,
    pub new_password: String,
}

/// "Je n'ai plus accès à mon adresse de connexion": the procedure's list.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SupportArgs {
    pub last_name: String,
    pub first_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub university: String,
    pub student_number: String,
    pub possible_emails: Vec<String>,
    pub message: String,
}

/// "Vérifier l'état de mon compte".
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusArgs {
    pub student_number: String,
    pub last_name: String,
    pub birth_date: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    pub organisation: Option<String>,
    pub status: AccountStateView,
    pub masked_email: Option<String>,
    pub former: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountStateView {
    NotProvisioned,
    PreCreated,
    Refused,
    Finalised,
}

// ---- Coffre ----

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Transcript,
    CertificateOfAchievement,
    Diploma,
    Identity,
    Invoice,
    Other,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    Title,
}

/// The Coffre list's filters and page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ListArgs {
    pub organisation: Option<String>,
    pub kind: Option<Kind>,
    pub year: Option<String>,
    pub q: Option<String>,
    pub sort: Option<Sort>,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRow {
    pub id: String,
    pub title: String,
    pub kind: Kind,
    /// `None` for the student's own file.
    pub organisation: Option<String>,
    pub academic_year: Option<String>,
    pub size: u64,
    pub created_at: i64,
    /// A sealed original deposited by an organisation.
    pub sealed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DocumentsPage {
    pub documents: Vec<DocumentRow>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// The filters' choices, with counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FacetsView {
    pub organisations: Vec<FacetView>,
    pub kinds: Vec<FacetView>,
    pub years: Vec<FacetView>,
    pub personal: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FacetView {
    pub value: String,
    pub count: u64,
}

/// *Organismes*: each organisation, current or former, with how many of
/// its documents the safe holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrganisationView {
    pub name: String,
    pub current: bool,
    pub documents: u64,
}

// ---- A document and its seal ----

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    pub document: DocumentRow,
    /// The certificate of originality, validated here, offline.
    pub seal: SealView,
}

/// The verdict in words the UI picks by `verdict` and `reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// TOTAL_PASSED: the seal is valid and the document intact.
    Passed,
    /// INDETERMINATE: the seal cannot be confirmed.
    Indeterminate,
    /// TOTAL_FAILED: the seal is invalid or the document was changed.
    Failed,
    /// The file carries no seal (a personal file).
    NoSeal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SealView {
    pub verdict: Verdict,
    /// `TOTAL_PASSED`, `INDETERMINATE`, `TOTAL_FAILED` or `NO_SIGNATURE`.
    pub indication: String,
    /// The ETSI EN 319 102-1 sub-indication (`HASH_FAILURE`, …).
    pub reason: Option<String>,
    /// The sealing organisation.
    pub issuer: Option<String>,
    /// The seal certificate's common name and serial.
    pub certificate: Option<String>,
    pub serial: Option<String>,
    /// When it was sealed: the time-stamp's time, else the claimed one.
    pub sealed_at: Option<i64>,
    /// A valid time-stamp proves `sealed_at`.
    pub timestamped: bool,
    /// Something that changes what the document shows came after sealing.
    pub changed_after_sealing: bool,
    /// Only validation data was added after sealing (or nothing).
    pub covers_whole_document: bool,
    /// The chain up to the anchor, leaf first.
    pub chain: Vec<String>,
    /// The issue date of the newest revocation list used, if any.
    pub revocation_date: Option<i64>,
    pub revocation_checked: bool,
    /// When this check ran (here, now).
    pub checked_at: i64,
    /// The validator's details, in English.
    pub details: Vec<String>,
}

/// Every generated type, in the order of `ui/src/lib/bindings.ts`.
pub fn typescript() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let decls = [
        Lang::decl(&cfg),
        Startup::decl(&cfg),
        KeyringState::decl(&cfg),
        SettingsView::decl(&cfg),
        AnchorView::decl(&cfg),
        AnchorSource::decl(&cfg),
        MeView::decl(&cfg),
        SessionState::decl(&cfg),
        PasswordRules::decl(&cfg),
        IdentifyArgs::decl(&cfg),
        IdentifiedView::decl(&cfg),
        EmailSentView::decl(&cfg),
        SafeChoiceArgs::decl(&cfg),
        ConfirmResetArgs::decl(&cfg),
        SupportArgs::decl(&cfg),
        StatusArgs::decl(&cfg),
        StatusView::decl(&cfg),
        AccountStateView::decl(&cfg),
        Kind::decl(&cfg),
        Sort::decl(&cfg),
        ListArgs::decl(&cfg),
        DocumentRow::decl(&cfg),
        DocumentsPage::decl(&cfg),
        FacetsView::decl(&cfg),
        FacetView::decl(&cfg),
        OrganisationView::decl(&cfg),
        DocumentView::decl(&cfg),
        Verdict::decl(&cfg),
        SealView::decl(&cfg),
        crate::AppError::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/app/src/view.rs by `COFFRE_BLESS=1 cargo test -p coffre-app`;\n\
         // do not edit: a test fails when this file and the Rust types differ.\n\n",
    );
    for d in decls {
        out.push_str("export ");
        out.push_str(d.trim());
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ui/src/lib/bindings.ts` is what the Rust types say; with
    /// `COFFRE_BLESS=1` it is rewritten.
    #[test]
    fn ui_bindings_are_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings.ts");
        let want = typescript();
        if std::env::var("COFFRE_BLESS").as_deref() == Ok("1") {
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is stale: run COFFRE_BLESS=1 cargo test -p coffre-app",
            path.display()
        );
    }
}
