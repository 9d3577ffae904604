//! Finalisation in three steps, as the university's procedure names them:
//! 1. *Identifiez-vous* — student number and activation code;
//! 2. *Vérifiez votre adresse e-mail* — a personal address, checked by a
//!    6-digit code (the organisation's own domains are refused);
//! 3. *Associez votre Digiposte* — an existing safe (sign in) or a new one.

use coffre_api::{
    ChooseEmail, Complete, Email, EmailCodeSent, Identified, Identify, SafeChoice, Session,
    VerifyEmail,
};

use crate::db::col;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, Source};
use crate::{accounts, codes, secrets, sessions, AppState};

/// An activation lasts an hour; an e-mail code fifteen minutes.
const ACTIVATION_SECONDS: i64 = 3600;
const CODE_SECONDS: i64 = 15 * 60;
const CODE_ATTEMPTS: i64 = 5;

/// Providers of personal addresses; others get the seed's warning.
const PERSONAL_PROVIDERS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "outlook.fr",
    "hotmail.com",
    "hotmail.fr",
    "live.com",
    "live.fr",
    "msn.com",
    "yahoo.com",
    "yahoo.fr",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "sfr.fr",
    "laposte.net",
    "bbox.fr",
    "gmx.fr",
    "gmx.de",
    "gmx.com",
    "web.de",
    "aol.com",
    "yandex.com",
    "mail.com",
    "tutanota.com",
    "posteo.de",
    "example.org",
    "example.com",
];

/// Step 1. Wrong codes are counted per student number and client, and
/// per client: a stranger's guesses from one address do not stop the
/// student from another.
pub async fn identify(state: &AppState, source: Source, req: &Identify) -> ApiResult<Identified> {
    let now = (state.clock)().0;
    let number = coffre_seal::cut(req.student_number.trim(), 64);
    let from = source.key();
    let pair = [number, from.as_str()];
    state
        .limits
        .peek(&limits::WRONG_ACTIVATION_PER_SOURCE, &[&from], now)?;
    state
        .limits
        .peek(&limits::WRONG_ACTIVATION_PER_PAIR, &pair, now)?;
    let code = secrets::normalise_code(&req.activation_code);
    let code_hash = state.secret.hash(&code);
    let legacy = secrets::legacy_hash(&code);
    let row = sqlx::query(
        "SELECT e.id, e.first_name, e.last_name, e.state, e.activation_code_hash, o.name FROM enrolments e \
         JOIN organisations o ON o.id = e.org_id \
         WHERE e.student_number = $1 AND (e.activation_code_hash = $2 OR e.activation_code_hash = $3)",
    )
    .bind(number)
    .bind(&code_hash)
    .bind(&legacy)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        state
            .limits
            .count(&limits::WRONG_ACTIVATION_PER_SOURCE, &[&from], now);
        state
            .limits
            .count(&limits::WRONG_ACTIVATION_PER_PAIR, &pair, now);
        tracing::warn!(event = "wrong_activation_code", client = %source);
        return Err(ApiError::WrongCode);
    };
    let enrolment_id: i64 = col(&row, "id")?;
    if col::<Option<String>>(&row, "activation_code_hash")?.as_deref() == Some(legacy.as_str()) {
        // Issued before the server had a secret: stored under it now.
        sqlx::query("UPDATE enrolments SET activation_code_hash = $1 WHERE id = $2")
            .bind(&code_hash)
            .bind(enrolment_id)
            .execute(&state.db.pool)
            .await?;
    }
    let st: String = col(&row, "state")?;
    if st != "pre_created" {
        return Err(ApiError::AlreadyFinalised);
    }
    let token = secrets::token();
    sqlx::query(
        "INSERT INTO activations (token_hash, enrolment_id, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(state.secret.hash(&token))
    .bind(enrolment_id)
    .bind(now + ACTIVATION_SECONDS)
    .execute(&state.db.pool)
    .await?;
    Ok(Identified {
        activation_token: token,
        first_name: col(&row, "first_name")?,
        last_name: col(&row, "last_name")?,
        organisation: col(&row, "name")?,
    })
}

struct Activation {
    token_hash: String,
    enrolment_id: i64,
    email: Option<String>,
    code_hash: Option<String>,
    code_expires_at: Option<i64>,
    attempts: i64,
    verified: bool,
    org_domains: Vec<String>,
}

async fn load(state: &AppState, token: &str) -> ApiResult<Activation> {
    let now = (state.clock)().0;
    if token.len() > 128 {
        return Err(ApiError::WrongStep(
            "This finalisation has expired or does not exist: start again with your student number.",
        ));
    }
    let token_hash = state.secret.hash(token);
    let row = sqlx::query(
        "SELECT a.enrolment_id, a.email, a.email_code_hash, a.code_expires_at, a.attempts, a.email_verified, \
         a.expires_at, o.domains FROM activations a JOIN enrolments e ON e.id = a.enrolment_id \
         JOIN organisations o ON o.id = e.org_id WHERE a.token_hash = $1",
    )
    .bind(&token_hash)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::WrongStep("This finalisation has expired or does not exist: start again with your student number."))?;
    let expires: i64 = col(&row, "expires_at")?;
    if expires < now {
        return Err(ApiError::WrongStep(
            "This finalisation has expired: start again with your student number.",
        ));
    }
    let domains: String = col(&row, "domains")?;
    Ok(Activation {
        token_hash,
        enrolment_id: col(&row, "enrolment_id")?,
        email: col(&row, "email")?,
        code_hash: col(&row, "email_code_hash")?,
        code_expires_at: col(&row, "code_expires_at")?,
        attempts: col(&row, "attempts")?,
        verified: col::<i64>(&row, "email_verified")? != 0,
        org_domains: domains.split(',').map(str::to_owned).collect(),
    })
}

/// The organisation's domains and their subdomains are not personal.
fn institutional(email: &Email, domains: &[String]) -> bool {
    let domain = email.domain();
    domains
        .iter()
        .any(|d| domain == d || domain.ends_with(&format!(".{d}")))
}

pub async fn choose_email(state: &AppState, req: &ChooseEmail) -> ApiResult<EmailCodeSent> {
    let now = (state.clock)().0;
    let act = load(state, &req.activation_token).await?;
    let email = Email::parse(&req.email).map_err(|_| {
        ApiError::Invalid(format!(
            "{:?} is not an e-mail address",
            coffre_seal::cut(req.email.trim(), 100)
        ))
    })?;
    if institutional(&email, &act.org_domains) {
        return Err(ApiError::InstitutionalEmail);
    }
    state
        .limits
        .check(&limits::CODES_SENT, &["activation", &act.token_hash], now)?;
    let code = secrets::email_code();
    sqlx::query(
        "UPDATE activations SET email = $1, email_code_hash = $2, code_expires_at = $3, attempts = 0, \
         email_verified = 0 WHERE token_hash = $4",
    )
    .bind(email.as_str())
    .bind(state.secret.hash(&code))
    .bind(now + CODE_SECONDS)
    .bind(&act.token_hash)
    .execute(&state.db.pool)
    .await?;
    state
        .mailer
        .send(
            email.as_str(),
            "Votre code Coffre / Your Coffre code",
            format!(
                "Votre code de vérification est : {code}\nYour verification code is: {code}\n\n\
                 Il expire dans 15 minutes. / It expires in 15 minutes.\n"
            ),
        )
        .await?;
    let warning = (!PERSONAL_PROVIDERS.contains(&email.domain())).then(|| {
        "Utilisez un e-mail personnel qui vous permettra d'accéder à votre coffre tout le temps. \
         Évitez les e-mails professionnels auxquels vous n'aurez plus accès si vous changez d'employeur. / \
         Use a personal e-mail you will always have access to; avoid work addresses you lose when you change employers."
            .to_owned()
    });
    Ok(EmailCodeSent {
        warning,
        expires_in: CODE_SECONDS as u64,
    })
}

pub async fn verify_email(state: &AppState, req: &VerifyEmail) -> ApiResult<()> {
    let now = (state.clock)().0;
    let act = load(state, &req.activation_token).await?;
    let (Some(code_hash), Some(expires)) = (&act.code_hash, act.code_expires_at) else {
        return Err(ApiError::WrongStep(
            "Give your personal e-mail address first.",
        ));
    };
    let subject = act.enrolment_id.to_string();
    codes::refuse_after_daily_cap(state, "activation", &subject, now).await?;
    if act.attempts >= CODE_ATTEMPTS {
        return Err(ApiError::CodeUsedUp);
    }
    if expires < now {
        return Err(ApiError::CodeExpired);
    }
    let given = req.code.trim();
    if given.len() > 16 || &state.secret.hash(given) != code_hash {
        sqlx::query("UPDATE activations SET attempts = attempts + 1 WHERE token_hash = $1")
            .bind(&act.token_hash)
            .execute(&state.db.pool)
            .await?;
        codes::count_failure(state, "activation", &subject, now).await?;
        return Err(if act.attempts + 1 >= CODE_ATTEMPTS {
            ApiError::CodeUsedUp
        } else {
            ApiError::WrongCode
        });
    }
    sqlx::query(
        "UPDATE activations SET email_verified = 1, email_code_hash = NULL WHERE token_hash = $1",
    )
    .bind(&act.token_hash)
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

pub async fn complete(
    state: &AppState,
    source: Source,
    req: &Complete,
    label: Option<&str>,
) -> ApiResult<Session> {
    let now = (state.clock)().0;
    let act = load(state, &req.activation_token).await?;
    let Some(email) = act.email.clone().filter(|_| act.verified) else {
        return Err(ApiError::WrongStep(
            "Verify your personal e-mail address first.",
        ));
    };
    let account_id = match &req.safe {
        SafeChoice::Existing { email, password } => {
            accounts::check_password(state, source, email, password).await?
        }
        SafeChoice::New { password } => {
            accounts::check_new_password(password)?;
            let exists = sqlx::query("SELECT id FROM accounts WHERE email = $1")
                .bind(&email)
                .fetch_optional(&state.db.pool)
                .await?;
            if exists.is_some() {
                return Err(ApiError::EmailInUse);
            }
            let names = sqlx::query("SELECT first_name, last_name FROM enrolments WHERE id = $1")
                .bind(act.enrolment_id)
                .fetch_one(&state.db.pool)
                .await?;
            let hash = state.passwords.hash(password).await?;
            let row = sqlx::query(
                "INSERT INTO accounts (email, password_hash, first_name, last_name, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&email)
            .bind(hash)
            .bind(col::<String>(&names, "first_name")?)
            .bind(col::<String>(&names, "last_name")?)
            .bind(now)
            .fetch_one(&state.db.pool)
            .await
            .map_err(accounts::address_taken)?;
            col(&row, "id")?
        }
    };
    // Link the enrolment and its deposits to the safe, once.
    let mut tx = state.db.pool.begin().await?;
    let linked = sqlx::query(
        "UPDATE enrolments SET state = 'finalised', account_id = $1, activation_code_hash = NULL \
         WHERE id = $2 AND state = 'pre_created'",
    )
    .bind(account_id)
    .bind(act.enrolment_id)
    .execute(&mut *tx)
    .await?;
    if linked.rows_affected() != 1 {
        return Err(ApiError::AlreadyFinalised);
    }
    sqlx::query("UPDATE documents SET account_id = $1 WHERE enrolment_id = $2")
        .bind(account_id)
        .bind(act.enrolment_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM activations WHERE enrolment_id = $1")
        .bind(act.enrolment_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    sessions::create(state, account_id, label).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn institutional_addresses_include_subdomains() {
        let d = vec!["univ.example".to_owned()];
        let e = |s: &str| Email::parse(s).unwrap();
        assert!(institutional(&e("a@univ.example"), &d));
        assert!(institutional(&e("a@etu.univ.example"), &d));
        assert!(!institutional(&e("a@notuniv.example"), &d));
        assert!(!institutional(&e("a@gmail.com"), &d));
    }
}
