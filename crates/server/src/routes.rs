//! The HTTP edge: each handler parses, calls one function, maps the error.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use coffre_api::{
    AccountStatus, ActivationCode, ChangeEmail, ChangePassword, ChooseEmail, Complete,
    ConfirmEmail, ConfirmPasswordReset, Deposit, DepositParams, DocumentInfo, DocumentPage,
    DocumentQuery, EmailCodeSent, Erase, Identified, Identify, Me, Organisation, Rectify,
    RenameDocument, RequestPasswordReset, RosterImport, Session, SignIn, StatusQuery,
    SupportRequest, SupportTicket, TrustMaterial, UploadParams, VerifyEmail,
};

use crate::error::{ApiError, ApiResult};
use crate::orgs::{self, Org};
use crate::{accounts, activation, documents, privacy, support, AppState};

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/tsa", post(timestamp))
        .route("/api/v1/trust", get(trust))
        .route("/api/v1/org/roster", post(import_roster))
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
        .route(
            "/api/v1/org/deposits",
            post(deposit).layer(DefaultBodyLimit::max(documents::MAX_DEPOSIT_BYTES)),
        )
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
        .route("/api/v1/me/export", get(export))
        .route("/api/v1/password-reset", post(request_reset))
        .route("/api/v1/password-reset/confirm", post(confirm_reset))
        .route("/api/v1/support", post(support_request))
        .route("/api/v1/account-status", post(account_status))
        .route("/api/v1/organisations", get(organisations))
        .route(
            "/api/v1/documents",
            get(list_documents)
                .post(upload)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/documents/{id}",
            get(document).patch(rename).delete(delete_document),
        )
        .route("/api/v1/documents/{id}/content", get(document_content))
        .with_state(state)
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
    token: String,
}

impl FromRequestParts<AppState> for StudentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts)?;
        let account_id = accounts::authenticate(state, &token).await?;
        Ok(StudentAuth { account_id, token })
    }
}

async fn timestamp(State(state): State<AppState>, body: Bytes) -> Response {
    let s = state.clone();
    match tokio::task::spawn_blocking(move || s.operator.tsa.respond(&body)).await {
        Ok(reply) => ([(CONTENT_TYPE, "application/timestamp-reply")], reply).into_response(),
        Err(e) => ApiError::Internal(e.into()).into_response(),
    }
}

async fn trust(State(state): State<AppState>) -> Json<TrustMaterial> {
    Json(TrustMaterial {
        anchors: vec![state.operator.root().to_pem()],
        crls: state
            .operator
            .crls()
            .iter()
            .map(coffre_seal::Crl::to_pem)
            .collect(),
    })
}

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

async fn student_status(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<AccountStatus>> {
    orgs::status(&state, &org, &student_number).await.map(Json)
}

async fn refuse_student(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<AccountStatus>> {
    orgs::refuse(&state, &org, &student_number).await.map(Json)
}

async fn former_student(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<AccountStatus>> {
    orgs::set_former(&state, &org, &student_number)
        .await
        .map(Json)
}

async fn reissue_code(
    State(state): State<AppState>,
    OrgAuth(org): OrgAuth,
    Path(student_number): Path<String>,
) -> ApiResult<Json<ActivationCode>> {
    orgs::reissue_code(&state, &org, &student_number)
        .await
        .map(Json)
}

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

async fn identify(
    State(state): State<AppState>,
    Json(req): Json<Identify>,
) -> ApiResult<Json<Identified>> {
    activation::identify(&state, &req).await.map(Json)
}

async fn choose_email(
    State(state): State<AppState>,
    Json(req): Json<ChooseEmail>,
) -> ApiResult<Json<EmailCodeSent>> {
    activation::choose_email(&state, &req).await.map(Json)
}

async fn verify_email(
    State(state): State<AppState>,
    Json(req): Json<VerifyEmail>,
) -> ApiResult<StatusCode> {
    activation::verify_email(&state, &req)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn complete(
    State(state): State<AppState>,
    Json(req): Json<Complete>,
) -> ApiResult<Json<Session>> {
    activation::complete(&state, &req).await.map(Json)
}

async fn sign_in(
    State(state): State<AppState>,
    Json(req): Json<SignIn>,
) -> ApiResult<Json<Session>> {
    accounts::sign_in(&state, &req.email, &req.password)
        .await
        .map(Json)
}

async fn sign_out(State(state): State<AppState>, auth: StudentAuth) -> ApiResult<StatusCode> {
    accounts::sign_out(&state, &auth.token)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, auth: StudentAuth) -> ApiResult<Json<Me>> {
    accounts::me(&state, auth.account_id).await.map(Json)
}

async fn erase(
    State(state): State<AppState>,
    auth: StudentAuth,
    Json(req): Json<Erase>,
) -> ApiResult<StatusCode> {
    privacy::erase(&state, auth.account_id, &req.password)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn change_password(
    State(state): State<AppState>,
    auth: StudentAuth,
    Json(req): Json<ChangePassword>,
) -> ApiResult<StatusCode> {
    accounts::change_password(
        &state,
        auth.account_id,
        &req.current_password,
        &req.new_password,
    )
    .await
    .map(|()| StatusCode::NO_CONTENT)
}

async fn rectify(
    State(state): State<AppState>,
    auth: StudentAuth,
    Json(req): Json<Rectify>,
) -> ApiResult<Json<Me>> {
    privacy::rectify_names(&state, auth.account_id, &req.first_name, &req.last_name)
        .await
        .map(Json)
}

async fn change_email(
    State(state): State<AppState>,
    auth: StudentAuth,
    Json(req): Json<ChangeEmail>,
) -> ApiResult<StatusCode> {
    privacy::change_email(&state, auth.account_id, &req.email)
        .await
        .map(|()| StatusCode::ACCEPTED)
}

async fn confirm_email(
    State(state): State<AppState>,
    auth: StudentAuth,
    Json(req): Json<ConfirmEmail>,
) -> ApiResult<Json<Me>> {
    privacy::confirm_email(&state, auth.account_id, &req.code)
        .await
        .map(Json)
}

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

async fn request_reset(
    State(state): State<AppState>,
    Json(req): Json<RequestPasswordReset>,
) -> ApiResult<StatusCode> {
    accounts::request_reset(&state, &req.email)
        .await
        .map(|()| StatusCode::ACCEPTED)
}

async fn confirm_reset(
    State(state): State<AppState>,
    Json(req): Json<ConfirmPasswordReset>,
) -> ApiResult<StatusCode> {
    accounts::confirm_reset(&state, &req.email, &req.code, &req.new_password)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn support_request(
    State(state): State<AppState>,
    Json(req): Json<SupportRequest>,
) -> ApiResult<(StatusCode, Json<SupportTicket>)> {
    support::create(&state, &req)
        .await
        .map(|t| (StatusCode::CREATED, Json(t)))
}

async fn account_status(
    State(state): State<AppState>,
    Json(req): Json<StatusQuery>,
) -> ApiResult<Json<Vec<AccountStatus>>> {
    support::own_status(&state, &req).await.map(Json)
}

async fn organisations(
    State(state): State<AppState>,
    auth: StudentAuth,
) -> ApiResult<Json<Vec<Organisation>>> {
    accounts::organisations(&state, auth.account_id)
        .await
        .map(Json)
}

async fn list_documents(
    State(state): State<AppState>,
    auth: StudentAuth,
    Query(q): Query<DocumentQuery>,
) -> ApiResult<Json<DocumentPage>> {
    documents::list(&state, auth.account_id, &q).await.map(Json)
}

async fn document(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentInfo>> {
    documents::get(&state, auth.account_id, &id).await.map(Json)
}

async fn upload(
    State(state): State<AppState>,
    auth: StudentAuth,
    Query(params): Query<UploadParams>,
    body: axum::body::Body,
) -> ApiResult<(StatusCode, Json<DocumentInfo>)> {
    let doc = documents::upload(&state, auth.account_id, &params, body.into_data_stream()).await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

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

async fn delete_document(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    documents::delete(&state, auth.account_id, &id)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

async fn document_content(
    State(state): State<AppState>,
    auth: StudentAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (doc, bytes) = documents::content(&state, auth.account_id, &id).await?;
    let name: String = doc
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.pdf\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
