//! The Coffre desktop app: one window around `coffre-app`. This crate holds
//! the window, the commands (a few lines each, `commands.rs`) and the
//! capabilities; what the app does is in `coffre-app`. The webview talks
//! only to these commands, never to the network.

#![forbid(unsafe_code)]

mod commands;

use std::path::PathBuf;
use std::sync::Arc;

use coffre_app::{App, AppConfig, AppError, AppResult};
use tauri::{AppHandle, Manager, Runtime};

/// The commands and plugins, on any runtime (the real one, or the mock of
/// the tests).
pub fn builder<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(tauri::generate_handler![
            commands::startup,
            commands::session,
            commands::password_rules,
            commands::identify,
            commands::choose_email,
            commands::verify_email,
            commands::complete,
            commands::cancel_finalisation,
            commands::sign_in,
            commands::sign_out,
            commands::me,
            commands::request_reset,
            commands::confirm_reset,
            commands::support,
            commands::account_status,
            commands::documents,
            commands::facets,
            commands::organisations,
            commands::open_document,
            commands::document_bytes,
            commands::save_document,
            commands::settings,
            commands::set_language,
            commands::set_server_url,
            commands::refresh_trust,
        ])
}

/// Opens the app's state for `handle`: its data directory
/// (`COFFRE_DATA_DIR`, else the system's app data folder), the server
/// (`COFFRE_SERVER_URL` decides over the setting) and a root shipped as
/// a resource (`resources/trust/*.pem`), if any.
pub fn open_app<R: Runtime>(handle: &AppHandle<R>) -> AppResult<App> {
    let data_dir = match std::env::var_os("COFFRE_DATA_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => handle
            .path()
            .app_data_dir()
            .map_err(commands::shell_error)?,
    };
    let bundled = handle
        .path()
        .resource_dir()
        .ok()
        .map(|d| d.join("resources").join("trust"))
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pem"))
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .collect::<String>()
        })
        .filter(|pem| !pem.is_empty());
    App::open(AppConfig {
        data_dir,
        server_url_env: std::env::var("COFFRE_SERVER_URL").ok(),
        bundled_roots_pem: bundled,
        user_agent: format!(
            "Coffre desktop {} ({})",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS
        ),
    })
}

/// The save dialog, or in debug builds `COFFRE_E2E_SAVE_DIR/name`.
pub(crate) async fn save_dialog<R: Runtime>(
    handle: &AppHandle<R>,
    name: &str,
) -> AppResult<Option<PathBuf>> {
    if cfg!(debug_assertions) {
        if let Some(dir) = std::env::var_os("COFFRE_E2E_SAVE_DIR") {
            return Ok(Some(PathBuf::from(dir).join(name)));
        }
    }
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    handle
        .dialog()
        .file()
        .set_file_name(name)
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let chosen = rx.await.map_err(commands::shell_error)?;
    match chosen {
        None => Ok(None),
        Some(p) => p
            .into_path()
            .map(Some)
            .map_err(|e| AppError::internal(format!("the chosen place: {e}"))),
    }
}

/// The desktop app: logs to standard error (`RUST_LOG`), the window, and
/// the keyring probe on a thread of its own once the window is up.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let outcome = builder(tauri::Builder::default())
        .setup(|tauri_app| {
            let app = Arc::new(open_app(tauri_app.handle())?);
            tauri_app.manage(Arc::clone(&app));
            // A locked keyring may prompt and wait: never on the window's
            // thread, never before it paints.
            std::thread::Builder::new()
                .name("keyring-probe".into())
                .spawn(move || {
                    app.probe_keyring();
                })?;
            Ok(())
        })
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = outcome {
        eprintln!("Coffre could not start: {e}");
        std::process::exit(1);
    }
}
