//! A typed async client of the Coffre API, for the desktop app, the CLI and
//! tests. Errors arrive as `{code, message}` and become [`Error::Api`]
//! with an [`ErrorCode`].

use bytes::Bytes;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::*;

/// What the server said went wrong, as a caller can act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    NotFound,
    UnknownStudent,
    StudentRefused,
    WrongCode,
    CodeExpired,
    TooManyAttempts,
    InstitutionalEmail,
    EmailInUse,
    WrongStep,
    AlreadyFinalised,
    NotPdf,
    SealInvalid,
    TooLarge,
    QuotaExceeded,
    UnsupportedType,
    /// E-mail could not be sent just now: try again in a few minutes.
    MailUnavailable,
    /// The server is busy: try again in a moment (`retry_after`).
    Busy,
    Internal,
    /// A code this client does not know (a newer server).
    Other(String),
}

impl ErrorCode {
    pub fn parse(code: &str) -> ErrorCode {
        use ErrorCode::*;
        match code {
            "invalid_request" => InvalidRequest,
            "unauthorized" => Unauthorized,
            "not_found" => NotFound,
            "unknown_student" => UnknownStudent,
            "student_refused" => StudentRefused,
            "wrong_code" => WrongCode,
            "code_expired" => CodeExpired,
            "too_many_attempts" => TooManyAttempts,
            "institutional_email" => InstitutionalEmail,
            "email_in_use" => EmailInUse,
            "wrong_step" => WrongStep,
            "already_finalised" => AlreadyFinalised,
            "not_pdf" => NotPdf,
            "seal_invalid" => SealInvalid,
            "too_large" => TooLarge,
            "quota_exceeded" => QuotaExceeded,
            "unsupported_type" => UnsupportedType,
            "mail_unavailable" => MailUnavailable,
            "busy" => Busy,
            "internal" => Internal,
            other => Other(other.to_owned()),
        }
    }
}

#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error.
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
        /// Seconds to wait before trying again (`Retry-After`), on 429
        /// and 503.
        retry_after: Option<u64>,
        /// The server's id for the request, for a support request.
        request_id: Option<String>,
    },
    /// The server could not be reached, or the connection broke.
    Transport(reqwest::Error),
    /// The answer was not what the API promises.
    Protocol(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Api { message, .. } => f.write_str(message),
            Error::Transport(e) if e.is_timeout() => {
                write!(f, "the Coffre server did not answer in time ({e})")
            }
            Error::Transport(e) => {
                // reqwest's own text stops at "error sending request";
                // the cause says what happened (refused, reset, …).
                write!(f, "cannot reach the Coffre server: {e}")?;
                let mut cause = std::error::Error::source(e);
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
                Ok(())
            }
            Error::Protocol(e) => write!(f, "unexpected answer from the Coffre server: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The API error code, if the server gave one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Seconds the server asked to wait before trying again.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// How long a small JSON call may take before it is an error.
const SMALL_CALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How a [`Client`] presents itself and whom it trusts.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// `User-Agent`; `coffre/VERSION` by default.
    pub user_agent: Option<String>,
    /// PEM certificates to trust as roots besides the system's.
    pub extra_roots_pem: Vec<String>,
}

/// A connection to one Coffre server, with an optional bearer token (a
/// student session or an organisation API key).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// `base_url` like `http://127.0.0.1:8080`. No proxy is used. A server
    /// that does not accept the connection within 10 s is an error; small
    /// JSON calls must be answered within 60 s and deposits within 30 s
    /// plus 1 s per 100 KB; uploads, downloads and rosters have no limit
    /// (they may take long on a slow line).
    pub fn new(base_url: &str) -> Result<Client> {
        Self::with_options(base_url, &ClientOptions::default())
    }

    /// As [`Client::new`], with a name for the sessions list and roots to
    /// trust besides the system's (a server whose certificate a private
    /// CA issued).
    pub fn with_options(base_url: &str, options: &ClientOptions) -> Result<Client> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(
                options
                    .user_agent
                    .clone()
                    .unwrap_or_else(|| format!("coffre/{}", env!("CARGO_PKG_VERSION"))),
            );
        for pem in &options.extra_roots_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(Error::Transport)?;
            builder = builder.add_root_certificate(cert);
        }
        Ok(Client {
            http: builder.build().map_err(Error::Transport)?,
            base: base_url.trim_end_matches('/').to_owned(),
            token: None,
        })
    }

    /// The same connection, authenticated with `token`.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send(req: RequestBuilder) -> Result<reqwest::Response> {
        let resp = req.send().await.map_err(Error::Transport)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = resp.bytes().await.map_err(Error::Transport)?;
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) => Err(Error::Api {
                status,
                code: ErrorCode::parse(&e.code),
                message: e.message,
                retry_after,
                request_id: e.request_id,
            }),
            // Not ours: a proxy or load balancer in front answered (502,
            // 504…). Its status still says whether to try again.
            Err(_) => Err(Error::Api {
                status,
                code: if status >= 500 {
                    ErrorCode::Internal
                } else {
                    ErrorCode::Other(format!("http_{status}"))
                },
                message: format!(
                    "HTTP {status} from something in front of the Coffre server: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
                ),
                retry_after,
                request_id: None,
            }),
        }
    }

    async fn json<T: DeserializeOwned>(req: RequestBuilder) -> Result<T> {
        let resp = Self::send(req).await?;
        let bytes = resp.bytes().await.map_err(Error::Transport)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        Self::json(
            self.request(Method::POST, path)
                .json(body)
                .timeout(SMALL_CALL_LIMIT),
        )
        .await
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Self::json(self.request(Method::GET, path).timeout(SMALL_CALL_LIMIT)).await
    }

    // ---- Operator ----

    pub async fn trust(&self) -> Result<TrustMaterial> {
        self.get_json("/api/v1/trust").await
    }

    /// Sends a DER `TimeStampReq`, returns the DER `TimeStampResp`.
    pub async fn timestamp(&self, request: Vec<u8>) -> Result<Bytes> {
        let req = self
            .request(Method::POST, "/tsa")
            .header("Content-Type", "application/timestamp-query")
            .body(request);
        Self::send(req)
            .await?
            .bytes()
            .await
            .map_err(Error::Transport)
    }

    // ---- Organisation ----

    pub async fn import_roster(&self, csv: String) -> Result<RosterImport> {
        Self::json(
            self.request(Method::POST, "/api/v1/org/roster")
                .header("Content-Type", "text/csv")
                .body(csv),
        )
        .await
    }

    pub async fn student_status(&self, student_number: &str) -> Result<AccountStatus> {
        self.get_json(&format!("/api/v1/org/students/{student_number}/status"))
            .await
    }

    /// A written refusal or revoked consent.
    pub async fn refuse_student(&self, student_number: &str) -> Result<AccountStatus> {
        Self::json(self.request(
            Method::POST,
            &format!("/api/v1/org/students/{student_number}/refuse"),
        ))
        .await
    }

    pub async fn mark_former(&self, student_number: &str) -> Result<AccountStatus> {
        Self::json(self.request(
            Method::POST,
            &format!("/api/v1/org/students/{student_number}/former"),
        ))
        .await
    }

    pub async fn reissue_code(&self, student_number: &str) -> Result<ActivationCode> {
        Self::json(self.request(
            Method::POST,
            &format!("/api/v1/org/students/{student_number}/activation-code"),
        ))
        .await
    }

    /// Which of these (student, original) pairs were deposited already.
    pub async fn known_deposits(&self, deposits: Vec<KnownDeposit>) -> Result<Vec<KnownDeposit>> {
        let k: KnownDeposits = self
            .post_json("/api/v1/org/deposits/known", &KnownDeposits { deposits })
            .await?;
        Ok(k.deposits)
    }

    /// `pdf` as a `Vec<u8>` or `Bytes` (cheap to keep for a retry). A
    /// server that has not answered within 30 s (plus 1 s per 100 KB) is
    /// an error: a bulk run then retries or stops instead of hanging.
    pub async fn deposit(
        &self,
        params: &DepositParams,
        pdf: impl Into<bytes::Bytes>,
    ) -> Result<Deposit> {
        let pdf: bytes::Bytes = pdf.into();
        let limit = std::time::Duration::from_secs(30)
            + std::time::Duration::from_millis(pdf.len() as u64 / 100);
        Self::json(
            self.request(Method::POST, "/api/v1/org/deposits")
                .query(params)
                .header("Content-Type", "application/pdf")
                .timeout(limit)
                .body(pdf),
        )
        .await
    }

    // ---- Finalisation ----

    pub async fn identify(&self, req: &Identify) -> Result<Identified> {
        self.post_json("/api/v1/activation/identify", req).await
    }

    pub async fn choose_email(&self, req: &ChooseEmail) -> Result<EmailCodeSent> {
        self.post_json("/api/v1/activation/email", req).await
    }

    pub async fn verify_email(&self, req: &VerifyEmail) -> Result<()> {
        Self::send(
            self.request(Method::POST, "/api/v1/activation/verify-email")
                .json(req),
        )
        .await?;
        Ok(())
    }

    pub async fn complete(&self, req: &Complete) -> Result<Session> {
        self.post_json("/api/v1/activation/complete", req).await
    }

    // ---- Student ----

    pub async fn sign_in(&self, req: &SignIn) -> Result<Session> {
        self.post_json("/api/v1/session", req).await
    }

    pub async fn sign_out(&self) -> Result<()> {
        Self::send(self.request(Method::DELETE, "/api/v1/session")).await?;
        Ok(())
    }

    pub async fn me(&self) -> Result<Me> {
        self.get_json("/api/v1/me").await
    }

    pub async fn change_password(&self, req: &ChangePassword) -> Result<()> {
        Self::send(self.request(Method::POST, "/api/v1/me/password").json(req)).await?;
        Ok(())
    }

    pub async fn request_password_reset(&self, req: &RequestPasswordReset) -> Result<()> {
        Self::send(
            self.request(Method::POST, "/api/v1/password-reset")
                .json(req),
        )
        .await?;
        Ok(())
    }

    pub async fn confirm_password_reset(&self, req: &ConfirmPasswordReset) -> Result<()> {
        Self::send(
            self.request(Method::POST, "/api/v1/password-reset/confirm")
                .json(req),
        )
        .await?;
        Ok(())
    }

    pub async fn support(&self, req: &SupportRequest) -> Result<SupportTicket> {
        self.post_json("/api/v1/support", req).await
    }

    pub async fn account_status(&self, req: &StatusQuery) -> Result<Vec<AccountStatus>> {
        self.post_json("/api/v1/account-status", req).await
    }

    pub async fn rectify(&self, req: &Rectify) -> Result<Me> {
        self.post_json("/api/v1/me/rectify", req).await
    }

    pub async fn change_email(&self, req: &ChangeEmail) -> Result<()> {
        Self::send(self.request(Method::POST, "/api/v1/me/email").json(req)).await?;
        Ok(())
    }

    pub async fn confirm_email(&self, req: &ConfirmEmail) -> Result<Me> {
        self.post_json("/api/v1/me/email/confirm", req).await
    }

    /// With the code sent to the old address after a change.
    pub async fn undo_email_change(&self, req: &UndoEmailChange) -> Result<()> {
        Self::send(
            self.request(Method::POST, "/api/v1/email-change/undo")
                .json(req)
                .timeout(SMALL_CALL_LIMIT),
        )
        .await?;
        Ok(())
    }

    /// The safe's signed-in sessions.
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>> {
        self.get_json("/api/v1/me/sessions").await
    }

    /// Ends one of the safe's sessions (another device, say).
    pub async fn end_session(&self, id: &str) -> Result<()> {
        Self::send(
            self.request(Method::DELETE, &format!("/api/v1/me/sessions/{id}"))
                .timeout(SMALL_CALL_LIMIT),
        )
        .await?;
        Ok(())
    }

    /// The whole safe as a tar archive (documents + `metadata.json`).
    pub async fn export(&self) -> Result<Bytes> {
        Self::send(self.request(Method::GET, "/api/v1/me/export"))
            .await?
            .bytes()
            .await
            .map_err(Error::Transport)
    }

    pub async fn erase(&self, req: &Erase) -> Result<()> {
        Self::send(self.request(Method::DELETE, "/api/v1/me").json(req)).await?;
        Ok(())
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>> {
        self.get_json("/api/v1/organisations").await
    }

    pub async fn documents(&self, q: &DocumentQuery) -> Result<DocumentPage> {
        Self::json(self.request(Method::GET, "/api/v1/documents").query(q)).await
    }

    /// The filters' choices, with counts.
    pub async fn document_facets(&self) -> Result<DocumentFacets> {
        self.get_json("/api/v1/documents/facets").await
    }

    /// The operator's attestation of a deposited document, for its copy's
    /// QR code.
    pub async fn document_attestation(&self, id: &str) -> Result<DocumentAttestation> {
        self.get_json(&format!("/api/v1/documents/{id}/attestation"))
            .await
    }

    pub async fn document(&self, id: &str) -> Result<DocumentInfo> {
        self.get_json(&format!("/api/v1/documents/{id}")).await
    }

    /// Keeps one of the student's own files in the safe.
    pub async fn upload(
        &self,
        params: &UploadParams,
        body: impl Into<reqwest::Body>,
    ) -> Result<DocumentInfo> {
        Self::json(
            self.request(Method::POST, "/api/v1/documents")
                .query(params)
                .header("Content-Type", "application/octet-stream")
                .body(body),
        )
        .await
    }

    pub async fn rename(&self, id: &str, title: &str) -> Result<DocumentInfo> {
        Self::json(
            self.request(Method::PATCH, &format!("/api/v1/documents/{id}"))
                .json(&RenameDocument {
                    title: title.to_owned(),
                }),
        )
        .await
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        Self::send(self.request(Method::DELETE, &format!("/api/v1/documents/{id}"))).await?;
        Ok(())
    }

    pub async fn document_content(&self, id: &str) -> Result<Bytes> {
        let resp =
            Self::send(self.request(Method::GET, &format!("/api/v1/documents/{id}/content")))
                .await?;
        if resp.status() != StatusCode::OK {
            return Err(Error::Protocol(format!("HTTP {}", resp.status())));
        }
        resp.bytes().await.map_err(Error::Transport)
    }
}
