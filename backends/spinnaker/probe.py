"""Does the configured board answer? Asked before building, because sPyNNaker itself retries for minutes.

``HIPPOCAM_SPINNAKER_TIMEOUT=s`` (``Backend(probe_timeout_s=)``, default 5 s) bounds the wait. A board that is
powered but not booted does not answer either: ``0`` skips the check and lets sPyNNaker boot it.
"""
from __future__ import annotations

import os
import socket
import time
import urllib.parse

from hippocam.errors import BackendError
from .config import ENV_CFG, ENV_MACHINE, ENV_TIMEOUT, BoardConfig, board_config

SCAMP_PORT = 17893  # SC&MP's UDP port on every board
SPALLOC_PORT = 22244  # the classic spalloc server's TCP port


def probe_board(board: BoardConfig, timeout_s: float) -> None:
    """Check within ``timeout_s`` (s) that the configured board or spalloc server answers.

    A board must answer an SCP version request on UDP 17893; a spalloc server must accept a TCP
    connection. Raises BackendError naming the target and the fix; does nothing for a virtual board,
    a remote (HBP) URL, or ``timeout_s <= 0``.
    """
    if board.virtual or timeout_s <= 0:
        return
    hint = (f"check the address and that the board is powered and reachable (board from {board.source}). "
            f"A board that is powered but not yet booted does not answer this check: "
            f"set {ENV_TIMEOUT}=0 to skip it and let sPyNNaker boot the board (it gives up after about "
            f"3 minutes if nothing answers).")
    if board.machine_name:
        _probe_scamp(board.machine_name, timeout_s, hint)
    elif board.spalloc_server:
        url = urllib.parse.urlsplit(board.spalloc_server if "://" in board.spalloc_server
                                    else f"spalloc://{board.spalloc_server}")
        port = url.port or {"http": 80, "https": 443}.get(url.scheme, SPALLOC_PORT)
        try:
            with socket.create_connection((url.hostname, port), timeout=timeout_s):
                pass
        except OSError as err:
            raise BackendError(f"spinnaker: cannot reach the spalloc server {url.hostname}:{port} within "
                               f"{timeout_s:g} s ({err}); check spalloc_server in {board.source}") from None


def require_board(what: str) -> BoardConfig:
    """The configured board, checked to answer (``probe_board``, ``HIPPOCAM_SPINNAKER_TIMEOUT``) before any long
    work; a BackendError in one line when none is configured (``what`` cannot run on a virtual board) or it does
    not answer."""
    board = board_config()
    if board.virtual:
        raise BackendError(f"spinnaker: no SpiNNaker board is configured, so {what} cannot run here (a virtual "
                           f"board only maps); set {ENV_MACHINE}=<host> or {ENV_CFG}=<file.cfg> to run on a board, "
                           "see the mapping with 'hippocam event map MODEL', or compute what a board would with "
                           "--backend spinnaker-model")
    text = os.environ.get(ENV_TIMEOUT) or "5"
    try:
        timeout_s = float(text)
    except ValueError:
        raise BackendError(f"spinnaker: {ENV_TIMEOUT} must be a number of seconds, not {text!r}") from None
    probe_board(board, timeout_s)
    return board


def _probe_scamp(host: str, timeout_s: float, hint: str) -> None:
    from spinnman.connections.udp_packet_connections import SCAMPConnection
    from spinnman.exceptions import SpinnmanException, SpinnmanTimeoutException
    from spinnman.messages.scp.abstract_messages import AbstractSCPRequest
    from spinnman.messages.scp.impl import GetVersion

    # the chip that receives the packet answers (SpiNNMan asks the same way before it boots a board)
    request = GetVersion(AbstractSCPRequest.DEFAULT_DEST_X_COORD, AbstractSCPRequest.DEFAULT_DEST_Y_COORD, 0)

    try:
        conn = SCAMPConnection(remote_host=host)
    except (SpinnmanException, OSError) as err:
        raise BackendError(f"spinnaker: cannot open a connection to the board {host!r} ({err}); {hint}") from None
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(f"spinnaker: the board {host} did not answer within {timeout_s:g} s "
                                   f"(SCP version request on UDP {SCAMP_PORT}); {hint}")
            try:
                conn.send(conn.get_scp_data(request))
                conn.receive_scp_response(timeout=min(1.0, left))
                return
            except SpinnmanTimeoutException:
                continue
            except (SpinnmanException, OSError) as err:
                # e.g. ICMP "port unreachable": nothing listens at that address
                raise BackendError(f"spinnaker: the board {host} cannot be reached ({err}); {hint}") from None
    finally:
        conn.close()
