//! The `coffre` command as a user meets it: exit codes, statuses, the
//! certificate of originality in both languages, batches and bad input.

use std::fs;

use serde_json::Value;
use tempfile::TempDir;

use crate::{coffre, printed, run, run_ok, tampered, write_transcript, Pki};

fn verify_json(args: &[&str], files: &[&std::path::Path]) -> (Option<i32>, Value) {
    let mut cmd = coffre();
    cmd.args(["verify", "--json"]).args(args).args(files);
    let out = run(&mut cmd);
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", printed(&out)));
    (out.status.code(), json)
}

#[test]
fn verify_gives_one_status_per_file_and_exits_by_the_worst() {
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let original = write_transcript(tmp.path(), "transcript.pdf");
    let sealed = tmp.path().join("sealed.pdf");
    pki.seal("b-t", &original, &sealed);
    let forged = tmp.path().join("forged.pdf");
    fs::write(&forged, tampered(&fs::read(&sealed).unwrap())).unwrap();
    let garbage = tmp.path().join("photo.pdf");
    fs::write(&garbage, b"\x89PNG\r\n\x1a\n not a pdf").unwrap();
    let missing = tmp.path().join("missing.pdf");
    let root = pki.file("root.pem");
    let trust = ["--trust", root.to_str().unwrap()];

    let (code, json) = verify_json(&trust, &[&sealed]);
    assert_eq!(code, Some(0), "{json:#}");
    let sig = &json[0]["signatures"][0];
    assert_eq!(json[0]["status"], "TOTAL_PASSED");
    assert_eq!(sig["indication"], "TOTAL_PASSED");
    assert_eq!(sig["sub_indication"], Value::Null);
    assert_eq!(sig["signer"]["organization"], "Université Démo");
    assert_eq!(sig["covers_whole_document"], true);
    assert_eq!(sig["modified_after_sealing"], false);
    assert!(sig["signed_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(sig["timestamped_at"].as_str().is_some());

    let (code, json) = verify_json(&trust, &[&sealed, &original, &forged, &garbage, &missing]);
    assert_eq!(code, Some(1));
    let statuses: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "TOTAL_PASSED",
            "NO_SIGNATURE",
            "TOTAL_FAILED",
            "NOT_PDF",
            "NOT_PDF"
        ]
    );
    assert_eq!(json[2]["signatures"][0]["sub_indication"], "HASH_FAILURE");
    assert!(json[4]["error"].as_str().unwrap().contains("cannot read"));

    // No trust anchor: the seal cannot be confirmed.
    let (code, json) = verify_json(&[], &[&sealed]);
    assert_eq!(code, Some(1));
    assert_eq!(json[0]["status"], "INDETERMINATE");
    assert_eq!(
        json[0]["signatures"][0]["sub_indication"],
        "NO_CERTIFICATE_CHAIN_FOUND"
    );

    // Usage errors exit 2.
    let out = run(coffre().args(["verify", "--bogus"]).arg(&sealed));
    assert_eq!(out.status.code(), Some(2), "{}", printed(&out));
    let out = run(coffre().args(["verify", "--at", "tomorrow"]).arg(&sealed));
    assert_eq!(out.status.code(), Some(2), "{}", printed(&out));
}

#[test]
fn the_time_stamp_outlives_the_certificate() {
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let original = write_transcript(tmp.path(), "transcript.pdf");
    let (bb, lt) = (tmp.path().join("bb.pdf"), tmp.path().join("lt.pdf"));
    pki.seal("b-b", &original, &bb);
    pki.seal("b-lt", &original, &lt);
    let root = pki.file("root.pem");
    // The seal certificate is valid three years; validate in five.
    let in_five_years = {
        let out = run_ok(
            coffre()
                .args(["verify", "--json", "--trust"])
                .arg(&root)
                .arg(&lt),
        );
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let year: i32 = json[0]["signatures"][0]["signed_at"].as_str().unwrap()[..4]
            .parse()
            .unwrap();
        format!("{}-06-01T00:00:00Z", year + 5)
    };
    let args = ["--trust", root.to_str().unwrap(), "--at", &in_five_years];
    let (code, json) = verify_json(&args, &[&bb, &lt]);
    assert_eq!(code, Some(1));
    assert_eq!(json[0]["status"], "INDETERMINATE");
    assert_eq!(
        json[0]["signatures"][0]["sub_indication"],
        "OUT_OF_BOUNDS_NO_POE"
    );
    assert_eq!(json[1]["status"], "TOTAL_PASSED", "{json:#}");
}

#[test]
fn the_certificate_of_originality_speaks_french_and_english() {
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let original = write_transcript(tmp.path(), "transcript.pdf");
    let sealed = tmp.path().join("sealed.pdf");
    pki.seal("b-lt", &original, &sealed);
    let root = pki.file("root.pem");

    let fr = run_ok(
        coffre()
            .args(["verify", "--lang", "fr", "--trust"])
            .arg(&root)
            .arg(&sealed),
    );
    let fr = String::from_utf8(fr.stdout).unwrap();
    for expected in [
        "Certificat d'originalité",
        "ORIGINAL — le sceau est valide et le document intact",
        "Émis par: Université Démo",
        "vérifié : le sceau existait à cette date",
        "seules des données de validation ont été ajoutées depuis",
        "Révocation: vérifiée",
    ] {
        assert!(fr.contains(expected), "missing {expected:?} in:\n{fr}");
    }
    let en = run_ok(coffre().args(["verify", "--trust"]).arg(&root).arg(&sealed));
    let en = String::from_utf8(en.stdout).unwrap();
    assert!(en.contains("Certificate of originality"), "{en}");
    assert!(
        en.contains(
            "Chain of trust: Université Démo Seal → Coffre Demo Seal CA → Coffre Demo Root CA"
        ),
        "{en}"
    );

    let forged = tmp.path().join("forged.pdf");
    fs::write(&forged, tampered(&fs::read(&sealed).unwrap())).unwrap();
    let out = run(coffre()
        .args(["verify", "--lang", "fr", "--trust"])
        .arg(&root)
        .arg(&forged));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("NON CONFORME"), "{text}");
    assert!(
        text.contains("Motif: le document a été modifié après avoir été scellé"),
        "{text}"
    );
    assert!(text.contains("Document intact: NON"), "{text}");
}

#[test]
fn a_batch_seals_what_it_can_and_says_what_it_could_not() {
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let a = write_transcript(tmp.path(), "a.pdf");
    let b = write_transcript(tmp.path(), "b.pdf");
    let bad = tmp.path().join("bad.pdf");
    fs::write(&bad, b"%PDF-1.7\nnot really").unwrap();
    let out_dir = tmp.path().join("out");
    let out = run(coffre()
        .arg("seal")
        .arg("--key")
        .arg(pki.file("seal.key.pem"))
        .arg("--cert")
        .arg(pki.file("seal.pem"))
        .arg("--chain")
        .arg(pki.file("chain.pem"))
        .arg("--out-dir")
        .arg(&out_dir)
        .args([&a, &bad, &b]));
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.pdf") && err.contains("sealed 2 of 3"),
        "{err}"
    );
    assert!(!out_dir.join("bad.pdf").exists());
    let root = pki.file("root.pem");
    let (code, _) = verify_json(
        &["--trust", root.to_str().unwrap()],
        &[&out_dir.join("a.pdf"), &out_dir.join("b.pdf")],
    );
    assert_eq!(code, Some(0));

    // A key that is not the certificate's is refused before anything is written.
    let out = run(coffre()
        .arg("seal")
        .arg("--key")
        .arg(pki.file("tsa.key.pem"))
        .arg("--cert")
        .arg(pki.file("seal.pem"))
        .arg("-o")
        .arg(tmp.path().join("x.pdf"))
        .arg(&a));
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match"),
        "{}",
        printed(&out)
    );
    assert!(!tmp.path().join("x.pdf").exists());
}
