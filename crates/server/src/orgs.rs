//! Organisations and their rosters (tables `organisations`, `enrolments`).

use coffre_api::{AccountState, AccountStatus, ActivationCode, RosterImport, RosterRow};
use coffre_seal::{Certificate, SigningKey};

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::{secrets, AppState};

pub use coffre_api::roster::{parse_roster, valid_email};

/// An authenticated organisation.
#[derive(Clone, Debug)]
pub struct Org {
    pub id: i64,
    pub name: String,
    pub domains: Vec<String>,
}

/// What `coffre admin org create` hands to the organisation, once.
#[derive(Debug)]
pub struct NewOrganisation {
    pub api_key: String,
    pub seal_key: SigningKey,
    pub seal_cert: Certificate,
    /// Issuers of the seal certificate, to embed in seals.
    pub chain: Vec<Certificate>,
}

pub async fn create(
    state: &AppState,
    name: &str,
    domains: &[String],
) -> anyhow::Result<NewOrganisation> {
    let name = name.trim();
    anyhow::ensure!(!name.is_empty(), "an organisation needs a name");
    anyhow::ensure!(
        !domains.is_empty(),
        "an organisation needs at least one --domain"
    );
    let domains: Vec<String> = domains
        .iter()
        .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
        .collect();
    anyhow::ensure!(
        domains
            .iter()
            .all(|d| d.contains('.') && !d.contains(',') && !d.contains(' ')),
        "domains look like univ.example"
    );
    let now = (state.clock)();
    let (seal_key, seal_cert, chain) = state.operator.issue_seal(name, now)?;
    let api_key = format!("coffre_org_{}", secrets::token());
    sqlx::query("INSERT INTO organisations (name, domains, api_key_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(name)
        .bind(domains.join(","))
        .bind(state.secret.hash(&api_key))
        .bind(now.0)
        .execute(&state.db.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => anyhow::anyhow!("an organisation named {name} exists already"),
            _ => anyhow::Error::from(e).context("recording the organisation"),
        })?;
    Ok(NewOrganisation {
        api_key,
        seal_key,
        seal_cert,
        chain,
    })
}

pub async fn authenticate(state: &AppState, api_key: &str) -> ApiResult<Org> {
    if api_key.len() > 128 {
        return Err(ApiError::Unauthorized);
    }
    let hash = state.secret.hash(api_key);
    let legacy = secrets::legacy_hash(api_key);
    let row = sqlx::query(
        "SELECT id, name, domains, api_key_hash FROM organisations WHERE api_key_hash = $1 OR api_key_hash = $2",
    )
    .bind(&hash)
    .bind(&legacy)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::Unauthorized)?;
    if col::<String>(&row, "api_key_hash")? == legacy {
        // Issued before the server had a secret: stored under it now.
        sqlx::query("UPDATE organisations SET api_key_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(col::<i64>(&row, "id")?)
            .execute(&state.db.pool)
            .await?;
    }
    let domains: String = col(&row, "domains")?;
    Ok(Org {
        id: col(&row, "id")?,
        name: col(&row, "name")?,
        domains: domains.split(',').map(str::to_owned).collect(),
    })
}

pub async fn import_roster(
    state: &AppState,
    org: &Org,
    rows: &[RosterRow],
) -> ApiResult<RosterImport> {
    let now = (state.clock)().0;
    let mut out = RosterImport {
        created: Vec::new(),
        refused: Vec::new(),
        unchanged: Vec::new(),
    };
    let mut tx = state.db.pool.begin().await?;
    for row in rows {
        let existing =
            sqlx::query("SELECT state FROM enrolments WHERE org_id = $1 AND student_number = $2")
                .bind(org.id)
                .bind(&row.student_number)
                .fetch_optional(&mut *tx)
                .await?;
        match existing {
            Some(e) => {
                let current: String = col(&e, "state")?;
                if row.refused && current == "pre_created" {
                    sqlx::query("UPDATE enrolments SET state = 'refused', activation_code_hash = NULL WHERE org_id = $1 AND student_number = $2")
                        .bind(org.id)
                        .bind(&row.student_number)
                        .execute(&mut *tx)
                        .await?;
                    out.refused.push(row.student_number.clone());
                } else {
                    out.unchanged.push(row.student_number.clone());
                }
            }
            None => {
                let code = (!row.refused).then(secrets::activation_code);
                sqlx::query(
                    "INSERT INTO enrolments (org_id, student_number, last_name, first_name, birth_date, \
                     institutional_email, state, activation_code_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(org.id)
                .bind(&row.student_number)
                .bind(&row.last_name)
                .bind(&row.first_name)
                .bind(&row.birth_date)
                .bind(&row.institutional_email)
                .bind(if row.refused { "refused" } else { "pre_created" })
                .bind(code.as_deref().map(|c| state.secret.hash(&secrets::normalise_code(c))))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                match code {
                    Some(activation_code) => out.created.push(ActivationCode {
                        student_number: row.student_number.clone(),
                        activation_code,
                    }),
                    None => out.refused.push(row.student_number.clone()),
                }
            }
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// The status the organisation (or the student) can check.
pub async fn status(state: &AppState, org: &Org, student_number: &str) -> ApiResult<AccountStatus> {
    let row = sqlx::query(
        "SELECT e.state, e.former, a.email FROM enrolments e LEFT JOIN accounts a ON a.id = e.account_id \
         WHERE e.org_id = $1 AND e.student_number = $2",
    )
    .bind(org.id)
    .bind(student_number)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(AccountStatus {
            student_number: student_number.to_owned(),
            status: AccountState::NotProvisioned,
            masked_email: None,
            former: false,
            organisation: Some(org.name.clone()),
        });
    };
    let st: String = col(&row, "state")?;
    let email: Option<String> = col(&row, "email")?;
    let former: i64 = col(&row, "former")?;
    Ok(AccountStatus {
        student_number: student_number.to_owned(),
        status: match st.as_str() {
            "refused" => AccountState::Refused,
            "finalised" => AccountState::Finalised,
            _ => AccountState::PreCreated,
        },
        masked_email: email.as_deref().map(mask_email),
        former: former != 0,
        organisation: Some(org.name.clone()),
    })
}

/// `camille.dupont@example.org` → `c•••••••••••@example.org`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!(
                "{first}{}@{domain}",
                "•".repeat(local.chars().count().saturating_sub(1).max(3))
            )
        }
        None => "•••".into(),
    }
}

/// A written refusal or a revoked consent: a safe not yet finalised is
/// removed with what was deposited in it; a finalised one is unlinked (the
/// documents already delivered stay the student's).
pub async fn refuse(state: &AppState, org: &Org, student_number: &str) -> ApiResult<AccountStatus> {
    let mut tx = state.db.pool.begin().await?;
    let row =
        sqlx::query("SELECT id, state FROM enrolments WHERE org_id = $1 AND student_number = $2")
            .bind(org.id)
            .bind(student_number)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| ApiError::UnknownStudent(student_number.to_owned()))?;
    let id: i64 = col(&row, "id")?;
    if col::<String>(&row, "state")? == "pre_created" {
        sqlx::query("DELETE FROM documents WHERE enrolment_id = $1 AND account_id IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM activations WHERE enrolment_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE enrolments SET state = 'refused', account_id = NULL, activation_code_hash = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    status(state, org, student_number).await
}

/// The student has left: the organisation leaves the safe's current
/// Organismes (the safe itself is the student's for life).
pub async fn set_former(
    state: &AppState,
    org: &Org,
    student_number: &str,
) -> ApiResult<AccountStatus> {
    let done =
        sqlx::query("UPDATE enrolments SET former = 1 WHERE org_id = $1 AND student_number = $2")
            .bind(org.id)
            .bind(student_number)
            .execute(&state.db.pool)
            .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::UnknownStudent(student_number.to_owned()));
    }
    status(state, org, student_number).await
}

/// A new single-use activation code for a safe not yet finalised (the old
/// one stops working).
pub async fn reissue_code(
    state: &AppState,
    org: &Org,
    student_number: &str,
) -> ApiResult<ActivationCode> {
    let row =
        sqlx::query("SELECT id, state FROM enrolments WHERE org_id = $1 AND student_number = $2")
            .bind(org.id)
            .bind(student_number)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or_else(|| ApiError::UnknownStudent(student_number.to_owned()))?;
    match col::<String>(&row, "state")?.as_str() {
        "refused" => return Err(ApiError::StudentRefused(student_number.to_owned())),
        "finalised" => return Err(ApiError::AlreadyFinalised),
        _ => {}
    }
    let code = secrets::activation_code();
    sqlx::query("UPDATE enrolments SET activation_code_hash = $1 WHERE id = $2")
        .bind(state.secret.hash(&secrets::normalise_code(&code)))
        .bind(col::<i64>(&row, "id")?)
        .execute(&state.db.pool)
        .await?;
    Ok(ActivationCode {
        student_number: student_number.to_owned(),
        activation_code: code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_the_first_letter_and_the_domain() {
        assert_eq!(mask_email("camille@example.org"), "c••••••@example.org");
        assert_eq!(mask_email("a@b.example"), "a•••@b.example");
    }
}
