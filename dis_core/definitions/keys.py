"""Ed25519 keys of the back office: the signing key stays there, the public key goes everywhere."""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dis_core.files import locked, write_atomic, write_secret

SIGNING_KEY_FILE = "signing.key"
VERIFY_KEY_FILE = "signing.pub"
MAX_KEY_FILE = 4096


def _read_small(path: Path) -> bytes:
    data = path.read_bytes()
    if len(data) > MAX_KEY_FILE:
        raise ValueError(f"{path}: too large for a key file")
    return data


class VerifyKey:
    """The public half: checks package signatures."""

    def __init__(self, public: Ed25519PublicKey) -> None:
        self._public = public

    @classmethod
    def from_bytes(cls, raw: bytes) -> VerifyKey:
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    @classmethod
    def load(cls, path: Path) -> VerifyKey:
        key = serialization.load_pem_public_key(_read_small(Path(path)))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path}: not an Ed25519 public key")
        return cls(key)

    def save(self, path: Path) -> None:
        pem = self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(Path(path), pem, 0o644)

    @property
    def public_key_bytes(self) -> bytes:
        return self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self._public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class SigningKey:
    """The private half: signs package manifests (Ed25519 signatures are deterministic)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        key = serialization.load_pem_private_key(_read_small(Path(path)), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return cls(key)

    def save(self, path: Path) -> None:
        pem = self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_secret(Path(path), pem)

    @property
    def public_key_bytes(self) -> bytes:
        return self.verify_key().public_key_bytes

    def verify_key(self) -> VerifyKey:
        return VerifyKey(self._private.public_key())

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def load_or_create_signing_key(keys_dir: Path) -> SigningKey:
    """keys_dir/signing.key (mode 0600) and keys_dir/signing.pub; created on first use."""
    keys_dir = Path(keys_dir)
    private_path = keys_dir / SIGNING_KEY_FILE
    with locked(keys_dir / ".lock"):  # two processes starting at once must agree on one key
        if private_path.exists():
            key = SigningKey.load(private_path)
        else:
            key = SigningKey.generate()
            key.save(private_path)
        public_path = keys_dir / VERIFY_KEY_FILE
        if not public_path.exists():
            key.verify_key().save(public_path)
    return key
