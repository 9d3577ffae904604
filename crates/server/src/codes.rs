//! Six-digit codes sent by e-mail (table `email_codes`), for password
//! resets and address changes: one live code per purpose and subject, an
//! expiry, and a limit on attempts.

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::{secrets, AppState};

const CODE_SECONDS: i64 = 15 * 60;
const ATTEMPTS: i64 = 5;

/// Sends a fresh code to `email`, replacing any earlier one.
pub async fn send(
    state: &AppState,
    purpose: &str,
    subject: &str,
    email: &str,
    what: &str,
) -> ApiResult<()> {
    let now = (state.clock)().0;
    if !state
        .limits
        .allow(&format!("code:{purpose}:{subject}"), 5, 3600, now)
    {
        return Err(ApiError::TooManyAttempts);
    }
    let code = secrets::email_code();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("DELETE FROM email_codes WHERE purpose = $1 AND subject = $2")
        .bind(purpose)
        .bind(subject)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO email_codes (purpose, subject, email, code_hash, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(purpose)
        .bind(subject)
        .bind(email)
        .bind(secrets::hash(&code))
        .bind(now + CODE_SECONDS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    state
        .mailer
        .send(
            email,
            "Votre code Coffre / Your Coffre code",
            format!(
                "{what}\n\nVotre code de vérification est : {code}\nYour verification code is: {code}\n\n\
                 Il expire dans 15 minutes. / It expires in 15 minutes.\n\
                 Si vous n'avez rien demandé, ignorez ce message. / If you asked for nothing, ignore this message.\n"
            ),
        )
        .await?;
    Ok(())
}

/// Checks a code and consumes it; returns the address it was sent to.
pub async fn check(
    state: &AppState,
    purpose: &str,
    subject: &str,
    code: &str,
) -> ApiResult<String> {
    let now = (state.clock)().0;
    let row = sqlx::query(
        "SELECT email, code_hash, expires_at, attempts FROM email_codes WHERE purpose = $1 AND subject = $2",
    )
    .bind(purpose)
    .bind(subject)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::WrongCode)?;
    let attempts: i64 = col(&row, "attempts")?;
    if attempts >= ATTEMPTS {
        return Err(ApiError::TooManyAttempts);
    }
    if col::<i64>(&row, "expires_at")? < now {
        return Err(ApiError::CodeExpired);
    }
    if secrets::hash(code.trim()) != col::<String>(&row, "code_hash")? {
        sqlx::query(
            "UPDATE email_codes SET attempts = attempts + 1 WHERE purpose = $1 AND subject = $2",
        )
        .bind(purpose)
        .bind(subject)
        .execute(&state.db.pool)
        .await?;
        return Err(if attempts + 1 >= ATTEMPTS {
            ApiError::TooManyAttempts
        } else {
            ApiError::WrongCode
        });
    }
    sqlx::query("DELETE FROM email_codes WHERE purpose = $1 AND subject = $2")
        .bind(purpose)
        .bind(subject)
        .execute(&state.db.pool)
        .await?;
    Ok(col(&row, "email")?)
}
