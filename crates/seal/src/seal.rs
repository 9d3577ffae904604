//! Sealing: PAdES baseline signatures written as incremental updates.

use std::io::Write;

use crate::cms::{self, SignRequest};
use crate::crypto::{sha256, CertCache, Certificate, Crl, SigningKey, UnixTime};
use crate::pdf::{self, Dict, Document, ObjRef, Object, Update};
use crate::tsa::TimeStamper;
use crate::{oid, Error};

/// The PAdES baseline level to produce (ETSI EN 319 142-1 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Signature only.
    BB,
    /// Signature plus a signature time-stamp.
    BT,
    /// B-T plus validation data (certificates and CRLs) in a `/DSS`.
    BLt,
}

/// How to seal a document.
#[derive(Debug)]
pub struct SealConfig<'a> {
    pub key: &'a SigningKey,
    /// The seal certificate first, then its issuers (the root may be included).
    pub chain: Vec<Certificate>,
    pub level: Level,
    /// The claimed signing time written in the signature dictionary.
    pub time: UnixTime,
    /// Required for [`Level::BT`] and [`Level::BLt`].
    pub timestamper: Option<&'a dyn TimeStamper>,
    /// Revocation lists embedded at [`Level::BLt`].
    pub crls: Vec<Crl>,
    /// Make this a certification signature (DocMDP, P=2: form filling and
    /// signing remain allowed).
    pub certify: bool,
    pub reason: Option<String>,
}

impl std::fmt::Debug for dyn TimeStamper + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TimeStamper")
    }
}

/// Room reserved in `/Contents` before the CMS is known, beyond the
/// certificates themselves.
const BASE_RESERVE: usize = 1024;
const TIMESTAMP_RESERVE: usize = 2560;

/// Seals `pdf`, returning the new file; the original bytes are its prefix.
pub fn seal(pdf: &[u8], cfg: &SealConfig<'_>) -> Result<Vec<u8>, Error> {
    if cfg.level != Level::BB && cfg.timestamper.is_none() {
        return Err(Error::TimestamperRequired);
    }
    let signer = cfg
        .chain
        .first()
        .ok_or(Error::BadCertificate("empty chain"))?;
    if signer.spki().subject_public_key.raw_bytes() != cfg.key.public_key() {
        return Err(Error::KeyDoesNotMatchCertificate);
    }
    let certs_len: usize = cfg.chain.iter().map(|c| c.der().len()).sum();
    let mut reserve = BASE_RESERVE
        + certs_len
        + if cfg.level == Level::BB {
            0
        } else {
            TIMESTAMP_RESERVE
        };
    let signed = loop {
        match sign_once(pdf, cfg, reserve)? {
            Ok(out) => break out,
            Err(needed) => reserve = needed + 512,
        }
    };
    if cfg.level == Level::BLt {
        add_validation_data(&signed, cfg)
    } else {
        Ok(signed)
    }
}

/// One attempt: `Ok(Err(n))` when the CMS needs `n` bytes, more than reserved.
fn sign_once(
    pdf: &[u8],
    cfg: &SealConfig<'_>,
    reserve: usize,
) -> Result<Result<Vec<u8>, usize>, Error> {
    let doc = Document::parse(pdf).map_err(Error::NotPdf)?;
    if doc.trailer().get(b"Encrypt").is_some() {
        return Err(Error::Encrypted);
    }
    let root = doc
        .trailer()
        .reference(b"Root")
        .ok_or(Error::Unsupported("trailer without /Root"))?;
    let catalog = doc
        .dict(&Object::Ref(root), 0)
        .map_err(Error::NotPdf)?
        .ok_or(Error::Unsupported("catalog is not a dictionary"))?;
    if certification_level(&doc, &catalog) == Some(1) {
        return Err(Error::Locked);
    }
    let page = first_page(&doc, &catalog)?;

    let mut up = Update::new(pdf, &doc);
    let sig = up.allocate();
    let field = up.allocate();

    // The signature dictionary, with placeholders patched below.
    up.begin(sig);
    let mut head = Vec::new();
    head.extend_from_slice(b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M");
    pdf::serialize(&Object::Str(cfg.time.to_pdf_date().into_bytes()), &mut head);
    if let Some(reason) = &cfg.reason {
        head.extend_from_slice(b"/Reason");
        pdf::serialize(&Object::Str(pdf::text_string(reason)), &mut head);
    }
    if cfg.certify {
        head.extend_from_slice(
            b"/Reference[<</Type/SigRef/TransformMethod/DocMDP/TransformParams<</Type/TransformParams/P 2/V/1.2>>>>]",
        );
    }
    head.extend_from_slice(b"/ByteRange");
    up.out.extend_from_slice(&head);
    let byte_range_at = up.out.len();
    up.out.extend_from_slice(&[b' '; 46]);
    up.out.extend_from_slice(b"/Contents");
    let contents_at = up.out.len();
    up.out.push(b'<');
    up.out.resize(up.out.len() + reserve * 2, b'0');
    up.out.push(b'>');
    let contents_end = up.out.len();
    up.out.extend_from_slice(b">>");
    up.end();

    // The field, merged with an invisible widget on the first page.
    let name = format!("CoffreSeal{}", field.num);
    let mut widget = Dict::default();
    widget.set(b"Type", Object::Name(b"Annot".to_vec()));
    widget.set(b"Subtype", Object::Name(b"Widget".to_vec()));
    widget.set(b"FT", Object::Name(b"Sig".to_vec()));
    widget.set(b"T", Object::Str(name.into_bytes()));
    widget.set(b"V", Object::Ref(sig));
    widget.set(b"F", Object::Int(132));
    widget.set(b"Rect", Object::Array(vec![Object::Int(0); 4]));
    widget.set(b"P", Object::Ref(page));
    up.object(field, &Object::Dict(widget));

    // The catalog (and AcroForm where it stands apart) lists the field.
    let mut new_catalog = catalog.clone();
    let (form_ref, mut form) = match catalog.get(b"AcroForm") {
        Some(Object::Ref(r)) => (
            Some(*r),
            doc.dict(&Object::Ref(*r), 0)
                .map_err(Error::NotPdf)?
                .unwrap_or_default(),
        ),
        Some(Object::Dict(d)) => (None, d.clone()),
        _ => (None, Dict::default()),
    };
    let mut fields = match form.get(b"Fields") {
        Some(f) => doc
            .resolve(f, 0)
            .map_err(Error::NotPdf)?
            .and_then(|o| o.as_array().map(<[Object]>::to_vec))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    fields.push(Object::Ref(field));
    form.set(b"Fields", Object::Array(fields));
    form.set(b"SigFlags", Object::Int(3));
    match form_ref {
        Some(r) => up.object(r, &Object::Dict(form)),
        None => new_catalog.set(b"AcroForm", Object::Dict(form)),
    }
    if cfg.certify {
        let mut perms = Dict::default();
        perms.set(b"DocMDP", Object::Ref(sig));
        new_catalog.set(b"Perms", Object::Dict(perms));
    }
    up.object(root, &Object::Dict(new_catalog));

    // The page lists the widget among its annotations.
    let mut page_dict = doc
        .dict(&Object::Ref(page), 0)
        .map_err(Error::NotPdf)?
        .ok_or(Error::Unsupported("page is not a dictionary"))?;
    match page_dict.get(b"Annots").cloned() {
        Some(Object::Ref(r)) => {
            let mut annots = doc
                .resolve(&Object::Ref(r), 0)
                .map_err(Error::NotPdf)?
                .and_then(|o| o.as_array().map(<[Object]>::to_vec))
                .unwrap_or_default();
            annots.push(Object::Ref(field));
            up.object(r, &Object::Array(annots));
        }
        Some(Object::Array(mut a)) => {
            a.push(Object::Ref(field));
            page_dict.set(b"Annots", Object::Array(a));
            up.object(page, &Object::Dict(page_dict));
        }
        _ => {
            page_dict.set(b"Annots", Object::Array(vec![Object::Ref(field)]));
            up.object(page, &Object::Dict(page_dict));
        }
    }

    let mut out = up.finish(&doc);

    // Fill in the byte range: everything but the hex string.
    let range = [0, contents_at, contents_end, out.len() - contents_end];
    let mut text = Vec::new();
    let _ = write!(
        text,
        "[{} {} {} {}]",
        range[0], range[1], range[2], range[3]
    );
    if text.len() > 46 {
        return Err(Error::Unsupported("document too large to seal"));
    }
    out[byte_range_at..byte_range_at + text.len()].copy_from_slice(&text);

    let digest = {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&out[..contents_at]);
        ctx.update(&out[contents_end..]);
        ctx.finish()
    };
    let cms_der = cms::sign(
        &SignRequest {
            key: cfg.key,
            chain: &cfg.chain,
            content_type: oid::DATA,
            econtent: None,
            digest: digest.as_ref(),
        },
        &mut |signature| match (cfg.level, cfg.timestamper) {
            (Level::BB, _) | (_, None) => Ok(Vec::new()),
            (_, Some(tsa)) => {
                let token = tsa.timestamp(&sha256(signature))?;
                Ok(vec![cms::timestamp_attribute(&token)?])
            }
        },
    )?;
    if cms_der.len() > reserve {
        return Ok(Err(cms_der.len()));
    }
    let hex = out[contents_at + 1..].as_mut();
    for (i, b) in cms_der.iter().enumerate() {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        hex[2 * i] = DIGITS[usize::from(b >> 4)];
        hex[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    Ok(Ok(out))
}

/// Appends a `/DSS` with every certificate and CRL a validator needs.
fn add_validation_data(signed: &[u8], cfg: &SealConfig<'_>) -> Result<Vec<u8>, Error> {
    let doc = Document::parse(signed).map_err(Error::NotPdf)?;
    let root = doc
        .trailer()
        .reference(b"Root")
        .ok_or(Error::Unsupported("trailer without /Root"))?;
    let mut catalog = doc
        .dict(&Object::Ref(root), 0)
        .map_err(Error::NotPdf)?
        .ok_or(Error::Unsupported("catalog is not a dictionary"))?;

    // Certificates: the seal chain and those in every signature's
    // time-stamp tokens.
    let mut certs: Vec<Vec<u8>> = cfg.chain.iter().map(|c| c.der().to_vec()).collect();
    let cache = CertCache::default();
    for sig in crate::validate::signature_fields(&doc).unwrap_or_default() {
        let Some(contents) = sig.dict.get(b"Contents") else {
            continue;
        };
        let Object::Str(cms_bytes) = contents else {
            continue;
        };
        let Ok(parsed) = cms::parse(cms_bytes, &cache) else {
            continue;
        };
        if let Some(token) = parsed.timestamp_token() {
            if let Ok(stamp) = cms::parse(&token, &cache) {
                certs.extend(stamp.certs.iter().map(|c| c.der().to_vec()));
            }
        }
    }
    let mut seen = Vec::new();
    certs.retain(|c| {
        let new = !seen.contains(c);
        seen.push(c.clone());
        new
    });

    // An existing /DSS is extended, not replaced: earlier signatures keep
    // their validation data.
    let old_dss = catalog
        .get(b"DSS")
        .and_then(|d| doc.dict(d, 0).ok().flatten())
        .unwrap_or_default();
    let existing = |key: &[u8]| -> (Vec<Object>, Vec<Vec<u8>>) {
        let refs = old_dss
            .get(key)
            .and_then(|l| doc.resolve(l, 0).ok().flatten())
            .and_then(|l| l.as_array().map(<[Object]>::to_vec))
            .unwrap_or_default();
        let ders = refs
            .iter()
            .filter_map(|o| match doc.resolve(o, 0).ok().flatten() {
                Some(Object::Stream(s)) => doc.decode(&s).ok(),
                _ => None,
            })
            .collect();
        (refs, ders)
    };
    let (mut cert_refs, old_certs) = existing(b"Certs");
    let (mut crl_refs, old_crls) = existing(b"CRLs");

    let mut up = Update::new(signed, &doc);
    let stream = |up: &mut Update, data: &[u8]| {
        let r = up.allocate();
        up.begin(r);
        let _ = write!(up.out, "<</Length {}>>\nstream\n", data.len());
        up.out.extend_from_slice(data);
        up.out.extend_from_slice(b"\nendstream");
        up.end();
        Object::Ref(r)
    };
    for c in certs.iter().filter(|c| !old_certs.contains(c)) {
        cert_refs.push(stream(&mut up, c));
    }
    for c in cfg
        .crls
        .iter()
        .filter(|c| !old_crls.iter().any(|o| o == c.der()))
    {
        crl_refs.push(stream(&mut up, c.der()));
    }
    let mut dss = old_dss;
    dss.set(b"Type", Object::Name(b"DSS".to_vec()));
    dss.set(b"Certs", Object::Array(cert_refs));
    if !crl_refs.is_empty() {
        dss.set(b"CRLs", Object::Array(crl_refs));
    }
    let dss_ref = up.allocate();
    up.object(dss_ref, &Object::Dict(dss));
    catalog.set(b"DSS", Object::Ref(dss_ref));
    up.object(root, &Object::Dict(catalog));
    Ok(up.finish(&doc))
}

/// The DocMDP permission level of a certification signature, if any.
pub(crate) fn certification_level(doc: &Document<'_>, catalog: &Dict) -> Option<i64> {
    let perms = doc.dict(catalog.get(b"Perms")?, 0).ok()??;
    let sig = doc.dict(perms.get(b"DocMDP")?, 0).ok()??;
    docmdp_level(doc, &sig)
}

pub(crate) fn docmdp_level(doc: &Document<'_>, sig: &Dict) -> Option<i64> {
    let refs = doc.resolve(sig.get(b"Reference")?, 0).ok()??;
    for r in refs.as_array()? {
        let Ok(Some(r)) = doc.dict(r, 0) else {
            continue;
        };
        if r.name(b"TransformMethod") == Some(b"DocMDP") {
            let params = r
                .get(b"TransformParams")
                .and_then(|p| doc.dict(p, 0).ok().flatten());
            return Some(params.and_then(|p| p.int(b"P")).unwrap_or(2));
        }
    }
    None
}

/// The first page's reference, walking the page tree.
fn first_page(doc: &Document<'_>, catalog: &Dict) -> Result<ObjRef, Error> {
    let mut node = catalog
        .reference(b"Pages")
        .ok_or(Error::Unsupported("catalog without /Pages"))?;
    for _ in 0..64 {
        let dict = doc
            .dict(&Object::Ref(node), 0)
            .map_err(Error::NotPdf)?
            .ok_or(Error::Unsupported("page tree node is not a dictionary"))?;
        if dict.name(b"Type") == Some(b"Page") {
            return Ok(node);
        }
        let kids = dict
            .get(b"Kids")
            .and_then(|k| doc.resolve(k, 0).ok().flatten())
            .ok_or(Error::Unsupported("page tree without /Kids"))?;
        node = match kids.as_array().and_then(|k| k.first()) {
            Some(Object::Ref(r)) => *r,
            _ => return Err(Error::Unsupported("document has no page")),
        };
    }
    Err(Error::Unsupported("page tree too deep"))
}
