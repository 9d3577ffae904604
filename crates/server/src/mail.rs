//! E-mail through `lettre`: SMTP when configured, otherwise `.eml` files
//! in `DATA_DIR/outbox/` (the embedded default). Every message is logged,
//! codes included, so a developer needs no mail server.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone, Debug)]
pub enum Mailer {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

const FROM: &str = "Coffre <no-reply@coffre.invalid>";

impl Mailer {
    /// `smtp_url` like `smtp://user:pass@host:587` (STARTTLS) or `smtps://…`;
    /// `None` writes to `DATA_DIR/outbox/`.
    pub fn open(smtp_url: Option<&str>, data_dir: &Path) -> Result<Mailer> {
        match smtp_url {
            Some(url) => Ok(Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("parsing --smtp-url")?
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

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<()> {
        tracing::info!(to, subject, "e-mail: {body}");
        let message = Message::builder()
            .from(FROM.parse::<Mailbox>().context("sender address")?)
            .to(to.parse::<Mailbox>().context("recipient address")?)
            .subject(subject)
            .body(body)
            .context("building an e-mail")?;
        match self {
            Mailer::Outbox(dir) => {
                AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message)
                    .await
                    .context("writing an e-mail to the outbox")?;
            }
            Mailer::Smtp(t) => {
                t.send(message).await.context("sending an e-mail")?;
            }
        }
        Ok(())
    }
}
