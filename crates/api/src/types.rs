//! The JSON shapes of the Coffre HTTP API, shared by the server and its
//! clients. Paths are relative to the server's base URL.

use serde::{Deserialize, Serialize};

/// Every error body: a stable machine code and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// The request's id, as the server's log names it: what to quote to
    /// the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

// ---- Operator -------------------------------------------------------------

/// `GET /api/v1/trust`: what a client needs to validate seals offline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrustMaterial {
    /// PEM certificates of the operator's roots.
    pub anchors: Vec<String>,
    /// PEM CRLs of the operator's CAs.
    pub crls: Vec<String>,
    /// PEM: the operator's attestation certificates (the keys that sign
    /// the QR codes of printed copies), then the CA certificates between
    /// them and a root.
    #[serde(default)]
    pub attestation: Vec<String>,
}

/// `GET /api/v1/documents/{id}/attestation`: the operator's signed
/// statement about a deposited original, as a printed copy's QR code
/// carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentAttestation {
    /// The QR code's text: a URL on the operator's server that carries the
    /// signed statement itself.
    pub text: String,
}

// ---- Organisation API (Authorization: Bearer <organisation API key>) ------

/// One roster row as the organisation sends it (CSV in the request body:
/// `student_number,last_name,first_name,birth_date,institutional_email[,refused]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RosterRow {
    pub student_number: String,
    pub last_name: String,
    pub first_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub institutional_email: String,
    #[serde(default)]
    pub refused: bool,
}

/// `POST /api/v1/org/roster` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RosterImport {
    /// Safes pre-created by this import, with their single-use codes.
    pub created: Vec<ActivationCode>,
    /// Rows recorded as refused (no safe).
    pub refused: Vec<String>,
    /// Rows already known, left as they were.
    pub unchanged: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivationCode {
    pub student_number: String,
    pub activation_code: String,
}

/// The account status an organisation or a student can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    NotProvisioned,
    PreCreated,
    Refused,
    Finalised,
}

/// `GET /api/v1/org/students/{student_number}/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountStatus {
    pub student_number: String,
    pub status: AccountState,
    /// `c•••••@example.org` when finalised.
    pub masked_email: Option<String>,
    /// The organisation marked the student as former.
    pub former: bool,
    /// Whose record this is (always set in the student's own check).
    #[serde(default)]
    pub organisation: Option<String>,
}

/// Kinds of document in a safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Transcript,
    CertificateOfAchievement,
    Diploma,
    Identity,
    Invoice,
    Other,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Transcript => "transcript",
            DocumentKind::CertificateOfAchievement => "certificate_of_achievement",
            DocumentKind::Diploma => "diploma",
            DocumentKind::Identity => "identity",
            DocumentKind::Invoice => "invoice",
            DocumentKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<DocumentKind> {
        Some(match s {
            "transcript" => DocumentKind::Transcript,
            "certificate_of_achievement" => DocumentKind::CertificateOfAchievement,
            "diploma" => DocumentKind::Diploma,
            "identity" => DocumentKind::Identity,
            "invoice" => DocumentKind::Invoice,
            "other" => DocumentKind::Other,
            _ => return None,
        })
    }
}

/// Query of `POST /api/v1/org/deposits` (the body is the sealed PDF).
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams,
)]
pub struct DepositParams {
    pub student_number: String,
    pub kind: DocumentKind,
    pub title: String,
    /// `2025-2026`.
    pub academic_year: String,
    /// Hex SHA-256 of the document before sealing: a second deposit of the
    /// same original for the same student is recognised and not repeated.
    #[serde(default)]
    pub source_sha256: Option<String>,
}

/// `POST /api/v1/org/deposits/known`: which originals were deposited for
/// which students (asked: at most 1,000; answered: those already there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KnownDeposits {
    pub deposits: Vec<KnownDeposit>,
}

/// An original (hex SHA-256 before sealing) for a student. The same
/// original may be deposited for many students (a document given to all).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KnownDeposit {
    pub student_number: String,
    pub source_sha256: String,
}

/// `POST /api/v1/org/deposits` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deposit {
    pub document_id: String,
    /// Hex SHA-256 of the PDF.
    pub sha256: String,
    /// The same document was already deposited for this student.
    pub already_deposited: bool,
}

// ---- Finalisation, three steps ---------------------------------------------

/// Step 1, *Identifiez-vous*: `POST /api/v1/activation/identify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identify {
    pub student_number: String,
    pub activation_code: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identified {
    /// Carries the activation through the next steps.
    pub activation_token: String,
    pub first_name: String,
    pub last_name: String,
    pub organisation: String,
}

/// Step 2, *Vérifiez votre adresse e-mail*: `POST /api/v1/activation/email`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChooseEmail {
    pub activation_token: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmailCodeSent {
    /// Set when the address looks like a work address (the seed's warning).
    pub warning: Option<String>,
    /// Seconds the 6-digit code stays valid.
    pub expires_in: u64,
}

/// `POST /api/v1/activation/verify-email`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifyEmail {
    pub activation_token: String,
    pub code: String,
}

/// Step 3, *Associez votre Digiposte*: `POST /api/v1/activation/complete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Complete {
    pub activation_token: String,
    pub safe: SafeChoice,
}

/// "Do you already have a safe?"
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "choice", rename_all = "snake_case")]
pub enum SafeChoice {
    /// Yes: sign in to it; the organisation is added to it.
    Existing { email: String, password: String },
    /// No: create it with this password (the verified e-mail signs in).
    New { password: String },
}

/// Sign-in and finalisation answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    /// Bearer token for the student API.
    pub token: String,
    pub expires_at: i64,
}

// ---- Student API (Authorization: Bearer <session token>) ------------------

/// `POST /api/v1/session`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// `GET /api/v1/me`: the account menu (the circle with the initials).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Me {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub initials: String,
    pub used_bytes: u64,
    pub quota_bytes: u64,
}

/// `GET /api/v1/documents` query.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
pub struct DocumentQuery {
    pub organisation: Option<String>,
    pub kind: Option<DocumentKind>,
    pub year: Option<String>,
    /// Words of the title.
    pub q: Option<String>,
    /// Newest first unless told.
    pub sort: Option<DocumentSort>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// How the Coffre list is ordered.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DocumentSort {
    #[default]
    Newest,
    Oldest,
    Title,
}

/// `GET /api/v1/documents/facets`: what the Coffre filters can offer, with
/// how many of the safe's documents each has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentFacets {
    pub organisations: Vec<Facet>,
    pub kinds: Vec<Facet>,
    pub years: Vec<Facet>,
    /// The student's own files.
    pub personal: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Facet {
    pub value: String,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentInfo {
    pub id: String,
    pub title: String,
    pub kind: DocumentKind,
    /// The depositing organisation; `None` for the student's own upload.
    pub organisation: Option<String>,
    pub academic_year: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub created_at: i64,
    /// Deposited by an organisation with a seal.
    pub sealed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentPage {
    pub documents: Vec<DocumentInfo>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// `GET /api/v1/organisations`: the *Organismes* tab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Organisation {
    pub name: String,
    /// Still a student there (false once marked former).
    pub current: bool,
}

/// Query of `POST /api/v1/documents` (the body is the file: PDF, PNG or
/// JPEG).
#[derive(
    Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams,
)]
pub struct UploadParams {
    pub title: String,
    pub kind: Option<DocumentKind>,
}

/// `PATCH /api/v1/documents/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RenameDocument {
    pub title: String,
}

/// What a new password must be, as the server checks it: shown before the
/// student types, not after.
pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// `POST /api/v1/me/password`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /api/v1/password-reset`: a code is e-mailed if a safe uses the
/// address (the answer is the same either way).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestPasswordReset {
    pub email: String,
}

/// `POST /api/v1/password-reset/confirm`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfirmPasswordReset {
    pub email: String,
    pub code: String,
    pub new_password: String,
}

/// `POST /api/v1/support`: a lost sign-in address, with what lets the
/// operator find the safe (the procedure's list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupportRequest {
    pub last_name: String,
    pub first_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub university: String,
    pub student_number: String,
    pub possible_emails: Vec<String>,
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SupportTicket {
    pub reference: i64,
}

/// `POST /api/v1/account-status`: the student's own check, by student
/// number, name and birth date (the procedure's "Vérification compte").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusQuery {
    pub student_number: String,
    pub last_name: String,
    pub birth_date: String,
}

/// `POST /api/v1/me/rectify`: corrected names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rectify {
    pub first_name: String,
    pub last_name: String,
}

/// `POST /api/v1/me/email`: a new sign-in address, confirmed by a code
/// sent to it (`POST /api/v1/me/email/confirm`). The password is asked
/// again: a stolen session alone cannot move the safe to another address.
/// Once confirmed, the old address is told and can undo the change for 7
/// days (`POST /api/v1/email-change/undo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangeEmail {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/email-change/undo`, with the code e-mailed to the old
/// address: the old address signs in again, every session ends, and the
/// password must be chosen anew ("Mot de passe oublié ?").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UndoEmailChange {
    pub code: String,
}

/// One of the safe's signed-in sessions (`GET /api/v1/me/sessions`);
/// `DELETE /api/v1/me/sessions/{id}` ends it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// What signed in (the client's `User-Agent`, shortened).
    pub label: Option<String>,
    /// The session making this request.
    pub current: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfirmEmail {
    pub code: String,
}

/// `DELETE /api/v1/me`: erasing the safe needs the password again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Erase {
    pub password: String,
}
