"""python3 -m synthmri_partner generators|request|download|fetch|bundle ... (see --help)."""

import argparse
import json
import os
import sys

from .client import CONTRACTS_VERSION, PartnerClient, PartnerError, enum_name


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m synthmri_partner",
                                description="Request and download certified synthetic datasets (synthmri partner API).")
    p.add_argument("--version", action="version", version="synthmri-partner " + CONTRACTS_VERSION)
    p.add_argument("--addr", default=os.environ.get("SYNTHMRI_PARTNER_ADDR", "127.0.0.1:50055"),
                   help="host:port of the hospital's partner port (default $SYNTHMRI_PARTNER_ADDR or 127.0.0.1:50055)")
    p.add_argument("--token", default=os.environ.get("SYNTHMRI_PARTNER_TOKEN", ""),
                   help="partner token (default $SYNTHMRI_PARTNER_TOKEN)")
    p.add_argument("--ca", help="CA certificate of the hospital's server (PEM): turns TLS on")
    p.add_argument("--cert", help="client certificate (PEM) for mTLS")
    p.add_argument("--key", help="client key (PEM) for mTLS")
    p.add_argument("--quiet", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("generators", help="list the generators you may request, each with its card (JSON)")
    r = sub.add_parser("request", help="request a dataset, follow the job, download and verify it")
    r.add_argument("--size", type=int, required=True, help="number of images")
    r.add_argument("--out", required=True, help="directory for the dataset")
    r.add_argument("--format", default="nnunet", choices=["nnunet", "shards"])
    r.add_argument("--ensemble", default="", help="ensemble id from the generators command (default: the hospital's default)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--purpose", default="")
    d = sub.add_parser("download", help="download a finished bundle's files again (sha256 checked)")
    d.add_argument("--bundle", required=True)
    d.add_argument("--out", required=True)
    f = sub.add_parser("fetch", help="download a bundle's archive (.tar) over HTTPS, resuming a partial one")
    f.add_argument("--bundle", required=True)
    f.add_argument("--out", required=True, help="archive file to write")
    b = sub.add_parser("bundle", help="print a bundle's certificate and files as JSON")
    b.add_argument("--bundle", required=True)
    a = p.parse_args(argv)
    log = (lambda *_: None) if a.quiet else (lambda msg: print(msg, file=sys.stderr))
    try:
        with PartnerClient(a.addr, a.token, ca=a.ca, cert=a.cert, key=a.key) as c:
            if a.command == "generators":
                from google.protobuf import json_format
                print(json.dumps([json_format.MessageToDict(g) for g in c.generators()], indent=2))
            elif a.command == "request":
                job_id, bundle_id = c.request(a.size, format=a.format, ensemble_id=a.ensemble, seed=a.seed,
                                              purpose=a.purpose)
                log("bundle %s: job %s started" % (bundle_id, job_id))
                c.wait(job_id, on_progress=lambda j: log("  %s %d%% %s" % (
                    enum_name("synthmri.common.v1.JobState", j.state).replace("JOB_STATE_", "").lower(),
                    round(j.progress.fraction * 100), j.progress.message)))
                files = c.download(bundle_id, a.out)
                bundle = c.bundle(bundle_id)
                print(json.dumps({"bundleId": bundle_id, "out": os.path.realpath(a.out), "images": bundle.size,
                                  "files": len(files), "utility": bundle.certificate.utility_status,
                                  "reportId": bundle.certificate.report_id}))
            elif a.command == "download":
                files = c.download(a.bundle, a.out)
                log("downloaded %d files into %s (sha256 verified)" % (len(files), a.out))
            elif a.command == "fetch":
                part = a.out + ".part"
                if os.path.exists(part):
                    log("resuming at %d bytes" % os.path.getsize(part))
                n = c.fetch_archive(a.bundle, a.out, cafile=a.ca)
                log("fetched %d bytes; %s complete (sha256 verified)" % (n, a.out))
            elif a.command == "bundle":
                from google.protobuf import json_format
                print(json_format.MessageToJson(c.bundle(a.bundle)))
    except PartnerError as e:
        print("synthmri_partner: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
