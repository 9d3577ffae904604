//! The HTTP edge: each handler parses, calls one function, maps the error.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header::{
    AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use coffre_api::{
    AccountStatus, ActivationCode, ChangeEmail, ChangePassword, ChooseEmail, Complete,
    ConfirmEmail, ConfirmPasswordReset, Deposit, DepositParams, DocumentAttestation,
    DocumentFacets, DocumentInfo, DocumentPage, DocumentQuery, DocumentSort, EmailCodeSent, Erase,
    ErrorBody, Identified, Identify, KnownDeposits, Me, Organisation, Rectify, RenameDocument,
    RequestPasswordReset, RosterImport, Session, SessionInfo, SignIn, StatusQuery, SupportRequest,
    SupportTicket, TrustMaterial, UndoEmailChange, UploadParams, VerifyEmail,
};
use futures::StreamExt;

use crate::edge::Client;
use crate::error::{ApiError, ApiResult};
use crate::orgs::{self, Org};
use crate::sessions::{self, Current};
use crate::{accounts, activation, documents, privacy, support, AppState};

/// Small JSON bodies: every request but rosters, deposits and uploads.
const SMALL_BODY: usize = 64 << 10;
/// Rosters and deposits may arrive on a slow line; uploads have no limit
/// but their reservation's.
const BULK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The OpenAPI description, generated from the handlers and the
/// coffre-api types.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Coffre", description = "The Coffre safe service: organisations deposit sealed originals; students finalise, sign in and keep their documents."),
    paths(timestamp, trust, known_deposits, import_roster, student_status, refuse_student, former_student, reissue_code, deposit, identify, choose_email, verify_email, complete, sign_in, sign_out, me, erase, change_password, rectify, change_email, confirm_email, undo_email_change, list_sessions, end_session, export, request_reset, confirm_reset, support_request, account_status, organisations, list_documents, document_facets, document, document_attestation, upload, rename, delete_document, document_content),
    // Query parameters' enums are not collected from the paths.
    components(schemas(DocumentSort)),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

pub fn router(state: AppState) -> Router {
    use tower_http::timeout::TimeoutLayer;
    let small = Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/tsa", post(timestamp))
        .route("/api/v1/trust", get(trust))
        .route(
            "/api/v1/org/students/{student_number}/status",
            get(student_status),
        )
        .route(
            "/api/v1/org/students/{student_number}/refuse",
            post(refuse_student),
        )
        .route(
            "/api/v1/org/students/{student_number}/former",
            post(former_student),
        )
        .route(
            "/api/v1/org/students/{student_number}/activation-code",
            post(reissue_code),
        )
        .route("/api/v1/org/deposits/known", post(known_deposits))
        .route("/api/v1/activation/identify", post(identify))
        .route("/api/v1/activation/email", post(choose_email))
        .route("/api/v1/activation/verify-email", post(verify_email))
        .route("/api/v1/activation/complete", post(complete))
        .route("/api/v1/session", post(sign_in).delete(sign_out))
        .route("/api/v1/me", get(me).delete(erase))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/me/rectify", post(rectify))
        .route("/api/v1/me/email", post(change_email))
        .route("/api/v1/me/email/confirm", post(confirm_email))
        .route("/api/v1/me/sessions", get(list_sessions))
        .route("/api/v1/me/sessions/{id}", delete(end_session))
        .route("/api/v1/email-change/undo", post(undo_email_change))
        .route("/api/v1/password-reset", post(request_reset))
        .route("/api/v1/password-reset/confirm", post(confirm_reset))
        .route("/api/v1/support", post(support_request))
        .route("/api/v1/account-status", post(account_status))
        .route("/api/v1/organisations", get(organisations))
        .route("/api/v1/documents", get(list_documents))
        .route("/api/v1/documents/facets", get(document_facets))
        .route(
            "/api/v1/documents/{id}/attestation",
            get(document_attestation),
        )
        .route("/c/{text}", get(crate::copy_page::page))
        .route(
            "/api/v1/documents/{id}",
            get(document).patch(rename).delete(delete_document),
        )
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.request_timeout,
        ));
    // Answered at once, then streamed for as long as the reader reads (the
    // connection's idle limit stops a reader that stopped).
    let streamed = Router::new()
        .route("/api/v1/me/export", get(export))
        .route("/api/v1/documents/{id}/content", get(document_content));
    let bulk = Router::new()
        // A university's whole roster: 60,000 rows are about 5 MB.
        .route(
            "/api/v1/org/roster",
            post(import_roster).layer(DefaultBodyLimit::max(64 << 20)),
        )
        .route(
            "/api/v1/org/deposits",
            post(deposit).layer(DefaultBodyLimit::max(documents::MAX_DEPOSIT_BYTES)),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            BULK_TIMEOUT,
        ))
        .route(
            "/api/v1/documents",
            post(upload).layer(DefaultBodyLimit::disable()),
        );
    small
        .merge(streamed)
        .merge(bulk)
        .layer(axum::middleware::map_response(crate::error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::edge::every_request,
        ))
        .with_state(state)
}

/// The client's `User-Agent`, to name its session.
fn agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| coffre_seal::cut(v, 512))
}

fn bearer(parts: &Parts) -> ApiResult<String> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized)
}

/// An organisation authenticated by its API key.
pub struct OrgAuth(Org);

impl FromRequestParts<AppState> for OrgAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let key = bearer(parts)?;
        orgs::authenticate(state, &key).await.map(OrgAuth)
    }
}

/// A student's session.
pub struct StudentAuth {
    account_id: i64,
    session: Current,
}

impl FromRequestParts<AppState> for StudentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts)?;
        let session = sessions::authenticate(state, &token).await?;
        Ok(StudentAuth {
            account_id: session.account_id,
            session,
        })
    }
}

#[utoipa::path(post, path = "/tsa", tag = "operator", request_body(description = "DER TimeStampReq", content((Vec<u8> = "application/timestamp-query"), (Vec<u8> = "application/octet-stream"))), responses((status = 200, description = "DER TimeStampResp", content_type = "application/timestamp-reply")))]
async fn timestamp(State(state): State<AppState>, body: Bytes) -> Response {
    let s = state.clone();
    match tokio::task::spawn_blocking(move || s.operator.tsa.respond(&body)).await {
        Ok(reply) => ([(CONTENT_TYPE, "application/timestamp-reply")], reply).into_response(),
        Err(e) => ApiError::Internal(e.into()).into_response(),
    }
}

#[utoipa::path(get, path = "/api/v1/trust", tag = "operator", responses((status = 200, body = TrustMaterial)))]
async fn trust(State(state): State<AppState>) -> Json<TrustMaterial> {
    Json(TrustMaterial {
        anchors: vec![state.operator.root().to_pem()],
        crls: state
            .operator
            .crls()
            .iter()
            .map(coffre_seal::Crl::to_pem)
            .collect(),
        attestation: state
            .operator
            .attestation_chain()
            .iter()
            .map(|c| c.to_pem())
            .collect(),
    })
}

#[utoipa::path(post, path = "/api/v1/org/roster", tag = "organisation", security(("bearer" = [])), request_body(content = String, content_type = "text/csv", description = "student_number,last_name,first_name,birth_date,institutional_email[,refused]"), responses((status = 200, body = RosterImport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn import_roster(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    body: String,
) -> ApiResult<Json<RosterImport>> {
    let rows = orgs::parse_roster(&body).map_err(|errors| {
        ApiError::Invalid(format!(
            "The roster was not imported; fix these rows:\n{}",
            errors.join("\n")
        ))
    })?;
    orgs::import_roster(&state, &org, &rows).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/org/students/{student_number}/status", tag = "organisation", security(("bearer" = [])), params(("student_number" = String, Path)), responses((status = 200, body = AccountStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn student_status(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<AccountStatus>> {
    orgs::status(&state, &org, &student_number).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/org/students/{student_number}/refuse", tag = "organisation", security(("bearer" = [])), params(("student_number" = String, Path)), responses((status = 200, body = AccountStatus), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn refuse_student(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<AccountStatus>> {
    orgs::refuse(&state, &org, &student_number).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/org/students/{student_number}/former", tag = "organisation", security(("bearer" = [])), params(("student_number" = String, Path)), responses((status = 200, body = AccountStatus), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn former_student(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<AccountStatus>> {
    orgs::set_former(&state, &org, &student_number)
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/org/students/{student_number}/activation-code", tag = "organisation", security(("bearer" = [])), params(("student_number" = String, Path)), responses((status = 200, body = ActivationCode), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn reissue_code(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<ActivationCode>> {
    orgs::reissue_code(&state, &org, &student_number)
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/org/deposits", tag = "organisation", security(("bearer" = [])), params(DepositParams), request_body(content((Vec<u8> = "application/pdf"), (Vec<u8> = "application/octet-stream"))), responses((status = 201, body = Deposit), (status = 200, body = Deposit, description = "already deposited"), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn deposit(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Query(params): Query<DepositParams>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Deposit>)> {
    let d = documents::deposit(&state, &org, &params, body).await?;
    let status = if d.already_deposited {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(d)))
}

#[utoipa::path(post, path = "/api/v1/org/deposits/known", tag = "organisation", security(("bearer" = [])), request_body = KnownDeposits, responses((status = 200, body = KnownDeposits), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn known_deposits(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Json(req): Json<KnownDeposits>,
) -> ApiResult<Json<KnownDeposits>> {
    documents::known_deposits(&state, &org, &req.deposits)
        .await
        .map(|deposits| Json(KnownDeposits { deposits }))
}

#[utoipa::path(post, path = "/api/v1/activation/identify", tag = "finalisation", request_body = Identify, responses((status = 200, body = Identified), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn identify(
    State(state): State<AppState>,
    Client(source): Client,
    Json(req): Json<Identify>,
) -> ApiResult<Json<Identified>> {
    activation::identify(&state, source, &req).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/activation/email", tag = "finalisation", request_body = ChooseEmail, responses((status = 200, body = EmailCodeSent), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn choose_email(
    State(state): State<AppState>,
    Json(req): Json<ChooseEmail>,
) -> ApiResult<Json<EmailCodeSent>> {
    activation::choose_email(&state, &req).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/activation/verify-email", tag = "finalisation", request_body = VerifyEmail, responses((status = 204), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn verify_email(
    State(state): State<AppState>,
    Json(req): Json<VerifyEmail>,
) -> ApiResult<StatusCode> {
    activation::verify_email(&state, &req)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/activation/complete", tag = "finalisation", request_body = Complete, responses((status = 200, body = Session), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn complete(
    State(state): State<AppState>,
    Client(source): Client,
    headers: HeaderMap,
    Json(req): Json<Complete>,
) -> ApiResult<Json<Session>> {
    activation::complete(&state, source, &req, agent(&headers))
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/session", tag = "student", request_body = SignIn, responses((status = 200, body = Session), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    Client(source): Client,
    headers: HeaderMap,
    Json(req): Json<SignIn>,
) -> ApiResult<Json<Session>> {
    accounts::sign_in(&state, source, &req.email, &req.password, agent(&headers))
        .await
        .map(Json)
}

#[utoipa::path(delete, path = "/api/v1/session", tag = "student", security(("bearer" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
async fn sign_out(State(state): State<AppState>, auth: StudentAuth) -> ApiResult<StatusCode> {
    sessions::end(&state, &auth.session)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "student", security(("bearer" = [])), responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    auth: StudentAuth,
) -> ApiResult<Json<Vec<SessionInfo>>> {
    sessions::list(&state, &auth.session).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "student", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn end_session(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    sessions::end_by_id(&state, auth.account_id, &id)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "student", security(("bearer" = [])), responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, auth: StudentAuth) -> ApiResult<Json<Me>> {
    accounts::me(&state, auth.account_id).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/me", tag = "your data", security(("bearer" = [])), request_body = Erase, responses((status = 204), (status = 401, body = ErrorBody)))]
async fn erase(
    State(state): State<AppState>,
    Client(source): Client,
    auth: StudentAuth,
    Json(req): Json<Erase>,
) -> ApiResult<StatusCode> {
    privacy::erase(&state, source, auth.account_id, &req.password)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "student", security(("bearer" = [])), request_body = ChangePassword, responses((status = 204, description = "changed; every other session ended, the sign-in address told"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    Client(source): Client,
    auth: StudentAuth,
    Json(req): Json<ChangePassword>,
) -> ApiResult<StatusCode> {
    accounts::change_password(
        &state,
        source,
        &auth.session,
        &req.current_password,
        &req.new_password,
    )
    .await
    .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/rectify", tag = "your data", security(("bearer" = [])), request_body = Rectify, responses((status = 200, body = Me), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn rectify(
    State(state): State<AppState>,
    auth: StudentAuth,
    Json(req): Json<Rectify>,
) -> ApiResult<Json<Me>> {
    privacy::rectify_names(&state, auth.account_id, &req.first_name, &req.last_name)
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/me/email", tag = "your data", security(("bearer" = [])), request_body = ChangeEmail, responses((status = 202, description = "a code was sent to the new address (the same answer when another safe uses it)"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn change_email(
    State(state): State<AppState>,
    Client(source): Client,
    auth: StudentAuth,
    Json(req): Json<ChangeEmail>,
) -> ApiResult<StatusCode> {
    privacy::change_email(&state, source, auth.account_id, &req.email, &req.password)
        .await
        .map(|()| StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/me/email/confirm", tag = "your data", security(("bearer" = [])), request_body = ConfirmEmail, responses((status = 200, body = Me), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn confirm_email(
    State(state): State<AppState>,
    Client(source): Client,
    auth: StudentAuth,
    Json(req): Json<ConfirmEmail>,
) -> ApiResult<Json<Me>> {
    privacy::confirm_email(&state, source, auth.account_id, &req.code)
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/email-change/undo", tag = "your data", request_body = UndoEmailChange, responses((status = 204, description = "the old address signs in again; every session ended; choose a new password by reset"), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn undo_email_change(
    State(state): State<AppState>,
    Client(source): Client,
    Json(req): Json<UndoEmailChange>,
) -> ApiResult<StatusCode> {
    privacy::undo_email_change(&state, source, &req.code)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me/export", tag = "your data", security(("bearer" = [])), responses((status = 200, description = "tar archive: metadata.json and documents/", content_type = "application/x-tar"), (status = 401, body = ErrorBody)))]
async fn export(State(state): State<AppState>, auth: StudentAuth) -> ApiResult<Response> {
    let stream = privacy::export(&state, auth.account_id).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/x-tar".to_owned()),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"coffre-export.tar\"".to_owned(),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/password-reset", tag = "student", request_body = RequestPasswordReset, responses((status = 202), (status = 429, body = ErrorBody)))]
async fn request_reset(
    State(state): State<AppState>,
    Client(source): Client,
    Json(req): Json<RequestPasswordReset>,
) -> ApiResult<StatusCode> {
    accounts::request_reset(&state, source, &req.email)
        .await
        .map(|()| StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/api/v1/password-reset/confirm", tag = "student", request_body = ConfirmPasswordReset, responses((status = 204), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn confirm_reset(
    State(state): State<AppState>,
    Client(source): Client,
    Json(req): Json<ConfirmPasswordReset>,
) -> ApiResult<StatusCode> {
    accounts::confirm_reset(&state, source, &req.email, &req.code, &req.new_password)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/support", tag = "student", request_body = SupportRequest, responses((status = 201, body = SupportTicket), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn support_request(
    State(state): State<AppState>,
    Client(source): Client,
    Json(req): Json<SupportRequest>,
) -> ApiResult<(StatusCode, Json<SupportTicket>)> {
    support::create(&state, source, &req)
        .await
        .map(|t| (StatusCode::CREATED, Json(t)))
}

#[utoipa::path(post, path = "/api/v1/account-status", tag = "student", request_body = StatusQuery, responses((status = 200, body = Vec<AccountStatus>), (status = 429, body = ErrorBody)))]
async fn account_status(
    State(state): State<AppState>,
    Client(source): Client,
    Json(req): Json<StatusQuery>,
) -> ApiResult<Json<Vec<AccountStatus>>> {
    support::own_status(&state, source, &req).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/organisations", tag = "student", security(("bearer" = [])), responses((status = 200, body = Vec<Organisation>), (status = 401, body = ErrorBody)))]
async fn organisations(
    State(state): State<AppState>,
    auth: StudentAuth,
) -> ApiResult<Json<Vec<Organisation>>> {
    accounts::organisations(&state, auth.account_id)
        .await
        .map(Json)
}

#[utoipa::path(get, path = "/api/v1/documents", tag = "documents", security(("bearer" = [])), params(DocumentQuery), responses((status = 200, body = DocumentPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_documents(
    State(state): State<AppState>,
    auth: StudentAuth,
    Query(q): Query<DocumentQuery>,
) -> ApiResult<Json<DocumentPage>> {
    documents::list(&state, auth.account_id, &q).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/documents/facets", tag = "documents", security(("bearer" = [])), responses((status = 200, body = DocumentFacets), (status = 401, body = ErrorBody)))]
async fn document_facets(
    State(state): State<AppState>,
    auth: StudentAuth,
) -> ApiResult<Json<DocumentFacets>> {
    documents::facets(&state, auth.account_id).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = DocumentInfo), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn document(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentInfo>> {
    documents::get(&state, auth.account_id, &id).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/documents/{id}/attestation", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = DocumentAttestation, description = "The operator's signed statement about a deposited original, as its printed copies' QR code carries it"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not_attested: the student's own file"), (status = 401, body = ErrorBody)))]
async fn document_attestation(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentAttestation>> {
    documents::attestation(&state, auth.account_id, &id)
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/documents", tag = "documents", security(("bearer" = [])), params(UploadParams), request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses((status = 201, body = DocumentInfo), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    auth: StudentAuth,
    Query(params): Query<UploadParams>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<DocumentInfo>)> {
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let doc = documents::upload(
        &state,
        auth.account_id,
        &params,
        length,
        body.into_data_stream(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

#[utoipa::path(patch, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)), request_body = RenameDocument, responses((status = 200, body = DocumentInfo), (status = 404, body = ErrorBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn rename(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
    Json(req): Json<RenameDocument>,
) -> ApiResult<Json<DocumentInfo>> {
    documents::rename(&state, auth.account_id, &id, &req.title)
        .await
        .map(Json)
}

#[utoipa::path(delete, path = "/api/v1/documents/{id}", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn delete_document(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    documents::delete(&state, auth.account_id, &id)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/documents/{id}/content", tag = "documents", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, description = "the document (PDF when sealed)", content_type = "application/octet-stream"), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn document_content(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (doc, mut stream) = documents::content(&state, auth.account_id, &id).await?;
    // The first bytes say what the file is: its type and its extension.
    let first = match stream.next().await {
        Some(chunk) => chunk.map_err(|e| ApiError::Internal(e.into()))?,
        None => Bytes::new(),
    };
    let media = documents::media_type(&first);
    let (ascii, utf8) = documents::download_name(&doc.title, media.map(|m| m.1));
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encode(&utf8)
    );
    let body = futures::stream::once(async move { Ok(first) }).chain(stream);
    Ok((
        [
            (
                CONTENT_TYPE,
                media.map_or("application/octet-stream", |m| m.0).to_owned(),
            ),
            (CONTENT_LENGTH, doc.size.to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// RFC 8187's encoding of a header parameter.
fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// Every `$ref` of the published description names a component that
    /// is there: a client generator or a fuzzer stops on the first that
    /// is not.
    #[test]
    fn every_reference_in_the_description_resolves() {
        fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match value {
                serde_json::Value::Object(map) => {
                    for (key, v) in map {
                        match (key.as_str(), v) {
                            ("$ref", serde_json::Value::String(r)) => out.push(r),
                            _ => refs(v, out),
                        }
                    }
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = serde_json::to_value(<super::ApiDoc as utoipa::OpenApi>::openapi())
            .expect("the description serialises");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        let missing: Vec<&str> = found
            .into_iter()
            .filter(|r| {
                let pointer = r.strip_prefix('#').unwrap_or(r);
                doc.pointer(pointer).is_none()
            })
            .collect();
        assert!(missing.is_empty(), "unresolved references: {missing:?}");
    }
}
