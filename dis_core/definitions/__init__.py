"""Definition sets and the scanner: signed full and incremental packages, the vendor's
repository, installation on hosts, and scanning/repair with yara-python or YARA-X.

See docs/definitions.md for the package format, the error values and the recipe language.
"""

from dis_core.definitions.baseline import (
    EICAR,
    baseline_signatures,
    build_baseline,
    eicar_signature,
)
from dis_core.definitions.engines import ENGINES, EngineError
from dis_core.definitions.errors import DefinitionError, InstallError, RepairError
from dis_core.definitions.installed import InstalledDefinitions
from dis_core.definitions.keys import SigningKey, VerifyKey, load_or_create_signing_key
from dis_core.definitions.model import DefinitionSet, Detection, Signature
from dis_core.definitions.package import (
    apply_incremental,
    build_full,
    build_incremental,
    full_package,
    read_package,
)
from dis_core.definitions.repository import DefinitionRepository
from dis_core.definitions.rulefile import rule_name, write_rule_file
from dis_core.definitions.scanner import Scanner
from dis_core.definitions.vba import extract_vba, normalize_vba

__all__ = [
    "EICAR", "ENGINES", "DefinitionError", "DefinitionRepository", "DefinitionSet", "Detection",
    "EngineError", "InstallError", "InstalledDefinitions", "RepairError", "Scanner", "Signature",
    "SigningKey", "VerifyKey", "apply_incremental", "baseline_signatures", "build_baseline",
    "build_full", "build_incremental", "eicar_signature", "extract_vba",
    "full_package", "load_or_create_signing_key", "normalize_vba", "read_package", "rule_name",
    "write_rule_file",
]  # fmt: skip
