//! `GET /c/{text}`: the page a phone opens when it scans a printed copy's
//! QR code. Plain server-rendered HTML, French and English, no script: the
//! attestation the URL carries, checked here against the operator's own
//! trust material, and what the paper must show.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coffre_print::attestation;

use crate::AppState;

pub async fn page(State(state): State<AppState>, Path(text): Path<String>) -> Response {
    let chain = state.operator.attestation_chain();
    let certs = [chain[0].clone()];
    let carried = [chain[1].clone()];
    let cfg = state.operator.validation((state.clock)());
    let (status, body) = match attestation::check(&text, &certs, &carried, &cfg) {
        Ok(checked) => (StatusCode::OK, verified(&checked.statement)),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, refused(&e)),
    };
    (
        status,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
            // Its own style, nothing else: no script, no request.
            (
                CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

fn verified(s: &attestation::Statement) -> String {
    let fr = coffre_print::Lang::Fr;
    let en = coffre_print::Lang::En;
    let rows = [
        ("Émetteur", "Issuer", s.issuer.clone()),
        ("Étudiant·e", "Student", s.student.clone()),
        ("Titre", "Title", s.title.clone()),
        (
            "Type",
            "Kind",
            format!(
                "{} / {}",
                coffre_print::kind_words(fr, &s.kind),
                coffre_print::kind_words(en, &s.kind)
            ),
        ),
        (
            "Année universitaire",
            "Academic year",
            s.year.clone().unwrap_or_else(|| "—".into()),
        ),
        (
            "Déposé le",
            "Deposited on",
            coffre_print::date_words(en, s.deposited_at),
        ),
        (
            "Empreinte SHA-256",
            "SHA-256",
            coffre_print::grouped_digest(&s.sha256),
        ),
    ];
    let mut table = String::new();
    for (label_fr, label_en, value) in rows {
        table.push_str(&format!(
            "<tr><th scope=\"row\">{}<br><span lang=\"en\">{}</span></th><td>{}</td></tr>\n",
            escape(label_fr),
            escape(label_en),
            escape(&value)
        ));
    }
    html(
        "Copie vérifiée — Copy verified",
        &format!(
            "<p class=\"ok\"><strong>Attestation vérifiée.</strong> L'opérateur Coffre atteste \
             que ce document original a été déposé par son émetteur. La copie papier doit \
             montrer exactement ces informations et cette empreinte.</p>\
             <p class=\"ok\" lang=\"en\"><strong>Attestation verified.</strong> The Coffre \
             operator attests that its issuer deposited this original. The paper copy must \
             show exactly this information and this digest.</p>\
             <table>{table}</table>"
        ),
    )
}

fn refused(e: &attestation::CheckError) -> String {
    html(
        "Copie non vérifiée — Copy not verified",
        &format!(
            "<p class=\"bad\"><strong>Cette copie n'a pas pu être vérifiée.</strong> Ne vous y \
             fiez pas : demandez le document original à la personne qui vous l'a remise.</p>\
             <p class=\"bad\" lang=\"en\"><strong>This copy could not be verified.</strong> Do \
             not rely on it: ask the person who gave it to you for the original.</p>\
             <p lang=\"en\">{}</p>",
            escape(&e.to_string())
        ),
    )
}

fn html(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;\
         color:#111;line-height:1.45}}h1{{font-size:1.4rem;color:#12306a}}\
         .ok{{border-left:.35rem solid #12306a;padding-left:.75rem}}\
         .bad{{border-left:.35rem solid #000;padding-left:.75rem}}\
         table{{border-collapse:collapse;width:100%}}th,td{{text-align:left;vertical-align:top;\
         padding:.4rem .3rem;border-bottom:1px solid #ccc}}th{{font-weight:normal;color:#444;\
         width:40%}}td{{overflow-wrap:anywhere}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>\n",
        title = escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
