//! The app's one error: a stable `code` the UI picks its sentence by (in
//! the student's language, saying what to do next), and a `message` in
//! English for logs. The codes are the server's (`coffre_api::ErrorCode`)
//! and the app's own below.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
pub struct AppError {
    pub code: String,
    pub message: String,
    /// Seconds to wait before trying again, when the server said.
    pub retry_after: Option<u64>,
    /// The server's id for the request, to quote to the help desk.
    pub request_id: Option<String>,
}

/// The app's own codes, beside the server's.
pub mod code {
    /// The server cannot be reached (no network, server down).
    pub const OFFLINE: &str = "offline";
    /// No OS keyring: the session lives in memory for this run.
    pub const KEYRING_UNAVAILABLE: &str = "keyring_unavailable";
    /// The server offers another root than the one pinned: refused.
    pub const TRUST_CHANGED: &str = "trust_changed";
    /// The call needs a signed-in safe.
    pub const NOT_SIGNED_IN: &str = "not_signed_in";
    /// A finalisation step came without the steps before it.
    pub const NO_FINALISATION: &str = "no_finalisation";
    /// The server address is not an http(s) URL.
    pub const BAD_SERVER_URL: &str = "bad_server_url";
    /// The bytes are not a readable PDF.
    pub const NOT_PDF: &str = "not_pdf";
    /// Writing or reading a file of the app's failed.
    pub const FILE: &str = "file";
    pub const INTERNAL: &str = "internal";
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> AppError {
        AppError {
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
            request_id: None,
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> AppError {
        AppError::new(code::INTERNAL, message.to_string())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for AppError {}

impl From<coffre_api::Error> for AppError {
    fn from(e: coffre_api::Error) -> AppError {
        match &e {
            coffre_api::Error::Api {
                code,
                message,
                retry_after,
                request_id,
                ..
            } => AppError {
                retry_after: *retry_after,
                request_id: request_id.clone(),
                ..AppError::new(
                    match code {
                        coffre_api::ErrorCode::Other(c) => c.as_str(),
                        known => code_name(known),
                    },
                    message.clone(),
                )
            },
            coffre_api::Error::Transport(_) => AppError::new(code::OFFLINE, e.to_string()),
            _ => AppError::new(code::INTERNAL, e.to_string()),
        }
    }
}

/// The wire name of a server error code.
fn code_name(code: &coffre_api::ErrorCode) -> &'static str {
    use coffre_api::ErrorCode::*;
    match code {
        InvalidRequest => "invalid_request",
        Unauthorized => "unauthorized",
        NotFound => "not_found",
        UnknownStudent => "unknown_student",
        StudentRefused => "student_refused",
        WrongCode => "wrong_code",
        CodeExpired => "code_expired",
        TooManyAttempts => "too_many_attempts",
        InstitutionalEmail => "institutional_email",
        EmailInUse => "email_in_use",
        WrongStep => "wrong_step",
        AlreadyFinalised => "already_finalised",
        NotPdf => "not_pdf",
        SealInvalid => "seal_invalid",
        TooLarge => "too_large",
        QuotaExceeded => "quota_exceeded",
        UnsupportedType => "unsupported_type",
        MailUnavailable => "mail_unavailable",
        Busy => "busy",
        _ => "internal",
    }
}

pub type AppResult<T> = Result<T, AppError>;
