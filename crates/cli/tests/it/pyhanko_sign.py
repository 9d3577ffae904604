"""Sign one PDF in several ways with the pyHanko library, for interop tests.

Run by crates/cli/tests/it/interop.rs with the interpreter named by
COFFRE_PYTHON (the venv that `cargo xtask test` makes, pyHanko 0.38):

    python pyhanko_sign.py --pki DIR --input IN.pdf --out-dir OUT

DIR is a directory written by `coffre pki init`. Writes into OUT:

    ecdsa-pades.pdf   ETSI.CAdES.detached, our ECDSA P-256 seal key and chain
    rsa-pades.pdf     ETSI.CAdES.detached, RSA-2048 key under an RSA root that
                      this script makes (written as rsa-root.pem)
    adbe-pkcs7.pdf    adbe.pkcs7.detached, our ECDSA seal key
    certified.pdf     certification signature (DocMDP, form filling allowed)
    timestamped.pdf   PAdES with a signature time-stamp from our TSA key
    doc-timestamped.pdf  timestamped.pdf with a document time-stamp after it
    signed-twice-visibly.pdf  ecdsa-pades.pdf signed again by the RSA signer,
                      visibly, in an empty strip at the foot of page 1
    certified-then-signed.pdf  certified.pdf signed again the same way
    signed-over-the-text.pdf  ecdsa-pades.pdf signed again visibly, the new
                      signature's box over the transcript's text
    ltv.pdf           PAdES B-LT: pyHanko's own /DSS (certificates and CRLs
                      in indirect arrays) added after the signature
    form-filled.pdf   a text field "Nom" added to the input, the file then
                      certified (form filling allowed) and the field filled
                      in an incremental update by pyHanko's writer

and prints one line per file: `wrote NAME`. No network is used: the
time-stamp comes from pyHanko's in-process DummyTimeStamper, taught ECDSA
(upstream it is RSA-only; our TSA key is ECDSA P-256).
"""

import argparse
import datetime
import io
import pathlib
import sys

from asn1crypto import algos, cms, core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.keys import (
    load_cert_from_pemder,
    load_certs_from_pemder,
    load_private_key_from_pemder,
)
from pyhanko.sign.general import (
    as_signing_certificate,
    get_pyca_cryptography_hash,
    simple_cms_attribute,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pki", required=True, type=pathlib.Path)
    parser.add_argument("--input", required=True, type=pathlib.Path)
    parser.add_argument("--out-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()

    pki: pathlib.Path = args.pki
    out: pathlib.Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    pdf = args.input.read_bytes()

    ecdsa = signers.SimpleSigner.load(
        str(pki / "seal.key.pem"),
        str(pki / "seal.pem"),
        ca_chain_files=(str(pki / "chain.pem"),),
    )
    if ecdsa is None:
        raise SystemExit(f"could not load the seal key or certificate from {pki}")

    pades = fields.SigSeedSubFilter.PADES
    sign(out / "ecdsa-pades.pdf", pdf, ecdsa, signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=pades, md_algorithm="sha256",
    ))

    sign(out / "rsa-pades.pdf", pdf, rsa_signer(out / "rsa-root.pem"),
         signers.PdfSignatureMetadata(
             field_name="Signature1", subfilter=pades, md_algorithm="sha256",
         ))

    sign(out / "adbe-pkcs7.pdf", pdf, ecdsa, signers.PdfSignatureMetadata(
        field_name="Signature1",
        subfilter=fields.SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
        md_algorithm="sha256",
    ))

    sign(out / "certified.pdf", pdf, ecdsa, signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=pades, md_algorithm="sha256",
        certify=True, docmdp_permissions=fields.MDPPerm.FILL_FORMS,
    ))

    timestamper = EcdsaDummyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(pki / "tsa.pem")),
        tsa_key=load_private_key_from_pemder(str(pki / "tsa.key.pem"), None),
        certs_to_embed=SimpleCertificateStore.from_certs(
            load_certs_from_pemder([str(pki / "chain.pem")])
        ),
    )
    sign(out / "timestamped.pdf", pdf, ecdsa, signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=pades, md_algorithm="sha256",
    ), timestamper=timestamper)

    # A document time-stamp (ETSI.RFC3161) added to a signed file, as an
    # archive service would: the signature stays valid, the stamp too.
    with open(out / "timestamped.pdf", "rb") as f:
        stamped = signers.PdfTimeStamper(timestamper).timestamp_pdf(
            IncrementalPdfFileWriter(f), "sha256", in_place=False,
        )
    (out / "doc-timestamped.pdf").write_bytes(stamped.getvalue())
    print("wrote doc-timestamped.pdf")

    # Later signatures, visible, where the page shows nothing: DocMDP allows
    # them (a plain approval is read as P=2, as pyHanko reads it).
    rsa_again = rsa_signer(out / "rsa-root-2.pem")
    for base, name in (("ecdsa-pades.pdf", "signed-twice-visibly.pdf"),
                       ("certified.pdf", "certified-then-signed.pdf")):
        sign(out / name, (out / base).read_bytes(), rsa_again,
             signers.PdfSignatureMetadata(
                 field_name="Signature2", subfilter=pades, md_algorithm="sha256",
             ),
             new_field_spec=fields.SigFieldSpec(
                 sig_field_name="Signature2", on_page=0, box=(380, 4, 590, 24),
             ))
    sign(out / "signed-over-the-text.pdf", (out / "ecdsa-pades.pdf").read_bytes(),
         rsa_again,
         signers.PdfSignatureMetadata(
             field_name="Signature2", subfilter=pades, md_algorithm="sha256",
         ),
         new_field_spec=fields.SigFieldSpec(
             sig_field_name="Signature2", on_page=0, box=(60, 500, 540, 780),
         ))

    # A form filled after certification, as a form filler writes it:
    # value and appearance of the field, in place.
    sign(out / "with-field-certified.pdf", with_text_field(pdf), ecdsa,
         signers.PdfSignatureMetadata(
             field_name="Signature1", subfilter=pades, md_algorithm="sha256",
             certify=True, docmdp_permissions=fields.MDPPerm.FILL_FORMS,
         ))
    (out / "form-filled.pdf").write_bytes(
        fill_text_field((out / "with-field-certified.pdf").read_bytes(), "Nom", "Roux")
    )
    print("wrote form-filled.pdf")

    # B-LT by pyHanko: validation data in its own /DSS.
    from pyhanko_certvalidator import ValidationContext
    from asn1crypto import crl as asn1_crl
    crls = [asn1_crl.CertificateList.load(_der(pki / name))
            for name in ("crl.pem", "root.crl.pem")]
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(pki / "root.pem"))],
        crls=crls, allow_fetching=False,
        other_certs=list(load_certs_from_pemder([str(pki / "chain.pem")])),
    )
    sign(out / "ltv.pdf", pdf, ecdsa, signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=pades, md_algorithm="sha256",
        embed_validation_info=True, validation_context=context,
    ), timestamper=timestamper)
    return 0


def with_text_field(pdf: bytes) -> bytes:
    """`pdf` with an empty text field "Nom" in the empty strip at the foot
    of page 1, as a form designer adds one."""
    from pyhanko.pdf_utils import generic
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref, _ = w.find_page_for_modification(0)
    font = w.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Font"),
        generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
        generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
    }))
    field = w.add_object(generic.DictionaryObject({
        generic.NameObject("/FT"): generic.NameObject("/Tx"),
        generic.NameObject("/T"): generic.TextStringObject("Nom"),
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Widget"),
        generic.NameObject("/Rect"): generic.ArrayObject(
            [generic.NumberObject(n) for n in (380, 4, 580, 24)]),
        generic.NameObject("/F"): generic.NumberObject(4),
        generic.NameObject("/P"): page_ref,
        generic.NameObject("/DA"): generic.TextStringObject("/Helv 10 Tf 0 g"),
    }))
    page = page_ref.get_object()
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(field)
    page[generic.NameObject("/Annots")] = annots
    w.mark_update(page_ref)
    w.root[generic.NameObject("/AcroForm")] = generic.DictionaryObject({
        generic.NameObject("/Fields"): generic.ArrayObject([field]),
        generic.NameObject("/DA"): generic.TextStringObject("/Helv 0 Tf 0 g"),
        generic.NameObject("/DR"): generic.DictionaryObject({
            generic.NameObject("/Font"): generic.DictionaryObject({
                generic.NameObject("/Helv"): font,
            }),
        }),
    })
    w.update_root()
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def fill_text_field(pdf: bytes, name: str, value: str) -> bytes:
    """`pdf` with its text field `name` given `value` and an appearance
    showing it, in an incremental update."""
    from pyhanko.pdf_utils import generic
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    form = w.root["/AcroForm"]
    ref = next(r for r in form.raw_get("/Fields")
               if r.get_object().get("/T") == name)
    field = ref.get_object()
    helv = form["/DR"]["/Font"].raw_get("/Helv")
    appearance = generic.StreamObject({
        generic.NameObject("/Type"): generic.NameObject("/XObject"),
        generic.NameObject("/Subtype"): generic.NameObject("/Form"),
        generic.NameObject("/BBox"): generic.ArrayObject(
            [generic.NumberObject(n) for n in (0, 0, 200, 20)]),
        generic.NameObject("/Resources"): generic.DictionaryObject({
            generic.NameObject("/Font"): generic.DictionaryObject({
                generic.NameObject("/Helv"): helv,
            }),
        }),
    }, stream_data=f"/Tx BMC BT /Helv 10 Tf 2 6 Td ({value}) Tj ET EMC".encode())
    field[generic.NameObject("/V")] = generic.TextStringObject(value)
    field[generic.NameObject("/AP")] = generic.DictionaryObject({
        generic.NameObject("/N"): w.add_object(appearance),
    })
    w.mark_update(ref)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _der(path: pathlib.Path) -> bytes:
    """The DER of a PEM (or DER) file's first block."""
    data = path.read_bytes()
    if b"-----BEGIN" not in data:
        return data
    import base64
    body = data.split(b"-----")[2]
    return base64.b64decode(b"".join(body.split()))


def sign(path, pdf, signer, meta, timestamper=None, new_field_spec=None):
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper,
                                   new_field_spec=new_field_spec)
    with path.open("wb") as f:
        pdf_signer.sign_pdf(writer, output=f)
    print(f"wrote {path.name}")


class EcdsaDummyTimeStamper(DummyTimeStamper):
    """pyHanko's test TSA, able to sign with an EC key as well as an RSA one."""

    def _sign_tst_info(self, tst_info_data, md_algorithm, dt):
        key = serialization.load_der_private_key(self.tsa_key.dump(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            return super()._sign_tst_info(tst_info_data, md_algorithm, dt)
        # The same signed attributes as the parent's (RFC 3161 + RFC 5035).
        digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        digest.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute(
                "signing_time", cms.Time({"utc_time": core.UTCTime(dt)})
            ),
            simple_cms_attribute(
                "signing_certificate", as_signing_certificate(self.tsa_cert)
            ),
            simple_cms_attribute("message_digest", digest.finalize()),
        ])
        signature = key.sign(
            signed_attrs.dump(), ec.ECDSA(get_pyca_cryptography_hash(md_algorithm))
        )
        return signature, signed_attrs

    def _build_signed_data(self, tst_info_data, md_algorithm, signature, signed_attrs):
        signed_data = super()._build_signed_data(
            tst_info_data, md_algorithm, signature, signed_attrs
        )
        if self.tsa_key.algorithm == "ec":
            signed_data["signer_infos"][0]["signature_algorithm"] = (
                algos.SignedDigestAlgorithm({"algorithm": f"{md_algorithm}_ecdsa"})
            )
        return signed_data


def rsa_signer(root_path: pathlib.Path) -> signers.SimpleSigner:
    """An RSA-2048 signer under a fresh RSA root, written to root_path."""
    now = datetime.datetime.now(datetime.timezone.utc)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = _name("Coffre interop RSA root")
    root = (
        _builder(root_name, root_name, root_key, now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        _builder(_name("Coffre interop RSA signer"), root_name, leaf_key, now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    root_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))

    der = serialization.Encoding.DER
    root_asn1 = asn1_x509.Certificate.load(root.public_bytes(der))
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(leaf.public_bytes(der)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            leaf_key.private_bytes(
                der,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore.from_certs([root_asn1]),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Coffre interop tests"),
    ])


def _builder(subject, issuer, key, now) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
    )


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


if __name__ == "__main__":
    sys.exit(main())
