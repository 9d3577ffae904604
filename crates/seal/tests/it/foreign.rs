//! The foreign table: PDFs signed the way other producers sign them, each
//! with the verdict EU DSS gives. The signatures are made during the test
//! by OpenSSL (`openssl cms -sign`: BER, no signed attributes, RSA-1024,
//! SHA-1, Ed25519, two signers, CAdES attributes) or built here with the
//! `cms` crate where OpenSSL cannot (attributes out of DER order,
//! ESSCertIDv2 with policies, BSI plain ECDSA). The PDF around them is
//! written by hand, as a small producer would, not by our sealer.
//!
//! OpenSSL is part of every Debian system; without it (and without
//! COFFRE_REQUIRE_EXTERNAL=1) the rows it makes are skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use coffre_seal::{
    validate, Applies, Certificate, Crl, Indication, Level, Rule, SignatureKind, Status,
    SubIndication, UnixTime, ValidationConfig,
};

use crate::{pki, seal_with, DAY, HOUR, NOW};

/// A PDF with one signature field whose value is a placeholder, and where
/// that placeholder sits.
struct Prepared {
    bytes: Vec<u8>,
    /// The `<…>` hex string, brackets included.
    gap: (usize, usize),
}

impl Prepared {
    /// A one-page document signed with `sub_filter`, room for `room`
    /// bytes of signature.
    fn new(sub_filter: &str, room: usize) -> Prepared {
        Prepared::build(sub_filter, room, None, None, false, None)
    }

    /// The same document showing `content` (its font F1 written `font`).
    fn with_page(content: &str, font: &str) -> Prepared {
        Prepared::build(
            "ETSI.CAdES.detached",
            8192,
            None,
            None,
            false,
            Some((content, font)),
        )
    }

    /// A certification signature with DocMDP permission `p`.
    fn certifying(p: i64) -> Prepared {
        Prepared::build("ETSI.CAdES.detached", 8192, None, Some(p), false, None)
    }

    /// A text field "Nom", and a signature that locks every field
    /// (FieldMDP /Action /All).
    fn locking_fields() -> Prepared {
        Prepared::build("ETSI.CAdES.detached", 8192, Some(0), None, true, None)
    }

    /// The same document with an empty text field "Nom" (object 8) whose
    /// /Ff is `ff` (1: read-only).
    fn with_text_field(sub_filter: &str, ff: i64) -> Prepared {
        Prepared::build(sub_filter, 8192, Some(ff), None, false, None)
    }

    fn build(
        sub_filter: &str,
        room: usize,
        text_field: Option<i64>,
        certify: Option<i64>,
        field_mdp: bool,
        page: Option<(&str, &str)>,
    ) -> Prepared {
        let perms = if certify.is_some() {
            "/Perms<</DocMDP 5 0 R>>"
        } else {
            ""
        };
        let reference = match certify {
            Some(p) => format!(
                "/Reference[<</Type/SigRef/TransformMethod/DocMDP/TransformParams<</Type/TransformParams/P {p}/V/1.2>>>>]"
            ),
            None if field_mdp => "/Reference[<</Type/SigRef/TransformMethod/FieldMDP\
                 /TransformParams<</Type/TransformParams/Action/All/V/1.2>>>>]"
                .to_string(),
            None => String::new(),
        };
        let fields = if text_field.is_some() {
            "4 0 R 8 0 R"
        } else {
            "4 0 R"
        };
        let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::new();
        let mut obj = |out: &mut Vec<u8>, body: &[u8]| {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        };
        obj(
            &mut out,
            format!(
                "<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[{fields}]/SigFlags 3>>{perms}>>"
            )
            .as_bytes(),
        );
        obj(&mut out, b"<</Type/Pages/Kids[3 0 R]/Count 1>>");
        obj(
            &mut out,
            format!(
                "<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 6 0 R\
                 /Resources<</Font<</F1 7 0 R>>>>/Annots[{fields}]>>"
            )
            .as_bytes(),
        );
        obj(
            &mut out,
            b"<</FT/Sig/T(Signature1)/V 5 0 R/Type/Annot/Subtype/Widget/Rect[0 0 0 0]/F 132/P 3 0 R>>",
        );
        let mut sig = format!(
            "<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/{sub_filter}/M(D:20261201090000Z){reference}\
             /ByteRange[0 0 0 0]{pad}/Contents <",
            pad = " ".repeat(40)
        )
        .into_bytes();
        let gap_start_in_sig = sig.len() - 1;
        sig.extend(std::iter::repeat_n(b'0', 2 * room));
        sig.extend_from_slice(b">>>");
        let sig_at = out.len() + "5 0 obj\n".len();
        obj(&mut out, &sig);
        let (text, font) = page.unwrap_or((
            "BT /F1 14 Tf 72 760 Td (Releve de notes - Elsewhere University) Tj ET",
            "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
        ));
        let mut stream = format!("<</Length {}>>\nstream\n", text.len()).into_bytes();
        stream.extend_from_slice(text.as_bytes());
        stream.extend_from_slice(b"\nendstream");
        obj(&mut out, &stream);
        obj(&mut out, font.as_bytes());
        if let Some(ff) = text_field {
            obj(
                &mut out,
                format!(
                    "<</FT/Tx/T(Nom)/Type/Annot/Subtype/Widget/Rect[72 600 272 620]/F 4/P 3 0 R\
                     /DA(/F1 12 Tf 0 g)/Ff {ff}>>"
                )
                .as_bytes(),
            );
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
        );
        for o in &offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<</Size {}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n",
                offsets.len() + 1
            )
            .as_bytes(),
        );
        let gap = (
            sig_at + gap_start_in_sig,
            sig_at + gap_start_in_sig + 2 * room + 2,
        );
        // The byte range, written over the placeholder and its padding.
        let range = format!("[0 {} {} {}]", gap.0, gap.1, out.len() - gap.1);
        let at = find(&out, b"/ByteRange[0 0 0 0]") + "/ByteRange".len();
        let width = "[0 0 0 0]".len() + 40;
        assert!(range.len() <= width);
        out[at..at + width].copy_from_slice(format!("{range:<width$}").as_bytes());
        Prepared { bytes: out, gap }
    }

    /// The bytes a signature covers.
    fn signed_bytes(&self) -> Vec<u8> {
        [&self.bytes[..self.gap.0], &self.bytes[self.gap.1..]].concat()
    }

    fn fill(mut self, cms: &[u8]) -> Vec<u8> {
        let room = (self.gap.1 - self.gap.0 - 2) / 2;
        assert!(
            cms.len() <= room,
            "{} bytes of CMS, room for {room}",
            cms.len()
        );
        let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
        self.bytes[self.gap.0 + 1..self.gap.0 + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        self.bytes
    }
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .expect("marker")
}

fn openssl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("openssl"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
            "openssl is required (COFFRE_REQUIRE_EXTERNAL=1)"
        );
        eprintln!("skipped: openssl is not installed");
    }
    found
}

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA made by OpenSSL (P-256), its CRL, and signers of several kinds.
struct Foreign {
    dir: tempfile::TempDir,
    root: Certificate,
    /// An RSA root that signs certificates with SHA-1.
    old_root: Certificate,
    crl: Crl,
}

const SIGNERS: [(&str, &[&str]); 5] = [
    (
        "rsa1024",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
    ),
    (
        "rsa2048",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    ),
    (
        "p256",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    ),
    ("ed25519", &["-algorithm", "ED25519"]),
    ("ed448", &["-algorithm", "ED448"]),
];

impl Foreign {
    fn new() -> Foreign {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
             default_md = sha256\ndefault_crl_days = 30\n\
             [leaf]\nbasicConstraints = critical,CA:FALSE\n\
             keyUsage = critical,digitalSignature,nonRepudiation\n",
        )
        .unwrap();
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
        run(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "ca.key",
            ],
        );
        run(
            d,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-days",
                "3650",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=Elsewhere Test Root/O=Elsewhere University",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        // A key and a certificate for `name`, issued by `ca` with `digest`.
        let issue = |name: &str, keygen: &[&str], ca: &str, digest: &str| {
            let key = format!("{name}.key");
            let mut args = vec!["genpkey"];
            args.extend_from_slice(keygen);
            args.extend_from_slice(&["-out", &key]);
            run(d, &args);
            let csr = format!("{name}.csr");
            let subj = format!("/CN=Signer {name}/O=Elsewhere University");
            run(
                d,
                &["req", "-new", "-key", &key, "-subj", &subj, "-out", &csr],
            );
            run(
                d,
                &[
                    "x509",
                    "-req",
                    digest,
                    "-in",
                    &csr,
                    "-CA",
                    &format!("{ca}.pem"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-days",
                    "365",
                    "-extfile",
                    "ca.cnf",
                    "-extensions",
                    "leaf",
                    "-out",
                    &format!("{name}.pem"),
                ],
            );
        };
        for (name, keygen) in SIGNERS {
            issue(name, keygen, "ca", "-sha256");
        }
        run(
            d,
            &[
                "ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem",
                "-out", "ca.crl",
            ],
        );
        // An older university's RSA root, which still certifies with
        // SHA-1: its signer "sha1cert" has a P-256 key.
        run(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "oldca.key",
                "-days",
                "3650",
                "-out",
                "oldca.pem",
                "-subj",
                "/CN=Elsewhere Old Root/O=Elsewhere University",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        issue(
            "sha1cert",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "oldca",
            "-sha1",
        );
        let first = |file: &str| {
            Certificate::from_pem_chain(&std::fs::read_to_string(d.join(file)).unwrap())
                .unwrap()
                .remove(0)
        };
        let (root, old_root) = (first("ca.pem"), first("oldca.pem"));
        let crl = Crl::from_pem_or_der(&std::fs::read(d.join("ca.crl")).unwrap()).unwrap();
        Foreign {
            dir,
            root,
            old_root,
            crl,
        }
    }

    fn config(&self) -> ValidationConfig {
        ValidationConfig::new(
            vec![self.root.clone(), self.old_root.clone()],
            vec![self.crl.clone()],
            now(),
        )
    }

    /// `openssl cms -sign` over the signed bytes of `p` (or over what
    /// `content` gives), with the named signers and `extra` options.
    fn cms(&self, content: &[u8], signers: &[&str], extra: &[&str]) -> Vec<u8> {
        let d = self.dir.path();
        std::fs::write(d.join("content.bin"), content).unwrap();
        let mut args: Vec<String> = [
            "cms",
            "-sign",
            "-binary",
            "-in",
            "content.bin",
            "-outform",
            "DER",
            "-out",
            "sig.der",
            "-nosmimecap",
        ]
        .map(String::from)
        .to_vec();
        for s in signers {
            args.extend([
                "-signer".into(),
                format!("{s}.pem"),
                "-inkey".into(),
                format!("{s}.key"),
            ]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(d, &args);
        std::fs::read(d.join("sig.der")).unwrap()
    }

    /// `base` (one of `Prepared`'s documents, signed) signed once more by
    /// `signer` in an incremental update, as a second signer's software
    /// would: a new signature field, its widget on page 1 at `rect` (zero
    /// size when `None`) showing `appearance`, and with `resources` the
    /// form's default appearance and font (/DA, /DR).
    fn sign_again(
        &self,
        base: &[u8],
        signer: &str,
        rect: Option<[i64; 4]>,
        appearance: &[u8],
        resources: bool,
    ) -> Vec<u8> {
        add_signature(
            base,
            "ETSI.CAdES.detached",
            rect,
            appearance,
            resources,
            &|content| self.cms(content, &[signer], &[]),
        )
    }
}

/// `base` with one more signature field in an incremental update (see
/// [`Foreign::sign_again`]), its /Contents what `sign` makes of the signed
/// bytes.
fn add_signature(
    base: &[u8],
    sub_filter: &str,
    rect: Option<[i64; 4]>,
    appearance: &[u8],
    resources: bool,
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    use coffre_seal::pdf::{Dict, Document, ObjRef, Object, Update};
    use std::io::Write;
    let name = |n: &str| Object::Name(n.as_bytes().to_vec());
    let refer = |n: u32| Object::Ref(ObjRef { num: n, gen: 0 });
    let doc = Document::parse(base).unwrap();
    let mut up = Update::new(base, &doc);
    let sig = up.allocate();
    let field = up.allocate();
    let ap = up.allocate();
    up.begin(sig);
    write!(
        up.out,
        "<</Type/{}/Filter/Adobe.PPKLite/SubFilter/{sub_filter}/M(D:20261201100000Z)\
         /ByteRange[0 0 0 0]{}/Contents <{}>>>",
        if sub_filter == "ETSI.RFC3161" {
            "DocTimeStamp"
        } else {
            "Sig"
        },
        " ".repeat(40),
        "0".repeat(2 * 8192)
    )
    .unwrap();
    up.end();
    let [x0, y0, x1, y1] = rect.unwrap_or([0, 0, 0, 0]);
    up.begin(ap);
    write!(
        up.out,
        "<</Type/XObject/Subtype/Form/BBox[0 0 {} {}]/Resources<</Font<</Helv 7 0 R>>>>/Length {}>>\nstream\n",
        (x1 - x0).max(1),
        (y1 - y0).max(1),
        appearance.len()
    )
    .unwrap();
    up.out.extend_from_slice(appearance);
    up.out.extend_from_slice(b"\nendstream");
    up.end();
    let mut f = Dict::default();
    f.set(b"FT", name("Sig"));
    f.set(b"T", Object::Str(b"Signature2".to_vec()));
    f.set(b"V", Object::Ref(sig));
    f.set(b"Type", name("Annot"));
    f.set(b"Subtype", name("Widget"));
    f.set(
        b"Rect",
        Object::Array([x0, y0, x1, y1].map(Object::Int).to_vec()),
    );
    f.set(b"F", Object::Int(4));
    f.set(b"P", refer(3));
    let mut apd = Dict::default();
    apd.set(b"N", Object::Ref(ap));
    f.set(b"AP", Object::Dict(apd));
    up.object(field, &Object::Dict(f));
    let mut page = doc.dict(&refer(3), 0).unwrap().unwrap();
    page.set(b"Annots", Object::Array(vec![refer(4), Object::Ref(field)]));
    up.object(ObjRef { num: 3, gen: 0 }, &Object::Dict(page));
    let mut catalog = doc.dict(&refer(1), 0).unwrap().unwrap();
    let mut form = Dict::default();
    form.set(b"Fields", Object::Array(vec![refer(4), Object::Ref(field)]));
    form.set(b"SigFlags", Object::Int(3));
    if resources {
        let font = up.allocate();
        up.object(
            font,
            &Object::Dict({
                let mut d = Dict::default();
                d.set(b"Type", name("Font"));
                d.set(b"Subtype", name("Type1"));
                d.set(b"BaseFont", name("Helvetica"));
                d
            }),
        );
        form.set(b"DA", Object::Str(b"/Helv 0 Tf 0 g".to_vec()));
        let mut fonts = Dict::default();
        fonts.set(b"Helv", Object::Ref(font));
        let mut dr = Dict::default();
        dr.set(b"Font", Object::Dict(fonts));
        form.set(b"DR", Object::Dict(dr));
    }
    catalog.set(b"AcroForm", Object::Dict(form));
    up.object(ObjRef { num: 1, gen: 0 }, &Object::Dict(catalog));
    let mut out = up.finish(&doc);
    // Fill the byte range, then sign everything but the hex string.
    let br = base.len() + find(&out[base.len()..], b"/ByteRange[0 0 0 0]") + "/ByteRange".len();
    let gap0 = base.len() + find(&out[base.len()..], b"/Contents <") + "/Contents ".len();
    let gap1 = gap0 + 2 * 8192 + 2;
    let range = format!("[0 {gap0} {gap1} {}]", out.len() - gap1);
    let width = "[0 0 0 0]".len() + 40;
    out[br..br + width].copy_from_slice(format!("{range:<width$}").as_bytes());
    let content = [&out[..gap0], &out[gap1..]].concat();
    let cms = sign(&content);
    let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
    out[gap0 + 1..gap0 + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    out
}

impl Foreign {
    /// A document with a text field, signed by `signer`.
    fn signed_with_field(&self, ff: i64) -> Vec<u8> {
        let p = Prepared::with_text_field("ETSI.CAdES.detached", ff);
        let cms = self.cms(&p.signed_bytes(), &["p256"], &[]);
        p.fill(&cms)
    }

    /// A document whose signature locks its fields, signed by OpenSSL.
    fn locked(&self) -> Vec<u8> {
        let prepared = Prepared::locking_fields();
        let cms = self.cms(&prepared.signed_bytes(), &["p256"], &[]);
        prepared.fill(&cms)
    }

    /// A certified document (DocMDP `p`), signed by OpenSSL.
    fn certified(&self, p: i64) -> Vec<u8> {
        let prepared = Prepared::certifying(p);
        let cms = self.cms(&prepared.signed_bytes(), &["p256"], &[]);
        prepared.fill(&cms)
    }

    /// A document signed by OpenSSL, its CMS then sent in BER.
    fn signed_ber(&self, sub_filter: &str, signers: &[&str], extra: &[&str]) -> Vec<u8> {
        let p = Prepared::new(sub_filter, 8192);
        let content = p.signed_bytes();
        let cms = self.cms(&content, signers, extra);
        p.fill(&ber_of(&cms))
    }

    /// A document signed by OpenSSL.
    fn signed(&self, sub_filter: &str, signers: &[&str], extra: &[&str]) -> Vec<u8> {
        let p = Prepared::new(sub_filter, 8192);
        let content = p.signed_bytes();
        let cms = self.cms(&content, signers, extra);
        p.fill(&cms)
    }
}

/// A page whose only paint, a blue fill of the whole page, is clipped to
/// [72 600 172 650]; and the title line.
const CLIPPED_FILL: &str = "q 72 600 100 50 re W n 0 0 1 rg 0 0 595 842 re f Q \
     BT /F1 14 Tf 72 760 Td (Releve de notes - Elsewhere University) Tj ET";
/// The title line alone.
const TITLE: &str = "BT /F1 14 Tf 72 760 Td (Releve de notes - Elsewhere University) Tj ET";
const HELVETICA: &str = "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>";
/// Four two-byte glyphs: 30.8 points wide in [`CID_FONT`], from x = 72.
const TITLE_CID: &str = "BT /F1 14 Tf 72 760 Td <0001000200030004> Tj ET";
/// An Identity-H font: glyphs 1 and 2 are 0.6 em wide, the others 0.5.
const CID_FONT: &str = "<</Type/Font/Subtype/Type0/BaseFont/Demo/Encoding/Identity-H\
     /DescendantFonts[<</Type/Font/Subtype/CIDFontType2/BaseFont/Demo/DW 500/W[1[600 600]]>>]>>";
/// A later signature's appearance: a blue box with words.
const APPEARANCE: &[u8] =
    b"0 0 1 rg 0 0 160 30 re f 1 g BT /Helv 10 Tf 4 10 Td (Signed: Registrar) Tj ET";

/// A TrueType font whose every glyph is half an em wide: the title (38
/// characters) then advances 266 points, to x = 338, its last glyph's ink
/// reaching x = 345.
fn narrow_font() -> String {
    format!(
        "<</Type/Font/Subtype/TrueType/BaseFont/Narrow/FirstChar 32/LastChar 126/Widths[{}]>>",
        vec!["500"; 95].join(" ")
    )
}

impl Foreign {
    /// A document showing `content` (font F1 written `font`), signed by
    /// OpenSSL.
    fn signed_page(&self, content: &str, font: &str) -> Vec<u8> {
        let p = Prepared::with_page(content, font);
        let cms = self.cms(&p.signed_bytes(), &["p256"], &[]);
        p.fill(&cms)
    }

    /// That document signed again, visibly, at `rect`.
    fn signed_again_over(&self, content: &str, font: &str, rect: [i64; 4]) -> Vec<u8> {
        let once = self.signed_page(content, font);
        self.sign_again(&once, "rsa2048", Some(rect), APPEARANCE, true)
    }
}

/// DER, by hand: a tag and its body.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(body);
    out
}

fn oid(dotted: &str) -> Vec<u8> {
    let o = const_oid::ObjectIdentifier::new(dotted).unwrap();
    tlv(0x06, o.as_bytes())
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn set(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

fn alg(dotted: &str) -> Vec<u8> {
    seq(&[&oid(dotted)])
}

const ID_DATA: &str = "1.2.840.113549.1.7.1";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";

/// How the test signs the signed attributes.
#[derive(Clone, Copy)]
enum Scheme {
    /// `openssl dgst -sha256 -sign`: DER ECDSA or RSA PKCS#1 v1.5.
    Sha256(&'static str),
    /// The same ECDSA signature as BSI TR-03111's plain `r ‖ s`.
    PlainEcdsa,
    /// `openssl pkeyutl -rawin`: pure EdDSA.
    Ed25519,
    /// The same with Ed448 (digest SHAKE256, 512 bits: RFC 8419).
    Ed448,
}

/// A CMS SignedData over `content`, built attribute by attribute, in
/// the order given (not necessarily DER's).
struct Build {
    signer: &'static str,
    scheme: Scheme,
    /// Extra signed attributes, after content-type and message-digest.
    extra: Vec<Vec<u8>>,
    /// Send message-digest before content-type (not DER's order).
    unsorted: bool,
}

impl Build {
    fn new(signer: &'static str, scheme: Scheme) -> Build {
        Build {
            signer,
            scheme,
            extra: Vec::new(),
            unsorted: false,
        }
    }

    fn with(mut self, attribute: Vec<u8>) -> Build {
        self.extra.push(attribute);
        self
    }

    fn unsorted(mut self) -> Build {
        self.unsorted = true;
        self
    }
}

impl Foreign {
    fn cert_der(&self, name: &str) -> Vec<u8> {
        let pem = std::fs::read_to_string(self.dir.path().join(format!("{name}.pem"))).unwrap();
        Certificate::from_pem_chain(&pem).unwrap()[0].der().to_vec()
    }

    fn raw_sign(&self, key: &str, scheme: Scheme, tbs: &[u8]) -> Vec<u8> {
        let d = self.dir.path();
        std::fs::write(d.join("tbs.bin"), tbs).unwrap();
        let key = format!("{key}.key");
        match scheme {
            Scheme::Sha256(_) | Scheme::PlainEcdsa => run(
                d,
                &[
                    "dgst", "-sha256", "-sign", &key, "-out", "raw.sig", "tbs.bin",
                ],
            ),
            Scheme::Ed25519 | Scheme::Ed448 => run(
                d,
                &[
                    "pkeyutl", "-sign", "-rawin", "-inkey", &key, "-in", "tbs.bin", "-out",
                    "raw.sig",
                ],
            ),
        }
        let sig = std::fs::read(d.join("raw.sig")).unwrap();
        match scheme {
            Scheme::PlainEcdsa => der_to_plain(&sig, 32),
            _ => sig,
        }
    }

    fn build(&self, b: &Build, content: &[u8]) -> Vec<u8> {
        use der::Decode;
        use sha2::Digest;
        let cert_der = self.cert_der(b.signer);
        let cert = x509_cert::Certificate::from_der(&cert_der).unwrap();
        let issuer = der::Encode::to_der(&cert.tbs_certificate.issuer).unwrap();
        let serial = der::Encode::to_der(&cert.tbs_certificate.serial_number).unwrap();
        let (digest_alg, sig_alg) = match b.scheme {
            Scheme::Sha256(sig_alg) => (SHA256, sig_alg),
            Scheme::PlainEcdsa => (SHA256, "0.4.0.127.0.7.1.1.4.1.3"),
            Scheme::Ed25519 => ("2.16.840.1.101.3.4.2.3", "1.3.101.112"),
            Scheme::Ed448 => ("2.16.840.1.101.3.4.2.12", "1.3.101.113"),
        };
        let digest = match b.scheme {
            Scheme::Ed25519 => sha2::Sha512::digest(content).to_vec(),
            Scheme::Ed448 => {
                use shake::digest::{ExtendableOutput, Update};
                let mut h = shake::Shake256::default();
                h.update(content);
                let mut out = vec![0u8; 64];
                h.finalize_xof_into(&mut out);
                out
            }
            _ => sha2::Sha256::digest(content).to_vec(),
        };
        let content_type = seq(&[&oid("1.2.840.113549.1.9.3"), &set(&[&oid(ID_DATA)])]);
        let message_digest = seq(&[&oid("1.2.840.113549.1.9.4"), &set(&[&tlv(0x04, &digest)])]);
        let mut attrs = if b.unsorted {
            vec![message_digest, content_type]
        } else {
            vec![content_type, message_digest]
        };
        attrs.extend(b.extra.iter().cloned());
        let attr_refs: Vec<&[u8]> = attrs.iter().map(Vec::as_slice).collect();
        let signed_set = set(&attr_refs);
        let signature = self.raw_sign(b.signer, b.scheme, &signed_set);
        let mut implicit = signed_set.clone();
        implicit[0] = 0xa0;
        let signer_info = seq(&[
            &tlv(0x02, &[1]),
            &seq(&[&issuer, &serial]),
            &alg(digest_alg),
            &implicit,
            &alg(sig_alg),
            &tlv(0x04, &signature),
        ]);
        let signed_data = seq(&[
            &tlv(0x02, &[1]),
            &set(&[&alg(digest_alg)]),
            &seq(&[&oid(ID_DATA)]),
            &tlv(0xa0, &cert_der),
            &set(&[&signer_info]),
        ]);
        seq(&[&oid("1.2.840.113549.1.7.2"), &tlv(0xa0, &signed_data)])
    }

    /// A document whose CMS is built here.
    fn built(&self, sub_filter: &str, b: &Build) -> Vec<u8> {
        let p = Prepared::new(sub_filter, 8192);
        let cms = self.build(b, &p.signed_bytes());
        p.fill(&cms)
    }

    /// signing-certificate-v2 naming `signer`, with a signature policy.
    fn ess_v2_with_policies(&self, signer: &str) -> Vec<u8> {
        use der::Decode;
        use sha2::Digest;
        let cert_der = self.cert_der(signer);
        let cert = x509_cert::Certificate::from_der(&cert_der).unwrap();
        let issuer = der::Encode::to_der(&cert.tbs_certificate.issuer).unwrap();
        let serial = der::Encode::to_der(&cert.tbs_certificate.serial_number).unwrap();
        let issuer_serial = seq(&[&seq(&[&tlv(0xa4, &issuer)]), &serial]);
        let id = seq(&[&tlv(0x04, &sha2::Sha256::digest(&cert_der)), &issuer_serial]);
        let policies = seq(&[&seq(&[&oid("1.3.6.1.4.1.32473.7.1")])]);
        let value = seq(&[&seq(&[&id]), &policies]);
        seq(&[&oid("1.2.840.113549.1.9.16.2.47"), &set(&[&value])])
    }
}

/// `der` re-sent in BER as a streaming producer would: every constructed
/// element with an indefinite length, long OCTET STRINGs in pieces.
fn ber_of(der: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = der;
    while !rest.is_empty() {
        let tag = rest[0];
        let (len, head) = match rest[1] {
            l if l < 0x80 => (usize::from(l), 2),
            l => {
                let n = usize::from(l & 0x7f);
                let len = rest[2..2 + n]
                    .iter()
                    .fold(0, |a, b| a << 8 | usize::from(*b));
                (len, 2 + n)
            }
        };
        let body = &rest[head..head + len];
        if tag & 0x20 != 0 {
            out.extend([tag, 0x80]);
            out.extend(ber_of(body));
            out.extend([0, 0]);
        } else if tag == 0x04 && body.len() > 16 {
            out.extend([0x24, 0x80]);
            for piece in body.chunks(16) {
                out.extend(tlv(0x04, piece));
            }
            out.extend([0, 0]);
        } else {
            out.extend_from_slice(&rest[..head + len]);
        }
        rest = &rest[head + len..];
    }
    out
}

/// The elements of `body`, each as (tag, its body), up to any zero
/// padding.
fn elements(mut body: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while body.first().is_some_and(|t| *t != 0) {
        let (len, head) = match body[1] {
            l if l < 0x80 => (usize::from(l), 2),
            l => {
                let n = usize::from(l & 0x7f);
                let len = body[2..2 + n]
                    .iter()
                    .fold(0, |a, b| a << 8 | usize::from(*b));
                (len, 2 + n)
            }
        };
        out.push((body[0], &body[head..head + len]));
        body = &body[head + len..];
    }
    out
}

/// `der` with BER only inside its signed attributes, from level `from`
/// below their [0] (2: each attribute's SET of values and what it holds;
/// 4: only inside a value) sent with indefinite lengths, every length
/// around them recomputed in DER. A reader that takes the outer structure
/// as DER must still convert those.
fn ber_in_signed_attributes(der: &[u8], from: usize) -> Vec<u8> {
    /// `depth` counts levels below the signed attributes' [0]: 1 is an
    /// attribute, 2 its SET of values.
    fn walk(tag: u8, body: &[u8], depth: usize, from: usize) -> Vec<u8> {
        if tag & 0x20 == 0 {
            return tlv(tag, body);
        }
        let children = elements(body);
        let attrs = tag == 0xa0
            && depth == 0
            && matches!(children.first(), Some((0x30, b)) if b.first() == Some(&0x06));
        let mut inner = Vec::new();
        for (t, b) in children {
            let d = if attrs {
                1
            } else if depth > 0 {
                depth + 1
            } else {
                0
            };
            inner.extend(walk(t, b, d, from));
        }
        if depth >= from {
            let mut out = vec![tag, 0x80];
            out.extend(inner);
            out.extend([0, 0]);
            out
        } else {
            tlv(tag, &inner)
        }
    }
    let (tag, body) = elements(der)[0];
    walk(tag, body, 0, from)
}

/// A FreeText annotation at `rect` on page 1 showing `text`, added in an
/// incremental update (what the Evil Annotation attack adds).
fn annotate(base: &[u8], rect: [i64; 4], text: &str) -> Vec<u8> {
    use coffre_seal::pdf::{Dict, Document, ObjRef, Object, Update};
    use std::io::Write;
    let doc = Document::parse(base).unwrap();
    let mut up = Update::new(base, &doc);
    let ap = up.allocate();
    let data = format!(
        "1 1 1 rg 0 0 {} {} re f 0 g BT /F1 14 Tf 4 8 Td ({text}) Tj ET",
        rect[2] - rect[0],
        rect[3] - rect[1]
    );
    up.begin(ap);
    write!(
        up.out,
        "<</Type/XObject/Subtype/Form/BBox[0 0 {} {}]/Resources<</Font<</F1 7 0 R>>>>/Length {}>>\nstream\n{data}\nendstream",
        rect[2] - rect[0],
        rect[3] - rect[1],
        data.len()
    )
    .unwrap();
    up.end();
    let annot = up.allocate();
    let mut a = Dict::default();
    a.set(b"Type", Object::Name(b"Annot".to_vec()));
    a.set(b"Subtype", Object::Name(b"FreeText".to_vec()));
    a.set(b"Rect", Object::Array(rect.map(Object::Int).to_vec()));
    a.set(b"Contents", Object::Str(text.as_bytes().to_vec()));
    a.set(b"DA", Object::Str(b"/F1 14 Tf 0 g".to_vec()));
    let mut apd = Dict::default();
    apd.set(b"N", Object::Ref(ap));
    a.set(b"AP", Object::Dict(apd));
    up.object(annot, &Object::Dict(a));
    let page_ref = ObjRef { num: 3, gen: 0 };
    let mut page = doc.dict(&Object::Ref(page_ref), 0).unwrap().unwrap();
    let mut annots = page
        .get(b"Annots")
        .and_then(|a| a.as_array())
        .map(<[Object]>::to_vec)
        .unwrap_or_default();
    annots.push(Object::Ref(annot));
    page.set(b"Annots", Object::Array(annots));
    up.object(page_ref, &Object::Dict(page));
    up.finish(&doc)
}

/// The text field "Nom" (object 8) filled with `value` in an incremental
/// update, as a form filler writes it; `rect` moves its widget.
fn fill_field(base: &[u8], value: &str, rect: Option<[i64; 4]>) -> Vec<u8> {
    use coffre_seal::pdf::{Dict, Document, ObjRef, Object, Update};
    use std::io::Write;
    let doc = Document::parse(base).unwrap();
    let mut up = Update::new(base, &doc);
    let field_ref = ObjRef { num: 8, gen: 0 };
    let mut field = doc.dict(&Object::Ref(field_ref), 0).unwrap().unwrap();
    let ap = up.allocate();
    let data = format!("/Tx BMC BT /F1 12 Tf 2 5 Td ({value}) Tj ET EMC");
    up.begin(ap);
    write!(
        up.out,
        "<</Type/XObject/Subtype/Form/BBox[0 0 200 20]/Resources<</Font<</F1 7 0 R>>>>/Length {}>>\nstream\n{data}\nendstream",
        data.len()
    )
    .unwrap();
    up.end();
    field.set(b"V", Object::Str(value.as_bytes().to_vec()));
    let mut apd = Dict::default();
    apd.set(b"N", Object::Ref(ap));
    field.set(b"AP", Object::Dict(apd));
    if let Some(r) = rect {
        field.set(b"Rect", Object::Array(r.map(Object::Int).to_vec()));
    }
    up.object(field_ref, &Object::Dict(field));
    up.finish(&doc)
}

/// A DER ECDSA signature as `r ‖ s`, each on `n` bytes.
fn der_to_plain(der: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = &der[2..];
    for _ in 0..2 {
        let len = usize::from(rest[1]);
        let int = &rest[2..2 + len];
        let int = &int[int.len().saturating_sub(n)..];
        out.extend(std::iter::repeat_n(0, n - int.len()));
        out.extend_from_slice(int);
        rest = &rest[2 + len..];
    }
    out
}

/// The validation time of the foreign rows: OpenSSL dates its
/// certificates from the machine's clock.
fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UnixTime(secs as i64 + 60)
}

struct Row {
    name: &'static str,
    make: fn(&Foreign) -> Vec<u8>,
    expect: (Status, Option<SubIndication>),
}

fn rows() -> Vec<Row> {
    use Status::*;
    use SubIndication::*;
    vec![
        Row {
            name: "BER: indefinite lengths, strings in pieces",
            make: |f| f.signed_ber("adbe.pkcs7.detached", &["rsa2048"], &[]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "BER, CAdES attributes (openssl -cades)",
            make: |f| f.signed_ber("ETSI.CAdES.detached", &["p256"], &["-cades"]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "BER only inside the signed attributes' values",
            make: |f| {
                let p = Prepared::new("ETSI.CAdES.detached", 8192);
                let cms = f.cms(&p.signed_bytes(), &["p256"], &["-cades"]);
                p.fill(&ber_in_signed_attributes(&cms, 2))
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "BER deep inside a signed attribute's value only",
            make: |f| {
                let p = Prepared::new("ETSI.CAdES.detached", 8192);
                let cms = f.cms(&p.signed_bytes(), &["p256"], &["-cades"]);
                p.fill(&ber_in_signed_attributes(&cms, 4))
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "certificate signed with SHA-1 (past its sunset, no time-stamp)",
            make: |f| f.signed("ETSI.CAdES.detached", &["sha1cert"], &["-cades"]),
            expect: (Indeterminate, Some(CryptoConstraintsFailureNoPoe)),
        },
        Row {
            name: "no signed attributes (openssl -noattr)",
            make: |f| f.signed("adbe.pkcs7.detached", &["rsa2048"], &["-noattr"]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "no signed attributes, ECDSA",
            make: |f| f.signed("adbe.pkcs7.detached", &["p256"], &["-noattr"]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "no signed attributes, byte changed",
            make: |f| {
                let mut b = f.signed("adbe.pkcs7.detached", &["rsa2048"], &["-noattr"]);
                let at = find(&b, b"Releve de notes");
                b[at] ^= 1;
                b
            },
            expect: (TotalFailed, Some(SigCryptoFailure)),
        },
        Row {
            name: "BER, byte changed",
            make: |f| {
                let mut b = f.signed_ber("adbe.pkcs7.detached", &["rsa2048"], &[]);
                let at = find(&b, b"Releve de notes");
                b[at] ^= 1;
                b
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "RSA-1024 signer, past the policy's sunset, no time-stamp",
            make: |f| f.signed("adbe.pkcs7.detached", &["rsa1024"], &["-md", "sha256"]),
            expect: (Indeterminate, Some(CryptoConstraintsFailureNoPoe)),
        },
        Row {
            name: "SHA-1 digest, past the policy's sunset, no time-stamp",
            make: |f| f.signed("adbe.pkcs7.detached", &["rsa2048"], &["-md", "sha1"]),
            expect: (Indeterminate, Some(CryptoConstraintsFailureNoPoe)),
        },
        Row {
            name: "Ed25519 (RFC 8419)",
            make: |f| {
                f.built(
                    "ETSI.CAdES.detached",
                    &Build::new("ed25519", Scheme::Ed25519),
                )
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "Ed448 with SHAKE256 (RFC 8419)",
            make: |f| f.built("ETSI.CAdES.detached", &Build::new("ed448", Scheme::Ed448)),
            expect: (TotalPassed, None),
        },
        Row {
            name: "Ed448, byte changed",
            make: |f| {
                let mut b = f.built("ETSI.CAdES.detached", &Build::new("ed448", Scheme::Ed448));
                let at = find(&b, b"Releve de notes");
                b[at] ^= 1;
                b
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed attributes not in DER order",
            make: |f| {
                f.built(
                    "ETSI.CAdES.detached",
                    &Build::new("p256", Scheme::Sha256("1.2.840.10045.4.3.2")).unsorted(),
                )
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "signing-certificate-v2 with policies",
            make: |f| {
                f.built(
                    "ETSI.CAdES.detached",
                    &Build::new("rsa2048", Scheme::Sha256("1.2.840.113549.1.1.11"))
                        .with(f.ess_v2_with_policies("rsa2048")),
                )
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "signing-certificate-v2 naming another certificate",
            make: |f| {
                f.built(
                    "ETSI.CAdES.detached",
                    &Build::new("rsa2048", Scheme::Sha256("1.2.840.113549.1.1.11"))
                        .with(f.ess_v2_with_policies("p256")),
                )
            },
            expect: (TotalFailed, Some(FormatFailure)),
        },
        Row {
            name: "BSI plain ECDSA (TR-03111)",
            make: |f| {
                f.built(
                    "ETSI.CAdES.detached",
                    &Build::new("p256", Scheme::PlainEcdsa),
                )
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "two SignerInfos",
            make: |f| f.signed("adbe.pkcs7.detached", &["rsa2048", "p256"], &[]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "adbe.pkcs7.sha1: the document's SHA-1 encapsulated (BER, openssl -stream)",
            make: |f| {
                let p = Prepared::new("adbe.pkcs7.sha1", 8192);
                let digest = sha1(&p.signed_bytes());
                let cms = f.cms(
                    &digest,
                    &["rsa2048"],
                    &["-nodetach", "-stream", "-md", "sha256"],
                );
                p.fill(&cms)
            },
            expect: (Indeterminate, Some(CryptoConstraintsFailureNoPoe)),
        },
        Row {
            name: "adbe.pkcs7.sha1 over other bytes",
            make: |f| {
                let p = Prepared::new("adbe.pkcs7.sha1", 8192);
                let digest = sha1(b"another document");
                let cms = f.cms(&digest, &["rsa2048"], &["-nodetach", "-md", "sha256"]);
                p.fill(&cms)
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed again, invisibly, the form given /DA and /DR",
            make: |f| {
                let once = f.signed("ETSI.CAdES.detached", &["p256"], &[]);
                f.sign_again(&once, "rsa2048", None, b"", true)
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "signed again, visibly, in an empty part of the page",
            make: |f| {
                let once = f.signed("ETSI.CAdES.detached", &["p256"], &[]);
                f.sign_again(
                    &once,
                    "rsa2048",
                    Some([72, 100, 272, 150]),
                    b"0 0 1 rg 0 0 200 50 re f 1 g BT /Helv 10 Tf 4 20 Td (Signed: Registrar) Tj ET",
                    true,
                )
            },
            expect: (TotalPassed, None),
        },
        Row {
            name: "signed again, visibly, away from what a clipping path leaves of a fill",
            make: |f| f.signed_again_over(CLIPPED_FILL, HELVETICA, [300, 300, 500, 350]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "signed again, visibly, over what a clipping path leaves of a fill",
            make: |f| f.signed_again_over(CLIPPED_FILL, HELVETICA, [100, 610, 300, 640]),
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed again, visibly, beside text as wide as its font's /Widths",
            make: |f| f.signed_again_over(TITLE, &narrow_font(), [400, 752, 560, 782]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "signed again, visibly, over the end of text as wide as its /Widths",
            make: |f| f.signed_again_over(TITLE, &narrow_font(), [300, 752, 460, 782]),
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed again, visibly, beside two-byte text as wide as its CID font's /W",
            make: |f| f.signed_again_over(TITLE_CID, CID_FONT, [150, 752, 300, 782]),
            expect: (TotalPassed, None),
        },
        Row {
            name: "signed again, visibly, over two-byte text as wide as its CID font's /W",
            make: |f| f.signed_again_over(TITLE_CID, CID_FONT, [80, 752, 100, 782]),
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed again, visibly, inside a fill clipped by a rotated rectangle",
            make: |f| {
                f.signed_again_over(
                    "q 0.7071 0.7071 -0.7071 0.7071 300 400 cm 0 0 200 200 re W n \
                     0 0 1 rg -1000 -1000 3000 3000 re f Q",
                    HELVETICA,
                    [330, 530, 350, 550],
                )
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed again, visibly, over text drawn with a negative size (mirrored)",
            make: |f| {
                f.signed_again_over(
                    "BT /F1 -14 Tf 300 500 Td (Mirrored words) Tj ET",
                    HELVETICA,
                    [200, 490, 295, 505],
                )
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed again, visibly, over text whose font gives every glyph no width",
            make: |f| {
                let zero = format!(
                    "<</Type/Font/Subtype/TrueType/BaseFont/Zero/FirstChar 32/LastChar 126/Widths[{}]>>",
                    vec!["0"; 95].join(" ")
                );
                f.signed_again_over(TITLE, &zero, [72, 755, 120, 775])
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "signed again, visibly, below the start of vertical text (Identity-V)",
            make: |f| {
                f.signed_again_over(
                    "BT /F1 14 Tf 300 500 Td <0001000200030004> Tj ET",
                    "<</Type/Font/Subtype/Type0/BaseFont/Demo/Encoding/Identity-V\
                     /DescendantFonts[<</Type/Font/Subtype/CIDFontType2/BaseFont/Demo>>]>>",
                    [295, 450, 310, 470],
                )
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "Sneaky Signature: a later signature's appearance over the signed text",
            make: |f| {
                let once = f.signed("ETSI.CAdES.detached", &["p256"], &[]);
                f.sign_again(
                    &once,
                    "rsa2048",
                    Some([60, 752, 560, 782]),
                    b"1 1 1 rg 0 0 500 30 re f 0 g BT /Helv 14 Tf 12 9 Td (Releve de notes - mention: Tres bien) Tj ET",
                    false,
                )
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "a form field filled after signing",
            make: |f| fill_field(&f.signed_with_field(0), "Roux", None),
            expect: (TotalPassed, None),
        },
        Row {
            name: "a read-only form field filled after signing",
            make: |f| fill_field(&f.signed_with_field(1), "Roux", None),
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "a form field filled that the signature locks (FieldMDP)",
            make: |f| fill_field(&f.locked(), "Roux", None),
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "a form field filled and moved over the signed text",
            make: |f| {
                fill_field(
                    &f.signed_with_field(0),
                    "Mention: Tres bien",
                    Some([60, 752, 560, 782]),
                )
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "certified P=3, an annotation where the page shows nothing",
            make: |f| annotate(&f.certified(3), [72, 100, 272, 140], "Vu le 2 decembre"),
            expect: (TotalPassed, None),
        },
        Row {
            name: "Evil Annotation: certified P=3, an annotation over the signed text",
            make: |f| {
                annotate(
                    &f.certified(3),
                    [60, 752, 560, 782],
                    "Releve de notes - mention: Tres bien",
                )
            },
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "certified P=2, an annotation where the page shows nothing",
            make: |f| annotate(&f.certified(2), [72, 100, 272, 140], "Vu le 2 decembre"),
            expect: (TotalFailed, Some(HashFailure)),
        },
        Row {
            name: "detached signature that encapsulates content",
            make: |f| f.signed("adbe.pkcs7.detached", &["rsa2048"], &["-nodetach"]),
            expect: (TotalFailed, Some(FormatFailure)),
        },
    ]
}

fn sha1(data: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(data).to_vec()
}

#[test]
fn the_foreign_table() {
    if openssl().is_none() {
        return;
    }
    let f = Foreign::new();
    let mut wrong = Vec::new();
    for row in rows() {
        let bytes = (row.make)(&f);
        let report = validate(&bytes, &f.config()).unwrap();
        if std::env::var_os("COFFRE_SHOW_REPORTS").is_some() {
            eprintln!(
                "{}: {:?}",
                row.name,
                report
                    .signatures
                    .iter()
                    .map(|s| (&s.changes, &s.details))
                    .collect::<Vec<_>>()
            );
        }
        let got = (
            report.status(),
            report.signatures.first().and_then(|s| s.sub_indication),
        );
        if got != row.expect {
            wrong.push(format!(
                "{}: expected {:?}, got {:?} — {:?}",
                row.name,
                row.expect,
                got,
                report.signatures.first().map(|s| &s.details)
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// An algorithm past its sunset passes when a time-stamp proves the
/// signature was made before, and the report says which rule applied; a
/// time-stamp whose own algorithm is past its sunset proves nothing.
#[test]
fn a_sunset_algorithm_passes_with_proof_of_time() {
    // Seal and time-stamp both on P-256, with a policy ending P-256 a day
    // after sealing: a month later nothing proves anything.
    let pki = pki();
    let original = crate::sample::transcript_pdf(3, "Léa Roux");
    let bt = seal_with(&original, &pki, Level::BT, Vec::new(), false);
    let bb = seal_with(&original, &pki, Level::BB, Vec::new(), false);
    let mut cfg = ValidationConfig::new(
        vec![pki.root.clone()],
        Vec::new(),
        UnixTime(NOW.0 + 30 * DAY),
    );
    cfg.policy.rules.push(Rule {
        what: "ECDSA on 256 bits",
        applies: Applies::EcdsaUnder(384),
        until: Some(UnixTime(NOW.0 + DAY)),
    });
    for (file, stamped) in [(&bt, true), (&bb, false)] {
        let report = validate(file, &cfg).unwrap();
        let sig = &report.signatures[0];
        assert_eq!(report.status(), Status::Indeterminate, "{:?}", sig.details);
        assert_eq!(
            sig.sub_indication,
            Some(SubIndication::CryptoConstraintsFailureNoPoe)
        );
        assert_eq!(
            stamped,
            sig.details
                .iter()
                .any(|d| d.contains("the signature time-stamp proves nothing")),
            "{:?}",
            sig.details
        );
    }

    // An RSA-2048 signature from elsewhere, stamped (P-256) two hours ago,
    // under a policy ending RSA-2048 an hour ago.
    if openssl().is_none() {
        return;
    }
    let f = Foreign::new();
    let t0 = now();
    let (tsa_pki, cfg) = with_test_tsa(&f, Some(UnixTime(t0.0 - HOUR)));
    let p = Prepared::new("ETSI.CAdES.detached", 8192);
    let cms = f.cms(&p.signed_bytes(), &["rsa2048"], &["-cades"]);
    let stamp = time_stamp_attribute(&tsa_pki, UnixTime(t0.0 - 2 * HOUR), &signature_value(&cms));
    let stamped = validate(&p.fill(&with_unsigned_attributes(&cms, &[stamp])), &cfg).unwrap();
    let sig = &stamped.signatures[0];
    assert_eq!(stamped.status(), Status::TotalPassed, "{:?}", sig.details);
    assert!(
        sig.details
            .iter()
            .any(|d| d.contains("algorithm policy") && d.contains("the time-stamp proves")),
        "{:?}",
        sig.details
    );
    let p = Prepared::new("ETSI.CAdES.detached", 8192);
    let cms = f.cms(&p.signed_bytes(), &["rsa2048"], &["-cades"]);
    let bare = p.fill(&cms);
    let bare = validate(&bare, &cfg).unwrap();
    assert_eq!(bare.status(), Status::Indeterminate);
    assert_eq!(
        bare.signatures[0].sub_indication,
        Some(SubIndication::CryptoConstraintsFailureNoPoe)
    );
}

/// `cms` (a ContentInfo) whose first SignerInfo carries the unsigned
/// attributes `extra` (each DER) after any it had.
fn with_unsigned_attributes(cms: &[u8], extra: &[Vec<u8>]) -> Vec<u8> {
    let (_, ci) = elements(cms)[0];
    let ci = elements(ci);
    let sd = elements(elements(ci[1].1)[0].1);
    let (signers_tag, signers) = *sd.last().unwrap();
    let mut si = elements(elements(signers)[0].1);
    let mut unsigned = Vec::new();
    if si.last().is_some_and(|(t, _)| *t == 0xa1) {
        unsigned.extend_from_slice(si.pop().unwrap().1);
    }
    for a in extra {
        unsigned.extend_from_slice(a);
    }
    let mut si_body: Vec<u8> = si.iter().flat_map(|(t, b)| tlv(*t, b)).collect();
    si_body.extend(tlv(0xa1, &unsigned));
    let mut sd_body: Vec<u8> = sd[..sd.len() - 1]
        .iter()
        .flat_map(|(t, b)| tlv(*t, b))
        .collect();
    sd_body.extend(tlv(signers_tag, &tlv(0x30, &si_body)));
    let mut ci_body = tlv(ci[0].0, ci[0].1);
    ci_body.extend(tlv(0xa0, &tlv(0x30, &sd_body)));
    tlv(0x30, &ci_body)
}

/// The signature value of the first SignerInfo of `cms`.
fn signature_value(cms: &[u8]) -> Vec<u8> {
    let (_, ci) = elements(cms)[0];
    let sd = elements(elements(elements(ci)[1].1)[0].1);
    let si = elements(elements(sd.last().unwrap().1)[0].1);
    si.iter().find(|(t, _)| *t == 0x04).unwrap().1.to_vec()
}

/// A time-stamping authority of our own beside the foreign PKI (made a
/// day ago) and a config trusting both; with `rsa_until`, a policy that
/// ends RSA keys under 3,000 bits then.
fn with_test_tsa(
    f: &Foreign,
    rsa_until: Option<UnixTime>,
) -> (coffre_seal::pki::DemoPki, ValidationConfig) {
    let tsa_pki =
        coffre_seal::pki::DemoPki::generate("Horodatage Démo", UnixTime(now().0 - DAY)).unwrap();
    let mut cfg = f.config();
    cfg.anchors.push(tsa_pki.root.clone());
    if let Some(until) = rsa_until {
        cfg.policy.rules.push(Rule {
            what: "RSA keys under 3,000 bits",
            applies: Applies::RsaUnder(3000),
            until: Some(until),
        });
    }
    (tsa_pki, cfg)
}

/// A signature time-stamp attribute holding a token from `pki`'s TSA,
/// made at `at` over `imprint_of`.
fn time_stamp_attribute(
    pki: &coffre_seal::pki::DemoPki,
    at: UnixTime,
    imprint_of: &[u8],
) -> Vec<u8> {
    use coffre_seal::TimeStamper;
    let token = crate::tsa(pki, at)
        .timestamp(&coffre_seal::sha256(imprint_of))
        .unwrap();
    seq(&[&oid("1.2.840.113549.1.9.16.2.14"), &set(&[&token])])
}

/// RFC 5652 lets unsigned attributes repeat: two signature time-stamps
/// are both checked, the earliest valid one is the proof, and a broken
/// one beside a good one is named without failing the signature.
#[test]
fn a_repeated_signature_time_stamp_is_each_checked() {
    if openssl().is_none() {
        return;
    }
    let f = Foreign::new();
    let t0 = now();
    let (tsa_pki, cfg) = with_test_tsa(&f, None);
    let (earlier, later) = (UnixTime(t0.0 - 2 * HOUR), UnixTime(t0.0 - HOUR));
    let signed = |extra: &dyn Fn(&[u8]) -> Vec<Vec<u8>>| {
        let p = Prepared::new("ETSI.CAdES.detached", 8192);
        let cms = f.cms(&p.signed_bytes(), &["p256"], &["-cades"]);
        let attrs = extra(&signature_value(&cms));
        p.fill(&with_unsigned_attributes(&cms, &attrs))
    };

    // Two good tokens, the later one first.
    let twice = signed(&|value| {
        vec![
            time_stamp_attribute(&tsa_pki, later, value),
            time_stamp_attribute(&tsa_pki, earlier, value),
        ]
    });
    let report = validate(&twice, &cfg).unwrap();
    let sig = &report.signatures[0];
    assert_eq!(report.status(), Status::TotalPassed, "{:?}", sig.details);
    let stamp = sig.timestamp.as_ref().unwrap();
    assert!(stamp.valid, "{:?}", sig.details);
    assert_eq!(
        stamp.time, earlier,
        "the earliest valid time-stamp is the proof"
    );

    // A token over other bytes beside a good one: named, and the good one
    // stands.
    let wrong = signed(&|value| {
        vec![
            time_stamp_attribute(&tsa_pki, earlier, b"other bytes"),
            time_stamp_attribute(&tsa_pki, later, value),
        ]
    });
    let report = validate(&wrong, &cfg).unwrap();
    let sig = &report.signatures[0];
    assert_eq!(report.status(), Status::TotalPassed, "{:?}", sig.details);
    assert_eq!(sig.timestamp.as_ref().unwrap().time, later);
    assert!(
        sig.details
            .iter()
            .any(|d| d.contains("time-stamp is broken or stamps something else")),
        "{:?}",
        sig.details
    );
}

/// A document time-stamp added after a signature proves the signature
/// existed at its time (past signature validation, as PAdES B-LTA files
/// rely on): a signature whose algorithm is past its sunset and that has
/// no time-stamp of its own passes when a later document time-stamp made
/// before the sunset covers it, and the report says so.
#[test]
fn a_later_document_time_stamp_is_proof_of_existence() {
    if openssl().is_none() {
        return;
    }
    let f = Foreign::new();
    let t0 = now();
    let (tsa_pki, cfg) = with_test_tsa(&f, Some(UnixTime(t0.0 - HOUR)));
    let signed = f.signed("ETSI.CAdES.detached", &["rsa2048"], &["-cades"]);
    let tsa_pki = &tsa_pki;
    let stamp_at = |at: UnixTime| {
        move |content: &[u8]| {
            use coffre_seal::TimeStamper;
            crate::tsa(tsa_pki, at)
                .timestamp(&coffre_seal::sha256(content))
                .unwrap()
        }
    };

    let bare = validate(&signed, &cfg).unwrap();
    assert_eq!(
        bare.signatures[0].sub_indication,
        Some(SubIndication::CryptoConstraintsFailureNoPoe)
    );

    let before = UnixTime(t0.0 - 2 * HOUR);
    let archived = add_signature(&signed, "ETSI.RFC3161", None, b"", false, &stamp_at(before));
    let report = validate(&archived, &cfg).unwrap();
    let [sig, ts] = &report.signatures[..] else {
        panic!("{:?}", report.signatures);
    };
    assert_eq!(ts.kind, SignatureKind::DocumentTimestamp);
    assert_eq!(ts.indication, Indication::TotalPassed, "{:?}", ts.details);
    assert_eq!(sig.indication, Indication::TotalPassed, "{:?}", sig.details);
    assert!(
        sig.details
            .iter()
            .any(|d| d.contains("a later document time-stamp proves this signature existed")),
        "{:?}",
        sig.details
    );

    // A signature made after the document time-stamp: nothing proves it.
    let stamped_first = {
        let p = Prepared::new("ETSI.RFC3161", 8192);
        let token = stamp_at(before)(&p.signed_bytes());
        p.fill(&token)
    };
    let signed_after = add_signature(
        &stamped_first,
        "ETSI.CAdES.detached",
        None,
        b"",
        false,
        &|content| f.cms(content, &["rsa2048"], &["-cades"]),
    );
    let report = validate(&signed_after, &cfg).unwrap();
    let [ts, sig] = &report.signatures[..] else {
        panic!("{:?}", report.signatures);
    };
    assert_eq!(ts.indication, Indication::TotalPassed, "{:?}", ts.details);
    assert_eq!(
        sig.sub_indication,
        Some(SubIndication::CryptoConstraintsFailureNoPoe),
        "{:?}",
        sig.details
    );

    // Made after the sunset, the document time-stamp proves too late.
    let after = UnixTime(t0.0 - HOUR / 2);
    let late = add_signature(&signed, "ETSI.RFC3161", None, b"", false, &stamp_at(after));
    let report = validate(&late, &cfg).unwrap();
    assert_eq!(report.signatures[1].indication, Indication::TotalPassed);
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::CryptoConstraintsFailureNoPoe),
        "{:?}",
        report.signatures[0].details
    );
}

/// A time-stamp whose authority's certificate is revoked proves nothing
/// (no later proof shows it was made before the revocation).
#[test]
fn a_revoked_time_stamping_authority_proves_nothing() {
    let pki = pki();
    let original = crate::sample::transcript_pdf(5, "Hugo Petit");
    let sealed = seal_with(&original, &pki, Level::BT, Vec::new(), false);
    let at = UnixTime(NOW.0 + DAY);
    let revoking = coffre_seal::pki::crl(
        &pki.intermediate,
        &pki.intermediate_key,
        &[(&pki.tsa, UnixTime(NOW.0 + HOUR))],
        UnixTime(NOW.0 + 2 * HOUR),
        UnixTime(NOW.0 + 30 * DAY),
        2,
    )
    .unwrap();
    for (crls, valid) in [(vec![pki.crl.clone()], true), (vec![revoking], false)] {
        let cfg = ValidationConfig::new(vec![pki.root.clone()], crls, at);
        let report = validate(&sealed, &cfg).unwrap();
        let sig = &report.signatures[0];
        assert_eq!(report.status(), Status::TotalPassed, "{:?}", sig.details);
        assert_eq!(
            sig.timestamp.as_ref().map(|t| t.valid),
            Some(valid),
            "{:?}",
            sig.details
        );
        assert_eq!(
            !valid,
            sig.details
                .iter()
                .any(|d| d.contains("its authority's certificate is revoked")),
            "{:?}",
            sig.details
        );
    }
}

/// Replaces the number after the last `key` in `b` with `value`, keeping
/// the file's length (the rest of the line absorbs the difference).
fn set_last_number(b: &mut Vec<u8>, key: &[u8], value: usize) {
    let at = b.windows(key.len()).rposition(|w| w == key).unwrap() + key.len();
    let mut end = at;
    while b[end] == b' ' || b[end] == b'\n' || b[end] == b'\r' {
        end += 1;
    }
    while b[end].is_ascii_digit() {
        end += 1;
    }
    let old_len = end - at;
    let sep = if key == b"startxref" { "\n" } else { " " };
    let text = format!("{sep}{value}");
    assert!(text.len() <= old_len + 8, "no room");
    b.splice(at..end, text.bytes());
}

/// Files whose cross-references are damaged are read as peers read them:
/// repaired, said so, and judged.
#[test]
fn damaged_files_are_repaired_and_say_so() {
    let pki = pki();
    let original = crate::sample::transcript_pdf(4, "Léa Roux");
    let blt = seal_with(
        &original,
        &pki,
        Level::BLt,
        vec![pki.crl.clone(), pki.root_crl.clone()],
        false,
    );
    let cfg = ValidationConfig::new(vec![pki.root.clone()], Vec::new(), UnixTime(NOW.0 + 3600));
    let intact = validate(&blt, &cfg).unwrap();
    assert_eq!(intact.status(), Status::TotalPassed);
    assert!(intact.repaired.is_none());

    let xref = {
        let tail = &blt[blt.len() - 64..];
        let s = String::from_utf8_lossy(tail);
        let n: String = s
            .split("startxref")
            .last()
            .unwrap()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        n.parse::<usize>().unwrap()
    };
    let prev_of_last = {
        let at = blt.windows(5).rposition(|w| w == b"/Prev").unwrap();
        let s = String::from_utf8_lossy(&blt[at + 5..at + 20]);
        s.split(|c: char| !c.is_ascii_digit())
            .find(|t| !t.is_empty())
            .unwrap()
            .parse::<usize>()
            .unwrap()
    };
    assert!(prev_of_last < xref);
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: [(&str, Damage); 3] = [
        (
            "startxref off by a few bytes",
            Box::new(move |b| set_last_number(b, b"startxref", xref - 3)),
        ),
        (
            "startxref past the end",
            Box::new(|b| {
                let len = b.len();
                set_last_number(b, b"startxref", len + 500)
            }),
        ),
        (
            "a last trailer with /Prev 0",
            Box::new(|b| set_last_number(b, b"/Prev", 0)),
        ),
    ];
    for (name, damage) in cases {
        let mut b = blt.clone();
        damage(&mut b);
        let report = validate(&b, &cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            report.status(),
            Status::TotalPassed,
            "{name}: {:?}",
            report
                .signatures
                .iter()
                .map(|s| &s.details)
                .collect::<Vec<_>>()
        );
        assert!(
            report
                .repaired
                .as_deref()
                .is_some_and(|r| r.contains("repaired")),
            "{name}: {:?}",
            report.repaired
        );
    }

    // An update that adds a second seal, cut short on its way: the file
    // is damaged (FORMAT_FAILURE), not "without a seal"; what the cut
    // update would have changed after the first seal cannot be told.
    let bb = seal_with(&original, &pki, Level::BB, Vec::new(), false);
    let twice = seal_with(&bb, &pki, Level::BB, Vec::new(), false);
    let cut = &twice[..bb.len() + (twice.len() - bb.len()) * 2 / 3];
    let report = validate(cut, &cfg).unwrap();
    assert_eq!(report.status(), Status::TotalFailed);
    assert_eq!(report.signatures.len(), 2);
    assert_eq!(
        report.signatures[0].indication,
        coffre_seal::Indication::Indeterminate
    );
    assert_eq!(
        report.signatures[1].sub_indication,
        Some(SubIndication::FormatFailure)
    );

    // An update whose cross-reference is gone: its objects are found only
    // by scanning, so what followed the seal cannot be told (a viewer that
    // scans would show that update).
    let mut lost = blt.clone();
    let at = lost.windows(4).rposition(|w| w == b"xref").unwrap();
    let at = lost[..at].windows(4).rposition(|w| w == b"xref").unwrap();
    assert!(at > bb_end(&blt), "the DSS update's own cross-reference");
    lost[at..at + 4].copy_from_slice(b"XXXX");
    let report = validate(&lost, &cfg).unwrap();
    assert!(
        report
            .repaired
            .as_deref()
            .is_some_and(|r| r.contains("scanning")),
        "{:?}",
        report.repaired
    );
    assert_eq!(
        report.status(),
        Status::Indeterminate,
        "{:?}",
        report.signatures[0].details
    );
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::FormatFailure)
    );
}

/// Where the seal's own revision ends in a B-LT file (the first `%%EOF`
/// after its signature).
fn bb_end(blt: &[u8]) -> usize {
    let sig = blt.windows(10).position(|w| w == b"/ByteRange").unwrap();
    sig + blt[sig..].windows(5).position(|w| w == b"%%EOF").unwrap()
}
