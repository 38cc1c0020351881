#!/usr/bin/env python3
"""A minimal WebSocket client (RFC 6455) for the tests, as a browser would use vesseld's streams:
   ws_client.py (--unix SOCKET | --https HOST:PORT --cert C --key K --ca CA) PATH [--resize W H]
                [--send TEXT]...
Connects, checks the handshake's Sec-WebSocket-Accept, sends the resize and each TEXT as a binary
message, then prints the binary messages it gets to stdout until the server closes; a text
message {"type":"exit","code":N} makes N the exit status, {"type":"error"} prints it and exits 99.
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--unix")
parser.add_argument("--https")
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--ca")
parser.add_argument("--resize", nargs=2, type=int)
parser.add_argument("--send", action="append", default=[])
parser.add_argument("path")
args = parser.parse_args()

if args.unix:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(args.unix)
    host = "vessel"
else:
    host, port = args.https.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(args.ca)
    context.load_cert_chain(args.cert, args.key)
    sock = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
sock.settimeout(60)

key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET {args.path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\n"
              f"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
              f"Sec-WebSocket-Key: {key}\r\n\r\n").encode())
buffer = b""
while b"\r\n\r\n" not in buffer:
    chunk = sock.recv(4096)
    if not chunk:
        sys.exit(f"closed during the handshake: {buffer!r}")
    buffer += chunk
head, buffer = buffer.split(b"\r\n\r\n", 1)
lines = head.decode().split("\r\n")
if not lines[0].startswith("HTTP/1.1 101"):
    print(head.decode() + "\n" + buffer.decode(errors="replace"), file=sys.stderr)
    sys.exit(98)
expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                         .encode()).digest()).decode()
if f"Sec-WebSocket-Accept: {expected}" not in lines:
    sys.exit(f"wrong or missing Sec-WebSocket-Accept: {lines}")


def send(opcode, payload):
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def receive():
    global buffer
    while True:
        if len(buffer) >= 2:
            length, offset = buffer[1] & 0x7f, 2
            if length == 126 and len(buffer) >= 4:
                length, offset = struct.unpack(">H", buffer[2:4])[0], 4
            elif length == 127 and len(buffer) >= 10:
                length, offset = struct.unpack(">Q", buffer[2:10])[0], 10
            if length < 126 or offset > 2:
                if len(buffer) >= offset + length:
                    opcode, payload = buffer[0] & 0x0f, buffer[offset:offset + length]
                    buffer = buffer[offset + length:]
                    return opcode, payload
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk


if args.resize:
    send(1, json.dumps({"type": "resize", "width": args.resize[0],
                        "height": args.resize[1]}).encode())
for text in args.send:
    send(2, text.encode())
status = 0
while True:
    opcode, payload = receive()
    if opcode is None or opcode == 8:
        break
    if opcode == 2:
        sys.stdout.buffer.write(payload)
        sys.stdout.flush()
    elif opcode == 1:
        message = json.loads(payload)
        if message.get("type") == "exit":
            status = message.get("code", 128 + message.get("signal", 0))
        elif message.get("type") == "error":
            print(message.get("error"), file=sys.stderr)
            status = 99
    elif opcode == 9:
        send(10, payload)
sys.exit(status)
