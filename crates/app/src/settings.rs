//! The student's choices, in `DATA_DIR/settings.json`: language and
//! server address. Nothing secret is kept here.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{code, AppError, AppResult};
use crate::view::Lang;

/// Where the app looks for its server unless told: a deployment builds
/// with `COFFRE_DEFAULT_SERVER_URL` set to its own.
pub const DEFAULT_SERVER_URL: &str = match option_env!("COFFRE_DEFAULT_SERVER_URL") {
    Some(u) => u,
    None => "http://127.0.0.1:8080",
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    pub lang: Lang,
    /// Whether the student chose it (else the system's language is used).
    pub lang_chosen: bool,
    pub server_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lang: Lang::Fr,
            lang_chosen: false,
            server_url: DEFAULT_SERVER_URL.to_owned(),
        }
    }
}

impl Settings {
    /// The saved settings, or the defaults (a damaged file is set aside
    /// rather than refused: the student loses a preference, not the app).
    pub fn load(dir: &Path) -> Settings {
        let path = dir.join("settings.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("{}: {e}; using the defaults", path.display());
                let _ = std::fs::rename(&path, dir.join("settings.json.damaged"));
                Settings::default()
            }),
            Err(_) => Settings::default(),
        }
    }

    pub fn save(&self, dir: &Path) -> AppResult<()> {
        let path = dir.join("settings.json");
        let staged = dir.join("settings.json.new");
        let text = serde_json::to_vec_pretty(self).map_err(AppError::internal)?;
        std::fs::write(&staged, text)
            .and_then(|()| std::fs::rename(&staged, &path))
            .map_err(|e| AppError::new(code::FILE, format!("saving {}: {e}", path.display())))
    }
}

/// An `http://` or `https://` address with a host, without a trailing `/`.
pub fn check_server_url(url: &str) -> AppResult<String> {
    let bad = || {
        AppError::new(
            code::BAD_SERVER_URL,
            format!("{url:?} is not a server address like https://coffre.example"),
        )
    };
    let parsed = url::Url::parse(url.trim()).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(bad());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() {
        assert_eq!(
            check_server_url(" https://coffre.example/ ").unwrap(),
            "https://coffre.example"
        );
        assert_eq!(
            check_server_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in ["coffre.example", "ftp://x.example", "", "https://"] {
            assert_eq!(
                check_server_url(bad).unwrap_err().code,
                code::BAD_SERVER_URL,
                "{bad}"
            );
        }
    }

    #[test]
    fn settings_survive_a_restart_and_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings {
            lang: Lang::En,
            lang_chosen: true,
            server_url: "https://a.example".into(),
        };
        s.save(dir.path()).unwrap();
        assert_eq!(Settings::load(dir.path()), s);
        std::fs::write(dir.path().join("settings.json"), b"{not json").unwrap();
        assert_eq!(Settings::load(dir.path()), Settings::default());
        assert!(dir.path().join("settings.json.damaged").exists());
    }
}
