"""Who a simulated client computer is: user, computer name, domain and network address."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

# Computer names become folder names under data_dir/endpoints/, so keep them plain.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class IdentityError(ValueError):
    """An identity value cannot be used (for example a computer name with a slash)."""


@dataclass(frozen=True)
class Identity:
    """The origin attributes an endpoint puts on every sample it forwards."""

    user: str
    computer: str
    domain: str = "SIMCORP"
    address: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not _NAME.match(self.computer):
            raise IdentityError(
                f"computer name {self.computer!r} must be letters, digits, '.', '_' or '-'"
            )
        for value in (self.user, self.domain, self.address):
            if not value or any(ord(c) < 32 for c in value) or len(value) > 200:
                raise IdentityError(f"identity value {value!r} is empty or not printable")

    @classmethod
    def numbered(cls, index: int, prefix: str = "ws", domain: str = "SIMCORP") -> Identity:
        """The identity of the index-th computer of a simulated fleet (1-based)."""
        return cls(user=f"user{index:03d}", computer=f"{prefix}-{index:03d}", domain=domain)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Identity:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{k: str(data[k]) for k in ("user", "computer", "domain", "address")})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IdentityError(f"{path}: not a readable identity file ({exc})") from None
