"""A strict parser for the Prometheus text exposition format 0.0.4, enough to
hold certgate's /metrics to it: comments and # HELP / # TYPE lines, metric and
label names, label values with their three escapes, float values, families
kept together, no sample twice, and histograms whose buckets are cumulative
and end in le="+Inf" equal to _count.

    page = prom.parse(text)           # raises prom.ParseError on any violation
    page.value("certgate_requests_total")
    page.value("certgate_responses_total", {"listener": "mtls", "class": "2xx"})
"""

import math
import re

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class ParseError(AssertionError):
    pass


def _float(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        raise ParseError(f"{where}: {text!r} is not a sample value")
    return float(text)


def _labels(line, i, where):
    """Parse '{a="x",b="y"}' starting at line[i] == '{'; returns (dict, next index)."""
    assert line[i] == "{"
    i += 1
    labels = {}
    while True:
        if i < len(line) and line[i] == "}":
            return labels, i + 1
        m = LABEL_NAME.match(line, i)
        if m is None:
            raise ParseError(f"{where}: bad label name at column {i + 1}")
        name = m.group(0)
        i = m.end()
        if line[i : i + 2] != '="':
            raise ParseError(f"{where}: label {name} is not followed by =\"")
        i += 2
        value = []
        while True:
            if i >= len(line):
                raise ParseError(f"{where}: unterminated value of label {name}")
            ch = line[i]
            if ch == '"':
                i += 1
                break
            if ch == "\\":
                esc = line[i + 1 : i + 2]
                if esc not in _ESCAPES:
                    raise ParseError(f"{where}: invalid escape \\{esc} in label {name}")
                value.append(_ESCAPES[esc])
                i += 2
                continue
            value.append(ch)
            i += 1
        if name in labels:
            raise ParseError(f"{where}: label {name} given twice")
        labels[name] = "".join(value)
        if i < len(line) and line[i] == ",":
            i += 1
        elif i < len(line) and line[i] == "}":
            continue
        else:
            raise ParseError(f"{where}: expected ',' or '}}' after label {name}")


def _key(labels):
    return tuple(sorted(labels.items()))


class Page:
    """A parsed /metrics page."""

    def __init__(self):
        self.types = {}  # family -> type
        self.helps = {}
        self.samples = []  # (name, labels dict, value), in page order
        self._index = {}  # (name, label key) -> value

    # -- look-ups --

    def has(self, name, labels=None):
        return (name, _key(labels or {})) in self._index

    def value(self, name, labels=None):
        """The value of exactly this sample; fails when it is not on the page."""
        k = (name, _key(labels or {}))
        if k not in self._index:
            near = [f"{n}{l}" for n, l, _ in self.samples if n == name]
            raise AssertionError(f"no sample {name}{labels or {}} on /metrics; "
                                 f"samples of that name: {near}")
        return self._index[k]

    def get(self, name, labels=None, default=0.0):
        """The value, or <default> when the sample is absent (a labelled counter
        need not exist before its first increment)."""
        return self._index.get((name, _key(labels or {})), default)

    def select(self, name, **match):
        """[(labels, value)] of every sample named <name> whose labels include <match>."""
        return [(l, v) for n, l, v in self.samples
                if n == name and all(l.get(k) == x for k, x in match.items())]

    def histogram(self, family, labels=None):
        """(buckets [(le, count)], sum, count) of one histogram series."""
        labels = labels or {}
        buckets = sorted(
            (_float(l["le"], family), v)
            for l, v in self.select(family + "_bucket")
            if {k: x for k, x in l.items() if k != "le"} == labels
        )
        return (buckets, self.value(family + "_sum", labels), self.value(family + "_count", labels))


def _family_of(name, types):
    """The family a sample belongs to (histogram/summary suffixes stripped)."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if types.get(base) == "histogram" or (
                types.get(base) == "summary" and suffix != "_bucket"
            ):
                return base
    return name


def parse(text):
    if not text.endswith("\n"):
        raise ParseError("the page does not end with a newline")
    page = Page()
    closed = set()  # families whose group of lines has ended
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n} {line!r}"
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("TYPE", "HELP"):
                if len(parts) < 3 or not METRIC_NAME.fullmatch(parts[2]):
                    raise ParseError(f"{where}: bad metric name")
                fam = parts[2]
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise ParseError(f"{where}: bad type")
                    if fam in page.types:
                        raise ParseError(f"{where}: second TYPE line for {fam}")
                    if any(_family_of(s, {fam: parts[3]}) == fam for s, _, _ in page.samples):
                        raise ParseError(f"{where}: TYPE after samples of {fam}")
                    page.types[fam] = parts[3]
                else:
                    if fam in page.helps:
                        raise ParseError(f"{where}: second HELP line for {fam}")
                    page.helps[fam] = parts[3] if len(parts) > 3 else ""
                if fam != current:
                    if fam in closed:
                        raise ParseError(f"{where}: lines of {fam} are not together")
                    if current is not None:
                        closed.add(current)
                    current = fam
            continue  # any other comment is ignored
        m = METRIC_NAME.match(line)
        if m is None:
            raise ParseError(f"{where}: bad metric name")
        name, i = m.group(0), m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _labels(line, i, where)
        rest = line[i:]
        if not rest.startswith(" "):
            raise ParseError(f"{where}: no space before the value")
        fields = rest.split(" ")[1:]
        if len(fields) not in (1, 2) or "" in fields:
            raise ParseError(f"{where}: expected 'value [timestamp]'")
        value = _float(fields[0], where)
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise ParseError(f"{where}: bad timestamp")
        fam = _family_of(name, page.types)
        if fam != current:
            if fam in closed:
                raise ParseError(f"{where}: samples of {fam} are not together")
            if current is not None:
                closed.add(current)
            current = fam
        typ = page.types.get(fam, "untyped")
        if typ == "histogram" and name == fam:
            raise ParseError(f"{where}: histogram {fam} has a bare sample")
        if name.endswith("_bucket") and typ == "histogram" and "le" not in labels:
            raise ParseError(f"{where}: bucket without le")
        if typ == "counter" and not value >= 0:
            raise ParseError(f"{where}: counter {name} is {value}")
        k = (name, _key(labels))
        if k in page._index:
            raise ParseError(f"{where}: sample given twice")
        page._index[k] = value
        page.samples.append((name, labels, value))
    for fam, typ in page.types.items():
        if typ == "histogram":
            _check_histogram(page, fam)
    return page


def _check_histogram(page, fam):
    series = {}
    for labels, v in page.select(fam + "_bucket"):
        rest = {k: x for k, x in labels.items() if k != "le"}
        series.setdefault(_key(rest), []).append((_float(labels["le"], fam), v))
    for _, labels, _ in [s for s in page.samples if s[0] == fam + "_count"]:
        series.setdefault(_key(labels), [])
    for key, buckets in series.items():
        labels = dict(key)
        where = f"histogram {fam}{labels}"
        les = [le for le, _ in buckets]
        if any(b <= a for a, b in zip(les, les[1:])):
            raise ParseError(f"{where}: buckets are not in increasing le order: {les}")
        if not buckets or buckets[-1][0] != math.inf:
            raise ParseError(f"{where}: no le=\"+Inf\" bucket")
        counts = [c for _, c in buckets]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise ParseError(f"{where}: bucket counts are not cumulative: {buckets}")
        if not page.has(fam + "_count", labels) or not page.has(fam + "_sum", labels):
            raise ParseError(f"{where}: _count or _sum missing")
        if page.value(fam + "_count", labels) != counts[-1]:
            raise ParseError(f"{where}: +Inf bucket {counts[-1]} != _count "
                             f"{page.value(fam + '_count', labels)}")
        if page.value(fam + "_sum", labels) < 0:
            raise ParseError(f"{where}: negative _sum")
