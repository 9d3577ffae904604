//! E-mail through `lettre`: SMTP when configured, otherwise `.eml` files
//! in `DATA_DIR/outbox/` (the embedded default; a developer reads the
//! codes there). The log names the subject only, never a body: bodies
//! carry codes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone, Debug)]
pub struct Mailer {
    transport: Transport,
    /// Messages being sent after their request was answered.
    later: Arc<Semaphore>,
}

#[derive(Clone, Debug)]
enum Transport {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Notices sent after the answer, at most this many at a time; beyond it
/// they are dropped (and logged): a flood cannot pile up tasks.
const SENT_LATER: usize = 256;

const FROM: &str = "Coffre <no-reply@coffre.invalid>";

impl Mailer {
    /// `smtp_url` like `smtps://user:pass@host` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or plain
    /// `smtp://host:port` (no encryption: a relay on the same machine);
    /// `None` writes to `DATA_DIR/outbox/`.
    pub fn open(smtp_url: Option<&str>, data_dir: &Path) -> Result<Mailer> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("parsing --smtp-url")?
                    // A mail server that hangs must not hold the student's
                    // request for long.
                    .timeout(Some(std::time::Duration::from_secs(15)))
                    .build(),
            ),
            None => {
                let dir = data_dir.join("outbox");
                crate::private::create_dir(&dir)?;
                Transport::Outbox(dir)
            }
        };
        Ok(Mailer {
            transport,
            later: Arc::new(Semaphore::new(SENT_LATER)),
        })
    }

    /// The outbox folder, when e-mails go there.
    pub fn outbox(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Outbox(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }

    /// Sends after the caller's answer; a failure is logged.
    pub fn send_later(&self, to: &str, subject: &str, body: String) {
        let Ok(permit) = Arc::clone(&self.later).try_acquire_owned() else {
            tracing::error!(subject, "too many e-mails waiting: one was not sent");
            return;
        };
        let (mailer, to, subject) = (self.clone(), to.to_owned(), subject.to_owned());
        tokio::spawn(async move {
            if let Err(e) = mailer.send(&to, &subject, body).await {
                tracing::error!(subject, "e-mail not sent: {e}");
            }
            drop(permit);
        });
    }

    /// Sends (or writes) one message. A mail server that cannot take it
    /// is `MailUnavailable`: the caller may simply try again.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> ApiResult<()> {
        let message = Message::builder()
            .from(FROM.parse::<Mailbox>().context("sender address")?)
            .to(to.parse::<Mailbox>().context("recipient address")?)
            .subject(subject)
            .body(body)
            .context("building an e-mail")?;
        match &self.transport {
            Transport::Outbox(dir) => {
                AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message)
                    .await
                    .context("writing an e-mail to the outbox")?;
                tracing::info!(subject, "e-mail written to the outbox");
            }
            Transport::Smtp(t) => {
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
                tracing::info!(subject, "e-mail sent by SMTP");
            }
        }
        Ok(())
    }
}
