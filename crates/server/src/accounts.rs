//! Safes (table `accounts`) and their sessions (table `sessions`).

use coffre_api::{Me, Organisation, Session};

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::{secrets, AppState};

/// Personal uploads may use 3 GB; organisation deposits do not count.
pub const QUOTA_BYTES: u64 = 3_000_000_000;
const SESSION_SECONDS: i64 = 30 * 86_400;

pub fn check_new_password(password: &str) -> ApiResult<()> {
    if password.chars().count() < 10 || password.len() > 1024 {
        return Err(ApiError::Invalid(
            "Choose a password of at least 10 characters.".into(),
        ));
    }
    Ok(())
}

/// The account whose e-mail and password these are (rate-limited per
/// address).
pub async fn check_password(state: &AppState, email: &str, password: &str) -> ApiResult<i64> {
    let now = (state.clock)().0;
    let email = email.trim().to_ascii_lowercase();
    let key = format!("sign-in:{email}");
    if !state.limits.allow(&key, 10, 900, now) {
        return Err(ApiError::TooManyAttempts);
    }
    let row = sqlx::query("SELECT id, password_hash FROM accounts WHERE email = $1")
        .bind(&email)
        .fetch_optional(&state.db.pool)
        .await?;
    let (id, stored) = match row {
        Some(r) => (col::<i64>(&r, "id")?, col::<String>(&r, "password_hash")?),
        None => (0, String::new()),
    };
    // Hashing runs whether or not the address exists: same time either way.
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        if stored.is_empty() {
            let _ = secrets::hash_password(&password);
            false
        } else {
            secrets::verify_password(&password, &stored)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    if !ok {
        return Err(ApiError::Unauthorized);
    }
    state.limits.reset(&key);
    Ok(id)
}

pub async fn new_session(state: &AppState, account_id: i64) -> ApiResult<Session> {
    let now = (state.clock)().0;
    let token = secrets::token();
    let expires_at = now + SESSION_SECONDS;
    sqlx::query("INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(secrets::hash(&token))
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(&state.db.pool)
        .await?;
    Ok(Session { token, expires_at })
}

pub async fn sign_in(state: &AppState, email: &str, password: &str) -> ApiResult<Session> {
    let id = check_password(state, email, password).await?;
    new_session(state, id).await
}

/// The account a session token belongs to.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<i64> {
    let now = (state.clock)().0;
    let row =
        sqlx::query("SELECT account_id FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(secrets::hash(token))
            .bind(now)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or(ApiError::Unauthorized)?;
    Ok(col(&row, "account_id")?)
}

pub async fn sign_out(state: &AppState, token: &str) -> ApiResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(secrets::hash(token))
        .execute(&state.db.pool)
        .await?;
    Ok(())
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
        quota_bytes: QUOTA_BYTES,
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

pub async fn change_password(
    state: &AppState,
    account_id: i64,
    current: &str,
    new: &str,
) -> ApiResult<()> {
    check_new_password(new)?;
    let email: String = col(
        &sqlx::query("SELECT email FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&state.db.pool)
            .await?,
        "email",
    )?;
    check_password(state, &email, current).await?;
    set_password(state, account_id, new).await
}

async fn set_password(state: &AppState, account_id: i64, new: &str) -> ApiResult<()> {
    let new = new.to_owned();
    let hash = tokio::task::spawn_blocking(move || secrets::hash_password(&new))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(account_id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Sends a reset code when a safe uses `email`; says nothing either way.
pub async fn request_reset(state: &AppState, email: &str) -> ApiResult<()> {
    let email = email.trim().to_ascii_lowercase();
    let exists = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(&email)
        .fetch_optional(&state.db.pool)
        .await?;
    if exists.is_some() {
        crate::codes::send(
            state,
            "reset",
            &email,
            &email,
            "Vous avez demandé à changer le mot de passe de votre coffre. / You asked to reset your safe's password.",
        )
        .await?;
    }
    Ok(())
}

/// Sets a new password with the e-mailed code; every session ends.
pub async fn confirm_reset(state: &AppState, email: &str, code: &str, new: &str) -> ApiResult<()> {
    check_new_password(new)?;
    let email = email.trim().to_ascii_lowercase();
    crate::codes::check(state, "reset", &email, code).await?;
    let row = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(&email)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(ApiError::WrongCode)?;
    let id: i64 = col(&row, "id")?;
    set_password(state, id, new).await?;
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}
