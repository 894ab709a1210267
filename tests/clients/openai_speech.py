"""Drive `chorus serve` with the official `openai` Python package, as a user's app would.

Usage: python openai_speech.py BASE_URL API_KEY OUT_DIR TEXT VOICE

Writes OUT_DIR/<format>.full (non-streaming) and OUT_DIR/<format>.stream (streaming) for every
response_format, and prints one JSON object describing what the client saw: the models listed,
chunk counts, and the errors the SDK raised for a bad voice, a bad speed and a bad key. The Rust
test decodes the files with ffmpeg and checks everything.
"""

import json
import os
import sys

import openai

FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]


def error_info(call):
    try:
        call()
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        return {"class": type(e).__name__, "status": e.status_code, "param": body.get("param"), "code": body.get("code"), "type": body.get("type")}
    return None


def main():
    base_url, api_key, out_dir, text, voice = sys.argv[1:6]
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120)
    report = {"version": openai.__version__, "models": [m.id for m in client.models.list()], "chunks": {}}

    for fmt in FORMATS:
        full = client.audio.speech.create(model="tts-1", voice=voice, input=text, response_format=fmt)
        full.write_to_file(os.path.join(out_dir, f"{fmt}.full"))

        chunks = 0
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice=voice, input=text, response_format=fmt, speed=1.0,
            instructions="Speak clearly.",
        ) as response:
            with open(os.path.join(out_dir, f"{fmt}.stream"), "wb") as f:
                for chunk in response.iter_bytes():
                    chunks += 1
                    f.write(chunk)
        report["chunks"][fmt] = chunks

    # A chorus extension through extra_body: 16 kHz pcm.
    pcm16 = client.audio.speech.create(model="tts-1", voice=voice, input=text, response_format="pcm", extra_body={"sample_rate": 16000})
    pcm16.write_to_file(os.path.join(out_dir, "pcm16k.full"))

    report["bad_voice"] = error_info(lambda: client.audio.speech.create(model="tts-1", voice="no-such-voice", input=text))
    report["bad_speed"] = error_info(lambda: client.audio.speech.create(model="tts-1", voice=voice, input=text, speed=9.0))
    report["bad_model"] = error_info(lambda: client.audio.speech.create(model="no-such-model", voice=voice, input=text))
    wrong = openai.OpenAI(base_url=base_url, api_key="wrong-key", max_retries=0)
    report["bad_key"] = error_info(lambda: wrong.audio.speech.create(model="tts-1", voice=voice, input=text))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
