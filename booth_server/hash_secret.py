"""``lapak-asik hash-secret``: make the hashes and keys the configuration holds.

    lapak-asik hash-secret                   # prompts twice, prints the argon2 hash
    printf %s "$PASSWORD" | lapak-asik hash-secret --stdin
    lapak-asik hash-secret --generate-token  # a new booth token and its hash
    lapak-asik hash-secret --generate-key    # a new server secret / document key (base64, 32 bytes)

Only the hash goes to the config; the token or password itself goes to the booth or the user.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import secrets
import sys
from typing import TextIO

from .security import hash_secret

__all__ = ["main"]

_MIN_RECOMMENDED_CHARS = 8


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lapak-asik hash-secret",
        description=(
            "Hash a booth token or a user password with argon2id for the config file "
            "(booths[].token_hash, users[].password_hash), or generate new secrets."
        ),
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--stdin",
        action="store_true",
        help="read the secret from the first line of standard input instead of prompting",
    )
    mode.add_argument(
        "--generate-token",
        action="store_true",
        help="generate a random booth token; prints the token (for the kiosk) and its hash",
    )
    mode.add_argument(
        "--generate-key",
        action="store_true",
        help="print a random base64 32-byte value for documents.key or server.secret",
    )
    return parser


def _read_stdin(stream: TextIO) -> str:
    line = stream.readline()
    # Only the line ending goes: spaces may be part of a password.
    return line.removesuffix("\n").removesuffix("\r")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out, err = sys.stdout, sys.stderr

    if args.generate_key:
        print(base64.b64encode(secrets.token_bytes(32)).decode("ascii"), file=out)
        return 0

    if args.generate_token:
        token = secrets.token_urlsafe(32)
        print(f'token = "{token}"  # for the kiosk: lapak-asik booth --token ...', file=out)
        print(f'token_hash = "{hash_secret(token)}"  # for the [[booths]] entry', file=out)
        return 0

    if args.stdin:
        plain = _read_stdin(sys.stdin)
    else:
        try:
            plain = getpass.getpass("Secret to hash: ")
            again = getpass.getpass("Again, to confirm: ")
        except (EOFError, KeyboardInterrupt):
            print("hash-secret: cancelled", file=err)
            return 1
        if plain != again:
            print("hash-secret: the two entries differ, nothing hashed", file=err)
            return 1

    if not plain:
        print("hash-secret: empty secret, nothing hashed", file=err)
        return 1
    if len(plain) < _MIN_RECOMMENDED_CHARS:
        print(
            f"hash-secret: warning: shorter than {_MIN_RECOMMENDED_CHARS} characters, "
            "easy to guess",
            file=err,
        )
    print(hash_secret(plain), file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
