"""CDS clients for tests: keys generated here, a trust file, and signed CDS Hooks JWTs."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives.asymmetric import ec, rsa


class Issuer:
    """A CDS client with its own key pair (ES384 by default, RS384 with rsa=True)."""

    def __init__(self, iss: str, kid: str | None = None, rsa_key: bool = False):
        self.iss = iss
        self.kid = kid or f"kid-{uuid.uuid4().hex[:8]}"
        self.alg = "RS384" if rsa_key else "ES384"
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048) if rsa_key else ec.generate_private_key(ec.SECP384R1())

    def public_jwk(self) -> dict[str, Any]:
        algo = jwt.algorithms.RSAAlgorithm if self.alg == "RS384" else jwt.algorithms.ECAlgorithm
        jwk = json.loads(algo.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return jwk

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def token(self, aud: str, now: float | None = None, headers: dict | None = None, drop: tuple = (), **claims: Any) -> str:
        now = time.time() if now is None else now
        payload = {"iss": self.iss, "aud": aud, "iat": int(now), "exp": int(now) + 300, "jti": str(uuid.uuid4())}
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        head = {"kid": self.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(payload, self.private, algorithm=self.alg, headers=head)


def write_trust_file(directory: Path, *clients: dict[str, Any]) -> Path:
    """clients: {"issuer": Issuer, ...extra trust-file fields}; key sets written beside the file."""
    entries = []
    for client in clients:
        issuer: Issuer = client["issuer"]
        entry = {k: v for k, v in client.items() if k != "issuer"}
        if "jwks_url" not in entry:
            keyfile = directory / f"{issuer.kid}.jwks.json"
            keyfile.write_text(json.dumps(issuer.jwks()))
            entry["jwks_file"] = keyfile.name
        entries.append({"iss": issuer.iss, **entry})
    path = directory / "trust.yaml"
    path.write_text(yaml.safe_dump({"clients": entries}))
    return path


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
