//! Signed-in sessions (table `sessions`): a random 256-bit token given to
//! the client once and stored as its HMAC, with a short public id the
//! owner sees in the list of sessions and can end.

use coffre_api::{Session, SessionInfo};

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::{secrets, AppState};

const SESSION_SECONDS: i64 = 30 * 86_400;

/// A session authenticated by its token.
#[derive(Clone, Debug)]
pub struct Current {
    pub account_id: i64,
    pub token_hash: String,
}

pub async fn create(state: &AppState, account_id: i64, label: Option<&str>) -> ApiResult<Session> {
    let now = (state.clock)().0;
    let token = secrets::token();
    let expires_at = now + SESSION_SECONDS;
    let label = label.map(|l| printable_label(l, 120));
    sqlx::query(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, public_id, label) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(state.secret.hash(&token))
    .bind(account_id)
    .bind(now)
    .bind(expires_at)
    .bind(secrets::public_id())
    .bind(label)
    .execute(&state.db.pool)
    .await?;
    Ok(Session { token, expires_at })
}

/// The session a token belongs to.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<Current> {
    let now = (state.clock)().0;
    if token.len() > 128 {
        return Err(ApiError::Unauthorized);
    }
    let token_hash = state.secret.hash(token);
    let row =
        sqlx::query("SELECT account_id FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(&token_hash)
            .bind(now)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or(ApiError::Unauthorized)?;
    Ok(Current {
        account_id: col(&row, "account_id")?,
        token_hash,
    })
}

pub async fn end(state: &AppState, current: &Current) -> ApiResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(&current.token_hash)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// The account's sessions, newest first.
pub async fn list(state: &AppState, current: &Current) -> ApiResult<Vec<SessionInfo>> {
    let now = (state.clock)().0;
    let rows = sqlx::query(
        "SELECT token_hash, public_id, created_at, expires_at, label FROM sessions \
         WHERE account_id = $1 AND expires_at > $2 ORDER BY created_at DESC, public_id",
    )
    .bind(current.account_id)
    .bind(now)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionInfo {
                id: col(r, "public_id")?,
                created_at: col(r, "created_at")?,
                expires_at: col(r, "expires_at")?,
                label: col(r, "label")?,
                current: col::<String>(r, "token_hash")? == current.token_hash,
            })
        })
        .collect()
}

/// Ends one of the account's sessions by its public id; another
/// account's is "not found".
pub async fn end_by_id(state: &AppState, account_id: i64, id: &str) -> ApiResult<()> {
    let done = sqlx::query("DELETE FROM sessions WHERE public_id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(&state.db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

/// Ends every session of the account but `keep` (the one asking).
pub async fn end_others(
    state: &AppState,
    account_id: i64,
    keep: Option<&Current>,
) -> ApiResult<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2")
        .bind(account_id)
        .bind(keep.map_or("", |c| c.token_hash.as_str()))
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// A `User-Agent` as a short line a person can read: printable
/// characters only.
fn printable_label(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}
