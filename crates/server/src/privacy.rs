//! The student's rights over their data (the legal notice): export
//! everything, rectify names and address, erase the safe.

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

use coffre_api::Email;

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, Source};
use crate::{accounts, codes, documents, secrets, AppState};

/// `metadata.json` of an export.
#[derive(Debug, Serialize)]
struct ExportMetadata {
    account: coffre_api::Me,
    organisations: Vec<coffre_api::Organisation>,
    documents: Vec<(String, coffre_api::DocumentInfo)>,
    exported_at: i64,
}

/// Everything in the safe as one tar archive: `metadata.json`, then each
/// document under `documents/`. Streamed: documents are read one at a
/// time, in chunks.
pub async fn export(
    state: &AppState,
    account_id: i64,
) -> ApiResult<impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static> {
    let me = accounts::me(state, account_id).await?;
    let organisations = accounts::organisations(state, account_id).await?;
    let mut docs = Vec::new();
    let mut page = 1;
    loop {
        let q = coffre_api::DocumentQuery {
            page: Some(page),
            per_page: Some(200),
            ..Default::default()
        };
        let batch = documents::list(state, account_id, &q).await?;
        let n = batch.documents.len();
        docs.extend(batch.documents);
        if n < 200 {
            break;
        }
        page += 1;
    }
    let named: Vec<(String, coffre_api::DocumentInfo)> = docs
        .into_iter()
        .map(|d| {
            (
                format!("documents/{}-{}", &d.id[..8], file_name(&d.title)),
                d,
            )
        })
        .collect();
    let meta = serde_json::to_vec_pretty(&ExportMetadata {
        account: me,
        organisations,
        documents: named.clone(),
        exported_at: (state.clock)().0,
    })
    .map_err(|e| ApiError::Internal(e.into()))?;

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let state = state.clone();
    let mtime = (state.clock)().0;
    tokio::spawn(async move {
        let send = |b: Bytes| {
            let tx = tx.clone();
            async move { tx.send(Ok(b)).await.is_ok() }
        };
        if !send(tar_header("metadata.json", meta.len() as u64, mtime)).await
            || !send(Bytes::from(meta.clone())).await
            || !send(padding(meta.len() as u64)).await
        {
            return;
        }
        for (name, doc) in named {
            if !send(tar_header(&name, doc.size, doc.created_at)).await {
                return;
            }
            let mut stream = match state.blobs.get_stream(&doc.sha256).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(c) => {
                        if !send(c).await {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                        return;
                    }
                }
            }
            if !send(padding(doc.size)).await {
                return;
            }
        }
        let _ = send(Bytes::from(vec![0u8; 1024])).await;
    });
    Ok(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

fn file_name(title: &str) -> String {
    let mut name: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    if !name.contains('.') {
        name.push_str(".pdf");
    }
    name
}

/// A ustar header for a regular file (names are ASCII and short here).
fn tar_header(name: &str, size: u64, mtime: i64) -> Bytes {
    let mut h = [0u8; 512];
    let put =
        |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut h, 0, &name.as_bytes()[..name.len().min(99)]);
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, format!("{:011o}\0", mtime.max(0)).as_bytes());
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    Bytes::copy_from_slice(&h)
}

fn padding(size: u64) -> Bytes {
    Bytes::from(vec![0u8; ((512 - size % 512) % 512) as usize])
}

pub async fn rectify_names(
    state: &AppState,
    account_id: i64,
    first: &str,
    last: &str,
) -> ApiResult<coffre_api::Me> {
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() || last.is_empty() || first.len() > 200 || last.len() > 200 {
        return Err(ApiError::Invalid(
            "First and last names are required.".into(),
        ));
    }
    sqlx::query("UPDATE accounts SET first_name = $1, last_name = $2 WHERE id = $3")
        .bind(first)
        .bind(last)
        .bind(account_id)
        .execute(&state.db.pool)
        .await?;
    accounts::me(state, account_id).await
}

/// How long the old address can undo a change of sign-in address.
const UNDO_SECONDS: i64 = 7 * 86_400;

/// Sends a code to the new address, which becomes the sign-in address
/// once confirmed. The password is asked again. The answer is the same
/// whether or not another safe uses the address (that safe's address is
/// told instead of receiving a code).
pub async fn change_email(
    state: &AppState,
    source: Source,
    account_id: i64,
    email: &str,
    password: &str,
) -> ApiResult<()> {
    let email = Email::parse(email).map_err(|_| {
        ApiError::Invalid(format!(
            "{:?} is not an e-mail address",
            coffre_seal::cut(email.trim(), 100)
        ))
    })?;
    let current = accounts::email_of(state, account_id).await?;
    accounts::check_password(state, source, &current, password).await?;
    let now = (state.clock)().0;
    state.limits.check(
        &limits::CODES_SENT,
        &["email-change", &account_id.to_string()],
        now,
    )?;
    let later = state.clone();
    state.spawn_chore(async move {
        let state = &later;
        if accounts::has_safe(state, &email).await? {
            state
                .mailer
                .send(
                    email.as_str(),
                    "Coffre : votre adresse / your address",
                    "Quelqu'un a voulu faire de cette adresse celle d'un autre coffre ; elle est déjà celle \
                     de votre coffre, rien n'a changé. / Someone tried to make this address the sign-in \
                     address of another safe; it already signs in to yours, and nothing changed.\n"
                        .to_owned(),
                )
                .await?;
            return Ok(());
        }
        let code = codes::issue(state, "email", &account_id.to_string(), email.as_str()).await?;
        state
            .mailer
            .send(
                email.as_str(),
                "Votre code Coffre / Your Coffre code",
                codes::message(
                    "Confirmez votre nouvelle adresse de connexion. / Confirm your new sign-in address.",
                    &code,
                ),
            )
            .await
    })
}

/// The new address becomes the sign-in address; the old one is told, with
/// a code that undoes the change for 7 days.
pub async fn confirm_email(
    state: &AppState,
    source: Source,
    account_id: i64,
    code: &str,
) -> ApiResult<coffre_api::Me> {
    let email = codes::check(state, source, "email", &account_id.to_string(), code).await?;
    let old = accounts::email_of(state, account_id).await?;
    let now = (state.clock)().0;
    let undo = secrets::activation_code();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("UPDATE accounts SET email = $1 WHERE id = $2")
        .bind(&email)
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(accounts::address_taken)?;
    sqlx::query(
        "INSERT INTO email_changes (code_hash, account_id, old_email, new_email, changed_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(state.secret.hash(&secrets::normalise_code(&undo)))
    .bind(account_id)
    .bind(&old)
    .bind(&email)
    .bind(now)
    .bind(now + UNDO_SECONDS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(event = "email_changed", client = %source, account = account_id);
    state.mailer.send_later(
        &old,
        "Coffre : adresse de connexion changée / sign-in address changed",
        format!(
            "L'adresse de connexion de votre coffre est maintenant {email}.\n\
             Si ce n'est pas vous, annulez ce changement dans les 7 jours : dans l'application Coffre, \
             « Je n'ai pas demandé ce changement », avec ce code : {undo}\n\
             Votre ancienne adresse sera rétablie, tous les appareils déconnectés, et vous choisirez un \
             nouveau mot de passe.\n\n\
             Your safe now signs in with {email}.\n\
             If this was not you, undo it within 7 days: in the Coffre app, \"I did not ask for this \
             change\", with this code: {undo}\n\
             Your old address will sign in again, every device will be signed out, and you will choose \
             a new password.\n"
        ),
    );
    accounts::me(state, account_id).await
}

/// The old address takes the safe back: it signs in again, every session
/// ends, and the password must be chosen anew by e-mail (whoever changed
/// the address may know it).
pub async fn undo_email_change(state: &AppState, source: Source, code: &str) -> ApiResult<()> {
    let now = (state.clock)().0;
    let from = source.key();
    state.limits.peek(&limits::UNDO_PER_SOURCE, &[&from], now)?;
    let code_hash = state.secret.hash(&secrets::normalise_code(code));
    let row = sqlx::query(
        "SELECT account_id, old_email, new_email, expires_at FROM email_changes WHERE code_hash = $1",
    )
    .bind(&code_hash)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row.filter(|r| col::<i64>(r, "expires_at").is_ok_and(|t| t >= now)) else {
        state.limits.count(&limits::UNDO_PER_SOURCE, &[&from], now);
        return Err(ApiError::WrongCode);
    };
    let account_id: i64 = col(&row, "account_id")?;
    let old: String = col(&row, "old_email")?;
    // Nobody knows this password: only a reset by e-mail opens the safe.
    let unknown = state.passwords.hash(&secrets::token()).await?;
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("UPDATE accounts SET email = $1, password_hash = $2 WHERE id = $3")
        .bind(&old)
        .bind(&unknown)
        .bind(account_id)
        .execute(&mut *tx)
        .await
        .map_err(accounts::address_taken)?;
    for sql in [
        "DELETE FROM sessions WHERE account_id = $1",
        "DELETE FROM email_changes WHERE account_id = $1",
    ] {
        sqlx::query(sql).bind(account_id).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM email_codes WHERE purpose = 'email' AND subject = $1")
        .bind(account_id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::warn!(event = "email_change_undone", client = %source, account = account_id);
    state.mailer.send_later(
        &old,
        "Coffre : changement annulé / change undone",
        "Votre coffre se connecte de nouveau avec cette adresse. Choisissez un nouveau mot de passe avec \
         « Mot de passe oublié ? ».\n\nYour safe signs in with this address again. Choose a new password \
         with \"Forgot your password?\".\n"
            .to_owned(),
    );
    Ok(())
}

/// Erases the safe: documents, their bytes, sessions, codes, the account.
/// Organisations see the student as having refused.
pub async fn erase(
    state: &AppState,
    source: Source,
    account_id: i64,
    password: &str,
) -> ApiResult<()> {
    let me = accounts::me(state, account_id).await?;
    accounts::check_password(state, source, &me.email, password).await?;
    let shas: Vec<String> = sqlx::query("SELECT sha256 FROM documents WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| col(r, "sha256"))
        .collect::<Result<_, _>>()?;
    let mut tx = state.db.pool.begin().await?;
    for sql in [
        "DELETE FROM sessions WHERE account_id = $1",
        "DELETE FROM email_changes WHERE account_id = $1",
        "DELETE FROM upload_reservations WHERE account_id = $1",
        "DELETE FROM documents WHERE account_id = $1",
        "UPDATE enrolments SET state = 'refused', account_id = NULL, activation_code_hash = NULL WHERE account_id = $1",
    ] {
        sqlx::query(sql).bind(account_id).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM email_codes WHERE subject = $1 OR subject = $2")
        .bind(account_id.to_string())
        .bind(&me.email)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    for sha in shas {
        crate::documents::release_blob(state, &sha).await?;
    }
    Ok(())
}
