#!/usr/bin/python3
"""Character error rate and exact lines of OCR results against tests/TestData/ocr/truth.json, upright and upside down apart.

    score.py <results.json> [--verbose]

<results.json> is either our writeMeta array ([{input, lines: [{text}]}]) or peer.mjs's {results: [...]}. Lines are
compared in order (the truth's reading order); CER = Levenshtein distance of the lines joined by newlines / truth length.
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def lev(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def main():
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    items = data["results"] if isinstance(data, dict) else data
    truth = {t["file"]: t for t in json.load(open(os.path.join(ROOT, "tests", "TestData", "ocr", "truth.json"), encoding="utf-8"))}
    stats = {False: [0, 0, 0, 0], True: [0, 0, 0, 0]}
    for item in items:
        t = truth[os.path.basename(item["input"])]
        got = [line["text"] for line in item.get("lines") or []]
        expected = t["lines"]
        s = stats[t["upsideDown"]]
        s[0] += len(expected)
        s[1] += sum(1 for k, e in enumerate(expected) if k < len(got) and got[k] == e)
        s[2] += lev("\n".join(got), "\n".join(expected))
        s[3] += len("\n".join(expected))
        if "--verbose" in sys.argv and got != expected:
            print(f"  {os.path.basename(item['input'])}: {got} != {expected}")
    total = [sum(v) for v in zip(*stats.values())]
    for name, s in (("upright", stats[False]), ("upside down", stats[True]), ("all", total)):
        print(f"{name:12s} exact lines {s[1]:3d}/{s[0]:<3d}  CER {100 * s[2] / max(1, s[3]):5.2f}%")


if __name__ == "__main__":
    main()
