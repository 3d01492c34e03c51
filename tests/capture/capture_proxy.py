#!/usr/bin/python3
"""Records the Kafka requests real clients send, by standing between them and a broker.

    capture_proxy.py --listen 19092 --upstream 127.0.0.1:9092 --out DIR [--label NAME] [--apis 18,3,0,1]

Every request frame a client sends (without its 4-byte size prefix) is written to
DIR/<label>-<api name>-v<version>-<n>.bin, for the API keys in --apis, and forwarded unchanged; the
broker's responses are forwarded back unchanged. Start the broker with advertised.listeners naming
the proxy's port, so that clients come back through the proxy after Metadata. The recorded files are the
byte-exact vectors tests/codec_vectors_test.cc decodes; tests/capture/capture_vectors.sh drives
kafka-python and librdkafka through this proxy to capture them again.
"""
import argparse
import os
import socket
import struct
import threading

API_NAMES = {0: "produce", 1: "fetch", 3: "metadata", 18: "api_versions"}


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


def pipe_requests(client, upstream, recorder, inflight):
    try:
        while True:
            size_bytes = recv_exact(client, 4)
            if size_bytes is None:
                break
            (size,) = struct.unpack(">i", size_bytes)
            frame = recv_exact(client, size)
            if frame is None:
                break
            recorder.record(frame)
            api_key, version, correlation_id = struct.unpack(">hhi", frame[:8])
            inflight.append((api_key, version, correlation_id))
            upstream.sendall(size_bytes + frame)
    except OSError:
        pass
    finally:
        upstream.close()


def pipe_responses(upstream, client):
    try:
        while True:
            data = upstream.recv(65536)
            if not data:
                break
            client.sendall(data)
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
    args = ap.parse_args()
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
        threading.Thread(target=pipe_responses, args=(upstream, client), daemon=True).start()


if __name__ == "__main__":
    main()
