"""The places in the data directory that one part writes and others read, named once.

Paths are relative to ``general.data_dir`` (``Config.path`` resolves them). Each part's private
folders (the Quarantine Server's quarantine, an endpoint's computers) are its own business.
"""

SIGNING_KEYS_DIR = "backoffice/keys"  # the vendor's Ed25519 key pair; the back office makes it
VERIFY_KEY_PATH = f"{SIGNING_KEYS_DIR}/signing.pub"  # keys.VERIFY_KEY_FILE in that folder  # what every installer checks sets against
PUBLISHED_SETS_DIR = (
    "backoffice/published"  # signed sets: the back office writes, the gateway serves
)
