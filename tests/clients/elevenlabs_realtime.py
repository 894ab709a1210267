"""Drive chorus's ElevenLabs WebSocket with the official `elevenlabs` SDK's `convert_realtime`,
unmodified but for its base URL.

The SDK always connects with wss, so this script makes a throwaway self-signed certificate for
127.0.0.1 (openssl), trusts it through SSL_CERT_FILE, and runs a TLS proxy on a free loopback
port that passes bytes to chorus's plain port.

Usage: python elevenlabs_realtime.py CHORUS_HOST:PORT API_KEY TEXT

Feeds TEXT a few words at a time (as an LLM would), collects the audio (pcm_24000) and prints
{"bytes": N, "chunks": M}.
"""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time


def certificate(folder):
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    return cert, key


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy(cert, key, upstream):
    """A TLS listener on a free loopback port; each connection piped to `upstream`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def accept():
        while True:
            client, _ = listener.accept()
            try:
                tls = context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError):
                client.close()
                continue
            host, port = upstream.rsplit(":", 1)
            plain = socket.create_connection((host, int(port)))
            threading.Thread(target=pipe, args=(tls, plain), daemon=True).start()
            threading.Thread(target=pipe, args=(plain, tls), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def main():
    upstream, api_key, text = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as folder:
        cert, key = certificate(folder)
        os.environ["SSL_CERT_FILE"] = cert
        port = proxy(cert, key, upstream)

        from elevenlabs.client import ElevenLabs

        client = ElevenLabs(base_url=f"https://127.0.0.1:{port}", api_key=api_key)

        def llm():
            words = text.split(" ")
            for i in range(0, len(words), 2):
                time.sleep(0.02)
                yield " ".join(words[i:i + 2]) + (" " if i + 2 < len(words) else "")

        chunks, total = 0, 0
        for audio in client.text_to_speech.convert_realtime("tone", text=llm(), output_format="pcm_24000"):
            chunks += 1
            total += len(audio)
        print(json.dumps({"bytes": total, "chunks": chunks}))


if __name__ == "__main__":
    main()
