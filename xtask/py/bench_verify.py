"""pyHanko's verification throughput, for `cargo xtask bench seal`.

    python bench_verify.py --trust ROOT.pem DIR

Validates the first signature of every DIR/*.pdf in one process, one thread,
with the pyHanko library (`validate_pdf_signature`, a fresh
`ValidationContext(trust_roots=[root])` per file as a verifier of unrelated
documents would, no fetching), times only that loop, checks every signature
is intact and trusted, and prints `docs_per_s=<float>`.
"""

import argparse
import io
import pathlib
import sys
import time

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trust", required=True, type=pathlib.Path)
    parser.add_argument("dir", type=pathlib.Path)
    args = parser.parse_args()

    root = load_cert_from_pemder(str(args.trust))
    files = sorted(args.dir.glob("*.pdf"))
    if not files:
        print(f"no PDF in {args.dir}", file=sys.stderr)
        return 1
    documents = [f.read_bytes() for f in files]

    failures = []
    start = time.perf_counter()
    for path, data in zip(files, documents):
        reader = PdfFileReader(io.BytesIO(data))
        signature = reader.embedded_signatures[0]
        context = ValidationContext(trust_roots=[root], allow_fetching=False)
        status = validate_pdf_signature(signature, context)
        if not status.bottom_line:
            failures.append(f"{path.name}: {status.summary()}")
    elapsed = time.perf_counter() - start

    if failures:
        print("pyHanko rejects:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"docs_per_s={len(documents) / elapsed:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
