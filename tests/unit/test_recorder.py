"""FeedRecorder: frames written unmodified with their receive time, hourly files per connection,
REST books round-trip exactly, write failures are counted and never raise into the caller."""

from __future__ import annotations

import gzip
import json
import os
from decimal import Decimal as D

import pytest

from pmbot.config import parse_config
from pmbot.errors import ConfigError
from pmbot.venue.recorder import FeedRecorder, decode_line, encode_line, record_file_name
from pmbot.venue.wire_market import parse_rest_book

HOUR_MS = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def read_lines(path: str) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as fh:
        return [dict(zip("tsckf", decode_line(line), strict=True)) for line in fh]


def test_frames_are_written_unmodified_per_connection_and_hour(tmp_path):
    times = iter([T0 + 5, T0 + 6, T0 + HOUR_MS + 1])
    rec = FeedRecorder(str(tmp_path), clock_ms=lambda: next(times))
    rec.start()
    odd = '[{"event_type": "book", "x": "é\\u0000"}]'
    rec.frame("ws-market-0", odd)
    rec.frame("ws-market-1", "")
    rec.frame("ws-market-0", '{"event_type":"price_change"}')
    rec.close()
    names = sorted(os.listdir(tmp_path))
    assert names == sorted(
        [
            record_file_name("ws-market-0", T0),
            record_file_name("ws-market-0", T0 + HOUR_MS),
            record_file_name("ws-market-1", T0),
        ]
    )
    first = read_lines(str(tmp_path / record_file_name("ws-market-0", T0)))
    assert first == [{"t": T0 + 5, "s": 0, "c": "ws-market-0", "k": "ws", "f": odd}]
    with gzip.open(tmp_path / record_file_name("ws-market-0", T0), "rt", newline="\n") as fh:
        assert fh.read().endswith("\t" + odd + "\n")  # the frame itself, not re-encoded
    assert rec.written == 3 and rec.errors["write"] == 0


def test_rest_books_round_trip_exactly(tmp_path):
    raw = {
        "market": "0xc",
        "asset_id": "123",
        "bids": [{"price": "0.48", "size": "10.5"}, {"price": ".47", "size": "3"}],
        "asks": [{"price": "0.52", "size": "7"}],
        "tick_size": "0.01",
        "hash": "h",
        "timestamp": "1767225600000",
    }
    ev = parse_rest_book(raw)
    rec = FeedRecorder(str(tmp_path), clock_ms=lambda: T0)
    rec.start()
    rec.rest_book(ev)
    rec.close()
    (line,) = read_lines(str(tmp_path / record_file_name("rest", T0)))
    assert line["k"] == "rest" and parse_rest_book(json.loads(line["f"])) == ev
    assert ev.bids[1][0] == D("0.47")


def test_unwritable_dir_is_counted_not_raised(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rec = FeedRecorder(str(blocker / "sub"), clock_ms=lambda: T0)
    rec.start()
    for _ in range(3):
        rec.frame("ws-market-0", "{}")
    rec.close()
    assert rec.errors["open"] == 3 and rec.written == 0


def test_full_queue_drops_and_counts(tmp_path):
    rec = FeedRecorder(str(tmp_path), max_queue=2, clock_ms=lambda: T0)  # writer not started
    for _ in range(5):
        rec.frame("ws-market-0", "{}")
    assert rec.errors["queue_full"] == 3


def test_config_record_dir_off_by_default_and_validated(tmp_path):
    base = {"wallet": {"private_key_env": "K"}}
    assert parse_config(base).feed.record_dir == ""
    ok = parse_config({**base, "feed": {"record_dir": str(tmp_path / "rec")}})
    assert ok.feed.record_dir.endswith("rec")
    not_dir = tmp_path / "f"
    not_dir.write_text("")
    with pytest.raises(ConfigError, match="record_dir"):
        parse_config({**base, "feed": {"record_dir": str(not_dir)}})


@pytest.mark.parametrize("text", ["", "{}", 'a\tb"\\', "line\nbreak", "cr\r\nlf", "é\u2028"])
def test_line_codec_round_trips_any_frame_text(text):
    line = encode_line(T0, 3, "market-1", "ws", text)
    assert line.endswith("\n") and line.count("\n") == 1
    assert decode_line(line) == (T0, 3, "market-1", "ws", text)


class _FullDisk:
    def write(self, _text):
        raise OSError(28, "No space left on device")

    def flush(self):
        pass

    def close(self):
        pass


def test_full_disk_is_counted_and_backs_off_without_raising(tmp_path, monkeypatch):
    import pmbot.venue.recorder as recorder_mod

    opened = []

    def fake_open(path, *args, **kwargs):
        opened.append(path)
        return _FullDisk()

    monkeypatch.setattr(recorder_mod.gzip, "open", fake_open)
    rec = FeedRecorder(str(tmp_path), clock_ms=lambda: T0)
    rec.start()
    for _ in range(5):
        rec.frame("market-1", "{}")  # never raises into the feed's thread
    rec.close()
    assert rec.errors["write"] == 1 and rec.errors["open"] == 4  # backing off after the failure
    assert len(opened) == 1 and rec.written == 0
