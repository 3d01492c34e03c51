#!/usr/bin/env python3
"""Generates the Kafka message codec from protocol/schema/*.krb (Python 3 standard library only).

Usage: gen.py --out DIR SCHEMA.krb...

Writes, under DIR/protocol/messages/:
  api.h, api.cc           ApiKey, the API table, header versions, RINGBROKER_FOR_EACH_API
  <file>.h, <file>.cc     one C++ struct per message of <file>.krb, with Decode/Encode/EncodedSize
  all.h                   includes every message header
  layout.cc               the layout table behind protocol/codegen/layout.h (kafka-schema-dump)
  sample.h, <file>_sample.cc
                          FillSample(): every field present at a version set to a non-default
                          value; for tests, benchmarks and the fuzzer's seed corpus only
Files are rewritten only when their content changes, so an edit to one schema recompiles only
the code that depends on it. The notation is described in protocol/README.md.
"""
import argparse
import os
import re
import sys

OPEN = 0x7FFF  # upper bound of an open-ended version range ("3+")

PRIMITIVES = {
    # kafka type: (C++ type, fixed wire size or None, reader call, writer call)
    "bool": ("bool", 1, "Bool()", "Bool"),
    "int8": ("int8_t", 1, "Int8()", "Int8"),
    "int16": ("int16_t", 2, "Int16()", "Int16"),
    "uint16": ("uint16_t", 2, "Uint16()", "Uint16"),
    "int32": ("int32_t", 4, "Int32()", "Int32"),
    "uint32": ("uint32_t", 4, "Uint32()", "Uint32"),
    "int64": ("int64_t", 8, "Int64()", "Int64"),
    "float64": ("double", 8, "Float64()", "Float64"),
    "uuid": ("wire::Uuid", 16, "ReadUuid()", "WriteUuid"),
    "string": ("std::string_view", None, None, None),
    "bytes": ("wire::Bytes", None, None, None),
    "records": ("wire::Bytes", None, None, None),
}
NULLABLE_KINDS = {"string", "bytes", "records"}
INT_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "uint16": (0, (1 << 16) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "uint32": (0, (1 << 32) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
}
RESERVED_FILE_NAMES = {"api", "all", "layout", "sample"}
CPP_KEYWORDS = set(
    "alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t "
    "char16_t char32_t class co_await co_return co_yield compl concept const const_cast "
    "consteval constexpr constinit continue decltype default delete do double dynamic_cast "
    "else enum explicit export extern false float for friend goto if inline int long mutable "
    "namespace new noexcept not not_eq nullptr operator or or_eq private protected public "
    "register reinterpret_cast requires return short signed sizeof static static_assert "
    "static_cast struct switch template this thread_local throw true try typedef typeid "
    "typename union unsigned using virtual void volatile wchar_t while xor xor_eq".split())


class SchemaError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Model


class Range:
    """An inclusive version range; empty when lo > hi."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def none():
        return Range(1, 0)

    @staticmethod
    def all():
        return Range(0, OPEN)

    def empty(self):
        return self.lo > self.hi

    def contains(self, v):
        return self.lo <= v <= self.hi

    def kafka(self):
        if self.empty():
            return "none"
        if self.hi == OPEN:
            return f"{self.lo}+"
        if self.lo == self.hi:
            return f"{self.lo}"
        return f"{self.lo}-{self.hi}"

    def cpp_cond(self, within=None):
        """C++ condition on `v`; `within` is the range v is already known to be in."""
        if self.empty():
            return "false"
        parts = []
        lo_known = within.lo if within else 0
        hi_known = within.hi if within else OPEN
        if self.lo > lo_known:
            parts.append(f"v >= {self.lo}")
        if self.hi < hi_known:
            parts.append(f"v <= {self.hi}")
        if not parts:
            return "true"
        return " && ".join(parts)

    def intersect(self, other):
        return Range(max(self.lo, other.lo), min(self.hi, other.hi))

    def __eq__(self, other):
        return (self.empty() and other.empty()) or (self.lo, self.hi) == (other.lo, other.hi)


def parse_range(text, where, prefixed=True):
    if text == "none":
        return Range.none()
    if prefixed:
        if not text.startswith("v"):
            raise SchemaError(f"{where}: version range must look like v3+, v0-2 or v4: {text!r}")
        text = text[1:]
    m = re.fullmatch(r"(\d+)(\+|-(\d+))?", text)
    if not m:
        raise SchemaError(f"{where}: bad version range {text!r}")
    lo = int(m.group(1))
    if m.group(2) is None:
        return Range(lo, lo)
    if m.group(2) == "+":
        return Range(lo, OPEN)
    hi = int(m.group(3))
    if hi < lo:
        raise SchemaError(f"{where}: empty version range {text!r}")
    return Range(lo, hi)


class Field:
    def __init__(self, name, ftype, where):
        self.name = name
        self.type = ftype  # Kafka type spelling: int32, []int32, []Topic, Topic
        self.where = where
        self.versions = Range.all()
        self.nullable = Range.none()
        self.tagged = Range.none()
        self.tag = None
        self.flexible = None  # per-field flexibleVersions override, or None
        self.ignorable = False
        self.default = None  # text as written in the schema, or None
        self.children = []  # inline struct definition, when the field defines one
        self.struct = None  # resolved Struct for struct-typed fields

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def base(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self):
        return self.base not in PRIMITIVES

    @property
    def member(self):
        s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", self.name)
        s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s).lower()
        return s + "_" if s in CPP_KEYWORDS else s

    @property
    def optional(self):
        """Held in std::optional: nullable in some version (records are always)."""
        return not self.nullable.empty()


class Struct:
    def __init__(self, name, fields, where):
        self.name, self.fields, self.where = name, fields, where


class Message:
    def __init__(self, name, kind, api_key, versions, flexible, where):
        self.name = name  # C++ and Kafka name: ProduceRequest, RequestHeader
        self.kind = kind  # request | response | header
        self.api_key = api_key
        self.versions = versions
        self.flexible = flexible
        self.where = where
        self.fields = []
        self.common = {}  # name -> Struct
        self.structs = []  # every nested struct type, children before parents

    def flex_cond(self):
        if self.flexible.empty():
            return "false"
        return self.flexible.cpp_cond(self.versions) if self.flexible.lo > self.versions.lo else "true"


class Api:
    def __init__(self, name, key, versions, flexible, where):
        self.name, self.key, self.versions, self.flexible, self.where = (
            name, key, versions, flexible, where)
        self.request = None
        self.response = None


class SchemaFile:
    def __init__(self, path):
        self.path = path
        self.stem = os.path.splitext(os.path.basename(path))[0]
        self.api = None
        self.messages = []


# ----------------------------------------------------------------------------------------------
# Parser

FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*):\s+(\S+)(.*)$")


def tokenize_modifiers(text, where):
    tokens = []
    for m in re.finditer(r'"[^"]*"|\S+', text):
        tokens.append(m.group(0))
    return tokens


def parse_field(text, where):
    m = FIELD_RE.match(text)
    if not m:
        raise SchemaError(f"{where}: expected 'Name: type [modifiers]', got {text!r}")
    f = Field(m.group(1), m.group(2), where)
    base = f.base
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", base):
        raise SchemaError(f"{where}: bad type {f.type!r}")
    toks = tokenize_modifiers(m.group(3), where)
    i = 0
    seen_versions = False
    while i < len(toks):
        t = toks[i]
        if t.startswith("v") and re.fullmatch(r"v\d+(\+|-\d+)?", t) and not seen_versions:
            f.versions = parse_range(t, where)
            seen_versions = True
            i += 1
        elif t == "nullable":
            if i + 1 >= len(toks):
                raise SchemaError(f"{where}: 'nullable' needs a version range")
            f.nullable = parse_range(toks[i + 1], where)
            i += 2
        elif t == "tag":
            if i + 2 >= len(toks) or not toks[i + 1].isdigit():
                raise SchemaError(f"{where}: 'tag' needs a number and a version range")
            f.tag = int(toks[i + 1])
            f.tagged = parse_range(toks[i + 2], where)
            i += 3
        elif t == "flexible":
            if i + 1 >= len(toks):
                raise SchemaError(f"{where}: 'flexible' needs a version range or none")
            f.flexible = parse_range(toks[i + 1], where)
            i += 2
        elif t == "ignorable":
            f.ignorable = True
            i += 1
        elif t == "default":
            if i + 1 >= len(toks):
                raise SchemaError(f"{where}: 'default' needs a value")
            d = toks[i + 1]
            f.default = d[1:-1] if d.startswith('"') else d
            f.default_quoted = d.startswith('"')
            i += 2
        else:
            raise SchemaError(f"{where}: unknown modifier {t!r}")
    return f


def parse_file(path):
    sf = SchemaFile(path)
    with open(path) as fh:
        lines = fh.read().split("\n")
    current = None  # Message being filled
    stack = []  # (indent, children list) for nesting
    for lineno, raw in enumerate(lines, 1):
        where = f"{path}:{lineno}"
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if "\t" in line:
            raise SchemaError(f"{where}: tabs are not allowed, indent with spaces")
        indent = len(line) - len(line.lstrip(" "))
        text = line.strip()
        if indent == 0:
            words = text.split()
            if words[0] == "api":
                m = re.fullmatch(r"api ([A-Z][A-Za-z0-9]*) key (\d+) versions (\S+) flexible (\S+)",
                                 text)
                if not m or sf.api or sf.messages:
                    raise SchemaError(
                        f"{where}: expected one leading 'api Name key N versions R flexible R'")
                sf.api = Api(m.group(1), int(m.group(2)), parse_range(m.group(3), where, False),
                             parse_range(m.group(4), where, False), where)
            elif words[0] in ("request", "response") and len(words) == 1:
                if not sf.api:
                    raise SchemaError(f"{where}: '{words[0]}' before the 'api' line")
                api = sf.api
                current = Message(api.name + words[0].capitalize(), words[0], api.key, api.versions,
                                  api.flexible, where)
                if getattr(api, words[0]):
                    raise SchemaError(f"{where}: second '{words[0]}' block")
                setattr(api, words[0], current)
                sf.messages.append(current)
                stack = [(0, current.fields)]
            elif words[0] == "header":
                m = re.fullmatch(r"header ([A-Z][A-Za-z0-9]*) versions (\S+) flexible (\S+)", text)
                if not m or sf.api:
                    raise SchemaError(f"{where}: expected 'header Name versions R flexible R'")
                current = Message(m.group(1), "header", -1, parse_range(m.group(2), where, False),
                                  parse_range(m.group(3), where, False), where)
                sf.messages.append(current)
                stack = [(0, current.fields)]
            else:
                raise SchemaError(f"{where}: unknown block {words[0]!r}")
            continue
        if current is None:
            raise SchemaError(f"{where}: field outside a request/response/header block")
        while stack and indent <= stack[-1][0] and len(stack) > 1:
            stack.pop()
        parent_indent, siblings = stack[-1]
        if indent <= parent_indent and len(stack) > 1:
            raise SchemaError(f"{where}: bad indentation")
        if text.startswith("struct "):
            if len(stack) != 1:
                raise SchemaError(f"{where}: 'struct' is only allowed at the top of a message")
            name = text.split()[1]
            if name in current.common:
                raise SchemaError(f"{where}: struct {name} defined twice")
            st = Struct(name, [], where)
            current.common[name] = st
            stack.append((indent, st.fields))
            continue
        f = parse_field(text, where)
        siblings.append(f)
        stack.append((indent, f.children))
    if sf.api and (not sf.api.request or not sf.api.response):
        raise SchemaError(f"{path}: an api file needs both a request and a response block")
    if not sf.messages:
        raise SchemaError(f"{path}: no messages")
    return sf


# ----------------------------------------------------------------------------------------------
# Validation and resolution


def check_default(f):
    d = f.default
    if d is None:
        return
    where = f.where
    if f.is_array or f.is_struct:
        if d != "null":
            raise SchemaError(f"{where}: arrays and structs only take 'default null'")
    elif f.base in INT_RANGES:
        try:
            value = int(d, 0)
        except ValueError:
            raise SchemaError(f"{where}: default {d!r} is not an integer")
        lo, hi = INT_RANGES[f.base]
        if not lo <= value <= hi:
            raise SchemaError(f"{where}: default {d} out of range for {f.base}")
    elif f.base == "bool":
        if d.lower() not in ("true", "false"):
            raise SchemaError(f"{where}: bool default must be true or false")
    elif f.base == "float64":
        float(d)
    elif f.base == "string":
        pass
    elif d != "null":
        raise SchemaError(f"{where}: {f.base} fields take no default but null")
    if d == "null" and not getattr(f, "default_quoted", False):
        if f.nullable.empty() or f.nullable.lo > f.versions.lo:
            raise SchemaError(f"{where}: 'default null' needs the field nullable in all its versions")


def resolve(msg):
    """Checks fields, binds struct types, and orders nested struct definitions."""
    by_name = {}
    order = []

    def define(name, fields, where):
        if name in by_name:
            raise SchemaError(f"{where}: struct {name} defined twice in {msg.name}")
        st = Struct(name, fields, where)
        by_name[name] = st
        return st

    def visit_fields(fields, where_struct):
        names = set()
        tags = set()
        for f in fields:
            if f.name in names:
                raise SchemaError(f"{f.where}: duplicate field {f.name}")
            names.add(f.name)
            if f.versions.empty():
                raise SchemaError(f"{f.where}: field has no versions")
            if not f.nullable.empty():
                if not (f.is_array or f.is_struct or f.base in NULLABLE_KINDS):
                    raise SchemaError(f"{f.where}: {f.type} cannot be nullable")
            if f.tag is not None:
                if f.tag in tags:
                    raise SchemaError(f"{f.where}: tag {f.tag} used twice")
                tags.add(f.tag)
                if f.tagged.empty() or f.tagged.hi != OPEN:
                    raise SchemaError(f"{f.where}: tagged versions must be open-ended")
                if msg.flexible.empty() or f.tagged.lo < msg.flexible.lo:
                    raise SchemaError(f"{f.where}: tagged versions must be flexible versions")
                if f.tagged.lo < f.versions.lo or f.versions.hi != OPEN:
                    raise SchemaError(f"{f.where}: tagged versions must lie within the versions")
            check_default(f)
            if f.is_struct:
                if f.children:
                    f.struct = define(f.base, f.children, f.where)
                    visit_fields(f.children, f.struct)
                    order.append(f.struct)
                elif f.base in msg.common:
                    f.struct = msg.common[f.base]
                else:
                    raise SchemaError(f"{f.where}: unknown type {f.base}")
            elif f.children:
                raise SchemaError(f"{f.where}: a {f.type} field cannot have nested fields")

    for name, st in msg.common.items():
        define(name, st.fields, st.where)
    # Common structs first (they cannot refer to inline structs of the message).
    for st in msg.common.values():
        visit_fields(st.fields, st)
        order.append(st)
    visit_fields(msg.fields, None)
    # Children before parents: inline structs were appended after their own children;
    # common structs referring to other common structs need a topological pass.
    seen = set()
    ordered = []

    def emit(st):
        if st.name in seen:
            return
        seen.add(st.name)
        for f in st.fields:
            if f.struct is not None:
                emit(f.struct)
        ordered.append(st)

    for st in order:
        emit(st)
    msg.structs = ordered


# ----------------------------------------------------------------------------------------------
# C++ emission helpers


def cpp_value_type(f):
    if f.is_struct:
        elem = f.base
    else:
        elem = PRIMITIVES[f.base][0]
    return f"std::vector<{elem}>" if f.is_array else elem


def cpp_member_type(f):
    t = cpp_value_type(f)
    return f"std::optional<{t}>" if f.optional else t


def int_literal(value, base):
    lo, _ = INT_RANGES[base]
    if value == lo and base in ("int32", "int64"):
        return f"({value + 1} - 1)" if base == "int32" else f"(INT64_C({value + 1}) - 1)"
    if base == "int64":
        return f"INT64_C({value})"
    if base in ("uint32",):
        return f"{value}u"
    return str(value)


def cpp_string_literal(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def default_is_null(f):
    if f.default == "null" and not getattr(f, "default_quoted", False):
        return True
    # Kafka's records default to null.
    return f.default is None and f.base == "records" and not f.is_array and f.optional


def value_default_expr(f):
    """The default of the non-optional value, as a C++ expression (None: value-initialized)."""
    if f.is_array or f.is_struct:
        return None
    if f.base in INT_RANGES:
        return int_literal(int(f.default, 0) if f.default is not None else 0, f.base)
    if f.base == "bool":
        return "true" if (f.default or "false").lower() == "true" else "false"
    if f.base == "float64":
        return repr(float(f.default)) if f.default is not None else "0.0"
    if f.base == "string":
        if f.default is not None and not default_is_null(f) and f.default != "":
            return cpp_string_literal(f.default)
        return None
    return None


def member_initializer(f):
    if f.optional:
        if default_is_null(f):
            return ""
        inner = value_default_expr(f)
        if inner is None:
            return "{std::in_place}"
        return f"{{{inner}}}"
    inner = value_default_expr(f)
    return f" = {inner}" if inner is not None else "{}"


def is_default_expr(f, x):
    """C++ expression: member x holds the field's default (used for tagged fields)."""
    if f.optional:
        if default_is_null(f):
            return f"!{x}.has_value()"
        return f"({x}.has_value() && {value_is_default_expr(f, '(*' + x + ')')})"
    return value_is_default_expr(f, x)


def value_is_default_expr(f, x):
    if f.is_array:
        return f"{x}.empty()"
    if f.is_struct:
        return f"{x} == {f.base}{{}}"
    if f.base in ("bytes", "records"):
        return f"{x}.empty()"
    if f.base == "uuid":
        return f"{x}.IsZero()"
    if f.base == "string":
        d = value_default_expr(f)
        return f"{x}.empty()" if d is None else f"{x} == std::string_view({d})"
    return f"{x} == {value_default_expr(f)}"


def elem_min_size(f, msg):
    """Smallest wire size of one element of array field f, over all versions (at least 1)."""
    if f.is_struct:
        return max(1, struct_min_size(f.struct, msg))
    fixed = PRIMITIVES[f.base][1]
    return fixed if fixed else 1


def struct_min_size(st, msg):
    best = None
    for v in range(msg.versions.lo, msg.versions.hi + 1):
        n = struct_min_size_at(st, msg, v, set())
        best = n if best is None else min(best, n)
    return best or 0


def struct_min_size_at(st, msg, v, active):
    if st.name in active:
        return 0
    active = active | {st.name}
    flex = msg.flexible.contains(v)
    n = 1 if flex else 0
    for f in st.fields:
        if not f.versions.contains(v) or f.tagged.contains(v):
            continue
        ff = flex and (f.flexible is None or f.flexible.contains(v))
        if f.is_array:
            n += 1 if ff else 4
        elif f.is_struct:
            n += 1 if f.nullable.contains(v) else struct_min_size_at(f.struct, msg, v, active)
        elif PRIMITIVES[f.base][1]:
            n += PRIMITIVES[f.base][1]
        elif f.base == "string":
            n += 1 if ff else 2
        else:
            n += 1 if ff else 4
    return n


class Ctx:
    """What the code of one field is generated against."""

    def __init__(self, msg, f, tagged):
        self.msg = msg
        self.f = f
        self.tagged = tagged
        if tagged:
            self.flex = "true"
        elif f.flexible is not None:
            fc = f.flexible.cpp_cond(msg.versions)
            self.flex = "false" if fc == "false" else ("flex" if fc == "true" else f"(flex && {fc})")
        else:
            self.flex = "flex"
        nc = f.nullable.cpp_cond(f.versions)
        self.nullable = nc if nc in ("true", "false") else f"({nc})"


def read_value(f, ctx, r, target):
    """Statements decoding field f from reader r into lvalue target."""
    if f.is_array:
        if f.is_struct:
            one = f"[&](wire::Reader& rr, {f.base}& e) {{ e.DecodeFrom(rr, v); }}"
        elif f.base == "string":
            one = f"[&](wire::Reader& rr, std::string_view& e) {{ e = rr.String({ctx.flex}); }}"
        elif f.base in ("bytes", "records"):
            one = f"[&](wire::Reader& rr, wire::Bytes& e) {{ e = rr.ReadBytes({ctx.flex}); }}"
        else:
            ct, _, rd, _ = PRIMITIVES[f.base]
            one = f"[](wire::Reader& rr, {ct}& e) {{ e = rr.{rd}; }}"
        count = f"{r}.ArrayLength({ctx.flex}, {ctx.nullable if f.optional else 'false'}, {elem_min_size(f, ctx.msg)})"
        fn = "ReadNullableArray" if f.optional else "ReadArray"
        return [f"wire::{fn}({r}, {count}, {target}, {one});"]
    if f.is_struct:
        if f.optional:
            return [
                f"if (!{ctx.nullable} || {r}.Int8() >= 0) {{",
                # emplace(T{}) rather than emplace(): clang cannot yet see a nested struct
                # with member initializers as default-constructible through the trait.
                f"  {target}.emplace({f.base}{{}}).DecodeFrom({r}, v);",
                "} else {",
                f"  {target}.reset();",
                "}",
            ]
        return [f"{target}.DecodeFrom({r}, v);"]
    if f.base == "string":
        if f.optional:
            return [f"{target} = {r}.NullableString({ctx.flex}, {ctx.nullable});"]
        return [f"{target} = {r}.String({ctx.flex});"]
    if f.base in ("bytes", "records"):
        if f.optional:
            return [f"{target} = {r}.NullableBytes({ctx.flex}, {ctx.nullable});"]
        return [f"{target} = {r}.ReadBytes({ctx.flex});"]
    return [f"{target} = {r}.{PRIMITIVES[f.base][2]};"]


def write_value(f, ctx, w, x):
    if f.is_array:
        if f.is_struct:
            one = f"[&](wire::Writer& ww, const {f.base}& e) {{ e.Encode(ww, v); }}"
        elif f.base == "string":
            one = f"[&](wire::Writer& ww, std::string_view e) {{ ww.String(e, {ctx.flex}); }}"
        elif f.base in ("bytes", "records"):
            one = f"[&](wire::Writer& ww, wire::Bytes e) {{ ww.WriteBytes(e, {ctx.flex}); }}"
        else:
            ct, _, _, wr = PRIMITIVES[f.base]
            one = f"[](wire::Writer& ww, {ct} e) {{ ww.{wr}(e); }}"
        if f.optional:
            return [f"wire::WriteNullableArray({w}, {x}, {ctx.flex}, {ctx.nullable}, {one});"]
        return [f"wire::WriteArray({w}, {x}, {ctx.flex}, {one});"]
    if f.is_struct:
        if f.optional:
            # Kafka's nullable struct: INT8 -1 for null, 1 then the struct otherwise.
            return [
                f"if ({ctx.nullable}) {w}.Int8({x} ? 1 : -1);",
                f"if ({x}) {{",
                f"  {x}->Encode({w}, v);",
                f"}} else if (!{ctx.nullable}) {{",
                f"  {f.base}{{}}.Encode({w}, v);",
                "}",
            ]
        return [f"{x}.Encode({w}, v);"]
    if f.base == "string":
        if f.optional:
            return [f"{w}.NullableString({x}, {ctx.flex}, {ctx.nullable});"]
        return [f"{w}.String({x}, {ctx.flex});"]
    if f.base in ("bytes", "records"):
        if f.optional:
            return [f"{w}.NullableBytes({x}, {ctx.flex}, {ctx.nullable});"]
        return [f"{w}.WriteBytes({x}, {ctx.flex});"]
    return [f"{w}.{PRIMITIVES[f.base][3]}({x});"]


def size_expr(f, ctx, x):
    if f.is_array:
        if f.is_struct:
            one = f"[&](const {f.base}& e) {{ return e.EncodedSize(v); }}"
        elif f.base == "string":
            one = f"[&](std::string_view e) {{ return wire::StringSize(e, {ctx.flex}); }}"
        elif f.base in ("bytes", "records"):
            one = f"[&](wire::Bytes e) {{ return wire::BytesSize(e, {ctx.flex}); }}"
        else:
            ct, size, _, _ = PRIMITIVES[f.base]
            one = f"[]({ct}) {{ return size_t{{{size}}}; }}"
        fn = "NullableArraySize" if f.optional else "ArraySize"
        return f"wire::{fn}({x}, {ctx.flex}, {one})"
    if f.is_struct:
        if f.optional:
            return (f"(({ctx.nullable}) ? 1 : 0) + "
                    f"({x} ? {x}->EncodedSize(v) : ({ctx.nullable}) ? 0 : {f.base}{{}}.EncodedSize(v))")
        return f"{x}.EncodedSize(v)"
    if f.base == "string":
        if f.optional:
            return f"wire::NullableStringSize({x}, {ctx.flex})"
        return f"wire::StringSize({x}, {ctx.flex})"
    if f.base in ("bytes", "records"):
        if f.optional:
            return f"wire::NullableBytesSize({x}, {ctx.flex})"
        return f"wire::BytesSize({x}, {ctx.flex})"
    return str(PRIMITIVES[f.base][1])


def regular_range(f):
    """Versions in which f is a regular (not tagged) field."""
    if f.tagged.empty():
        return f.versions
    return Range(f.versions.lo, min(f.versions.hi, f.tagged.lo - 1))


def indent_lines(lines, n):
    pad = " " * n
    return [pad + l if l else l for l in lines]


def guarded(cond, body):
    if cond == "true":
        return body
    if cond == "false":
        return []
    if len(body) == 1:
        return [f"if ({cond}) {body[0]}"]
    return [f"if ({cond}) {{"] + indent_lines(body, 2) + ["}"]


# ----------------------------------------------------------------------------------------------
# Per-struct code


def struct_decl(name, fields, msg, top):
    out = [f"struct {name} {{"]
    body = []
    if top:
        if msg.kind == "header":
            body.append("static constexpr int16_t kApiKey = -1;  // headers belong to no API")
        else:
            body.append(f"static constexpr int16_t kApiKey = {msg.api_key};")
        body.append(f"static constexpr int16_t kMinVersion = {msg.versions.lo};")
        body.append(f"static constexpr int16_t kMaxVersion = {msg.versions.hi};")
        ff = msg.flexible.lo if not msg.flexible.empty() else -1
        body.append(f"static constexpr int16_t kFirstFlexibleVersion = {ff};  // -1: never")
        body.append(f'static constexpr std::string_view kName = "{msg.name}";')
        body.append("")
        for st in msg.structs:
            body += struct_decl(st.name, st.fields, msg, False)
            body.append("")
    for f in fields:
        note = f"  // v{f.versions.kafka()}"
        if not f.nullable.empty():
            note += f", nullable v{f.nullable.kafka()}"
        if f.tag is not None:
            note += f", tag {f.tag}"
        body.append(f"{cpp_member_type(f)} {f.member}{member_initializer(f)};{note}")
    if fields:
        body.append("")
    if top:
        body.append("// Resets *this, then decodes the message at `version`; fails on a version")
        body.append("// outside kMinVersion..kMaxVersion or on malformed input. Views in the")
        body.append("// result point into the reader's frame.")
    body.append("absl::Status Decode(wire::Reader& r, int16_t version);")
    body.append("// Decodes into a freshly constructed value; failures are left in the reader.")
    body.append("void DecodeFrom(wire::Reader& r, int16_t version);")
    body.append("void Encode(wire::Writer& w, int16_t version) const;")
    body.append("size_t EncodedSize(int16_t version) const;")
    body.append(f"bool operator==(const {name}&) const = default;")
    out += indent_lines(body, 2)
    out.append("};")
    return out


def struct_defs(qual, fields, msg, top):
    out = []
    flex = msg.flex_cond()
    tagged = sorted((f for f in fields if f.tag is not None), key=lambda f: f.tag)
    uses_v = any(regular_range(f).cpp_cond(msg.versions) not in ("true",) or f.is_struct
                 for f in fields) or bool(tagged) or flex not in ("true", "false")

    # Decode
    out.append(f"void {qual}::DecodeFrom([[maybe_unused]] wire::Reader& r, "
               f"[[maybe_unused]] int16_t v) {{")
    body = [f"[[maybe_unused]] const bool flex = {flex};"]
    for f in fields:
        ctx = Ctx(msg, f, False)
        body += guarded(regular_range(f).cpp_cond(msg.versions),
                        read_value(f, ctx, "r", f.member))
    if not msg.flexible.empty():
        cases = []
        for f in tagged:
            ctx = Ctx(msg, f, True)
            cases.append(f"case {f.tag}:")
            inner = read_value(f, ctx, "t", f.member) + ["return true;"]
            cond = f.tagged.cpp_cond(msg.versions)
            if cond == "true":
                cases += indent_lines(["{"] + indent_lines(inner, 2) + ["}"], 2)
            else:
                cases += indent_lines([f"if ({cond}) {{"] + indent_lines(inner, 2) +
                                      ["}", "break;"], 2)
        if cases:
            lam = ["wire::ReadTaggedFields(r, [&](uint32_t tag, wire::Reader& t) {",
                   "  switch (tag) {"] + indent_lines(cases, 4) + [
                   "    default:", "      break;", "  }", "  return false;", "});"]
        else:
            lam = ["wire::ReadTaggedFields(r, [](uint32_t, wire::Reader&) { return false; });"]
        body += guarded("flex", lam)
    out += indent_lines(body, 2)
    out.append("}")
    out.append("")
    out.append(f"absl::Status {qual}::Decode(wire::Reader& r, int16_t version) {{")
    if top:
        out.append("  if (version < kMinVersion || version > kMaxVersion) {")
        out.append(f'    return absl::InvalidArgumentError("unsupported {msg.name} version");')
        out.append("  }")
    out.append("  *this = {};")
    out.append("  DecodeFrom(r, version);")
    out.append("  return r.status();")
    out.append("}")
    out.append("")

    # Encode
    out.append(f"void {qual}::Encode([[maybe_unused]] wire::Writer& w, "
               f"[[maybe_unused]] int16_t v) const {{")
    body = [f"[[maybe_unused]] const bool flex = {flex};"]
    for f in fields:
        ctx = Ctx(msg, f, False)
        body += guarded(regular_range(f).cpp_cond(msg.versions),
                        write_value(f, ctx, "w", f.member))
    if not msg.flexible.empty():
        tb = []
        if tagged:
            tb.append("uint32_t tagged = 0;")
            for f in tagged:
                c = f.tagged.cpp_cond(msg.versions)
                cond = f"!({is_default_expr(f, f.member)})"
                if c != "true":
                    cond = f"{c} && {cond}"
                tb.append(f"const bool has_{f.tag} = {cond};")
                tb.append(f"tagged += has_{f.tag} ? 1 : 0;")
            tb.append("w.Uvarint(tagged);")
            for f in tagged:
                ctx = Ctx(msg, f, True)
                tb += guarded(f"has_{f.tag}", [
                    f"wire::WriteTagHeader(w, {f.tag}, {size_expr(f, ctx, f.member)});"] +
                    write_value(f, ctx, "w", f.member))
        else:
            tb.append("w.Uvarint(0);  // no tagged fields")
        body += guarded("flex", tb)
    out += indent_lines(body, 2)
    out.append("}")
    out.append("")

    # EncodedSize
    out.append(f"size_t {qual}::EncodedSize([[maybe_unused]] int16_t v) const {{")
    body = [f"[[maybe_unused]] const bool flex = {flex};", "size_t n = 0;"]
    for f in fields:
        ctx = Ctx(msg, f, False)
        body += guarded(regular_range(f).cpp_cond(msg.versions),
                        [f"n += {size_expr(f, ctx, f.member)};"])
    if not msg.flexible.empty():
        tb = []
        if tagged:
            tb.append("uint32_t tagged = 0;")
            for f in tagged:
                ctx = Ctx(msg, f, True)
                c = f.tagged.cpp_cond(msg.versions)
                cond = f"!({is_default_expr(f, f.member)})"
                if c != "true":
                    cond = f"{c} && {cond}"
                tb.append(f"if ({cond}) {{")
                tb.append("  ++tagged;")
                tb.append(f"  n += wire::TaggedFieldSize({f.tag}, {size_expr(f, ctx, f.member)});")
                tb.append("}")
            tb.append("n += wire::UvarintSize(tagged);")
        else:
            tb.append("n += 1;  // empty tagged-field section")
        body += guarded("flex", tb)
    body.append("return n;")
    out += indent_lines(body, 2)
    out.append("}")
    out.append("")
    del uses_v
    return out


# ----------------------------------------------------------------------------------------------
# Files

GENERATED_NOTE = "// Generated by protocol/codegen/gen.py from protocol/schema/{src}. Do not edit."


def header_guard_includes():
    return [
        "#pragma once",
        "",
        "#include <cstddef>",
        "#include <cstdint>",
        "#include <optional>",
        "#include <string_view>",
        "#include <vector>",
        "",
        '#include "absl/status/status.h"',
        '#include "protocol/wire/reader.h"',
        '#include "protocol/wire/types.h"',
        '#include "protocol/wire/writer.h"',
        "",
    ]


def gen_message_header(sf):
    out = [GENERATED_NOTE.format(src=os.path.basename(sf.path)),
           "//",
           "// Messages are plain values covering every version. string_view and wire::Bytes",
           "// members are views: after Decode() they point into the decoded frame and are valid",
           "// while it is; for Encode() whatever they point at must outlive the call.",
           "// Fields absent at the encoded version are skipped (see protocol/README.md)."]
    out += header_guard_includes()
    out.append("namespace ringbroker::protocol {")
    out.append("")
    for msg in sf.messages:
        out += struct_decl(msg.name, msg.fields, msg, True)
        out.append("")
    out.append("}  // namespace ringbroker::protocol")
    return "\n".join(out) + "\n"


def gen_message_source(sf):
    out = [GENERATED_NOTE.format(src=os.path.basename(sf.path)),
           f'#include "protocol/messages/{sf.stem}.h"',
           "",
           '#include "protocol/wire/message_support.h"',
           "",
           "namespace ringbroker::protocol {",
           ""]
    for msg in sf.messages:
        for st in msg.structs:
            out += struct_defs(f"{msg.name}::{st.name}", st.fields, msg, False)
        out += struct_defs(msg.name, msg.fields, msg, True)
    out.append("}  // namespace ringbroker::protocol")
    return "\n".join(out) + "\n"


def gen_api(files):
    apis = sorted((sf.api for sf in files if sf.api), key=lambda a: a.key)
    keys = {}
    for a in apis:
        if a.key in keys:
            raise SchemaError(f"{a.where}: api key {a.key} also used by {keys[a.key]}")
        keys[a.key] = a.name
    h = [GENERATED_NOTE.format(src="*.krb"),
         "// The Kafka APIs this codec implements: keys, version ranges, header versions.",
         "#pragma once",
         "",
         "#include <cstdint>",
         "#include <string_view>",
         "",
         '#include "absl/types/span.h"',
         "",
         "namespace ringbroker::protocol {",
         "",
         "enum class ApiKey : int16_t {"]
    for a in apis:
        h.append(f"  k{a.name} = {a.key},")
    h += ["};",
          "",
          "struct ApiInfo {",
          "  ApiKey key;",
          "  std::string_view name;",
          "  int16_t min_version;",
          "  int16_t max_version;",
          "  int16_t first_flexible_version;  // -1: no flexible version",
          "};",
          "",
          "// Every API, ordered by key: what the broker can advertise in ApiVersions.",
          "absl::Span<const ApiInfo> AllApis();",
          "// The API with this wire key, or nullptr when the codec does not know it.",
          "const ApiInfo* FindApi(int16_t api_key);",
          "",
          "// Header versions per protocol.html: request header v2 and response header v1 for",
          "// flexible versions, else v1 and v0; ControlledShutdown v0 uses request header v0 and",
          "// ApiVersions responses always use response header v0 (so clients can parse them",
          "// before they know the broker's versions). Versions above an API's maximum are",
          "// treated like the maximum (Kafka does the same when it answers UNSUPPORTED_VERSION).",
          "// Returns -1 for an unknown API.",
          "int16_t RequestHeaderVersion(int16_t api_key, int16_t api_version);",
          "int16_t ResponseHeaderVersion(int16_t api_key, int16_t api_version);",
          "",
          "}  // namespace ringbroker::protocol",
          "",
          "// X(Name, key, min_version, max_version) for every API; Name##Request and",
          "// Name##Response are its message types (protocol/messages/all.h).",
          "#define RINGBROKER_FOR_EACH_API(X) \\"]
    for a in apis:
        h.append(f"  X({a.name}, {a.key}, {a.versions.lo}, {a.versions.hi}) \\")
    h.append("")
    c = [GENERATED_NOTE.format(src="*.krb"),
         '#include "protocol/messages/api.h"',
         "",
         "#include <array>",
         "",
         "namespace ringbroker::protocol {",
         "namespace {",
         "",
         f"constexpr std::array<ApiInfo, {len(apis)}> kApis = {{{{"]
    for a in apis:
        ff = a.flexible.lo if not a.flexible.empty() else -1
        c.append(f'    {{ApiKey::k{a.name}, "{a.name}", {a.versions.lo}, {a.versions.hi}, {ff}}},')
    c += ["}};",
          "",
          "}  // namespace",
          "",
          "absl::Span<const ApiInfo> AllApis() { return kApis; }",
          "",
          "const ApiInfo* FindApi(int16_t api_key) {",
          "  for (const ApiInfo& api : kApis) {",
          "    if (static_cast<int16_t>(api.key) == api_key) return &api;",
          "  }",
          "  return nullptr;",
          "}",
          "",
          "int16_t RequestHeaderVersion(int16_t api_key, int16_t api_version) {",
          "  const ApiInfo* api = FindApi(api_key);",
          "  if (api == nullptr) return -1;",
          "  if (api->key == ApiKey::kControlledShutdown && api_version == 0) return 0;",
          "  const bool flexible =",
          "      api->first_flexible_version >= 0 && api_version >= api->first_flexible_version;",
          "  return flexible ? 2 : 1;",
          "}",
          "",
          "int16_t ResponseHeaderVersion(int16_t api_key, int16_t api_version) {",
          "  const ApiInfo* api = FindApi(api_key);",
          "  if (api == nullptr) return -1;",
          "  if (api->key == ApiKey::kApiVersions) return 0;",
          "  const bool flexible =",
          "      api->first_flexible_version >= 0 && api_version >= api->first_flexible_version;",
          "  return flexible ? 1 : 0;",
          "}",
          "",
          "}  // namespace ringbroker::protocol"]
    return "\n".join(h) + "\n", "\n".join(c) + "\n"


def gen_all(files):
    out = [GENERATED_NOTE.format(src="*.krb"), "#pragma once", "",
           '#include "protocol/messages/api.h"']
    for sf in files:
        out.append(f'#include "protocol/messages/{sf.stem}.h"')
    return "\n".join(out) + "\n"


def gen_layout(files):
    out = [GENERATED_NOTE.format(src="*.krb"),
           "// The schemas' wire layout as data, for kafka-schema-dump.",
           '#include "protocol/codegen/layout.h"',
           "",
           "namespace ringbroker::protocol {",
           "namespace {",
           "",
           "constexpr VersionRange kNone{1, 0};"]
    counter = [0]

    def rng(r):
        return "kNone" if r.empty() else f"VersionRange{{{r.lo}, {r.hi}}}"

    def emit_fields(fields):
        rows = []
        for f in fields:
            child = "{}"
            if f.is_struct:
                child = emit_fields(f.struct.fields)
            flex = rng(f.flexible) if f.flexible is not None else "kNone"
            has_flex = "true" if f.flexible is not None else "false"
            default = cpp_string_literal(
                f.default if f.default is not None else "") if True else '""'
            rows.append(
                f'    {{"{f.name}", "{f.type}", {rng(f.versions)}, {rng(f.nullable)}, '
                f'{rng(f.tagged)}, {f.tag if f.tag is not None else -1}, {has_flex}, {flex}, '
                f'{"true" if f.ignorable else "false"}, {default}, {child}}},')
        counter[0] += 1
        name = f"kFields{counter[0]}"
        out.append(f"constexpr FieldLayout {name}[] = {{")
        out.extend(rows)
        out.append("};")
        return f"absl::MakeConstSpan({name})"

    msgs = []
    for sf in files:
        for msg in sf.messages:
            span = emit_fields(msg.fields) if msg.fields else "{}"
            msgs.append(
                f'    {{"{msg.name}", "{msg.kind}", {msg.api_key}, {rng(msg.versions)}, '
                f'{rng(msg.flexible)}, {span}}},')
    out += ["", "constexpr MessageLayout kMessages[] = {"] + msgs + ["};", "",
            "}  // namespace", "",
            "absl::Span<const MessageLayout> AllMessageLayouts() { return kMessages; }", "",
            "}  // namespace ringbroker::protocol"]
    return "\n".join(out) + "\n"


# Sample values ---------------------------------------------------------------------------------


def sample_scalar(f, idx):
    """A C++ literal for a non-default value of a scalar field (or an array element)."""
    b = f.base
    if b == "bool":
        return "false" if not f.is_array and value_default_expr(f) == "true" else "true"
    if b in INT_RANGES:
        d = int(f.default, 0) if f.default is not None and not f.is_array else 0
        lo, hi = INT_RANGES[b]
        bases = {"int8": 0x11, "int16": 0x1234, "uint16": 0xABCD, "int32": 0x12345678,
                 "uint32": 0x89ABCDEF, "int64": 0x123456789ABCDEF}
        value = bases[b] + idx
        if value > hi:
            value = lo + idx + 1
        if value == d:
            value += 1 if value < hi else -1
        return int_literal(value, b)
    if b == "float64":
        return repr(1.5 + idx)
    raise AssertionError(b)


def sample_value_lines(f, msg, target, idx):
    """Statements setting lvalue target (of the value type) to a non-default sample."""
    b = f.base
    if f.is_array:
        lines = [f"{target}.resize(2);", f"for (size_t i = 0; i < {target}.size(); ++i) {{"]
        if f.is_struct:
            lines.append(f"  Fill({target}[i], v);")
        elif b == "string":
            lines.append(f"  {target}[i] = i == 0 ? {cpp_string_literal(f.name + '-0')} : "
                         f"{cpp_string_literal(f.name + '-1')};")
        elif b in ("bytes", "records"):
            lines.append(f"  {target}[i] = wire::Bytes(kSampleBytes, 3 + i);")
        elif b == "uuid":
            lines.append(f"  {target}[i] = SampleUuid({idx} + static_cast<int>(i));")
        elif b == "bool":
            lines.append(f"  {target}[i] = i == 0;")
        else:
            lines.append(f"  {target}[i] = static_cast<{PRIMITIVES[b][0]}>({sample_scalar(f, idx)} - "
                         f"static_cast<{PRIMITIVES[b][0]}>(i));")
        lines.append("}")
        return lines
    if f.is_struct:
        return [f"Fill({target}, v);"]
    if b == "string":
        return [f"{target} = {cpp_string_literal(f.name + '-sample')};"]
    if b == "bytes":
        return [f"{target} = wire::Bytes(kSampleBytes, {5 + idx % 7});"]
    if b == "records":
        return [f"{target} = wire::Bytes(kSampleBytes, sizeof(kSampleBytes));"]
    if b == "uuid":
        return [f"{target} = SampleUuid({idx});"]
    return [f"{target} = {sample_scalar(f, idx)};"]


def gen_sample_decls(files):
    out = [GENERATED_NOTE.format(src="*.krb"),
           "// FillSample(): sets every field present at `version` to a non-default value (arrays",
           "// get two elements). Views point at static data. For tests, benchmarks and fuzz seeds.",
           "#pragma once", "", "#include <cstdint>", "",
           '#include "protocol/messages/all.h"', "",
           "namespace ringbroker::protocol {", ""]
    for sf in files:
        for msg in sf.messages:
            out.append(f"void FillSample({msg.name}& m, int16_t version);")
    out += ["", "}  // namespace ringbroker::protocol"]
    return "\n".join(out) + "\n"


def gen_sample_source(sf):
    out = [GENERATED_NOTE.format(src=os.path.basename(sf.path)),
           '#include "protocol/messages/sample.h"', "",
           "#include <cstddef>", "",
           "namespace ringbroker::protocol {",
           "namespace {", "",
           "[[maybe_unused]] constexpr uint8_t kSampleBytes[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff, 0x10,",
           "                                                     0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x0a, 0x0d};",
           "",
           "[[maybe_unused]] wire::Uuid SampleUuid(int seed) {",
           "  wire::Uuid id;",
           "  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(seed * 16 + i + 1);",
           "  return id;",
           "}", ""]

    def fill_fn(qual, fields, msg, static):
        lines = [f"{'' if static else ''}void Fill({qual}& m, [[maybe_unused]] int16_t v) {{"]
        for idx, f in enumerate(fields):
            body = []
            tgt = f"m.{f.member}"
            if f.optional:
                init = f"{msg.name}::{f.base}{{}}" if f.is_struct and not f.is_array else ""
                body.append(f"{tgt}.emplace({init});")
                tgt = f"(*m.{f.member})"
            body += sample_value_lines(f, msg, tgt, idx)
            lines += indent_lines(guarded(f.versions.cpp_cond(msg.versions), body), 2)
        lines.append("}")
        lines.append("")
        return lines

    for msg in sf.messages:
        for st in msg.structs:
            out += fill_fn(f"{msg.name}::{st.name}", st.fields, msg, True)
        out += fill_fn(msg.name, msg.fields, msg, True)
    out += ["}  // namespace", ""]
    for msg in sf.messages:
        out.append(f"void FillSample({msg.name}& m, int16_t version) {{")
        out.append(f"  m = {msg.name}{{}};")
        out.append("  Fill(m, version);")
        out.append("}")
        out.append("")
    out.append("}  // namespace ringbroker::protocol")
    return "\n".join(out) + "\n"


def write_if_changed(path, text):
    try:
        with open(path) as fh:
            if fh.read() == text:
                return
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output root (gets protocol/messages/)")
    ap.add_argument("schemas", nargs="+")
    args = ap.parse_args(argv)
    try:
        files = [parse_file(p) for p in sorted(args.schemas, key=os.path.basename)]
        names = set()
        for sf in files:
            if sf.stem in RESERVED_FILE_NAMES:
                raise SchemaError(f"{sf.path}: file name {sf.stem} is reserved for generated code")
            for msg in sf.messages:
                if msg.name in names:
                    raise SchemaError(f"{msg.where}: message {msg.name} defined twice")
                names.add(msg.name)
                resolve(msg)
        outputs = {}
        for sf in files:
            outputs[f"{sf.stem}.h"] = gen_message_header(sf)
            outputs[f"{sf.stem}.cc"] = gen_message_source(sf)
            outputs[f"{sf.stem}_sample.cc"] = gen_sample_source(sf)
        outputs["api.h"], outputs["api.cc"] = gen_api(files)
        outputs["all.h"] = gen_all(files)
        outputs["layout.cc"] = gen_layout(files)
        outputs["sample.h"] = gen_sample_decls(files)
    except SchemaError as e:
        print(f"gen.py: {e}", file=sys.stderr)
        return 1
    outdir = os.path.join(args.out, "protocol", "messages")
    os.makedirs(outdir, exist_ok=True)
    for name, text in outputs.items():
        write_if_changed(os.path.join(outdir, name), text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
