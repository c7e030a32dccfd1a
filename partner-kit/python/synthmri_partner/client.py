"""PartnerClient: the partner API (synthmri.generator.v1.PartnerService + the partner's own jobs) over gRPC."""

import hashlib
import os
import urllib.request
from importlib import resources

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

# The suite version whose contracts are bundled (the descriptor set is rebuilt and checked with every release).
CONTRACTS_VERSION = "0.1.0"

_PARTNER = "synthmri.generator.v1.PartnerService"
_JOBS = "synthmri.common.v1.JobService"
_FINAL_STATES = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"}


def _load_pool():
    data = resources.files(__package__).joinpath("contracts.binpb").read_bytes()
    pool = descriptor_pool.DescriptorPool()
    for f in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        pool.Add(f)
    return pool


_POOL = _load_pool()


def message_class(full_name):
    """The Python class of a message of the bundled contracts, e.g. "synthmri.generator.v1.Bundle"."""
    desc = _POOL.FindMessageTypeByName(full_name)
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(_POOL).GetPrototype(desc)


def enum_value(enum_name, value_name):
    return _POOL.FindEnumTypeByName(enum_name).values_by_name[value_name].number


def enum_name(enum_name_, number):
    return _POOL.FindEnumTypeByName(enum_name_).values_by_number[number].name


class PartnerError(Exception):
    """A refused call (status code and the server's message) or a failed job or download."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def _read(path):
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


class PartnerClient:
    """One connection to the hospital's partner port.

    address: "host:port" of the partner port (PARTNER_PORT, 50055, or the hospital's load balancer).
    token: the partner token the hospital gave you (sent as "authorization: Bearer <token>").
    ca, cert, key: PEM files for TLS (ca: the hospital's CA) and mTLS (cert/key: your client certificate).
    """

    def __init__(self, address, token, ca=None, cert=None, key=None, timeout=60.0):
        if not token:
            raise PartnerError("no partner token: pass token= (or set SYNTHMRI_PARTNER_TOKEN for the command line)")
        options = [("grpc.max_receive_message_length", 64 << 20)]
        if ca or cert:
            creds = grpc.ssl_channel_credentials(_read(ca), _read(key), _read(cert))
            self._channel = grpc.secure_channel(address, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(address, options=options)
        self.address = address
        self._metadata = (("authorization", "Bearer " + token),)
        self._timeout = timeout

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- calls ---------------------------------------------------------------------------------------------

    def _method(self, service, name, request_type, response_type, streaming=False):
        req_cls = message_class(request_type)
        res_cls = message_class(response_type)
        factory = self._channel.unary_stream if streaming else self._channel.unary_unary
        return req_cls, factory(
            "/%s/%s" % (service, name),
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=res_cls.FromString,
        )

    def _call(self, service, name, request_type, response_type, **fields):
        req_cls, call = self._method(service, name, request_type, response_type)
        try:
            return call(req_cls(**fields), metadata=self._metadata, timeout=self._timeout)
        except grpc.RpcError as e:
            raise self._error(e) from None

    def _stream(self, service, name, request_type, response_type, **fields):
        req_cls, call = self._method(service, name, request_type, response_type, streaming=True)
        try:
            for msg in call(req_cls(**fields), metadata=self._metadata):
                yield msg
        except grpc.RpcError as e:
            raise self._error(e) from None

    def _error(self, e):
        code = e.code()
        if code == grpc.StatusCode.UNAVAILABLE:
            return PartnerError(
                "cannot reach the partner service at %s (%s); check the address, the port and the TLS files"
                % (self.address, e.details()),
                code,
            )
        return PartnerError("%s: %s" % (code.name, e.details()), code)

    def generators(self):
        """The generators (GAN ensembles) you may request, each with its card (GeneratorCard messages)."""
        return list(self._call(_PARTNER, "ListGenerators", "synthmri.generator.v1.ListGeneratorsRequest",
                               "synthmri.generator.v1.ListGeneratorsResponse").generators)

    def request(self, size, format="nnunet", ensemble_id="", seed=0, purpose="", min_tumor=0.0, max_tumor=0.0,
                all_classes=False):
        """Starts a request; returns (job_id, bundle_id)."""
        formats = {"nnunet": "BUNDLE_FORMAT_NNUNET", "shards": "BUNDLE_FORMAT_TENSOR_SHARDS"}
        if format not in formats:
            raise PartnerError("format must be nnunet or shards, got %r" % format)
        filters = message_class("synthmri.generator.v1.SampleFilters")(
            min_tumor_fraction=min_tumor, max_tumor_fraction=max_tumor, require_all_classes=all_classes)
        r = self._call(_PARTNER, "RequestSyntheticDataset", "synthmri.generator.v1.RequestSyntheticDatasetRequest",
                       "synthmri.generator.v1.RequestSyntheticDatasetResponse", size=size,
                       format=enum_value("synthmri.generator.v1.BundleFormat", formats[format]),
                       ensemble_id=ensemble_id, seed=seed, purpose=purpose, filters=filters)
        return r.job_id, r.bundle_id

    def watch(self, job_id):
        """Yields the job's status now and on every change until it ends."""
        for msg in self._stream(_JOBS, "WatchJob", "synthmri.common.v1.WatchJobRequest",
                                "synthmri.common.v1.WatchJobResponse", job_id=job_id):
            yield msg.job

    def wait(self, job_id, on_progress=None):
        """Follows the job to its end; returns the final status, raises PartnerError unless it succeeded."""
        last = None
        for job in self.watch(job_id):
            last = job
            if on_progress:
                on_progress(job)
        state = enum_name("synthmri.common.v1.JobState", last.state) if last else "JOB_STATE_UNSPECIFIED"
        if state != "JOB_STATE_SUCCEEDED":
            raise PartnerError("job %s ended %s: %s" % (job_id, state, last.error_message if last else "no status"))
        return last

    def bundle(self, bundle_id):
        return self._call(_PARTNER, "GetBundle", "synthmri.generator.v1.GetBundleRequest",
                          "synthmri.generator.v1.GetBundleResponse", bundle_id=bundle_id).bundle

    def download(self, bundle_id, out_dir):
        """Streams every file of the bundle into out_dir, checking each file's size and sha256; returns the names.

        A file already there with the right sha256 is kept as is (a re-run after an interruption rewrites only the
        files that were not finished).
        """
        root = os.path.realpath(out_dir)
        os.makedirs(root, exist_ok=True)
        names = []
        current = {}

        def finish():
            if not current:
                return
            data = b"".join(current["parts"])
            sha = hashlib.sha256(data).hexdigest()
            if len(data) != current["size"] or sha != current["sha256"]:
                raise PartnerError("%s: checksum mismatch (%d bytes, sha256 %s...); download again"
                                   % (current["name"], len(data), sha[:12]))
            path = os.path.realpath(os.path.join(root, current["name"]))
            if not path.startswith(root + os.sep):
                raise PartnerError("refusing to write %s outside %s" % (current["name"], root))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not (os.path.exists(path) and _sha256_file(path) == sha):
                with open(path + ".part", "wb") as f:
                    f.write(data)
                os.replace(path + ".part", path)
            names.append(current["name"])
            current.clear()

        for msg in self._stream(_PARTNER, "DownloadDataset", "synthmri.generator.v1.DownloadDatasetRequest",
                                "synthmri.generator.v1.DownloadDatasetResponse", bundle_id=bundle_id):
            frame = msg.file.WhichOneof("frame")
            if frame == "header":
                finish()
                h = msg.file.header
                current.update(name=h.name, size=h.size, sha256=h.sha256, parts=[], got=0)
            elif frame == "chunk":
                if not current:
                    raise PartnerError("the server sent data before a file header")
                if msg.file.chunk.offset != current["got"]:
                    raise PartnerError("%s: chunk out of order" % current["name"])
                current["parts"].append(msg.file.chunk.data)
                current["got"] += len(msg.file.chunk.data)
        finish()
        return names

    def download_url(self, bundle_id, expires_in_seconds=0):
        """A presigned HTTPS URL of the bundle archive (.tar); returns (url, sha256, size)."""
        r = self._call(_PARTNER, "GetDownloadUrl", "synthmri.generator.v1.GetDownloadUrlRequest",
                       "synthmri.generator.v1.GetDownloadUrlResponse", bundle_id=bundle_id,
                       expires_in_seconds=expires_in_seconds)
        return r.url, r.archive.sha256, r.archive.size

    def fetch_archive(self, bundle_id, out_path, on_progress=None, cafile=None):
        """Downloads the bundle archive over HTTP into out_path, resuming a partial out_path + ".part" with a Range
        request, and checks the archive's sha256. Returns the number of bytes fetched in this call."""
        url, sha256, size = self.download_url(bundle_id)
        part = out_path + ".part"
        have = os.path.getsize(part) if os.path.exists(part) else 0
        if have > size:
            os.remove(part)
            have = 0
        fetched = 0
        if have < size:
            req = urllib.request.Request(url, headers={"Range": "bytes=%d-" % have} if have else {})
            ctx = None
            if cafile:
                import ssl
                ctx = ssl.create_default_context(cafile=cafile)
            with urllib.request.urlopen(req, context=ctx) as res:
                if have and res.status != 206:
                    have = 0  # the server ignored the Range header: start over
                with open(part, "ab" if have else "wb") as f:
                    while True:
                        chunk = res.read(1 << 20)
                        if not chunk:
                            break
                        f.write(chunk)
                        fetched += len(chunk)
                        if on_progress:
                            on_progress(have + fetched, size)
        got = _sha256_file(part)
        if got != sha256:
            os.remove(part)
            raise PartnerError("archive checksum mismatch (sha256 %s..., expected %s...); run again" % (got[:12], sha256[:12]))
        os.replace(part, out_path)
        return fetched


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
