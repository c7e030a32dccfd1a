"""Client of a hospital's synthmri partner service: request certified synthetic datasets, follow the job,
download (file stream with per-file sha256 checks, or the bundle archive over HTTP with resume and a sha256 check).

Needs only grpcio and protobuf (Debian: apt-get install python3-grpcio python3-protobuf). The gRPC contracts come
with the package as a protobuf descriptor set (contracts.binpb), so no code generation step is needed.
"""

from .client import PartnerClient, PartnerError, CONTRACTS_VERSION

__all__ = ["PartnerClient", "PartnerError", "CONTRACTS_VERSION"]
