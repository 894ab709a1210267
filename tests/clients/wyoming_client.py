"""Drive chorus's Wyoming server with the `wyoming` Python package, as Home Assistant does.

Usage: python wyoming_client.py PORT COMMAND [ARGS...]

  describe                     the info event's tts programs and voices
  synthesize VOICE TEXT OUT    a plain synthesize; OUT gets the raw PCM
  stream VOICE OUT PIECE...    synthesize-start, the first PIECE, then (only once the first audio
                               has arrived, else after 60 s) the other pieces, the duplicate
                               synthesize older servers want, and synthesize-stop
  ha VOICE OUT PIECE...        Home Assistant's streaming read: one connection, the WAV header
                               from the first audio-start, audio until synthesize-stopped; OUT
                               gets the WAV file
  bad                          bad events on one connection, each answered with an error event,
                               then a describe on the same connection, then a synthesize
                               without text, after whose error the server closes

Prints one JSON object with what the client saw; the Rust test (tests/wyoming.rs) checks it.
"""

import asyncio
import json
import sys
import wave

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

TIMEOUT = 60


async def read(client):
    event = await asyncio.wait_for(client.read_event(), TIMEOUT)
    if event is None:
        raise SystemExit("the server closed the connection")
    return event


def summary(event):
    if AudioChunk.is_type(event.type):
        chunk = AudioChunk.from_event(event)
        return {"type": event.type, "rate": chunk.rate, "width": chunk.width, "channels": chunk.channels, "bytes": len(chunk.audio)}
    return {"type": event.type, "data": event.data}


def voice_of(name):
    return SynthesizeVoice(name=name) if name else None


async def describe(client):
    await client.write_event(Describe().event())
    info = Info.from_event(await read(client))
    return {
        "tts": [
            {
                "name": p.name,
                "installed": p.installed,
                "streaming": p.supports_synthesize_streaming,
                "voices": [{"name": v.name, "languages": v.languages, "description": v.description, "installed": v.installed} for v in p.voices],
            }
            for p in info.tts
        ]
    }


async def synthesize(client, voice, text, out):
    await client.write_event(Synthesize(text=text, voice=voice_of(voice)).event())
    events, pcm = [], bytearray()
    while True:
        event = await read(client)
        events.append(summary(event))
        if AudioChunk.is_type(event.type):
            pcm += AudioChunk.from_event(event).audio
        if AudioStop.is_type(event.type) or Error.is_type(event.type):
            break
    with open(out, "wb") as f:
        f.write(pcm)
    return {"events": events, "bytes": len(pcm)}


async def stream(client, voice, out, pieces):
    await client.write_event(SynthesizeStart(voice=voice_of(voice)).event())
    await client.write_event(SynthesizeChunk(text=pieces[0]).event())
    events, pcm, before_stop = [], bytearray(), None
    # Wait for audio of the first sentence while the rest of the text is still unsent.
    try:
        while True:
            event = await asyncio.wait_for(client.read_event(), TIMEOUT)
            events.append(summary(event))
            if AudioChunk.is_type(event.type):
                pcm += AudioChunk.from_event(event).audio
                before_stop = True
                break
            if Error.is_type(event.type):
                break
    except asyncio.TimeoutError:
        before_stop = False
    for piece in pieces[1:]:
        await client.write_event(SynthesizeChunk(text=piece).event())
    await client.write_event(Synthesize(text="".join(pieces), voice=voice_of(voice)).event())
    await client.write_event(SynthesizeStop().event())
    events.append({"type": "(client sent synthesize-stop)"})
    while True:
        event = await read(client)
        events.append(summary(event))
        if AudioChunk.is_type(event.type):
            pcm += AudioChunk.from_event(event).audio
        if SynthesizeStopped.is_type(event.type):
            break
    with open(out, "wb") as f:
        f.write(pcm)
    return {"first_audio_before_stop": before_stop, "events": events, "bytes": len(pcm)}


async def home_assistant(client, voice, out, pieces):
    await client.write_event(SynthesizeStart(voice=voice_of(voice)).event())
    for piece in pieces:
        await client.write_event(SynthesizeChunk(text=piece).event())
    await client.write_event(SynthesizeStop().event())
    wav, errors = None, []
    while True:
        event = await read(client)
        if AudioStart.is_type(event.type) and wav is None:
            start = AudioStart.from_event(event)
            wav = wave.open(out, "wb")
            wav.setframerate(start.rate)
            wav.setsampwidth(start.width)
            wav.setnchannels(start.channels)
        elif AudioChunk.is_type(event.type):
            wav.writeframes(AudioChunk.from_event(event).audio)
        elif Error.is_type(event.type):
            errors.append(event.data)
        elif SynthesizeStopped.is_type(event.type):
            break
    if wav is not None:
        wav.close()
    return {"wav": wav is not None, "errors": errors}


async def bad(client):
    answers = []

    async def expect_error():
        event = await read(client)
        answers.append(summary(event))

    client._writer.write(b"this is not json\n")
    await client._writer.drain()
    await expect_error()
    await client.write_event(Event(type="synthesize-chunk", data={"text": "no stream"}))
    await expect_error()
    await client.write_event(Event(type="synthesize-stop"))
    await expect_error()
    await client.write_event(Event(type="select-program", data={"name": "no-such-program"}))
    await expect_error()
    await client.write_event(Event(type="some-event-from-the-future", data={"x": 1}))
    then = await describe(client)
    # An error answering a plain synthesize ends the connection, as wyoming-piper does.
    await client.write_event(Event(type="synthesize", data={"voice": {"name": "x"}}))
    await expect_error()
    closed = await asyncio.wait_for(client.read_event(), TIMEOUT) is None
    return {"errors": answers, "then": then, "closed_after_synthesize_error": closed}


async def main():
    port, command, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    async with AsyncTcpClient("127.0.0.1", port) as client:
        if command == "describe":
            result = await describe(client)
        elif command == "synthesize":
            result = await synthesize(client, args[0], args[1], args[2])
        elif command == "stream":
            result = await stream(client, args[0], args[1], args[2:])
        elif command == "ha":
            result = await home_assistant(client, args[0], args[1], args[2:])
        elif command == "bad":
            result = await bad(client)
        else:
            raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
