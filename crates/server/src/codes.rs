//! Six-digit codes sent by e-mail (table `email_codes`), for password
//! resets and address changes: one live code per purpose and subject, an
//! expiry, five tries per code, and at most [`DAILY_WRONG`] wrong tries a
//! day per purpose and subject whatever the number of codes (table
//! `code_failures`, so the cap holds across restarts and instances).

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, Source};
use crate::{secrets, AppState};

const CODE_SECONDS: i64 = 15 * 60;
const ATTEMPTS: i64 = 5;
/// Wrong codes a day per purpose and subject: one chance in 100,000 a day
/// of guessing a 6-digit code.
pub const DAILY_WRONG: i64 = 10;

/// The body of a code's e-mail.
pub fn message(what: &str, code: &str) -> String {
    format!(
        "{what}\n\nVotre code de vérification est : {code}\nYour verification code is: {code}\n\n\
         Il expire dans 15 minutes. / It expires in 15 minutes.\n\
         Si vous n'avez rien demandé, ignorez ce message. / If you asked for nothing, ignore this message.\n"
    )
}

/// A fresh code for `email`, replacing any earlier one of this purpose
/// and subject; the caller e-mails it.
pub async fn issue(
    state: &AppState,
    purpose: &str,
    subject: &str,
    email: &str,
) -> ApiResult<String> {
    let now = (state.clock)().0;
    state
        .limits
        .check(&limits::CODES_SENT, &[purpose, subject], now)?;
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
        .bind(state.secret.hash(&code))
        .bind(now + CODE_SECONDS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(code)
}

/// Checks a code and consumes it; returns the address it was sent to.
pub async fn check(
    state: &AppState,
    source: Source,
    purpose: &str,
    subject: &str,
    code: &str,
) -> ApiResult<String> {
    let now = (state.clock)().0;
    let from = source.key();
    state
        .limits
        .peek(&limits::WRONG_CODES_PER_SOURCE, &[&from], now)?;
    refuse_after_daily_cap(state, purpose, subject, now).await?;
    let row = sqlx::query(
        "SELECT email, code_hash, expires_at, attempts FROM email_codes WHERE purpose = $1 AND subject = $2",
    )
    .bind(purpose)
    .bind(subject)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        state
            .limits
            .count(&limits::WRONG_CODES_PER_SOURCE, &[&from], now);
        return Err(ApiError::WrongCode);
    };
    let attempts: i64 = col(&row, "attempts")?;
    if attempts >= ATTEMPTS {
        return Err(ApiError::CodeUsedUp);
    }
    if col::<i64>(&row, "expires_at")? < now {
        return Err(ApiError::CodeExpired);
    }
    let given = code.trim();
    if given.len() > 16 || state.secret.hash(given) != col::<String>(&row, "code_hash")? {
        sqlx::query(
            "UPDATE email_codes SET attempts = attempts + 1 WHERE purpose = $1 AND subject = $2",
        )
        .bind(purpose)
        .bind(subject)
        .execute(&state.db.pool)
        .await?;
        count_failure(state, purpose, subject, now).await?;
        state
            .limits
            .count(&limits::WRONG_CODES_PER_SOURCE, &[&from], now);
        tracing::warn!(event = "wrong_code", purpose, client = %source);
        return Err(if attempts + 1 >= ATTEMPTS {
            ApiError::CodeUsedUp
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

/// `TooManyAttempts` until tomorrow once today's wrong tries reach
/// [`DAILY_WRONG`].
pub async fn refuse_after_daily_cap(
    state: &AppState,
    purpose: &str,
    subject: &str,
    now: i64,
) -> ApiResult<()> {
    let day = now.div_euclid(86_400);
    let row = sqlx::query(
        "SELECT failures FROM code_failures WHERE purpose = $1 AND subject = $2 AND day = $3",
    )
    .bind(purpose)
    .bind(subject)
    .bind(day)
    .fetch_optional(&state.db.pool)
    .await?;
    let failures = match row {
        Some(r) => col::<i64>(&r, "failures")?,
        None => 0,
    };
    if failures >= DAILY_WRONG {
        return Err(ApiError::TooManyAttempts {
            retry_after: u64::try_from((day + 1) * 86_400 - now).unwrap_or(1),
        });
    }
    Ok(())
}

/// One more wrong try today.
pub async fn count_failure(
    state: &AppState,
    purpose: &str,
    subject: &str,
    now: i64,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO code_failures (purpose, subject, day, failures) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (purpose, subject, day) DO UPDATE SET failures = code_failures.failures + 1",
    )
    .bind(purpose)
    .bind(subject)
    .bind(now.div_euclid(86_400))
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

/// Counts older than yesterday are of no use.
pub async fn forget_old_failures(state: &AppState) -> ApiResult<()> {
    let day = (state.clock)().0.div_euclid(86_400);
    sqlx::query("DELETE FROM code_failures WHERE day < $1")
        .bind(day - 1)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}
