#!/usr/bin/env python3
"""protogen: turns sluice's protocol definitions (proto/*.def) into C.

    protogen.py --out DIR proto/*.def     writes DIR/proto_gen.{c,h} and
                                          DIR/proto_gen_test.c
    protogen.py --docs FILE proto/*.def   writes the API/version matrix

The .def format is documented in proto/README.md. Standard library only: it
runs during the build under the system Python.
"""

import argparse
import os
import re
import sys

PRIMS = {
    "bool": "bool",
    "int8": "int8_t",
    "int16": "int16_t",
    "uint16": "uint16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "float64": "double",
    "string": "sl_str",
    "bytes": "sl_bytes",
    "uuid": "sl_uuid",
    "records": "sl_records",
}
INT_RANGE = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
VARLEN = ("string", "bytes", "records")
INF = 1 << 15  # "N+" upper bound: above any int16 version


class DefError(Exception):
    pass


# ---------------------------------------------------------------- model ----


class Field:
    def __init__(self, name, typ, line):
        self.name = name
        self.line = line
        self.is_array = typ.startswith("[]")
        base = typ[2:] if self.is_array else typ
        self.base = base  # primitive name or struct name
        self.prim = base if base in PRIMS else None
        self.struct = None  # Struct when not a primitive
        self.lo = self.hi = None  # effective presence range
        self.null = None  # (lo, hi) or None
        self.tag = None
        self.default = None
        self.classic = False

    @property
    def ctype(self):
        return PRIMS[self.prim] if self.prim else self.struct.cname


class Struct:
    def __init__(self, msg, kname, cname, lo, hi):
        self.msg = msg
        self.kname = kname
        self.cname = cname
        self.lo, self.hi = lo, hi  # versions in which the struct is on the wire
        self.fields = []
        self.parent_field = None


class Message:
    def __init__(self, name, kind, lo, hi, flex, api=None):
        self.name = name
        self.kind = kind  # request, response, data, header
        self.lo, self.hi = lo, hi
        self.flex = flex  # first flexible version or None
        self.api = api
        self.root = Struct(self, name, name, lo, hi)
        self.structs = []  # every struct, children before parents

    def flex_expr(self, classic=False):
        if classic or self.flex is None or self.flex > self.hi:
            return "false"
        if self.flex <= self.lo:
            return "true"
        return "v >= %d" % self.flex


class Api:
    def __init__(self, name, key, lo, hi, served, flex, path):
        self.name = name
        self.key = key
        self.lo, self.hi = lo, hi
        self.served = served
        self.flex = flex
        self.path = path
        self.request = None
        self.response = None


# --------------------------------------------------------------- parser ----


def parse_range(s, where):
    m = re.fullmatch(r"(\d+)\+", s)
    if m:
        return int(m.group(1)), INF
    m = re.fullmatch(r"(\d+)-(\d+)", s)
    if m and int(m.group(1)) <= int(m.group(2)):
        return int(m.group(1)), int(m.group(2))
    m = re.fullmatch(r"\d+", s)
    if m:
        return int(s), int(s)
    raise DefError("%s: bad version range %r" % (where, s))


def clamp(r, lo, hi):
    a, b = max(r[0], lo), min(r[1], hi)
    return (a, b) if a <= b else None


def parse_attrs(toks, where, allowed):
    out = {}
    for t in toks:
        k, eq, v = t.partition("=")
        if k not in allowed:
            raise DefError("%s: unknown attribute %r" % (where, t))
        if k in out:
            raise DefError("%s: %s given twice" % (where, k))
        out[k] = v if eq else None
    return out


def parse_file(path):
    """Returns (apis, messages) defined in one .def file."""
    apis, msgs = [], []
    api = None
    cur = None  # Message whose fields follow
    stack = []  # [(indent depth, Struct)]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for no, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, no)
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if "\t" in line:
            raise DefError("%s: tabs are not allowed" % where)
        indent = len(line) - len(line.lstrip(" "))
        toks = line.split()
        if indent == 0:
            word = toks[0]
            if word == "api":
                if len(toks) < 2:
                    raise DefError("%s: api needs a name" % where)
                # "planned": the codec exists, the broker does not serve the
                # API yet (it is not advertised until a handler exists).
                planned = "planned" in toks[2:]
                a = parse_attrs([t for t in toks[2:] if t != "planned"], where,
                                ("key", "versions", "served", "flexible"))
                for req in ("key", "versions", "flexible"):
                    if a.get(req) is None:
                        raise DefError("%s: api needs %s=" % (where, req))
                lo, hi = parse_range(a["versions"], where)
                served = parse_range(a["served"], where) if a.get("served") else (lo, hi)
                if served[1] != hi or served[0] < lo:
                    raise DefError("%s: served must be a tail of versions" % where)
                flex = parse_flex(a["flexible"], where)
                api = Api(toks[1], int(a["key"]), lo, hi, served[0], flex, path)
                api.planned = planned
                apis.append(api)
                cur = None
            elif word in ("request", "response"):
                if api is None or len(toks) != 1:
                    raise DefError("%s: %s must follow an api line" % (where, word))
                if getattr(api, word) is not None:
                    raise DefError("%s: second %s for %s" % (where, word, api.name))
                cur = Message(api.name + word.capitalize(), word, api.lo, api.hi, api.flex, api)
                setattr(api, word, cur)
                msgs.append(cur)
                stack = [(0, cur.root)]
            elif word in ("data", "header"):
                if len(toks) < 2:
                    raise DefError("%s: %s needs a name" % (where, word))
                a = parse_attrs(toks[2:], where, ("versions", "flexible"))
                if a.get("versions") is None or a.get("flexible") is None:
                    raise DefError("%s: %s needs versions= and flexible=" % (where, word))
                lo, hi = parse_range(a["versions"], where)
                cur = Message(toks[1], word, lo, hi, parse_flex(a["flexible"], where))
                msgs.append(cur)
                api = None
                stack = [(0, cur.root)]
            else:
                raise DefError("%s: unknown directive %r" % (where, word))
            continue
        if cur is None:
            raise DefError("%s: field outside a message" % where)
        if indent % 2:
            raise DefError("%s: indent by two spaces per level" % where)
        depth = indent // 2
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if not stack or stack[-1][0] != depth - 1:
            raise DefError("%s: field indented too deep" % where)
        parent = stack[-1][1]
        fld = parse_field(cur, parent, toks, where)
        parent.fields.append(fld)
        if fld.struct is not None:
            stack.append((depth, fld.struct))
    return apis, msgs


def parse_flex(s, where):
    if s == "none":
        return None
    return parse_range(s, where)[0]


def parse_field(msg, parent, toks, where):
    if len(toks) < 2:
        raise DefError("%s: a field needs a name and a type" % where)
    name, typ = toks[0], toks[1]
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
        raise DefError("%s: field names are CamelCase: %r" % (where, name))
    if not re.fullmatch(r"(\[\])?[A-Za-z][A-Za-z0-9]*", typ):
        raise DefError("%s: bad type %r" % (where, typ))
    f = Field(name, typ, where)
    if f.prim is None and not re.fullmatch(r"[A-Z][A-Za-z0-9]*", f.base):
        raise DefError("%s: unknown type %r (struct names are CamelCase)" % (where, typ))
    a = parse_attrs(toks[2:], where, ("v", "null", "tag", "default", "classic"))
    rng = parse_range(a["v"], where) if a.get("v") else (parent.lo, INF)
    eff = clamp(rng, parent.lo, parent.hi)
    if eff is None or (a.get("v") and rng[0] < parent.lo):
        raise DefError("%s: versions %s outside the enclosing %d-%d" %
                       (where, a.get("v"), parent.lo, parent.hi))
    f.lo, f.hi = eff
    if "null" in a:
        nr = parse_range(a["null"], where) if a["null"] else (f.lo, INF)
        f.null = clamp(nr, f.lo, f.hi)
        if f.null is None:
            raise DefError("%s: null versions outside the field's versions" % where)
        if not (f.is_array or f.prim in VARLEN):
            raise DefError("%s: only strings, bytes, records and arrays can be null" % where)
    if "tag" in a:
        if not a["tag"] or not a["tag"].isdigit():
            raise DefError("%s: tag=N" % where)
        f.tag = int(a["tag"])
        if msg.flex is None or f.lo < msg.flex:
            raise DefError("%s: a tagged field must exist only in flexible versions" % where)
    if "classic" in a:
        if a["classic"] is not None:
            raise DefError("%s: classic takes no value" % where)
        f.classic = True
    if "default" in a:
        f.default = a["default"]
        check_default(f, where)
    if f.prim is None:
        if f.base in [s.kname for s in msg.structs] or f.base == msg.name:
            raise DefError("%s: struct %s defined twice" % (where, f.base))
        f.struct = Struct(msg, f.base, "%s_%s" % (msg.name, f.base), f.lo, f.hi)
        f.struct.parent_field = f
        msg.structs.append(f.struct)
    if name in [x.name for x in parent.fields]:
        raise DefError("%s: field %s defined twice" % (where, name))
    return f


def check_default(f, where):
    d = f.default
    if f.is_array or f.struct is not None and not f.is_array:
        if f.is_array and d == "null" and f.null is not None:
            return
        raise DefError("%s: arrays and structs take no default (other than null)" % where)
    if f.prim in INT_RANGE:
        try:
            n = int(d, 0)
        except ValueError:
            raise DefError("%s: bad integer default %r" % (where, d))
        lo, hi = INT_RANGE[f.prim]
        if not lo <= n <= hi:
            raise DefError("%s: default %s out of range for %s" % (where, d, f.prim))
    elif f.prim == "bool":
        if d not in ("true", "false"):
            raise DefError("%s: bool default is true or false" % where)
    elif f.prim == "float64":
        float(d)
    elif f.prim in ("string", "bytes", "records"):
        if d == "null":
            if f.null is None:
                raise DefError("%s: default null needs a nullable field" % where)
        elif not (f.prim == "string" and d == '""'):
            raise DefError("%s: string defaults are null or \"\"" % where)
    else:
        raise DefError("%s: %s takes no default" % (where, f.prim))


def check_structs(msg):
    def walk(s):
        if s is not msg.root and not s.fields:
            raise DefError("%s: struct %s has no fields" % (s.parent_field.line, s.kname))
        tags = {}
        names = set()
        for f in s.fields:
            if f.name + "_count" in names or (f.name.endswith("_count")):
                raise DefError("%s: name clashes with an array count" % f.line)
            names.add(f.name)
            if f.is_array:
                names.add(f.name + "_count")
            if f.tag is not None:
                if f.tag in tags:
                    raise DefError("%s: tag %d already used by %s" % (f.line, f.tag, tags[f.tag]))
                tags[f.tag] = f.name
            if f.struct is not None:
                walk(f.struct)

    walk(msg.root)


def load(paths):
    apis, msgs = [], []
    for p in paths:
        a, m = parse_file(p)
        apis += a
        msgs += m
    seen = {}
    for a in apis:
        if a.request is None or a.response is None:
            raise DefError("%s: api %s needs a request and a response" % (a.path, a.name))
        if a.key in seen:
            raise DefError("%s: api key %d already used by %s" % (a.path, a.key, seen[a.key]))
        seen[a.key] = a.name
    names = set()
    for m in msgs:
        if m.name in names:
            raise DefError("message %s defined twice" % m.name)
        names.add(m.name)
        check_structs(m)
    for need in ("RequestHeader", "ResponseHeader"):
        if need not in names:
            raise DefError("no %s defined" % need)
    apis.sort(key=lambda a: a.key)
    return apis, msgs


# ------------------------------------------------------------ C helpers ----


def cond(lo, hi, slo, shi):
    """C condition for version in [lo, hi] inside a struct present in [slo, shi]."""
    parts = []
    if lo > slo:
        parts.append("v >= %d" % lo)
    if hi < shi:
        parts.append("v <= %d" % hi)
    return " && ".join(parts) if parts else None


def null_expr(f, s):
    if f.null is None:
        return "false"
    return cond(f.null[0], f.null[1], f.lo, f.hi) or "true"


def c_default(f):
    """C expression for a scalar default, or None for zero."""
    d = f.default
    if d is None:
        if f.prim == "records":
            return "SL_RECORDS_NULL"
        return None
    if f.prim in INT_RANGE:
        n = int(d, 0)
        if n == 0:
            return None
        if f.prim == "int64":
            return "INT64_C(%d)" % n if n > -(2**63) else "INT64_MIN"
        if f.prim == "int32" and n == -(2**31):
            return "INT32_MIN"
        return "%d" % n
    if f.prim == "bool":
        return "true" if d == "true" else None
    if f.prim == "float64":
        return None if float(d) == 0 else repr(float(d))
    if f.prim == "string":
        return "SL_STR_NULL" if d == "null" else None
    if f.prim == "bytes":
        return "SL_BYTES_NULL" if d == "null" else None
    if f.prim == "records":
        return "SL_RECORDS_NULL"
    return None


class Out:
    def __init__(self):
        self.lines = []
        self.ind = 0

    def __call__(self, s=""):
        if s:
            self.lines.append("    " * self.ind + s)
        else:
            self.lines.append("")

    def func(self, head):
        self(head)
        self("{")
        self.ind += 1

    def block(self, head):
        self((head + " {") if head else "{")
        self.ind += 1

    def end(self, tail="}"):
        self.ind -= 1
        self(tail)

    def text(self):
        return "\n".join(self.lines) + "\n"


def tagged_needs_isdef(msg):
    """Structs used (directly or nested) as the payload of a tagged field."""
    need = set()

    def mark(s):
        need.add(s.cname)
        for f in s.fields:
            if f.struct is not None and not f.is_array:
                mark(f.struct)

    for s in msg.structs:
        f = s.parent_field
        if f.tag is not None and not f.is_array:
            mark(s)
    return need


def isdef_expr(f, acc):
    """C expression: field at acc still has its default (a tagged field is
    written only when it does not)."""
    if f.is_array:
        return "%s_count == %d" % (acc, -1 if f.default == "null" else 0)
    if f.struct is not None:
        return "isdef_%s(&%s)" % (f.struct.cname, acc)
    if f.prim in ("string", "bytes", "records"):
        if f.prim == "records" or f.default == "null":
            return "%s.len < 0" % acc
        return "%s.len == 0" % acc
    if f.prim == "uuid":
        return "sl_uuid_is_zero(&%s)" % acc
    d = c_default(f) or ("false" if f.prim == "bool" else "0")
    return "%s == %s" % (acc, d)


# ----------------------------------------------------------- C emitters ----


def emit_struct_decl(h, s):
    h("typedef struct %s {" % s.cname)
    for f in s.fields:
        where = "v%d+" % f.lo if f.hi >= s.hi else "v%d-%d" % (f.lo, f.hi)
        notes = [where] if (f.lo, f.hi) != (s.lo, s.hi) else []
        if f.null is not None:
            notes.append("null" if f.null == (f.lo, f.hi) else "null v%d+" % f.null[0])
        if f.tag is not None:
            notes.append("tag %d" % f.tag)
        if f.default is not None:
            notes.append("default %s" % f.default)
        note = ("  /* %s */" % ", ".join(notes)) if notes else ""
        if f.is_array:
            h("    %s *%s;%s" % (f.ctype, f.name, note))
            h("    int32_t %s_count;" % f.name)
        else:
            h("    %s %s;%s" % (f.ctype, f.name, note))
    if not s.fields:
        h("    char unused_; /* no fields in any version */")
    h("} %s;" % s.cname)
    h()


def emit_init(c, s):
    c.func("void %s_init(%s *o)" % (s.cname, s.cname))
    c("memset(o, 0, sizeof *o);")
    for f in s.fields:
        if f.is_array:
            if f.default == "null":
                c("o->%s_count = -1;" % f.name)
        elif f.struct is not None:
            c("%s_init(&o->%s);" % (f.struct.cname, f.name))
        else:
            d = c_default(f)
            if d is not None:
                c("o->%s = %s;" % (f.name, d))
    c.end()
    c()


def read_scalar(f, dst, flex, nullable, rd):
    p = f.prim
    if p == "bool":
        return "%s = sl_proto_read_bool(%s);" % (dst, rd)
    if p in ("int8", "int16", "int32", "int64"):
        return "%s = sl_read_i%s(%s);" % (dst, p[3:], rd)
    if p == "uint16":
        return "%s = sl_proto_read_u16(%s);" % (dst, rd)
    if p == "float64":
        return "%s = sl_proto_read_f64(%s);" % (dst, rd)
    if p == "uuid":
        return "sl_proto_read_uuid(%s, &%s);" % (rd, dst)
    return "sl_proto_read_%s(%s, %s, %s, &%s);" % ({"string": "str"}.get(p, p), rd, flex,
                                                   nullable, dst)


def emit_read_field(c, f, s, rd="r"):
    """Reads field f of struct s from reader pointer `rd`."""
    flex = "flex" if not f.classic else "false"
    nul = null_expr(f, s)
    acc = "o->" + f.name
    if f.is_array:
        c("%s_count = sl_proto_read_count(%s, %s, %s);" % (acc, rd, flex, nul))
        c("%s = sl_proto_alloc(%s, a, &%s_count, sizeof *%s);" % (acc, rd, acc, acc))
        c.block("for (int32_t i = 0; i < %s_count && !%s->err; i++)" % (acc, rd))
        if f.struct is not None:
            c("dec_%s(%s, a, v, &%s[i]);" % (f.struct.cname, rd, acc))
        else:
            c(read_scalar(f, "%s[i]" % acc, flex, "false", rd))
        c.end()
    elif f.struct is not None:
        c("dec_%s(%s, a, v, &%s);" % (f.struct.cname, rd, acc))
    else:
        c(read_scalar(f, acc, flex, nul, rd))


def write_scalar(f, src, flex, nullable):
    p = f.prim
    if p == "bool":
        return "sl_proto_put_bool(b, %s);" % src
    if p in ("int8", "int16", "int32", "int64"):
        return "sl_buf_put_i%s(b, %s);" % (p[3:], src)
    if p == "uint16":
        return "sl_proto_put_u16(b, %s);" % src
    if p == "float64":
        return "sl_proto_put_f64(b, %s);" % src
    if p == "uuid":
        return "sl_proto_put_uuid(b, &%s);" % src
    return "sl_proto_put_%s(b, %s, %s, %s);" % ({"string": "str"}.get(p, p), flex, nullable, src)


def size_scalar(f, src, flex, nullable):
    p = f.prim
    fixed = {"bool": 1, "int8": 1, "int16": 2, "uint16": 2, "int32": 4, "int64": 8,
             "float64": 8, "uuid": 16}
    if p in fixed:
        return "%d" % fixed[p]
    return "sl_proto_%s_size(%s, %s, %s)" % ({"string": "str"}.get(p, p), flex, nullable, src)


def emit_write_field(c, f, s):
    flex = "flex" if not f.classic else "false"
    nul = null_expr(f, s)
    acc = "o->" + f.name
    if f.is_array:
        c("sl_proto_put_count(b, %s, %s, %s_count);" % (flex, nul, acc))
        c.block("for (int32_t i = 0; i < %s_count; i++)" % acc)
        if f.struct is not None:
            c("enc_%s(b, v, &%s[i]);" % (f.struct.cname, acc))
        else:
            c(write_scalar(f, "%s[i]" % acc, flex, "false"))
        c.end()
    elif f.struct is not None:
        c("enc_%s(b, v, &%s);" % (f.struct.cname, acc))
    else:
        c(write_scalar(f, acc, flex, nul))


def emit_size_field(c, f, s, var="n"):
    flex = "flex" if not f.classic else "false"
    nul = null_expr(f, s)
    acc = "o->" + f.name
    if f.is_array:
        c("%s += sl_proto_count_size(%s, %s, %s_count);" % (var, flex, nul, acc))
        if f.struct is not None:
            c.block("for (int32_t i = 0; i < %s_count; i++)" % acc)
            c("%s += sz_%s(v, &%s[i]);" % (var, f.struct.cname, acc))
            c.end()
        elif f.prim in VARLEN:
            c.block("for (int32_t i = 0; i < %s_count; i++)" % acc)
            c("%s += %s;" % (var, size_scalar(f, "%s[i]" % acc, flex, "false")))
            c.end()
        else:
            c.block("if (%s_count > 0)" % acc)
            c("%s += (size_t)%s_count * %s;" % (var, acc, size_scalar(f, None, flex, "false")))
            c.end()
    elif f.struct is not None:
        c("%s += sz_%s(v, &%s);" % (var, f.struct.cname, acc))
    else:
        c("%s += %s;" % (var, size_scalar(f, acc, flex, nul)))


def guarded(c, f, s, emit):
    cnd = cond(f.lo, f.hi, s.lo, s.hi)
    if cnd:
        c.block("if (%s)" % cnd)
        emit()
        c.end()
    else:
        emit()


def tag_present(f, s):
    """C condition under which tagged field f is written."""
    parts = []
    cnd = cond(f.lo, f.hi, s.lo, s.hi)
    if cnd:
        parts.append(cnd)
    parts.append("!(%s)" % isdef_expr(f, "o->" + f.name))
    return " && ".join(parts)


def emit_codec(c, msg, s, isdefs):
    regular = [f for f in s.fields if f.tag is None]
    tagged = sorted([f for f in s.fields if f.tag is not None], key=lambda f: f.tag)
    flex = msg.flex_expr()
    has_flex = flex != "false"

    # isdef
    if s.cname in isdefs:
        c.func("static bool isdef_%s(const %s *o)" % (s.cname, s.cname))
        exprs = [isdef_expr(f, "o->" + f.name) for f in s.fields]
        c("return %s;" % ("\n        && ".join(exprs) if exprs else "true"))
        c.end()
        c()

    # decode
    c.func("static void dec_%s(sl_reader *r, sl_arena *a, int16_t v, %s *o)" % (s.cname, s.cname))
    c("const bool flex = %s;" % flex)
    c("(void)flex;")
    c("(void)a;")
    c("%s_init(o);" % s.cname)
    for f in regular:
        guarded(c, f, s, lambda f=f: emit_read_field(c, f, s))
    if has_flex:
        c.block("if (flex)")
        if not tagged:
            c("sl_proto_skip_tags(r);")
        else:
            c("uint32_t ntags = sl_read_uvarint(r);")
            c.block("for (uint32_t t = 0; t < ntags && !r->err; t++)")
            c("sl_reader sub;")
            c("sl_reader *sr = &sub;")
            c("bool known = false;")
            c("uint32_t tag = sl_proto_tag_open(r, &sub);")
            c("switch (tag) {")
            for f in tagged:
                c("case %d:" % f.tag)
                c.ind += 1
                cnd = cond(f.lo, f.hi, s.lo, s.hi)
                if cnd:
                    c.block("if (%s)" % cnd)
                c("known = true;")
                # The payload is decoded from `sub`, which covers exactly its bytes.
                emit_read_field(c, f, s, "sr")
                if cnd:
                    c.end()
                c("break;")
                c.ind -= 1
            c("default:")
            c("    break;")
            c("}")
            c("sl_proto_tag_close(r, &sub, known);")
            c.end()
        c.end()
    c.end()
    c()

    # encode
    c.func("static void enc_%s(sl_buf *b, int16_t v, const %s *o)" % (s.cname, s.cname))
    c("const bool flex = %s;" % flex)
    c("(void)flex;")
    for f in regular:
        guarded(c, f, s, lambda f=f: emit_write_field(c, f, s))
    if has_flex:
        c.block("if (flex)")
        if not tagged:
            c("sl_buf_put_uvarint(b, 0);")
        else:
            for f in tagged:
                c("const bool t%d = %s;" % (f.tag, tag_present(f, s)))
            c("sl_buf_put_uvarint(b, %s);" % " + ".join("(uint32_t)t%d" % f.tag for f in tagged))
            for f in tagged:
                c.block("if (t%d)" % f.tag)
                c("size_t sz = 0;")
                emit_size_field(c, f, s, "sz")
                c("sl_proto_put_tag(b, %d, sz);" % f.tag)
                emit_write_field(c, f, s)
                c.end()
        c.end()
    c.end()
    c()

    # size
    c.func("static size_t sz_%s(int16_t v, const %s *o)" % (s.cname, s.cname))
    c("const bool flex = %s;" % flex)
    c("(void)flex;")
    c("(void)o;")
    c("size_t n = 0;")
    for f in regular:
        guarded(c, f, s, lambda f=f: emit_size_field(c, f, s))
    if has_flex:
        c.block("if (flex)")
        if not tagged:
            c("n += 1;")
        else:
            c("uint32_t ntags = 0;")
            for f in tagged:
                c.block("if (%s)" % tag_present(f, s))
                c("size_t sz = 0;")
                emit_size_field(c, f, s, "sz")
                c("n += sl_proto_tag_size(%d, sz);" % f.tag)
                c("ntags++;")
                c.end()
            c("n += sl_uvarint_size(ntags);")
        c.end()
    c("return n;")
    c.end()
    c()


def version_check(msg):
    return "version < %d || version > %d" % (msg.lo, msg.hi)


def emit_message(c, msg):
    isdefs = tagged_needs_isdef(msg)
    ordered = order_structs(msg)  # callees before callers
    for s in ordered:
        emit_init(c, s)
    for s in ordered:
        emit_codec(c, msg, s, isdefs)
    n = msg.name
    c.func("int %s_decode(sl_reader *r, sl_arena *a, int16_t version, %s *out)" % (n, n))
    c.block("if (%s)" % version_check(msg))
    c("%s_init(out);" % n)
    c("return SL_ERR_UNSUPPORTED_VERSION;")
    c.end()
    c.block("if (r->err)")
    c("%s_init(out);" % n)
    c("return r->err;")
    c.end()
    c("dec_%s(r, a, version, out);" % n)
    c("return r->err;")
    c.end()
    c()
    c.func("void %s_encode(sl_buf *b, int16_t version, const %s *in)" % (n, n))
    c("if (%s) sl_proto_bad_version(\"%s\", version);" % (version_check(msg), n))
    c("enc_%s(b, version, in);" % n)
    c.end()
    c()
    c.func("size_t %s_size(int16_t version, const %s *in)" % (n, n))
    c("if (%s) sl_proto_bad_version(\"%s\", version);" % (version_check(msg), n))
    c("return sz_%s(version, in);" % n)
    c.end()
    c()


def order_structs(msg):
    out = []

    def visit(s):
        for f in s.fields:
            if f.struct is not None:
                visit(f.struct)
        out.append(s)

    visit(msg.root)
    return out


def api_enum_name(name):
    return "SL_API_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def gen_header(apis, msgs):
    h = Out()
    h("/* Generated by tools/protogen.py from proto/<api>.def. Do not edit. */")
    h("#ifndef SL_PROTO_GEN_H")
    h("#define SL_PROTO_GEN_H")
    h()
    h("#include <stdbool.h>")
    h("#include <stddef.h>")
    h("#include <stdint.h>")
    h()
    h('#include "base/arena.h"')
    h('#include "base/buf.h"')
    h('#include "base/bytes.h"')
    h('#include "proto/types.h"')
    h()
    h("enum sl_api_key {")
    for a in apis:
        h("    %s = %d," % (api_enum_name(a.name), a.key))
    h("};")
    h()
    h("#define SL_API_COUNT %d" % len(apis))
    h("#define SL_API_MAX_KEY %d" % max(a.key for a in apis))
    h()
    for m in msgs:
        vers = "v%d-%d" % (m.lo, m.hi) if m.lo != m.hi else "v%d" % m.lo
        flex = "flexible from v%d" % m.flex if m.flex is not None and m.flex <= m.hi else "never flexible"
        h("/* ---- %s (%s, %s%s) */" % (m.name, vers, flex,
                                        ", api key %d" % m.api.key if m.api else ""))
        h()
        for s in order_structs(m):
            emit_struct_decl(h, s)
        for s in order_structs(m):
            h("void %s_init(%s *o);" % (s.cname, s.cname))
        n = m.name
        h("int %s_decode(sl_reader *r, sl_arena *a, int16_t version, %s *out);" % (n, n))
        h("void %s_encode(sl_buf *b, int16_t version, const %s *in);" % (n, n))
        h("size_t %s_size(int16_t version, const %s *in);" % (n, n))
        h()
    h("#endif")
    return h.text()


def gen_source(apis, msgs):
    c = Out()
    c("/* Generated by tools/protogen.py from proto/<api>.def. Do not edit. */")
    c('#include "proto_gen.h"')
    c()
    c("#include <stdio.h>")
    c("#include <stdlib.h>")
    c("#include <string.h>")
    c()
    c('#include "proto/api.h"')
    c('#include "proto/prim.h"')
    c()
    c("static void sl_proto_bad_version(const char *msg, int16_t version)")
    c("{")
    c('    fprintf(stderr, "proto: %s encoded at unsupported version %d\\n", msg, version);')
    c("    abort();")
    c("}")
    c()
    for m in msgs:
        c("/* ---- %s */" % m.name)
        c()
        emit_message(c, m)
    # API table
    for a in apis:
        for m in (a.request, a.response):
            n = m.name
            c("static void vinit_%s(void *o) { %s_init(o); }" % (n, n))
            c("static int vdec_%s(sl_reader *r, sl_arena *a, int16_t v, void *o)" % n)
            c("{")
            c("    return %s_decode(r, a, v, o);" % n)
            c("}")
            c("static void venc_%s(sl_buf *b, int16_t v, const void *o)" % n)
            c("{")
            c("    %s_encode(b, v, o);" % n)
            c("}")
            c("static size_t vsz_%s(int16_t v, const void *o) { return %s_size(v, o); }" % (n, n))
    c()
    c("static const sl_api_info apis[SL_API_COUNT] = {")
    for a in apis:
        rq, rs = a.request.name, a.response.name
        flex = a.flex if a.flex is not None and a.flex <= a.hi else -1
        c("    {%s, \"%s\", %d, %d, %d, %d," % (api_enum_name(a.name), a.name, a.lo, a.served,
                                            a.hi, flex))
        c("     sizeof(%s), sizeof(%s), vinit_%s, vinit_%s, vdec_%s, vdec_%s," %
          (rq, rs, rq, rs, rq, rs))
        c("     venc_%s, venc_%s, vsz_%s, vsz_%s}," % (rq, rs, rq, rs))
    c("};")
    c()
    c("static const signed char api_index[SL_API_MAX_KEY + 1] = {")
    idx = {a.key: i for i, a in enumerate(apis)}
    row = []
    for k in range(max(idx) + 1):
        row.append("%d" % idx.get(k, -1))
    for i in range(0, len(row), 16):
        c("    " + ", ".join(row[i:i + 16]) + ",")
    c("};")
    c()
    c("const sl_api_info *sl_api_get(int16_t api_key)")
    c("{")
    c("    if (api_key < 0 || api_key > SL_API_MAX_KEY || api_index[api_key] < 0) return NULL;")
    c("    return &apis[api_index[api_key]];")
    c("}")
    c()
    c("const sl_api_info *sl_api_list(size_t *count)")
    c("{")
    c("    *count = SL_API_COUNT;")
    c("    return apis;")
    c("}")
    return c.text()


# ---------------------------------------------------------- test source ----


def fill_scalar(f, dst):
    """Statements filling scalar dst with a non-default value."""
    p = f.prim
    if p == "bool":
        d = f.default == "true"
        return ["%s = %s;" % (dst, "false" if d else "true")]
    if p in INT_RANGE:
        lo, hi = INT_RANGE[p]
        d = int(f.default, 0) if f.default is not None else 0
        span = min(hi, 100)
        return ["%s = (%s)tval(c, %d, %d);" % (dst, PRIMS[p], d, span)]
    if p == "float64":
        return ["%s = (double)tval(c, 0, 1000) + 0.5;" % dst]
    if p == "uuid":
        return ["tuuid(c, &%s);" % dst]
    if p == "string":
        return ["%s = tstr(c);" % dst]
    if p == "bytes":
        return ["%s = tbytes(c);" % dst]
    if p == "records":
        return ["%s = trecords(c);" % dst]
    raise AssertionError(p)


def emit_fill(t, msg, s):
    t.func("static void fill_%s(tctx *c, int16_t v, int mode, %s *o)" % (s.cname, s.cname))
    t("(void)v;")
    t("(void)mode;")
    t("(void)c;")
    for f in s.fields:
        cnd = cond(f.lo, f.hi, s.lo, s.hi)
        if cnd:
            t.block("if (%s)" % cnd)
        if f.tag is not None:
            # mode 0 sets tagged fields (written); others leave defaults (omitted)
            t.block("if (mode == 0)")
        nul = null_expr(f, s)
        acc = "o->" + f.name
        if f.is_array:
            t.block("if (mode == 0)")
            t("%s_count = 2;" % acc)
            t("%s = tarr(c, 2, sizeof *%s);" % (acc, acc))
            t.block("for (int32_t i = 0; i < 2; i++)")
            if f.struct is not None:
                t("%s_init(&%s[i]);" % (f.struct.cname, acc))
                t("fill_%s(c, v, mode, &%s[i]);" % (f.struct.cname, acc))
            else:
                for ln in fill_scalar(f, "%s[i]" % acc):
                    t(ln)
            t.end()
            t.end("} else {")
            t.ind += 1
            t("%s_count = (mode == 1 && (%s)) ? -1 : 0;" % (acc, nul))
            t.end()
        elif f.struct is not None:
            t("fill_%s(c, v, mode, &%s);" % (f.struct.cname, acc))
        elif f.prim in VARLEN:
            t.block("if (mode == 0)")
            for ln in fill_scalar(f, acc):
                t(ln)
            t.end("} else {")
            t.ind += 1
            z = {"string": "sl_str_n(\"\", 0)", "bytes": "sl_bytes_n(\"\", 0)",
                 "records": "sl_records_mem(\"\", 0)"}[f.prim]
            zn = {"string": "SL_STR_NULL", "bytes": "SL_BYTES_NULL",
                  "records": "SL_RECORDS_NULL"}[f.prim]
            t("%s = (mode == 1 && (%s)) ? %s : %s;" % (acc, nul, zn, z))
            t.end()
        else:
            for ln in fill_scalar(f, acc):
                t(ln)
        if f.tag is not None:
            t.end()
        if cnd:
            t.end()
    t.end()
    t()


def gen_test(apis, msgs):
    t = Out()
    t("/* Generated by tools/protogen.py from proto/<api>.def. Do not edit.")
    t(" *")
    t(" * Round trip of every message at every version it has, in three fillings:")
    t(" * 0 = every field present in the version set to a non-default value,")
    t(" *     arrays of two elements, nullable fields non-null, tagged fields set;")
    t(" * 1 = nullable fields null, other arrays and strings empty, tags omitted;")
    t(" * 2 = everything empty but not null.")
    t(" * Each is encoded, its size checked, decoded, re-encoded and compared byte")
    t(" * for byte; then every strict prefix of the encoding must fail to decode")
    t(" * (from an exactly-sized copy, so sanitizers catch any over-read).")
    t(" * With SL_PROTO_SEED_DIR set, request frames are also written there as")
    t(" * seeds for the request fuzzer. */")
    t("#include <setjmp.h>")
    t("#include <stdarg.h>")
    t("#include <stddef.h>")
    t("#include <stdint.h>")
    t("#include <cmocka.h>")
    t("#include <stdio.h>")
    t("#include <stdlib.h>")
    t("#include <string.h>")
    t()
    t('#include "base/arena.h"')
    t('#include "base/buf.h"')
    t('#include "proto/api.h"')
    t('#include "proto_gen.h"')
    t()
    t(TEST_SUPPORT)
    for m in msgs:
        for s in order_structs(m):
            emit_fill(t, m, s)
        n = m.name
        t("static void tinit_%s(void *o) { %s_init(o); }" % (n, n))
        t("static void tfill_%s(tctx *c, int16_t v, int mode, void *o) { fill_%s(c, v, mode, o); }"
          % (n, n))
        t("static int tdec_%s(sl_reader *r, sl_arena *a, int16_t v, void *o)" % n)
        t("{")
        t("    return %s_decode(r, a, v, o);" % n)
        t("}")
        t("static void tenc_%s(sl_buf *b, int16_t v, const void *o) { %s_encode(b, v, o); }"
          % (n, n))
        t("static size_t tsz_%s(int16_t v, const void *o) { return %s_size(v, o); }" % (n, n))
        t()
        key = m.api.key if (m.api and m.kind == "request") else -1
        t("static void test_%s(void **state)" % n)
        t("{")
        t("    (void)state;")
        t("    static const tmsg d = {\"%s\", %d, %d, %d, sizeof(%s), tinit_%s, tfill_%s," %
          (n, m.lo, m.hi, key, n, n, n))
        t("                           tdec_%s, tenc_%s, tsz_%s};" % (n, n, n))
        t("    run_message(&d);")
        t("}")
        t()
    t("int main(void)")
    t("{")
    t("    const struct CMUnitTest tests[] = {")
    for m in msgs:
        t("        cmocka_unit_test(test_%s)," % m.name)
    t("    };")
    t("    return cmocka_run_group_tests(tests, NULL, NULL);")
    t("}")
    return t.text()


TEST_SUPPORT = r"""
typedef struct tctx {
    sl_arena arena;
    uint32_t n; /* counter behind every generated value */
} tctx;

/* A value that differs from the field's default, varied per call. */
static int64_t tval(tctx *c, int64_t dflt, int64_t span)
{
    int64_t x = 1 + (int64_t)(c->n++ % (uint32_t)span);
    return x == dflt ? x + 1 : x;
}

static void *tarr(tctx *c, int32_t n, size_t size)
{
    void *p = sl_arena_alloc_array(&c->arena, (size_t)n, size);
    assert_non_null(p);
    return p;
}

static sl_str tstr(tctx *c)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "s%u-%.*s", c->n, (int)(c->n % 7), "abcdefg");
    c->n++;
    return sl_str_n(sl_arena_strndup(&c->arena, tmp, (size_t)len), len);
}

static sl_bytes tbytes(tctx *c)
{
    int32_t len = 1 + (int32_t)(c->n % 9);
    uint8_t *p = tarr(c, len, 1);
    for (int32_t i = 0; i < len; i++)
        p[i] = (uint8_t)(c->n * 31 + (uint32_t)i);
    c->n++;
    return sl_bytes_n(p, len);
}

static sl_records trecords(tctx *c)
{
    sl_bytes b = tbytes(c);
    return sl_records_mem(b.ptr, b.len);
}

static void tuuid(tctx *c, sl_uuid *u)
{
    for (int i = 0; i < 16; i++)
        u->b[i] = (uint8_t)(c->n + (uint32_t)i * 7 + 1);
    c->n++;
}

typedef struct tmsg {
    const char *name;
    int16_t lo, hi;
    int16_t api_key; /* requests only, else -1: for fuzz seeds */
    size_t size;
    void (*init)(void *);
    void (*fill)(tctx *, int16_t, int, void *);
    int (*dec)(sl_reader *, sl_arena *, int16_t, void *);
    void (*enc)(sl_buf *, int16_t, const void *);
    size_t (*sz)(int16_t, const void *);
} tmsg;

static void write_file(const char *dir, const char *name, int16_t v, int mode, const sl_buf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-v%d-m%d", dir, name, v, mode);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (b->len) assert_int_equal(fwrite(b->data, 1, b->len, fp), b->len);
    fclose(fp);
}

static void write_seed(const tmsg *d, int16_t v, int mode, const sl_buf *body)
{
    /* Bodies alone, for cross-checks with other implementations' codecs. */
    const char *bdir = getenv("SL_PROTO_BODY_DIR");
    if (bdir) write_file(bdir, d->name, v, mode, body);
    const char *dir = getenv("SL_PROTO_SEED_DIR");
    if (!dir || d->api_key < 0) return;
    sl_buf f;
    sl_buf_init(&f);
    RequestHeader h;
    RequestHeader_init(&h);
    h.RequestApiKey = d->api_key;
    h.RequestApiVersion = v;
    h.CorrelationId = 1000 + v;
    h.ClientId = SL_STR_LIT("protogen");
    sl_proto_request_header_encode(&f, &h);
    sl_buf_put(&f, body->data, body->len);
    char name[256];
    snprintf(name, sizeof name, "gen-%s", d->name);
    write_file(dir, name, v, mode, &f);
    sl_buf_fini(&f);
}

static void run_one(const tmsg *d, int16_t v, int mode)
{
    tctx c;
    sl_arena_init(&c.arena, 4096, 0);
    c.n = (uint32_t)v * 1000u + (uint32_t)mode * 100u;
    void *m = tarr(&c, 1, d->size);
    void *m2 = tarr(&c, 1, d->size);
    d->init(m);
    d->fill(&c, v, mode, m);

    sl_buf b1, b2;
    sl_buf_init(&b1);
    sl_buf_init(&b2);
    d->enc(&b1, v, m);
    if (b1.len != d->sz(v, m))
        fail_msg("%s v%d mode %d: size() %zu != encoded %zu", d->name, v, mode, d->sz(v, m),
                 b1.len);

    sl_arena a;
    sl_arena_init(&a, 4096, 1u << 20);
    sl_reader r;
    /* An empty encoding has no buffer: never offset a NULL pointer. */
    sl_reader_init(&r, b1.len ? b1.data : (const uint8_t *)"", b1.len);
    int rc = d->dec(&r, &a, v, m2);
    if (rc != 0)
        fail_msg("%s v%d mode %d: decode failed: %s at %zu", d->name, v, mode, sl_err_str(rc),
                 sl_reader_offset(&r));
    assert_int_equal(sl_reader_left(&r), 0);
    d->enc(&b2, v, m2);
    assert_int_equal(b2.len, b1.len);
    if (b1.len && memcmp(b1.data, b2.data, b1.len) != 0)
        fail_msg("%s v%d mode %d: re-encoding differs", d->name, v, mode);
    write_seed(d, v, mode, &b1);

    /* Every strict prefix is an error, never a crash or an over-read. */
    for (size_t len = 0; len < b1.len; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        assert_non_null(cut);
        memcpy(cut, b1.data, len);
        sl_reader_init(&r, cut, len);
        sl_arena_reset(&a);
        rc = d->dec(&r, &a, v, m2);
        if (rc == 0)
            fail_msg("%s v%d mode %d: prefix of %zu/%zu bytes decoded", d->name, v, mode, len,
                     b1.len);
        assert_true(sl_reader_offset(&r) <= len);
        free(cut);
    }
    sl_arena_fini(&a);
    sl_buf_fini(&b1);
    sl_buf_fini(&b2);
    sl_arena_fini(&c.arena);
}

static void run_message(const tmsg *d)
{
    for (int16_t v = d->lo; v <= d->hi; v++)
        for (int mode = 0; mode < 3; mode++)
            run_one(d, v, mode);
    /* Versions outside the range are refused. */
    sl_arena a;
    sl_arena_init(&a, 4096, 1u << 20);
    void *m = sl_arena_alloc(&a, d->size);
    const uint8_t zeros[64] = {0};
    sl_reader r;
    sl_reader_init(&r, zeros, sizeof zeros);
    assert_int_equal(d->dec(&r, &a, (int16_t)(d->hi + 1), m), SL_ERR_UNSUPPORTED_VERSION);
    sl_reader_init(&r, zeros, sizeof zeros);
    assert_int_equal(d->dec(&r, &a, -1, m), SL_ERR_UNSUPPORTED_VERSION);
    sl_arena_fini(&a);
}
"""


# ------------------------------------------------------------------ docs ----


def gen_docs(apis, msgs):
    o = []
    o.append("# Kafka protocol support")
    o.append("")
    o.append("Generated by `tools/protogen.py --docs` from `proto/*.def`; do not edit by hand.")
    o.append("")
    o.append("*Advertised* is the range the ApiVersions response lists; every version in it")
    o.append("is decoded and encoded by the generated codecs. *Served* is the range the")
    o.append("broker answers normally: a request below it gets UNSUPPORTED_VERSION (Produce")
    o.append("v0-2, advertised only because old librdkafka switches compression off")
    o.append("otherwise). *Flexible from* is the first version with compact encodings and")
    o.append("tagged fields; flexible requests use request header v2, and their responses")
    o.append("use response header v1, except ApiVersions, whose response always uses header v0.")
    o.append("")
    o.append("| key | API | advertised | served | flexible from |")
    o.append("|---:|---|---|---|---|")

    def rng(a, b):
        return "%d" % a if a == b else "%d-%d" % (a, b)

    for a in apis:
        flex = "v%d" % a.flex if a.flex is not None and a.flex <= a.hi else "never"
        if getattr(a, "planned", False):
            o.append("| %d | %s | not yet (codec only) | - | %s |" % (a.key, a.name, flex))
            continue
        o.append("| %d | %s | %s | %s | %s |" % (a.key, a.name, rng(a.lo, a.hi),
                                              rng(a.served, a.hi), flex))
    o.append("")
    o.append("Other versioned structures (no header, no API key):")
    o.append("")
    o.append("| structure | versions | flexible from |")
    o.append("|---|---|---|")
    for m in msgs:
        if m.kind in ("data", "header"):
            flex = "v%d" % m.flex if m.flex is not None and m.flex <= m.hi else "never"
            o.append("| %s | %s | %s |" % (m.name, rng(m.lo, m.hi), flex))
    o.append("")
    o.append("Request header v1 carries ApiKey, ApiVersion, CorrelationId and ClientId; v2")
    o.append("adds a tagged-field section, while ClientId stays a classic int16-length string.")
    o.append("")
    return "\n".join(o)


# ------------------------------------------------------------------ main ----


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    tmp = "%s.%d.tmp" % (path, os.getpid())  # parallel builds may race here
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="directory for proto_gen.{c,h} and proto_gen_test.c")
    ap.add_argument("--docs", help="write the API/version matrix (markdown) here")
    ap.add_argument("defs", nargs="+")
    args = ap.parse_args()
    if not args.out and not args.docs:
        ap.error("give --out and/or --docs")
    try:
        apis, msgs = load(sorted(args.defs))
    except DefError as e:
        print("protogen: %s" % e, file=sys.stderr)
        return 1
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_if_changed(os.path.join(args.out, "proto_gen.h"), gen_header(apis, msgs))
        write_if_changed(os.path.join(args.out, "proto_gen.c"), gen_source(apis, msgs))
        write_if_changed(os.path.join(args.out, "proto_gen_test.c"), gen_test(apis, msgs))
    if args.docs:
        write_if_changed(args.docs, gen_docs(apis, msgs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
