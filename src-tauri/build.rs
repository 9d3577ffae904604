//! Lists every command in the app manifest, so that each gets a permission
//! of its own and the window's capability grants them by name.

/// Every `#[tauri::command]` of `src/commands.rs`.
const COMMANDS: &[&str] = &[
    "startup",
    "session",
    "password_rules",
    "identify",
    "choose_email",
    "verify_email",
    "complete",
    "cancel_finalisation",
    "sign_in",
    "sign_out",
    "me",
    "request_reset",
    "confirm_reset",
    "support",
    "account_status",
    "documents",
    "facets",
    "organisations",
    "open_document",
    "document_bytes",
    "save_document",
    "settings",
    "set_language",
    "set_server_url",
    "refresh_trust",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        // A build script reports by failing: say why, plainly.
        eprintln!("building the Coffre desktop app: {e:#}");
        std::process::exit(1);
    }
}
