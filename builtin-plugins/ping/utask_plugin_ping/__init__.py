"""The ping action plugin (reference §10.10): ICMP echo requests, statistics as go-ping reports them.

Unprivileged ICMP sockets (SOCK_DGRAM/IPPROTO_ICMP, like go-ping's default "udp" mode) need the sandbox's
gid inside `net.ipv4.ping_group_range`; when the kernel refuses them, a raw socket is tried (it needs
CAP_NET_RAW, which the sandbox's unprivileged uid does not have). Like µTask, a socket that cannot be
opened is not an error: nothing is sent and the statistics say so.

Deliberate difference: go-ping waits forever for missing replies; this plugin stops waiting
`REPLY_WAIT` seconds after its last request (the step would otherwise hang until the sandbox timeout).
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import socket
import struct
import time
from dataclasses import asdict, dataclass
from typing import Any

from utask_sdk import ActionPlugin, ConfigError, Result, SandboxProfile, ServerError, hookimpl
from utask_sdk.goconv import go_float, go_quote, parse_uint

REPLY_WAIT = 5.0
ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY = 8, 0
ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY = 128, 129


@dataclass
class PingConfig:
    hostname: str = ""
    count: str = ""
    interval_second: str = ""


class Ping(ActionPlugin):
    name = "ping"
    version = "0.1"
    config_model = PingConfig
    sandbox = SandboxProfile(network=True)

    def validate(self, config: PingConfig) -> None:
        if config.hostname == "":
            raise ConfigError("hostname is missing")
        if config.count != "":
            try:
                parse_uint(config.count)
            except ValueError as err:
                raise ConfigError(f"can't parse count field {go_quote(config.count)}: {err}") from None
        if config.interval_second != "":
            try:
                parse_uint(config.interval_second)
            except ValueError as err:
                raise ConfigError(f"can't parse interval_second field {go_quote(config.interval_second)}: "
                                  f"{err}") from None

    def resources(self, config: PingConfig) -> list[str]:
        return ["socket", "url:" + config.hostname]

    def execute(self, ctx: Any, config: PingConfig) -> Result:
        try:
            infos = socket.getaddrinfo(config.hostname, None, proto=socket.IPPROTO_TCP)
        except socket.gaierror as err:
            reason = "no such host" if err.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)) \
                else (err.strerror or str(err))
            raise ServerError(f"can't initiate ping: lookup {config.hostname}: {reason}") from None
        # Go resolves the "ip" network preferring an IPv4 address.
        infos.sort(key=lambda info: info[0] != socket.AF_INET)
        family, _, _, _, sockaddr = infos[0]
        ip = str(sockaddr[0])
        count, interval = _default(config.count), _default(config.interval_second)
        rtts = _ping(family, ip, count, float(interval), ctx.logger)
        sent, received = rtts[0], rtts[1]
        times = rtts[2]
        loss = float(sent - received) / float(sent) * 100 if sent else math.nan
        if math.isnan(loss) or math.isinf(loss):
            loss = 0.0
        output = {
            "packets_received": received, "packets_sent": sent, "packet_loss": go_float(loss), "ip_addr": ip,
            "rtts": times if sent else None,
            "min_rtt": min(times) if times else 0, "max_rtt": max(times) if times else 0,
            "avg_rtt": sum(times) // len(times) if times else 0, "std_dev_rtt": _stddev(times),
        }
        metadata = {k: v for k, v in asdict(config).items() if k == "hostname" or v != ""}  # Go's omitempty
        return Result(output=output, metadata=metadata)


def _default(text: str) -> int:
    if text in ("", "0"):
        return 1
    try:
        return int(text)
    except ValueError:
        return 0  # Go's strconv.Atoi error ignored: 0


def _stddev(times: list[int]) -> int:
    if not times:
        return 0
    mean = sum(times) / len(times)
    return int(math.sqrt(sum((t - mean) ** 2 for t in times) / len(times)))


def _open(family: int, logger: Any) -> tuple[socket.socket | None, bool]:
    """(socket, raw?): an unprivileged ICMP socket, else a raw one, else None."""
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    try:
        return socket.socket(family, socket.SOCK_DGRAM, proto), False
    except OSError as err:
        logger.warning("unprivileged ICMP socket refused (%s); net.ipv4.ping_group_range must include gid %d",
                       err, os.getgid())
    try:
        return socket.socket(family, socket.SOCK_RAW, proto), True
    except OSError as err:
        logger.warning("raw ICMP socket refused too (%s): no ping sent", err)
    return None, False


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _ping(family: int, ip: str, count: int, interval: float, logger: Any) -> tuple[int, int, list[int]]:
    sock, raw = _open(family, logger)
    if sock is None:
        return 0, 0, []
    v6 = family == socket.AF_INET6
    request_type, reply_type = (ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY) if v6 else (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY)
    ident = os.getpid() & 0xFFFF
    sent_at: dict[int, int] = {}
    rtts: list[int] = []
    sent = 0
    with contextlib.closing(sock):
        sock.setblocking(False)
        next_send = time.monotonic()
        deadline = math.inf
        while len(rtts) < count:
            now = time.monotonic()
            if sent < count and now >= next_send:
                payload = struct.pack("!d", time.time()) + b"utask-ping" * 4
                header = struct.pack("!BBHHH", request_type, 0, 0, ident, sent)
                checksum = 0 if v6 else _checksum(header + payload)
                packet = struct.pack("!BBHHH", request_type, 0, checksum, ident, sent) + payload
                try:
                    sock.sendto(packet, (ip, 0))
                    sent_at[sent] = time.monotonic_ns()
                except OSError as err:
                    logger.warning("ping: send failed: %s", err)
                sent += 1
                next_send = now + interval
                if sent >= count:
                    deadline = now + max(interval, REPLY_WAIT)
            wait = min(next_send if sent < count else deadline, deadline) - time.monotonic()
            if wait <= 0 and sent >= count:
                break
            ready, _, _ = select.select([sock], [], [], max(0.0, wait))
            if not ready:
                continue
            try:
                data, _addr = sock.recvfrom(2048)
            except OSError:
                continue
            received_ns = time.monotonic_ns()
            if raw and not v6:
                data = data[(data[0] & 0x0F) * 4:]  # strip the IPv4 header raw sockets deliver
            if len(data) < 8:
                continue
            kind, _code, _sum, rid, seq = struct.unpack("!BBHHH", data[:8])
            # Unprivileged sockets rewrite the identifier to their port: only raw ones can check it.
            if kind != reply_type or (raw and rid != ident) or seq not in sent_at:
                continue
            rtts.append(received_ns - sent_at.pop(seq))
    return sent, len(rtts), rtts


@hookimpl
def utask_action_plugins() -> list[ActionPlugin]:
    return [Ping()]
