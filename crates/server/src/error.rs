//! The one error type of the HTTP edge: each variant is something a caller
//! can act on, answered as `{code, message}` with its status. Internal
//! failures are logged and answered without detail.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coffre_api::ErrorBody;

#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed; the message says which field.
    Invalid(String),
    /// No or bad credentials (session token, API key, password).
    Unauthorized,
    /// No such thing for this caller (also for others' documents).
    NotFound,
    /// A student number this organisation has not imported.
    UnknownStudent(String),
    /// The student refused a safe in writing: nothing may be deposited.
    StudentRefused(String),
    /// A wrong e-mail code or activation code.
    WrongCode,
    /// The e-mail code expired; ask for a new one.
    CodeExpired,
    /// Too many attempts or requests; wait `retry_after` seconds.
    TooManyAttempts {
        retry_after: u64,
    },
    /// The server has more work than it takes at once; try again in a
    /// moment.
    Busy,
    /// This code had all its tries: a new one must be asked for.
    CodeUsedUp,
    /// The organisation's own domain: the safe needs a personal address.
    InstitutionalEmail,
    /// Another safe uses this address.
    EmailInUse,
    /// This step is not the next one of the finalisation.
    WrongStep(&'static str),
    /// The student's safe is already finalised with this organisation.
    AlreadyFinalised,
    /// The body is not a PDF.
    NotPdf,
    /// The PDF's seal does not validate.
    SealInvalid(String),
    /// The body is larger than this endpoint accepts.
    TooLarge,
    /// The upload would take the safe past its 3 GB.
    QuotaExceeded,
    /// Only PDF, PNG and JPEG files can be kept.
    UnsupportedType,
    /// The student's own file: only an organisation's deposit has an
    /// attestation.
    NotAttested,
    /// The mail server could not take the message; nothing else failed.
    MailUnavailable(anyhow::Error),
    Internal(anyhow::Error),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            Invalid(m) => (StatusCode::BAD_REQUEST, "invalid_request", m.clone()),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Sign in again: the credentials are missing or wrong.".into()),
            NotFound => (StatusCode::NOT_FOUND, "not_found", "No such resource.".into()),
            UnknownStudent(n) => (StatusCode::NOT_FOUND, "unknown_student", format!("No student {n} in this organisation's roster.")),
            StudentRefused(n) => (StatusCode::UNPROCESSABLE_ENTITY, "student_refused", format!("Student {n} refused a safe in writing: nothing can be deposited for them.")),
            WrongCode => (StatusCode::BAD_REQUEST, "wrong_code", "This code is not right.".into()),
            CodeExpired => (StatusCode::BAD_REQUEST, "code_expired", "This code has expired: ask for a new one.".into()),
            TooManyAttempts { retry_after } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", format!("Too many attempts: wait {} before trying again.", wait(*retry_after))),
            Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy", "The service is busy: try again in a moment.".into()),
            CodeUsedUp => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", "Too many wrong tries for this code: ask for a new one.".into()),
            InstitutionalEmail => (StatusCode::BAD_REQUEST, "institutional_email", "You must use a personal e-mail address, not your university's: you will keep your safe for life.".into()),
            EmailInUse => (StatusCode::CONFLICT, "email_in_use", "A safe already uses this address: answer \"Yes, I already have a safe\" and sign in to it.".into()),
            WrongStep(m) => (StatusCode::CONFLICT, "wrong_step", (*m).into()),
            AlreadyFinalised => (StatusCode::CONFLICT, "already_finalised", "This safe is already finalised: sign in with your e-mail address and password.".into()),
            NotPdf => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_pdf", "The document must be a PDF.".into()),
            SealInvalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "seal_invalid", format!("The document's seal does not validate: {m}")),
            TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", "The request is too large.".into()),
            QuotaExceeded => (StatusCode::PAYLOAD_TOO_LARGE, "quota_exceeded", "Your safe has no room left for this file: delete some of your own files first.".into()),
            UnsupportedType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type", "Only PDF, PNG and JPEG files can be kept in the safe.".into()),
            NotAttested => (StatusCode::CONFLICT, "not_attested", "This is one of your own files: only documents an organisation deposited have the operator's attestation. Its printed copy's QR code carries its SHA-256 instead.".into()),
            MailUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "mail_unavailable", "We could not send the e-mail just now. Try again in a few minutes. / L'e-mail n'a pas pu être envoyé : réessayez dans quelques minutes.".into()),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side; nothing was changed. Try again.".into()),
        }
    }
}

/// For the operator's command line, which reports these as it goes: the
/// caller's message, and the cause of an internal failure.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (_, _, message) = self.parts();
        match self {
            ApiError::Internal(e) | ApiError::MailUnavailable(e) => write!(f, "{message} ({e:#})"),
            _ => f.write_str(&message),
        }
    }
}

impl std::error::Error for ApiError {}

/// A wait in words: "12 seconds", "3 minutes".
fn wait(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".into(),
        2..=119 => format!("{seconds} seconds"),
        s if s < 2 * 3600 => format!("{} minutes", s.div_ceil(60)),
        s => format!("{} hours", s.div_ceil(3600)),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(e) => tracing::error!("internal error: {e:#}"),
            ApiError::MailUnavailable(e) => tracing::error!("e-mail not sent: {e:#}"),
            _ => {}
        }
        let (status, code, message) = self.parts();
        let mut resp = (
            status,
            Json(ErrorBody {
                code: code.into(),
                message,
                request_id: crate::edge::request_id(),
            }),
        )
            .into_response();
        let retry_after = match &self {
            ApiError::TooManyAttempts { retry_after } => Some(*retry_after),
            ApiError::Busy => Some(1),
            ApiError::MailUnavailable(_) => Some(60),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        resp
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Axum answers its own rejections (a body over the route's limit, a
/// malformed JSON body or query, an unknown path or method) in plain text.
/// This turns every error answer that is not JSON into our `{code,
/// message}`, keeping its status and headers (`Allow`, for one).
pub async fn json_errors(resp: Response) -> Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::TOO_MANY_REQUESTS => "too_many_attempts",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    };
    let (mut parts, body) = resp.into_parts();
    let said = axum::body::to_bytes(body, 16 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.".to_owned(),
        StatusCode::REQUEST_TIMEOUT => {
            "The request took too long and was stopped; nothing was changed. Try again.".to_owned()
        }
        s if s.is_server_error() || said.is_empty() => {
            s.canonical_reason().unwrap_or("Error").to_owned() + "."
        }
        _ => said,
    };
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    let mut out = (
        status,
        Json(ErrorBody {
            code: code.into(),
            message,
            request_id: crate::edge::request_id(),
        }),
    )
        .into_response();
    for (name, value) in parts.headers.iter() {
        out.headers_mut().append(name, value.clone());
    }
    out
}
