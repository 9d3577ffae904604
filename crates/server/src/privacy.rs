//! The student's rights over their data (the legal notice): export
//! everything, rectify names and address, erase the safe.

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::orgs::valid_email;
use crate::{accounts, codes, documents, AppState};

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

/// Sends a code to the new address; it becomes the sign-in address once
/// confirmed.
pub async fn change_email(state: &AppState, account_id: i64, email: &str) -> ApiResult<()> {
    let email = email.trim().to_ascii_lowercase();
    if !valid_email(&email) {
        return Err(ApiError::Invalid(format!(
            "{email:?} is not an e-mail address"
        )));
    }
    let taken = sqlx::query("SELECT id FROM accounts WHERE email = $1")
        .bind(&email)
        .fetch_optional(&state.db.pool)
        .await?;
    if taken.is_some() {
        return Err(ApiError::EmailInUse);
    }
    codes::send(
        state,
        "email",
        &account_id.to_string(),
        &email,
        "Confirmez votre nouvelle adresse de connexion. / Confirm your new sign-in address.",
    )
    .await
}

pub async fn confirm_email(
    state: &AppState,
    account_id: i64,
    code: &str,
) -> ApiResult<coffre_api::Me> {
    let email = codes::check(state, "email", &account_id.to_string(), code).await?;
    sqlx::query("UPDATE accounts SET email = $1 WHERE id = $2")
        .bind(&email)
        .bind(account_id)
        .execute(&state.db.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::EmailInUse,
            _ => e.into(),
        })?;
    accounts::me(state, account_id).await
}

/// Erases the safe: documents, their bytes, sessions, codes, the account.
/// Organisations see the student as having refused.
pub async fn erase(state: &AppState, account_id: i64, password: &str) -> ApiResult<()> {
    let me = accounts::me(state, account_id).await?;
    accounts::check_password(state, &me.email, password).await?;
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
