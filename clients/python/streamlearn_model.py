#!/usr/bin/env python3
"""StreamLearn model versions in Python, with the standard library only.

Loads a version as the model store holds it (manifest.json, featurizer.json, model.safetensors),
from a directory or from a model store server (every file checked against the manifest's sha256),
and scores raw events with exactly the features training computed: the same cleaning rules, the
featurizer's learned state (imputation values, caps, scaling, vocabularies, hashing, dates,
crosses, PCA components) and the network. Java serving does the same with
dev.streamlearn.core.serve.ModelScorer; the two agree to float32 precision
(ModelScorerInPythonTest checks every rule, and the three kinds of task, against it).

    from streamlearn_model import Model
    model = Model.load("models/credit-g/6")          # or Model.download("http://host:8080/", "credit-g", "latest")
    model.score({"duration": 6, "purpose": "radio/tv", ...})    # [probability of classes[1]]
    model.predict({"duration": 6, ...})                          # "good"

A pipeline of segments (`segments: {by: F}`) scores each event with its segment's model:

    from streamlearn_model import Segments
    segments = Segments.load("models", "shops", candidate="best")   # or Segments.download(server, "shops")
    model, scores = segments.score_with_model({"region": "north", ...})

From the command line, like `streamlearn score`:

    python3 streamlearn_model.py --model models/credit-g/6 --input rows.csv --output scored.csv
    python3 streamlearn_model.py --model http://host:8080/api/v1/models/credit-g/versions/latest \
        --input events.jsonl --output scored.jsonl --timestamp-field time
    python3 streamlearn_model.py --segments models/shops --candidate best --input rows.csv --output scored.csv
    python3 streamlearn_model.py --list http://host:8080/                           # models; .../api/v1/models/<model>: its versions
    python3 streamlearn_model.py --model models/credit-g/6 --input rows.csv --output scored.csv --label class
        # ... and "Against the labels in class: accuracy 0.703, AUC 0.757, ..." as streamlearn score --label

A model trained on the producers' own Avro records (a version with input-schema.avsc) reads each
feature's dotted field path, from a flat mapping of paths or from nested mappings; each value is
first converted to its field's type as the producer's record would hold it (text to numbers,
booleans from yes/no, enums, decimals, dates and timestamps), as Java serving does.
"""

import argparse
import calendar
import csv
import datetime
import decimal
import hashlib
import json
import math
import os
import re
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request

FEATURIZER_FORMAT = 2
MAX_STRING_LENGTH = 1024
CROSS_SEPARATOR = "\u001f"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
FILES = ("manifest.json", "featurizer.json", "model.safetensors", "input-schema.avsc")


class Refused(ValueError):
    """An event that training would have refused (dead-lettered), with the reason."""


# --- Java's ways with numbers and text, which the features depend on ---------------------------


_JAVA_WHITESPACE = "".join(chr(c) for c in range(33))


def _java_trim(text):
    """String.trim(): strips characters up to U+0020 from both ends."""
    return text.strip(_JAVA_WHITESPACE)


def java_double(value):
    """Double.toString(value), as Java writes a double."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    digits_tuple = decimal.Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digits_tuple.digits))
    exponent = digits_tuple.exponent + len(digits) - 1  # value = d.ddd x 10^exponent
    if 1e-3 <= abs(value) < 1e7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            fraction = digits[exponent + 1 :] or "0"
        else:
            whole = "0"
            fraction = "0" * (-exponent - 1) + digits
        return sign + whole + "." + fraction
    return sign + digits[0] + "." + (digits[1:] or "0") + "E" + str(exponent)


_JAVA_DECIMAL = re.compile(r"[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?")
_JAVA_HEX = re.compile(r"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?")


def _parse_java_double(text):
    """Double.parseDouble (after trimming); None when Java would not read it as a number."""
    if _JAVA_DECIMAL.fullmatch(text):
        body = text[:-1] if text[-1] in "fFdD" and not text.endswith("Infinity") else text
        return float(body.replace("Infinity", "inf"))
    if _JAVA_HEX.fullmatch(text):
        body = text[:-1] if text[-1] in "fFdD" else text
        return float.fromhex(body)
    return None


def _float32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _short(value):
    """A float32 value in the fewest digits that read back as it (as Java writes a float)."""
    for digits in range(1, 10):
        text = "%.*g" % (digits, value)
        if _float32(float(text)) == value:
            return text
    return repr(value)


def murmur3_x86_32(data, seed):
    """MurmurHash3 x86 32-bit of bytes, as a signed 32-bit integer."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed & mask
    blocks = len(data) // 4
    for i in range(blocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[4 * blocks :]
    k = 0
    if len(tail) == 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * c2) & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h - (1 << 32) if h >= 1 << 31 else h


def bucket_of(value, buckets, seed):
    return murmur3_x86_32(value.encode("utf-8"), seed) % buckets


# --- reading an event's raw values by the training rules (RawFeatures, ExampleExtractor) -------


def numeric_value(name, value, non_finite_is_missing):
    if value is None:
        return math.nan
    if isinstance(value, bool):
        number = 1.0 if value else 0.0
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _java_trim(str(value))
        if not text:
            return math.nan
        number = _parse_java_double(text)
        if number is None:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise Refused("feature %s = '%s' is not a number" % (name, shown))
    if not math.isfinite(number):
        if non_finite_is_missing:
            return math.nan
        raise Refused("feature %s is %s" % (name, java_double(number)))
    return number


def categorical_value(name, value):
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Refused("feature %s is %s" % (name, java_double(value)))
        return _format_number(value)
    else:
        text = str(value)
    if len(text) > MAX_STRING_LENGTH:
        raise Refused(
            "feature %s is %d characters long; at most %d are allowed"
            % (name, len(text), MAX_STRING_LENGTH)
        )
    return text


def _zone(name):
    if name in ("Z", "UTC", "GMT", "UT"):
        return datetime.timezone.utc
    offset = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?", name)
    if offset:
        minutes = int(offset.group(2)) * 60 + int(offset.group(3) or 0)
        return datetime.timezone(datetime.timedelta(minutes=-minutes if offset.group(1) == "-" else minutes))
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _millis(moment):
    return (moment - EPOCH) // datetime.timedelta(milliseconds=1)


def epoch_millis(feature, field, value, zone):
    """A time as epoch milliseconds: a number as it is, text as ISO-8601; NaN when missing."""
    what = "the event time" if feature is None else "feature " + feature
    if value is None:
        return math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        millis = float(value)
        if not math.isfinite(millis) or abs(millis) > 1e16:
            raise Refused("%s: field %s = %s is not a time" % (what, field, java_double(millis)))
        return float(math.floor(millis))
    text = _java_trim(str(value))
    if not text:
        return math.nan
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            return float(_millis(datetime.datetime(day.year, day.month, day.day, tzinfo=zone)))
        if "T" not in text:
            raise ValueError(text)
        if text.endswith("Z"):
            moment = datetime.datetime.fromisoformat(text[:-1] + "+00:00")
        elif re.search(r"[+-]\d{2}:\d{2}$", text):
            moment = datetime.datetime.fromisoformat(text)
        else:
            moment = datetime.datetime.fromisoformat(text).replace(tzinfo=zone)
        return float(_millis(moment))
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise Refused(
            "%s: field %s = '%s' is not a time (epoch milliseconds or ISO-8601)" % (what, field, shown)
        ) from None


def _field(fields, path):
    """A field by name, or by dotted path through nested mappings."""
    if path in fields:
        return fields[path]
    node = fields
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


# --- the producers' own record schema (RecordEncoder.recordToRead, then RecordField.read) ----------

MISSING_TEXT = {"", "?", "NA", "N/A", "NaN", "nan", "null"}
_BIG_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
MILLIS_PER_DAY = 86_400_000


def _java_text(value):
    """value.toString() of the Java object a JSON or CSV value becomes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    return str(value)


def _format_number(value):
    """A double as text the way the training rules write one: integral values without ".0"."""
    return str(int(value)) if value == math.floor(value) and abs(value) < 1e15 else java_double(value)


def _is_missing(value):
    return value is None or (isinstance(value, str) and _java_trim(value) in MISSING_TEXT)


def _is_number(value, text):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or _parse_java_double(text) is not None


def _whole_number(value, text):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == math.floor(value) and abs(value) < 1e15:
            return int(value)
    if not _BIG_DECIMAL.fullmatch(text):
        raise ValueError("For input string: \"%s\"" % text)
    number = decimal.Decimal(text)
    if number != number.to_integral_value() or not -(2**63) <= number < 2**63:
        raise ValueError("Rounding necessary" if number != number.to_integral_value() else "Overflow")
    return int(number)


def _double(value, text):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    number = _parse_java_double(text)
    if number is None:
        raise ValueError("For input string: \"%s\"" % text)
    return number


def _instant(text, logical):
    """An ISO-8601 time with a zone or offset, in the unit of the timestamp type, read back as
    epoch milliseconds (RecordField floors micros and nanos to milliseconds)."""
    moment = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    if moment.tzinfo is None:
        raise ValueError("Text '%s' could not be parsed" % text)
    return _millis(moment)


def _schema_text(schema):
    return json.dumps(schema, separators=(",", ":"))


class _RecordSchema:
    """The producers' record schema: named types resolved, and each leaf converted as Java does."""

    def __init__(self, schema):
        self.named = {}
        self.root = self._resolve(schema, None)

    def _resolve(self, schema, namespace):
        if isinstance(schema, str):
            if schema in self.named:
                return self.named[schema]
            full = "%s.%s" % (namespace, schema) if namespace and "." not in schema else schema
            return self.named.get(full, schema)
        if isinstance(schema, list):
            return [self._resolve(branch, namespace) for branch in schema]
        kind = schema.get("type")
        if kind in ("record", "enum", "fixed"):
            space = schema.get("namespace", namespace)
            name = schema["name"]
            full = name if "." in name or not space else space + "." + name
            resolved = dict(schema)
            self.named[full] = resolved
            self.named.setdefault(name, resolved)
            if kind == "record":
                resolved["fields"] = [
                    dict(field, type=self._resolve(field["type"], space)) for field in schema["fields"]
                ]
            return resolved
        if isinstance(kind, (dict, list)) or kind in self.named:
            return self._resolve(kind, namespace)
        return schema

    def read(self, fields):
        """Every leaf's value as the record would hold it, by dotted path (None when missing)."""
        values = {}
        self._record(self.root, "", fields, values)
        return values

    def _record(self, record, prefix, fields, values):
        for field in record["fields"]:
            path = prefix + field["name"]
            nested = _nested_record(field["type"])
            if nested is not None and _has_values_under(fields, path):
                self._record(nested, path + ".", fields, values)
                continue
            value = _field(fields, path)
            if nested is None and not _is_missing(value) and not isinstance(value, dict):
                try:
                    values[path] = self._convert(value, field["type"], path)
                except ValueError as problem:
                    raise Refused(str(problem)) from None

    def _convert(self, value, schema, path):
        if isinstance(schema, list):
            problems = []
            for branch in schema:
                if _kind(branch) != "null":
                    try:
                        return self._convert(value, branch, path)
                    except ValueError as problem:
                        problems.append(str(problem))
            raise ValueError("; ".join(problems))
        text = _java_trim(_java_text(value))
        kind = _kind(schema)
        logical = schema.get("logicalType") if isinstance(schema, dict) else None
        try:
            if kind == "int":
                if logical == "date" and not _is_number(value, text):
                    return (datetime.date.fromisoformat(text) - datetime.date(1970, 1, 1)).days * MILLIS_PER_DAY
                number = _whole_number(value, text)
                if not -(2**31) <= number < 2**31:
                    raise ValueError("integer overflow")
                return number * MILLIS_PER_DAY if logical == "date" else number
            if kind == "long":
                if _is_number(value, text):
                    number = _whole_number(value, text)
                    if logical in ("timestamp-micros", "local-timestamp-micros"):
                        return number // 1000
                    if logical in ("timestamp-nanos", "local-timestamp-nanos"):
                        return number // 1_000_000
                    return number
                return _instant(text, logical)
            if kind == "float":
                return _float32(_double(value, text))
            if kind == "double":
                return _double(value, text)
            if kind == "boolean":
                if isinstance(value, bool):
                    return value
                lowered = text.lower()
                if lowered in ("true", "1", "1.0", "yes"):
                    return True
                if lowered in ("false", "0", "0.0", "no"):
                    return False
                raise ValueError("not a boolean (true, false, 1, 0, yes, no)")
            if kind == "string":
                return _format_number(value) if isinstance(value, float) else text
            if kind == "enum":
                symbol = _format_number(value) if isinstance(value, float) else text
                if symbol not in schema["symbols"]:
                    raise ValueError("not one of [%s]" % ", ".join(schema["symbols"]))
                return symbol
            if kind in ("bytes", "fixed"):
                if logical != "decimal":
                    raise ValueError("only decimals are written from text")
                if not _BIG_DECIMAL.fullmatch(text):
                    raise ValueError("Character array is missing \"exponent\" mark 'e' or 'E'.")
                amount = decimal.Decimal(text).quantize(
                    decimal.Decimal(1).scaleb(-schema.get("scale", 0)), rounding=decimal.ROUND_HALF_EVEN
                )
                return float(amount)
            raise ValueError("a %s is not written from a single value" % kind)
        except (ValueError, ArithmeticError, decimal.InvalidOperation) as problem:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise ValueError(
                "field %s = '%s' does not fit its type %s: %s" % (path, shown, _schema_text(schema), problem)
            ) from None


def _kind(schema):
    return schema if isinstance(schema, str) else schema.get("type")


def _nested_record(schema):
    for branch in schema if isinstance(schema, list) else [schema]:
        if isinstance(branch, dict) and branch.get("type") == "record":
            return branch
    return None


def _has_values_under(fields, path):
    prefix = path + "."
    if any(key.startswith(prefix) and not _is_missing(value) for key, value in fields.items()):
        return True
    node = _field(fields, path)
    return isinstance(node, dict) and any(not _is_missing(v) for v in node.values())


# --- the model ------------------------------------------------------------------------------------


def _number(node):
    """featurizer.json writes infinities and NaN as strings."""
    if node is None:
        return math.nan
    return float(node)


class _Feature:
    def __init__(self, node, index):
        rules = node["rules"]
        self.index = index
        self.name = rules["name"]
        self.type = rules["type"]
        self.rules = rules
        self.offset = node["offset"]
        self.width = node["width"]
        self.state = node.get("state", {})
        self.missing = rules.get("missing", "none")
        self.indicator = bool(rules.get("missing-indicator", False))
        if self.type == "numeric":
            self.non_finite_is_missing = rules.get("non-finite", "refuse") == "missing"
            self.range = [float(bound) for bound in rules.get("range", [-math.inf, math.inf])]
            state = self.state
            self.fill, self.low, self.high, self.center, self.divisor = (
                _number(state.get(key)) for key in ("fill", "low", "high", "center", "divisor")
            )
        if self.type == "datetime":
            self.zone = _zone(rules.get("time-zone", "UTC"))
            self.yearly = set()
            self.days = set()
            for day in rules.get("holidays", []):
                if len(day) == 5:
                    self.yearly.add((int(day[:2]), int(day[3:])))
                else:
                    self.days.add(datetime.date.fromisoformat(day))
        if self.type == "categorical":
            self.one_hot = rules.get("encoding", "one-hot") == "one-hot"
            self.entries = rules["vocabulary-size"] if self.one_hot else rules["hash-buckets"]
            self.vocabulary = {value: i for i, value in enumerate(self.state.get("vocabulary", []))}



class Model:
    """One model version: its manifest, featurizer and network, ready to score raw events."""

    def __init__(self, files, where):
        self.where = where
        self.manifest = json.loads(files["manifest.json"])
        featurizer = json.loads(files["featurizer.json"])
        if featurizer.get("formatVersion") != FEATURIZER_FORMAT:
            raise ValueError(
                "%s/featurizer.json has formatVersion %s; this module reads %d"
                % (where, featurizer.get("formatVersion"), FEATURIZER_FORMAT)
            )
        self.dimension = featurizer["dimension"]
        self.seed = featurizer["seed"]
        self.features = [_Feature(node, i) for i, node in enumerate(featurizer["features"])]
        offsets = {feature.name: feature.offset for feature in self.features}
        for feature in self.features:
            if feature.type == "pca":
                # Where each input's entry is in the vector: PCA projects the inputs' scaled entries.
                feature.input_offsets = [offsets[field] for field in feature.rules["fields"]]
        target = featurizer.get("target")
        self._target = (target["mean"], target["std"]) if target else (0.0, 1.0)
        self.input_schema = json.loads(files["input-schema.avsc"]) if "input-schema.avsc" in files else None
        self._record = _RecordSchema(self.input_schema) if self.input_schema is not None else None
        self._layers, metadata = _read_safetensors(files["model.safetensors"])
        if not self._layers or len(self._layers[0][0]) != self.dimension:
            raise ValueError(
                "%s/model.safetensors does not take featurizer.json's %d inputs" % (where, self.dimension)
            )
        self.activation = metadata.get("activation", "relu")
        self.loss = metadata.get("loss", "bce")

    @property
    def name(self):
        return self.manifest["name"]

    @property
    def version(self):
        return self.manifest["version"]

    @property
    def task(self):
        return self.manifest["task"]

    @property
    def classes(self):
        return self.manifest.get("classes") or []

    @property
    def feature_names(self):
        return self.manifest.get("featureNames") or []

    @classmethod
    def load(cls, directory):
        """A version directory, as the store writes it or as downloaded."""
        files = {}
        for name in FILES:
            path = os.path.join(directory, name)
            if os.path.exists(path):
                with open(path, "rb") as file:
                    files[name] = file.read()
        for name in FILES[:3]:
            if name not in files:
                raise FileNotFoundError(os.path.join(directory, name))
        return cls(files, directory)

    @classmethod
    def download(cls, server, model, version="latest", directory=None):
        """A version from a model store server (`streamlearn models serve`), by number or alias,
        every file checked against the manifest's sha256; kept in `directory` when given."""
        base = server.rstrip("/") + "/api/v1/models/" + urllib.parse.quote(model, safe="")
        with urllib.request.urlopen(base + "/versions/" + urllib.parse.quote(str(version), safe="")) as reply:
            manifest_bytes = reply.read()
        manifest = json.loads(manifest_bytes)
        files = {"manifest.json": manifest_bytes}
        for name, entry in sorted((manifest.get("files") or {}).items()):
            url = "%s/versions/%d/files/%s" % (base, manifest["version"], urllib.parse.quote(name, safe=""))
            with urllib.request.urlopen(url) as reply:
                data = reply.read()
            digest = hashlib.sha256(data).hexdigest()
            if digest != entry["sha256"] or len(data) != entry["size"]:
                raise ValueError(
                    "%s: %s has sha256 %s (%d bytes), its manifest says %s (%d bytes)"
                    % (url, name, digest, len(data), entry["sha256"], entry["size"])
                )
            files[name] = data
        if directory:
            os.makedirs(directory, exist_ok=True)
            for name, data in files.items():
                with open(os.path.join(directory, name), "wb") as file:
                    file.write(data)
        return cls(files, "%s/%s/%d" % (server.rstrip("/"), model, manifest["version"]))

    # -- scoring --

    def vector(self, fields, timestamp=None):
        """The input vector training computed for an event: `fields` by name, `timestamp` its time
        (epoch milliseconds, or a datetime) for datetime features that read the event's time."""
        return self._vector(self._read(fields, timestamp))

    def reads_like(self, other):
        """True when `other` reads events exactly as this model does (the same feature rules and
        input schema): one reading of an event then serves both."""
        return [f.rules for f in self.features] == [f.rules for f in other.features] and (
            self.input_schema == other.input_schema
        )

    def _vector(self, raw):
        """The input vector for an event's cleaned values (see _read)."""
        out = [0.0] * self.dimension
        for feature in self.features:
            missing = self._write(feature, raw, out)
            if missing and feature.indicator:
                out[feature.offset + feature.width - 1] = 1.0
        return out

    def score(self, fields, timestamp=None):
        """The probability of classes[1] (binary), one probability per class (multiclass), or the
        value (regression), as a list. Raises Refused where training would have refused the event."""
        return self.outputs(self.vector(fields, timestamp))

    def outputs(self, x):
        """What score() gives for an input vector (see vector())."""
        for layer, (weight, bias) in enumerate(self._layers):
            outputs = len(bias)
            z = list(bias)
            for i, value in enumerate(x):
                if value != 0.0:
                    row = weight[i]
                    for j in range(outputs):
                        z[j] += value * row[j]
            z = [_float32(v) for v in z]
            if layer < len(self._layers) - 1:
                x = [_float32(_activate(self.activation, v)) for v in z]
            else:
                x = z
        if self.loss == "bce":
            result = [_sigmoid(x[0])]
        elif self.loss == "ce":
            top = max(x)
            exps = [math.exp(v - top) for v in x]
            total = sum(exps)
            result = [v / total for v in exps]
        else:
            result = list(x)
        if self.task == "regression":
            mean, std = self._target
            result[0] = result[0] * std + mean
        return [_float32(v) for v in result]

    def predict(self, fields, timestamp=None):
        """The most probable class (classification) or the value (regression)."""
        return self.prediction(self.score(fields, timestamp))

    def prediction(self, scores):
        """What score()'s output predicts: the most probable class, or the value."""
        if self.task == "regression":
            return scores[0]
        if len(scores) == 1:
            return self.classes[1 if scores[0] >= 0.5 else 0]
        return self.classes[max(range(len(scores)), key=scores.__getitem__)]

    def _read(self, fields, timestamp):
        """Every feature's cleaned raw value for an event, its fields first converted to the input
        schema's types where the version has one."""
        if timestamp is None:
            timestamp = _millis(datetime.datetime.now(datetime.timezone.utc))
        elif isinstance(timestamp, datetime.datetime):
            timestamp = _millis(timestamp)
        fields = fields or {}
        if self._record is not None:
            fields = self._record.read(fields)
        return self._clean(fields, float(timestamp))

    def _clean(self, fields, timestamp):
        """Every feature's cleaned raw value (RawFeatures.fill): a float, a string, or None."""
        raw = {}
        for feature in self.features:
            if feature.type == "pca":
                continue
            name = feature.name
            if feature.type == "numeric":
                value = numeric_value(name, _field(fields, name), feature.non_finite_is_missing)
                low, high = feature.range
                if value < low or value > high:
                    raise Refused(
                        "feature %s = %s is outside its range [%s, %s]"
                        % (name, java_double(value), java_double(low), java_double(high))
                    )
                missing = math.isnan(value)
            elif feature.type == "datetime":
                if "field" in feature.rules:
                    field = feature.rules["field"]
                    value = epoch_millis(name, field, _field(fields, field), feature.zone)
                else:
                    value = timestamp
                missing = math.isnan(value)
            elif feature.type == "categorical":
                value = categorical_value(name, _field(fields, name))
                missing = value is None
            else:
                parts = []
                for field in feature.rules["fields"]:
                    part = categorical_value(field, _field(fields, field))
                    if part is None:
                        break
                    parts.append(part)
                missing = len(parts) < len(feature.rules["fields"])
                value = None if missing else CROSS_SEPARATOR.join(parts)
            if missing and feature.missing == "drop":
                raise Refused("feature %s is missing and its missing policy is drop" % name)
            raw[name] = value
        return raw

    def _write(self, feature, raw, out):
        """Writes one feature's entries (Featurizer.transform); True when its value was missing."""
        o = feature.offset
        state = feature.state
        if feature.type == "numeric":
            value = raw[feature.name]
            missing = math.isnan(value)
            if missing:
                value = feature.fill
            elif value < feature.low:
                value = feature.low
            elif value > feature.high:
                value = feature.high
            out[o] = _float32((value - feature.center) / feature.divisor)
            return missing
        if feature.type == "categorical":
            value = raw[feature.name]
            missing = value is None
            if missing:
                if feature.missing == "most-frequent":
                    value = state.get("mostFrequent")
                elif feature.missing == "constant":
                    value = feature.rules["fill"]
            if value is not None:
                if feature.one_hot:
                    out[o + feature.vocabulary.get(value, feature.entries)] = 1.0
                else:
                    out[o + bucket_of(value, feature.entries, self.seed)] = 1.0
            return missing
        if feature.type == "datetime":
            millis = raw[feature.name]
            if math.isnan(millis):
                return True
            self._write_date(feature, int(millis), out, o)
            return False
        if feature.type == "pca":
            inputs = feature.input_offsets
            d = len(inputs)
            mean = state["mean"]
            components = state["components"]
            for c in range(feature.rules["components"]):
                v = components[c * d : (c + 1) * d]
                norm = math.sqrt(sum(e * e for e in v))
                if norm < 1e-12:
                    continue
                total = sum((out[inputs[i]] - mean[i]) * v[i] for i in range(d))
                out[o + c] = _float32(total / norm)
            return False
        value = raw[feature.name]
        if value is None:
            return True
        out[o + bucket_of(value, feature.rules["hash-buckets"], self.seed)] = 1.0
        return False

    @staticmethod
    def _write_date(feature, millis, out, at):
        time = (EPOCH + datetime.timedelta(milliseconds=millis)).astimezone(feature.zone)
        cyclic = feature.rules.get("cyclic", True)
        for part in feature.rules["parts"]:
            if part == "weekend":
                out[at] = 1.0 if time.weekday() >= 5 else 0.0
                at += 1
            elif part == "holiday":
                day = time.date()
                out[at] = 1.0 if day in feature.days or (day.month, day.day) in feature.yearly else 0.0
                at += 1
            else:
                if part == "hour":
                    value, period = time.hour + time.minute / 60.0, 24
                elif part == "day-of-week":
                    value, period = time.weekday(), 7
                elif part == "day-of-month":
                    value, period = time.day - 1, calendar.monthrange(time.year, time.month)[1]
                else:
                    value, period = time.month - 1, 12
                if cyclic:
                    angle = 2 * math.pi * value / period
                    out[at] = _float32(math.sin(angle))
                    out[at + 1] = _float32(math.cos(angle))
                    at += 2
                else:
                    out[at] = _float32(value / period)
                    at += 1


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _activate(name, z):
    if name == "tanh":
        return math.tanh(z)
    if name == "sigmoid":
        return _sigmoid(z)
    return z if z > 0 else 0.0


def _read_safetensors(data):
    """The layers (weight rows [in][out], bias [out]) and metadata of a model.safetensors."""
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + length])
    metadata = header.pop("__metadata__", {}) or {}
    base = 8 + length

    def tensor(name):
        entry = header[name]
        if entry["dtype"] != "F32":
            raise ValueError("tensor %s is %s; StreamLearn writes F32" % (name, entry["dtype"]))
        start, end = entry["data_offsets"]
        values = struct.unpack("<%df" % ((end - start) // 4), data[base + start : base + end])
        return entry["shape"], values

    layers = []
    while "layers.%d.weight" % len(layers) in header:
        l = len(layers)
        (rows, cols), weight = tensor("layers.%d.weight" % l)
        _, bias = tensor("layers.%d.bias" % l)
        layers.append(([weight[r * cols : (r + 1) * cols] for r in range(rows)], list(bias)))
    return layers, metadata


# --- command line ---------------------------------------------------------------------------------


def _segment_key(manifest):
    segment = manifest.get("segment")
    return None if segment is None else (segment["feature"], segment.get("value"), bool(segment.get("others")))


def rank_candidates(manifests):
    """The newest versions' manifests of one segment's hyper-parameter candidates (or of a
    pipeline's, without segments), best first, as the store's CandidateRanking ranks them: those
    validated on the newest window first, by the held-out metric they are compared by (NaN last),
    then those on older windows, newest first; ties by model name."""
    if not manifests:
        raise ValueError("no candidate models to rank")
    metric = None
    newest_end = None
    for manifest in manifests:
        candidate = manifest.get("candidate")
        if candidate is None:
            raise ValueError("model %s is not a hyper-parameter candidate" % manifest["name"])
        if _segment_key(manifest) != _segment_key(manifests[0]):
            raise ValueError(
                "candidates of different segments: rank each segment's candidates on their own (%s)" % manifest["name"]
            )
        if metric is not None and candidate["metric"] != metric:
            raise ValueError("candidates compared by different metrics: %s and %s" % (metric, candidate["metric"]))
        metric = candidate["metric"]
        window = manifest.get("validationWindow")
        if window is not None:
            newest_end = window["end"] if newest_end is None else max(newest_end, window["end"])
    if metric in BIGGER_IS_BETTER:
        bigger = True
    elif metric in SMALLER_IS_BETTER:
        bigger = False
    else:
        raise ValueError("unknown metric '%s'" % metric)

    def place(manifest):
        window = manifest.get("validationWindow")
        end = window["end"] if window is not None else None
        value = ((manifest.get("metrics") or {}).get("window") or {}).get(metric)
        value = float("nan") if value is None else float(value)
        nan = math.isnan(value)
        return (
            not (end is not None and end == newest_end),
            -end if end is not None else math.inf,
            nan,
            0.0 if nan else (-value if bigger else value),
            manifest["name"],
        )

    return sorted(manifests, key=place)


BIGGER_IS_BETTER = {"accuracy", "auc", "prAuc", "precision", "recall", "f1", "macroF1", "weightedF1", "r2"}
SMALLER_IS_BETTER = {"logLoss", "mse", "rmse", "mae"}


class Segments:
    """The segment models of a pipeline (`segments: {by: F}`), a version of each: each event is
    scored by the model of its segment, as `streamlearn score --segments` and Java's
    SegmentedScorer do. The segment feature's value, read by the training rules, picks the model
    whose manifest names it, else the `others` segment's model; an event of no model's segment is
    refused.

        segments = Segments.load("models", "shops")          # or Segments.download("http://host:8080/", "shops")
        model, scores = segments.score_with_model({"region": "north", ...})
    """

    def __init__(self, models):
        if not models:
            raise ValueError("no segment models to score with")
        first = models[0]
        if first.manifest.get("segment") is None:
            raise ValueError("%s is not a segment's model" % first.name)
        self.feature = first.manifest["segment"]["feature"]
        self.by_segment = {}
        self.others = None
        for model in models:
            segment = model.manifest.get("segment")
            if (
                segment is None
                or segment["feature"] != self.feature
                or model.task != first.task
                or model.manifest.get("classes") != first.manifest.get("classes")
            ):
                raise ValueError(
                    "%s is not a segment by %s of a %s task with the classes of %s"
                    % (model.name, self.feature, first.task, first.name)
                )
            others = bool(segment.get("others"))
            before = self.others if others else self.by_segment.get(segment.get("value"))
            if before is not None:
                raise ValueError(
                    "%s and %s are both models of segment %s%s"
                    % (
                        before.name,
                        model.name,
                        segment.get("value"),
                        ": choose one hyper-parameter candidate per segment" if model.manifest.get("candidate") else "",
                    )
                )
            if others:
                self.others = model
            else:
                self.by_segment[segment["value"]] = model
        self.reader = self.others if self.others is not None else self.by_segment[min(self.by_segment)]
        if not any(f.name == self.feature and f.type == "categorical" for f in self.reader.features):
            raise ValueError("%s has no categorical feature %s" % (self.reader.name, self.feature))
        # The models whose vectors are made from the reader's reading of an event, not a second one.
        self._read_like_reader = {model.name for model in models if model.reads_like(self.reader)}

    @property
    def models(self):
        """Every segment's model, the others segment's last."""
        return [self.by_segment[k] for k in sorted(self.by_segment)] + ([self.others] if self.others else [])

    @classmethod
    def load(cls, store, pipeline, version="latest", candidate=None):
        """The models `<pipeline>.<segment>` in a store directory, each at `version` (a number or an
        alias); where the segments have hyper-parameter candidates, the one `candidate` names in
        each segment, or each segment's best (`candidate="best"`)."""
        if not os.path.isdir(store):
            raise ValueError("no store directory %s" % store)
        models = []
        for name in sorted(os.listdir(store)):
            if name.startswith(pipeline + ".") and os.path.isdir(os.path.join(store, name)):
                models.append(Model.load(os.path.join(store, name, str(_local_version(store, name, version)))))
        return cls._of(models, pipeline, store, candidate)

    @classmethod
    def download(cls, server, pipeline, version="latest", candidate=None):
        """The same from a model store server, every file checked against its manifest's sha256."""
        with urllib.request.urlopen(server.rstrip("/") + "/api/v1/models") as reply:
            names = sorted(entry["name"] for entry in json.loads(reply.read())["models"])
        models = [Model.download(server, name, version) for name in names if name.startswith(pipeline + ".")]
        return cls._of(models, pipeline, server, candidate)

    @classmethod
    def _of(cls, models, pipeline, where, candidate):
        models = [model for model in models if model.manifest.get("segment") is not None]
        if not models:
            raise ValueError("no segment models %s.<segment> in %s" % (pipeline, where))
        names = sorted({m.manifest["candidate"]["name"] for m in models if m.manifest.get("candidate")})
        if not names:
            if candidate is not None:
                raise ValueError(
                    "candidate %s: the segment models of %s are not hyper-parameter candidates" % (candidate, pipeline)
                )
            return cls(models)
        if candidate is None:
            raise ValueError(
                "each segment of %s has hyper-parameter candidates [%s]; choose one, or best"
                % (pipeline, ", ".join(names))
            )
        if candidate != "best" and candidate not in names:
            raise ValueError("candidate %s: no such candidate; the candidates are [%s]" % (candidate, ", ".join(names)))
        groups = {}
        for model in models:
            groups.setdefault(_segment_key(model.manifest), []).append(model)
        chosen = []
        for key, group in groups.items():
            by_name = {model.name: model for model in group}
            ranked = [by_name[m["name"]] for m in rank_candidates([model.manifest for model in group])]
            pick = ranked[:1] if candidate == "best" else [m for m in ranked if m.manifest["candidate"]["name"] == candidate]
            if not pick:
                raise ValueError("candidate %s: segment %s has no such candidate model" % (candidate, key[1]))
            chosen.append(pick[0])
        return cls(chosen)

    def model_for(self, fields, timestamp=None):
        """The model of an event's segment. Raises Refused where training would refuse the event,
        or where no model is its segment's."""
        return self._route(fields, timestamp)[0]

    def vector_with_model(self, fields, timestamp=None):
        """The event's segment's model, and the input vector it scores (see Model.vector): the
        event is read once, to route it and to score it, unless that model reads differently."""
        model, raw = self._route(fields, timestamp)
        if model.name in self._read_like_reader:
            return model, model._vector(raw)
        return model, model.vector(fields, timestamp)

    def _route(self, fields, timestamp):
        """The model of an event's segment, and the reader's cleaned values of the event."""
        raw = self.reader._read(fields, timestamp)
        value = raw[self.feature]
        blank = value is None or value.strip(_JAVA_WHITESPACE) == ""
        model = None if blank else self.by_segment.get(value)
        if model is None:
            model = self.others
        if model is None:
            raise Refused(
                "no model for %s%s: the models are for [%s]"
                % (self.feature, " missing" if blank else " = '%s'" % value, ", ".join(sorted(self.by_segment)))
            )
        return model, raw

    def score_with_model(self, fields, timestamp=None):
        """The event's segment's model, and its score (see Model.score)."""
        model, vector = self.vector_with_model(fields, timestamp)
        return model, model.outputs(vector)

    def score(self, fields, timestamp=None):
        return self.score_with_model(fields, timestamp)[1]

    def predict(self, fields, timestamp=None):
        model, scores = self.score_with_model(fields, timestamp)
        return model.prediction(scores)


def _local_version(store, model, version):
    """A version number, or the number an alias points at in a store directory."""
    version = str(version)
    if version.isdigit():
        return int(version)
    try:
        with open(os.path.join(store, model, "aliases", version), encoding="utf-8") as file:
            return int(file.read().strip())
    except FileNotFoundError:
        raise FileNotFoundError("model %s has no alias '%s'" % (model, version)) from None


def _open_segments(where, version, candidate):
    url = re.fullmatch(r"(https?://[^/]+/)api/v1/models/([^/]+)/?", where)
    if url:
        return Segments.download(url.group(1), urllib.parse.unquote(url.group(2)), version, candidate)
    if where.startswith(("http://", "https://")):
        raise SystemExit("--segments %s is not http://host:port/api/v1/models/<pipeline>" % where)
    store, pipeline = os.path.split(where.rstrip("/"))
    return Segments.load(store or ".", pipeline, version, candidate)


def _open_model(where):
    url = re.fullmatch(r"(https?://[^/]+/)api/v1/models/([^/]+)/versions/([^/]+)/?", where)
    if url:
        return Model.download(url.group(1), urllib.parse.unquote(url.group(2)), url.group(3))
    if where.startswith(("http://", "https://")):
        raise SystemExit(
            "--model %s is not a version URL: http://host:port/api/v1/models/<model>/versions/<version or alias>"
            % where
        )
    if not os.path.isfile(os.path.join(where, "manifest.json")):
        raise SystemExit("--model %s is not a version directory (no manifest.json)" % where)
    return Model.load(where)


# --- Measuring a version on a file's labels (--label), as streamlearn score --label does ---------


def _java_fixed(value, decimals):
    """Java's %.Nf: the double's shortest decimal form, rounded half up."""
    exact = decimal.Decimal(repr(float(value)))
    return format(exact.quantize(decimal.Decimal(1).scaleb(-decimals), decimal.ROUND_HALF_UP), "f")


def _java_general(value, precision=4):
    """Java's %.Ng: N significant digits, rounded half up; decimal from 1e-4 up to 10^N, else
    scientific (1.235e+04), trailing zeros kept."""
    x = float(value)
    if x == 0:
        return "0." + "0" * (precision - 1)
    exact = decimal.Decimal(repr(abs(x)))
    rounded = exact.quantize(
        decimal.Decimal(1).scaleb(exact.adjusted() - precision + 1), decimal.ROUND_HALF_UP)
    exponent = rounded.adjusted()
    sign = "-" if x < 0 else ""
    if decimal.Decimal("1e-4") <= rounded < decimal.Decimal(10) ** precision:
        return sign + format(rounded.quantize(decimal.Decimal(1).scaleb(exponent - precision + 1)), "f")
    mantissa = rounded.scaleb(-exponent).quantize(decimal.Decimal(1).scaleb(1 - precision))
    return "%s%se%s%02d" % (sign, format(mantissa, "f"), "-" if exponent < 0 else "+", abs(exponent))


def metrics_text(metrics, counted):
    """Held-out metrics in words, as StreamLearn's command line prints them (MetricsText)."""
    count = "{:,}".format(int(round(metrics["count"])))
    if "rmse" in metrics:
        return "RMSE %s, MAE %s, R\u00b2 %s on %s %s" % (
            _java_general(metrics["rmse"]), _java_general(metrics["mae"]),
            _java_fixed(metrics["r2"], 3) if "r2" in metrics else "n/a", count, counted)
    if "macroF1" in metrics:
        return "accuracy %s, macro F1 %s, log loss %s on %s %s (majority class %s)" % (
            _java_fixed(metrics["accuracy"], 3), _java_fixed(metrics["macroF1"], 3),
            _java_fixed(metrics["logLoss"], 3), count, counted, _java_fixed(metrics["majorityRate"], 3))
    return "accuracy %s, AUC %s, log loss %s on %s %s (majority class %s)" % (
        _java_fixed(metrics["accuracy"], 3),
        _java_fixed(metrics["auc"], 3) if "auc" in metrics else "n/a",
        _java_fixed(metrics["logLoss"], 3), count, counted, _java_fixed(metrics["majorityRate"], 3))


def _same_number(a, b):
    try:
        return float(a) == float(b)
    except ValueError:
        return False


class LabeledRows:
    """The scores of the rows that carry their label, to measure the version on them with the
    metrics validation reports. A label that is none of the model's classes (or not a number, for a
    regressor) judges nothing and is counted."""

    def __init__(self, classes, regression):
        self.classes = list(classes)
        self.regression = regression
        self.scores = []
        self.labels = []
        self.unlabeled = 0
        self.unknown = 0
        self.first_unknown = None

    def add(self, scores, label):
        text = None if label is None else _java_trim(str(label))
        if not text:
            self.unlabeled += 1
            return
        value = self._value(text)
        if value is None:
            self.unknown += 1
            if self.first_unknown is None:
                self.first_unknown = text
            return
        self.scores.append(scores)
        self.labels.append(value)

    def _value(self, text):
        if self.regression:
            number = _parse_java_double(text)
            return None if number is None else _float32(number)
        if text in self.classes:
            return self.classes.index(text)
        for index, name in enumerate(self.classes):
            if _same_number(name, text):
                return index
        return None

    def metrics(self):
        count = len(self.labels)
        metrics = {"count": float(count)}
        if count == 0:
            return metrics
        if self.regression:
            mean = sum(self.labels) / count
            squared = absolute = total = 0.0
            for scores, label in zip(self.scores, self.labels):
                residual = scores[0] - label
                squared += residual * residual
                absolute += abs(residual)
                total += (label - mean) * (label - mean)
            metrics.update(mse=squared / count, rmse=math.sqrt(squared / count), mae=absolute / count)
            if total > 0:
                metrics["r2"] = 1 - squared / total
            return metrics
        if len(self.classes) == 2:
            return self._binary(metrics, count)
        return self._multiclass(metrics, count)

    def _binary(self, metrics, count):
        right = positives = 0
        log_loss = 0.0
        for scores, label in zip(self.scores, self.labels):
            p = min(1 - 1e-7, max(1e-7, scores[0]))
            positive = label == 1
            positives += positive
            right += (scores[0] >= 0.5) == positive
            log_loss -= math.log(p) if positive else math.log(1 - p)
        metrics.update(accuracy=right / count, logLoss=log_loss / count)
        negatives = count - positives
        if positives and negatives:
            # Ranks with ties sharing their average rank, as BinaryMetrics.rocAuc.
            order = sorted(range(count), key=lambda r: self.scores[r][0])
            rank_sum = 0.0
            i = 0
            while i < count:
                j = i
                while j + 1 < count and self.scores[order[j + 1]][0] == self.scores[order[i]][0]:
                    j += 1
                average = (i + j) / 2.0 + 1
                rank_sum += average * sum(1 for k in range(i, j + 1) if self.labels[order[k]] == 1)
                i = j + 1
            metrics["auc"] = (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)
        metrics["majorityRate"] = max(positives, negatives) / count
        return metrics

    def _multiclass(self, metrics, count):
        classes = len(self.classes)
        predicted, actual, hits = [0] * classes, [0] * classes, [0] * classes
        right = 0
        log_loss = 0.0
        for scores, truth in zip(self.scores, self.labels):
            best = 0
            for j in range(1, classes):
                if scores[j] > scores[best]:
                    best = j
            predicted[best] += 1
            actual[truth] += 1
            if best == truth:
                right += 1
                hits[truth] += 1
            log_loss -= math.log(max(1e-7, scores[truth]))
        f1_sum, present = 0.0, 0
        for j in range(classes):
            if actual[j] + predicted[j]:
                present += 1
                f1_sum += 2.0 * hits[j] / (actual[j] + predicted[j])
        metrics.update(accuracy=right / count, logLoss=log_loss / count,
                       macroF1=f1_sum / present if present else 0.0, majorityRate=max(actual) / count)
        return metrics

    def describe(self, column, refused):
        """Against the labels in <column>: <metrics> on N rows; rows left out: ..."""
        line = "Against the labels in %s: %s" % (
            column, metrics_text(self.metrics(), "rows") if self.labels else "no scored row has one")
        left_out = []
        if refused:
            left_out.append("{:,} refused".format(refused))
        if self.unlabeled:
            left_out.append("{:,} without a label".format(self.unlabeled))
        if self.unknown:
            left_out.append("{:,} whose label is {} (the first: '{}')".format(
                self.unknown,
                "not a number" if self.regression
                else "none of the model's classes [%s]" % ", ".join(self.classes),
                self.first_unknown))
        if left_out:
            line += "; rows left out: " + ", ".join(left_out)
        return line


def _rows(path):
    """Rows of a CSV file (text, blank cells missing) or of a JSON-lines file (typed values)."""
    stream = sys.stdin if path == "-" else open(path, newline="", encoding="utf-8")
    with stream:
        if path.endswith((".jsonl", ".ndjson")):
            for line in stream:
                if line.strip():
                    yield json.loads(line)
        else:
            for row in csv.DictReader(stream):
                yield {k: (None if v is None or not v.strip() else v) for k, v in row.items()}


def list_models(server):
    """Every model on a model store server: dicts of name, versions (how many), latest, aliases."""
    with urllib.request.urlopen(server.rstrip("/") + "/api/v1/models") as reply:
        return json.load(reply)["models"]


def list_versions(server, model):
    """Every version of a model on a model store server, oldest first: dicts of version, created
    and metrics (the held-out window's under "window"), read a page of 1,000 at a time."""
    base = server.rstrip("/") + "/api/v1/models/" + urllib.parse.quote(model, safe="")
    versions = []
    while True:
        with urllib.request.urlopen("%s/versions?offset=%d&limit=1000" % (base, len(versions))) as reply:
            page = json.load(reply)
        versions.extend(page["versions"])
        if not page["versions"] or len(versions) >= page.get("total", 0):
            return versions


_LISTED_METRICS = ("accuracy", "auc", "logLoss", "macroF1", "mse", "mae", "r2")


def _window_text(metrics):
    window = (metrics or {}).get("window") or {}
    shown = ["%s %.4f" % (name, window[name]) for name in _LISTED_METRICS if name in window]
    if "count" in window:
        shown.append("on {:,} events".format(int(window["count"])))
    return "  ".join(shown)


def _print_list(target):
    """`--list`: a server's models, or (a URL ending in /api/v1/models/<model>) one model's versions
    with their held-out window's metrics, as `streamlearn models list` prints them."""
    marker = "/api/v1/models/"
    if marker in target:
        server, model = target.split(marker, 1)
        model = urllib.parse.unquote(model.strip("/"))
        versions = list_versions(server, model)
        aliases = {}
        for entry in list_models(server):
            if entry["name"] == model:
                for alias, version in (entry.get("aliases") or {}).items():
                    aliases.setdefault(version, []).append(alias)
        print("version  created                         aliases           held-out window")
        for entry in versions:
            print("%7d  %-30s  %-16s  %s" % (
                entry["version"], entry.get("created", ""),
                ", ".join(sorted(aliases.get(entry["version"], []))), _window_text(entry.get("metrics"))))
        return
    models = list_models(target)
    if not models:
        print("no models at %s" % target)
        return
    print("model  versions  newest  aliases")
    for entry in models:
        aliases = ", ".join("%s -> %s" % item for item in sorted((entry.get("aliases") or {}).items()))
        latest = entry.get("latest")
        print("%s  %d  %s  %s" % (entry["name"], entry["versions"], "-" if latest is None else latest, aliases))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Scores each row of a CSV or JSON-lines file with a StreamLearn model version, "
        "with exactly the features it was trained with."
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="a version directory (<store>/<model>/<version>) "
                       "or http://host:port/api/v1/models/<model>/versions/<version or alias>")
    which.add_argument("--segments", help="for a pipeline with segments, each row scored by its segment's model: "
                       "<store>/<pipeline> or http://host:port/api/v1/models/<pipeline>")
    which.add_argument("--list", metavar="URL", help="lists instead of scoring: a server's models "
                       "(http://host:port/), or one model's versions with their held-out metrics "
                       "(http://host:port/api/v1/models/<model>)")
    parser.add_argument("--version", default="latest", help="with --segments: each segment model's version, "
                        "a number or an alias (default latest)")
    parser.add_argument("--candidate", help="with --segments, where each segment has hyper-parameter candidates: "
                        "the candidate that scores, by name, or best (each segment's best on its newest window)")
    parser.add_argument("--input", help="CSV with a header row, or .jsonl (one JSON object per event); - for stdin")
    parser.add_argument("--output", help="CSV, or .jsonl for JSON lines; - for stdout")
    parser.add_argument("--timestamp-field", help="the field holding each event's time (epoch milliseconds "
                        "or ISO-8601), for datetime features of the event time; the present otherwise")
    parser.add_argument("--vectors", action="store_true", help="JSON lines output: add each event's input vector")
    parser.add_argument("--label", help="the column (or field) that holds each row's known label: the version "
                        "is then also measured on the rows that have one, with the metrics validation reports")
    args = parser.parse_args(argv)
    if args.list:
        try:
            _print_list(args.list)
        except urllib.error.URLError as problem:
            raise SystemExit("--list %s: %s" % (args.list, problem))
        return 0
    if args.input is None or args.output is None:
        parser.error("--input and --output are required to score")
    if args.candidate is not None and args.segments is None:
        parser.error("--candidate goes with --segments; with --model, name the candidate's model itself")
    try:
        segments = _open_segments(args.segments, args.version, args.candidate) if args.segments else None
    except (ValueError, FileNotFoundError) as problem:
        raise SystemExit("--segments %s: %s" % (args.segments, problem))
    model = segments.reader if segments else _open_model(args.model)
    jsonl = args.output.endswith((".jsonl", ".ndjson"))
    regression = model.task == "regression"
    out = sys.stdout if args.output == "-" else open(args.output, "w", newline="", encoding="utf-8")
    rows = refused = 0
    known = LabeledRows(model.classes, regression) if args.label else None
    with out:
        writer = None if jsonl else csv.writer(out, lineterminator="\n")
        if writer:
            writer.writerow(
                ["row"] + (["model"] if segments else []) + ["prediction"]
                + ([] if regression else ["p_" + c for c in model.classes])
            )
        for row, fields in enumerate(_rows(args.input)):
            rows += 1
            timestamp = None
            try:
                if args.timestamp_field:
                    # Epoch milliseconds (as a number, or as text in a CSV file) or ISO-8601.
                    value = fields.get(args.timestamp_field)
                    number = _parse_java_double(_java_trim(value)) if isinstance(value, str) else None
                    if number is not None:
                        value = number
                    timestamp = epoch_millis(None, args.timestamp_field, value, datetime.timezone.utc)
                    timestamp = None if math.isnan(timestamp) else timestamp
                if segments:
                    model, vector = segments.vector_with_model(fields, timestamp)
                else:
                    vector = model.vector(fields, timestamp)
            except Refused as reason:
                refused += 1
                if writer:
                    writer.writerow([row, "refused: " + str(reason)])
                else:
                    out.write(json.dumps({"row": row, "refused": str(reason)}) + "\n")
                continue
            scores = model.outputs(vector)
            prediction = model.prediction(scores)
            if known is not None:
                known.add(scores, fields.get(args.label))
            if regression:
                probabilities = []
            elif len(scores) == 1:
                probabilities = [1 - scores[0], scores[0]]
            else:
                probabilities = scores
            if writer:
                writer.writerow(
                    [row] + ([model.name] if segments else []) + [_short(prediction) if regression else prediction]
                    + [_short(_float32(p)) for p in probabilities]
                )
            else:
                record = {"row": row, "prediction": prediction, "scores": scores}
                if segments:
                    record["model"] = model.name
                if args.vectors:
                    record["vector"] = vector
                out.write(json.dumps(record) + "\n")
    if segments:
        scored_with = "the {} version of {} segment models by {}{}".format(
            args.version, len(segments.models), segments.feature,
            "" if args.candidate is None else " (candidate %s)" % args.candidate,
        )
    else:
        scored_with = "{} version {}".format(model.name, model.version)
    print(
        "Scored {:,} rows of {} with {} into {} ({:,} refused).".format(
            rows, args.input, scored_with, args.output, refused
        ),
        file=sys.stderr,
    )
    if known is not None:
        print(known.describe(args.label, refused), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
