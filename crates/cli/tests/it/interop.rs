//! Interop with the validators and signers others use (DESIGN.md: "Any
//! standard validator must accept our seals given the operator root; ours
//! must validate theirs"): poppler's pdfsig (NSS), and pyHanko.
//!
//! The tools come from `cargo xtask test`: pdfsig and certutil on PATH,
//! pyHanko 0.38 in a venv named by COFFRE_PYHANKO and COFFRE_PYTHON. Where
//! they are missing a test prints "skipped: …" and passes, unless
//! COFFRE_REQUIRE_EXTERNAL=1 (as `cargo xtask test` sets on Linux), when it
//! fails. Nothing here touches the network: pdfsig gets no OCSP URL from our
//! certificates, pyHanko runs with fetching off.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use crate::{coffre, printed, run, run_ok, show, tampered, write_transcript, Pki};

const LEVELS: [&str; 3] = ["b-b", "b-t", "b-lt"];

#[test]
fn pdfsig_accepts_our_seals() {
    let (Some(pdfsig), Some(certutil)) = (external("pdfsig"), external("certutil")) else {
        return;
    };
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let input = write_transcript(tmp.path(), "transcript.pdf");
    let trusting = nss_db(&certutil, &tmp.path().join("nss"), &[&pki.file("root.pem")]);

    let mut failures = Vec::new();
    for level in LEVELS {
        let sealed = tmp.path().join(format!("sealed-{level}.pdf"));
        pki.seal(level, &input, &sealed);
        let out = pdfsig_output(&pdfsig, &trusting, &sealed);
        // B-LT appends the /DSS after the signature, so pdfsig rightly says
        // "Not total document signed" there.
        let mut expected = vec!["Signature is Valid.", "Certificate is Trusted."];
        if level != "b-lt" {
            expected.push("Total document signed");
        }
        for expected in expected {
            if !out.contains(expected) {
                failures.push(format!("{level}: pdfsig does not say {expected:?}:\n{out}"));
            }
        }
    }

    // The same checks must be able to fail: a changed grade, an unknown root.
    let sealed = tmp.path().join("sealed-b-b.pdf");
    let forged = tmp.path().join("forged.pdf");
    fs::write(&forged, tampered(&fs::read(&sealed).unwrap())).unwrap();
    let out = pdfsig_output(&pdfsig, &trusting, &forged);
    if out.contains("Signature is Valid.") {
        failures.push(format!("pdfsig accepts a tampered seal:\n{out}"));
    }
    let empty = nss_db(&certutil, &tmp.path().join("nss-empty"), &[]);
    let out = pdfsig_output(&pdfsig, &empty, &sealed);
    if out.contains("Certificate is Trusted.") {
        failures.push(format!("pdfsig trusts our seal without our root:\n{out}"));
    }

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn pyhanko_accepts_our_seals() {
    let Some(pyhanko) = external("pyhanko") else {
        return;
    };
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let input = write_transcript(tmp.path(), "transcript.pdf");
    let root = pki.file("root.pem");

    let mut failures = Vec::new();
    for level in LEVELS {
        let sealed = tmp.path().join(format!("sealed-{level}.pdf"));
        pki.seal(level, &input, &sealed);

        // Signature, chain and modifications after sealing; revocation is
        // checked below, from the file alone, where the file carries it.
        let mut expected = vec!["INTACT:TRUSTED"];
        if level != "b-b" {
            expected.push("TIMESTAMP_TOKEN<INTACT:TRUSTED>");
        }
        let validate = pyhanko_cmd(&pyhanko, tmp.path())
            .args(["sign", "validate", "--trust"])
            .arg(&root)
            .args(["--trust-replace", "--no-revocation-check"])
            .arg(&sealed)
            .output()
            .unwrap();
        check_pyhanko(&mut failures, level, &validate, &expected);

        if level == "b-lt" {
            // AdES validation requires revocation data for every certificate
            // of the chain; offline, only the file's /DSS can provide it.
            let ades = pyhanko_cmd(&pyhanko, tmp.path())
                .args(["sign", "adesverify", "--trust"])
                .arg(&root)
                .arg("--trust-replace")
                .arg(&sealed)
                .output()
                .unwrap();
            check_pyhanko(
                &mut failures,
                "b-lt (adesverify)",
                &ades,
                &["INTACT:TRUSTED"],
            );
        }
    }

    // A changed grade must not pass the same check.
    let forged = tmp.path().join("forged.pdf");
    fs::write(
        &forged,
        tampered(&fs::read(tmp.path().join("sealed-b-b.pdf")).unwrap()),
    )
    .unwrap();
    let out = pyhanko_cmd(&pyhanko, tmp.path())
        .args(["sign", "validate", "--trust"])
        .arg(&root)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(&forged)
        .output()
        .unwrap();
    if out.status.success() {
        failures.push(format!(
            "pyHanko accepts a tampered seal:\n{}",
            printed(&out)
        ));
    }

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// PDFs that pyHanko signs, in the ways others sign, and what `coffre
/// verify` must say of each: (file, extra trust root, time-stamped).
const PYHANKO_SIGNED: [(&str, Option<&str>, bool); 5] = [
    ("ecdsa-pades.pdf", None, false),
    ("rsa-pades.pdf", Some("rsa-root.pem"), false),
    ("adbe-pkcs7.pdf", None, false),
    ("certified.pdf", None, false),
    ("timestamped.pdf", None, true),
];

#[test]
fn coffre_accepts_pyhanko_signatures() {
    let Some(python) = external("python") else {
        return;
    };
    let pki = Pki::init();
    let tmp = TempDir::new().unwrap();
    let input = write_transcript(tmp.path(), "transcript.pdf");
    let signed = tmp.path().join("pyhanko");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/pyhanko_sign.py");
    run_ok(
        Command::new(&python)
            .current_dir(tmp.path())
            .arg(&script)
            .arg("--pki")
            .arg(pki.dir())
            .arg("--input")
            .arg(&input)
            .arg("--out-dir")
            .arg(&signed),
    );
    let root = pki.file("root.pem");

    let mut failures = Vec::new();
    for (name, extra_root, timestamped) in PYHANKO_SIGNED {
        let mut trust = vec![root.clone()];
        trust.extend(extra_root.map(|r| signed.join(r)));
        let (code, report) = verify_json(&trust, &signed.join(name));
        let status = &report["status"];
        if code != Some(0) || status != "TOTAL_PASSED" {
            failures.push(format!(
                "{name}: exit {code:?}, status {status}:\n{report:#}"
            ));
            continue;
        }
        let signature = &report["signatures"][0];
        if signature["covers_whole_document"] != true {
            failures.push(format!(
                "{name}: not seen as covering the whole document:\n{report:#}"
            ));
        }
        let stamped = signature["timestamped_at"]
            .as_str()
            .is_some_and(|t| !t.is_empty());
        if stamped != timestamped {
            failures.push(format!(
                "{name}: timestamped_at should be {}:\n{report:#}",
                if timestamped { "a time" } else { "empty" }
            ));
        }
    }

    // A document time-stamp after the signature: both pass, and the
    // signature reports the stamp as an allowed change.
    let (code, report) = verify_json(
        std::slice::from_ref(&root),
        &signed.join("doc-timestamped.pdf"),
    );
    let kinds: Vec<&str> = report["signatures"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["kind"].as_str()).collect())
        .unwrap_or_default();
    let first = &report["signatures"][0];
    if code != Some(0)
        || report["status"] != "TOTAL_PASSED"
        || kinds != ["signature", "document_timestamp"]
        || first["covers_whole_document"] != false
        || first["modified_after_sealing"] != false
    {
        failures.push(format!("doc-timestamped.pdf:\n{report:#}"));
    }

    // Later revisions DocMDP allows, as pyHanko writes them: a second,
    // visible signature over an empty strip (also after a certification),
    // pyHanko's own /DSS, and a form field filled after a certification.
    // A second signature over the text is caught.
    let second_root = signed.join("rsa-root-2.pem");
    for (name, allowed) in [
        (
            "signed-twice-visibly.pdf",
            "signed again, visibly, on page 1",
        ),
        (
            "certified-then-signed.pdf",
            "signed again, visibly, on page 1",
        ),
        ("ltv.pdf", "validation data (/DSS) added"),
        ("form-filled.pdf", "field Nom filled"),
    ] {
        let (code, report) = verify_json(&[root.clone(), second_root.clone()], &signed.join(name));
        let listed = report["signatures"][0]["changes"]
            .as_array()
            .is_some_and(|c| {
                c.iter().any(|c| {
                    c["allowed"] == true
                        && c["what"].as_str().is_some_and(|w| w.starts_with(allowed))
                })
            });
        if code != Some(0) || report["status"] != "TOTAL_PASSED" || !listed {
            failures.push(format!(
                "{name}: exit {code:?}, expected TOTAL_PASSED listing {allowed:?}:\n{report:#}"
            ));
        }
    }
    let (code, report) = verify_json(
        &[root.clone(), second_root],
        &signed.join("signed-over-the-text.pdf"),
    );
    if code != Some(1)
        || report["status"] != "TOTAL_FAILED"
        || report["signatures"][0]["sub_indication"] != "HASH_FAILURE"
    {
        failures.push(format!("signed-over-the-text.pdf:\n{report:#}"));
    }

    // Theirs fail like ours: without the root, and once changed.
    let ecdsa = signed.join("ecdsa-pades.pdf");
    let (code, report) = verify_json(&[], &ecdsa);
    if code != Some(1) || report["status"] == "TOTAL_PASSED" {
        failures.push(format!(
            "passes with no trust anchor: exit {code:?}\n{report:#}"
        ));
    }
    let forged = tmp.path().join("forged.pdf");
    fs::write(&forged, tampered(&fs::read(&ecdsa).unwrap())).unwrap();
    let (code, report) = verify_json(&[root], &forged);
    if code != Some(1) || report["status"] != "TOTAL_FAILED" {
        failures.push(format!(
            "a tampered pyHanko signature: exit {code:?}\n{report:#}"
        ));
    }

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// An external program for these tests, or None (after saying so) when it
/// is absent and not required.
fn external(name: &str) -> Option<PathBuf> {
    let (found, source) = match name {
        "pyhanko" => (env_path("COFFRE_PYHANKO"), "COFFRE_PYHANKO"),
        "python" => (
            env_path("COFFRE_PYTHON"),
            "COFFRE_PYTHON (a Python with pyHanko)",
        ),
        _ => (on_path(name), "PATH"),
    };
    if found.is_some() {
        return found;
    }
    if env::var("COFFRE_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
        panic!(
            "{name} is required (COFFRE_REQUIRE_EXTERNAL=1) but was not found in {source}; \
             `cargo xtask test` installs it and sets the variables"
        );
    }
    println!("skipped: {name} not found in {source}; run `cargo xtask test` to install it");
    None
}

fn env_path(var: &str) -> Option<PathBuf> {
    env::var_os(var)
        .map(PathBuf::from)
        .filter(|path| path.is_file())
}

fn on_path(program: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(format!("{program}{}", env::consts::EXE_SUFFIX)))
        .find(|path| path.is_file())
}

/// A throwaway NSS database in `dir` trusting `roots` as CAs.
fn nss_db(certutil: &Path, dir: &Path, roots: &[&Path]) -> String {
    fs::create_dir_all(dir).unwrap();
    let db = format!("sql:{}", dir.display());
    run_ok(Command::new(certutil).args(["-N", "--empty-password", "-d", &db]));
    for (i, root) in roots.iter().enumerate() {
        run_ok(
            Command::new(certutil)
                .args(["-A", "-t", "C,C,C", "-d", &db, "-n"])
                .arg(format!("coffre-root-{i}"))
                .arg("-i")
                .arg(root),
        );
    }
    db
}

/// What pdfsig prints about `file`. Not `-no-ocsp`: poppler 22.12 then
/// reports "Unknown issue with Certificate" for valid chains; our
/// certificates name no OCSP responder, so nothing is fetched either way.
fn pdfsig_output(pdfsig: &Path, db: &str, file: &Path) -> String {
    let out = run(Command::new(pdfsig).args(["-nssdir", db]).arg(file));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// pyHanko's CLI, run where no pyhanko.yml can be picked up.
fn pyhanko_cmd(pyhanko: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new(pyhanko);
    cmd.current_dir(cwd);
    cmd
}

fn check_pyhanko(
    failures: &mut Vec<String>,
    what: &str,
    out: &std::process::Output,
    expected: &[&str],
) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<_> = expected.iter().filter(|e| !stdout.contains(*e)).collect();
    if !out.status.success() || !missing.is_empty() {
        failures.push(format!(
            "{what}: pyHanko exits {} and lacks {missing:?}:\n{}",
            out.status,
            printed(out)
        ));
    }
}

/// `coffre verify --json` on one file: its exit code and its report object.
fn verify_json(trust: &[PathBuf], file: &Path) -> (Option<i32>, Value) {
    let mut cmd = coffre();
    cmd.args(["verify", "--json"]);
    for root in trust {
        cmd.arg("--trust").arg(root);
    }
    cmd.arg(file);
    let out = run(&mut cmd);
    let reports: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("`{}` printed no JSON ({e}):\n{}", show(&cmd), printed(&out)));
    assert_eq!(
        reports.as_array().map(Vec::len),
        Some(1),
        "`{}`: one report per file expected:\n{reports:#}",
        show(&cmd)
    );
    (out.status.code(), reports[0].clone())
}
