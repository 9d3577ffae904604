//! The WebDriver suite's harness: a real `coffre serve --demo` on a
//! loopback port, `tauri-driver` over Debian's `WebKitWebDriver`, and the
//! one built desktop app they drive. `cargo xtask test` runs the suite
//! inside a D-Bus session with Xvfb and an unlocked gnome-keyring, and
//! names the programs in the environment:
//!
//! - `COFFRE_E2E_APP` — the built `coffre-desktop`;
//! - `COFFRE_E2E_COFFRE` — the built `coffre` (for `coffre serve --demo`);
//! - `COFFRE_E2E_TAURI_DRIVER`, `COFFRE_E2E_WEBKIT_DRIVER` — the drivers;
//! - `COFFRE_E2E_SCREENS` — where screenshots go (`target/e2e-screens`).
//!
//! Without them the suite says it skipped (and fails under
//! `COFFRE_REQUIRE_EXTERNAL=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A demo student as `coffre serve --demo` printed it.
#[derive(Clone, Debug)]
pub struct Student {
    pub number: String,
    pub name: String,
    pub code: String,
}

#[derive(Debug)]
pub struct Harness {
    pub app: PathBuf,
    pub url: String,
    pub server_data: PathBuf,
    pub app_data: PathBuf,
    pub saves: PathBuf,
    pub screens: PathBuf,
    pub students: Vec<Student>,
    driver_url: String,
    server: Child,
    driver: Child,
    _tmp: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Harness {
    /// Starts the server and the drivers, or `None` (with the reason
    /// printed) when this machine has not got them.
    pub fn start() -> Option<Harness> {
        let var = |n: &str| {
            std::env::var_os(n)
                .map(PathBuf::from)
                .filter(|p| p.exists())
        };
        let (Some(app), Some(coffre), Some(tauri_driver), Some(webkit)) = (
            var("COFFRE_E2E_APP"),
            var("COFFRE_E2E_COFFRE"),
            var("COFFRE_E2E_TAURI_DRIVER"),
            var("COFFRE_E2E_WEBKIT_DRIVER"),
        ) else {
            assert!(
                std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
                "the desktop suite needs COFFRE_E2E_APP, COFFRE_E2E_COFFRE, COFFRE_E2E_TAURI_DRIVER \
                 and COFFRE_E2E_WEBKIT_DRIVER (cargo xtask test sets them)"
            );
            eprintln!(
                "skipped: the desktop suite runs under cargo xtask test (no app or drivers named)"
            );
            return None;
        };
        let screens = std::env::var_os("COFFRE_E2E_SCREENS")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("coffre-e2e-screens"));
        std::fs::create_dir_all(&screens).unwrap();
        let tmp = tempfile::TempDir::new().unwrap();
        let server_data = tmp.path().join("server");
        let app_data = tmp.path().join("app");
        let saves = tmp.path().join("saves");
        std::fs::create_dir_all(&saves).unwrap();

        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut server = Command::new(&coffre)
            .args([
                "serve",
                "--demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(&server_data)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut students = Vec::new();
        let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.contains("is listening") {
                break;
            }
            // "    20250001  Camille Dupont    ABCD-EFGH-JKLM"
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.len() >= 4 && parts[0].chars().all(|c| c.is_ascii_digit()) {
                students.push(Student {
                    number: parts[0].to_owned(),
                    name: parts[1..parts.len() - 1].join(" "),
                    code: parts[parts.len() - 1].to_owned(),
                });
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        assert_eq!(students.len(), 3, "the demo prints three students");

        let driver_port = free_port();
        let driver = Command::new(&tauri_driver)
            .args(["--port", &driver_port.to_string(), "--native-driver"])
            .arg(&webkit)
            // What the app reads at start (tauri-driver passes its own
            // environment on).
            .env("COFFRE_SERVER_URL", &url)
            .env("COFFRE_DATA_DIR", &app_data)
            .env("COFFRE_E2E_SAVE_DIR", &saves)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(driver_port, "tauri-driver");
        Some(Harness {
            app,
            url,
            server_data,
            app_data,
            saves,
            screens,
            students,
            driver_url: format!("http://127.0.0.1:{driver_port}"),
            server,
            driver,
            _tmp: tmp,
        })
    }

    /// Starts the app in a new WebDriver session.
    pub async fn launch(&self) -> Result<Window> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": self.app }),
        );
        // The workspace's feature unification can turn on two of rustls's
        // providers, and then it picks none: say which.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()?
            .capabilities(caps)
            .connect(&self.driver_url)
            .await?;
        Ok(Window {
            client,
            screens: self.screens.clone(),
        })
    }

    /// The 6-digit code in the newest e-mail to `to` (waiting for it).
    pub fn emailed_code(&self, to: &str, after: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mails = mails(&self.server_data.join("outbox"), to);
            if let Some(m) = mails.iter().skip(after).find(|m| m.contains("code is: ")) {
                let at = m.find("code is: ").unwrap() + 9;
                return m[at..at + 6].to_owned();
            }
            assert!(Instant::now() < deadline, "no code e-mailed to {to}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn mail_count(&self, to: &str) -> usize {
        mails(&self.server_data.join("outbox"), to).len()
    }
}

fn mails(outbox: &Path, to: &str) -> Vec<String> {
    let mut found: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(outbox)
        .map(|d| {
            d.filter_map(|e| {
                let p = e.ok()?.path();
                let text = std::fs::read_to_string(&p).ok()?;
                let when = p.metadata().ok()?.modified().ok()?;
                text.contains(&format!("To: {to}")).then_some((when, text))
            })
            .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, t)| t).collect()
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// The app's window, driven by `data-testid`.
#[derive(Debug)]
pub struct Window {
    pub client: Client,
    screens: PathBuf,
}

fn sel(testid: &str) -> String {
    format!("[data-testid=\"{testid}\"]")
}

impl Window {
    /// Waits (up to 20 s) for an element to be there and shown.
    pub async fn wait(&self, testid: &str) -> Result<fantoccini::elements::Element> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let css = sel(testid);
        loop {
            if let Ok(e) = self.client.find(Locator::Css(&css)).await {
                if e.is_displayed().await.unwrap_or(false) {
                    return Ok(e);
                }
            }
            if Instant::now() > deadline {
                let body = self
                    .client
                    .find(Locator::Css("body"))
                    .await?
                    .text()
                    .await
                    .unwrap_or_default();
                // What the window showed, for whoever reads the failure.
                if let Ok(png) = self.client.screenshot().await {
                    let _ = std::fs::write(self.screens.join(format!("FAILED-{testid}.png")), png);
                }
                return Err(format!("no {testid} on the screen; it shows:\n{body}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, testid: &str) -> Result<()> {
        self.wait(testid).await?.click().await?;
        Ok(())
    }

    /// Clears the field and types `text` in it.
    pub async fn fill(&self, testid: &str, text: &str) -> Result<()> {
        let e = self.wait(testid).await?;
        e.clear().await?;
        e.send_keys(text).await?;
        Ok(())
    }

    pub async fn text(&self, testid: &str) -> Result<String> {
        Ok(self.wait(testid).await?.text().await?)
    }

    pub async fn attr(&self, testid: &str, name: &str) -> Result<Option<String>> {
        Ok(self.wait(testid).await?.attr(name).await?)
    }

    /// Waits until the element's text contains `part`.
    pub async fn wait_text(&self, testid: &str, part: &str) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.text(testid).await?;
            if t.contains(part) {
                return Ok(t);
            }
            if Instant::now() > deadline {
                return Err(format!("{testid} says {t:?}, not {part:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn select(&self, testid: &str, value: &str) -> Result<()> {
        self.wait(testid).await?.select_by_value(value).await?;
        Ok(())
    }

    /// How many elements have this test id now.
    pub async fn count(&self, testid: &str) -> Result<usize> {
        Ok(self
            .client
            .find_all(Locator::Css(&sel(testid)))
            .await?
            .len())
    }

    /// The window's language: `fr` or `en`.
    pub async fn set_lang(&self, lang: &str) -> Result<()> {
        self.select("language", lang).await?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self
            .client
            .execute("return document.documentElement.lang", vec![])
            .await?
            != serde_json::Value::String(lang.into())
        {
            if Instant::now() > deadline {
                return Err(format!("the language did not become {lang}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Screenshots of what is shown, at 1280×800 and at 900×600, in French
    /// and in English: `SCREENS/NAME-{fr,en}-{1280x800,900x600}.png`. The
    /// window is left at 1280×800 in the language it was in.
    pub async fn shoot(&self, name: &str) -> Result<()> {
        let was = self
            .client
            .execute("return document.documentElement.lang", vec![])
            .await?
            .as_str()
            .unwrap_or("fr")
            .to_owned();
        for lang in ["fr", "en"] {
            self.set_lang(lang).await?;
            for (w, h) in [(1280, 800), (900, 600)] {
                self.client.set_window_size(w, h).await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.painted().await?;
                let png = self.client.screenshot().await?;
                std::fs::write(self.screens.join(format!("{name}-{lang}-{w}x{h}.png")), png)?;
            }
        }
        self.client.set_window_size(1280, 800).await?;
        self.set_lang(&was).await?;
        Ok(())
    }

    /// Returns once the window has painted twice since the call: what a
    /// screenshot then shows is what the student sees.
    pub async fn painted(&self) -> Result<()> {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await?;
        Ok(())
    }

    pub async fn quit(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
