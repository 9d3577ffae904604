//! Safes (table `accounts`): sign-in under rate limits that slow a guesser
//! without locking the owner out, the account menu, the *Organismes* tab,
//! and passwords (change, reset) that a stolen session cannot take over.

use coffre_api::{Email, Me, Organisation, Session};

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, Source};
use crate::sessions::{self, Current};
use crate::{codes, AppState};

/// Personal uploads may use 3 GB unless the operator says otherwise
/// (`ServerConfig::quota_bytes`); organisation deposits do not count.
pub const QUOTA_BYTES: u64 = 3_000_000_000;

pub fn check_new_password(password: &str) -> ApiResult<()> {
    use coffre_api::{PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS};
    if password.chars().count() < PASSWORD_MIN_CHARS || password.len() > PASSWORD_MAX_BYTES {
        return Err(ApiError::Invalid(
            "Choose a password of at least 10 characters (at most 1,024 bytes).".into(),
        ));
    }
    Ok(())
}

/// The key an address is counted under: what a sign-in would look up.
fn address_key(email: &str) -> String {
    coffre_seal::cut(email.trim(), 320).to_ascii_lowercase()
}

/// The account whose e-mail and password these are. Wrong passwords are
/// counted per address and client, per client, and per account: a
/// guesser is slowed, the owner signing in from elsewhere (or from an
/// address they signed in from recently) is not.
pub async fn check_password(
    state: &AppState,
    source: Source,
    email: &str,
    password: &str,
) -> ApiResult<i64> {
    let now = (state.clock)().0;
    let who = address_key(email);
    let from = source.key();
    let pair = [who.as_str(), from.as_str()];
    state
        .limits
        .peek(&limits::WRONG_PASSWORDS_PER_SOURCE, &[&from], now)?;
    state
        .limits
        .peek(&limits::WRONG_PASSWORDS_PER_PAIR, &pair, now)?;
    let known = state.limits.marked(&limits::KNOWN_SOURCE, &pair, now);
    if !known {
        state
            .limits
            .peek(&limits::WRONG_PASSWORDS_PER_ACCOUNT, &[&who], now)?;
    }
    state
        .limits
        .check(&limits::PASSWORD_CHECKS_PER_SOURCE, &[&from], now)?;
    if password.len() > 1024 {
        return Err(ApiError::Unauthorized);
    }
    let row = match Email::parse(&who) {
        Ok(e) => {
            sqlx::query("SELECT id, password_hash FROM accounts WHERE email = $1")
                .bind(e.as_str())
                .fetch_optional(&state.db.pool)
                .await?
        }
        Err(_) => None,
    };
    let (id, stored) = match row {
        Some(r) => (
            Some(col::<i64>(&r, "id")?),
            Some(col::<String>(&r, "password_hash")?),
        ),
        None => (None, None),
    };
    // Verified whether or not the address exists: same time either way.
    let ok = state.passwords.verify(password, stored).await?;
    let Some(id) = id.filter(|_| ok) else {
        state
            .limits
            .count(&limits::WRONG_PASSWORDS_PER_SOURCE, &[&from], now);
        state
            .limits
            .count(&limits::WRONG_PASSWORDS_PER_PAIR, &pair, now);
        state
            .limits
            .count(&limits::WRONG_PASSWORDS_PER_ACCOUNT, &[&who], now);
        tracing::warn!(event = "sign_in_failed", client = %source, account = id, "wrong address or password");
        return Err(ApiError::Unauthorized);
    };
    state
        .limits
        .forgive(&limits::WRONG_PASSWORDS_PER_PAIR, &pair);
    state.limits.count(&limits::KNOWN_SOURCE, &pair, now);
    Ok(id)
}

pub async fn sign_in(
    state: &AppState,
    source: Source,
    email: &str,
    password: &str,
    label: Option<&str>,
) -> ApiResult<Session> {
    let id = check_password(state, source, email, password).await?;
    tracing::info!(event = "signed_in", client = %source, account = id);
    sessions::create(state, id, label).await
}

/// Whether a safe signs in with `email`.
pub async fn has_safe(state: &AppState, email: &Email) -> ApiResult<bool> {
    Ok(sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&state.db.pool)
        .await?
        .is_some())
}

/// A write refused because another safe took the address meanwhile.
pub fn address_taken(e: sqlx::Error) -> ApiError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::EmailInUse,
        _ => e.into(),
    }
}

/// The account's sign-in address.
pub async fn email_of(state: &AppState, account_id: i64) -> ApiResult<String> {
    let row = sqlx::query("SELECT email FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(col(&row, "email")?)
}

pub async fn me(state: &AppState, account_id: i64) -> ApiResult<Me> {
    let row =
        sqlx::query("SELECT email, first_name, last_name, used_bytes FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or(ApiError::Unauthorized)?;
    let first_name: String = col(&row, "first_name")?;
    let last_name: String = col(&row, "last_name")?;
    let initials: String = [&first_name, &last_name]
        .iter()
        .filter_map(|n| n.chars().next())
        .flat_map(char::to_uppercase)
        .collect();
    Ok(Me {
        email: col(&row, "email")?,
        first_name,
        last_name,
        initials,
        used_bytes: u64::try_from(col::<i64>(&row, "used_bytes")?).unwrap_or(0),
        quota_bytes: state.quota_bytes,
    })
}

/// The *Organismes* tab: organisations the safe is linked to.
pub async fn organisations(state: &AppState, account_id: i64) -> ApiResult<Vec<Organisation>> {
    let rows = sqlx::query(
        "SELECT o.name, e.former FROM enrolments e JOIN organisations o ON o.id = e.org_id \
         WHERE e.account_id = $1 AND e.state = 'finalised' ORDER BY o.name",
    )
    .bind(account_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Organisation {
                name: col(r, "name")?,
                current: col::<i64>(r, "former")? == 0,
            })
        })
        .collect()
}

/// With the current password: every other session ends, and the
/// sign-in address is told.
pub async fn change_password(
    state: &AppState,
    source: Source,
    session: &Current,
    current: &str,
    new: &str,
) -> ApiResult<()> {
    check_new_password(new)?;
    let email = email_of(state, session.account_id).await?;
    check_password(state, source, &email, current).await?;
    set_password(state, session.account_id, new).await?;
    sessions::end_others(state, session.account_id, Some(session)).await?;
    tracing::info!(event = "password_changed", client = %source, account = session.account_id);
    state.mailer.send_later(
        &email,
        "Coffre : mot de passe changé / password changed",
        "Le mot de passe de votre coffre vient d'être changé ; les autres appareils ont été déconnectés.\n\
         Si ce n'est pas vous, choisissez-en un nouveau avec « Mot de passe oublié ? ».\n\n\
         Your safe's password was just changed; your other devices were signed out.\n\
         If this was not you, choose a new one with \"Forgot your password?\".\n"
            .to_owned(),
    );
    Ok(())
}

pub(crate) async fn set_password(state: &AppState, account_id: i64, new: &str) -> ApiResult<()> {
    let hash = state.passwords.hash(new).await?;
    sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(account_id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Sends a reset code when a safe uses `email`. The answer, and the time
/// it takes, are the same either way: the limits count the address asked
/// about, and the looking up and e-mailing happen after the answer.
pub async fn request_reset(state: &AppState, source: Source, email: &str) -> ApiResult<()> {
    let now = (state.clock)().0;
    let who = address_key(email);
    state
        .limits
        .check(&limits::RESETS_PER_SOURCE, &[&source.key()], now)?;
    state
        .limits
        .check(&limits::RESETS_PER_ADDRESS, &[&who], now)?;
    let Ok(email) = Email::parse(&who) else {
        return Ok(());
    };
    let later = state.clone();
    state.spawn_chore(async move {
        let state = &later;
        if has_safe(state, &email).await? {
            let code = codes::issue(state, "reset", email.as_str(), email.as_str()).await?;
            state
                .mailer
                .send(
                    email.as_str(),
                    "Votre code Coffre / Your Coffre code",
                    codes::message(
                        "Vous avez demandé à changer le mot de passe de votre coffre. / You asked to reset your safe's password.",
                        &code,
                    ),
                )
                .await?;
        }
        Ok(())
    })
}

/// Sets a new password with the e-mailed code; every session ends.
pub async fn confirm_reset(
    state: &AppState,
    source: Source,
    email: &str,
    code: &str,
    new: &str,
) -> ApiResult<()> {
    check_new_password(new)?;
    let email = Email::parse(email).map_err(|_| ApiError::WrongCode)?;
    codes::check(state, source, "reset", email.as_str(), code).await?;
    let row = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(ApiError::WrongCode)?;
    let id: i64 = col(&row, "id")?;
    set_password(state, id, new).await?;
    sessions::end_others(state, id, None).await?;
    tracing::info!(event = "password_reset", client = %source, account = id);
    Ok(())
}
