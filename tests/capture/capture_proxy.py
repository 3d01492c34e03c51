#!/usr/bin/python3
"""Records the Kafka requests real clients send, by standing between them and a broker.

    capture_proxy.py --listen 19092 --upstream 127.0.0.1:9092 --out DIR [--label NAME] [--apis 18,3,0,1]
                     [--max-version API:V ...]

Every request frame a client sends (without its 4-byte size prefix) is written to
DIR/<label>-<api name>-v<version>-<n>.bin, for the API keys in --apis, and forwarded unchanged; the
broker's responses are forwarded back unchanged. Start the broker with advertised.listeners naming
the proxy's port, so that clients come back through the proxy after Metadata. The recorded files are the
byte-exact vectors tests/codec_vectors_test.cc decodes; tests/capture/capture_vectors.sh drives
kafka-python and librdkafka through this proxy to capture them again.

--max-version API:V lowers the highest version the broker's ApiVersions response advertises for API
key API to V, so that a client which always sends the newest version it shares with the broker can
be made to send each older one too.
"""
import argparse
import os
import socket
import struct
import threading

API_NAMES = {0: "produce", 1: "fetch", 3: "metadata", 18: "api_versions", 20: "delete_topics"}
API_VERSIONS = 18


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


class Recorder:
    def __init__(self, out_dir, label, apis):
        self.out_dir, self.label, self.apis = out_dir, label, apis
        self.lock = threading.Lock()
        self.counts = {}

    def record(self, frame):
        api_key, version = struct.unpack(">hh", frame[:4])
        if api_key not in self.apis:
            return
        with self.lock:
            key = (api_key, version)
            n = self.counts.get(key, 0)
            self.counts[key] = n + 1
        name = f"{self.label}-{API_NAMES.get(api_key, api_key)}-v{version}-{n}.bin"
        with open(os.path.join(self.out_dir, name), "wb") as f:
            f.write(frame)


def recv_frame(sock):
    """One size-prefixed frame without its size, or None when the peer has closed."""
    size_bytes = recv_exact(sock, 4)
    if size_bytes is None:
        return None
    return recv_exact(sock, struct.unpack(">i", size_bytes)[0])


def pipe_requests(client, upstream, recorder, inflight):
    try:
        while True:
            frame = recv_frame(client)
            if frame is None:
                break
            recorder.record(frame)
            api_key, version, correlation_id = struct.unpack(">hhi", frame[:8])
            inflight.append((api_key, version, correlation_id))
            upstream.sendall(struct.pack(">i", len(frame)) + frame)
    except OSError:
        pass
    finally:
        upstream.close()


def read_uvarint(buf, pos):
    value, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def cap_api_versions(body, version, caps):
    """The ApiVersions response body with each capped API's max version lowered (the response
    header is always v0: just the correlation id, already stripped)."""
    body = bytearray(body)
    pos = 2  # error code
    if version >= 3:
        count, pos = read_uvarint(body, pos)
        count -= 1
    else:
        (count,) = struct.unpack_from(">i", body, pos)
        pos += 4
    for _ in range(max(count, 0)):
        api_key, _min, max_version = struct.unpack_from(">hhh", body, pos)
        if api_key in caps and max_version > caps[api_key]:
            struct.pack_into(">h", body, pos + 4, caps[api_key])
        pos += 6
        if version >= 3:
            tags, pos = read_uvarint(body, pos)
            for _ in range(tags):
                _tag, pos = read_uvarint(body, pos)
                size, pos = read_uvarint(body, pos)
                pos += size
    return bytes(body)


def pipe_responses(upstream, client, inflight, caps):
    try:
        while True:
            frame = recv_frame(upstream)
            if frame is None:
                break
            (correlation_id,) = struct.unpack(">i", frame[:4])
            request = next((r for r in inflight if r[2] == correlation_id), None)
            if request is not None:
                inflight.remove(request)
                if request[0] == API_VERSIONS and caps:
                    frame = frame[:4] + cap_api_versions(frame[4:], request[1], caps)
            client.sendall(struct.pack(">i", len(frame)) + frame)
    except OSError:
        pass
    finally:
        client.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--label", default="client")
    ap.add_argument("--apis", default="18,3,0,1")
    ap.add_argument("--max-version", action="append", default=[], metavar="API:V")
    args = ap.parse_args()
    caps = {int(a): int(v) for a, v in (c.split(":") for c in args.max_version)}
    host, port = args.upstream.rsplit(":", 1)
    os.makedirs(args.out, exist_ok=True)
    recorder = Recorder(args.out, args.label, {int(a) for a in args.apis.split(",")})
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", args.listen))
    server.listen(64)
    while True:
        client, _ = server.accept()
        upstream = socket.create_connection((host, int(port)))
        inflight = []
        threading.Thread(target=pipe_requests, args=(client, upstream, recorder, inflight), daemon=True).start()
        threading.Thread(target=pipe_responses, args=(upstream, client, inflight, caps), daemon=True).start()


if __name__ == "__main__":
    main()
