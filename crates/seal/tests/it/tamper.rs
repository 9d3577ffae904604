//! The tamper table: each row changes a sealed document (or the
//! validator's knowledge) one way and states the verdict a careful
//! validator gives.

use std::io::Write;

use coffre_seal::pdf::{Document, Entry, ObjRef, Object, Update};
use coffre_seal::pki::{self, CertSpec, DemoPki, Role};
use coffre_seal::{
    validate, Indication, Level, Report, Status, SubIndication, UnixTime, ValidationConfig,
};

use crate::{sample, seal_with, DAY, HOUR, NOW};

/// What a row expects: the file status, and the first signature's
/// indication and sub-indication.
#[derive(Debug)]
enum Expect {
    Verdict(Status, Option<SubIndication>),
    NotPdf,
}

struct Row {
    name: &'static str,
    /// Builds the bytes to validate and the validation config.
    make: fn(&Fixture) -> (Vec<u8>, ValidationConfig),
    expect: Expect,
}

struct Fixture {
    pki: DemoPki,
    original: Vec<u8>,
    bb: Vec<u8>,
    bt: Vec<u8>,
    blt: Vec<u8>,
}

fn later() -> UnixTime {
    UnixTime(NOW.0 + HOUR)
}

fn trusting(f: &Fixture) -> ValidationConfig {
    ValidationConfig::new(vec![f.pki.root.clone()], Vec::new(), later())
}

fn rows() -> Vec<Row> {
    use Expect::*;
    use Status::*;
    use SubIndication::*;
    vec![
        Row {
            name: "intact B-B",
            make: |f| (f.bb.clone(), trusting(f)),
            expect: Verdict(TotalPassed, None),
        },
        Row {
            name: "intact B-T",
            make: |f| (f.bt.clone(), trusting(f)),
            expect: Verdict(TotalPassed, None),
        },
        Row {
            name: "intact B-LT",
            make: |f| (f.blt.clone(), trusting(f)),
            expect: Verdict(TotalPassed, None),
        },
        Row {
            name: "byte flipped inside the signed range",
            make: |f| {
                let mut b = f.bt.clone();
                let at = find(&b, b"(Page 1)") + 3;
                b[at] ^= 0x01;
                (b, trusting(f))
            },
            expect: Verdict(TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "page appended after sealing",
            make: |f| (append_page(&f.blt), trusting(f)),
            expect: Verdict(TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "content stream replaced after sealing",
            make: |f| (replace_content(&f.blt), trusting(f)),
            expect: Verdict(TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "overlay annotation added after sealing",
            make: |f| (add_overlay(&f.blt), trusting(f)),
            expect: Verdict(TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "content stream disguised as validation data",
            make: |f| (disguise_as_dss(&f.bt), trusting(f)),
            expect: Verdict(TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "new cross-reference that does not chain to the sealed revision",
            make: |f| (rewrite_without_prev(&f.bb), trusting(f)),
            expect: Verdict(TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "byte range gap widened",
            make: |f| (widen_gap(&f.bb), trusting(f)),
            expect: Verdict(TotalFailed, Some(FormatFailure)),
        },
        Row {
            name: "signature value corrupted",
            make: |f| (corrupt_signature(&f.bb), trusting(f)),
            expect: Verdict(TotalFailed, Some(SigCryptoFailure)),
        },
        Row {
            name: "untrusted root",
            make: |f| {
                let other = DemoPki::generate("Autre", NOW).unwrap();
                (
                    f.bt.clone(),
                    ValidationConfig::new(vec![other.root], Vec::new(), later()),
                )
            },
            expect: Verdict(Indeterminate, Some(NoCertificateChainFound)),
        },
        Row {
            name: "expired seal certificate, no time-stamp",
            make: |f| {
                let mut cfg = trusting(f);
                cfg.time = UnixTime(f.pki.seal.not_after().0 + DAY);
                (f.bb.clone(), cfg)
            },
            expect: Verdict(Indeterminate, Some(OutOfBoundsNoPoe)),
        },
        Row {
            name: "expired seal certificate, time-stamped while valid",
            make: |f| {
                let mut cfg = trusting(f);
                cfg.time = UnixTime(f.pki.seal.not_after().0 + DAY);
                (f.bt.clone(), cfg)
            },
            expect: Verdict(TotalPassed, None),
        },
        Row {
            name: "seal certificate revoked before sealing, CRL in /DSS",
            make: |f| {
                let crl = pki::crl(
                    &f.pki.intermediate,
                    &f.pki.intermediate_key,
                    &[(&f.pki.seal, UnixTime(NOW.0 - HOUR))],
                    UnixTime(NOW.0 - 60),
                    UnixTime(NOW.0 + 30 * DAY),
                    2,
                )
                .unwrap();
                (
                    seal_with(
                        &f.original,
                        &f.pki,
                        Level::BLt,
                        vec![crl, f.pki.root_crl.clone()],
                        false,
                    ),
                    trusting(f),
                )
            },
            expect: Verdict(TotalFailed, Some(Revoked)),
        },
        Row {
            name: "seal certificate revoked, no time-stamp",
            make: |f| {
                let crl = pki::crl(
                    &f.pki.intermediate,
                    &f.pki.intermediate_key,
                    &[(&f.pki.seal, UnixTime(NOW.0 + 60))],
                    UnixTime(NOW.0 + 120),
                    UnixTime(NOW.0 + 30 * DAY),
                    2,
                )
                .unwrap();
                (
                    f.bb.clone(),
                    ValidationConfig::new(vec![f.pki.root.clone()], vec![crl], later()),
                )
            },
            expect: Verdict(Indeterminate, Some(RevokedNoPoe)),
        },
        Row {
            name: "seal certificate revoked after the time-stamp",
            make: |f| {
                let crl = pki::crl(
                    &f.pki.intermediate,
                    &f.pki.intermediate_key,
                    &[(&f.pki.seal, UnixTime(NOW.0 + 60))],
                    UnixTime(NOW.0 + 120),
                    UnixTime(NOW.0 + 30 * DAY),
                    2,
                )
                .unwrap();
                (
                    f.bt.clone(),
                    ValidationConfig::new(vec![f.pki.root.clone()], vec![crl], later()),
                )
            },
            expect: Verdict(TotalPassed, None),
        },
        Row {
            name: "seal certificate not yet valid",
            make: |f| {
                let mut cfg = trusting(f);
                cfg.time = UnixTime(NOW.0 - 2 * DAY);
                (f.bb.clone(), cfg)
            },
            expect: Verdict(Indeterminate, Some(NotYetValid)),
        },
        Row {
            name: "seal certificate that may not sign (a CA certificate)",
            make: |f| {
                let spec = CertSpec {
                    role: Role::Intermediate,
                    common_name: "Not a seal".into(),
                    organization: "Université Démo".into(),
                    not_before: UnixTime(NOW.0 - DAY),
                    not_after: UnixTime(NOW.0 + 365 * DAY),
                };
                let key = coffre_seal::SigningKey::generate().unwrap();
                let cert =
                    pki::issue(&f.pki.intermediate, &f.pki.intermediate_key, &key, &spec).unwrap();
                let sealed = coffre_seal::seal(
                    &f.original,
                    &coffre_seal::SealConfig {
                        key: &key,
                        chain: vec![cert, f.pki.intermediate.clone()],
                        level: Level::BB,
                        time: NOW,
                        timestamper: None,
                        crls: Vec::new(),
                        certify: false,
                        reason: None,
                    },
                )
                .unwrap();
                (sealed, trusting(f))
            },
            // An intermediate with pathLen 0 cannot issue a CA below it.
            expect: Verdict(Indeterminate, Some(ChainConstraintsFailure)),
        },
        Row {
            name: "second seal over a sealed document",
            make: |f| {
                (
                    seal_with(
                        &f.blt,
                        &f.pki,
                        Level::BLt,
                        vec![f.pki.crl.clone(), f.pki.root_crl.clone()],
                        false,
                    ),
                    trusting(f),
                )
            },
            expect: Verdict(TotalPassed, None),
        },
        Row {
            name: "certified document, then an annotation",
            make: |f| {
                (
                    add_overlay(&seal_with(&f.original, &f.pki, Level::BT, Vec::new(), true)),
                    trusting(f),
                )
            },
            expect: Verdict(TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "certified document, then a second seal",
            make: |f| {
                let certified = seal_with(&f.original, &f.pki, Level::BT, Vec::new(), true);
                (
                    seal_with(&certified, &f.pki, Level::BT, Vec::new(), false),
                    trusting(f),
                )
            },
            expect: Verdict(TotalPassed, None),
        },
        Row {
            name: "unsigned",
            make: |f| (f.original.clone(), trusting(f)),
            expect: Verdict(NoSignature, None),
        },
        Row {
            name: "not a PDF",
            make: |f| (b"PK\x03\x04 a zip file".to_vec(), trusting(f)),
            expect: NotPdf,
        },
        Row {
            // The sealing update was cut short: the file is damaged, and
            // says so; it does not carry "no signature".
            name: "truncated in the middle",
            make: |f| (f.bt[..f.bt.len() / 2].to_vec(), trusting(f)),
            expect: Verdict(TotalFailed, Some(FormatFailure)),
        },
        Row {
            name: "truncated by one byte",
            make: |f| (f.bb[..f.bb.len() - 1].to_vec(), trusting(f)),
            expect: Verdict(TotalFailed, Some(FormatFailure)),
        },
    ]
}

#[test]
fn tamper_table() {
    let pki = crate::pki();
    let original = sample::small_pdf(2);
    let fixture = Fixture {
        bb: seal_with(&original, &pki, Level::BB, Vec::new(), false),
        bt: seal_with(&original, &pki, Level::BT, Vec::new(), false),
        blt: seal_with(
            &original,
            &pki,
            Level::BLt,
            vec![pki.crl.clone(), pki.root_crl.clone()],
            false,
        ),
        original,
        pki,
    };
    let mut failures = Vec::new();
    for row in rows() {
        let (bytes, cfg) = (row.make)(&fixture);
        let got = validate(&bytes, &cfg);
        let ok = match (&row.expect, &got) {
            (Expect::NotPdf, Err(_)) => true,
            (Expect::Verdict(status, sub), Ok(report)) => {
                report.status() == *status && first_sub(report) == *sub && consistent(report)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}: expected {:?}, got {}",
                row.name,
                row.expect,
                describe(&got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "tamper table:\n{}",
        failures.join("\n")
    );
}

#[test]
fn b_lt_reports_validation_data_as_an_allowed_change() {
    let pki = crate::pki();
    let original = sample::small_pdf(1);
    let blt = seal_with(
        &original,
        &pki,
        Level::BLt,
        vec![pki.crl.clone(), pki.root_crl.clone()],
        false,
    );
    let report = validate(
        &blt,
        &ValidationConfig::new(vec![pki.root.clone()], Vec::new(), later()),
    )
    .unwrap();
    let sig = &report.signatures[0];
    assert_eq!(sig.indication, Indication::TotalPassed);
    assert!(!sig.covers_whole_document);
    assert!(!sig.modified_after_sealing);
    assert!(sig.revocation_checked, "CRLs from /DSS are used");
    assert!(sig
        .timestamp
        .as_ref()
        .is_some_and(|t| t.valid && t.time == NOW));
    assert!(sig.changes.iter().all(|c| c.allowed) && !sig.changes.is_empty());
    assert_eq!(
        sig.signer.as_ref().and_then(|s| s.organization.as_deref()),
        Some("Université Démo")
    );
    assert_eq!(sig.chain.len(), 3);
    assert!(blt.starts_with(&original), "sealing only appends");
}

fn first_sub(r: &Report) -> Option<SubIndication> {
    r.signatures
        .iter()
        .find(|s| s.indication != Indication::TotalPassed)
        .and_then(|s| s.sub_indication)
}

/// A report never contradicts itself.
fn consistent(r: &Report) -> bool {
    r.signatures.iter().all(|s| {
        (s.indication == Indication::TotalPassed) == s.sub_indication.is_none()
            && (!s.modified_after_sealing || s.indication == Indication::TotalFailed)
    })
}

fn describe(got: &Result<Report, coffre_seal::Error>) -> String {
    match got {
        Err(e) => format!("Err({e})"),
        Ok(r) => format!(
            "{:?} {:?}",
            r.status(),
            r.signatures
                .iter()
                .map(|s| (s.indication, s.sub_indication, s.details.clone()))
                .collect::<Vec<_>>()
        ),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in file")
}

/// An incremental update that writes the given objects.
fn update(pdf: &[u8], write: impl FnOnce(&Document<'_>, &mut Update)) -> Vec<u8> {
    let doc = Document::parse(pdf).unwrap();
    let mut up = Update::new(pdf, &doc);
    write(&doc, &mut up);
    up.finish(&doc)
}

fn stream(up: &mut Update, data: &[u8]) -> ObjRef {
    let r = up.allocate();
    up.begin(r);
    write!(up.out, "<</Length {}>>\nstream\n", data.len()).unwrap();
    up.out.extend_from_slice(data);
    up.out.extend_from_slice(b"\nendstream");
    up.end();
    r
}

fn obj(n: u32) -> ObjRef {
    ObjRef { num: n, gen: 0 }
}

fn dict_of(doc: &Document<'_>, r: ObjRef) -> coffre_seal::pdf::Dict {
    doc.dict(&Object::Ref(r), 0).unwrap().unwrap()
}

/// small_pdf: 1 catalog, 2 pages, 3 font, 4 page 1, 5 its content.
fn append_page(pdf: &[u8]) -> Vec<u8> {
    update(pdf, |doc, up| {
        let content = stream(
            up,
            b"BT /F1 24 Tf 72 760 Td (Diplome obtenu avec mention) Tj ET",
        );
        let page = up.allocate();
        let mut p = dict_of(doc, obj(4));
        p.set(b"Contents", Object::Ref(content));
        p.remove(b"Annots");
        up.object(page, &Object::Dict(p));
        let mut pages = dict_of(doc, obj(2));
        let mut kids = pages.get(b"Kids").unwrap().as_array().unwrap().to_vec();
        kids.push(Object::Ref(page));
        pages.set(b"Count", Object::Int(kids.len() as i64));
        pages.set(b"Kids", Object::Array(kids));
        up.object(obj(2), &Object::Dict(pages));
    })
}

fn replace_content(pdf: &[u8]) -> Vec<u8> {
    update(pdf, |_, up| {
        let data = b"BT /F1 24 Tf 72 760 Td (Page 1 - Note: 20/20) Tj ET";
        up.begin(obj(5));
        write!(up.out, "<</Length {}>>\nstream\n", data.len()).unwrap();
        up.out.extend_from_slice(data);
        up.out.extend_from_slice(b"\nendstream");
        up.end();
    })
}

/// Lists the page's content stream under /DSS, then changes it: an object
/// that showed something cannot become "validation data".
fn disguise_as_dss(pdf: &[u8]) -> Vec<u8> {
    update(pdf, |doc, up| {
        let mut cat = dict_of(doc, obj(1));
        let mut dss = coffre_seal::pdf::Dict::default();
        dss.set(b"Certs", Object::Array(vec![Object::Ref(obj(5))]));
        cat.set(b"DSS", Object::Dict(dss));
        up.object(obj(1), &Object::Dict(cat));
        let data = b"BT /F1 24 Tf 72 760 Td (Page 1 - Note: 20/20) Tj ET";
        up.begin(obj(5));
        write!(up.out, "<</Length {}>>\nstream\n", data.len()).unwrap();
        up.out.extend_from_slice(data);
        up.out.extend_from_slice(b"\nendstream");
        up.end();
    })
}

fn add_overlay(pdf: &[u8]) -> Vec<u8> {
    update(pdf, |doc, up| {
        let ap = up.allocate();
        up.begin(ap);
        let data =
            b"1 1 1 rg 0 0 200 40 re f 0 g BT /Helv 18 Tf 5 12 Td (Mention: Tres bien) Tj ET";
        write!(
            up.out,
            "<</Type/XObject/Subtype/Form/BBox[0 0 200 40]/Length {}>>\nstream\n",
            data.len()
        )
        .unwrap();
        up.out.extend_from_slice(data);
        up.out.extend_from_slice(b"\nendstream");
        up.end();
        let annot = up.allocate();
        up.object(
            annot,
            &coffre_seal::pdf::Object::Dict({
                let mut d = coffre_seal::pdf::Dict::default();
                d.set(b"Type", Object::Name(b"Annot".to_vec()));
                d.set(b"Subtype", Object::Name(b"FreeText".to_vec()));
                d.set(
                    b"Rect",
                    Object::Array(vec![
                        Object::Int(72),
                        Object::Int(700),
                        Object::Int(272),
                        Object::Int(740),
                    ]),
                );
                let mut apd = coffre_seal::pdf::Dict::default();
                apd.set(b"N", Object::Ref(ap));
                d.set(b"AP", Object::Dict(apd));
                d
            }),
        );
        let mut page = dict_of(doc, obj(4));
        let mut annots = page
            .get(b"Annots")
            .and_then(|a| a.as_array())
            .map(<[Object]>::to_vec)
            .unwrap_or_default();
        annots.push(Object::Ref(annot));
        page.set(b"Annots", Object::Array(annots));
        up.object(obj(4), &Object::Dict(page));
    })
}

/// Appends a new content stream and a complete cross-reference table with
/// no /Prev: readers that take the newest table see only it.
fn rewrite_without_prev(pdf: &[u8]) -> Vec<u8> {
    let doc = Document::parse(pdf).unwrap();
    let mut out = pdf.to_vec();
    let new5 = out.len();
    let data = b"BT /F1 24 Tf 72 760 Td (Page 1 - Note: 20/20) Tj ET";
    write!(out, "5 0 obj\n<</Length {}>>\nstream\n", data.len()).unwrap();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let size = doc.trailer().int(b"Size").unwrap() as u32;
    let xref = out.len();
    write!(out, "xref\n0 {size}\n0000000000 65535 f\r\n").unwrap();
    for n in 1..size {
        let off = match (n, doc.entry(n, 0)) {
            (5, _) => new5,
            (_, Some(Entry::InUse { offset, .. })) => offset,
            _ => panic!("object {n} not in use"),
        };
        write!(out, "{off:010} 00000 n\r\n").unwrap();
    }
    write!(
        out,
        "trailer\n<</Size {size}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    out
}

fn widen_gap(pdf: &[u8]) -> Vec<u8> {
    let at = find(pdf, b"/ByteRange[");
    let end = at + pdf[at..].iter().position(|b| *b == b']').unwrap();
    let nums: Vec<usize> = std::str::from_utf8(&pdf[at + 11..end])
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let text = format!(
        "/ByteRange[{} {} {} {}]",
        nums[0],
        nums[1] - 20,
        nums[2],
        nums[3]
    );
    let mut out = pdf.to_vec();
    let width = end + 1 - at;
    let padded = format!("{text:width$}");
    out[at..at + width].copy_from_slice(padded.as_bytes());
    out
}

fn corrupt_signature(pdf: &[u8]) -> Vec<u8> {
    // The CMS ends with the signature value when there is no unsigned
    // attribute (B-B): flip its last byte.
    let at = find(pdf, b"/Contents<") + 10;
    let hex = |i: usize| {
        u8::from_str_radix(
            std::str::from_utf8(&pdf[at + 2 * i..at + 2 * i + 2]).unwrap(),
            16,
        )
        .unwrap()
    };
    assert_eq!(hex(0), 0x30);
    let len = match hex(1) {
        0x82 => 4 + ((hex(2) as usize) << 8 | hex(3) as usize),
        0x83 => 5 + ((hex(2) as usize) << 16 | (hex(3) as usize) << 8 | hex(4) as usize),
        n => panic!("unexpected length byte {n:#x}"),
    };
    let last = at + 2 * (len - 1);
    let mut out = pdf.to_vec();
    let flipped = format!("{:02X}", hex(len - 1) ^ 0x01);
    out[last..last + 2].copy_from_slice(flipped.as_bytes());
    out
}
