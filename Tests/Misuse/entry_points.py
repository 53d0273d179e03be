"""Entry-point coverage of the misuse suite (used by check-entry-point-coverage).

Lists the public functions, initializers, subscripts and methods of ZiggyAlloc and ZiggyMmap that
take at least one parameter, from the symbol graphs `swift package dump-symbol-graph` writes (with
--include-spi-symbols: the `@_spi(AllocatorImplementation)` ones are entry points too, counted
like the others and reported as SPI in the summary), and
compares them with the table in Tests/ZiggyMmapTests/Misuse/EntryPoints.swift and with the log of
hostile inputs the suite recorded while it ran ($ZIGGY_MISUSE_LOG, one line per input: entry point,
input, test).

  covered    an entry point some test fed at least one hostile input (it is in the run log)
  explained  an entry point whose table line ends with "// no hostile input: <reason>"
  uncovered  everything else: new entry points missing from the table, and table entries without
             a reason that no test exercised

K, the number of hostile inputs tried, is the number of distinct (entry point, input) pairs in the
log: each is one input really passed to that entry point during the run (a row of the request
matrix against one allocator, one file type in one mode, one parameterized argument, one loop
case). The same input recorded twice for the same entry point (two tests, a retried round) counts
once; inputs are not multiplied by the number of assertions made about them.
"""
import json, glob, os, re, sys, collections

KINDS = {"swift.func", "swift.func.op", "swift.init", "swift.subscript", "swift.method",
         "swift.type.method", "swift.type.subscript"}
MODULES = ("ZiggyAlloc", "ZiggyMmap")

def split_top(text):
    """Splits a parameter clause at top-level commas."""
    parts, depth, current = [], 0, ""
    for i, ch in enumerate(text):
        if ch in "(<[": depth += 1
        if ch in ")]" or (ch == ">" and text[i - 1:i] != "-"): depth -= 1
        if ch == "," and depth == 0:
            parts.append(current); current = ""
        else:
            current += ch
    if current.strip(): parts.append(current)
    return [p.strip() for p in parts]

def parameter_types(declaration):
    """The parameter types of a declaration, with their ownership modifiers (inout, borrowing,
    consuming) and without labels or default values: "(borrowing DeferScope, Int)"."""
    generic = 0
    start = None
    for i, ch in enumerate(declaration):
        if ch == "<": generic += 1
        elif ch == ">": generic -= 1
        elif ch == "(" and generic == 0:
            start = i; break
    if start is None: return []
    depth = 0
    for j in range(start, len(declaration)):
        if declaration[j] == "(": depth += 1
        elif declaration[j] == ")":
            depth -= 1
            if depth == 0: break
    types = []
    for p in split_top(declaration[start + 1:j]):
        p = re.sub(r"\s*=\s*.*$", "", p)
        types.append(p.split(": ", 1)[1] if ": " in p else p)
    return types

def load(directory):
    symbols = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.symbols.json"))):
        name = os.path.basename(path)[:-len(".symbols.json")]
        module = name.split("@")[0]
        if module not in MODULES:
            continue
        graph = json.load(open(path))
        # A protocol requirement and its default implementation share name, types and
        # constraints; the relationships tell them apart.
        roles = {r["source"]: r["kind"] for r in graph.get("relationships", [])
                 if r["kind"] in ("requirementOf", "optionalRequirementOf", "defaultImplementationOf")}
        for s in graph["symbols"]:
            if s["kind"]["identifier"] not in KINDS: continue
            if s.get("accessLevel") not in ("public", "open"): continue
            params = s.get("functionSignature", {}).get("parameters", [])
            if not params: continue
            usr = s["identifier"]["precise"]
            cons = [c["lhs"] + (": " if c["kind"] == "conformance" else " == ") + c["rhs"]
                    for c in s.get("swiftGenerics", {}).get("constraints", [])]
            symbols[usr] = dict(module=module, path=".".join(s["pathComponents"][:-1]), title=s["names"]["title"],
                                types=parameter_types("".join(f["spelling"] for f in s["declarationFragments"])), constraints=cons, usr=usr,
                                spi=bool(s.get("spi")),
                                role={"defaultImplementationOf": "default implementation"}.get(roles.get(usr, ""),
                                      "requirement" if roles.get(usr, "").endswith("requirementOf") else ""))
    # Readable keys: "Module Type.name(labels:)"; overloads that share one are told apart by their
    # parameter types when those differ, else by their own generic constraints.
    base = collections.defaultdict(list)
    for s in symbols.values():
        s["key"] = f'{s["module"]} {s["path"] + "." if s["path"] else ""}{s["title"]}'
        base[s["key"]].append(s)
    for key, group in base.items():
        if len(group) == 1: continue
        shared = set.intersection(*[set(s["constraints"]) for s in group])
        by_types = len({tuple(s["types"]) for s in group}) == len(group)
        for s in group:
            if by_types:
                s["key"] = key + " (" + ", ".join(s["types"]) + ")"
            else:
                own = [c for c in s["constraints"] if c not in shared]
                s["key"] = key + (" where " + ", ".join(own) if own else "")
        if len({s["key"] for s in group}) < len(group):
            # Neither alone tells them apart (an array and a span overload, each with a
            # BitwiseCopyable and a TrivialElement form): both, then the USR as a last resort.
            for s in group:
                own = [c for c in s["constraints"] if c not in shared]
                s["key"] = key + " (" + ", ".join(s["types"]) + ")" + (" where " + ", ".join(own) if own else "")
        if len({s["key"] for s in group}) < len(group) and len({s["role"] for s in group}) == len(group):
            for s in group: s["key"] = key + " (" + s["role"] + ")"
        if len({s["key"] for s in group}) < len(group):
            for s in group: s["key"] += " [" + s["usr"] + "]"
    return {s["key"]: s for s in symbols.values()}


TABLE_LINE = re.compile(r'^\s*case\s+(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?://\s*no hostile input:\s*(.*))?$')

def load_table(path):
    """{key: (case name, reason or None)} from EntryPoints.swift."""
    table = {}
    for line in open(path, encoding="utf-8"):
        m = TABLE_LINE.match(line)
        if m:
            table[m.group(2)] = (m.group(1), m.group(3))
    return table

def load_log(path):
    """{entry key: {input: set(tests)}} from the run log."""
    tried = collections.defaultdict(lambda: collections.defaultdict(set))
    if path and os.path.exists(path):
        for line in open(path, encoding="utf-8", errors="replace"):
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 2:
                tried[fields[0]][fields[1]].add(fields[2] if len(fields) > 2 else "?")
    return tried

def main(argv):
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--log")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--list", action="store_true", help="only list the entry points of the symbol graph")
    args = parser.parse_args(argv)
    symbols = load(args.symbols)
    if args.list:
        for key in sorted(symbols): print(key)
        return 0
    table = load_table(args.table)
    tried = load_log(args.log)
    keys = sorted(symbols)
    covered = [k for k in keys if k in tried]
    explained = [k for k in keys if k not in tried and k in table and table[k][1]]
    missing = [k for k in keys if k not in table]
    unexercised = [k for k in keys if k in table and not table[k][1] and k not in tried]
    stale = sorted(k for k in table if k not in symbols)
    unknown = sorted(k for k in tried if k not in symbols)
    inputs = sum(len(v) for k, v in tried.items() if k in symbols)
    spi = sum(1 for k in keys if symbols[k]["spi"])
    print(f"misuse: covered {len(covered)} of {len(keys)} public entry points ({spi} of them SPI AllocatorImplementation); "
          f"{inputs} hostile inputs tried")
    print(f"misuse: {len(explained)} more explained (no hostile input); {len(missing) + len(unexercised)} uncovered")
    if args.verbose:
        for k in covered:
            tests = sorted(set().union(*tried[k].values()))
            print(f"  covered   {k}: {len(tried[k])} inputs, by " + "; ".join(tests))
        for k in explained:
            print(f"  explained {k}: {table[k][1]}")
    for k in missing:
        print(f"  uncovered {k}: not in {args.table} (a new or renamed entry point: add a case, and tests or a reason)")
    for k in unexercised:
        print(f"  uncovered {k}: in the table as case .{table[k][0]}, but no test recorded a hostile input for it")
    for k in stale:
        print(f"  stale     {k}: case .{table[k][0]} names no entry point of the symbol graph (remove or rename it)")
    for k in unknown:
        print(f"  unknown   {k}: recorded by the suite, but not an entry point of the symbol graph")
    return 1 if missing or unexercised or stale or unknown else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
