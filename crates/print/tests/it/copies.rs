use std::path::{Path, PathBuf};
use std::process::Command;

use coffre_print::attestation::CheckError;
use coffre_print::{sample, Lang, Qr};
use coffre_seal::Status;

use crate::*;

/// Names in every script a student may write hers in.
const NAMES: [&str; 5] = [
    "Łukasz Żółć",
    "Σωκράτης",
    "Юлия",
    "Nguyễn Thị Ánh",
    "王小明",
];
const UNIVERSITY: &str = "Université de Coffre-sur-Seine";

fn student() -> String {
    NAMES.join(" ")
}

/// Where the copies and their renderings go, to be looked at.
fn screens() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/print-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tool of poppler-utils or zbar-tools, or `None` (a skip) when it is
/// not installed and COFFRE_REQUIRE_EXTERNAL is not set.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() != Ok("1"),
            "{name} is required (COFFRE_REQUIRE_EXTERNAL=1)"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What the tools read back from a copy on disk.
struct ReadBack {
    text: String,
    pages: Vec<PathBuf>,
}

fn read_back(copy: &Path, stem: &str) -> Option<ReadBack> {
    let (pdftotext, pdftoppm) = (tool("pdftotext")?, tool("pdftoppm")?);
    let text = run(Command::new(pdftotext).arg(copy).arg("-"));
    let prefix = copy.with_file_name(stem);
    let _ = run(Command::new(pdftoppm)
        .args(["-r", "150", "-png"])
        .arg(copy)
        .arg(&prefix));
    let mut pages: Vec<PathBuf> = std::fs::read_dir(copy.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{stem}-")) && n.ends_with(".png"))
        })
        .collect();
    pages.sort();
    Some(ReadBack { text, pages })
}

fn zbar(png: &Path) -> Option<String> {
    let zbarimg = tool("zbarimg")?;
    Some(
        run(Command::new(zbarimg).args(["-q", "--raw"]).arg(png))
            .trim_end()
            .to_owned(),
    )
}

/// Every page of the copy renders, the original's text and the
/// certificate's facts are in the text layer, and the QR decodes to the
/// exact attestation, which checks.
fn check_copy(op: &Operator, copy: &[u8], original: &[u8], url: &str, name: &str, pages: usize) {
    let dir = screens();
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, copy).unwrap();
    // A copy is never an original.
    let report = coffre_seal::validate(copy, &op.validation()).unwrap();
    assert_eq!(
        report.status(),
        Status::NoSignature,
        "{name}: a copy carries no seal"
    );
    let Some(back) = read_back(&path, name) else {
        return;
    };
    assert_eq!(
        back.pages.len(),
        pages + 1,
        "{name}: every page renders, and the certificate"
    );
    assert!(
        back.text.matches("COPIE").count() > pages,
        "{name}: COPIE on every page"
    );
    assert!(back.text.contains(UNIVERSITY), "{name}: the issuer");
    for n in NAMES {
        assert!(back.text.contains(n), "{name}: {n} in the text layer");
    }
    let digest = coffre_seal::hex(&coffre_seal::sha256(original));
    let first_group = &digest[..4];
    let last_group = &digest[60..];
    assert!(
        back.text.contains(first_group) && back.text.contains(last_group),
        "{name}: the SHA-256 in groups"
    );
    let certificate_page = back.pages.last().unwrap();
    if let Some(decoded) = zbar(certificate_page) {
        assert_eq!(
            decoded, url,
            "{name}: the QR code holds the attestation, exactly"
        );
        let checked = op.check(&decoded).unwrap();
        assert_eq!(checked.statement.sha256, coffre_seal::sha256(original));
    }
}

#[test]
fn copies_of_sealed_transcripts_in_french_and_english() {
    let op = Operator::new(UNIVERSITY);
    let original = op.seal(&sample::transcript_pdf(1, "Lukasz Zolc"));
    let report = coffre_seal::validate(&original, &op.validation()).unwrap();
    assert_eq!(report.status(), Status::TotalPassed);
    let url = op.attest(&original, &student(), "Relevé de notes / Transcript");
    for (lang, name) in [(Lang::Fr, "certificate-fr"), (Lang::En, "certificate-en")] {
        let copy = coffre_print::copy(
            &original,
            &report,
            &options(lang, &student(), Qr::Attestation(url.clone())),
        )
        .unwrap();
        // Small: the original once, a subset of the fonts, one page.
        assert!(
            copy.len() <= 2 * original.len() + 60 * 1024,
            "{name}: {} bytes for an original of {}",
            copy.len(),
            original.len()
        );
        check_copy(&op, &copy, &original, &url, name, 1);
        if let Some(back) = read_back(&screens().join(format!("{name}.pdf")), name) {
            assert!(
                back.text.contains("Moyenne / Average"),
                "the original's text stays text"
            );
            let verdict = match lang {
                Lang::Fr => "Le document original est authentique",
                Lang::En => "The original document is authentic",
            };
            assert!(back.text.contains(verdict), "{name}: the verdict");
            assert!(back.text.contains("TOTAL_PASSED"));
        }
    }
}

#[test]
fn mixed_page_sizes_and_rotation_are_kept() {
    let op = Operator::new(UNIVERSITY);
    let original = op.seal(&sample::mixed_pdf());
    let report = coffre_seal::validate(&original, &op.validation()).unwrap();
    let url = op.attest(&original, &student(), "Document de trois pages");
    let copy = coffre_print::copy(
        &original,
        &report,
        &options(Lang::Fr, &student(), Qr::Attestation(url.clone())),
    )
    .unwrap();
    check_copy(&op, &copy, &original, &url, "mixed", 3);
    let path = screens().join("mixed.pdf");
    let Some(pdfinfo) = tool("pdfinfo") else {
        return;
    };
    let info = run(Command::new(pdfinfo)
        .args(["-f", "1", "-l", "4"])
        .arg(&path));
    let sizes: Vec<&str> = info.lines().filter(|l| l.contains(" size:")).collect();
    assert!(sizes[0].contains("595 x 842"), "{sizes:?}");
    assert!(sizes[1].contains("612 x 792"), "{sizes:?}");
    let rotations: Vec<&str> = info.lines().filter(|l| l.contains(" rot:")).collect();
    assert!(rotations[2].trim_end().ends_with("90"), "{rotations:?}");
    let text = read_back(&path, "mixed").unwrap().text;
    for line in ["Page 1 - A4", "Page 2 - Letter", "Page 3 - A4 paysage"] {
        assert!(text.contains(line), "{line}");
    }
}

#[test]
fn a_pdf_from_another_producer_keeps_its_embedded_fonts() {
    // cairo (through poppler's pdftocairo) writes its own PDF, with
    // subsets of the fonts embedded.
    let (Some(pdftocairo), Some(pdffonts)) = (tool("pdftocairo"), tool("pdffonts")) else {
        return;
    };
    let dir = screens();
    let plain = dir.join("producer-in.pdf");
    std::fs::write(&plain, sample::mixed_pdf()).unwrap();
    let cairo = dir.join("producer-cairo.pdf");
    run(Command::new(pdftocairo).arg("-pdf").arg(&plain).arg(&cairo));
    let fonts_before = run(Command::new(&pdffonts).arg(&cairo));
    assert!(
        fonts_before.contains(" yes "),
        "cairo embeds its fonts:\n{fonts_before}"
    );
    let op = Operator::new(UNIVERSITY);
    let original = op.seal(&std::fs::read(&cairo).unwrap());
    let report = coffre_seal::validate(&original, &op.validation()).unwrap();
    assert_eq!(report.status(), Status::TotalPassed);
    let url = op.attest(&original, &student(), "Document d'un autre logiciel");
    let copy = coffre_print::copy(
        &original,
        &report,
        &options(Lang::En, &student(), Qr::Attestation(url.clone())),
    )
    .unwrap();
    check_copy(&op, &copy, &original, &url, "producer", 3);
    let fonts_after = run(Command::new(&pdffonts).arg(dir.join("producer.pdf")));
    let embedded = |s: &str| s.lines().filter(|l| l.contains(" yes ")).count();
    assert!(
        embedded(&fonts_after) >= embedded(&fonts_before),
        "the original's embedded fonts stay:\n{fonts_after}"
    );
}

#[test]
fn a_tampered_original_prints_and_says_so_first() {
    let op = Operator::new(UNIVERSITY);
    let mut original = op.seal(&sample::transcript_pdf(2, "Lukasz Zolc"));
    // A grade changed after sealing.
    let at = original.windows(6).position(|w| w == b"Moyenn").unwrap();
    original[at] = b'N';
    let report = coffre_seal::validate(&original, &op.validation()).unwrap();
    assert_eq!(report.status(), Status::TotalFailed);
    for (lang, name, warning) in [
        (Lang::Fr, "tampered-fr", "ATTENTION"),
        (Lang::En, "tampered-en", "WARNING"),
    ] {
        let copy = coffre_print::copy(
            &original,
            &report,
            &options(lang, &student(), Qr::DigestOnly),
        )
        .unwrap();
        let path = screens().join(format!("{name}.pdf"));
        std::fs::write(&path, &copy).unwrap();
        let Some(back) = read_back(&path, name) else {
            return;
        };
        let title = match lang {
            Lang::Fr => "Certificat d'originalité",
            Lang::En => "Certificate of originality",
        };
        let certificate = &back.text[back.text.rfind(title).unwrap()..];
        let first_lines: String = certificate.lines().take(8).collect::<Vec<_>>().join(" ");
        assert!(
            first_lines.contains(warning),
            "{name}: the warning comes first:\n{first_lines}"
        );
        assert!(certificate.contains("TOTAL_FAILED"), "{name}");
        assert!(
            !certificate.to_lowercase().contains("valid") && !certificate.contains("authentique"),
            "{name}: nothing says valid:\n{certificate}"
        );
        if let Some(decoded) = zbar(back.pages.last().unwrap()) {
            assert_eq!(decoded, coffre_print::digest_text(&original));
        }
    }
}

#[test]
fn attestations_that_do_not_hold_are_refused_with_their_reason() {
    let op = Operator::new(UNIVERSITY);
    let original = op.seal(&sample::transcript_pdf(3, "Lukasz Zolc"));
    let url = op.attest(&original, &student(), "Relevé de notes / Transcript");
    op.check(&url).unwrap();
    // Any change of the statement breaks its signature.
    let tail = url.rfind('/').unwrap() + 1;
    let mut changed = url.clone().into_bytes();
    let i = tail + 40;
    changed[i] = if changed[i] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    assert!(
        matches!(
            op.check(&changed),
            Err(CheckError::BadSignature | CheckError::Malformed(_))
        ),
        "{:?}",
        op.check(&changed)
    );
    // Under another root.
    let other = Operator::new(UNIVERSITY);
    let cfg = other.validation();
    let err = coffre_print::attestation::check(
        &url,
        std::slice::from_ref(&op.attestation),
        std::slice::from_ref(&op.pki.intermediate),
        &cfg,
    )
    .unwrap_err();
    assert!(matches!(err, CheckError::Untrusted(_)), "{err:?}");
    assert!(err.to_string().contains("trusted root"), "{err}");
    // A key the operator does not list.
    let err = coffre_print::attestation::check(
        &url,
        std::slice::from_ref(&other.attestation),
        &[],
        &op.validation(),
    )
    .unwrap_err();
    assert_eq!(err, CheckError::UnknownKey);
    // An organisation's seal key is no attestation key, though it chains
    // to the same root.
    let forged = coffre_print::attestation::sign(
        &coffre_print::attestation::read(&url).unwrap().0,
        &op.pki.seal_key,
        &op.pki.seal,
        SERVER,
    )
    .unwrap();
    let err = coffre_print::attestation::check(
        &forged,
        std::slice::from_ref(&op.pki.seal),
        std::slice::from_ref(&op.pki.intermediate),
        &op.validation(),
    )
    .unwrap_err();
    assert!(matches!(err, CheckError::Untrusted(_)), "{err:?}");
    // Not a copy's code at all.
    assert!(matches!(
        op.check("https://example.org/hello"),
        Err(CheckError::Malformed(_))
    ));
    // An attestation of another document does not go on this one's copy.
    let another = op.seal(&sample::transcript_pdf(4, "Other Student"));
    let report = coffre_seal::validate(&another, &op.validation()).unwrap();
    let err = coffre_print::copy(
        &another,
        &report,
        &options(Lang::Fr, &student(), Qr::Attestation(url)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("another document"), "{err}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let op = Operator::new(UNIVERSITY);
    let report = coffre_seal::validate(&sample::small_pdf(1), &op.validation()).unwrap();
    let err = coffre_print::copy(
        b"%PDF-1.7\nnot really",
        &report,
        &options(Lang::Fr, "X", Qr::DigestOnly),
    )
    .unwrap_err();
    assert!(err.to_string().contains("not a readable PDF"), "{err}");
    // An unsealed file prints, and says it has no seal.
    let copy = coffre_print::copy(
        &sample::small_pdf(2),
        &report,
        &options(Lang::Fr, "X", Qr::DigestOnly),
    )
    .unwrap();
    let path = screens().join("unsealed.pdf");
    std::fs::write(&path, &copy).unwrap();
    if let Some(back) = read_back(&path, "unsealed") {
        assert!(back.text.contains("ne porte aucun sceau"));
        assert_eq!(back.pages.len(), 3);
    }
}
