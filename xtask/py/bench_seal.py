"""pyHanko's sealing throughput, for `cargo xtask bench seal`.

    python bench_seal.py --key KEY.pem --cert CERT.pem --chain CHAIN.pem IN OUT

Signs every IN/*.pdf in one process, one thread, with the pyHanko library
(`SimpleSigner.load` once, then `signers.sign_pdf` per file: PAdES
ETSI.CAdES.detached, SHA-256, no time-stamp, like our B-B), times only that
loop over documents already in memory, writes the results to OUT and prints
`docs_per_s=<float>`.
"""

import argparse
import io
import pathlib
import sys
import time

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--chain", required=True)
    parser.add_argument("input", type=pathlib.Path)
    parser.add_argument("output", type=pathlib.Path)
    args = parser.parse_args()

    signer = signers.SimpleSigner.load(
        args.key, args.cert, ca_chain_files=(args.chain,)
    )
    if signer is None:
        print("could not load the key or certificate", file=sys.stderr)
        return 1
    files = sorted(args.input.glob("*.pdf"))
    if not files:
        print(f"no PDF in {args.input}", file=sys.stderr)
        return 1
    documents = [f.read_bytes() for f in files]
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )

    sealed = []
    start = time.perf_counter()
    for data in documents:
        out = io.BytesIO()
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer, output=out
        )
        sealed.append(out.getvalue())
    elapsed = time.perf_counter() - start

    args.output.mkdir(parents=True, exist_ok=True)
    for path, data in zip(files, sealed):
        (args.output / path.name).write_bytes(data)
    print(f"docs_per_s={len(documents) / elapsed:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
