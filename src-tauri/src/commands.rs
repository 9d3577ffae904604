//! The window's commands: each parses its arguments, calls one function of
//! `coffre-app`, and returns its answer or its `{code, message}`. Every one
//! is listed in `build.rs` and granted by name in `capabilities/main.json`.

use std::sync::Arc;

use coffre_app::view::*;
use coffre_app::{App, AppError, AppResult};
use tauri::{AppHandle, Runtime, State};

type Shared<'a> = State<'a, Arc<App>>;

#[tauri::command]
pub fn startup(app: Shared<'_>) -> Startup {
    app.startup()
}

#[tauri::command]
pub async fn session(app: Shared<'_>) -> AppResult<SessionState> {
    app.session().await
}

#[tauri::command]
pub fn password_rules() -> PasswordRules {
    App::password_rules()
}

#[tauri::command]
pub async fn identify(app: Shared<'_>, args: IdentifyArgs) -> AppResult<IdentifiedView> {
    app.identify(&args).await
}

#[tauri::command]
pub async fn choose_email(app: Shared<'_>, email: String) -> AppResult<EmailSentView> {
    app.choose_email(&email).await
}

#[tauri::command]
pub async fn verify_email(app: Shared<'_>, code: String) -> AppResult<()> {
    app.verify_email(&code).await
}

#[tauri::command]
pub async fn complete(app: Shared<'_>, choice: SafeChoiceArgs) -> AppResult<MeView> {
    app.complete(&choice).await
}

#[tauri::command]
pub fn cancel_finalisation(app: Shared<'_>) {
    app.cancel_finalisation();
}

#[tauri::command]
pub async fn sign_in(app: Shared<'_>, email: String, password: String) -> AppResult<MeView> {
    app.sign_in(&email, &password).await
}

#[tauri::command]
pub async fn sign_out(app: Shared<'_>) -> AppResult<()> {
    app.sign_out().await
}

#[tauri::command]
pub async fn me(app: Shared<'_>) -> AppResult<MeView> {
    app.me().await
}

#[tauri::command]
pub async fn request_reset(app: Shared<'_>, email: String) -> AppResult<()> {
    app.request_reset(&email).await
}

#[tauri::command]
pub async fn confirm_reset(app: Shared<'_>, args: ConfirmResetArgs) -> AppResult<()> {
    app.confirm_reset(&args).await
}

#[tauri::command]
pub async fn support(app: Shared<'_>, args: SupportArgs) -> AppResult<i64> {
    app.support(&args).await
}

#[tauri::command]
pub async fn account_status(app: Shared<'_>, args: StatusArgs) -> AppResult<Vec<StatusView>> {
    app.account_status(&args).await
}

#[tauri::command]
pub async fn documents(app: Shared<'_>, args: ListArgs) -> AppResult<DocumentsPage> {
    app.documents(&args).await
}

#[tauri::command]
pub async fn facets(app: Shared<'_>) -> AppResult<FacetsView> {
    app.facets().await
}

#[tauri::command]
pub async fn organisations(app: Shared<'_>) -> AppResult<Vec<OrganisationView>> {
    app.organisations().await
}

#[tauri::command]
pub async fn open_document(app: Shared<'_>, id: String) -> AppResult<DocumentView> {
    app.open_document(&id, coffre_app::now()).await
}

/// The bytes as an `ArrayBuffer` for the preview (no JSON array of numbers).
#[tauri::command]
pub async fn document_bytes(app: Shared<'_>, id: String) -> AppResult<tauri::ipc::Response> {
    let bytes = app.document_bytes(&id).await?;
    Ok(tauri::ipc::Response::new(bytes.as_ref().clone()))
}

/// Asks where, in the system's save dialog, and writes the document there;
/// `None` when the student cancelled. Debug builds take `COFFRE_E2E_SAVE_DIR`
/// instead of the dialog, which WebDriver cannot reach.
#[tauri::command]
pub async fn save_document<R: Runtime>(
    handle: AppHandle<R>,
    app: Shared<'_>,
    id: String,
) -> AppResult<Option<String>> {
    let name = app.suggested_name(&id).await?;
    let Some(path) = crate::save_dialog(&handle, &name).await? else {
        return Ok(None);
    };
    app.save_document(&id, &path).await?;
    Ok(Some(path.display().to_string()))
}

#[tauri::command]
pub fn settings(app: Shared<'_>) -> SettingsView {
    app.settings()
}

#[tauri::command]
pub fn set_language(app: Shared<'_>, lang: Lang) -> AppResult<SettingsView> {
    app.set_language(lang)
}

#[tauri::command]
pub async fn set_server_url(app: Shared<'_>, url: String) -> AppResult<SettingsView> {
    app.set_server_url(&url).await
}

#[tauri::command]
pub async fn refresh_trust(app: Shared<'_>) -> AppResult<SettingsView> {
    app.refresh_trust().await
}

/// An error for what the shell itself failed at.
pub fn shell_error(e: impl std::fmt::Display) -> AppError {
    AppError::internal(e)
}
