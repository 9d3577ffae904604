//! E-mail through `lettre`: SMTP when configured, otherwise `.eml` files
//! in `DATA_DIR/outbox/` (the embedded default). With the outbox every
//! message is logged, codes included, so a developer needs no mail server;
//! with SMTP only the recipient and subject are, so codes stay out of logs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::{ApiError, ApiResult};
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone, Debug)]
pub enum Mailer {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

const FROM: &str = "Coffre <no-reply@coffre.invalid>";

impl Mailer {
    /// `smtp_url` like `smtps://user:pass@host` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or plain
    /// `smtp://host:port` (no encryption: a relay on the same machine);
    /// `None` writes to `DATA_DIR/outbox/`.
    pub fn open(smtp_url: Option<&str>, data_dir: &Path) -> Result<Mailer> {
        match smtp_url {
            Some(url) => Ok(Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("parsing --smtp-url")?
                    // A mail server that hangs must not hold the student's
                    // request for long.
                    .timeout(Some(std::time::Duration::from_secs(15)))
                    .build(),
            )),
            None => {
                let dir = data_dir.join("outbox");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                Ok(Mailer::Outbox(dir))
            }
        }
    }

    /// Sends (or writes) one message. A mail server that cannot take it
    /// is `MailUnavailable`: the caller may simply try again.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> ApiResult<()> {
        let message = Message::builder()
            .from(FROM.parse::<Mailbox>().context("sender address")?)
            .to(to.parse::<Mailbox>().context("recipient address")?)
            .subject(subject)
            .body(body.clone())
            .context("building an e-mail")?;
        match self {
            Mailer::Outbox(dir) => {
                tracing::info!(to, subject, "e-mail: {body}");
                AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message)
                    .await
                    .context("writing an e-mail to the outbox")?;
            }
            Mailer::Smtp(t) => {
                t.send(message).await.map_err(|e| {
                    // A mail server out of reach or busy: try again later.
                    // A permanent refusal (credentials, sender) is ours to
                    // fix, not the student's to retry.
                    if e.is_permanent() {
                        ApiError::Internal(anyhow::Error::new(e).context("the mail server refused"))
                    } else {
                        ApiError::MailUnavailable(anyhow::Error::new(e))
                    }
                })?;
                tracing::info!(to, subject, "e-mail sent by SMTP");
            }
        }
        Ok(())
    }
}
