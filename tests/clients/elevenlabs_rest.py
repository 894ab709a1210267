"""Drive `chorus serve` with the official `elevenlabs` Python SDK's REST calls, unmodified but
for its base URL, as a user's app would.

Usage: python elevenlabs_rest.py BASE_URL API_KEY TEXT

Prints one JSON object describing what the client saw: byte counts of convert and stream (pcm at
16 kHz), the text the timestamped calls' alignments spell, the voices and models listed, and the
status of the error the SDK raised for an unknown voice. The Rust test checks everything.
"""

import base64
import json
import sys

from elevenlabs.client import ElevenLabs
from elevenlabs.core.api_error import ApiError


def main():
    base_url, api_key, text = sys.argv[1:4]
    client = ElevenLabs(base_url=base_url, api_key=api_key, timeout=120)
    report = {}

    audio = b"".join(client.text_to_speech.convert("tone", text=text, model_id="eleven_flash_v2_5", output_format="pcm_16000"))
    report["convert_bytes"] = len(audio)
    audio = b"".join(client.text_to_speech.stream("tone", text=text, output_format="pcm_16000"))
    report["stream_bytes"] = len(audio)

    timed = client.text_to_speech.convert_with_timestamps("tone", text=text, output_format="pcm_16000")
    report["timestamps_text"] = "".join(timed.alignment.characters)
    report["timestamps_bytes"] = len(base64.b64decode(timed.audio_base_64))

    chars, chunks = [], 0
    for chunk in client.text_to_speech.stream_with_timestamps("tone", text=text, output_format="pcm_16000"):
        chunks += 1
        if chunk.alignment is not None:
            chars.extend(chunk.alignment.characters)
    report["stream_timestamps_text"] = "".join(chars)
    report["stream_timestamps_chunks"] = chunks

    report["voices"] = [v.voice_id for v in client.voices.get_all().voices]
    report["models"] = [m.model_id for m in client.models.list()]

    try:
        b"".join(client.text_to_speech.convert("nobody", text=text))
        report["bad_voice_status"] = None
    except ApiError as e:
        report["bad_voice_status"] = e.status_code

    print(json.dumps(report))


if __name__ == "__main__":
    main()
